/**
 * What the privileged entry points (jk_chrootsh, jk_uchroot, jk_procmailwrapper,
 * jk_chrootlaunch) share: what they learn about the caller and the host (CallerSystem), how the
 * caller is identified, jailkit's path-safety test and the jail safety check built on it, the
 * entry into the jail with its refusals, the user check inside the jail with its exit codes,
 * the argv[0] check, and initgroups. Each tool module adds only its own steps and exit table;
 * none imports another tool's module.
 */
import {
  type Credentials,
  type ExecSpec,
  PrivilegeError,
  type PrivilegeStep,
} from "./privilege.ts";
import type { GroupEntry, GroupFile, PasswdEntry, PasswdFile } from "../config/passwd.ts";
import { loadDbFile, parseGroup, parsePasswd } from "../config/passwd.ts";
import type { LogPriority } from "../../ffi/libc.ts";
import {
  type GivenOption,
  OptionError,
  type OptionSpec,
  type OptionValues,
  parseCommandLine,
} from "../core/options.ts";

/** The login tools take it from here with the rest of their shared code. */
export { stripTrailingSlash } from "../core/paths.ts";

/** Where every tool's ini lives. */
export const CONFIG_DIR = "/etc/jailkit";

export type { LogPriority };

/** The lstat/stat facts the checks use. */
export interface StatInfo {
  readonly isSymlink: boolean;
  /** st_mode, file type bits included or not. */
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
}

/**
 * What every privileged entry point learns from the system about its caller and the host;
 * each tool's own interface adds the rest. The production wiring is lib/entry/setuid.ts
 * hostCallerSystem.
 */
export interface CallerSystem {
  /** The caller's argv[0], as the launcher handed it over. */
  readonly argv0: string;
  readonly args: readonly string[];
  readonly euid: number;
  /** Real uid and gid of the caller. */
  readonly uid: number;
  readonly gid: number;
  /** The caller's environment. */
  readonly callerEnv: ReadonlyMap<string, string>;
  /** The caller's umask, restored for the program started. */
  readonly callerUmask?: number;
  /**
   * The caller's supplementary groups, kept as they are: a caller that dropped groups never
   * gets them back from /etc/group. Throws when they cannot be read.
   */
  groups(): number[];
  /** Host /etc/passwd and /etc/group; undefined when unreadable. */
  hostPasswd(): PasswdFile | undefined;
  hostGroup(): GroupFile | undefined;
  /** lstat/stat; relative paths are inside the jail directory once it is entered. */
  lstat(path: string): StatInfo | undefined;
  stat(path: string): StatInfo | undefined;
  /**
   * lib/login/privilege.ts enterJail: chdir + getcwd check, `beforeChroot`, chroot and the drop to
   * `creds`. Throws PrivilegeError naming the failed step.
   */
  enterJail(jail: string, creds: Credentials, beforeChroot: () => void): void;
  log(priority: LogPriority, message: string): void;
}

/** What a parsed command line of jk_uchroot or jk_chrootlaunch asks for besides running. */
export type InfoRequest =
  | { readonly kind: "help" }
  | { readonly kind: "version" }
  | { readonly kind: "usage"; readonly error: string };

/**
 * The options jk_uchroot and jk_chrootlaunch share: getopt_long's `j:x:hv` with `jail`, `exec`,
 * `help` and `version`. A repeated -j or -x keeps every value, so that the last can win.
 */
export const JAIL_EXEC_OPTIONS = {
  jail: { type: "string", short: "j", multiple: true },
  exec: { type: "string", short: "x", multiple: true },
  help: { type: "boolean", short: "h" },
  version: { type: "boolean" },
  v: { type: "boolean", multiple: true },
} as const;

/** A command line of jk_uchroot or jk_chrootlaunch that asks to run the program. */
export interface JailCommand<T extends Record<string, OptionSpec>> {
  readonly kind: "options";
  readonly values: OptionValues<typeof JAIL_EXEC_OPTIONS & T>;
  /** The options in command-line order. */
  readonly given: readonly GivenOption<typeof JAIL_EXEC_OPTIONS & T>[];
  /** The program's arguments: every non-option, and everything after `--`. */
  readonly args: readonly string[];
}

