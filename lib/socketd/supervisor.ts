/**
 * jk_socketd's supervisor, and the start of a detached one. Deno cannot fork: jk_socketd
 * re-executes itself with a role argument (process.ts) for the detached supervisor and for
 * each forwarder.
 *
 * The supervisor stays root and outside any chroot, and does nothing but manage: it writes
 * and removes the pid file (lib/core/safeio.ts, the one pid-file policy), restarts the
 * forwarder on SIGHUP (re-reading the configuration) and whenever it ends. jailkit 2.23 needed
 * a manual restart when the host's syslog daemon went away, could not remove its pid file and
 * never re-read its configuration.
 */
import { fileURLToPath } from "node:url";
import { RUN_FLAGS } from "../core/runtime.ts";
import { removePidFile, writePidFile } from "../core/safeio.ts";
import {
  LOG_DAEMON,
  LOG_ERR,
  LOG_NOTICE,
  LOG_PID,
  LOG_WARNING,
  openlog,
  syslog,
} from "../../ffi/libc.ts";
import {
  DAEMON_ROLE,
  emit,
  EXIT_FAILURE,
  IDENT,
  loadConfig,
  messageOf,
  type SocketdHost,
  type SocketdOptions,
  WORKER_ROLE,
} from "./process.ts";
import { type DaemonEvent, decodeEvent, restartDelay } from "./rules.ts";

/** A forwarder that lived this long after start-up is restarted without back-off. */
const STEADY_MS = 10_000;
/** How long the supervisor waits for the forwarder to end on SIGTERM before SIGKILL. */
const STOP_GRACE_MS = 5_000;
/** Longest protocol line read from another jk_socketd process. */
const MAX_EVENT_LINE = 64 * 1024;

/**
 * How this program runs itself again. From sources, with the flags the installed launcher
 * uses plus --unstable-net, which only the forwarder's datagram sockets need.
 */
function selfCommand(args: string[]): { command: string; args: string[] } {
  if (Deno.build.standalone) return { command: Deno.execPath(), args };
  return {
    command: Deno.execPath(),
    args: ["run", ...RUN_FLAGS, "--unstable-net", fileURLToPath(Deno.mainModule), ...args],
  };
}

/** The protocol events on a stream; over-long lines (never written by us) are dropped. */
async function* readEvents(stream: ReadableStream<Uint8Array>): AsyncGenerator<DaemonEvent> {
  const decoder = new TextDecoder();
  let pending = "";
  let overlong = false;
  for await (const chunk of stream) {
    pending += decoder.decode(chunk, { stream: true });
    let newline: number;
    while ((newline = pending.indexOf("\n")) >= 0) {
      const line = pending.slice(0, newline);
      pending = pending.slice(newline + 1);
      if (!overlong) {
        const event = decodeEvent(line);
        if (event) yield event;
      }
      overlong = false;
    }
    if (pending.length > MAX_EVENT_LINE) {
      pending = "";
      overlong = true;
    }
  }
}

/**
 * The command the admin runs, without -n: starts a detached supervisor, prints what it reports
 * during start-up and returns once the sockets are ready, with its status if they never are.
 */
export async function launchDaemon(args: string[], sys: SocketdHost): Promise<number> {
  const self = selfCommand([DAEMON_ROLE, ...args]);
  const child = new Deno.Command(self.command, {
    args: self.args,
    detached: true,
    stdin: "null",
    stdout: "piped",
    stderr: "null",
  }).spawn();
  for await (const event of readEvents(child.stdout)) {
    if ("out" in event) sys.stdout(event.out);
    else return 0;
  }
  const status = await child.status;
  return status.code === 0 ? EXIT_FAILURE : status.code;
}

/**
 * The supervisor: `detached` when started by launchDaemon (start-up messages go back to it as
 * protocol events), else the -n foreground process. Returns its exit code.
 */
