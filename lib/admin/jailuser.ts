/**
 * jk_jailuser: puts existing host accounts into a jail (spec §2.5, §4).
 *
 * Deciding (pure, given file texts and an lstat function): the jail passwd/group lines to add,
 * the host home with the `/./` marker, whether usermod must run, and what home directory would
 * be moved. Acting (`carryOut`): the jail files are written through the plan executor (atomic
 * temp + rename), then for each user the home is copied, verified and put in place, usermod runs
 * without a shell, and only then is the old home removed.
 *
 * Order, chosen so that stopping at any point leaves nobody locked out and nothing lost:
 *   1. JAIL/etc/group, then JAIL/etc/passwd (extra jail lines are harmless while the host
 *      account still points at its old home);
 *   2. the home is copied into a temp directory beside its destination, compared with the
 *      original, and renamed into place only when complete (no half-filled home ever appears);
 *   3. usermod switches the host account to `JAIL/./HOME` and jk_chrootsh (the old home is
 *      untouched; a failed move means usermod is not run, so the account keeps a working home);
 *   4. the old home is checked unchanged since it was copied, then removed.
 * A rerun resumes: a destination identical to the old home is accepted as already copied.
 *
 * Differences from jailkit 2.23 are listed in man/jk_jailuser.8 ("DIFFERENCES").
 */
import { toolPath } from "../core/paths.ts";
import * as fs from "node:fs";
import { posix } from "node:path";
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
  JailView,
  kindOf,
  lstatOrUndefined,
  type NodeKind,
} from "../engine/jailpath.ts";
import type { Attrs, Op } from "../core/plan.ts";
import { sameContent } from "../core/safeio.ts";
import { applyPlan, type OpResult, runProgram } from "../engine/apply.ts";
import { deviceNumbers, mknod } from "../../ffi/libc.ts";

/** The host login shell of jailed users: this installation's jk_chrootsh (jailkit: /usr/sbin). */
export const CHROOTSH = toolPath("jk_chrootsh");
/** The in-jail shell by default: this installation's jk_lsh, which jk_init's [jk_lsh] copies. */
export const DEFAULT_INJAIL_SHELL = toolPath("jk_lsh");

type Lstat = (path: string) => Deno.FileInfo | undefined;

