/**
 * The one privilege sequence of every setuid tool (jk_chrootsh, jk_uchroot, jk_procmailwrapper)
 * and of root's jk_chrootlaunch: enter the jail directory, chroot there, drop every id for good,
 * exec. No tool re-implements any part of it.
 *
 *   enterJail(jail, creds, beforeChroot)    chdir(jail), getcwd() == jail, beforeChroot(),
 *                                           chroot("."), chdir("/"), setgroups, setresgid,
 *                                           setresuid, verify, PR_SET_NO_NEW_PRIVS
 *   ... the tool's in-jail checks, as the target user ...
 *   execInJail(spec)                        umask, close-on-exec for fds > 2, execve
 *
 *   dropPrivileges(creds)                   the same drop without a jail (see there)
 *
 * chroot(".") rather than chroot(jail): between the safety checks (which the tool runs in
 * `beforeChroot`, on paths relative to the pinned working directory) and the chroot nobody can
 * swap the directory under the path. Supplementary groups are set before the gid and the uid,
 * while the process may still change them. Afterwards real, effective and saved ids are all
 * checked, and regaining uid 0 must fail. PR_SET_NO_NEW_PRIVS then makes sure that nothing the
 * jailed user runs — a set-uid program or one with file capabilities left in the jail — gains
 * privileges again: a privileged process inside a chroot can leave it.
 *
 * Each failure is a PrivilegeError naming the step, which each tool maps to its exit code.
 * The module keeps the stage it reached, so execInJail refuses to run before the drop was
 * verified, and no step can run twice or out of order.
 *
 * Also here: the two values the native launcher (ffi/jk_launcher.c) hands over besides the
 * caller's environment, the caller's argv[0] and umask.
 */
import {
  chdir,
  chroot,
  closeFdsAbove,
  ErrnoError,
  execve,
  getgroups,
  getresgid,
  getresuid,
  setgroups,
  setNoNewPrivs,
  setresgid,
  setresuid,
  umask,
} from "../../ffi/libc.ts";

export type PrivilegeStep =
  | "chdir-jail"
  | "getcwd"
  | "chroot"
  | "chdir-root"
  | "setgroups"
  | "setresgid"
  | "setresuid"
  | "verify"
  | "no-new-privs"
  | "exec";

export class PrivilegeError extends Error {
  constructor(readonly step: PrivilegeStep, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "PrivilegeError";
  }
}

/** Whom the process becomes. Look these up BEFORE entering the jail. */
export interface Credentials {
  readonly uid: number;
  readonly gid: number;
  /** Supplementary groups, set as given. */
  readonly groups: readonly number[];
}

export interface ExecSpec {
  /** Path inside the jail. */
  readonly path: string;
  readonly argv: readonly string[];
  /** Complete environment, `NAME=value` entries. */
  readonly env: readonly string[];
  /** Applied just before the exec; undefined keeps the current umask. */
  readonly umask?: number;
  /**
   * jk_procmailwrapper only: fd 3 stays open across the exec, as in jailkit. Its launcher
   * (built with KEEP_FD3) makes fd 3 the caller's descriptor or /dev/null before the runtime
   * starts, so it is never one the runtime opened as root.
   */
  readonly keepFd3?: boolean;
}

export interface EnterOptions {
  /**
   * jk_chrootlaunch only: root starts a daemon and may leave it uid 0 (jailkit allowed that
   * for daemons that bind low ports). The setuid tools never pass it: their target is the
   * caller, who is never root.
   */
  readonly allowRoot?: boolean;
}

type Stage = "start" | "in-jail-dir" | "dropped" | "failed";
let stage: Stage = "start";

/** getcwd() must name the jail exactly; only a trailing slash may differ. */
export function sameDirectory(cwd: string, jail: string): boolean {
  const strip = (p: string) => p.length > 1 && p.endsWith("/") ? p.slice(0, -1) : p;
  return strip(cwd) === strip(jail);
}

function attempt<T>(step: PrivilegeStep, what: string, action: () => T): T {
  try {
    return action();
  } catch (e) {
    stage = "failed";
    if (e instanceof PrivilegeError) throw e;
    const reason = e instanceof Error ? e.message : String(e);
    throw new PrivilegeError(step, `${what}: ${reason}`, { cause: e });
  }
}

function failStep(step: PrivilegeStep, message: string): never {
  stage = "failed";
  throw new PrivilegeError(step, message);
}

function sortedUnique(ids: readonly number[]): number[] {
  return [...new Set(ids)].sort((a, b) => a - b);
}

