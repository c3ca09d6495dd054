/**
 * jk_check (man/jk_check.8): audits jails for what lets a jailed user, or whoever changed the jail,
 * get more than the admin meant: an unsafe path to the jail, writable directories, set-id root
 * programs, files that differ from the host copies they were made from, and jail users that
 * no longer match their host accounts. It never writes.
 *
 * Everything that touches the file system comes in through `CheckFs`, so the decisions run in
 * tests against fake trees; `systemCheckFs` is the production wiring.
 *
 * Deliberately different from jailkit 2.23 (listed for admins in man/jk_check.8):
 * - contents are compared in full (size, then every byte), not one random 1 KiB block;
 * - a symlink is compared with the host's link at the same path (jailkit compared the jail
 *   link with itself), and a symlink where the host has another kind of file is reported;
 * - files the jailkit tools write or that hold local data (etc/passwd, etc/group,
 *   etc/ld.so.cache, etc/jailkit/, homes, temporary, runtime and log directories) are not
 *   compared, and a jail file the host does not have is not an error;
 * - jail users copied from the host system range (uid < 1000, same uid and gid) and root are
 *   not reported;
 * - one warning per directory (others before group) and per set-id file (the widest class of
 *   executors not covered by the ignore lists); root-owned sticky temporary directories
 *   (/tmp, /var/tmp, /dev/shm, /run/lock, /var/lock) are not reported;
 * - ignore lists match whole path components (`/j/home` no longer covers `/j/homework`);
 * - the jail of a host account is taken from the LAST `/./` of its home, as jk_chrootsh does,
 *   and a malformed passwd line is reported instead of crashing;
 * - the walk never follows a symlink, never descends into proc/sysfs-like mounts, and opens
 *   files without following symlinks or blocking on FIFOs;
 * - a thin jail's mount points (jk_thin.ini(5)) are left alone: at login the session sees the
 *   host or its own /tmp and /proc there, not what the directory holds.
 */
import * as posix from "../core/posixpath.ts";
import { JailkitError } from "../core/errors.ts";
import { type IniFile, iniPlainSections, type IniSection } from "../config/ini.ts";
import { parseJailHome, parsePasswd, type PasswdFile } from "../config/passwd.ts";
import { JailView, kindOf, type NodeKind } from "../engine/jailpath.ts";
import { mountPointOf } from "../config/thin.ts";
import { stripTrailingSlash, toolPath } from "../core/paths.ts";
import { closeFd, openRegular, readBounded, sameContent } from "../core/safeio.ts";

/** `error`: a way out of the jail or into another account (exit 2); `warning`: worth a look. */
export type Severity = "error" | "warning";

/** What a finding is about; stable names for --json consumers. */
export type FindingKind =
  | "config" // jk_check.ini itself
  | "unsafe-jail" // the path to the jail or its system directories
  | "missing-jail" // a configured jail that does not exist
  | "writable-dir"
  | "setid"
  | "content" // a file differs from the host copy
  | "symlink" // a symlink differs from the host's
  | "symlink-escape" // a symlink that leads out of the jail when followed from the host
  | "jail-only" // an entry of a compared directory that the host lacks
  | "hardlink" // a file sharing its inode with a file outside the jail
  | "device" // a device node outside /dev, or unlike the host's device of that name
  | "special" // a FIFO or socket no jailkit tool made
  | "unreadable" // something could not be read or compared
  | "jail-user" // JAIL/etc/passwd against the host
  | "host-user" // host accounts with a /./ home
  | "sshd"; // sshd settings that let a jailed user past the jail

/** One problem jk_check found, as printed or as one element of the --json document. */
export interface Finding {
  /** Decides the `ERROR:`/`WARNING:` prefix and whether jk_check exits 2. */
  readonly severity: Severity;
  /** What the finding is about, for --json consumers to filter on. */
  readonly kind: FindingKind;
  /** The jail concerned; undefined for findings about the configuration file. */
  readonly jail?: string;
  /** Host path of the file or directory concerned, when there is one. */
  readonly path?: string;
  /** User concerned, for the user checks. */
  readonly user?: string;
  /** For "sshd": the sshd_config settings at fault, as `Keyword value`. */
  readonly sshd?: readonly string[];
  /** The text after the `ERROR: `/`WARNING: ` prefix. */
  readonly message: string;
}

/** The output line, with jailkit's prefixes. */
export function findingLine(f: Finding): string {
  return `${f.severity === "error" ? "ERROR" : "WARNING"}: ${f.message}`;
}

// ---------------------------------------------------------------------------------------------
// Configuration

/** The per-jail keys of jk_check.ini, as jailkit spells them, and what each one holds. */
export const SETTING_KEYS = {
  ignorepatheverywhere: "ignorePathEverywhere",
  ignorepathoncompare: "ignorePathOnCompare",
  ignorewritableforgroup: "ignoreWritableForGroup",
  ignorewritableforothers: "ignoreWritableForOthers",
  ignoresetuidexecuteforuser: "ignoreSetuidExecuteForUser",
  ignoresetuidexecuteforgroup: "ignoreSetuidExecuteForGroup",
  ignoresetuidexecuteforothers: "ignoreSetuidExecuteForOthers",
} as const;

/** A jk_check.ini setting as the code names it. */
export type SettingName = (typeof SETTING_KEYS)[keyof typeof SETTING_KEYS];

/** Normalised absolute host paths (no trailing slash). */
export type CheckSettings = { readonly [K in SettingName]: readonly string[] };

/** The settings of a jail no jk_check.ini section mentions: nothing is ignored. */
export const NO_SETTINGS: CheckSettings = Object.freeze({
  ignorePathEverywhere: [],
  ignorePathOnCompare: [],
  ignoreWritableForGroup: [],
  ignoreWritableForOthers: [],
  ignoreSetuidExecuteForUser: [],
  ignoreSetuidExecuteForGroup: [],
  ignoreSetuidExecuteForOthers: [],
});

/**
 * Settings of one jail from its section (keys it lacks come from `[DEFAULT]`, as configparser
 * did) or, for a jail without a section, from `[DEFAULT]` alone. Problems (unknown keys,
 * relative paths) are returned as warnings; the offending key or item is ignored.
 */
