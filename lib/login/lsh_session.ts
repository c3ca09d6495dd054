/**
 * One jk_lsh session (man/jk_lsh.8): the user from the jail's own /etc/passwd and /etc/group, the
 * config from /etc/jailkit/jk_lsh.ini (the jail's: "/" is the jail), every message to syslog,
 * then exec of the allowed program. lib/login/lsh.ts decides; this module gathers the facts and acts.
 * Used by cli/jk_lsh.ts, and by jk_chrootsh when the in-jail shell is this installation's
 * jk_lsh (one runtime start per login instead of two).
 */
import { readIni } from "../config/ini.ts";
import {
  decideLsh,
  identifyUser,
  isRefusal,
  type LogEntry,
  LSH_CONFIG,
  type LshFs,
  type LshRefusal,
} from "./lsh.ts";
import { loadDbFile, parseGroup, parsePasswd } from "../config/passwd.ts";
import { closeFdsAbove, execve, logAt, umask, wordexp, WRDE_NOCMD } from "../../ffi/libc.ts";

function log(entry: LogEntry): void {
  logAt(entry.priority, entry.message);
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

/** What the session needs from its caller: the shell's arguments, environment and umask. */
export interface LshSessionInput {
  /** Arguments after argv[0] (`-c COMMAND`, maybe preceded by `--login`). */
  args: string[];
  /** The caller's environment: already filtered by jk_chrootsh. */
  env: Record<string, string>;
  /** Kept when jk_lsh.ini has no umask key. */
  callerUmask: number | undefined;
}

/**
 * One jk_lsh session, from identifying the user to exec'ing the allowed program or exiting
 * with jailkit's status. Runs as the jailed user with "/" being the jail; syslog must be open
 * (ident jk_lsh) before it is called.
 */
export function runLshSession(input: LshSessionInput): never {
  log({ priority: "info", message: "jk_lsh (jailkit-deno) started" });

  const user = identifyUser({
    passwd: loadDbFile("/etc/passwd", parsePasswd),
    groups: loadDbFile("/etc/group", parseGroup),
    envUser: input.env.USER,
    uid: Deno.uid() ?? -1,
    gid: Deno.gid() ?? -1,
  });
  if (isRefusal(user)) finish(user);

  const decision = decideLsh({
    args: input.args,
    user,
    loadConfig: () => readIni(LSH_CONFIG, "c"),
    env: input.env,
    fs,
    expand,
  });
  if (isRefusal(decision)) finish(decision);

  for (const entry of decision.logs) log(entry);
  const { path, argv, env, umask: mask } = decision.exec;
  try {
    // Without a umask key the caller's umask is kept (the launcher ran us with 022 added).
    const keep = mask ?? input.callerUmask;
    if (keep !== undefined) umask(keep);
    closeFdsAbove(2);
    execve(path, argv, Object.entries(env).map(([k, v]) => `${k}=${v}`));
  } catch (e) {
    log({ priority: "warning", message: `failed to execute ${path} for user ${user.name}` });
    log({ priority: "warning", message: `reason: ${(e as Error).message}` });
    Deno.exit(255);
  }
}
