/**
 * jk_uchroot (man/jk_uchroot.8): lets the users and groups listed in /etc/jailkit/jk_uchroot.ini
 * run one program inside a jail they are allowed to use. Setuid root through the native launcher;
 * the effects (stat, config, the privilege sequence, syslog, output) come in through
 * UchrootSystem, so the whole decision runs in tests against plain data.
 *
 * Order: options, ids, /etc/jailkit, the user's section, authorisation, the jail's safety,
 * chroot and the drop to the caller, the in-jail user, and only then the executable: it is
 * looked up inside the jail, as the caller. jailkit 2.23 stat'ed JAIL/EXE on the host, as
 * root, before the authorisation check — any user could learn whether a path existed
 * anywhere. Here nothing the caller names is examined before the caller is known to be
 * allowed into the jail, and a refusal reads the same whatever the executable is.
 *
 * Deliberately different from jailkit 2.23 (listed for admins in man/jk_uchroot.8):
 * - the executable is resolved inside the jail after the chroot, as the caller (exit 1 when it
 *   is missing there, reported after the authorisation, never before);
 * - the jail and every allowed_jails entry are compared after canonicalising both (realpath):
 *   `/srv/jail/`, `/srv//jail` and a symlink to it name the same jail, and the chroot goes to
 *   the real directory; a jail that cannot be resolved is not allowed (21, same message);
 * - the program gets a small fixed environment (PATH, HOME=/, USER, LOGNAME, and TERM, LANG,
 *   LC_* when the caller has them), not the caller's whole environment; the caller's umask;
 * - supplementary groups are set to the caller's own through the one privilege sequence
 *   (jailkit never called setgroups; the result is the same list);
 * - `-h`/`--help` print the usage and exit 0; `--version` prints the version and exits 0;
 * - config keys match exactly, values are trimmed; a malformed, unsafe or unreadable
 *   jk_uchroot.ini refuses with exit 14;
 * - only setuid-root mode (no file-capability mode, 101–105), PR_SET_NO_NEW_PRIVS, no
 *   descriptor but 0–2 for the program (as jk_chrootsh).
 */
import type { IniFile } from "../config/ini.ts";
import { iniInt, iniList, selectUserSection } from "../config/ini.ts";
import { JailkitError } from "../core/errors.ts";
import { VERSION } from "../core/runtime.ts";
import {
  answerInfo,
  argv0Problem,
  type CallerSystem,
  checkInJailUser,
  CONFIG_DIR,
  enterJailOrRefuse,
  GROUPW,
  IN_JAIL_EXIT,
  type InfoRequest,
  type JailExecResult,
  type LogPriority,
  parseJailCommand,
  requireSafeJail,
  safePathProblems,
  setuidCaller,
  type StatInfo,
  stepExitTable,
} from "./common.ts";
import { enterThinSession, THIN_TOOL_EXIT, type ThinSystem } from "./thin_session.ts";

export const CONFIG_FILE = "/etc/jailkit/jk_uchroot.ini";

/** basename(argv[0]) must be one of these. */
export const ACCEPTED_NAMES: readonly string[] = ["jk_uchroot", "-jk_uchroot"];

/** Exit codes, as jailkit 2.23. */
export const EXIT = {
  /** usage, wrong argv[0], no config, no section or allowed_jails, executable missing */
  usage: 1,
  notSetuidRoot: 11,
  realRoot: 12,
  user: 13,
  configDir: 14,
  chdirJail: 19,
  /** the jail is not allowed (or not canonical) */
  notAllowed: 21,
  chroot: 33,
  setgid: 34,
  /** setgroups failed, or the user/group is missing from the jail's passwd/group */
  setgroupsOrInJailUser: IN_JAIL_EXIT.missing,
  setuid: 36,
  inJailName: IN_JAIL_EXIT.name,
  unsafe: 53,
  ...THIN_TOOL_EXIT,
  exec: 111,
  internal: 154,
} as const;

/** Which exit code each failed privilege step gives; a jail that is not canonical is not allowed. */
export const STEP_EXIT = stepExitTable({
  ...EXIT,
  getcwd: EXIT.notAllowed,
  setgroups: EXIT.setgroupsOrInJailUser,
});

export const USAGE = `Usage: jk_uchroot -j JAIL -x EXECUTABLE [-- ARGUMENTS...]
Runs EXECUTABLE (a path inside JAIL) chrooted in JAIL as yourself, if
/etc/jailkit/jk_uchroot.ini lists JAIL in allowed_jails for you or your group.
  -j, --jail JAIL            the jail directory
  -x, --exec, --executable EXECUTABLE   the program, as seen inside the jail
  -v                         accepted and ignored
  -h, --help                 this text
      --version              the version
Everything after -- is passed to the program.`;

