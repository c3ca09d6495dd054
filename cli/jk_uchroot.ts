/**
 * jk_uchroot — runs one program inside a jail the caller is allowed to use (man/jk_uchroot.8).
 * Started only through the setuid-root native launcher (ffi/jk_launcher.c), which hands over
 * the caller's environment, argv[0] and umask as data. Logs to syslog (ident jk_uchroot,
 * LOG_PID, LOG_AUTH) and tells the caller why it refuses on stderr. lib/login/uchroot.ts decides;
 * this file only wires the system in and execs.
 */
import { LOG_AUTH } from "../ffi/libc.ts";
import { readIni } from "../lib/config/ini.ts";
import { readDbFile } from "../lib/config/passwd.ts";
import {
  hostCallerSystem,
  hostThinSystem,
  openToolLog,
  realpath,
  runPrivileged,
  statInfo,
  writeQuietly,
} from "../lib/entry/setuid.ts";
import { execDecided } from "../lib/entry/jail_exec.ts";
import { CONFIG_FILE, EXIT, runUchroot } from "../lib/login/uchroot.ts";

function main(): number {
  openToolLog("jk_uchroot", LOG_AUTH);
  const result = runUchroot({
    ...hostCallerSystem(),
    readConfig: () => readIni(CONFIG_FILE, "c"),
    realpath,
    readJailFile: readDbFile,
    statInJail: (path) => statInfo(() => Deno.statSync(path)),
    stdout: (text) => writeQuietly(Deno.stdout, text),
    stderr: (text) => writeQuietly(Deno.stderr, text),
    thin: hostThinSystem("jk_uchroot"),
  });
  if (result.exec === undefined) return result.exitCode;
  return execDecided(result.exec, result.context, EXIT.exec, {
    tell: (why) => writeQuietly(Deno.stderr, `jk_uchroot: ${why}\n`),
  });
}

runPrivileged(main, EXIT.internal);
