/**
 * jk_chrootlaunch — root starts a daemon chrooted in a jail, optionally as another user and
 * group (spec §2.11). Installed as a plain (not set-uid) launcher; refuses anyone but root.
 * Logs to syslog (ident jk_chrootlaunch, LOG_PID, LOG_DAEMON) and prints errors on stderr,
 * usage on stdout. lib/chrootlaunch.ts decides; this file only wires the system in and execs.
 */
import {
  geteuid,
  LOG_DAEMON,
  LOG_ERR,
  LOG_INFO,
  LOG_NDELAY,
  LOG_NOTICE,
  LOG_PID,
  LOG_WARNING,
  openlog,
  syslog,
} from "../ffi/libc.ts";
import { callerEnv, callerUmask } from "../lib/environ.ts";
import { parseGroup, parsePasswd, readDbFile } from "../lib/passwd.ts";
import { enterJail, execInJail } from "../lib/privilege.ts";
import type { LogPriority, StatInfo } from "../lib/chrootsh.ts";
import { EXIT, runChrootlaunch, writePidFile } from "../lib/chrootlaunch.ts";

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
    // The stream is closed; the log has the message.
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
  openlog("jk_chrootlaunch", LOG_PID | LOG_NDELAY, LOG_DAEMON);
  const result = runChrootlaunch({
    args: Deno.args,
    uid: Deno.uid() ?? -1,
    euid: geteuid(),
    cwd: Deno.cwd(),
    pid: Deno.pid,
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
    readlink: (path) => Deno.readLinkSync(path),
    realpath: (path) => {
      try {
        return Deno.realPathSync(path);
      } catch {
        return undefined;
      }
    },
    writePidFile,
    enterJail: (jail, creds, beforeChroot) =>
      enterJail(jail, creds, beforeChroot, { allowRoot: true }),
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
    write(Deno.stderr, `jk_chrootlaunch: ${why}\n`);
    return EXIT.exec;
  }
}

let status: number;
try {
  status = main();
} catch (e) {
  const why = `internal error: ${(e as Error)?.stack ?? e}`;
  try {
    log("err", why);
  } catch {
    // syslog itself failed.
  }
  write(Deno.stderr, `jk_chrootlaunch: ${why}\n`);
  status = EXIT.usage;
}
Deno.exit(status);
