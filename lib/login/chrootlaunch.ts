/**
 * jk_chrootlaunch (man/jk_chrootlaunch.8): root starts a daemon inside a jail, optionally as
 * another user and group. Not set-uid: only root can use it. The effects (stat, readlink, the pid
 * file, the privilege sequence, syslog, output) come in through ChrootlaunchSystem, so the
 * decision runs in tests against plain data.
 *
 * Order and exit codes as jailkit 2.23: -u/-g (1), no jail (21), no executable (23), relative
 * jail (27), unsafe jail (25), unsafe executable (29), pid file, chdir (33), chroot (35),
 * groups and gid (37), uid (39), exec (31). The jail and executable checks run on the
 * directory the process has already entered (lib/login/privilege.ts `beforeChroot`), so nobody can
 * swap a path between the check and the chroot.
 *
 * Deliberately different from jailkit 2.23 (listed for admins in man/jk_chrootlaunch.8):
 * - `-u USER` without `-g` runs with the user's primary group (jailkit left gid 0), and the
 *   supplementary groups are the user's from the host's /etc/group (initgroups semantics:
 *   the gid plus every group listing the user), looked up before the chroot; without `-u`
 *   they are empty. jailkit kept root's supplementary groups in every case;
 * - the executable is resolved inside the jail: a symlink in a directory on the way is
 *   interpreted as the jailed daemon would see it (an absolute target starts at the jail
 *   root), never followed out of the jail; every directory on the way must be root-owned and
 *   not group/world writable (otherwise someone else could swap the file after the check) and
 *   the file itself a regular file (29);
 * - the pid file holds the pid and a newline; it is created only in a directory whose whole
 *   real path is root-owned and not group/world writable, without following a symlink at the
 *   file itself (O_NOFOLLOW), only as a root-owned regular file with no other hard link
 *   (lib/core/safeio.ts writePidFile); otherwise it is not written (reported, the daemon
 *   still starts);
 * - must be run as root (exit 1 with a message; jailkit failed later with 35);
 * - `-h`/`--help` print the usage and exit 0, `--version` prints the version and exits 0;
 * - a numeric -u/-g must be all digits (jailkit's strtol ignored trailing garbage);
 * - PR_SET_NO_NEW_PRIVS is set: set-uid programs inside the jail do not gain privileges;
 * - errors are also printed on stderr (jailkit only logged most of them).
 * The environment is passed through unchanged, as in jailkit: it is root's.
 */
import type { Credentials } from "./privilege.ts";
import type { GroupEntry, GroupFile, PasswdEntry, PasswdFile } from "../config/passwd.ts";
import { type JailNode, JailView } from "../engine/jailpath.ts";
import { JailkitError } from "../core/errors.ts";
import * as posix from "../core/posixpath.ts";
import { VERSION } from "../core/runtime.ts";
import {
  answerInfo,
  type CallerSystem,
  enterJailOrRefuse,
  type InfoRequest,
  initgroups,
  type JailExecResult,
  jailIsSafe,
  type LogPriority,
  parseJailCommand,
  Refusal,
  safePathProblems,
  type StatInfo,
  stepExitTable,
  stripTrailingSlash,
} from "./common.ts";
import { carryOutThin, prepareThin, THIN_TOOL_EXIT, type ThinSystem } from "./thin_session.ts";

/** Exit codes, as jailkit 2.23 (and the thin jails' 55, 57, 59, man/jk_thin.ini.5). */
export const EXIT = {
  /** usage, unknown user or group, not root, internal error */
  usage: 1,
  noJail: 21,
  noExecutable: 23,
  unsafeJail: 25,
  relativeJail: 27,
  unsafeExecutable: 29,
  exec: 31,
  chdir: 33,
  chroot: 35,
  setgid: 37,
  setuid: 39,
  ...THIN_TOOL_EXIT,
} as const;

/** Which exit code each failed privilege step gives. */
export const STEP_EXIT = stepExitTable({
  ...EXIT,
  chdirJail: EXIT.chdir,
  getcwd: EXIT.chdir,
  setgroups: EXIT.setgid,
});

