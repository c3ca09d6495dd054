/**
 * jk_socketd — creates rate-limited syslog sockets (normally JAIL/dev/log) and forwards what
 * jailed programs log there to the host's /dev/log (man/jk_socketd.8). This entry point parses
 * the options and dispatches; lib/socketd/ holds the rest: rules.ts decides, supervisor.ts
 * starts the native supervisor (ffi/jk_socketd_supervisor.c), forwarder.ts is the worker that
 * binds, drops its privileges, forwards and sleeps, hostlog.ts talks to the host's socket.
 *
 * Two roles, one program. The role is the first argument, set only by jk_socketd itself:
 *
 *   jk_socketd [OPTIONS]          the command the admin runs: checks the options, then becomes
 *                                 the supervisor (execve, same pid), which starts the worker
 *                                 and, without -n, detaches once its sockets are ready.
 *   --role=worker [OPTIONS]       the worker, started by the supervisor.
 *
 * The worker is the only runtime that stays, so its branch loads only what it needs (no
 * lib/entry/admin.ts and the executor behind it): a few MB of resident memory less.
 * The role argument confers nothing a caller could not already do: a hand-started worker
 * is an ordinary jk_socketd without pid file or restarts.
 */
import { resolve } from "../lib/core/posixpath.ts";
import { OptionError, parseCommandLine } from "../lib/core/options.ts";
import {
  EXIT_FAILURE,
  PHASE_VAR,
  type SocketdOptions,
  WORKER_ROLE,
} from "../lib/socketd/process.ts";
import { parsePhase } from "../lib/socketd/rules.ts";

const OPTIONS = {
  pidfile: { type: "string", short: "p" },
  nodetach: { type: "boolean", short: "n" },
  help: { type: "boolean", short: "h" },
  socket: { type: "string" },
  base: { type: "string" },
  peak: { type: "string" },
  peek: { type: "string" },
  interval: { type: "string" },
} as const;

type Values = ReturnType<typeof parseCommandLine<typeof OPTIONS>>["values"];

function socketdOptions(values: Values): SocketdOptions {
  const { pidfile } = values;
  return {
    pidfile: pidfile === undefined ? undefined : resolve(Deno.cwd(), pidfile),
    nodetach: values.nodetach === true,
    socket: values.socket,
    base: values.base,
    peak: values.peak ?? values.peek,
    interval: values.interval,
  };
}

/**
 * The options as the worker gets them: checked, the pid file absolute (a detached supervisor
 * works in /), --peek spelt --peak.
 */
function workerArgs(opts: SocketdOptions): string[] {
  const args = opts.nodetach ? ["--nodetach"] : [];
  const given = [
    ["pidfile", opts.pidfile],
    ["socket", opts.socket],
    ["base", opts.base],
    ["peak", opts.peak],
    ["interval", opts.interval],
  ] as const;
  for (const [name, value] of given) if (value !== undefined) args.push(`--${name}=${value}`);
  return args;
}

/** The worker: its options were checked by the command that started the supervisor. */
async function worker(args: string[]): Promise<number> {
  const [{ runWorker }, { enterJail }, { writeLine }] = await Promise.all([
    import("../lib/socketd/forwarder.ts"),
    import("../lib/login/privilege.ts"),
    import("../lib/core/output.ts"),
  ]);
  let values: Values;
  try {
    values = parseCommandLine(args, OPTIONS).values;
  } catch (e) {
    if (!(e instanceof OptionError)) throw e;
    writeLine("stderr", `ERROR: ${e.message}`);
    return EXIT_FAILURE;
  }
  return await runWorker(
    socketdOptions(values),
    {
      stdout: (line) => writeLine("stdout", line),
      enterJail: (root, creds) => enterJail(root, creds),
    },
    parsePhase(Deno.env.get(PHASE_VAR)),
  );
}

/** The command the admin runs. */
async function command(): Promise<never> {
  const [{ main, parseOptions, stdoutText }, { JailkitError }, { configDir }, forwarder, sup] =
    await Promise.all([
      import("../lib/entry/admin.ts"),
      import("../lib/core/errors.ts"),
      import("../lib/core/paths.ts"),
      import("../lib/socketd/forwarder.ts"),
      import("../lib/socketd/supervisor.ts"),
    ]);
  const usage = `Usage: jk_socketd [-n] [-p FILE]
       jk_socketd [-n] [-p FILE] --socket=PATH [--base=INT] [--peak=INT] [--interval=FLOAT]

Creates the syslog sockets listed in ${configDir()}/jk_socketd.ini (normally JAIL/dev/log),
forwards what jailed programs log there to the host's /dev/log and limits each socket's rate.

  -p, --pidfile=FILE    write the daemon's pid to FILE; it is removed when the daemon stops
  -n, --nodetach        stay in the foreground and print the messages on stdout
      --socket=PATH     create only this socket (the ini file is not read)
      --base=INT        bytes per interval normally allowed (10..1000000, default 511)
      --peak=INT        bytes per interval allowed in a burst (100..10000000, default 2048;
                        --peek is accepted too)
      --interval=FLOAT  length of the interval in seconds (0.01..60, default 10)
  -h, --help            this text

SIGHUP re-reads the configuration and re-creates the sockets; SIGTERM stops the daemon.
Exit codes: 0 ok, 1 bad option or configuration, or no socket could be created,
53 the chroot directory ${forwarder.EMPTY_ROOT} is not safe.`;

  return await main(() => {
    const { values, positionals } = parseOptions(Deno.args, OPTIONS, usage);
    if (positionals.length > 0) {
      throw new JailkitError("usage", `unexpected argument: ${positionals[0]}`);
    }
    if (values.help === true) {
      stdoutText(usage);
      return 0;
    }
    return sup.execSupervisor(workerArgs(socketdOptions(values)), values.nodetach === true);
  }, {
    usage: EXIT_FAILURE,
    config: EXIT_FAILURE,
    "not-found": EXIT_FAILURE,
    io: EXIT_FAILURE,
  });
}

if (import.meta.main) {
  if (Deno.args[0] === WORKER_ROLE) Deno.exit(await worker(Deno.args.slice(1)));
  await command();
}