/** After the drop: every id is the target, and regaining root fails. */
function verifyDropped(creds: Credentials): void {
  const uids = getresuid();
  const gids = getresgid();
  if (uids.real !== creds.uid || uids.effective !== creds.uid || uids.saved !== creds.uid) {
    failStep("verify", `uids are ${uids.real}/${uids.effective}/${uids.saved}, not ${creds.uid}`);
  }
  if (gids.real !== creds.gid || gids.effective !== creds.gid || gids.saved !== creds.gid) {
    failStep("verify", `gids are ${gids.real}/${gids.effective}/${gids.saved}, not ${creds.gid}`);
  }
  const want = sortedUnique(creds.groups);
  const got = sortedUnique(getgroups());
  if (want.join(",") !== got.join(",")) {
    failStep("verify", `supplementary groups are [${got}], not [${want}]`);
  }
  if (creds.uid === 0) return; // allowRoot: root can always change its ids again
  const regains = (change: () => void): boolean => {
    try {
      change();
      return true;
    } catch (e) {
      if (e instanceof ErrnoError && e.code === "EPERM") return false;
      throw e;
    }
  };
  if (regains(() => setresuid(0, 0, 0))) failStep("verify", "setresuid(0, 0, 0) succeeded");
  if (creds.gid !== 0 && regains(() => setresgid(0, 0, 0))) {
    failStep("verify", "setresgid(0, 0, 0) succeeded");
  }
}

/**
 * Enters `jail` (absolute and canonical: getcwd() must give it back) and becomes `creds` for
 * good. `beforeChroot` runs with the jail as working directory, still privileged: the place for
 * safety checks on relative paths ("." is the jail) and the last log line before the jail.
 * On return the process is inside the jail, in "/", without any privilege.
 */
export function enterJail(
  jail: string,
  creds: Credentials,
  beforeChroot?: () => void,
  options: EnterOptions = {},
): void {
  if (stage !== "start") failStep("chdir-jail", `enterJail called twice (stage ${stage})`);
  if (!jail.startsWith("/")) failStep("chdir-jail", `jail ${jail} is not an absolute path`);
  if (creds.uid === 0 && !options.allowRoot) {
    failStep("setresuid", "refusing to run a jailed program as uid 0");
  }

  attempt("chdir-jail", `chdir(${jail})`, () => chdir(jail));
  const cwd = attempt("getcwd", "getcwd", () => Deno.cwd());
  if (!sameDirectory(cwd, jail)) {
    failStep("getcwd", `jail ${jail} is not a canonical path: getcwd() gives ${cwd}`);
  }
  stage = "in-jail-dir";
  if (beforeChroot) {
    try {
      beforeChroot();
    } catch (e) {
      stage = "failed";
      throw e;
    }
  }

  attempt("chroot", `chroot(${jail})`, () => chroot("."));
  attempt("chdir-root", "chdir(/) inside the jail", () => chdir("/"));
  becomeTarget(creds);
  attempt("no-new-privs", "prctl(PR_SET_NO_NEW_PRIVS)", () => setNoNewPrivs());
  stage = "dropped";
}

/** setgroups, setresgid, setresuid, verify: the drop shared by both entry points. */
function becomeTarget(creds: Credentials): void {
  attempt("setgroups", `setgroups([${creds.groups}])`, () => setgroups(creds.groups));
  attempt("setresgid", `setresgid(${creds.gid})`, () => {
    setresgid(creds.gid, creds.gid, creds.gid);
  });
  attempt("setresuid", `setresuid(${creds.uid})`, () => {
    setresuid(creds.uid, creds.uid, creds.uid);
  });
  attempt("verify", "checking the dropped ids", () => verifyDropped(creds));
}

/**
 * Becomes `creds` (never uid 0) for good without entering a jail: jk_procmailwrapper's users
 * whose home has no jail marker run the host's procmail as if they had started it themselves.
 * No PR_SET_NO_NEW_PRIVS here: outside a chroot there is nothing to escape from, and the
 * host's set-id programs (procmail writes /var/mail through its set-id bits) must keep
 * working as they do for any user. execInJail may follow.
 */
export function dropPrivileges(creds: Credentials): void {
  if (stage !== "start") failStep("setgroups", `dropPrivileges after stage ${stage}`);
  if (creds.uid === 0) failStep("setresuid", "refusing to run a program as uid 0");
  becomeTarget(creds);
  stage = "dropped";
}

/**
 * Runs `spec` in place of this process; only after enterJail or dropPrivileges succeeded. Every
 * descriptor above 2 (3 with `keepFd3`) is closed by the exec. (ffi's execve puts SIGPIPE, which Deno ignores, back to default.)
 */
export function execInJail(spec: ExecSpec): never {
  if (stage !== "dropped") {
    failStep("exec", `refusing to exec ${spec.path}: privileges not dropped (stage ${stage})`);
  }
  return attempt("exec", `execve(${spec.path})`, () => {
    if (spec.umask !== undefined) umask(spec.umask);
    closeFdsAbove(spec.keepFd3 ? 3 : 2);
    return execve(spec.path, spec.argv, spec.env);
  });
}
