/**
 * jk_chrootsh — login shell of jailed users (man/jk_chrootsh.8). Started only through the
 * setuid-root native launcher (ffi/jk_launcher.c), which hands over the caller's environment,
 * argv[0] and umask as data. Apart from the usage and version it prints for a lone --help or
 * --version, never writes to stdout or stderr: everything goes to syslog (ident jk_chrootsh,
 * LOG_PID, LOG_AUTH). lib/login/chrootsh.ts decides; this file only wires the system
 * in and execs. On the login path, so it imports nothing else.
 */
import { LOG_AUTH } from "../ffi/libc.ts";
import { readIni } from "../lib/config/ini.ts";
import { readDbFile } from "../lib/config/passwd.ts";
import type { ExecSpec } from "../lib/login/privilege.ts";
import { installPrefix, toolPath } from "../lib/core/paths.ts";
import { runLshSession } from "../lib/login/lsh_session.ts";
import { inspectInJailShell } from "../lib/login/chrootsh_lsh.ts";
import {
  hostCallerSystem,
  hostThinSystem,
  log,
  openToolLog,
  runPrivileged,
} from "../lib/entry/setuid.ts";
import { execDecided } from "../lib/entry/jail_exec.ts";
import { answerLoginInfo } from "../lib/entry/login_info.ts";
import { CONFIG_FILE, EXIT, runChrootsh, USAGE } from "../lib/login/chrootsh.ts";

/**
 * When the in-jail shell is jailkit-deno's jk_lsh (lib/login/chrootsh_lsh.ts says how that is
 * recognised), its session runs in this process, already inside the jail and with the user's
 * credentials, from this installation's code: the jail needs no runtime, and one runtime
 * start serves the login. The jail's own jk_lsh.ini, passwd and group are read as the exec'd
 * jk_lsh would read them. lib/login/lsh_session.ts is imported statically: after the chroot
 * only the jail's files are there. Returns the exit status of a refusal; otherwise does not
 * return when the session ran, and returns undefined when the shell is to be exec'd.
 */
function runLshHere(exec: ExecSpec, context: string): number | undefined {
  const libdir = `${installPrefix() ?? "/usr"}/lib/jailkit`;
  const shell = inspectInJailShell("/", exec.path, toolPath("jk_lsh"), libdir);
  if (shell.kind === "exec") return undefined;
  if (shell.kind === "unsafe") {
    log("err", `${context}: refusing the in-jail shell ${exec.path}: ${shell.reason}`);
    return EXIT.unsafe;
  }
  // Same connection to the host's /dev/log, jk_lsh's name on the lines.
  openToolLog("jk_lsh", LOG_AUTH);
  const env: Record<string, string> = {};
  for (const entry of exec.env) {
    const eq = entry.indexOf("=");
    if (eq > 0) env[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  runLshSession({ args: exec.argv.slice(1), env, callerUmask: exec.umask });
}

function main(): number {
  openToolLog("jk_chrootsh", LOG_AUTH);
  const result = runChrootsh({
    ...hostCallerSystem(),
    readConfig: () => readIni(CONFIG_FILE, "c"),
    readJailFile: readDbFile,
    chdir: (path) => Deno.chdir(path),
    thin: hostThinSystem("jk_chrootsh"),
  });
  if (result.exec === undefined) return result.exitCode;
  return execDecided(result.exec, result.context, EXIT.exec, { before: runLshHere });
}

answerLoginInfo("jk_chrootsh", USAGE);
runPrivileged(main, EXIT.internal);
