/**
 * jk_socketd — creates rate-limited syslog sockets (normally JAIL/dev/log) and forwards what
 * jailed programs log there to the host's /dev/log (man/jk_socketd.8). This entry point parses
 * the options and dispatches; lib/socketd/ holds the rest: rules.ts decides, supervisor.ts
 * manages the processes and the pid file, forwarder.ts binds, forwards and sleeps, hostlog.ts
 * talks to the host's socket.
 *
 * Three roles, one program. The role is the first argument, set only by jk_socketd itself:
 *
 *   jk_socketd [OPTIONS]            the command the admin runs. With -n it is the supervisor;
 *                                   without, it starts a detached supervisor (Deno cannot
 *                                   fork: it re-executes itself), prints what the supervisor
 *                                   reports during start-up and exits once the sockets are
 *                                   ready, with the supervisor's status if they never are.
 *   --role=daemon [OPTIONS]         the detached supervisor.
 *   --role=worker [OPTIONS]         the forwarder, started by the supervisor.
 *
 * The role argument confers nothing a caller could not already do: a hand-started worker
 * is an ordinary jk_socketd without pid file or restarts.
 */
import { posix } from "node:path";
import { main, parseOptions, stdout, stdoutText } from "../lib/entry/admin.ts";
import { JailkitError } from "../lib/core/errors.ts";
import { configDir } from "../lib/core/paths.ts";
import { enterJail } from "../lib/login/privilege.ts";
import {
  DAEMON_ROLE,
  EXIT_FAILURE,
  EXIT_UNSAFE_ROOT,
  type SocketdHost,
  type SocketdOptions,
  WORKER_ROLE,
} from "../lib/socketd/process.ts";
import { EMPTY_ROOT, runForwarder } from "../lib/socketd/forwarder.ts";
import { launchDaemon, supervise } from "../lib/socketd/supervisor.ts";
import { LOG_ERR, syslog } from "../ffi/libc.ts";

const USAGE = `Usage: jk_socketd [-n] [-p FILE]
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
53 the chroot directory ${EMPTY_ROOT} is not safe.`;

/** Exit codes, as jailkit 2.23 (the forwarder's request to be restarted never leaves the daemon). */
const EXIT = {
  ok: 0,
  /** bad option or configuration, or no socket could be created */
  failure: EXIT_FAILURE,
  /** the forwarder's empty chroot directory is not safe */
  unsafeRoot: EXIT_UNSAFE_ROOT,
} as const;

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

function parse(args: string[]): SocketdOptions {
  const { values, positionals } = parseOptions(args, OPTIONS, USAGE);
  if (positionals.length > 0) {
    throw new JailkitError("usage", `unexpected argument: ${positionals[0]}`);
  }
  const { pidfile } = values;
  return {
    pidfile: pidfile === undefined ? undefined : posix.resolve(Deno.cwd(), pidfile),
    nodetach: values.nodetach === true,
    help: values.help === true,
    socket: values.socket,
    base: values.base,
    peak: values.peak ?? values.peek,
    interval: values.interval,
  };
}

const HOST: SocketdHost = { stdout, enterJail: (root, creds) => enterJail(root, creds) };

async function run(): Promise<number> {
  const role = Deno.args[0] === DAEMON_ROLE || Deno.args[0] === WORKER_ROLE
    ? Deno.args[0]
    : undefined;
  const args = role === undefined ? Deno.args : Deno.args.slice(1);
  const opts = parse(args);
  if (opts.help) {
    stdoutText(USAGE);
    return EXIT.ok;
  }
  if (role === WORKER_ROLE) return await runForwarder(opts, HOST);
  if (role === DAEMON_ROLE) {
    // Keeps no mount busy; every path the daemon uses is absolute.
    Deno.chdir("/");
    try {
      return await supervise(opts, args, true, HOST);
    } catch (e) {
      // A detached daemon's stderr goes nowhere.
      syslog(LOG_ERR, `internal error: ${e instanceof Error ? e.stack ?? e.message : e}`);
      throw e;
    }
  }
  if (opts.nodetach) return await supervise(opts, args, false, HOST);
  return await launchDaemon(args, HOST);
}

if (import.meta.main) {
  await main(run, {
    usage: EXIT.failure,
    config: EXIT.failure,
    "not-found": EXIT.failure,
    io: EXIT.failure,
  });
}