export function settingsFor(
  ini: IniFile | undefined,
  section: IniSection | undefined,
): { settings: CheckSettings; findings: Finding[] } {
  const findings: Finding[] = [];
  const result: Record<string, string[]> = {};
  for (const [key, name] of Object.entries(SETTING_KEYS)) {
    const entry = section?.own(key) ?? ini?.defaults?.own(key);
    const where = entry && section?.own(key) === entry ? section! : ini?.defaults;
    const items: string[] = [];
    for (const raw of (entry?.value ?? "").split(",")) {
      const item = raw.trim();
      if (item === "") continue;
      if (!item.startsWith("/")) {
        findings.push({
          severity: "warning",
          kind: "config",
          message: `${where!.path}:${entry!.line}: ${key} in [${where!.name}]: "${item}" is ` +
            `not an absolute path; ignored`,
        });
        continue;
      }
      items.push(stripTrailingSlash(posix.normalize(item)));
    }
    result[name] = items;
  }
  return { settings: result as unknown as CheckSettings, findings };
}

/** Keys jailkit never read: most likely typos that silently disable nothing. */
export function unknownKeyFindings(ini: IniFile): Finding[] {
  const findings: Finding[] = [];
  for (const s of ini.sections) {
    for (const e of s.entries) {
      if (!(e.key in SETTING_KEYS)) {
        findings.push({
          severity: "warning",
          kind: "config",
          message: `${s.path}:${e.line}: unknown key "${e.key}" in [${s.name}]; ignored`,
        });
      }
    }
  }
  return findings;
}

// ---------------------------------------------------------------------------------------------
// Host accounts with a jail marker

/** A host passwd line whose home carries `/./`. */
export interface JailedHostUser {
  /** Login name. */
  readonly name: string;
  /** 1-based line in the host passwd file. */
  readonly line: number;
  /** The home field as written, `/./` included. */
  readonly home: string;
  /** Undefined when the 7th field is missing. */
  readonly shell: string | undefined;
  /** The jail (normalised), when the home names a usable one. */
  readonly jail: string | undefined;
  /** Home inside the jail (after the last `/./`). */
  readonly inJailHome: string | undefined;
  /** Why jk_chrootsh cannot use this account as it stands (malformed line, bad marker). */
  readonly problem: string | undefined;
}

/**
 * Every host account whose home contains `/./`. The jail is the part before the LAST marker,
 * like jk_chrootsh. Lines with 6 fields (jailkit crashed on them) or other defects are kept
 * with a `problem`, so the jail they name is still checked.
 */
export function jailedHostUsers(text: string, path: string): JailedHostUser[] {
  const passwd = parsePasswd(text, path);
  const problems = new Map(passwd.problems.map((p) => [p.index, p.message]));
  const users: JailedHostUser[] = [];
  passwd.lines.forEach((line, index) => {
    const fields = line.text.split(":");
    if (fields.length < 6 || !fields[5].includes("/./")) return;
    const home = fields[5];
    let problem = problems.get(index);
    const parsed = parseJailHome(home);
    let jail: string | undefined;
    if (parsed === undefined) {
      problem ??= `${path}:${index + 1}: home ${home} of ${fields[0]} names a jail shorter than ` +
        `3 bytes, which jk_chrootsh refuses`;
    } else {
      jail = stripTrailingSlash(posix.normalize(parsed.jail));
      if (jail !== parsed.jail || !parsed.jail.startsWith("/")) {
        problem ??= `${path}:${index + 1}: home ${home} of ${fields[0]} names the jail ` +
          `${parsed.jail}, which is not a canonical absolute path; jk_chrootsh refuses it`;
        if (!parsed.jail.startsWith("/") || jail === "/") jail = undefined;
      }
    }
    users.push({
      name: fields[0],
      line: index + 1,
      home,
      shell: fields.length >= 7 ? fields[6].trim() : undefined,
      jail,
      inJailHome: parsed?.home,
      problem,
    });
  });
  return users;
}

// ---------------------------------------------------------------------------------------------
// Which jails

/** A jail jk_check will check, with its settings and why it was chosen. */
export interface JailToCheck {
  /** The normalised jail directory. */
  readonly jail: string;
  /** The jail's jk_check.ini settings (NO_SETTINGS without a section). */
  readonly settings: CheckSettings;
  /** Why it is checked: named on the command line, an ini section, a host account. */
  readonly source: "argument" | "config" | "passwd";
}

/**
 * The jails to check, in order: those given on the command line (only those), else every ini
 * section (not `[DEFAULT]`) followed by the jails of host accounts that no section names
 * (with or without a trailing slash). A section whose name is not an absolute path, or that
 * repeats another jail, is reported and skipped.
 */
export function selectJails(
  ini: IniFile | undefined,
  hostUsers: readonly JailedHostUser[],
  args: readonly string[],
  cwd: string,
): { jails: JailToCheck[]; findings: Finding[] } {
  const findings: Finding[] = [];
  const sections = new Map<string, IniSection>();
  for (const s of ini ? iniPlainSections(ini) : []) {
    if (!s.name.startsWith("/")) {
      findings.push({
        severity: "warning",
        kind: "config",
        message: `${s.path}:${s.line}: section [${s.name}] is not an absolute jail path; skipped`,
      });
      continue;
    }
    const jail = stripTrailingSlash(posix.normalize(s.name));
    if (jail === "/") {
      findings.push({
        severity: "warning",
        kind: "config",
        message: `${s.path}:${s.line}: section [${s.name}] names /, which is not a jail; skipped`,
      });
      continue;
    }
    if (sections.has(jail)) {
      findings.push({
        severity: "warning",
        kind: "config",
        message: `${s.path}:${s.line}: section [${s.name}] names the jail ${jail} again; ` +
          `only the first section is used`,
      });
      continue;
    }
    sections.set(jail, s);
  }
  const jails: JailToCheck[] = [];
  const seen = new Set<string>();
  const add = (jail: string, source: JailToCheck["source"]) => {
    if (seen.has(jail)) return;
    seen.add(jail);
    const { settings, findings: f } = settingsFor(ini, sections.get(jail));
    findings.push(...f);
    jails.push({ jail, settings, source });
  };
  if (args.length > 0) {
    for (const a of args) {
      const jail = stripTrailingSlash(posix.resolve(cwd, a));
      if (jail === "/") {
        findings.push({ severity: "error", kind: "unsafe-jail", jail, message: "/ is not a jail" });
      } else add(jail, "argument");
    }
  } else {
    for (const jail of sections.keys()) add(jail, "config");
    for (const u of hostUsers) if (u.jail !== undefined) add(u.jail, "passwd");
  }
  return { jails, findings };
}