/**
 * `args` against JAIL_EXEC_OPTIONS and the tool's `more`: a usage error for any argument that
 * does not fit (the parser's message), else help, else version, else the options.
 */
export function parseJailCommand<const T extends Record<string, OptionSpec>>(
  args: readonly string[],
  more: T,
): InfoRequest | JailCommand<T> {
  let parsed;
  try {
    parsed = parseCommandLine(args, { ...JAIL_EXEC_OPTIONS, ...more });
  } catch (e) {
    if (!(e instanceof OptionError)) throw e;
    return { kind: "usage", error: e.message };
  }
  const { values, given, positionals } = parsed;
  if (values.help) return { kind: "help" };
  if (values.version) return { kind: "version" };
  return { kind: "options", values, given, args: positionals };
}

/**
 * The output and exit status for --help, --version or a usage error, as jailkit's jk_uchroot and
 * jk_chrootlaunch give them (`TOOL version V`; usage on stdout, also after an error).
 */
export function answerInfo(
  request: InfoRequest,
  tool: string,
  usage: string,
  version: string,
  usageExit: number,
): { readonly text: string; readonly exitCode: number } {
  switch (request.kind) {
    case "help":
      return { text: `${usage}\n`, exitCode: 0 };
    case "version":
      return { text: `${tool} version ${version}\n`, exitCode: 0 };
    case "usage":
      return { text: `ERROR: ${request.error}\n${usage}\n`, exitCode: usageExit };
  }
}

/** A refusal thrown inside the privilege sequence's hook, carried out as an exit code. */
export class Refusal extends Error {
  constructor(readonly exitCode: number) {
    super(`exit ${exitCode}`);
  }
}

export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/**
 * Why argv[0] is refused, or undefined when its basename is one of `names` (sshd prefixes "-"
 * for login shells).
 */
export function argv0Problem(argv0: string, names: readonly string[]): string | undefined {
  if (names.includes(argv0.slice(argv0.lastIndexOf("/") + 1))) return undefined;
  return `started as ${JSON.stringify(argv0)}; only ${names.join(", ")} are accepted`;
}

/** A tool's exit codes for the failures of the privilege sequence (lib/login/privilege.ts). */
export interface StepExitCodes {
  readonly chdirJail: number;
  readonly getcwd: number;
  readonly chroot: number;
  readonly setgroups: number;
  readonly setgid: number;
  readonly setuid: number;
  readonly exec: number;
}

/**
 * Which exit code each failed privilege step gives: chroot and the chdir("/") after it share
 * one, as do setresuid, its verification and PR_SET_NO_NEW_PRIVS (as in jailkit 2.23).
 */
export function stepExitTable(c: StepExitCodes): Readonly<Record<PrivilegeStep, number>> {
  return {
    "chdir-jail": c.chdirJail,
    "getcwd": c.getcwd,
    "chroot": c.chroot,
    "chdir-root": c.chroot,
    "setgroups": c.setgroups,
    "setresgid": c.setgid,
    "setresuid": c.setuid,
    "verify": c.setuid,
    "no-new-privs": c.setuid,
    "exec": c.exec,
  };
}

// ---------------------------------------------------------------------------------------------
// Path safety: jailkit's testsafepath

export const NOREGPATH = 1;
export const GROUPW = 2;
export const OTHERW = 4;
export const SETUID = 8;
export const SETGID = 16;
export const OWNER = 32;
export const GROUP = 64;

export interface SafetyResult {
  readonly bits: number;
  readonly logs: readonly { priority: LogPriority; message: string }[];
}

/**
 * jailkit's testsafepath: which rules `st` (the lstat of `path`, undefined when missing)
 * breaks for the expected owner and group, each with the log line jailkit wrote.
 */