function msg(text: string, opts: { verbose?: boolean; stream?: "stdout" | "stderr" } = {}): Op {
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
 * Why `jail` cannot take users with in-jail shell `shell`, or undefined when it can (spec §2.5:
 * the jail exists, JAIL/etc/passwd exists, the shell exists and is executable). Paths inside
 * the jail are resolved as a jailed process would (JailView), never through a host symlink.
 * Messages keep jailkit's wording.
 */
export function jailProblem(
  jail: string,
  shell: string,
  lstat: Lstat = lstatOrUndefined,
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
  const view = new JailView(jail, lstat);
  try {
    const passwd = view.resolve("/etc/passwd", true);
    if (view.lookup(passwd)?.kind !== "file") {
      return `invalid jail, ${jail}/etc/passwd does not exist`;
    }
    const sh = view.resolve(shell, true);
    const node = view.lookup(sh);
    if (node === undefined) return `invalid shell, ${jail}${shell} does not exist`;
    const info = lstat(view.hostPath(sh));
    if (node.kind !== "file" || info === undefined || ((info.mode ?? 0) & 0o111) === 0) {
      return `invalid shell, ${jail}${shell} is not executable`;
    }
  } catch (e) {
    if (e instanceof JailkitError) return `invalid jail, ${e.message}`;
    throw e;
  }
  return undefined;
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

function stripSlashes(p: string): string {
  const s = p.replace(/\/+$/, "");
  return s === "" ? "/" : s;
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
function warn(text: string): Op {
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

// ---------------------------------------------------------------------------------------------
// Reading the files

const fatalUtf8 = new TextDecoder("utf-8", { fatal: true });

/** Reads a file we will rewrite: refuses bytes that are not UTF-8 (they would not survive). */
export function readRewritable(hostPath: string): string {
  const bytes = Deno.readFileSync(hostPath);
  try {
    return fatalUtf8.decode(bytes);
  } catch {
    throw new JailkitError(
      "config",
      `${hostPath} contains bytes that are not UTF-8; not rewriting it`,
    );
  }
}

/** Canonical in-jail path and host path of a jail file, resolved inside the jail. */
export function jailFile(
  jail: string,
  inJail: string,
): { path: string; host: string; exists: boolean } {
  const view = new JailView(jail);
  const path = view.resolve(inJail, true);
  const node = view.lookup(path);
  if (node !== undefined && node.kind !== "file") {
    throw new JailkitError("unsafe-jail", `${view.hostPath(path)} is not a regular file`);
  }
  return { path, host: view.hostPath(path), exists: node !== undefined };
}

// ---------------------------------------------------------------------------------------------
// Moving a home: copy, verify, rename into place; remove the old one only at the end

/** Why a home could not be moved; the old home is intact whenever this is thrown. */
export class MoveError extends Error {
  constructor(message: string, readonly problems: readonly string[] = []) {
    super(message);
    this.name = "MoveError";
  }
}

const MAX_DEPTH = 2048;
const MAX_REPORTED = 10;
const CHUNK = 1 << 20;
const { O_RDONLY, O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW, O_NONBLOCK } = fs.constants;

/**
 * What a source entry looked like when it was copied, to notice later changes. Deno reports
 * ctime only to the second, so the millisecond mtime, size, mode and owner are kept as well:
 * a write, chmod or chown is caught at once, and only a same-size rewrite followed by resetting
 * the mtime within the same second (something only the user can do to their own files) is not.
 */
interface Seen {
  kind: NodeKind;
  ino: number;
  size: number;
  mtime: number;
  ctime: number;
  mode: number;
  uid: number | null;
  gid: number | null;
}

export type Manifest = Map<string, Seen>;

function seenOf(info: Deno.FileInfo): Seen {
  return {
    kind: kindOf(info),
    ino: info.ino ?? 0,
    size: info.size,
    mtime: info.mtime?.getTime() ?? 0,
    ctime: info.ctime?.getTime() ?? 0,
    mode: info.mode ?? 0,
    uid: info.uid,
    gid: info.gid,
  };
}

function sameSeen(a: Seen, b: Seen): boolean {
  return a.kind === b.kind && a.ino === b.ino && a.size === b.size && a.mtime === b.mtime &&
    a.ctime === b.ctime && a.mode === b.mode && a.uid === b.uid && a.gid === b.gid;
}

function reason(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

function sortedNames(dir: string): string[] {
  return [...Deno.readDirSync(dir)].map((e) => e.name).sort();
}

/**
 * Refuses sources a copy would get wrong or a removal would damage: a symlinked home, a mount
 * point (or a mount inside it: removing the old home would descend into it), and overlap with
 * the destination.
 */
export function checkMoveSource(source: string, destination: string, jail: string): Deno.FileInfo {
  const info = lstatOrUndefined(source);
  if (info === undefined) throw new MoveError(`${source} does not exist`);
  if (info.isSymlink) {
    throw new MoveError(`${source} is a symlink; point the account at the real directory first`);
  }
  if (!info.isDirectory) throw new MoveError(`${source} is not a directory`);
  const parent = lstatOrUndefined(posix.dirname(source));
  if (parent !== undefined && parent.dev !== info.dev) {
    throw new MoveError(`${source} is a mount point; move it by hand`);
  }
  for (const [a, b] of [[source, destination], [source, jail]]) {
    if (b === a || b.startsWith(`${a}/`) || a.startsWith(`${b}/`)) {
      throw new MoveError(`${source} and ${b} overlap; cannot move one into the other`);
    }
  }
  return info;
}

/**
 * Copies the tree at `src` to the new path `dst` (which must not exist), keeping modes, owners,
 * times, symlinks as symlinks, hard links between files of the tree, fifos and devices.
 * Sockets cannot be copied (they belong to a running program) and make the copy fail. Returns
 * what each source entry looked like, for `unchangedSince`. On failure, throws MoveError with
 * every problem found; the partial copy is left for the caller to remove.
 */
export function copyTree(src: string, dst: string): Manifest {
  const manifest: Manifest = new Map();
  const problems: string[] = [];
  const links = new Map<string, string>();
  const top = Deno.lstatSync(src);
  const dirs: { path: string; info: Deno.FileInfo }[] = [];

  const copyEntry = (from: string, to: string, rel: string, info: Deno.FileInfo, depth: number) => {
    if (info.dev !== top.dev) {
      problems.push(`${from} is on another file system (a mount point); unmount it first`);
      return;
    }
    manifest.set(rel, seenOf(info));
    const kind = kindOf(info);
    try {
      if (kind === "dir") {
        if (depth > MAX_DEPTH) throw new Error(`more than ${MAX_DEPTH} nested directories`);
        Deno.mkdirSync(to, { mode: 0o700 });
        dirs.push({ path: to, info });
        for (const name of sortedNames(from)) {
          const child = Deno.lstatSync(`${from}/${name}`);
          copyEntry(`${from}/${name}`, `${to}/${name}`, `${rel}/${name}`, child, depth + 1);
        }
        return;
      }
      if (kind === "socket") {
        throw new Error("is a socket, which cannot be copied (it belongs to a running program)");
      }
      const key = `${info.dev}:${info.ino}`;
      const first = (info.nlink ?? 1) > 1 ? links.get(key) : undefined;
      if (first !== undefined) {
        Deno.linkSync(first, to);
        return;
      }
      if (kind === "file") copyFile(from, to, info);
      else if (kind === "symlink") {
        Deno.symlinkSync(Deno.readLinkSync(from), to);
        fs.lchownSync(to, ...owner(info));
        fs.lutimesSync(to, info.atime ?? new Date(), info.mtime ?? new Date());
      } else {
        if (kind === "fifo") runProgram(["/usr/bin/mkfifo", "-m", "600", "--", to]);
        else {
          const { major, minor } = deviceNumbers(info.rdev ?? 0);
          mknod(to, kind === "char" ? "c" : "b", 0o600, major, minor);
        }
        setAttrs(to, info);
      }
      if ((info.nlink ?? 1) > 1) links.set(key, to);
    } catch (e) {
      problems.push(`${from}: ${reason(e)}`);
    }
  };

  copyEntry(src, dst, "", top, 0);
  // Directory attributes last: filling a directory changes its times, and a read-only mode
  // would stop the copy into it.
  for (const { path, info } of dirs.reverse()) {
    try {
      setAttrs(path, info);
    } catch (e) {
      problems.push(`${path}: ${reason(e)}`);
    }
  }
  if (problems.length > 0) {
    throw new MoveError(`cannot copy ${src} to ${dst}`, problems);
  }
  return manifest;
}

/** uid and gid of a file; Deno leaves them null only on platforms without them (Windows). */
function owner(info: Deno.FileInfo): [number, number] {
  if (info.uid === null || info.gid === null) {
    throw new JailkitError("io", "file owner unknown on this platform");
  }
  return [info.uid, info.gid];
}

function setAttrs(path: string, info: Deno.FileInfo): void {
  // chown before chmod: chown clears set-id bits that the mode may legitimately carry
  fs.lchownSync(path, ...owner(info));
  Deno.chmodSync(path, (info.mode ?? 0) & 0o7777);
  Deno.utimeSync(path, info.atime ?? new Date(), info.mtime ?? new Date());
}

function copyFile(from: string, to: string, info: Deno.FileInfo): void {
  let sfd = -1;
  let dfd = -1;
  try {
    // O_NOFOLLOW | O_NONBLOCK: a symlink or fifo swapped in since lstat is refused, not followed
    sfd = fs.openSync(from, O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
    const before = fs.fstatSync(sfd);
    if (!before.isFile() || before.ino !== info.ino) throw new Error("changed while being copied");
    dfd = fs.openSync(to, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600);
    const buf = new Uint8Array(CHUNK);
    for (;;) {
      const n = fs.readSync(sfd, buf, 0, CHUNK, null);
      if (n === 0) break;
      let off = 0;
      while (off < n) off += fs.writeSync(dfd, buf, off, n - off);
    }
    fs.fsyncSync(dfd);
    const after = fs.fstatSync(sfd);
    if (
      after.ctimeMs !== before.ctimeMs || after.mtimeMs !== before.mtimeMs ||
      after.size !== before.size
    ) {
      throw new Error("changed while being copied");
    }
  } finally {
    if (sfd >= 0) fs.closeSync(sfd);
    if (dfd >= 0) fs.closeSync(dfd);
  }
  setAttrs(to, info);
}

/**
 * Every difference between the trees at `a` and `b` (at most MAX_REPORTED): names, types,
 * modes, owners, modification times, sizes, contents, link texts, device numbers, and which
 * files are hard links of each other. Empty when `b` is a faithful copy of `a`.
 */
export function compareTrees(a: string, b: string): string[] {
  const diffs: string[] = [];
  const groupsA = new Map<string, string>();
  const groupsB = new Map<string, string>();
  const note = (d: string) => {
    if (diffs.length < MAX_REPORTED) diffs.push(d);
  };
  const walk = (pa: string, pb: string, rel: string, depth: number) => {
    if (diffs.length >= MAX_REPORTED) return;
    const ia = lstatOrUndefined(pa);
    const ib = lstatOrUndefined(pb);
    const where = rel === "" ? "." : rel.slice(1);
    if (ia === undefined || ib === undefined) {
      note(`${where}: ${ia === undefined ? `missing in ${a}` : `missing in ${b}`}`);
      return;
    }
    const ka = kindOf(ia);
    if (ka !== kindOf(ib)) return note(`${where}: ${ka} became ${kindOf(ib)}`);
    if (ka !== "symlink" && (ia.mode ?? 0) !== (ib.mode ?? 0)) {
      return note(
        `${where}: mode ${(ia.mode ?? 0).toString(8)} became ${(ib.mode ?? 0).toString(8)}`,
      );
    }
    if (ia.uid !== ib.uid || ia.gid !== ib.gid) {
      return note(`${where}: owner ${ia.uid}:${ia.gid} became ${ib.uid}:${ib.gid}`);
    }
    if (ia.mtime?.getTime() !== ib.mtime?.getTime()) {
      return note(`${where}: modification time differs`);
    }
    if (ka === "dir") {
      if (depth > MAX_DEPTH) return note(`${where}: more than ${MAX_DEPTH} nested directories`);
      const na = sortedNames(pa);
      const nb = sortedNames(pb);
      const all = [...new Set([...na, ...nb])].sort();
      for (const n of all) walk(`${pa}/${n}`, `${pb}/${n}`, `${rel}/${n}`, depth + 1);
      return;
    }
    if ((ia.nlink ?? 1) > 1 || (ib.nlink ?? 1) > 1) {
      const ga = `${ia.dev}:${ia.ino}`;
      const gb = `${ib.dev}:${ib.ino}`;
      const firstA = groupsA.get(ga);
      const firstB = groupsB.get(gb);
      if (firstA !== firstB) return note(`${where}: hard links differ`);
      if (firstA === undefined) {
        groupsA.set(ga, rel);
        groupsB.set(gb, rel);
      }
    }
    if (ka === "symlink" && Deno.readLinkSync(pa) !== Deno.readLinkSync(pb)) {
      return note(`${where}: link text differs`);
    }
    if ((ka === "char" || ka === "block") && ia.rdev !== ib.rdev) {
      return note(`${where}: device numbers differ`);
    }
    if (ka === "file" && (ia.size !== ib.size || !sameContent(pa, pb))) {
      return note(`${where}: content differs`);
    }
  };
  try {
    walk(a, b, "", 0);
  } catch (e) {
    note(`cannot compare ${a} with ${b}: ${reason(e)}`);
  }
  return diffs;
}

/** Source entries that changed (or appeared) since `manifest` was taken; empty when none. */
export function unchangedSince(src: string, manifest: Manifest): string[] {
  const changed: string[] = [];
  const walk = (path: string, rel: string, depth: number) => {
    if (changed.length >= MAX_REPORTED) return;
    const info = lstatOrUndefined(path);
    const was = manifest.get(rel);
    const where = rel === "" ? src : path;
    if (info === undefined || was === undefined) {
      changed.push(`${where} ${info === undefined ? "disappeared" : "appeared"}`);
      return;
    }
    const now = seenOf(info);
    if (!sameSeen(now, was)) {
      changed.push(`${where} changed`);
      return;
    }
    if (now.kind === "dir" && depth <= MAX_DEPTH) {
      for (const n of sortedNames(path)) walk(`${path}/${n}`, `${rel}/${n}`, depth + 1);
    }
  };
  try {
    walk(src, "", 0);
  } catch (e) {
    changed.push(`cannot re-read ${src}: ${reason(e)}`);
  }
  return changed;
}

function isEmptyDir(path: string): boolean {
  for (const _ of Deno.readDirSync(path)) return false;
  return true;
}

function removeQuietly(path: string): string | undefined {
  try {
    Deno.removeSync(path, { recursive: true });
    return undefined;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    return reason(e);
  }
}

export const TEMP_PREFIX = ".jk_jailuser";

export type DestinationState = "fresh" | "empty" | "identical" | "same";

/**
 * What is at `destination` now (read-only, so --dry-run can tell too): nothing ("fresh"), an
 * empty directory to be replaced ("empty"), a tree identical to `source` ("identical", an
 * earlier run stopped after copying), or the source directory itself ("same": a bind mount,
 * e.g. of /home into the jail; there is nothing to move and, above all, nothing to remove).
 * Anything else throws MoveError. When the parent exists it must be root's and not
 * group/other-writable, or someone could swap our temp directory for a symlink between our
 * writes.
 */
export function checkDestination(source: string, destination: string): DestinationState {
  const existing = lstatOrUndefined(destination);
  const src = lstatOrUndefined(source);
  if (
    existing !== undefined && src !== undefined && existing.dev === src.dev &&
    existing.ino === src.ino
  ) {
    return "same";
  }
  const parent = posix.dirname(destination);
  const pinfo = lstatOrUndefined(parent);
  if (pinfo !== undefined) {
    if (!pinfo.isDirectory || pinfo.isSymlink) throw new MoveError(`${parent} is not a directory`);
    if (pinfo.uid !== 0 || ((pinfo.mode ?? 0) & 0o022) !== 0) {
      throw new MoveError(`${parent} must be owned by root and not writable by group or others`);
    }
  }
  if (existing === undefined) return "fresh";
  if (!existing.isDirectory || existing.isSymlink) {
    throw new MoveError(`${destination} exists and is not a directory`);
  }
  if (isEmptyDir(destination)) return "empty";
  const diffs = compareTrees(source, destination);
  if (diffs.length > 0) {
    throw new MoveError(
      `${destination} already exists and differs from ${source}; merge them by hand`,
      diffs,
    );
  }
  return "identical";
}

/**
 * Puts a complete, verified copy of `source` at `destination` (host paths; the destination's
 * parent must exist and be root's). An existing destination is accepted when it is an empty
 * directory (replaced) or already identical to the source (an earlier run stopped before
 * finishing). Returns the manifest of the source for the final unchanged-check. The source is
 * never modified; on failure the temp copy is removed and MoveError says why.
 */
export function placeCopy(
  source: string,
  destination: string,
  user: string,
  state: DestinationState = checkDestination(source, destination),
): Manifest {
  if (state === "same") throw new MoveError(`${destination} is ${source} itself`);
  if (state === "identical") return manifestOf(source);
  const parent = posix.dirname(destination);
  const rand = Array.from(
    crypto.getRandomValues(new Uint8Array(6)),
    (b) => b.toString(16).padStart(2, "0"),
  )
    .join("");
  const temp = `${parent}/${TEMP_PREFIX}.${user}.${rand}`;
  let manifest: Manifest;
  try {
    manifest = copyTree(source, temp);
    const diffs = compareTrees(source, temp);
    if (diffs.length > 0) throw new MoveError(`the copy of ${source} does not match it`, diffs);
    // rename(2) replaces an empty directory atomically and fails on a non-empty one
    Deno.renameSync(temp, destination);
  } catch (e) {
    const left = removeQuietly(temp);
    const extra = left === undefined ? [] : [`could not remove the partial copy ${temp}: ${left}`];
    if (e instanceof MoveError) throw new MoveError(e.message, [...e.problems, ...extra]);
    throw new MoveError(`cannot put ${source} at ${destination}: ${reason(e)}`, extra);
  }
  return manifest;
}

function manifestOf(src: string): Manifest {
  const manifest: Manifest = new Map();
  const walk = (path: string, rel: string, depth: number) => {
    const info = Deno.lstatSync(path);
    manifest.set(rel, seenOf(info));
    if (info.isDirectory && depth <= MAX_DEPTH) {
      for (const n of sortedNames(path)) walk(`${path}/${n}`, `${rel}/${n}`, depth + 1);
    }
  };
  walk(src, "", 0);
  return manifest;
}

/** Temp directories an interrupted run left beside `destination` for `user`. */
export function leftoverTemps(destination: string, user: string): string[] {
  const parent = posix.dirname(destination);
  const prefix = `${TEMP_PREFIX}.${user}.`;
  try {
    return [...Deno.readDirSync(parent)].filter((e) => e.name.startsWith(prefix)).map((e) =>
      `${parent}/${e.name}`
    ).sort();
  } catch {
    return [];
  }
}

// ---------------------------------------------------------------------------------------------
// Carrying out a plan

export interface CarryOutOptions {
  jail: string;
  dryRun: boolean;
  verbose: boolean;
  print?: (stream: "stdout" | "stderr", line: string) => void;
  /** Absolute path of usermod. */
  usermod: string;
}

export interface CarryOutResult {
  /** Every operation with its outcome, for --json. */
  results: OpResult[];
  /** Writing JAIL/etc/group or JAIL/etc/passwd failed: nothing was done on the host. */
  jailWriteFailed: boolean;
  /** Users whose host account or home could not be switched (their old home is intact). */
  failedUsers: string[];
  failed: number;
}

/** Attributes for a rewritten jail file: those of the file it replaces, else root 0644. */
export function fileAttrs(host: string): Attrs {
  const info = lstatOrUndefined(host);
  return info === undefined
    ? { mode: 0o644, uid: 0, gid: 0 }
    : { mode: (info.mode ?? 0o644) & 0o7777, uid: owner(info)[0], gid: owner(info)[1] };
}

/**
 * Plans the in-jail parent directories of `inJailHome` (root 0755, like a fresh /home) and
 * returns them with the canonical host path the home will have.
 */
export function homeParentOps(
  jail: string,
  inJailHome: string,
): { ops: Op[]; destination: string } {
  const view = new JailView(jail);
  const parentIn = posix.dirname(stripSlashes(inJailHome));
  const canonParent = view.resolve(parentIn, true);
  const ops: Op[] = [];
  let sofar = "";
  for (const comp of canonParent.split("/").filter((c) => c !== "")) {
    sofar += `/${comp}`;
    const node = view.lookup(sofar);
    if (node === undefined) {
      ops.push({
        op: "mkdir",
        path: sofar,
        attrs: { mode: 0o755, uid: 0, gid: 0 },
        msg: { text: `Creating directory ${view.hostPath(sofar)}`, verbose: true },
      });
      view.record(sofar, { kind: "dir" });
    } else if (node.kind !== "dir") {
      throw new JailkitError("unsafe-jail", `${view.hostPath(sofar)} is not a directory`);
    }
  }
  const base = posix.basename(stripSlashes(inJailHome));
  return { ops, destination: `${view.hostPath(canonParent)}/${base}` };
}

/**
 * Carries out a JailuserPlan in the order described at the top of this file. In dry-run mode
 * every step is printed instead.
 */
export function carryOut(plan: JailuserPlan, opts: CarryOutOptions): CarryOutResult {
  const results: OpResult[] = [];
  const failedUsers: string[] = [];
  let failed = 0;
  const print = opts.print;
  const stage = (ops: Op[]): number => {
    const r = applyPlan({ jail: opts.jail, ops }, {
      mode: opts.dryRun ? "dry-run" : "apply",
      verbose: opts.verbose,
      print,
    });
    results.push(...r.results);
    failed += r.failed;
    return r.failed;
  };
  const record = (text: string, error?: string) => {
    results.push({
      op: { op: "note", msg: { text } },
      status: opts.dryRun ? "planned" : error === undefined ? "done" : "failed",
      ...(error === undefined ? {} : { error }),
    });
    if (error !== undefined) failed++;
  };

  const writes: Op[] = [...plan.notes];
  for (const [inJail, text] of [["/etc/group", plan.groupText], ["/etc/passwd", plan.passwdText]]) {
    if (text === undefined) continue;
    const file = jailFile(opts.jail, inJail!);
    writes.push({ op: "write", path: file.path, content: text, attrs: fileAttrs(file.host) });
  }
  if (stage(writes) > 0) {
    return { results, jailWriteFailed: true, failedUsers, failed };
  }

  for (const user of plan.users) {
    const { layout } = user;
    const ops: Op[] = [...user.notes];
    let manifest: Manifest | undefined;
    let same = false;
    const source = layout.source!;
    if (user.move) {
      const leftovers = leftoverTemps(layout.destination, user.name);
      if (leftovers.length > 0) {
        ops.push(
          warn(`left over by an interrupted run (remove after checking): ${leftovers.join(" ")}`),
        );
      }
      let parents: ReturnType<typeof homeParentOps>;
      try {
        parents = homeParentOps(opts.jail, layout.inJailHome);
      } catch (e) {
        if (!(e instanceof JailkitError)) throw e;
        ops.push(msg(`ERROR: ${e.message}`, { stream: "stderr" }));
        ops.push(
          msg(
            `Not everything was copied to ${layout.newHome}, keeping the old directory ${source}`,
          ),
        );
        stage(ops);
        failedUsers.push(user.name);
        continue;
      }
      ops.push(...parents.ops);
      ops.push(msg(`Moving files from ${source} to ${layout.newHome}`, { verbose: true }));
      if (stage(ops) > 0) {
        print?.(
          "stdout",
          `Not everything was copied to ${layout.newHome}, keeping the old directory ${source}`,
        );
        failedUsers.push(user.name);
        continue;
      }
      const what = `copy ${source} to ${parents.destination}, verify the copy`;
      try {
        const state = checkDestination(source, parents.destination);
        if (state === "same") {
          print?.(
            "stdout",
            `home directory ${source} is already inside the jail (it is ${parents.destination})`,
          );
          same = true;
        } else {
          checkMoveSource(source, parents.destination, opts.jail);
          if (opts.dryRun) {
            print?.(
              "stdout",
              state === "identical"
                ? `would keep ${parents.destination}, already identical to ${source}`
                : `would ${what}`,
            );
          } else {
            manifest = placeCopy(source, parents.destination, user.name, state);
          }
          record(what);
        }
      } catch (e) {
        if (!(e instanceof MoveError)) throw e;
        print?.("stderr", `ERROR: ${e.message}`);
        for (const p of e.problems) print?.("stderr", `ERROR: ${p}`);
        print?.(
          "stdout",
          `Not everything was copied to ${layout.newHome}, keeping the old directory ${source}`,
        );
        record(what, [e.message, ...e.problems].join("; "));
        failedUsers.push(user.name);
        continue;
      }
    } else if (stage(ops) > 0) {
      failedUsers.push(user.name);
      continue;
    }

    if (user.usermod !== undefined) {
      const run: Op = { op: "run", argv: [opts.usermod, ...user.usermod] };
      if (stage([run]) > 0) {
        print?.("stderr", `failed to modify user ${user.name}`);
        if (user.move) {
          print?.(
            "stdout",
            `the account still uses ${source}, which is kept; the copy in ` +
              `${layout.destination} can be removed`,
          );
        }
        failedUsers.push(user.name);
        continue;
      }
    }

    if (user.move && !same) {
      const what = `remove ${source} after checking it is unchanged since the copy`;
      if (opts.dryRun) {
        print?.("stdout", `would ${what}`);
        record(what);
        continue;
      }
      const changed = unchangedSince(source, manifest!);
      if (changed.length > 0) {
        for (const c of changed) print?.("stderr", `ERROR: ${c}`);
        print?.(
          "stdout",
          `${source} changed while it was being moved, keeping the old directory ${source}`,
        );
        record(what, changed.join("; "));
        failedUsers.push(user.name);
        continue;
      }
      if (opts.verbose) print?.("stdout", `Removing original home directory ${source}`);
      const left = removeQuietly(source);
      if (left !== undefined) {
        print?.("stderr", `ERROR: failed to remove ${source}: ${left}`);
        record(what, left);
      } else {
        record(what);
      }
    }
  }
  return { results, jailWriteFailed: false, failedUsers, failed };
}
