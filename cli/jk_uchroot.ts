/**
 * jk_uchroot — runs one program inside a jail the caller is allowed to use (spec §2.9).
 * Started only through the setuid-root native launcher (ffi/jk_launcher.c), which hands over
 * the caller's environment, argv[0] and umask as data. Logs to syslog (ident jk_uchroot,
 * LOG_PID, LOG_AUTH) and tells the caller why it refuses on stderr. lib/uchroot.ts decides;
 * this file only wires the system in and execs.
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
import { callerEnv, callerUmask, launcherArgv0 } from "../lib/environ.ts";
import { readIni } from "../lib/ini.ts";
import { parseGroup, parsePasswd, readDbFile } from "../lib/passwd.ts";
import { enterJail, execInJail } from "../lib/privilege.ts";
import type { LogPriority, StatInfo } from "../lib/chrootsh.ts";
import { CONFIG_FILE, EXIT, runUchroot } from "../lib/uchroot.ts";

const PRIORITY: Record<LogPriority, number> = {
  err: LOG_ERR,
  warning: LOG_WARNING,
  notice: LOG_NOTICE,
  info: LOG_INFO,
};

function log(priority: LogPriority, message: string): void {
  syslog(PRIORITY[priority], message);
}

function write(stream: typeof Deno.stdout | typeof Deno.stderr, text: string): void {
  const bytes = new TextEncoder().encode(text);
  let done = 0;
  try {
    while (done < bytes.length) done += stream.writeSync(bytes.subarray(done));
  } catch {
    // The caller closed the stream; the log has the message.
  }
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
  openlog("jk_uchroot", LOG_PID | LOG_NDELAY, LOG_AUTH);
  const result = runUchroot({
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
    realpath: (path) => {
      try {
        return Deno.realPathSync(path);
      } catch {
        return undefined;
      }
    },
    enterJail,
    readJailFile: readDbFile,
    statInJail: (path) => statInfo(() => Deno.statSync(path)),
    log,
    stdout: (text) => write(Deno.stdout, text),
    stderr: (text) => write(Deno.stderr, text),
  });
  if (result.exec === undefined) return result.exitCode;
  try {
    execInJail(result.exec);
  } catch (e) {
    const why = `${result.context}: cannot execute ${result.exec.path}: ${(e as Error).message}`;
    log("err", why);
    write(Deno.stderr, `jk_uchroot: ${why}\n`);
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
