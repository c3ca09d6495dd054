/**
 * jk_procmailwrapper (man/jk_procmailwrapper.8): installed set-uid root where the mail system runs
 * procmail as the recipient (postfix's mailbox_command, exim's procmail transport, a .forward
 * pipe). For a user whose host home carries the jail marker (`/jail/./home/user`) it runs the
 * jail's procmail inside the jail, as the user; for everyone else it becomes the user and runs the
 * host's procmail, as if the user had started it. The effects come in through ProcmailSystem, so
 * the decision runs in tests against plain data.
 *
 * Deliberately different from jailkit 2.23 (listed for admins in man/jk_procmailwrapper.8):
 * - the jail gets the same safety checks as jk_chrootsh (the jail and its dev, etc, lib, usr,
 *   bin, sbin), not only the jail directory;
 * - a thin jail (man/jk_thin.ini.5) gets its session as with jk_chrootsh, after the checks of
 *   the jail and the home (exit 55, 57, 59);
 * - the supplementary groups are the caller's own on both paths, as jk_chrootsh keeps them;
 *   jailkit called initgroups (inside the jail for a jailed user), which gave back groups the
 *   caller had dropped;
 * - the user and group inside the jail are read from the jail's /etc/passwd and /etc/group by
 *   the tool itself, as the user (no NSS in the jail needed);
 * - PR_SET_NO_NEW_PRIVS inside the jail: a set-uid or set-gid procmail there runs without
 *   those bits (deliver into the home directory, which needs none). Outside a jail nothing
 *   changes: the host's procmail keeps its set-id bits;
 * - root (real uid 0) is refused on both paths with exit 11; an MTA that runs procmail as
 *   root (sendmail's local mailer with `procmail -d`) must call procmail itself;
 * - a user missing from /etc/passwd exits 13;
 * - the jailed procmail gets the caller's umask; fd 3 stays open as in jailkit (the launcher
 *   makes it the caller's descriptor or /dev/null), every other descriptor above 2 is closed.
 */
import { type Credentials, type ExecSpec, PrivilegeError } from "./privilege.ts";
import { parseJailHome } from "../config/passwd.ts";
import {
  argv0Problem,
  type Caller,
  type CallerSystem,
  checkInJailUser,
  enterJailOrRefuse,
  errorMessage,
  JAIL_LOGIN_EXIT,
  JAIL_LOGIN_STEP_EXIT,
  Refusal,
  requireSafeJail,
  safePathProblems,
  stripTrailingSlash,
} from "./common.ts";
import { enterThinSession, THIN_TOOL_EXIT, type ThinSystem } from "./thin_session.ts";

/** Where procmail is, on the host and inside every jail (jailkit's PROCMAILPATH). */
export const PROCMAIL = "/usr/bin/procmail";

/** What `jk_procmailwrapper --help` prints (man/jk_procmailwrapper.8, SYNOPSIS). */
export const USAGE = `Usage: jk_procmailwrapper [PROCMAIL-ARGUMENT...]
Runs procmail for the recipient: inside the recipient's jail when the home
directory holds /./, else the host's procmail. Set-uid root; its messages go to
syslog. See jk_procmailwrapper(8).`;

export const ACCEPTED_NAMES: readonly string[] = ["jk_procmailwrapper", "-jk_procmailwrapper"];

/**
 * Exit codes: jk_chrootsh's for the same path into the jail (jailkit 2.23), a thin jail's
 * included. `argv0` (1) also means the host's procmail could not be executed.
 */
export const EXIT = { ...JAIL_LOGIN_EXIT, ...THIN_TOOL_EXIT } as const;

/** Which exit code each failed privilege step gives (jk_chrootsh's codes). */
export const STEP_EXIT = JAIL_LOGIN_STEP_EXIT;

export interface ProcmailSystem extends CallerSystem {
  /** lib/login/privilege.ts dropPrivileges (no jail); throws PrivilegeError naming the step. */
  dropPrivileges(creds: Credentials): void;
  /** Inside the jail, as the user: a file's text, or undefined when unreadable. */
  readJailFile(path: string): string | undefined;
  chdir(path: string): void;
  /** The thin-jail steps (lib/login/thin_session.ts). */
  readonly thin: ThinSystem;
}

export type ProcmailResult =
  | { readonly exitCode: number; readonly exec?: undefined }
  | {
    readonly exec: ExecSpec;
    readonly context: string;
    /** The status when the exec fails: 111 in a jail, 1 on the host. */
    readonly execFailure: number;
    readonly exitCode?: undefined;
  };