// ---------------------------------------------------------------------------------------------
// Decisions on single entries

/** What the checks need to know about one directory entry. */
export interface EntryInfo {
  /** Directory, file, symlink or special file: decides which checks apply. */
  readonly kind: NodeKind;
  /** Permission and set-id bits (& 0o7777). */
  readonly mode: number;
  /** Owner; set-id files and writable directories are judged by it. */
  readonly uid: number;
  /** Group owner; ignorewritableforgroup and set-gid findings name it. */
  readonly gid: number;
  /** Size in bytes; files of different sizes differ without being read. */
  readonly size: number;
  /**
   * Device of the file system holding the entry: with `ino`, recognises bind mounts and hard links.
   */
  readonly dev: number;
  /** Inode number: with `dev`, recognises bind mounts and hard links. */
  readonly ino: number;
  /** Number of hard links. */
  readonly nlink: number;
  /** Device number of a char or block device (0 otherwise). */
  readonly rdev: number;
}

/** The facts the checks use, from an lstat or stat result. */
export function entryInfo(info: Deno.FileInfo): EntryInfo {
  return {
    kind: kindOf(info),
    mode: (info.mode ?? 0) & 0o7777,
    uid: info.uid ?? -1,
    gid: info.gid ?? -1,
    size: info.size,
    dev: info.dev ?? 0,
    ino: info.ino ?? 0,
    nlink: info.nlink ?? 1,
    rdev: info.rdev ?? 0,
  };
}

/** True when `path` is one of `prefixes` or lies below one (whole components). */
export function isUnder(path: string, prefixes: readonly string[]): boolean {
  return prefixes.some((p) => path === p || path.startsWith(p === "/" ? "/" : `${p}/`));
}

/**
 * In-jail directories where every user may create files: root-owned and sticky there, they
 * are the normal shared temporary directories (jk_init's basicshell makes /tmp 1777).
 */
export const TEMP_DIRS: readonly string[] = [
  "/tmp",
  "/var/tmp",
  "/dev/shm",
  "/run/lock",
  "/var/lock",
];

/**
 * In-jail paths never compared with the host: what the jailkit tools write (users, groups,
 * the loader cache, jk_lsh's configuration) and where jails keep local data, which may share
 * a name with an unrelated host file.
 */
export const NOT_COMPARED: readonly string[] = [
  "/etc/passwd",
  "/etc/group",
  "/etc/ld.so.cache",
  "/etc/jailkit",
  "/home",
  ...TEMP_DIRS,
  "/run",
  "/var/run",
  "/var/log",
];

/** At most one warning per directory: writable for others, else writable for group. */
export function writableDirFinding(
  jail: string,
  inJail: string,
  info: EntryInfo,
  settings: CheckSettings,
): Finding | undefined {
  const host = inJail === "/" ? jail : jail + inJail;
  if ((info.mode & 0o022) === 0) return undefined;
  if (TEMP_DIRS.includes(inJail) && (info.mode & 0o1000) !== 0 && info.uid === 0) return undefined;
  const shown = `${host}/`;
  if ((info.mode & 0o002) !== 0 && !isUnder(host, settings.ignoreWritableForOthers)) {
    return {
      severity: "warning",
      kind: "writable-dir",
      jail,
      path: host,
      message: `${shown} is writable for others!`,
    };
  }
  if ((info.mode & 0o020) !== 0 && !isUnder(host, settings.ignoreWritableForGroup)) {
    return {
      severity: "warning",
      kind: "writable-dir",
      jail,
      path: host,
      message: `${shown} is writable for group!`,
    };
  }
  return undefined;
}

/**
 * At most one warning per set-uid-root or set-gid-root file: the widest class that may execute
 * it (others, group, user) whose ignore list does not name the file.
 */
export function setidFinding(
  jail: string,
  host: string,
  info: EntryInfo,
  settings: CheckSettings,
): Finding | undefined {
  const suidRoot = (info.mode & 0o4000) !== 0 && info.uid === 0;
  const sgidRoot = (info.mode & 0o2000) !== 0 && info.gid === 0;
  if (!suidRoot && !sgidRoot) return undefined;
  const what = suidRoot ? "setuid root" : "setgid root";
  const classes: [string, number, readonly string[]][] = [
    ["others", 0o001, settings.ignoreSetuidExecuteForOthers],
    ["group", 0o010, settings.ignoreSetuidExecuteForGroup],
    ["user", 0o100, settings.ignoreSetuidExecuteForUser],
  ];
  for (const [who, bit, ignored] of classes) {
    if ((info.mode & bit) !== 0 && !ignored.includes(host)) {
      return {
        severity: "warning",
        kind: "setid",
        jail,
        path: host,
        message: `${host} is executable for ${who} and ${what}!!`,
      };
    }
  }
  return undefined;
}

/**
 * A set-uid or set-gid file owned by someone other than root: whoever runs it gains its
 * owner's or group's rights, and the owner may rewrite it at will. The jailkit tools never
 * write one: copies keep set-id bits only with -s or paths_w_setuid, and the host programs
 * that have them belong to root.
 */
export function foreignSetidFinding(
  jail: string,
  host: string,
  info: EntryInfo,
): Finding | undefined {
  if (info.kind !== "file" || (info.mode & 0o6000) === 0 || info.uid === 0) return undefined;
  const bits = (info.mode & 0o4000) !== 0 ? "setuid" : "setgid";
  return {
    severity: "warning",
    kind: "setid",
    jail,
    path: host,
    message: `${host} is ${bits} and owned by uid ${info.uid}, not root!`,
  };
}

// ---------------------------------------------------------------------------------------------
// Users

/** Accounts below this uid are system accounts (Debian's UID_MIN). */
export const FIRST_USER_UID = 1000;
/** Accounts above this uid are system accounts too (Debian's UID_MAX; nobody is 65534). */
export const LAST_USER_UID = 60000;

/** Root and the accounts of the host system, which jk_init copies unchanged. */
function isSystemUid(uid: number): boolean {
  return uid < FIRST_USER_UID || uid > LAST_USER_UID;
}

/**
 * JAIL/etc/passwd against the host (man/jk_check.8; docs/design.md, Compatibility contract): every
 * user must exist on the host with the same uid and gid, and a regular user's host home must be
 * `JAIL/./HOME`. Root and system accounts copied unchanged from the host (uid below 1000 or above
 * 60000, same uid and gid) are skipped.
 */