/** The PATH the jailed program starts with: the jail's system directories. */
export const JAILED_PATH = "/usr/local/bin:/usr/bin:/bin";

// ---------------------------------------------------------------------------------------------
// Command line

export type UchrootArgs =
  | InfoRequest
  | {
    readonly kind: "run";
    readonly jail: string;
    readonly executable: string;
    readonly args: readonly string[];
  };

/**
 * getopt_long's `j:x:hv` with `jail`, `exec`/`executable`, `help`, `version`. Anything that
 * is not an option (and everything after `--`) goes to the program. The last -j/-x wins.
 */
export function parseUchrootArgs(args: readonly string[]): UchrootArgs {
  const cmd = parseJailCommand(args, { executable: { type: "string", multiple: true } });
  if (cmd.kind !== "options") return cmd;
  // -x and --executable are one option: the one given last counts.
  let executable: string | undefined;
  for (const { name, value } of cmd.given) {
    if ((name === "exec" || name === "executable") && typeof value === "string") executable = value;
  }
  const jail = cmd.values.jail?.at(-1);
  if (jail === undefined || jail === "") {
    return { kind: "usage", error: "no jail given (-j JAIL)" };
  }
  if (executable === undefined || executable === "") {
    return { kind: "usage", error: "no executable given (-x EXECUTABLE)" };
  }
  return { kind: "run", jail, executable, args: cmd.args };
}

// ---------------------------------------------------------------------------------------------
// Configuration

