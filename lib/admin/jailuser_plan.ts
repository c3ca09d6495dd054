/**
 * jk_jailuser's deciding part (pure, given file texts and an lstat function): which names,
 * shells and jails are acceptable, where a user's home is and goes, the jail passwd/group lines
 * to add, whether usermod must run, and what home directory would be moved. lib/admin/jailuser.ts
 * carries the plan out.
 */
import { stripTrailingSlash, toolPath } from "../core/paths.ts";
import { JailkitError } from "../core/errors.ts";
import {
  addGroupMember,
  appendGroupEntry,
  appendPasswdEntry,
  type GroupFile,
  jailedHomeFor,
  parseGroup,
  parseJailHome,
  parsePasswd,
  type PasswdEntry,
  type PasswdFile,
} from "../config/passwd.ts";
import {
  checkJailSafety,
  type JailNode,
  JailView,
  kindOf,
  lstatOrUndefined,
} from "../engine/jailpath.ts";
import { mountPointOf } from "../config/thin.ts";
import type { Op } from "../core/plan.ts";

/** The host login shell of jailed users: this installation's jk_chrootsh (jailkit: /usr/sbin). */
export const CHROOTSH = toolPath("jk_chrootsh");
/** The in-jail shell by default: this installation's jk_lsh, which jk_init's [jk_lsh] copies. */
export const DEFAULT_INJAIL_SHELL = toolPath("jk_lsh");

type Lstat = (path: string) => Deno.FileInfo | undefined;

export function msg(
  text: string,
  opts: { verbose?: boolean; stream?: "stdout" | "stderr" } = {},
): Op {
  return { op: "note", msg: { text, ...opts } };
}

/**
 * A user name we pass to usermod and write into passwd/group lines: no option look-alike, no
 * field or list separators, no blanks or control characters.
 */
export function userNameProblem(name: string): string | undefined {
  if (name === "") return "empty user name";
  if (name.startsWith("-")) return `user name "${name}" starts with "-"`;
  if (name.startsWith("+")) return `user name "${name}" starts with "+"`;
  // deno-lint-ignore no-control-regex
  if (/[:,\s\x00-\x1f\x7f/]/.test(name)) {
    return `user name ${
      JSON.stringify(name)
    } contains ":", ",", "/", a blank or a control character`;
  }
  return undefined;
}

