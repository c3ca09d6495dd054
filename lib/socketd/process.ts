/**
 * What jk_socketd's two programs share: the options, the worker's role argument, the exit codes
 * and the supervisor's interface (ffi/jk_socketd_supervisor.c), and reading the configuration.
 * The decisions are in rules.ts, the worker in forwarder.ts, the start of the supervisor in
 * supervisor.ts.
 */
import { readConfigText } from "../config/ini.ts";
import { configDir } from "../core/paths.ts";
import { join } from "../core/posixpath.ts";
import { commandLineSocket, parseSocketdConfig, type SocketdConfig } from "./rules.ts";

/** The syslog ident of every jk_socketd process. */
export const IDENT = "jk_socketd";

/** The first argument of the worker the supervisor starts (cli/jk_socketd.ts). */
export const WORKER_ROLE = "--role=worker";

/**
 * Exit codes: jailkit's 1 and 53; the worker's request to be started again (the host's
 * /dev/log went away) and its "configuration unreadable, nothing touched" on a reload, which
 * ffi/jk_socketd_supervisor.c knows by number and which never leave the daemon.
 */
export const EXIT_FAILURE = 1;
export const EXIT_UNSAFE_ROOT = 53;
export const EXIT_HOST_LOG_GONE = 75;
export const EXIT_KEEP = 76;

/** The variable naming the worker's phase (rules.ts parsePhase), set by the supervisor. */
export const PHASE_VAR = "JK_SOCKETD_PHASE";
/** The supervisor's readiness pipe: one byte once the sockets are bound and privileges dropped. */
export const READY_FD = 3;

/** The command line, as cli/jk_socketd.ts parsed it (pidfile absolute). */
export interface SocketdOptions {
  readonly pidfile?: string;
  readonly nodetach: boolean;
  readonly socket?: string;
  readonly base?: string;
  readonly peak?: string;
  readonly interval?: string;
}

/** What the entry point hands the worker: its output and the privilege drop (lib/login/). */
export interface SocketdHost {
  /** Prints one message for the admin on stdout. */
  stdout(text: string): void;
  /** lib/login/privilege.ts enterJail: chroot into `root` and become `creds` for good. */
  enterJail(root: string, creds: { uid: number; gid: number; groups: number[] }): void;
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** The sockets to serve: the one given with --socket, else those of jk_socketd.ini. */
export function loadConfig(opts: SocketdOptions): SocketdConfig {
  if (opts.socket !== undefined) {
    return commandLineSocket(opts.socket, {
      base: opts.base,
      peak: opts.peak,
      interval: opts.interval,
    });
  }
  const path = join(configDir(), "jk_socketd.ini");
  return parseSocketdConfig(readConfigText(path), path);
}