export function safePathProblems(
  path: string,
  st: StatInfo | undefined,
  owner: number,
  group: number,
): SafetyResult {
  if (st === undefined) return { bits: NOREGPATH, logs: [] };
  if (st.isSymlink) {
    return { bits: NOREGPATH, logs: [{ priority: "err", message: `path ${path} is a symlink` }] };
  }
  const logs: { priority: LogPriority; message: string }[] = [];
  let bits = 0;
  const add = (bit: number, priority: LogPriority, message: string) => {
    bits |= bit;
    logs.push({ priority, message: `path ${path} ${message}` });
  };
  if (st.mode & 0o020) {
    add(GROUPW, group === 0 ? "warning" : "notice", "is group writable");
  }
  if (st.mode & 0o002) add(OTHERW, owner === 0 ? "err" : "notice", "is writable for others");
  if (st.mode & 0o4000) add(SETUID, "err", "is setuid");
  if (st.mode & 0o2000) add(SETGID, "err", "is setgid");
  if (st.uid !== owner) {
    add(OWNER, owner === 0 ? "err" : "notice", `is not owned by user ${owner}`);
  }
  if (st.gid !== group) {
    add(GROUP, group === 0 ? "err" : "notice", `is not owned by group ${group}`);
  }
  return { bits, logs };
}

/** Directories of the jail that must be root-owned and not writable when present. */
export const CHECKED_JAIL_DIRS: readonly string[] = ["dev", "etc", "lib", "usr", "bin", "sbin"];

/**
 * jailkit's basicjailissafe: the jail directory itself (its lstat `jailStat`) must be a
 * root:root directory, not group/world writable, without set-id bits; each of
 * CHECKED_JAIL_DIRS, when present (`stat` follows a `bin -> usr/bin` link, as jailkit's
 * trailing slash did), must be root-owned and not writable either. Logs each problem found.
 */
export function jailIsSafe(
  jail: string,
  jailStat: StatInfo | undefined,
  statDir: (dir: string) => StatInfo | undefined,
  log: (priority: LogPriority, message: string) => void,
): boolean {
  const top = safePathProblems(jail, jailStat, 0, 0);
  for (const l of top.logs) log(l.priority, l.message);
  if (top.bits !== 0) return false;
  let safe = true;
  for (const dir of CHECKED_JAIL_DIRS) {
    const sub = safePathProblems(`${jail}/${dir}/`, statDir(dir), 0, 0);
    for (const l of sub.logs) log(l.priority, l.message);
    if (sub.bits & ~NOREGPATH) safe = false;
  }
  return safe;
}

/**
 * The jail check of jk_chrootsh, jk_uchroot and jk_procmailwrapper, made in their
 * `beforeChroot` on the directory being entered ("."): jailIsSafe, and when the jail is not
 * safe the summary line logged (and a short one handed to `tell` for the caller) and a Refusal
 * with `exitCode`.
 */
export function requireSafeJail(
  sys: Pick<CallerSystem, "lstat" | "stat" | "log">,
  jail: string,
  exitCode: number,
  tell?: (message: string) => void,
): void {
  if (jailIsSafe(jail, sys.lstat("."), (d) => sys.stat(d), sys.log)) return;
  sys.log("err", `jail ${jail} is not safe (must be root:root, not group/world writable)`);
  tell?.(`jail ${jail} is not safe; see the system log`);
  throw new Refusal(exitCode);
}

/**
 * sys.enterJail with the tool's checks as `beforeChroot`. Undefined once the process is in the
 * jail as `creds`; else the refusal: the exit code a check threw as a Refusal (it logged its
 * reason), or what `failed` makes of a failed privilege step. Any other exception is a bug and
 * propagates.
 */