export function jailUserFindings(
  jail: string,
  jailPasswd: PasswdFile,
  hostPasswd: PasswdFile,
  note: (text: string) => void = () => {},
): Finding[] {
  const findings: Finding[] = [];
  const err = (user: string, message: string) =>
    findings.push({ severity: "error", kind: "jail-user", jail, user, message });
  for (const p of jailPasswd.problems) {
    findings.push({ severity: "warning", kind: "jail-user", jail, message: p.message });
  }
  for (const entry of jailPasswd.entries) {
    if (jailPasswd.byName(entry.name) !== entry) continue; // duplicates are reported above
    if (entry.name === "root") {
      note(`ignoring entry for user root in ${jailPasswd.path}`);
      continue;
    }
    note(`comparing jailed user ${entry.name} with the real user`);
    const host = hostPasswd.byName(entry.name);
    if (!host) {
      err(entry.name, `user ${entry.name} in jail ${jail} does not exist on the real system`);
      continue;
    }
    if (host.uid !== entry.uid || host.gid !== entry.gid) {
      err(entry.name, `user ${entry.name} is changed in jail ${jail}`);
      continue;
    }
    if (isSystemUid(entry.uid)) {
      note(`${entry.name} is a system account copied from the host; home not compared`);
      continue;
    }
    const marked = parseJailHome(host.home);
    if (
      !marked || stripTrailingSlash(posix.normalize(marked.jail)) !== jail ||
      stripTrailingSlash(marked.home) !== stripTrailingSlash(entry.home)
    ) {
      err(
        entry.name,
        `the real homedir and jail homedir for user ${entry.name} do not correspond in jail ` +
          `${jail} (host ${host.home}, jail ${entry.home}, expected ${jail}/.${entry.home})`,
      );
    }
  }
  return findings;
}

/**
 * The login shells that are jk_chrootsh: this installation's (named in messages), jailkit's
 * /usr/sbin path and its usrmerge alias /sbin.
 */
export function chrootshPaths(own: string = toolPath("jk_chrootsh")): string[] {
  const paths = [own];
  for (const p of ["/usr/sbin/jk_chrootsh", "/sbin/jk_chrootsh"]) {
    if (!paths.includes(p)) paths.push(p);
  }
  return paths;
}

/**
 * Host accounts of one jail (man/jk_check.8; docs/design.md, Compatibility contract): a usable
 * passwd line, an entry of the same name in the jail's passwd, and jk_chrootsh as shell.
 * `jailPasswd` is undefined when the jail has no passwd file and null when it could not be read
 * (already reported, so not repeated here).
 */
export function hostUserFindings(
  jail: string,
  users: readonly JailedHostUser[],
  jailPasswd: PasswdFile | undefined | null,
  shells: readonly string[],
): Finding[] {
  const findings: Finding[] = [];
  for (const u of users) {
    if (u.jail !== jail) continue;
    const err = (message: string) =>
      findings.push({ severity: "error", kind: "host-user", jail, user: u.name, message });
    if (u.problem !== undefined) err(u.problem);
    if (jailPasswd !== null && !jailPasswd?.byName(u.name)) {
      err(`user ${u.name} does not exist in ${jail}/etc/passwd`);
    }
    if (u.shell !== undefined && !shells.includes(u.shell)) {
      err(`user ${u.name} has a /./ but does not have the ${shells[0]} shell (it has ${u.shell})`);
    }
  }
  return findings;
}

/**
 * Users of JAIL/etc/passwd whose shell is not an executable file of the jail (followed as a
 * jailed process follows it): jk_chrootsh cannot start them, or starts whatever someone puts
 * there later. An empty shell is /bin/sh. Root and system accounts (a system uid in the jail
 * or on the host: jk_init copies them with the host's shell) log in to no jail: not reported;
 * one whose uid differs from the host's is reported by jailUserFindings.
 */
export function jailShellFindings(
  jail: string,
  jailPasswd: PasswdFile,
  hostPasswd: PasswdFile,
  fs: Pick<CheckFs, "lstat" | "readLink">,
): Finding[] {
  const findings: Finding[] = [];
  for (const entry of jailPasswd.entries) {
    if (jailPasswd.byName(entry.name) !== entry || isSystemUid(entry.uid)) continue;
    const host = hostPasswd.byName(entry.name)?.uid;
    if (host !== undefined && isSystemUid(host)) continue;
    const shell = entry.shell === "" ? "/bin/sh" : entry.shell;
    const warn = (what: string) =>
      findings.push({
        severity: "warning",
        kind: "jail-user",
        jail,
        user: entry.name,
        message: `the shell ${shell} of user ${entry.name} ${what} in jail ${jail}`,
      });
    if (!shell.startsWith("/")) {
      warn("is not an absolute path");
      continue;
    }
    let info: EntryInfo | undefined;
    try {
      const dest = resolveTarget(fs, jail, "/", shell, { chroot: true, followLast: true });
      if (dest.where !== "inside") {
        warn("is a symlink loop");
        continue;
      }
      info = fs.lstat(dest.path === "/" ? jail : jail + dest.path);
    } catch (e) {
      warn(`cannot be looked up (${errorText(e)})`);
      continue;
    }
    if (info === undefined) warn("does not exist");
    else if (info.kind !== "file" || (info.mode & 0o111) === 0) {
      warn("is not an executable file");
    }
  }
  return findings;
}

/** In-jail homes whose files are the users' own, never compared with the host. */
export function userHomes(
  jail: string,
  jailPasswd: PasswdFile | undefined,
  hostUsers: readonly JailedHostUser[],
): string[] {
  const homes = new Set<string>();
  const add = (home: string | undefined) => {
    if (home === undefined || !home.startsWith("/")) return;
    const h = stripTrailingSlash(posix.normalize(home));
    if (h !== "/") homes.add(h);
  };
  for (const e of jailPasswd?.entries ?? []) if (!isSystemUid(e.uid)) add(e.home);
  for (const u of hostUsers) if (u.jail === jail) add(u.inJailHome);
  return [...homes];
}

// ---------------------------------------------------------------------------------------------
// The file walk