/** The in-jail shell (-s): an absolute path that can stand in a passwd line. */
export function shellProblem(shell: string): string | undefined {
  if (!shell.startsWith("/")) return `shell "${shell}" is not an absolute path inside the jail`;
  // deno-lint-ignore no-control-regex
  if (/[:\x00-\x1f]/.test(shell)) {
    return `shell ${JSON.stringify(shell)} contains ":" or a control character`;
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Jail validation

/**
 * Why `jail` cannot take users with in-jail shell `shell`, or undefined when it can
 * (man/jk_jailuser.8, JAIL VALIDATION: the jail exists, JAIL/etc/passwd exists, the shell exists
 * and is executable). Paths inside the jail are resolved as a jailed process would (JailView),
 * never through a host symlink. `binds` are a thin jail's read-only binds (jk_thin.ini): at
 * and below them the session sees the host, so the shell is looked for there.
 * Messages keep jailkit's wording.
 */
export function jailProblem(
  jail: string,
  shell: string,
  lstat: Lstat = lstatOrUndefined,
  binds: readonly string[] = [],
): string | undefined {
  const top = lstat(jail);
  if (top === undefined) return `${jail} does not exist`;
  if (!top.isDirectory) return `invalid jail, ${jail} is not a directory`;
  try {
    checkJailSafety(jail, lstat);
  } catch (e) {
    if (e instanceof JailkitError) return `invalid jail, ${e.message}`;
    throw e;
  }
  const view = new SessionView(jail, lstat, binds);
  try {
    const passwd = view.resolve("/etc/passwd", true);
    if (view.lookup(passwd)?.kind !== "file") {
      return `invalid jail, ${jail}/etc/passwd does not exist`;
    }
    const sh = view.resolve(shell, true);
    const node = view.lookup(sh);
    if (node === undefined) return `invalid shell, ${jail}${shell} does not exist`;
    const info = lstat(view.sourceOf(sh));
    if (node.kind !== "file" || info === undefined || ((info.mode ?? 0) & 0o111) === 0) {
      return `invalid shell, ${jail}${shell} is not executable`;
    }
  } catch (e) {
    if (e instanceof JailkitError) return `invalid jail, ${e.message}`;
    throw e;
  }
  return undefined;
}

/**
 * The jail as a session sees it: at and below a thin jail's read-only binds, the host's entries
 * of the same path (the bind shows them there at login); elsewhere the jail's own.
 */
class SessionView extends JailView {
  constructor(jail: string, readonly lstatHost: Lstat, readonly binds: readonly string[]) {
    super(jail, lstatHost);
  }

  override lookup(inJail: string): JailNode | undefined {
    if (mountPointOf(inJail, this.binds) === undefined) return super.lookup(inJail);
    const info = this.lstatHost(inJail);
    if (info === undefined) return undefined;
    const kind = kindOf(info);
    return kind === "symlink" ? { kind, target: Deno.readLinkSync(inJail) } : { kind };
  }

  /** The host path holding what the session sees at the canonical `inJail`. */
  sourceOf(inJail: string): string {
    return mountPointOf(inJail, this.binds) === undefined ? this.hostPath(inJail) : inJail;
  }
}

// ---------------------------------------------------------------------------------------------
// Where a user's home is and goes

export interface HomeLayout {
  /** Host home after jailing: `JAIL/./INJAILHOME`, no trailing slash. */
  newHome: string;
  /** Home as seen inside the jail (the jail passwd home field). */
  inJailHome: string;
  /** Host path of the home inside the jail (JAIL + inJailHome). */
  destination: string;
  /**
   * The host directory whose contents belong in `destination`, when it is elsewhere: the
   * current home when it lies outside the jail, or (home already marked) the unmarked path a
   * first run without -m left behind.
   */
  source?: string;
  /** true when `source` was inferred from an already-marked home. */
  inferred: boolean;
}

export function stripSlashes(p: string): string {
  return stripTrailingSlash(p) || "/"; // an empty home is the root directory here
}

/**
 * Computes where `entry`'s home goes in `jail`. Throws JailkitError("usage") for homes that
 * cannot carry a correct marker (relative, `..`, marked for another jail).
 *
 * A home already marked for this jail used to stop a later `-m` from doing anything (2.23
 * limitation): the account was switched without moving, so the files stayed at the old path.
 * jailkit always built the marked home as JAIL + "/." + OLDHOME, so the old path is the in-jail
 * home read as a host path. It is offered as the source only when it is a real directory
 * outside the jail owned by the user (so nobody else's directory is ever taken).
 */
export function homeLayout(
  jail: string,
  entry: PasswdEntry,
  lstat: Lstat = lstatOrUndefined,
): HomeLayout {
  const newHome = jailedHomeFor(jail, entry.home);
  const parsed = parseJailHome(newHome);
  if (parsed === undefined) {
    throw new JailkitError("usage", `cannot derive an in-jail home from ${newHome}`);
  }
  const inJailHome = parsed.home;
  const destination = inJailHome === "/" ? jail : jail + stripSlashes(inJailHome);
  const old = stripSlashes(entry.home);
  const inJail = old === jail || old.startsWith(`${jail}/`);
  if (!inJail) {
    // a home of "/" cannot be moved anywhere
    return old === "/"
      ? { newHome, inJailHome, destination, inferred: false }
      : { newHome, inJailHome, destination, source: old, inferred: false };
  }
  if (!entry.home.startsWith(`${jail}/./`) || inJailHome === "/") {
    return { newHome, inJailHome, destination, inferred: false };
  }
  const candidate = stripSlashes(inJailHome);
  if (candidate === jail || candidate.startsWith(`${jail}/`) || jail.startsWith(`${candidate}/`)) {
    return { newHome, inJailHome, destination, inferred: false };
  }
  const info = lstat(candidate);
  if (info?.isDirectory && !info.isSymlink && info.uid === entry.uid) {
    return { newHome, inJailHome, destination, source: candidate, inferred: true };
  }
  return { newHome, inJailHome, destination, inferred: false };
}

// ---------------------------------------------------------------------------------------------
// Deciding

export interface JailuserInput {
  /** Normalised jail (absolute, no trailing slash). */
  jail: string;
  /** In-jail shell for the jail passwd lines. */
  shell: string;
  hostPasswd: PasswdFile;
  hostGroup: GroupFile;
  /** Parsed with their host paths as `path` (used in messages). */
  jailPasswd: PasswdFile;
  jailGroup: GroupFile;
  /** Names in command-line order, with whether their home should be moved. */
  users: { name: string; move: boolean }[];
  lstat?: Lstat;
}

export interface UserPlan {
  name: string;
  entry: PasswdEntry;
  layout: HomeLayout;
  /** usermod arguments after the program name; undefined when home and shell are right. */
  usermod?: string[];
  /** Set when the home should be moved: from `layout.source` to `layout.destination`. */
  move: boolean;
  /** Notes printed before this user's host-side steps. */
  notes: Op[];
}

export interface JailuserPlan {
  /** Notes for the jail side, in order (unknown users, additions, warnings). */
  notes: Op[];
  /** New text of JAIL/etc/passwd, undefined when unchanged. */
  passwdText?: string;
  /** New text of JAIL/etc/group, undefined when unchanged. */
  groupText?: string;
  users: UserPlan[];
}

/** Lines like `user x does not exist` are stdout in jailkit; warnings go to stderr. */
export function warn(text: string): Op {
  return msg(`WARNING: ${text}`, { stream: "stderr" });
}

/**
 * Decides everything jk_jailuser will do, without touching the disk (except lstat for the
 * leftover-home inference). Users are processed in order and each sees the jail files as the
 * previous ones left them, so repeating a name or naming two users of one group is harmless.
 */
export function planJailUsers(input: JailuserInput): JailuserPlan {
  const { jail, shell } = input;
  const lstat = input.lstat ?? lstatOrUndefined;
  const passwdPath = `${jail}/etc/passwd`;
  const groupPath = `${jail}/etc/group`;
  let jailPasswd = input.jailPasswd;
  let jailGroup = input.jailGroup;
  let passwdChanged = false;
  let groupChanged = false;
  const notes: Op[] = [];
  const users: UserPlan[] = [];
  const seen = new Set<string>();

  for (const { name, move } of input.users) {
    if (seen.has(name)) continue;
    seen.add(name);
    const bad = userNameProblem(name);
    if (bad !== undefined) {
      notes.push(msg(`ERROR: ${bad}; user skipped`, { stream: "stderr" }));
      continue;
    }
    const entry = input.hostPasswd.byName(name);
    if (entry === undefined) {
      notes.push(msg(`user ${name} does not exist`));
      continue;
    }
    if (`${entry.name}${entry.gecos}${entry.home}`.includes("\uFFFD")) {
      notes.push(msg(
        `ERROR: the /etc/passwd line of ${name} is not valid UTF-8; user skipped`,
        { stream: "stderr" },
      ));
      continue;
    }
    let layout: HomeLayout;
    try {
      layout = homeLayout(jail, entry, lstat);
    } catch (e) {
      if (!(e instanceof JailkitError)) throw e;
      notes.push(msg(`ERROR: user ${name}: ${e.message}; user skipped`, { stream: "stderr" }));
      continue;
    }

    // The jail passwd line.
    let nextPasswd = jailPasswd;
    const userNotes: Op[] = [];
    const existing = jailPasswd.byName(name);
    if (existing !== undefined) {
      userNotes.push(msg(`user ${name} already exists in ${passwdPath}`, {
        verbose: true,
        stream: "stderr",
      }));
      const wrong: string[] = [];
      if (existing.uid !== entry.uid) wrong.push(`uid ${existing.uid} (host ${entry.uid})`);
      if (existing.gid !== entry.gid) wrong.push(`gid ${existing.gid} (host ${entry.gid})`);
      if (stripSlashes(existing.home) !== stripSlashes(layout.inJailHome)) {
        wrong.push(`home ${existing.home} (expected ${layout.inJailHome})`);
      }
      if (wrong.length > 0) {
        userNotes.push(warn(
          `${passwdPath}:${existing.index + 1} has ${wrong.join(", ")} for ${name}; ` +
            `jk_chrootsh will refuse the login until it is corrected`,
        ));
      }
    } else {
      const clash = jailPasswd.byUid(entry.uid);
      if (clash !== undefined) {
        userNotes.push(warn(
          `${passwdPath}:${clash.index + 1} gives uid ${entry.uid} to ${clash.name}; ` +
            `jk_chrootsh looks users up by uid and will refuse ${name}`,
        ));
      }
      try {
        const text = appendPasswdEntry(jailPasswd, {
          name,
          password: "x",
          uid: entry.uid,
          gid: entry.gid,
          gecos: entry.gecos,
          home: layout.inJailHome,
          shell,
        });
        nextPasswd = parsePasswd(text, jailPasswd.path);
      } catch (e) {
        if (!(e instanceof JailkitError)) throw e;
        notes.push(msg(`ERROR: user ${name}: ${e.message}; user skipped`, { stream: "stderr" }));
        continue;
      }
      userNotes.push(msg(`adding user ${name} to ${passwdPath} with shell ${shell}`, {
        verbose: true,
      }));
    }

    // Primary group, then every host group listing the user, in /etc/group order.
    let nextGroup = jailGroup;
    const groupNotes: Op[] = [];
    let groupError: string | undefined;
    const primary = input.hostGroup.byGid(entry.gid);
    const addGroup = (name: string, gid: number, members: string[]) => {
      nextGroup = parseGroup(
        appendGroupEntry(nextGroup, { name, password: "x", gid, members }),
        nextGroup.path,
      );
      groupNotes.push(msg(`adding group ${name} to ${groupPath}`, { verbose: true }));
    };
    try {
      if (primary === undefined) {
        groupNotes.push(warn(
          `the primary group ${entry.gid} of ${name} is not in /etc/group; not added to ${groupPath}`,
        ));
      } else {
        const inJail = nextGroup.byName(primary.name);
        if (inJail === undefined) addGroup(primary.name, primary.gid, []);
        else if (inJail.gid !== primary.gid) {
          groupNotes.push(warn(
            `${groupPath}:${inJail.index + 1}: group ${primary.name} has gid ${inJail.gid}, ` +
              `the host has ${primary.gid}`,
          ));
        }
      }
      const done = new Set<string>();
      for (const g of input.hostGroup.entries) {
        if (done.has(g.name) || !g.members.includes(name)) continue;
        done.add(g.name);
        const inJail = nextGroup.byName(g.name);
        if (inJail === undefined) {
          addGroup(g.name, g.gid, [name]);
          continue;
        }
        if (inJail.gid !== g.gid) {
          groupNotes.push(warn(
            `${groupPath}:${inJail.index + 1}: group ${g.name} has gid ${inJail.gid}, ` +
              `the host has ${g.gid}`,
          ));
        }
        if (!inJail.members.includes(name)) {
          nextGroup = parseGroup(addGroupMember(nextGroup, g.name, name), nextGroup.path);
          groupNotes.push(msg(`Adding user ${name} to group ${g.name}`, { verbose: true }));
        }
      }
    } catch (e) {
      if (!(e instanceof JailkitError)) throw e;
      groupError = e.message;
    }
    if (groupError !== undefined) {
      notes.push(msg(`ERROR: user ${name}: ${groupError}; user skipped`, { stream: "stderr" }));
      continue;
    }
    if (nextPasswd !== jailPasswd) passwdChanged = true;
    if (nextGroup !== jailGroup) groupChanged = true;
    jailPasswd = nextPasswd;
    jailGroup = nextGroup;
    notes.push(...userNotes, ...groupNotes);

    // Host side.
    const hostNotes: Op[] = [];
    let usermod: string[] | undefined;
    if (entry.home !== layout.newHome || entry.shell !== CHROOTSH) {
      usermod = ["-d", layout.newHome, "-s", CHROOTSH, "--", name];
      hostNotes.push(msg(`modify user ${name}; dir ${layout.newHome} and shell ${CHROOTSH}`, {
        verbose: true,
      }));
    } else {
      hostNotes.push(msg(`user ${name} has a correct home directory and shell already`, {
        verbose: true,
      }));
    }
    let doMove = false;
    if (move) {
      if (layout.source === undefined) {
        hostNotes.push(
          msg(`home directory ${stripSlashes(entry.home)} is already inside the jail`),
        );
      } else if (lstat(layout.source) === undefined) {
        hostNotes.push(msg(`home directory ${layout.source} does not exist, nothing moved`, {
          stream: "stderr",
        }));
      } else {
        doMove = true;
      }
    }
    users.push({ name, entry, layout, usermod, move: doMove, notes: hostNotes });
  }
  const chrootsh = lstat(CHROOTSH);
  if (users.some((u) => u.usermod) && (!chrootsh?.isFile || ((chrootsh.mode ?? 0) & 0o111) === 0)) {
    // usermod only warns about it; without it the switched accounts cannot log in at all
    notes.push(
      warn(`${CHROOTSH} is not installed on this host: jailed users cannot log in until it is`),
    );
  }
  return {
    notes,
    passwdText: passwdChanged ? joinText(jailPasswd) : undefined,
    groupText: groupChanged ? joinText(jailGroup) : undefined,
    users,
  };
}

function joinText(file: PasswdFile | GroupFile): string {
  return file.lines.map((l) => l.text + l.eol).join("");
}

/**
 * Whether an interactive run should ask about moving this user's home: there is a directory
 * outside the jail that belongs there (jailkit asked whenever the home was outside the jail).
 */
export function moveQuestion(
  jail: string,
  entry: PasswdEntry,
  lstat: Lstat = lstatOrUndefined,
): string | undefined {
  let layout: HomeLayout;
  try {
    layout = homeLayout(jail, entry, lstat);
  } catch {
    return undefined;
  }
  if (layout.source === undefined) return undefined;
  if (!layout.inferred) {
    return `home directory ${entry.home} is not within ${jail}/, move the directory contents?`;
  }
  return `home directory ${entry.home} is set, but ${layout.source} still exists outside ${jail}/, ` +
    `move its contents into the jail?`;
}
