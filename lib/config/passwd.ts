/**
 * passwd(5) and group(5) files as jailkit reads and edits them (host and JAIL/etc copies), plus
 * the `/./` home marker that ties a host account to its jail (docs/design.md, Compatibility
 * contract).
 *
 * Editing keeps every line we do not change byte for byte (comments, blank lines, malformed
 * lines, CRLF endings, a missing final newline), so an admin's file is never reformatted.
 * Parsing is pure: callers read the file (inside a jail only through the safe resolver) and
 * write the returned text atomically.
 *
 * Not copied from jailkit 2.23: jk_jailuser rewrote a group line as `name:x:GID:...`,
 * replacing its password field and assuming the line ended with a newline; we change only the
 * member field. Malformed lines are reported instead of crashing (jk_check on 6-field lines).
 */
import { configError, JailkitError } from "../core/errors.ts";
import { readBoundedFile } from "../core/safeio.ts";

/** One physical line: its text without the terminator, and the terminator it had. */
export interface DbLine {
  /** The line without its terminator. */
  readonly text: string;
  /** The terminator it had (empty for an unterminated last line), written back unchanged. */
  readonly eol: "" | "\n" | "\r\n";
}

/** One well-formed passwd line, with its fields split and the ids parsed. */
export interface PasswdEntry {
  /** Login name; lookups by name use the first entry that has it. */
  readonly name: string;
  /** Second field as written (`x` when the hash is in shadow). */
  readonly password: string;
  /** User id, 0 to MAX_ID. */
  readonly uid: number;
  /** Primary group id, 0 to MAX_ID. */
  readonly gid: number;
  /** Comment field (full name), as written. */
  readonly gecos: string;
  /** Home directory; for a jailed account on the host, `JAIL/./HOME`. */
  readonly home: string;
  /** Login shell; jk_chrootsh for a jailed account on the host. */
  readonly shell: string;
  /** 0-based index into `lines`. */
  readonly index: number;
}

/** One well-formed group line, with its fields split and the id parsed. */
export interface GroupEntry {
  /** Group name; lookups by name use the first entry that has it. */
  readonly name: string;
  /** Second field as written (usually `x`). */
  readonly password: string;
  /** Group id, 0 to MAX_ID. */
  readonly gid: number;
  /** Member names in file order, empty items (as in `a,,b`) left out. */
  readonly members: readonly string[];
  /** 0-based index into `lines`. */
  readonly index: number;
}

/** A line kept verbatim but left out of lookups; `message` starts with FILE:LINE. */
export interface DbProblem {
  /** 0-based index into `lines`. */
  readonly index: number;
  /** Why the line is not used, starting with FILE:LINE. */
  readonly message: string;
}

/** What passwd and group files have in common: lines kept verbatim, entries looked up by name. */
export interface DbFile<E> {
  /** File the text came from, named in every problem. */
  readonly path: string;
  /**
   * Every line, including blank, comment and malformed ones, so a rewrite changes only its own
   * line.
   */
  readonly lines: readonly DbLine[];
  /** Well-formed entries in file order (duplicates of an earlier name included). */
  readonly entries: readonly E[];
  /** Lines that are neither blank, comments nor well-formed entries. */
  readonly problems: readonly DbProblem[];
  /** First well-formed entry with this name, as the C library's lookup would return. */
  byName(name: string): E | undefined;
}

/** A parsed passwd file that can be rewritten line by line without disturbing the other lines. */
export interface PasswdFile extends DbFile<PasswdEntry> {
  /** First well-formed entry with this uid, as the C library's lookup would return. */
  byUid(uid: number): PasswdEntry | undefined;
}

/** A parsed group file that can be rewritten line by line without disturbing the other lines. */
export interface GroupFile extends DbFile<GroupEntry> {
  /** First well-formed entry with this gid, as the C library's lookup would return. */
  byGid(gid: number): GroupEntry | undefined;
}

/** Highest id accepted; 2^32-1 is (uid_t)-1, which means "no id" to the kernel. */
export const MAX_ID = 4294967294;

/** Splits keeping each line's terminator, so joining `text + eol` gives back the input. */
export function splitDbLines(text: string): DbLine[] {
  const lines: DbLine[] = [];
  let start = 0;
  while (start < text.length) {
    const nl = text.indexOf("\n", start);
    if (nl < 0) {
      lines.push({ text: text.slice(start), eol: "" });
      break;
    }
    const crlf = nl > start && text[nl - 1] === "\r";
    lines.push({ text: text.slice(start, crlf ? nl - 1 : nl), eol: crlf ? "\r\n" : "\n" });
    start = nl + 1;
  }
  return lines;
}

export function joinDbLines(lines: readonly DbLine[]): string {
  return lines.map((l) => l.text + l.eol).join("");
}

