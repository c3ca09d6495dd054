/**
 * jk_chrootsh — login shell of jailed users (spec §2.7). Started only through the setuid-root
 * native launcher (ffi/jk_launcher.c), which hands over the caller's environment, argv[0] and
 * umask as data. Never writes to stdout or stderr: everything goes to syslog (ident jk_chrootsh,
 * LOG_PID, LOG_AUTH). lib/chrootsh.ts decides; this file only wires the system in and execs.
 * On the login path, so it imports nothing else.
 */
import {
  geteuid,
  getgroups,
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
import { callerEnv } from "../lib/environ.ts";
import { readIni } from "../lib/ini.ts";
import { parseGroup, parsePasswd, readDbFile } from "../lib/passwd.ts";
import { enterJail, execInJail } from "../lib/privilege.ts";
import { callerUmask, launcherArgv0 } from "../lib/environ.ts";
import {
  CONFIG_FILE,
  EXIT,
  type LogPriority,
  runChrootsh,
  type StatInfo,
} from "../lib/chrootsh.ts";

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
  // NDELAY: connect to the host's /dev/log now, so lines logged inside the jail arrive too.
  openlog("jk_chrootsh", LOG_PID | LOG_NDELAY, LOG_AUTH);
  const result = runChrootsh({
    argv0: launcherArgv0() ?? "",
    args: Deno.args,
    euid: geteuid(),
    uid: Deno.uid() ?? -1,
    gid: Deno.gid() ?? -1,
    groups: getgroups,
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
    readConfig: () => readIni(CONFIG_FILE, "c"),
    enterJail,
    readJailFile: readDbFile,
    chdir: (path) => Deno.chdir(path),
    log,
  });
  if (result.exec === undefined) return result.exitCode;
  try {
    execInJail(result.exec);
  } catch (e) {
    log("err", `${result.context}: cannot execute ${result.exec.path}: ${(e as Error).message}`);
    return EXIT.exec;
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
