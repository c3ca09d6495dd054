/**
 * jk_procmailwrapper — runs procmail for the recipient: inside the recipient's jail when the host
 * home carries the `/./` marker, else the host's procmail (man/jk_procmailwrapper.8). Started only
 * through the setuid-root native launcher, built to hand fd 3 through (KEEP_FD3). Apart from a
 * lone --help or --version, never writes to stdout or stderr; logs to syslog (ident
 * jk_procmailwrapper, LOG_PID, LOG_AUTH). lib/login/procmailwrapper.ts decides; this file only
 * wires the system in and execs.
 */
import { LOG_AUTH } from "../ffi/libc.ts";
import { readDbFile } from "../lib/config/passwd.ts";
import { dropPrivileges } from "../lib/login/privilege.ts";
import {
  hostCallerSystem,
  hostThinSystem,
  openToolLog,
  runPrivileged,
} from "../lib/entry/setuid.ts";
import { execDecided } from "../lib/entry/jail_exec.ts";
import { answerLoginInfo } from "../lib/entry/login_info.ts";
import { EXIT, runProcmailwrapper, USAGE } from "../lib/login/procmailwrapper.ts";

function main(): number {
  openToolLog("jk_procmailwrapper", LOG_AUTH);
  const result = runProcmailwrapper({
    ...hostCallerSystem(),
    dropPrivileges,
    readJailFile: readDbFile,
    chdir: (path) => Deno.chdir(path),
    thin: hostThinSystem("jk_procmailwrapper"),
  });
  if (result.exec === undefined) return result.exitCode;
  return execDecided(result.exec, result.context, result.execFailure);
}

answerLoginInfo("jk_procmailwrapper", USAGE);
runPrivileged(main, EXIT.internal);