/** Blank and `#` lines are skipped by the C library's files backend, so they are not problems. */
function isIgnorable(text: string): boolean {
  const t = text.trimStart();
  return t === "" || t.startsWith("#");
}

function parseId(field: string): number | undefined {
  if (!/^[0-9]{1,10}$/.test(field)) return undefined;
  const n = Number(field);
  return n <= MAX_ID ? n : undefined;
}

/** Why a line cannot be used, or undefined; shared checks of both formats. */
function lineDefect(text: string, fields: string[], want: number): string | undefined {
  if (text.includes("\0")) return "NUL byte in line";
  if (text.includes("\r")) return "stray carriage return in line";
  if (fields.length !== want) {
    return `expected ${want} colon-separated fields, found ${fields.length}`;
  }
  if (fields[0] === "") return "empty name";
  // The C library skips leading blanks, so " root" would be root to it but not to us.
  if (/\s/.test(fields[0])) return `blank in name "${fields[0]}"`;
  return undefined;
}

/**
 * What parsePasswd and parseGroup share: the lines, the entries `build` makes of the
 * well-formed ones, the problems, and the lookups by name and by the id `idOf` gives (the first
 * entry of each wins, as the C library's lookups return it).
 */
function parseDb<E extends { name: string; index: number }>(
  text: string,
  path: string,
  fieldCount: number,
  build: (fields: string[], index: number) => E | string,
  idOf: (entry: E) => number,
): { file: DbFile<E>; byId: (id: number) => E | undefined } {
  const lines = splitDbLines(text);
  const entries: E[] = [];
  const problems: DbProblem[] = [];
  const byName = new Map<string, E>();
  lines.forEach((line, index) => {
    if (isIgnorable(line.text)) return;
    const fields = line.text.split(":");
    const defect = lineDefect(line.text, fields, fieldCount);
    const result = defect ?? build(fields, index);
    if (typeof result === "string") {
      problems.push({ index, message: `${path}:${index + 1}: ${result}; line ignored` });
      return;
    }
    const first = byName.get(result.name);
    if (first) {
      problems.push({
        index,
        message: `${path}:${index + 1}: duplicate name "${result.name}" ` +
          `(first at line ${first.index + 1}); lookups use the first`,
      });
    } else {
      byName.set(result.name, result);
    }
    entries.push(result);
  });
  const byId = new Map<number, E>();
  for (const e of entries) if (!byId.has(idOf(e))) byId.set(idOf(e), e);
  return {
    file: { path, lines, entries, problems, byName: (name) => byName.get(name) },
    byId: (id) => byId.get(id),
  };
}

/**
 * Parses passwd text (the contents of `path`, named in problems). Malformed lines are kept verbatim
 * and listed in `problems`, never thrown, so that a rewrite keeps them.
 */
export function parsePasswd(text: string, path: string): PasswdFile {
  const { file, byId } = parseDb<PasswdEntry>(text, path, 7, (f, index) => {
    const uid = parseId(f[2]);
    if (uid === undefined) return `uid "${f[2]}" is not a number from 0 to ${MAX_ID}`;
    const gid = parseId(f[3]);
    if (gid === undefined) return `gid "${f[3]}" is not a number from 0 to ${MAX_ID}`;
    return {
      name: f[0],
      password: f[1],
      uid,
      gid,
      gecos: f[4],
      home: f[5],
      shell: f[6],
      index,
    };
  }, (e) => e.uid);
  return { ...file, byUid: byId };
}

/**
 * Parses group text (the contents of `path`, named in problems). Malformed lines are kept verbatim
 * and listed in `problems`, never thrown, so that a rewrite keeps them.
 */
export function parseGroup(text: string, path: string): GroupFile {
  const { file, byId } = parseDb<GroupEntry>(text, path, 4, (f, index) => {
    const gid = parseId(f[2]);
    if (gid === undefined) return `gid "${f[2]}" is not a number from 0 to ${MAX_ID}`;
    return {
      name: f[0],
      password: f[1],
      gid,
      members: f[3].split(",").filter((m) => m !== ""),
      index,
    };
  }, (e) => e.gid);
  return { ...file, byGid: byId };
}

/** Fields of a passwd line to be written. */
export interface NewPasswdEntry {
  /** Login name: no blank, comma or colon, and no leading `-` or `+`. */
  name: string;
  /** Password field, usually `x`: no hash is copied into a jail. */
  password: string;
  /** User id, 0 to MAX_ID. */
  uid: number;
  /** Primary group id, 0 to MAX_ID. */
  gid: number;
  /** Comment field; no colon or line break. */
  gecos: string;
  /** Home directory; no colon or line break, not empty. */
  home: string;
  /** Login shell; no colon or line break, not empty. */
  shell: string;
}