/** The file system as the checks see it. Paths are host paths. */
export interface CheckFs {
  /** lstat; undefined when the path does not exist. */
  lstat(path: string): EntryInfo | undefined;
  /** stat (follows symlinks); undefined when the path does not exist. */
  stat(path: string): EntryInfo | undefined;
  /** Entry names of a directory. */
  readDir(path: string): string[];
  /** Link text of a symlink; throws when `path` is not one. */
  readLink(path: string): string;
  /**
   * Whether two regular files of equal size hold the same bytes. `jailPath` is opened without
   * following a symlink and must still be the file `jailInfo` describes.
   */
  sameContent(jailPath: string, jailInfo: EntryInfo, hostPath: string): boolean;
  /** File system type of a mount point, undefined when `path` is not one. */
  mountType(path: string): string | undefined;
}

/** Kernel file systems with no files of their own to audit (and, for proc, endless ones). */
export const PSEUDO_FS: ReadonlySet<string> = new Set([
  "proc",
  "sysfs",
  "devpts",
  "cgroup",
  "cgroup2",
  "debugfs",
  "tracefs",
  "securityfs",
  "pstore",
  "bpf",
  "mqueue",
  "hugetlbfs",
  "configfs",
  "fusectl",
  "binfmt_misc",
  "efivarfs",
  "autofs",
]);

/** Deeper than any real jail; the bound keeps a hostile tree from exhausting the stack. */
export const MAX_DEPTH = 256;

/** What `walkJail` walks and where its findings go. */
export interface WalkOptions {
  /** The normalised jail directory. */
  readonly jail: string;
  /** The jail's jk_check.ini settings (NO_SETTINGS without a section). */
  readonly settings: CheckSettings;
  /** In-jail paths (besides NOT_COMPARED) whose files are not compared: the users' homes. */
  readonly homes: readonly string[];
  /**
   * The message of the jail safety failure, if any: the directory it names is not warned
   * about a second time.
   */
  readonly unsafeMessage?: string;
  /**
   * Host paths of the sockets jk_socketd makes in this jail (its configuration), besides
   * JAIL/dev/log: not reported as sockets no jailkit tool made.
   */
  readonly sockets?: readonly string[];
  /** In-jail mount points of a thin jail (jk_thin.ini): not walked, not reported. */
  readonly mountPoints?: readonly string[];
  /** Receives each finding as soon as it is made. */
  readonly report: (f: Finding) => void;
  /** Receives progress lines (shown with -v). */
  readonly note: (text: string) => void;
}

/** Most symlinks one resolution follows, as the kernel's limit. */
const MAX_LINKS = 40;

/** Where a symlink's target leads, as `resolveTarget` finds it. */
export type Destination =
  | { readonly where: "inside"; readonly path: string }
  /** Its own text leads out of the jail (absolute, or `..` past the jail root). */
  | { readonly where: "outside" }
  /** Another symlink on the way leads out on its own (and is judged on its own). */
  | { readonly where: "via-link" }
  /** More than MAX_LINKS symlinks: nobody can follow it. */
  | { readonly where: "loop" };

/**
 * Follows `text`, read from a symlink in the in-jail directory `from`, the way a process does.
 * With `chroot`, as a process jailed in `jail`: absolute targets start at the jail, `..` stops
 * at its root. Otherwise as a process on the host: an absolute target outside the jail's path,
 * or a `..` past its root, leaves the jail. Symlinks on the way are followed (in the jail:
 * `fs` never follows one), the last component only with `followLast`; a missing component is
 * taken literally, as if someone could create it. Each component remembers which link's text
 * it came from, so a walk that leaves through another link is told apart from one that leaves
 * by `text` itself: the same link is judged where the walk finds it.
 */
