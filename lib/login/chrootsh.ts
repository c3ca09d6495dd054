/**
 * jk_chrootsh (man/jk_chrootsh.8): the login shell of jailed users. It finds the jail from the
 * `/./` in the user's host home, checks the jail and the home, enters the jail as the user and
 * runs the user's in-jail shell. Every step and exit code follows jailkit 2.23; the effects (stat,
 * reading files, the privilege sequence, syslog) come in through ChrootshSystem, so the whole
 * decision runs in tests against plain data.
 *
 * Deliberately different from jailkit 2.23 (listed for admins in man/jk_chrootsh.8):
 * - config keys match exactly: `relax_home_group` no longer relaxes a group-writable home
 *   (that needs `relax_home_group_permissions`);
 * - values are trimmed, so `injail_shell = /bin/sh` works;
 * - a malformed jk_chrootsh.ini (syntax, a non-numeric value such as `yes`), an unreadable one
 *   or one that is a symlink, not root:root or world-writable refuses the login with exit 14
 *   (jailkit read what it could and took `yes` as 0);
 * - host users and groups come from /etc/passwd and /etc/group (no NSS: LDAP/SSSD accounts are
 *   not found, exit 13); in-jail users from JAIL/etc/passwd and JAIL/etc/group, read inside the
 *   jail as the user (jailkit asked the jail's NSS, whose systemd module invented root/nobody);
 * - only setuid-root mode (exit 11 otherwise): no file-capability mode (101–105);
 * - PR_SET_NO_NEW_PRIVS: set-uid programs and file capabilities in the jail do not work for the
 *   jailed session;
 * - the jailed program gets the caller's umask (the launcher passes it on) and no descriptor
 *   but 0–2;
 * - crashes and SIGTERM are not caught and logged (jailkit exited 154); internal errors exit 154.
 */
import type { IniFile } from "../config/ini.ts";
import { iniInt, iniList, iniString, selectUserSection } from "../config/ini.ts";
import { parseJailHome } from "../config/passwd.ts";
import { JailkitError } from "../core/errors.ts";
import {
  argv0Problem,
  type Caller,
  type CallerSystem,
  checkInJailUser as checkInJailNames,
  CONFIG_DIR,
  enterJailOrRefuse,
  errorMessage,
  GROUP,
  GROUPW,
  JAIL_LOGIN_EXIT,
  JAIL_LOGIN_STEP_EXIT,
  type JailExecResult,
  type LogPriority,
  NOREGPATH,
  OTHERW,
  OWNER,
  Refusal,
  requireSafeJail,
  safePathProblems,
  setuidCaller,
  stripTrailingSlash,
} from "./common.ts";
import { enterThinSession, THIN_TOOL_EXIT, type ThinSystem } from "./thin_session.ts";
export const CONFIG_FILE = "/etc/jailkit/jk_chrootsh.ini";

/** What `jk_chrootsh --help` prints (man/jk_chrootsh.8, SYNOPSIS). */
export const USAGE = `Usage: jk_chrootsh [ARGUMENT...]
The login shell of jailed users: enters the jail named by the /./ in the user's
home directory and runs the user's shell there with the ARGUMENTs (sshd passes
-c COMMAND). Set-uid root; its messages go to syslog. See jk_chrootsh(8).`;

/**
 * basename(argv[0]) must be one of these (sshd prefixes "-" for login shells). `su` stays
 * accepted as in jailkit, for sites that link su to jk_chrootsh; argv[0] is the caller's
 * choice anyway, so the check only catches a misnamed link, it guards nothing.
 */
export const ACCEPTED_NAMES: readonly string[] = ["jk_chrootsh", "-jk_chrootsh", "su", "-su"];

/** Exit codes, as jailkit 2.23. */
export const EXIT = {
  ...JAIL_LOGIN_EXIT,
  realRoot: 12,
  configDir: 14,
  emptyHome: 16,
  ...THIN_TOOL_EXIT,
} as const;

/** Which exit code each failed privilege step gives. */
export const STEP_EXIT = JAIL_LOGIN_STEP_EXIT;

// ---------------------------------------------------------------------------------------------
// Settings

export interface ChrootshSettings {
  /** The section used, for log lines; undefined when no section (or no file) applies. */
  readonly section?: string;
  readonly env: readonly string[];
  readonly relaxHomeGroupPermissions: boolean;
  readonly relaxHomeOtherPermissions: boolean;
  readonly relaxHomeGroup: boolean;
  readonly relaxHomeOwner: boolean;
  readonly injailShell?: string;
  readonly skipInjailPasswdCheck: boolean;
  readonly injailLoginShell: boolean;
}

export const DEFAULT_SETTINGS: ChrootshSettings = {
  env: [],
  relaxHomeGroupPermissions: false,
  relaxHomeOtherPermissions: false,
  relaxHomeGroup: false,
  relaxHomeOwner: false,
  skipInjailPasswdCheck: false,
  injailLoginShell: false,
};