/** Fields of a group line to be written. */
export interface NewGroupEntry {
  /** Group name: no blank, comma or colon, and no leading `-` or `+`. */
  name: string;
  /** Password field, usually `x`. */
  password: string;
  /** Group id, 0 to MAX_ID. */
  gid: number;
  /** Member user names, written comma-separated. */
  members: readonly string[];
}

function checkField(what: string, value: string): void {
  const bad = /[:\n\r\0]/.exec(value);
  if (bad) {
    throw new JailkitError(
      "usage",
      `${what} ${JSON.stringify(value)} contains ${JSON.stringify(bad[0])}, which passwd/group ` +
        `files cannot hold`,
    );
  }
}

/**
 * User and group names also appear in comma-separated member lists and on command lines, so
 * beyond the field rules they must not contain `,` or blanks, nor start with `-` (an option)
 * or `+` (a NIS compat entry).
 */
function checkName(what: string, name: string): void {
  checkField(what, name);
  if (name === "") throw new JailkitError("usage", `${what} is empty`);
  if (name.startsWith("-") || name.startsWith("+")) {
    throw new JailkitError("usage", `${what} "${name}" must not start with "${name[0]}"`);
  }
  if (/[,\s]/.test(name)) {
    throw new JailkitError("usage", `${what} "${name}" must not contain "," or blanks`);
  }
}

function checkId(what: string, id: number): void {
  if (!Number.isInteger(id) || id < 0 || id > MAX_ID) {
    throw new JailkitError("usage", `${what} ${id} is not an integer from 0 to ${MAX_ID}`);
  }
}

/** Home and shell decide where a login lands; an empty shell would mean /bin/sh. */
function checkPath(what: string, value: string): void {
  checkField(what, value);
  if (value === "") throw new JailkitError("usage", `${what} is empty`);
}

/** Refuses a name already used by any line, well-formed or not, so no duplicate is created. */
function checkNameFree(path: string, lines: readonly DbLine[], name: string, what: string): void {
  const index = lines.findIndex((l) => !isIgnorable(l.text) && l.text.split(":", 1)[0] === name);
  if (index >= 0) throw configError(path, index + 1, `${what} "${name}" already exists`);
}

/**
 * Appends a line, first terminating an unterminated last line. A file whose lines all end in
 * CRLF keeps that style; anything else gets the Unix "\n".
 */
function appendLine(lines: readonly DbLine[], text: string): string {
  const out = lines.slice();
  const last = out[out.length - 1];
  const terminated = out.filter((l) => l.eol !== "");
  const eol = terminated.length > 0 && terminated.every((l) => l.eol === "\r\n") ? "\r\n" : "\n";
  if (last && last.eol === "") out[out.length - 1] = { text: last.text, eol };
  out.push({ text, eol });
  return joinDbLines(out);
}

/** The text of `file` with a new user line appended. */
export function appendPasswdEntry(file: PasswdFile, user: NewPasswdEntry): string {
  checkName("user name", user.name);
  checkField("password field", user.password);
  checkId("uid", user.uid);
  checkId("gid", user.gid);
  checkField("GECOS field", user.gecos);
  checkPath("home directory", user.home);
  checkPath("shell", user.shell);
  checkNameFree(file.path, file.lines, user.name, "user");
  const line = [user.name, user.password, user.uid, user.gid, user.gecos, user.home, user.shell];
  return appendLine(file.lines, line.join(":"));
}

/** The text of `file` with a new group line appended. */
export function appendGroupEntry(file: GroupFile, group: NewGroupEntry): string {
  checkName("group name", group.name);
  checkField("password field", group.password);
  checkId("gid", group.gid);
  for (const m of group.members) checkName("group member", m);
  checkNameFree(file.path, file.lines, group.name, "group");
  return appendLine(
    file.lines,
    [group.name, group.password, group.gid, group.members.join(",")].join(":"),
  );
}

function replaceLine(lines: readonly DbLine[], index: number, text: string): string {
  const out = lines.slice();
  out[index] = { text, eol: lines[index].eol };
  return joinDbLines(out);
}

/**
 * The text of `file` with `user` added to the member list of group `groupName`; unchanged when
 * already a member. Only the member field of that one line changes (password and gid text are
 * kept as written, as is the line ending).
 */
export function addGroupMember(file: GroupFile, groupName: string, user: string): string {
  checkName("group member", user);
  const group = file.byName(groupName);
  if (!group) {
    throw new JailkitError("not-found", `${file.path}: no group "${groupName}"`);
  }
  if (group.members.includes(user)) return joinDbLines(file.lines);
  const fields = file.lines[group.index].text.split(":");
  const members = fields[3];
  fields[3] = members === "" || members.endsWith(",") ? members + user : `${members},${user}`;
  return replaceLine(file.lines, group.index, fields.join(":"));
}