export function runProcmailwrapper(sys: ProcmailSystem): ProcmailResult {
  const refuse = (exitCode: number, message: string) => {
    sys.log("err", message);
    return { exitCode };
  };
  const argv = [sys.argv0, ...sys.args];

  if (sys.uid === 0) {
    return refuse(
      EXIT.notSetuidRoot,
      "refusing to run procmail for root (uid 0); call procmail directly for root",
    );
  }
  const passwd = sys.hostPasswd();
  const groupFile = sys.hostGroup();
  if (!passwd || !groupFile) {
    return refuse(EXIT.user, `cannot read /etc/passwd or /etc/group (uid ${sys.uid})`);
  }
  const user = passwd.byUid(sys.uid);
  if (!user) return refuse(EXIT.user, `no user with uid ${sys.uid} in /etc/passwd`);
  const who = `user ${user.name} (${sys.uid})`;
  // The caller's own groups, as jk_chrootsh keeps them: an MTA (or anyone) that started us
  // with fewer groups than /etc/group lists must not see procmail get the others back.
  let groups: number[];
  try {
    groups = sys.groups();
  } catch (e) {
    return refuse(EXIT.user, `${who}: cannot read the supplementary groups: ${errorMessage(e)}`);
  }
  const creds = { uid: sys.uid, gid: sys.gid, groups };

  // Not jailed: the host's procmail, as the user, with everything the caller gave it.
  if (!user.home.includes("/./")) {
    try {
      sys.dropPrivileges(creds);
    } catch (e) {
      if (!(e instanceof PrivilegeError)) throw e;
      return refuse(STEP_EXIT[e.step], `${who}: ${e.message}`);
    }
    return {
      exec: {
        path: PROCMAIL,
        argv,
        env: [...sys.callerEnv].map(([k, v]) => `${k}=${v}`),
        umask: sys.callerUmask,
        keepFd3: true,
      },
      context: who,
      execFailure: EXIT.argv0,
    };
  }

  const badArgv0 = argv0Problem(sys.argv0, ACCEPTED_NAMES);
  if (badArgv0) return refuse(EXIT.argv0, badArgv0);
  if (sys.euid !== 0) {
    return refuse(
      EXIT.notSetuidRoot,
      `not running with effective uid 0 (euid ${sys.euid}): jk_procmailwrapper must be ` +
        `setuid root`,
    );
  }
  const group = groupFile.byGid(sys.gid);
  if (!group) return refuse(EXIT.user, `no group with gid ${sys.gid} in /etc/group (${who})`);
  if (user.gid !== sys.gid) {
    return refuse(
      EXIT.gid,
      `${who}: primary group ${user.gid} in /etc/passwd differs from the real gid ${sys.gid}`,
    );
  }
  const jailHome = parseJailHome(user.home);
  if (!jailHome) {
    return refuse(
      EXIT.noJailMarker,
      `${who}: home ${user.home} does not name a jail (the jail before "/./" must have at ` +
        `least 3 characters)`,
    );
  }
  const { jail, home } = jailHome;
  const relHome = home.replace(/^\/+/, "") || ".";

  const checkJailAndHome = () => {
    requireSafeJail(sys, jail, EXIT.unsafe);
    const homeStat = sys.lstat(relHome);
    const homeCheck = safePathProblems(user.home, homeStat, sys.uid, sys.gid);
    if (homeStat === undefined || homeStat.isSymlink || homeStat.uid !== sys.uid) {
      for (const l of homeCheck.logs) sys.log(l.priority, l.message);
      sys.log("err", `home ${user.home} of ${who} is missing, a symlink or not the user's`);
      throw new Refusal(EXIT.unsafe);
    }
    enterThinSession(
      sys.thin,
      jail,
      sys.log,
      `now entering jail ${jail} for ${who} to run procmail with arguments ` +
        sys.args.join(" "),
    );
  };
  const refused = enterJailOrRefuse(
    sys,
    jail,
    creds,
    checkJailAndHome,
    (e) => refuse(STEP_EXIT[e.step], `${who}, jail ${jail}: ${e.message}`),
  );
  if (refused) return refused;

  // Inside the jail, as the user.
  const caller: Caller = { user, group };
  const inJail = checkInJailUser(sys, caller, undefined, jail);
  if ("exitCode" in inJail) return refuse(inJail.exitCode, inJail.message);
  if (stripTrailingSlash(inJail.entry.home) !== stripTrailingSlash(home)) {
    return refuse(
      EXIT.inJailHome,
      `${who}: home in ${jail}/etc/passwd is ${inJail.entry.home}, but the host home ` +
        `${user.home} gives ${home}`,
    );
  }
  // Advisory only, as in jailkit.
  for (const l of safePathProblems(PROCMAIL, sys.lstat(PROCMAIL), 0, 0).logs) {
    sys.log(l.priority, l.message);
  }
  try {
    sys.chdir(home);
  } catch (e) {
    return refuse(
      EXIT.chdirHome,
      `${who}: cannot enter home ${home} inside jail ${jail}: ${(e as Error).message}`,
    );
  }
  return {
    exec: {
      path: PROCMAIL,
      argv,
      env: [`HOME=${home}`, `USER=${user.name}`],
      umask: sys.callerUmask,
      keepFd3: true,
    },
    context: `${who} in jail ${jail}`,
    execFailure: EXIT.exec,
  };
}