/**
 * The settings for a user: the one section `selectUserSection` chooses, keys matched exactly,
 * values trimmed. A value that is not a non-negative decimal integer throws a config error naming
 * FILE:LINE.
 */
export function readSettings(
  ini: IniFile | undefined,
  user: string,
  group: string,
): ChrootshSettings {
  const section = ini ? selectUserSection(ini, user, group) : undefined;
  if (!section) return DEFAULT_SETTINGS;
  const flag = (key: string) => iniInt(section, key, 0, { min: 0 }) !== 0;
  const shell = iniString(section, "injail_shell");
  return {
    section: section.name,
    env: iniList(section, "env"),
    relaxHomeGroupPermissions: flag("relax_home_group_permissions"),
    relaxHomeOtherPermissions: flag("relax_home_other_permissions"),
    relaxHomeGroup: flag("relax_home_group"),
    relaxHomeOwner: flag("relax_home_owner"),
    injailShell: shell === undefined || shell === "" ? undefined : shell,
    skipInjailPasswdCheck: flag("skip_injail_passwd_check"),
    injailLoginShell: flag("injail_login_shell"),
  };
}

/** Step 9: only the listed variables survive (exact names); none without an `env` list. */
export function filterEnv(
  caller: ReadonlyMap<string, string>,
  keep: readonly string[],
): Map<string, string> {
  const out = new Map<string, string>();
  for (const [name, value] of caller) if (keep.includes(name)) out.set(name, value);
  return out;
}

// ---------------------------------------------------------------------------------------------
// The run

/** Everything jk_chrootsh needs from the system; production wiring is cli/jk_chrootsh.ts. */
export interface ChrootshSystem extends CallerSystem {
  /** The parsed CONFIG_FILE; throws a JailkitError when it is unreadable or malformed. */
  readConfig(): IniFile;
  /** Inside the jail, as the user: the file's text, or undefined when unreadable. */
  readJailFile(path: string): string | undefined;
  chdir(path: string): void;
  /** The thin-jail steps (lib/login/thin_session.ts). */
  readonly thin: ThinSystem;
}

export type ChrootshResult = JailExecResult;

/**
 * Runs every check of man/jk_chrootsh.8 (STEPS AND EXIT STATUS) in jailkit's order, entering the
 * jail through `sys.enterJail`. Returns the exit code of a refusal (already logged), or what to
 * exec in the jail.
 */