/** The text of `file` with the home and/or shell of `userName` replaced; other fields as written. */
export function setUserHomeShell(
  file: PasswdFile,
  userName: string,
  change: { home?: string; shell?: string },
): string {
  if (change.home !== undefined) checkPath("home directory", change.home);
  if (change.shell !== undefined) checkPath("shell", change.shell);
  const user = file.byName(userName);
  if (!user) throw new JailkitError("not-found", `${file.path}: no user "${userName}"`);
  const fields = file.lines[user.index].text.split(":");
  if (change.home !== undefined) fields[5] = change.home;
  if (change.shell !== undefined) fields[6] = change.shell;
  return replaceLine(file.lines, user.index, fields.join(":"));
}

/** Where a jailed account's host home points: the jail root and the home inside it. */
export interface JailHome {
  /** The jail root on the host, the part before the marker. */
  readonly jail: string;
  /** The home as seen inside the jail, starting with `/`. */
  readonly home: string;
}

const MARKER = "/./";

/**
 * Splits a host home at its LAST `/./` like jk_chrootsh (man/jk_chrootsh.8):
 * `/home/jail/./home/test` → jail `/home/jail`, home `/home/test`; `/srv/jail/./` → home `/`.
 * Undefined without a marker or when the jail part is shorter than 3 bytes (`/a/./x`), which
 * jk_chrootsh also refuses. Canonical-path checks on the jail are the caller's job.
 */
export function parseJailHome(home: string): JailHome | undefined {
  const at = home.lastIndexOf(MARKER);
  if (at < 0) return undefined;
  const jail = home.slice(0, at);
  if (new TextEncoder().encode(jail).length < 3) return undefined;
  return { jail, home: home.slice(at + 2) };
}

function hasDotComponent(path: string): boolean {
  return path.split("/").some((c) => c === "." || c === "..");
}

/**
 * The host home jk_jailuser gives a user of `jail` whose current host home is `hostHome`
 * (man/jk_jailuser.8): kept when it already carries this jail's marker, the marker inserted when
 * it lies inside the jail, otherwise `JAIL/.` + the old home (`/home/x` → `/srv/jail/./home/x`).
 * No trailing slash, except that a home equal to the jail root becomes `JAIL/./`. Refuses what
 * would yield a wrong marker: relative paths, `.`/`..` components, a jail of `/` or shorter
 * than 3 bytes, and a home marked for another jail.
 */
export function jailedHomeFor(jail: string, hostHome: string): string {
  checkPath("jail directory", jail);
  checkPath("home directory", hostHome);
  const j = jail.replace(/\/+$/, "");
  if (!jail.startsWith("/") || j === "" || j.includes("//") || hasDotComponent(j)) {
    throw new JailkitError(
      "usage",
      `jail "${jail}" must be an absolute path other than / without "//", "." or ".."`,
    );
  }
  if (new TextEncoder().encode(j).length < 3) {
    throw new JailkitError("usage", `jail "${jail}" is shorter than 3 bytes`);
  }
  const marked = `${j}${MARKER}`;
  const home = hostHome.replace(/\/+$/, "");
  const inJail = hostHome.startsWith(marked) ? hostHome.slice(marked.length) : undefined;
  if (inJail === undefined && hostHome.includes(MARKER)) {
    throw new JailkitError(
      "usage",
      `home "${hostHome}" already carries a jail marker "/./" for another jail than ${j}`,
    );
  }
  if (
    !hostHome.startsWith("/") || home.includes("//") || hasDotComponent(inJail ?? home)
  ) {
    throw new JailkitError(
      "usage",
      `home "${hostHome}" must be an absolute path without "//", "." or ".." components`,
    );
  }
  if (inJail !== undefined) return marked + inJail.replace(/\/+$/, "");
  const rest = home === j
    ? ""
    : home.startsWith(`${j}/`)
    ? home.slice(j.length + 1)
    : home.slice(1);
  return marked + rest;
}

/** passwd/group files beyond this size are treated as unreadable. */
export const MAX_DB_BYTES = 64 * 1024 * 1024;

/**
 * The text of a passwd or group file, or undefined when it is missing, unreadable, larger than
 * MAX_DB_BYTES or not UTF-8. The login tools read the jail's files with it, where a jailed user
 * may have planted something hostile.
 */
export function readDbFile(path: string): string | undefined {
  try {
    const bytes = readBoundedFile(path, MAX_DB_BYTES);
    return bytes && new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return undefined;
  }
}

/**
 * The file at `path` read by `read` (readDbFile by default) and parsed by `parse` (parsePasswd
 * or parseGroup); undefined when `read` gives no text.
 */
export function loadDbFile<F>(
  path: string,
  parse: (text: string, path: string) => F,
  read: (path: string) => string | undefined = readDbFile,
): F | undefined {
  const text = read(path);
  return text === undefined ? undefined : parse(text, path);
}
