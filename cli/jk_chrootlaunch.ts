/**
 * jk_chrootlaunch — root starts a daemon chrooted in a jail, optionally as another user and group
 * (man/jk_chrootlaunch.8). Installed as a plain (not set-uid) launcher; refuses anyone but root.
 * Logs to syslog (ident jk_chrootlaunch, LOG_PID, LOG_DAEMON) and prints errors on stderr, usage
 * on stdout. lib/login/chrootlaunch.ts decides; this file only wires the system in and execs.
 */
import { LOG_DAEMON } from "../ffi/libc.ts";
import { enterJail } from "../lib/login/privilege.ts";
import {
  hostCallerSystem,
  hostThinSystem,
  openToolLog,
  realpath,
  runPrivileged,
  writeQuietly,
} from "../lib/entry/setuid.ts";
import { execDecided } from "../lib/entry/jail_exec.ts";
import { EXIT, runChrootlaunch } from "../lib/login/chrootlaunch.ts";
import { writePidFile } from "../lib/core/safeio.ts";

function main(): number {
  openToolLog("jk_chrootlaunch", LOG_DAEMON);
  const result = runChrootlaunch({
    ...hostCallerSystem(),
    cwd: Deno.cwd(),
    pid: Deno.pid,
    readlink: (path) => Deno.readLinkSync(path),
    realpath,
    writePidFile,
    enterJail: (jail, creds, beforeChroot) =>
      enterJail(jail, creds, beforeChroot, { allowRoot: true }),
    stdout: (text) => writeQuietly(Deno.stdout, text),
    stderr: (text) => writeQuietly(Deno.stderr, text),
    thin: hostThinSystem("jk_chrootlaunch"),
  });
  if (result.exec === undefined) return result.exitCode;
  return execDecided(result.exec, result.context, EXIT.exec, { tell });
}

function tell(why: string): void {
  writeQuietly(Deno.stderr, `jk_chrootlaunch: ${why}\n`);
}

runPrivileged(main, EXIT.usage, tell);