/** The refusal a failed check of /etc/jailkit or the tool's ini gives, or undefined. */
export function configDirProblem(
  configFile: string,
  lstat: (path: string) => StatInfo | undefined,
  log: (priority: LogPriority, message: string) => void,
): string | undefined {
  const dirCheck = safePathProblems(CONFIG_DIR, lstat(CONFIG_DIR), 0, 0);
  for (const l of dirCheck.logs) log(l.priority, l.message);
  if (dirCheck.bits & ~GROUPW) {
    return `${CONFIG_DIR} is missing or unsafe (must be a root:root directory, not world ` +
      `writable, no set-id bits)`;
  }
  const fileStat = lstat(configFile);
  if (fileStat === undefined) return undefined;
  const fileCheck = safePathProblems(configFile, fileStat, 0, 0);
  for (const l of fileCheck.logs) log(l.priority, l.message);
  if (fileCheck.bits & ~GROUPW) {
    return `${configFile} is unsafe (must be a root:root file, not world writable)`;
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Settings and environment

export interface UchrootSettings {
  readonly section: string;
  readonly allowedJails: readonly string[];
  readonly skipInjailPasswdCheck: boolean;
}

/**
 * The caller's section (`selectUserSection`), or undefined when none applies. Throws config errors.
 */
export function readUchrootSettings(
  ini: IniFile,
  user: string,
  group: string,
): UchrootSettings | undefined {
  const section = selectUserSection(ini, user, group);
  if (!section) return undefined;
  return {
    section: section.name,
    allowedJails: iniList(section, "allowed_jails"),
    skipInjailPasswdCheck: iniInt(section, "skip_injail_passwd_check", 0, { min: 0 }) !== 0,
  };
}

/**
 * The environment of the jailed program: a fixed PATH, HOME=/ (its working directory), the
 * caller's name as USER and LOGNAME, and the caller's TERM, LANG and LC_* when set. Nothing
 * else of the caller's environment crosses into the jail.
 */
export function jailedEnv(caller: ReadonlyMap<string, string>, userName: string): string[] {
  const env = [`PATH=${JAILED_PATH}`, "HOME=/", `USER=${userName}`, `LOGNAME=${userName}`];
  for (const [name, value] of caller) {
    if (name === "TERM" || name === "LANG" || /^LC_[A-Z_]+$/.test(name)) {
      env.push(`${name}=${value}`);
    }
  }
  return env;
}

/**
 * The jail the caller may enter: the canonical form of `requested`, when it equals the
 * canonical form of one allowed entry. `realpath` answers undefined for a path that does not
 * resolve; relative paths are never allowed.
 */
export function authorisedJail(
  requested: string,
  allowed: readonly string[],
  realpath: (path: string) => string | undefined,
): string | undefined {
  if (!requested.startsWith("/")) return undefined;
  const want = realpath(requested);
  if (want === undefined || want === "/") return undefined;
  for (const entry of allowed) {
    if (entry.startsWith("/") && realpath(entry) === want) return want;
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// The run

export interface UchrootSystem extends CallerSystem {
  /** The parsed CONFIG_FILE; throws a JailkitError when it is missing, unreadable or bad. */
  readConfig(): IniFile;
  /** The canonical absolute path, or undefined when it does not resolve. */
  realpath(path: string): string | undefined;
  /** Inside the jail, as the caller: a file's text, or undefined when unreadable. */
  readJailFile(path: string): string | undefined;
  /** Inside the jail, as the caller: stat (symlinks followed), undefined when missing. */
  statInJail(path: string): StatInfo | undefined;
  stdout(text: string): void;
  stderr(text: string): void;
  /** The thin-jail steps (lib/login/thin_session.ts). */
  readonly thin: ThinSystem;
}

export type UchrootResult = JailExecResult;

const S_IFMT = 0o170000;
const S_IFREG = 0o100000;

export function runUchroot(sys: UchrootSystem): UchrootResult {
  /** Logged, and told to the caller on stderr (jailkit only logged most of these). */
  const refuse = (exitCode: number, priority: LogPriority, message: string) => {
    sys.log(priority, message);
    sys.stderr(`jk_uchroot: ${message}\n`);
    return { exitCode };
  };

  const badArgv0 = argv0Problem(sys.argv0, ACCEPTED_NAMES);
  if (badArgv0) return refuse(EXIT.usage, "err", badArgv0);
  const cmd = parseUchrootArgs(sys.args);
  if (cmd.kind !== "run") {
    const info = answerInfo(cmd, "jk_uchroot", USAGE, VERSION, EXIT.usage);
    sys.stdout(info.text);
    return { exitCode: info.exitCode };
  }

  const found = setuidCaller(sys, "jk_uchroot", EXIT);
  if ("refusal" in found) return refuse(found.refusal.exitCode, "err", found.refusal.message);
  const { caller, groups } = found;
  const envUser = sys.callerEnv.get("USER");
  const who = `user ${caller.user.name} (${sys.uid})`;

  const dirProblem = configDirProblem(CONFIG_FILE, (p) => sys.lstat(p), sys.log);
  if (dirProblem) return refuse(EXIT.configDir, "err", `${dirProblem}; refusing ${who}`);
  let settings: UchrootSettings | undefined;
  try {
    settings = readUchrootSettings(sys.readConfig(), caller.user.name, caller.group.name);
  } catch (e) {
    if (!(e instanceof JailkitError)) throw e;
    if (e.kind === "not-found") {
      return refuse(EXIT.usage, "err", `${CONFIG_FILE} does not exist; refusing ${who}`);
    }
    return refuse(EXIT.configDir, "err", `${e.message}; refusing ${who}`);
  }
  if (!settings) {
    return refuse(
      EXIT.usage,
      "err",
      `${who} may not use jk_uchroot: no [${caller.user.name}], ` +
        `[group ${caller.group.name}] or [DEFAULT] section in ${CONFIG_FILE}`,
    );
  }
  if (settings.allowedJails.length === 0) {
    return refuse(
      EXIT.usage,
      "err",
      `${who} may not use jk_uchroot: no allowed_jails in [${settings.section}] of ` +
        CONFIG_FILE,
    );
  }

  // Authorisation: the only input examined so far is the jail's name.
  const jail = authorisedJail(cmd.jail, settings.allowedJails, (p) => sys.realpath(p));
  if (jail === undefined) {
    return refuse(
      EXIT.notAllowed,
      "err",
      `${who} is not allowed to use jail ${cmd.jail} (allowed_jails in [${settings.section}])`,
    );
  }

  const checkJail = () => {
    requireSafeJail(sys, jail, EXIT.unsafe, (message) => sys.stderr(`jk_uchroot: ${message}\n`));
    enterThinSession(
      sys.thin,
      jail,
      (priority, message) => {
        sys.log(priority, message);
        if (priority === "err") sys.stderr(`jk_uchroot: ${message}\n`);
      },
      `now entering jail ${jail} for ${who} to run ${cmd.executable} with arguments ` +
        cmd.args.join(" "),
    );
  };
  const creds = { uid: sys.uid, gid: sys.gid, groups };
  const refused = enterJailOrRefuse(
    sys,
    jail,
    creds,
    checkJail,
    (e) => refuse(STEP_EXIT[e.step], "err", `${who}, jail ${jail}: ${e.message}`),
  );
  if (refused) return refused;

  // Inside the jail, as the caller.
  let name = caller.user.name;
  if (!settings.skipInjailPasswdCheck) {
    const inJail = checkInJailUser(sys, caller, envUser, jail);
    if ("exitCode" in inJail) return refuse(inJail.exitCode, "err", inJail.message);
    name = inJail.entry.name;
  }
  const st = sys.statInJail(cmd.executable);
  if (!st || (st.mode & S_IFMT) !== S_IFREG) {
    return refuse(
      EXIT.usage,
      "err",
      `${who}: ${cmd.executable} is not a regular file inside jail ${jail}`,
    );
  }
  return {
    exec: {
      path: cmd.executable,
      argv: [cmd.executable, ...cmd.args],
      env: jailedEnv(sys.callerEnv, name),
      umask: sys.callerUmask,
    },
    context: `${who} in jail ${jail}`,
  };
}