export const USAGE =
  `Usage: jk_chrootlaunch -j JAIL -x EXECUTABLE [-u USER] [-g GROUP] [-p PIDFILE] [-- ARGS...]
Starts EXECUTABLE chrooted in JAIL (as root only), optionally as USER and GROUP.
  -j, --jail JAIL          the jail directory (absolute)
  -x, --exec EXECUTABLE    the program: a path inside the jail, or JAIL/path
  -u, --user USER|UID      run as this user (primary group and groups from /etc/group)
  -g, --group GROUP|GID    run with this group instead of the user's primary group
  -p, --pidfile FILE       write the pid (and a newline) to FILE before starting
  -v                       accepted and ignored
  -h, --help               this text
      --version            the version
Everything after -- is passed to the program.`;

// ---------------------------------------------------------------------------------------------
// Command line

export interface LaunchOptions {
  readonly jail?: string;
  readonly executable?: string;
  readonly user?: string;
  readonly group?: string;
  readonly pidfile?: string;
  readonly args: readonly string[];
}

export type LaunchArgs =
  | InfoRequest
  | { readonly kind: "run"; readonly options: LaunchOptions };

/** getopt_long's `j:p:u:g:x:hv`; the last of a repeated option wins. */
export function parseLaunchArgs(args: readonly string[]): LaunchArgs {
  const cmd = parseJailCommand(args, {
    pidfile: { type: "string", short: "p", multiple: true },
    user: { type: "string", short: "u", multiple: true },
    group: { type: "string", short: "g", multiple: true },
  });
  if (cmd.kind !== "options") return cmd;
  const { values } = cmd;
  return {
    kind: "run",
    options: {
      jail: values.jail?.at(-1),
      executable: values.exec?.at(-1),
      user: values.user?.at(-1),
      group: values.group?.at(-1),
      pidfile: values.pidfile?.at(-1),
      args: cmd.args,
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Whom the daemon runs as

function byNameOrId<E>(
  value: string,
  byId: (id: number) => E | undefined,
  byName: (name: string) => E | undefined,
): E | undefined {
  if (/^[0-9]{1,10}$/.test(value)) {
    const id = Number(value);
    return id <= 0xfffffffe ? byId(id) : undefined;
  }
  return byName(value);
}

/**
 * The credentials for `-u`/`-g`, from the host's files: the user's uid, the group (or else
 * the user's primary group), and initgroups of the user; without -u, uid 0 and no
 * supplementary groups. Returns the error message when a name or id does not exist.
 */
export function launchCredentials(
  user: string | undefined,
  group: string | undefined,
  passwd: PasswdFile,
  groups: GroupFile,
): Credentials | string {
  let pw: PasswdEntry | undefined;
  if (user !== undefined) {
    pw = byNameOrId(user, (id) => passwd.byUid(id), (n) => passwd.byName(n));
    if (!pw) return `user ${user} does not exist in /etc/passwd`;
  }
  let gr: GroupEntry | undefined;
  if (group !== undefined) {
    gr = byNameOrId(group, (id) => groups.byGid(id), (n) => groups.byName(n));
    if (!gr) return `group ${group} does not exist in /etc/group`;
  }
  const gid = gr?.gid ?? pw?.gid ?? 0;
  return {
    uid: pw?.uid ?? 0,
    gid,
    groups: pw ? initgroups(pw.name, gid, groups) : [],
  };
}

// ---------------------------------------------------------------------------------------------
// The executable

const S_IFMT = 0o170000;
const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;

/** What the checks need from the file system; paths are host paths (or relative to "."). */
export interface ExecFs {
  lstat(path: string): StatInfo | undefined;
  /** Link text; throws when it cannot be read. */
  readlink(path: string): string;
}

/** JailView whose lookups go through `ExecFs` and remember every directory they consulted. */
class CheckedView extends JailView {
  readonly consulted = new Set<string>();

  constructor(base: string, private readonly execFs: ExecFs) {
    super(base);
  }

  override lookup(inJail: string): JailNode | undefined {
    this.consulted.add(posix.dirname(inJail));
    if (inJail === "/") return { kind: "dir" };
    const host = this.hostPath(inJail);
    const info = this.execFs.lstat(host);
    if (info === undefined) return undefined;
    if (info.isSymlink) return { kind: "symlink", target: this.execFs.readlink(host) };
    return { kind: (info.mode & S_IFMT) === S_IFDIR ? "dir" : "file" };
  }
}

/** The executable as a path inside the jail: `JAIL/path` loses the prefix, others get a `/`. */
export function executableInJail(executable: string, jails: readonly string[]): string {
  for (const jail of jails) {
    const prefix = jail.endsWith("/") ? jail : `${jail}/`;
    if (executable.startsWith(prefix)) return executable.slice(prefix.length - 1);
  }
  return executable.startsWith("/") ? executable : `/${executable}`;
}

/**
 * Resolves `inJail` inside the jail at `base` (a host path, or "." once the process is in the
 * jail directory) and checks what jailkit checked — the file is not a symlink, is root:root,
 * not group/world writable, has no set-id bit — plus: it is a regular file, and every
 * directory consulted on the way is a root-owned directory writable by neither group nor
 * others. Returns the canonical in-jail path, or the reason it is refused.
 */
export function checkExecutable(
  base: string,
  inJail: string,
  execFs: ExecFs,
): { path: string } | { problem: string } {
  const view = new CheckedView(base, execFs);
  let path: string;
  try {
    path = view.resolve(inJail, false);
  } catch (e) {
    // Too many links, a file used as a directory, an unreadable link.
    return { problem: e instanceof Error ? e.message : String(e) };
  }
  const shown = (p: string) => p === "/" ? "the jail root" : p;
  for (const dir of [...view.consulted].sort()) {
    const st = execFs.lstat(view.hostPath(dir));
    if (!st || st.isSymlink || (st.mode & S_IFMT) !== S_IFDIR) {
      return { problem: `${shown(dir)} is not a directory` };
    }
    if (st.uid !== 0 || (st.mode & 0o022) !== 0) {
      return {
        problem: `directory ${shown(dir)} on the way to ${inJail} is not root-owned or is ` +
          `group/world writable: others could replace the program`,
      };
    }
  }
  const st = execFs.lstat(view.hostPath(path));
  if (st === undefined) return { problem: `${path} does not exist in the jail` };
  if (st.isSymlink) return { problem: `${path} is a symlink` };
  if ((st.mode & S_IFMT) !== S_IFREG) return { problem: `${path} is not a regular file` };
  const bits = safePathProblems(path, st, 0, 0);
  if (bits.bits !== 0) {
    return { problem: bits.logs.map((l) => l.message).join("; ") };
  }
  return { path };
}

// ---------------------------------------------------------------------------------------------
// The run

/**
 * Everything jk_chrootlaunch needs from the system: the caller's (root's) side of CallerSystem,
 * whose enterJail is lib/login/privilege.ts enterJail with allowRoot, and the rest below.
 */
export interface ChrootlaunchSystem extends Omit<CallerSystem, "argv0" | "gid" | "groups"> {
  /** The working directory the tool was started in (relative pid files). */
  readonly cwd: string;
  readonly pid: number;
  readlink(path: string): string;
  realpath(path: string): string | undefined;
  /** lib/core/safeio.ts writePidFile (the daemons' one pid-file policy); throws a JailkitError. */
  writePidFile(path: string, pid: number): void;
  stdout(text: string): void;
  stderr(text: string): void;
  /** The thin-jail steps (lib/login/thin_session.ts). */
  readonly thin: ThinSystem;
}

export type ChrootlaunchResult = JailExecResult;

export function runChrootlaunch(sys: ChrootlaunchSystem): ChrootlaunchResult {
  const complain = (priority: LogPriority, message: string) => {
    sys.log(priority, message);
    sys.stderr(`jk_chrootlaunch: ${message}\n`);
  };
  const thinReport = (priority: LogPriority, message: string) =>
    priority === "err" ? complain(priority, message) : sys.log(priority, message);
  const refuse = (exitCode: number, message: string) => {
    complain("err", message);
    return { exitCode };
  };

  const cmd = parseLaunchArgs(sys.args);
  if (cmd.kind !== "run") {
    const info = answerInfo(cmd, "jk_chrootlaunch", USAGE, VERSION, EXIT.usage);
    sys.stdout(info.text);
    return { exitCode: info.exitCode };
  }
  const o = cmd.options;
  if (sys.uid !== 0 || sys.euid !== 0) {
    return refuse(
      EXIT.usage,
      `must be run as root (uid ${sys.uid}, euid ${sys.euid}): only root can chroot a daemon`,
    );
  }

  // 1. whom
  const passwd = sys.hostPasswd();
  const groups = sys.hostGroup();
  if (!passwd || !groups) return refuse(EXIT.usage, "cannot read /etc/passwd or /etc/group");
  const creds = launchCredentials(o.user, o.group, passwd, groups);
  if (typeof creds === "string") return refuse(EXIT.usage, creds);

  // 2. where
  if (o.jail === undefined || o.jail === "") return refuse(EXIT.noJail, "no jail given (-j)");
  if (o.executable === undefined || o.executable === "") {
    return refuse(EXIT.noExecutable, "no executable given (-x)");
  }
  if (!o.jail.startsWith("/")) {
    return refuse(EXIT.relativeJail, `jail ${o.jail} is not an absolute path`);
  }
  const given = stripTrailingSlash(o.jail);
  const top = sys.lstat(given);
  const jail = sys.realpath(given);
  if (!top || top.isSymlink || (top.mode & S_IFMT) !== S_IFDIR || !jail || jail === "/") {
    return refuse(
      EXIT.unsafeJail,
      `jail ${o.jail} is not safe: it must be a real directory other than / (not a symlink)`,
    );
  }
  const inJail = executableInJail(o.executable, [given, jail]);
  const pidfile = o.pidfile === undefined ? undefined : posix.resolve(sys.cwd, o.pidfile);

  // 3.–5. checked on the directory being entered, then the pid file, then the drop
  let execPath = "";
  const checkAndRecord = () => {
    if (!jailIsSafe(jail, sys.lstat("."), (d) => sys.stat(d), sys.log)) {
      complain(
        "err",
        `jail ${jail} is not safe: it and its dev, etc, lib, usr, bin, sbin must be ` +
          `root-owned and not group/world writable (see the log)`,
      );
      throw new Refusal(EXIT.unsafeJail);
    }
    const writePid = () => {
      if (pidfile === undefined) return;
      try {
        sys.writePidFile(pidfile, sys.pid);
      } catch (e) {
        if (!(e instanceof JailkitError)) throw e;
        complain("err", e.message);
      }
    };
    // A thin jail's program is usually in a bind: it is checked once the mounts are in place.
    // The first stage writes the pid file (its pid stays, as the launcher's signal relay) and
    // starts again; the second, PID 1 of the session's namespace, does not write it.
    const thin = prepareThin(sys.thin, jail, thinReport);
    if (thin.kind === "restart") writePid();
    carryOutThin(sys.thin, thin, thinReport);
    const checked = checkExecutable(".", inJail, sys);
    if ("problem" in checked) {
      complain("err", `executable ${o.executable} in jail ${jail} refused: ${checked.problem}`);
      throw new Refusal(EXIT.unsafeExecutable);
    }
    execPath = checked.path;
    if (thin.kind === "ordinary" || (thin.kind === "setup" && !thin.secondStage)) writePid();
  };
  const who = `uid ${creds.uid} gid ${creds.gid} groups [${creds.groups.join(",")}]`;
  const refused = enterJailOrRefuse(
    sys,
    jail,
    creds,
    checkAndRecord,
    (e) => refuse(STEP_EXIT[e.step], `jail ${jail}, ${who}: ${e.message}`),
  );
  if (refused) return refused;
  sys.log(
    "notice",
    `executing ${execPath} in jail ${jail} as ${who} with arguments ${o.args.join(" ")}`,
  );
  return {
    exec: {
      path: execPath,
      argv: [inJail, ...o.args],
      env: [...sys.callerEnv].map(([k, v]) => `${k}=${v}`),
      umask: sys.callerUmask,
    },
    context: `jail ${jail}, ${who}`,
  };
}