export async function supervise(
  opts: SocketdOptions,
  args: string[],
  detached: boolean,
  sys: SocketdHost,
): Promise<number> {
  openlog(IDENT, LOG_PID, LOG_DAEMON);
  // Until the first forwarder is ready, start-up messages go to whoever started us; then only
  // -n keeps printing (a detached daemon's starter has exited).
  let attached = true;
  const show = (text: string) => {
    if (!attached) return;
    if (detached) emit({ out: text });
    else sys.stdout(text);
  };
  const say = (priority: number, text: string) => {
    syslog(priority, text);
    if (opts.nodetach) show(text);
  };

  if (opts.pidfile !== undefined) {
    try {
      writePidFile(opts.pidfile, Deno.pid);
    } catch (e) {
      syslog(LOG_ERR, messageOf(e));
      show(messageOf(e));
      return EXIT_FAILURE;
    }
  }

  let worker: Deno.ChildProcess | undefined;
  let stopping = false;
  let reloading = false;
  let wake: (() => void) | undefined;
  const signalWorker = (signal: Deno.Signal) => {
    try {
      worker?.kill(signal);
    } catch {
      // It has just exited.
    }
  };
  const stop = (signal: Deno.Signal) => {
    if (stopping) return;
    stopping = true;
    say(LOG_NOTICE, `${signal}: stopping`);
    signalWorker("SIGTERM");
    Deno.unrefTimer(setTimeout(() => signalWorker("SIGKILL"), STOP_GRACE_MS));
    wake?.();
  };
  Deno.addSignalListener("SIGTERM", () => stop("SIGTERM"));
  Deno.addSignalListener("SIGINT", () => stop("SIGINT"));
  Deno.addSignalListener("SIGHUP", () => {
    if (stopping) return;
    try {
      loadConfig(opts);
    } catch (e) {
      say(LOG_ERR, `SIGHUP: configuration not reloaded, keeping the sockets: ${messageOf(e)}`);
      return;
    }
    say(LOG_NOTICE, "SIGHUP: re-reading the configuration and re-creating the sockets");
    reloading = true;
    signalWorker("SIGTERM");
    wake?.();
  });

  let everReady = false;
  let failures = 0;
  try {
    while (!stopping) {
      reloading = false;
      let readyAt: number | undefined;
      const self = selfCommand([WORKER_ROLE, ...args]);
      let code: number;
      try {
        // stdin stays an open pipe the worker never gets data from: when this process ends,
        // however it ends, the worker sees end-of-file and exits.
        worker = new Deno.Command(self.command, {
          args: self.args,
          stdin: "piped",
          stdout: "piped",
          stderr: "inherit",
        }).spawn();
        for await (const event of readEvents(worker.stdout)) {
          if ("out" in event) show(event.out);
          else if (readyAt === undefined) {
            readyAt = performance.now();
            if (!everReady && detached) {
              emit({ ready: true });
              attached = false;
            }
            everReady = true;
          }
        }
        code = (await worker.status).code;
      } catch (e) {
        say(LOG_ERR, `cannot run the forwarder: ${messageOf(e)}`);
        code = EXIT_FAILURE;
      }
      worker = undefined;
      if (stopping) break;
      if (reloading) {
        failures = 0;
        continue;
      }
      if (!everReady) return code === 0 ? EXIT_FAILURE : code;
      const steady = readyAt !== undefined && performance.now() - readyAt >= STEADY_MS;
      if (steady) failures = 0;
      const seconds = restartDelay(failures);
      failures++;
      say(LOG_NOTICE, `forwarder ended with status ${code}; starting a new one in ${seconds} s`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, seconds * 1000);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wake = undefined;
    }
    return 0;
  } finally {
    if (opts.pidfile !== undefined) {
      try {
        removePidFile(opts.pidfile, Deno.pid);
      } catch (e) {
        syslog(LOG_WARNING, `cannot remove pid file ${opts.pidfile}: ${messageOf(e)}`);
      }
    }
  }
}