export function enterJailOrRefuse(
  sys: Pick<CallerSystem, "enterJail">,
  jail: string,
  creds: Credentials,
  beforeChroot: () => void,
  failed: (e: PrivilegeError) => { readonly exitCode: number },
): { readonly exitCode: number } | undefined {
  try {
    sys.enterJail(jail, creds, beforeChroot);
    return undefined;
  } catch (e) {
    if (e instanceof Refusal) return { exitCode: e.exitCode };
    if (!(e instanceof PrivilegeError)) throw e;
    return failed(e);
  }
}

// ---------------------------------------------------------------------------------------------
// Who the caller is, outside and inside the jail

export interface Caller {
  readonly user: PasswdEntry;
  readonly group: GroupEntry;
}

/**
 * The caller as jk_chrootsh identifies it: `$USER` when set and not empty must name the real
 * uid; else the passwd entry of the real uid. The real gid must be in the group file. Returns
 * the reason when it cannot be done.
 */
export function identifyCaller(
  passwd: PasswdFile,
  groups: GroupFile,
  uid: number,
  gid: number,
  envUser: string | undefined,
): Caller | string {
  let user: PasswdEntry | undefined;
  if (envUser) {
    user = passwd.byName(envUser);
    if (!user) return `user ${envUser} ($USER) does not exist (uid ${uid})`;
    if (user.uid !== uid) {
      return `$USER is ${envUser} (uid ${user.uid}) but the caller's uid is ${uid}`;
    }
  } else {
    user = passwd.byUid(uid);
    if (!user) return `no user with uid ${uid} in /etc/passwd`;
  }
  const group = groups.byGid(gid);
  if (!group) return `no group with gid ${gid} in /etc/group (user ${user.name}, uid ${uid})`;
  return { user, group };
}

/** Exit codes of the checks setuidCaller makes, named as in jk_chrootsh's and jk_uchroot's tables. */
export interface CallerExits {
  readonly notSetuidRoot: number;
  readonly realRoot: number;
  readonly user: number;
}

/**
 * How jk_chrootsh and jk_uchroot begin, in jailkit's order: running with effective uid 0, not
 * for root, the caller identified from the host's passwd and group (identifyCaller), and its
 * current supplementary groups (never /etc/group's: see CallerSystem.groups). Returns the
 * caller, or the exit code and message of the refusal for the tool to log.
 */
export function setuidCaller(
  sys: CallerSystem,
  tool: string,
  exits: CallerExits,
): { readonly caller: Caller; readonly groups: number[] } | {
  readonly refusal: { readonly exitCode: number; readonly message: string };
} {
  const refusal = (exitCode: number, message: string) => ({ refusal: { exitCode, message } });
  if (sys.euid !== 0) {
    return refusal(
      exits.notSetuidRoot,
      `not running with effective uid 0 (euid ${sys.euid}): ${tool} must be setuid root`,
    );
  }
  if (sys.uid === 0) return refusal(exits.realRoot, "refusing to run for root (uid 0)");
  const passwd = sys.hostPasswd();
  const groupFile = sys.hostGroup();
  if (!passwd || !groupFile) {
    return refusal(exits.user, `cannot read /etc/passwd or /etc/group (uid ${sys.uid})`);
  }
  const caller = identifyCaller(passwd, groupFile, sys.uid, sys.gid, sys.callerEnv.get("USER"));
  if (typeof caller === "string") return refusal(exits.user, caller);
  try {
    return { caller, groups: sys.groups() };
  } catch (e) {
    return refusal(exits.user, `cannot read the supplementary groups: ${errorMessage(e)}`);
  }
}

/** The exit codes of the in-jail user check, the same in every tool that makes it (jailkit's). */
export const IN_JAIL_EXIT = {
  /** the user (or the group) is missing from the jail's passwd (group) */
  missing: 35,
  /** the user or the group has another name in the jail */
  name: 37,
} as const;

/**
 * What jk_chrootsh, jk_uchroot and jk_chrootlaunch decide: the exit code of a refusal (already
 * logged), or what to exec once in the jail, with `context` ("user NAME (UID) in jail JAIL")
 * for the log line if the exec fails.
 */
