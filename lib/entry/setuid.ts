/**
 * The one wiring of the host system for the privileged entry points (jk_chrootsh, jk_uchroot,
 * jk_procmailwrapper, jk_chrootlaunch): the caller and the host as lib/login/common.ts
 * CallerSystem describes them (hostCallerSystem), syslog by priority name, quiet writes to a
 * caller's stream, and the last-resort handler that logs an internal error and exits with the
 * tool's status. Each cli/ entry adds only what its own tool needs.
 */
import {
  geteuid,
  getgroups,
  LOG_ERR,
  LOG_INFO,
  LOG_NDELAY,
  LOG_NOTICE,
  LOG_PID,
  LOG_WARNING,
  openlog,
  syslog,
} from "../../ffi/libc.ts";
import type { CallerSystem, LogPriority, StatInfo } from "../login/common.ts";
import { enterJail } from "../login/privilege.ts";
import { callerEnv, callerUmask, launcherArgv0 } from "../core/environ.ts";
import {
  type GroupFile,
  parseGroup,
  parsePasswd,
  type PasswdFile,
  readDbFile,
} from "../config/passwd.ts";

const PRIORITY: Record<LogPriority, number> = {
  err: LOG_ERR,
  warning: LOG_WARNING,
  notice: LOG_NOTICE,
  info: LOG_INFO,
};

/**
 * Opens syslog with NDELAY: the connection to the host's /dev/log is made now, so lines logged
 * after the chroot still arrive.
 */
export function openToolLog(ident: string, facility: number): void {
  openlog(ident, LOG_PID | LOG_NDELAY, facility);
}

export function log(priority: LogPriority, message: string): void {
  syslog(PRIORITY[priority], message);
}

export function statInfo(get: () => Deno.FileInfo): StatInfo | undefined {
  try {
    const st = get();
    if (st.mode === null || st.uid === null || st.gid === null) return undefined;
    return { isSymlink: st.isSymlink, mode: st.mode, uid: st.uid, gid: st.gid };
  } catch {
    return undefined;
  }
}

export function hostPasswd(): PasswdFile | undefined {
  const text = readDbFile("/etc/passwd");
  return text === undefined ? undefined : parsePasswd(text, "/etc/passwd");
}

export function hostGroup(): GroupFile | undefined {
  const text = readDbFile("/etc/group");
  return text === undefined ? undefined : parseGroup(text, "/etc/group");
}

/** Canonical absolute path, or undefined when it does not resolve. */
export function realpath(path: string): string | undefined {
  try {
    return Deno.realPathSync(path);
  } catch {
    return undefined;
  }
}

/**
 * The caller and the host, as the launcher handed them over: argv[0] (empty when the launcher
 * gave none), arguments, ids, the caller's groups, environment and umask, the host's passwd
 * and group, stat, the privilege sequence and syslog.
 */
export function hostCallerSystem(): CallerSystem {
  return {
    argv0: launcherArgv0() ?? "",
    args: Deno.args,
    euid: geteuid(),
    uid: Deno.uid() ?? -1,
    gid: Deno.gid() ?? -1,
    groups: getgroups,
    callerEnv: callerEnv(),
    callerUmask: callerUmask(),
    hostPasswd,
    hostGroup,
    lstat: (path) => statInfo(() => Deno.lstatSync(path)),
    stat: (path) => statInfo(() => Deno.statSync(path)),
    enterJail,
    log,
  };
}

/** Writes all of `text`; a stream the caller closed is not an error (syslog has the story). */
export function writeQuietly(stream: typeof Deno.stdout | typeof Deno.stderr, text: string): void {
  const bytes = new TextEncoder().encode(text);
  let done = 0;
  try {
    while (done < bytes.length) done += stream.writeSync(bytes.subarray(done));
  } catch {
    // closed by the caller
  }
}

/**
 * Runs a tool's main function and exits with its status; an unexpected exception is logged
 * (and shown on stderr when `tell` is given) and ends with `internalStatus`.
 */
export function runPrivileged(
  main: () => number,
  internalStatus: number,
  tell?: (message: string) => void,
): never {
  let status: number;
  try {
    status = main();
  } catch (e) {
    const why = `internal error: ${(e as Error)?.stack ?? e}`;
    try {
      log("err", why);
    } catch {
      // syslog itself failed; stderr (if any) is all that is left.
    }
    tell?.(why);
    status = internalStatus;
  }
  Deno.exit(status);
}
