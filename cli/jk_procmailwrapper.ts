/**
 * jk_procmailwrapper — runs procmail for the recipient: inside the recipient's jail when the
 * host home carries the `/./` marker, else the host's procmail (spec §2.12). Started only
 * through the setuid-root native launcher, built to hand fd 3 through (KEEP_FD3). Never writes
 * to stdout or stderr; logs to syslog (ident jk_procmailwrapper, LOG_PID, LOG_AUTH).
 * lib/procmailwrapper.ts decides; this file only wires the system in and execs.
 */
import {
  geteuid,
  LOG_AUTH,
  LOG_ERR,
  LOG_INFO,
  LOG_NDELAY,
  LOG_NOTICE,
  LOG_PID,
  LOG_WARNING,
  openlog,
  syslog,
} from "../ffi/libc.ts";
import { callerEnv, callerUmask, launcherArgv0 } from "../lib/environ.ts";
import { parseGroup, parsePasswd, readDbFile } from "../lib/passwd.ts";
import { dropPrivileges, enterJail, execInJail } from "../lib/privilege.ts";
import type { LogPriority, StatInfo } from "../lib/chrootsh.ts";
import { EXIT, runProcmailwrapper } from "../lib/procmailwrapper.ts";

const PRIORITY: Record<LogPriority, number> = {
  err: LOG_ERR,
  warning: LOG_WARNING,
  notice: LOG_NOTICE,
  info: LOG_INFO,
};

function log(priority: LogPriority, message: string): void {
  syslog(PRIORITY[priority], message);
}

function statInfo(get: () => Deno.FileInfo): StatInfo | undefined {
  try {
    const st = get();
    if (st.mode === null || st.uid === null || st.gid === null) return undefined;
    return { isSymlink: st.isSymlink, mode: st.mode, uid: st.uid, gid: st.gid };
  } catch {
    return undefined;
  }
}

function main(): number {
  openlog("jk_procmailwrapper", LOG_PID | LOG_NDELAY, LOG_AUTH);
  const result = runProcmailwrapper({
    argv0: launcherArgv0() ?? "",
    args: Deno.args,
    euid: geteuid(),
    uid: Deno.uid() ?? -1,
    gid: Deno.gid() ?? -1,
    callerEnv: callerEnv(),
    callerUmask: callerUmask(),
    hostPasswd: () => {
      const text = readDbFile("/etc/passwd");
      return text === undefined ? undefined : parsePasswd(text, "/etc/passwd");
    },
    hostGroup: () => {
      const text = readDbFile("/etc/group");
      return text === undefined ? undefined : parseGroup(text, "/etc/group");
    },
    lstat: (path) => statInfo(() => Deno.lstatSync(path)),
    stat: (path) => statInfo(() => Deno.statSync(path)),
    enterJail,
    dropPrivileges,
    readJailFile: readDbFile,
    chdir: (path) => Deno.chdir(path),
    log,
  });
  if (result.exec === undefined) return result.exitCode;
  try {
    execInJail(result.exec);
  } catch (e) {
    log("err", `${result.context}: cannot execute ${result.exec.path}: ${(e as Error).message}`);
    return result.execFailure;
  }
}

let status: number;
try {
  status = main();
} catch (e) {
  try {
    log("err", `internal error: ${(e as Error)?.stack ?? e}`);
  } catch {
    // syslog itself failed; there is nowhere left to report.
  }
  status = EXIT.internal;
}
Deno.exit(status);