export type JailExecResult =
  | { readonly exitCode: number; readonly exec?: undefined }
  | { readonly exec: ExecSpec; readonly context: string; readonly exitCode?: undefined };

/**
 * jailkit 2.23's exit codes for taking a user into the jail of their home directory: jk_chrootsh's,
 * which jk_procmailwrapper reuses for the same path (each tool adds its own to these).
 */
export const JAIL_LOGIN_EXIT = {
  argv0: 1,
  notSetuidRoot: 11,
  user: 13,
  gid: 15,
  noJailMarker: 17,
  chdirJail: 19,
  notCanonical: 21,
  chroot: 33,
  setgid: 34,
  /** setgroups failed, or the user/group is missing from the jail's passwd/group */
  setgroupsOrInJailUser: IN_JAIL_EXIT.missing,
  setuid: 36,
  inJailName: IN_JAIL_EXIT.name,
  inJailHome: 39,
  chdirHome: 41,
  unsafe: 53,
  exec: 111,
  internal: 154,
} as const;

/** Which JAIL_LOGIN_EXIT code each failed privilege step gives. */
export const JAIL_LOGIN_STEP_EXIT = stepExitTable({
  ...JAIL_LOGIN_EXIT,
  getcwd: JAIL_LOGIN_EXIT.notCanonical,
  setgroups: JAIL_LOGIN_EXIT.setgroupsOrInJailUser,
});

/** What the in-jail user check reads: the caller's ids and the jail's files, as the caller. */
export interface InJailReader {
  readonly uid: number;
  readonly gid: number;
  /** Inside the jail, after the drop: a file's text, or undefined when unreadable. */
  readJailFile(path: string): string | undefined;
}

/**
 * The user and group inside the jail, from the jail's own /etc/passwd and /etc/group (read by
 * the caller after the drop): the user (by `$USER` name, else uid) must exist with the same
 * uid, the group by gid (IN_JAIL_EXIT.missing), both under their host names
 * (IN_JAIL_EXIT.name). Returns the jail's passwd entry and file, or the refusal.
 */
export function checkInJailUser(
  sys: InJailReader,
  caller: Caller,
  envUser: string | undefined,
  jail: string,
): { entry: PasswdEntry; passwd: PasswdFile } | { exitCode: number; message: string } {
  const { uid, gid } = sys;
  const who = `user ${caller.user.name} (${uid})`;
  const read = (path: string) => sys.readJailFile(path);
  const passwd = loadDbFile("/etc/passwd", parsePasswd, read);
  const groups = loadDbFile("/etc/group", parseGroup, read);
  const entry = envUser ? passwd?.byName(envUser) : passwd?.byUid(uid);
  if (!passwd || !entry || entry.uid !== uid) {
    return { exitCode: IN_JAIL_EXIT.missing, message: `${who} not found in ${jail}/etc/passwd` };
  }
  const group = groups?.byGid(gid);
  if (!group) {
    return {
      exitCode: IN_JAIL_EXIT.missing,
      message: `group ${caller.group.name} (${gid}) of ${who} not found in ${jail}/etc/group`,
    };
  }
  if (entry.name !== caller.user.name) {
    return {
      exitCode: IN_JAIL_EXIT.name,
      message: `${who} is called ${entry.name} in ${jail}/etc/passwd; the names must be equal`,
    };
  }
  if (group.name !== caller.group.name) {
    return {
      exitCode: IN_JAIL_EXIT.name,
      message: `group ${caller.group.name} (${gid}) is called ${group.name} in ` +
        `${jail}/etc/group; the names must be equal`,
    };
  }
  return { entry, passwd };
}

/**
 * initgroups(3) on a group file: `gid` first, then every group that lists `user` as a member,
 * each once, in file order.
 */
export function initgroups(user: string, gid: number, groups: GroupFile): number[] {
  const out = [gid];
  for (const g of groups.entries) {
    if (g.members.includes(user) && !out.includes(g.gid)) out.push(g.gid);
  }
  return out;
}