export function runChrootsh(sys: ChrootshSystem): ChrootshResult {
  const refuse = (exitCode: number, priority: LogPriority, message: string) => {
    sys.log(priority, message);
    return { exitCode };
  };

  // 2. argv[0]
  const badArgv0 = argv0Problem(sys.argv0, ACCEPTED_NAMES);
  if (badArgv0) return refuse(EXIT.argv0, "err", badArgv0);
  // 3., 4. ids; 5. who
  const found = setuidCaller(sys, "jk_chrootsh", EXIT);
  if ("refusal" in found) return refuse(found.refusal.exitCode, "err", found.refusal.message);
  const { caller, groups } = found;
  const { user, group } = caller;
  const envUser = sys.callerEnv.get("USER");
  const who = `user ${user.name} (${sys.uid})`;

  // 6., 7. configuration
  const dirCheck = safePathProblems(CONFIG_DIR, sys.lstat(CONFIG_DIR), 0, 0);
  for (const l of dirCheck.logs) sys.log(l.priority, l.message);
  if (dirCheck.bits & ~GROUPW) {
    return refuse(
      EXIT.configDir,
      "err",
      `${CONFIG_DIR} is missing or unsafe (must be a root:root directory, not world ` +
        `writable, no set-id bits); refusing ${who}`,
    );
  }
  let settings = DEFAULT_SETTINGS;
  const fileStat = sys.lstat(CONFIG_FILE);
  if (fileStat !== undefined) {
    const fileCheck = safePathProblems(CONFIG_FILE, fileStat, 0, 0);
    for (const l of fileCheck.logs) sys.log(l.priority, l.message);
    if (fileCheck.bits & ~GROUPW) {
      return refuse(EXIT.configDir, "err", `${CONFIG_FILE} is unsafe; refusing ${who}`);
    }
    try {
      settings = readSettings(sys.readConfig(), user.name, group.name);
    } catch (e) {
      if (!(e instanceof JailkitError)) throw e;
      return refuse(EXIT.configDir, "err", `${e.message}; refusing ${who}`);
    }
  }

  // 9. environment
  const env = filterEnv(sys.callerEnv, settings.env);

  // 10., 11. where
  if (user.gid !== sys.gid) {
    return refuse(
      EXIT.gid,
      "err",
      `${who}: primary group ${user.gid} in /etc/passwd differs from the real gid ${sys.gid}`,
    );
  }
  if (user.home === "") return refuse(EXIT.emptyHome, "err", `${who} has no home directory`);
  const jailHome = parseJailHome(user.home);
  if (!jailHome) {
    return refuse(
      EXIT.noJailMarker,
      "err",
      `${who}: home ${user.home} does not name a jail (no "/./" after a jail path of at least ` +
        `3 characters)`,
    );
  }
  const { jail, home } = jailHome;
  const relHome = home.replace(/^\/+/, "") || ".";

  // 12.–17.
  const checkJailAndHome = () => {
    requireSafeJail(sys, jail, EXIT.unsafe);
    const homeCheck = safePathProblems(user.home, sys.lstat(relHome), sys.uid, sys.gid);
    for (const l of homeCheck.logs) sys.log(l.priority, l.message);
    const fatal = homeCheck.bits & (
      NOREGPATH |
      (settings.relaxHomeOwner ? 0 : OWNER) |
      (settings.relaxHomeGroup ? 0 : GROUP) |
      (settings.relaxHomeGroupPermissions ? 0 : GROUPW) |
      (settings.relaxHomeOtherPermissions ? 0 : OTHERW)
    );
    if (fatal) {
      const why = homeCheck.bits & NOREGPATH
        ? "is missing or a symlink"
        : `is not safe for ${who} (see the lines above)`;
      sys.log("err", `home ${user.home} ${why}`);
      throw new Refusal(EXIT.unsafe);
    }
    enterThinSession(
      sys.thin,
      jail,
      sys.log,
      `now entering jail ${jail} for ${who} with arguments ${sys.args.join(" ")}`,
    );
  };
  const creds = { uid: sys.uid, gid: sys.gid, groups };
  const refused = enterJailOrRefuse(
    sys,
    jail,
    creds,
    checkJailAndHome,
    (e) => refuse(STEP_EXIT[e.step], "err", `${who}, jail ${jail}: ${e.message}`),
  );
  if (refused) return refused;

  // 18., 19. inside the jail, as the user
  let shell: string;
  let name = user.name;
  if (settings.skipInjailPasswdCheck && settings.injailShell !== undefined) {
    shell = settings.injailShell;
  } else {
    const inJail = checkInJailUser(sys, caller, envUser, jail, home);
    if ("exitCode" in inJail) return inJail;
    name = inJail.name;
    shell = settings.injailShell ?? inJail.shell;
  }
  if (shell === "") {
    return refuse(EXIT.exec, "err", `${who} has no shell in ${jail}/etc/passwd`);
  }
  // Advisory only, as in jailkit: a symlinked or writable shell is logged, not refused.
  for (const l of safePathProblems(shell, sys.lstat(shell), 0, 0).logs) {
    sys.log(l.priority, l.message);
  }

  // 20., 21.
  env.set("HOME", home);
  env.set("USER", name);
  env.set("USERNAME", name);
  env.set("SHELL", shell);
  try {
    sys.chdir(home);
  } catch (e) {
    return refuse(
      EXIT.chdirHome,
      "err",
      `${who}: cannot enter home ${home} inside jail ${jail}: ${errorMessage(e)}`,
    );
  }
  const argv = settings.injailLoginShell ? [shell, "--login"] : [shell, ...sys.args];
  return {
    exec: {
      path: shell,
      argv,
      env: [...env].map(([k, v]) => `${k}=${v}`),
      umask: sys.callerUmask,
    },
    context: `${who} in jail ${jail}`,
  };
}

/**
 * Step 18: the user and the group must exist in the jail under the host names (common.ts
 * checkInJailUser), with the home the marker gives. Returns the shell to run, or the refusal.
 */
function checkInJailUser(
  sys: ChrootshSystem,
  caller: Caller,
  envUser: string | undefined,
  jail: string,
  home: string,
): { name: string; shell: string } | { exitCode: number } {
  const { user } = caller;
  const who = `user ${user.name} (${sys.uid})`;
  const refuse = (exitCode: number, message: string) => {
    sys.log("err", message);
    return { exitCode };
  };
  const named = checkInJailNames(sys, caller, envUser, jail);
  if ("exitCode" in named) return refuse(named.exitCode, named.message);
  const { entry, passwd } = named;
  if (entry.home === home) return { name: entry.name, shell: entry.shell };
  // jailkit then read the jail's passwd file itself, first line with this uid.
  const direct = passwd.byUid(sys.uid);
  if (!direct || direct.home === "" || direct.shell === "") {
    return refuse(EXIT.inJailHome, `${who} has no usable line in ${jail}/etc/passwd`);
  }
  if (stripTrailingSlash(direct.home) !== stripTrailingSlash(home)) {
    return refuse(
      EXIT.inJailHome,
      `${who}: home in ${jail}/etc/passwd is ${direct.home}, but the host home ` +
        `${user.home} gives ${home}`,
    );
  }
  return { name: entry.name, shell: direct.shell };
}
