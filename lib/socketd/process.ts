/**
 * What jk_socketd's processes share: the options, the roles and exit codes, the protocol line
 * written on stdout to the parent process, and reading the configuration. The decisions are in
 * rules.ts; the supervisor and the forwarder in supervisor.ts and forwarder.ts.
 */
import { posix } from "node:path";
import { readConfigText } from "../config/ini.ts";
import { configDir } from "../core/paths.ts";
import {
  commandLineSocket,
  type DaemonEvent,
  encodeEvent,
  parseSocketdConfig,
  type SocketdConfig,
} from "./rules.ts";

/** The syslog ident of every jk_socketd process. */
export const IDENT = "jk_socketd";

/** The first argument of a process jk_socketd started itself (cli/jk_socketd.ts). */
export const DAEMON_ROLE = "--role=daemon";
export const WORKER_ROLE = "--role=worker";

/** Exit codes: jailkit's 1 and 53, and the forwarder's request to be restarted. */
export const EXIT_FAILURE = 1;
export const EXIT_UNSAFE_ROOT = 53;
export const EXIT_HOST_LOG_GONE = 75;

/** The command line, as cli/jk_socketd.ts parsed it (pidfile absolute). */
export interface SocketdOptions {
  readonly pidfile?: string;
  readonly nodetach: boolean;
  readonly help: boolean;
  readonly socket?: string;
  readonly base?: string;
  readonly peak?: string;
  readonly interval?: string;
}

/** What the entry point hands the daemon: its output and the privilege drop (lib/login/). */
export interface SocketdHost {
  /** Prints one message for the admin on stdout. */
  stdout(text: string): void;
  /** lib/login/privilege.ts enterJail: chroot into `root` and become `creds` for good. */
  enterJail(root: string, creds: { uid: number; gid: number; groups: number[] }): void;
}

const encoder = new TextEncoder();

function writeAllStdout(text: string): void {
  const bytes = encoder.encode(text);
  let offset = 0;
  while (offset < bytes.length) offset += Deno.stdout.writeSync(bytes.subarray(offset));
}

/** Writes one protocol event for the parent process. */
export function emit(event: DaemonEvent): void {
  writeAllStdout(encodeEvent(event));
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
  const path = posix.join(configDir(), "jk_socketd.ini");
  return parseSocketdConfig(readConfigText(path), path);
}
