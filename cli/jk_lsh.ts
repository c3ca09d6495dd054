/**
 * jk_lsh — the restricted in-jail shell (spec §2.8). Runs as the jailed user inside the jail,
 * so "/" is the jail: the user comes from the jail's own /etc/passwd and /etc/group, the config
 * is always /etc/jailkit/jk_lsh.ini (no option or variable can point it elsewhere), and every
 * message goes to syslog (ident jk_lsh, LOG_PID, LOG_AUTH) through the jail's /dev/log.
 * Refusals also print one short line on stderr that names no configuration detail.
 *
 * This file only gathers the facts and carries out the plan; lib/lsh.ts decides. It is on the
 * login path, so it imports nothing beyond what that needs.
 */
import { readIni } from "../lib/ini.ts";
import {
  decideLsh,
  identifyUser,
  isRefusal,
  type LogEntry,
  LSH_CONFIG,
  type LshFs,
  type LshRefusal,
} from "../lib/lsh.ts";
import {
  type GroupFile,
  parseGroup,
  parsePasswd,
  type PasswdFile,
  readDbFile,
} from "../lib/passwd.ts";
import { callerEnv, callerUmask, callerVar } from "../lib/environ.ts";
import {
  closeFdsAbove,
  execve,
  LOG_AUTH,
  LOG_ERR,
  LOG_INFO,
  LOG_NOTICE,
  LOG_PID,
  LOG_WARNING,
  openlog,
  syslog,
  umask,
  wordexp,
  WRDE_NOCMD,
} from "../ffi/libc.ts";

const PRIORITY = { err: LOG_ERR, warning: LOG_WARNING, notice: LOG_NOTICE, info: LOG_INFO };

function log(entry: LogEntry): void {
  syslog(PRIORITY[entry.priority], entry.message);
}

function finish(refusal: LshRefusal): never {
  for (const entry of refusal.logs) log(entry);
  log({ priority: refusal.logPriority, message: refusal.logMessage });
  try {
    Deno.stderr.writeSync(new TextEncoder().encode(`${refusal.userMessage}\n`));
  } catch {
    // stderr may be closed; syslog already has the story.
  }
  Deno.exit(refusal.exitCode);
}

const fs: LshFs = {
  isRegularFile(path) {
    try {
      return Deno.statSync(path).isFile;
    } catch {
      return false;
    }
  },
  realPath(path) {
    try {
      return Deno.realPathSync(path);
    } catch {
      return undefined;
    }
  },
};

/** wordexp reads the process environment, so it is first made equal to `env`. */
function expand(words: string, env: Readonly<Record<string, string>>): string[] {
  for (const key of Object.keys(Deno.env.toObject())) {
    if (!Object.hasOwn(env, key)) Deno.env.delete(key);
  }
  for (const [key, value] of Object.entries(env)) Deno.env.set(key, value);
  return wordexp(words, WRDE_NOCMD);
}

function main(): never {
  openlog("jk_lsh", LOG_PID, LOG_AUTH);
  log({ priority: "info", message: "jk_lsh (jailkit-deno) started" });

  const passwdText = readDbFile("/etc/passwd");
  const groupText = readDbFile("/etc/group");
  let passwd: PasswdFile | undefined;
  let groups: GroupFile | undefined;
  if (passwdText !== undefined) passwd = parsePasswd(passwdText, "/etc/passwd");
  if (groupText !== undefined) groups = parseGroup(groupText, "/etc/group");
  const user = identifyUser({
    passwd,
    groups,
    envUser: callerVar("USER"),
    uid: Deno.uid() ?? -1,
    gid: Deno.gid() ?? -1,
  });
  if (isRefusal(user)) finish(user);

  const decision = decideLsh({
    args: Deno.args,
    user,
    loadConfig: () => readIni(LSH_CONFIG, "c"),
    // Through the launcher the runtime's own variables are not the caller's: the caller's
    // environment (already filtered by jk_chrootsh) arrives as data.
    env: Object.fromEntries(callerEnv()),
    fs,
    expand,
  });
  if (isRefusal(decision)) finish(decision);

  for (const entry of decision.logs) log(entry);
  const { path, argv, env, umask: mask } = decision.exec;
  try {
    // Without a umask key the caller's umask is kept (the launcher ran us with 022 added).
    const keep = mask ?? callerUmask();
    if (keep !== undefined) umask(keep);
    closeFdsAbove(2);
    execve(path, argv, Object.entries(env).map(([k, v]) => `${k}=${v}`));
  } catch (e) {
    log({ priority: "warning", message: `failed to execute ${path} for user ${user.name}` });
    log({ priority: "warning", message: `reason: ${(e as Error).message}` });
    Deno.exit(255);
  }
}

main();