export function resolveTarget(
  fs: Pick<CheckFs, "lstat" | "readLink">,
  jail: string,
  from: string,
  text: string,
  opts: { readonly chroot: boolean; readonly followLast: boolean },
): Destination {
  const done = from === "/" ? [] : from.slice(1).split("/");
  const pending: [name: string, origin: number][] = [];
  let links = 0;
  /** Queues a link text's components; false when an absolute text leaves the jail. */
  const push = (t: string, origin: number): boolean => {
    let rest = t;
    if (t.startsWith("/")) {
      done.length = 0;
      if (!opts.chroot) {
        if (t !== jail && !t.startsWith(`${jail}/`)) return false;
        rest = t.slice(jail.length);
      }
    }
    const names = rest.split("/").filter((c) => c !== "" && c !== ".");
    pending.unshift(...names.map((n): [string, number] => [n, origin]));
    return true;
  };
  if (!push(text, 0)) return { where: "outside" };
  while (pending.length > 0) {
    const [name, origin] = pending.shift()!;
    if (name === "..") {
      if (done.length > 0) done.pop();
      else if (!opts.chroot) return { where: origin === 0 ? "outside" : "via-link" };
      continue;
    }
    done.push(name);
    if (pending.length === 0 && !opts.followLast) break;
    const host = `${jail}/${done.join("/")}`;
    if (fs.lstat(host)?.kind !== "symlink") continue;
    if (++links > MAX_LINKS) return { where: "loop" };
    const target = fs.readLink(host);
    done.pop();
    if (!push(target, links)) return { where: "via-link" };
  }
  return { where: "inside", path: `/${done.join("/")}` };
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/**
 * Walks the jail (never through a symlink, never into a pseudo file system), checking every
 * directory's permissions and every regular file's set-id bits, and comparing files and
 * symlinks with the host's at the same path. Entries are visited in name order.
 *
 * @example The walk on a file system given as data
 * ```ts
 * import { strict as assert } from "node:assert";
 * import {
 *   type CheckFinding,
 *   type CheckFs,
 *   type EntryInfo,
 *   entryInfo,
 *   NO_SETTINGS,
 *   walkJail,
 * } from "../../mod.ts";
 *
 * const template = entryInfo(Deno.lstatSync("/")); // a real directory's facts to start from
 * const dir = (mode: number, ino: number): EntryInfo => ({ ...template, mode, uid: 0, gid: 0, ino });
 * const tree = new Map([["/srv/jail", dir(0o755, 2)], ["/srv/jail/upload", dir(0o777, 3)]]);
 * const fs: CheckFs = {
 *   lstat: (path) => tree.get(path),
 *   stat: (path) => tree.get(path),
 *   readDir: (path) =>
 *     [...tree.keys()].filter((p) => p.startsWith(`${path}/`))
 *       .map((p) => p.slice(path.length + 1)).filter((name) => !name.includes("/")),
 *   readLink: (path) => {
 *     throw new Error(`${path} is not a symlink`);
 *   },
 *   sameContent: () => true,
 *   mountType: () => undefined,
 * };
 * const findings: CheckFinding[] = [];
 * walkJail(fs, {
 *   jail: "/srv/jail",
 *   settings: NO_SETTINGS,
 *   homes: [],
 *   report: (f) => findings.push(f),
 *   note: () => {},
 * });
 * assert.deepEqual(findings.map((f) => [f.kind, f.path]), [["writable-dir", "/srv/jail/upload"]]);
 * ```
 */
export function walkJail(fs: CheckFs, o: WalkOptions): void {
  const { jail, settings } = o;
  const notCompared = [...NOT_COMPARED, ...o.homes];
  const hostOf = (inJail: string) => inJail === "/" ? jail : jail + inJail;
  const unreadable = (path: string, message: string) =>
    o.report({ severity: "error", kind: "unreadable", jail, path, message });

  let root: EntryInfo | undefined;
  try {
    root = fs.lstat(jail);
  } catch (e) {
    unreadable(jail, `cannot lstat() ${jail}: ${errorText(e)}`);
    return;
  }
  if (root === undefined) {
    o.report({
      severity: "warning",
      kind: "missing-jail",
      jail,
      path: jail,
      message: `cannot check files in ${jail}, it does not exist`,
    });
    return;
  }
  if (root.kind !== "dir") {
    // The safety check has said why; a symlinked jail is never followed.
    o.note(`not walking ${jail}: it is not a directory`);
    return;
  }

  const sockets = new Set([hostOf("/dev/log"), ...(o.sockets ?? [])]);
  /** Files with more than one link, by inode, to count the links found in the jail. */
  const linked = new Map<string, { nlink: number; paths: string[]; foreign: string[] }>();
  /**
   * Jail-only files with several links, reported when the links are counted: one linked to a
   * file outside the jail is reported as that, once.
   */
  const jailOnlyLinked: { inJail: string; key: string; scope: JailOnlyScope | undefined }[] = [];
  const visited = new Set<string>();
  const visitDir = (
    inJail: string,
    info: EntryInfo,
    depth: number,
    scope: JailOnlyScope | undefined,
  ) => {
    const host = hostOf(inJail);
    const key = `${info.dev}:${info.ino}`;
    if (visited.has(key)) {
      o.note(`ignoring path ${host}: directory already visited (bind mount)`);
      return;
    }
    visited.add(key);
    o.note(`testing directory permissions for ${host}/`);
    const dirFinding = writableDirFinding(jail, inJail, info, settings);
    if (dirFinding && !o.unsafeMessage?.startsWith(`${host} `)) o.report(dirFinding);
    if (depth >= MAX_DEPTH) {
      unreadable(host, `${host} is nested more than ${MAX_DEPTH} levels deep; not descended`);
      return;
    }
    let names: string[];
    try {
      names = fs.readDir(host).sort();
    } catch (e) {
      unreadable(host, `failed to test any files in ${host}/: ${errorText(e)}`);
      return;
    }
    for (const name of names) {
      const childInJail = inJail === "/" ? `/${name}` : `${inJail}/${name}`;
      const child = hostOf(childInJail);
      if (mountPointOf(childInJail, o.mountPoints ?? []) !== undefined) {
        o.note(`ignoring path ${child} (a mount point of this thin jail)`);
        continue;
      }
      if (isUnder(child, settings.ignorePathEverywhere)) {
        o.note(`ignoring path ${child} (ignorepatheverywhere)`);
        continue;
      }
      let ci: EntryInfo | undefined;
      try {
        ci = fs.lstat(child);
      } catch (e) {
        unreadable(child, `cannot lstat() ${child}: ${errorText(e)}`);
        continue;
      }
      if (ci === undefined) {
        // Deno decodes names lossily (each byte that is not UTF-8 becomes U+FFFD), so such a
        // name cannot be looked up again; saying so beats skipping it silently.
        if (name.includes("\ufffd")) {
          o.report({
            severity: "warning",
            kind: "unreadable",
            jail,
            path: child,
            message: `${child} has a name that is not valid UTF-8; it was not inspected`,
          });
        }
        continue; // else removed while we walked
      }
      const local = isUnder(childInJail, notCompared);
      const compare = !local && !isUnder(child, settings.ignorePathOnCompare);
      if (ci.kind === "dir") {
        if (ci.dev !== info.dev) {
          const type = fs.mountType(child);
          if (type !== undefined && PSEUDO_FS.has(type)) {
            o.note(`ignoring path ${child} (${type} file system)`);
            continue;
          }
        }
        let childScope = compare ? scope : undefined;
        if (compare && childScope === undefined && onHost(childInJail) === false) {
          // Reported only once something below it turns out to be jail-only too: jk_init's
          // emptydirs and the parents of homes stay silent.
          childScope = { host: child, inJail: childInJail, reported: false };
        }
        visitDir(childInJail, ci, depth + 1, childScope);
      } else if (ci.kind === "file") {
        if (compare) compareFile(childInJail, ci, scope);
        else o.note(`not comparing ${child} with the host (local to the jail)`);
        o.note(`testing file permissions for ${child}`);
        const f = setidFinding(jail, child, ci, settings) ?? foreignSetidFinding(jail, child, ci);
        if (f) o.report(f);
        if (ci.nlink > 1) countLink(childInJail, ci, local);
      } else if (ci.kind === "symlink") {
        if (compare) compareLink(childInJail, scope);
        else o.note(`not comparing ${child} with the host (local to the jail)`);
      } else if (ci.kind === "char" || ci.kind === "block") {
        checkDevice(childInJail, ci, compare);
      } else if (compare && !sockets.has(child)) {
        const what = ci.kind === "fifo" ? "a FIFO" : "a socket";
        o.report({
          severity: "warning",
          kind: "special",
          jail,
          path: child,
          message: `${child} is ${what}, which no jailkit tool makes there`,
        });
      } else {
        o.note(`ignoring path ${child} (${ci.kind})`);
      }
    }
  };

  /** Whether the host has `inJail` (a symlink counts); undefined when lstat failed. */
  const onHost = (inJail: string): boolean | undefined => {
    try {
      return fs.lstat(inJail) !== undefined;
    } catch (e) {
      unreadable(hostOf(inJail), `cannot lstat() ${inJail}: ${errorText(e)}`);
      return undefined;
    }
  };

  /**
   * An entry the host lacks, in a compared directory: reported itself, or as the topmost
   * jail-only directory above it (once).
   */
  const jailOnly = (inJail: string, scope: JailOnlyScope | undefined) => {
    if (scope?.reported) return;
    const path = scope?.host ?? hostOf(inJail);
    const shown = scope ? `${path}/` : path;
    if (scope) scope.reported = true;
    o.report({
      severity: "warning",
      kind: "jail-only",
      jail,
      path,
      message: `${shown} is only in the jail: ${
        scope?.inJail ?? inJail
      } does not exist on the host`,
    });
  };

  /**
   * A file with several links. A link to the host file of the same path is what jk_init -k
   * and jk_update write (outside the tools' own files and the users' data); the others are
   * judged when the walk has counted every link inside the jail.
   */
  const countLink = (inJail: string, info: EntryInfo, local: boolean) => {
    const key = `${info.dev}:${info.ino}`;
    let entry = linked.get(key);
    if (entry === undefined) {
      entry = { nlink: info.nlink, paths: [], foreign: [] };
      linked.set(key, entry);
    }
    entry.paths.push(hostOf(inJail));
    let host: EntryInfo | undefined;
    try {
      host = local ? undefined : fs.lstat(inJail);
    } catch {
      host = undefined;
    }
    if (host?.dev !== info.dev || host.ino !== info.ino) entry.foreign.push(hostOf(inJail));
  };

  const checkDevice = (inJail: string, info: EntryInfo, compare: boolean) => {
    const a = hostOf(inJail);
    const err = (message: string) =>
      o.report({ severity: "error", kind: "device", jail, path: a, message });
    if (!isUnder(inJail, ["/dev"])) {
      err(`${a} is a ${info.kind} device outside /dev!`);
      return;
    }
    if (!compare) return;
    let host: EntryInfo | undefined;
    try {
      host = fs.lstat(inJail);
    } catch (e) {
      unreadable(a, `cannot lstat() ${inJail}: ${errorText(e)}`);
      return;
    }
    o.note(`comparing device ${a} and ${inJail}`);
    if (host === undefined) {
      err(`${a} is a ${info.kind} device, but ${inJail} does not exist on the host!`);
    } else if (host.kind !== info.kind || host.rdev !== info.rdev) {
      err(`${a} is not the same device as ${inJail}!`);
    }
  };

  const compareFile = (inJail: string, info: EntryInfo, scope: JailOnlyScope | undefined) => {
    const a = hostOf(inJail);
    const b = inJail;
    let host: EntryInfo | undefined;
    try {
      host = fs.stat(b);
    } catch (e) {
      unreadable(a, `cannot read ${a} or ${b}: ${errorText(e)}`);
      return;
    }
    if (host === undefined) {
      // A dangling host symlink is not a regular file either.
      const exists = onHost(b);
      if (exists === undefined) return;
      if (!exists) {
        if (info.nlink > 1) {
          jailOnlyLinked.push({ inJail, key: `${info.dev}:${info.ino}`, scope });
        } else jailOnly(inJail, scope);
        return;
      }
    }
    o.note(`comparing ${a} and ${b}`);
    if (host?.kind !== "file") {
      o.report({
        severity: "error",
        kind: "content",
        jail,
        path: a,
        message: `${a} is a regular file but ${b} is not!`,
      });
      return;
    }
    if (host.dev === info.dev && host.ino === info.ino) return; // a hard link (jk_init -k)
    if (host.size !== info.size) {
      o.report({
        severity: "error",
        kind: "content",
        jail,
        path: a,
        message: `${a} and ${b} have a different size!`,
      });
      return;
    }
    let same: boolean;
    try {
      same = fs.sameContent(a, info, b);
    } catch (e) {
      unreadable(a, `cannot read ${a} or ${b}: ${errorText(e)}`);
      return;
    }
    if (!same) {
      o.report({
        severity: "error",
        kind: "content",
        jail,
        path: a,
        message: `${a} and ${b} are not the same!`,
      });
    }
  };

  const compareLink = (inJail: string, scope: JailOnlyScope | undefined) => {
    const a = hostOf(inJail);
    const b = inJail;
    let host: EntryInfo | undefined;
    let ours: string;
    let theirs: string | undefined;
    try {
      host = fs.lstat(b);
      ours = fs.readLink(a);
      if (host?.kind === "symlink") theirs = fs.readLink(b);
    } catch (e) {
      unreadable(a, `cannot read ${a} or ${b}: ${errorText(e)}`);
      return;
    }
    o.note(`comparing ${a} and ${b}`);
    // The host's own link, as jk_cp copies it, leads where the host's does: to the host file
    // the jail's copy mirrors. Any other link is followed from the host to see where it goes.
    if (ours === theirs) return;
    let dest: Destination;
    try {
      dest = resolveTarget(fs, jail, posix.dirname(inJail), ours, {
        chroot: false,
        followLast: false,
      });
    } catch (e) {
      unreadable(a, `cannot follow ${a}: ${errorText(e)}`);
      return;
    }
    if (dest.where === "outside") {
      if (host === undefined && scope) jailOnly(inJail, scope);
      const hostSide = host === undefined
        ? "does not exist"
        : theirs === undefined
        ? "is not a symlink"
        : `is a symlink to ${theirs}`;
      o.report({
        severity: "error",
        kind: "symlink-escape",
        jail,
        path: a,
        message: `symlink ${a} leads out of the jail when followed from the host (to ${ours}; ` +
          `${b} ${hostSide})`,
      });
    } else if (host === undefined) {
      jailOnly(inJail, scope);
    } else if (theirs === undefined) {
      o.report({
        severity: "error",
        kind: "symlink",
        jail,
        path: a,
        message: `${a} and ${b} are not both symlinks!`,
      });
    } else if (ours !== theirs) {
      o.report({
        severity: "error",
        kind: "symlink",
        jail,
        path: a,
        message: `symlinks ${a} and ${b} point to different files! (${ours}, ${theirs})`,
      });
    }
  };

  visitDir("/", root, 0, undefined);

  for (const { inJail, key, scope } of jailOnlyLinked) {
    const entry = linked.get(key);
    if (entry === undefined || entry.nlink <= entry.paths.length) jailOnly(inJail, scope);
  }
  for (const { nlink, paths, foreign } of linked.values()) {
    if (nlink <= paths.length) continue;
    for (const path of foreign) {
      o.report({
        severity: "error",
        kind: "hardlink",
        jail,
        path,
        message: `${path} is a hard link to a file outside the jail (${nlink} links, ` +
          `${paths.length} in the jail)`,
      });
    }
  }
}

/** The topmost directory of the jail that the host lacks, above the entries being walked. */
interface JailOnlyScope {
  readonly host: string;
  readonly inJail: string;
  reported: boolean;
}

// ---------------------------------------------------------------------------------------------
// One jail, start to end

/** Everything `checkJail` needs: the system comes in as data and functions, so tests fake it. */
export interface JailCheckInput {
  /** The normalised jail directory. */
  readonly jail: string;
  /** The jail's jk_check.ini settings (NO_SETTINGS without a section). */
  readonly settings: CheckSettings;
  /** The host passwd file the jail's users are compared with. */
  readonly hostPasswd: PasswdFile;
  /** Host accounts with a `/./` home, whose jail and shell are checked. */
  readonly hostUsers: readonly JailedHostUser[];
  /** Paths that count as jk_chrootsh in a host account's shell field. */
  readonly shells: readonly string[];
  /** The jail's passwd text, undefined when it has none; throws when it cannot be read. */
  readonly readJailPasswd: () => string | undefined;
  /** Throws a JailkitError "unsafe-jail" naming the component at fault. */
  readonly checkSafety: (jail: string) => void;
  /** The file system the walk reads. */
  readonly fs: CheckFs;
  /** Host paths of jk_socketd's configured sockets (see WalkOptions.sockets). */
  readonly sockets?: readonly string[];
  /** The jail's mount points when it is a thin jail (see WalkOptions.mountPoints). */
  readonly mountPoints?: readonly string[];
  /** Receives each finding as soon as it is made. */
  readonly report: (f: Finding) => void;
  /** Receives progress lines (shown with -v). */
  readonly note: (text: string) => void;
}

/** Safety of the path to the jail, the file walk, the jail's users, the host accounts. */
export function checkJail(i: JailCheckInput): void {
  const { jail } = i;
  i.note(`testing jail ${jail}`);
  let unsafeMessage: string | undefined;
  try {
    i.checkSafety(jail);
  } catch (e) {
    if (e instanceof JailkitError) {
      unsafeMessage = e.message;
      i.report({
        severity: "error",
        kind: "unsafe-jail",
        jail,
        message: `jail ${jail} is not safe: ${e.message}`,
      });
    } else {
      i.report({
        severity: "error",
        kind: "unreadable",
        jail,
        message: `cannot check the path to jail ${jail}: ${errorText(e)}`,
      });
    }
  }

  let jailPasswd: PasswdFile | undefined | null;
  try {
    const text = i.readJailPasswd();
    if (text !== undefined) jailPasswd = parsePasswd(text, `${jail}/etc/passwd`);
  } catch (e) {
    jailPasswd = null;
    i.report({
      severity: "error",
      kind: "unreadable",
      jail,
      path: `${jail}/etc/passwd`,
      message: `cannot read ${jail}/etc/passwd: ${errorText(e)}`,
    });
  }

  walkJail(i.fs, {
    jail,
    settings: i.settings,
    homes: userHomes(jail, jailPasswd ?? undefined, i.hostUsers),
    unsafeMessage,
    sockets: i.sockets,
    mountPoints: i.mountPoints,
    report: i.report,
    note: i.note,
  });
  if (jailPasswd) {
    for (const f of jailUserFindings(jail, jailPasswd, i.hostPasswd, i.note)) i.report(f);
    for (const f of jailShellFindings(jail, jailPasswd, i.hostPasswd, i.fs)) i.report(f);
  }
  for (const f of hostUserFindings(jail, i.hostUsers, jailPasswd, i.shells)) i.report(f);
}

// ---------------------------------------------------------------------------------------------
// Production wiring

function lstatInfo(path: string, follow: boolean): EntryInfo | undefined {
  try {
    return entryInfo(follow ? Deno.statSync(path) : Deno.lstatSync(path));
  } catch (e) {
    if (e instanceof Deno.errors.NotFound || e instanceof Deno.errors.NotADirectory) {
      return undefined;
    }
    throw e;
  }
}

/** `\040`-style escapes of /proc/self/mountinfo. */
function unescapeMount(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/** Mount point → file system type, from /proc/self/mountinfo text (last mount wins). */
export function parseMountinfo(text: string): Map<string, string> {
  const mounts = new Map<string, string>();
  for (const line of text.split("\n")) {
    const sep = line.indexOf(" - ");
    if (sep < 0) continue;
    const left = line.slice(0, sep).split(" ");
    const right = line.slice(sep + 3).split(" ");
    if (left.length < 5 || right.length < 1 || right[0] === "") continue;
    mounts.set(unescapeMount(left[4]), right[0]);
  }
  return mounts;
}

/** The real file system; mount types are read once, on first need. */
export function systemCheckFs(): CheckFs {
  let mounts: Map<string, string> | undefined;
  return {
    lstat: (p) => lstatInfo(p, false),
    stat: (p) => lstatInfo(p, true),
    readDir: (p) => [...Deno.readDirSync(p)].map((e) => e.name),
    readLink: (p) => Deno.readLinkSync(p),
    // The host side may be a symlink (jk_check follows the host's links); the jail's never.
    sameContent: (jail, info, host) => sameContent(jail, host, { expectA: info, followB: true }),
    mountType: (p) => {
      if (mounts === undefined) {
        try {
          mounts = parseMountinfo(Deno.readTextFileSync("/proc/self/mountinfo"));
        } catch {
          mounts = new Map();
        }
      }
      return mounts.get(p);
    },
  };
}

/** Largest JAIL/etc/passwd read; real ones are a few KiB. */
const MAX_PASSWD_BYTES = 16 * 1024 * 1024;

/**
 * JAIL/etc/passwd as the jail sees it (symlinks resolved inside the jail, never on the host),
 * opened without following a symlink or blocking; undefined when the jail has none.
 */
export function readJailPasswd(jail: string): string | undefined {
  const view = new JailView(jail);
  const inJail = view.resolve("/etc/passwd", true);
  const host = view.hostPath(inJail);
  let fd: number;
  try {
    fd = openRegular(host).fd;
  } catch (e) {
    if ((e as { code?: string }).code === "ENOENT" || (e as { code?: string }).code === "ENOTDIR") {
      return undefined;
    }
    throw e;
  }
  try {
    const bytes = readBounded(fd, MAX_PASSWD_BYTES);
    if (bytes === undefined) {
      throw new JailkitError("io", `${host} is larger than ${MAX_PASSWD_BYTES} bytes`);
    }
    return new TextDecoder().decode(bytes);
  } finally {
    closeFd(fd);
  }
}
