/**
 * jk_lsh's decisions (man/jk_lsh.8): who is calling, which ini section applies, which program runs
 * with which arguments, umask and environment — or why nothing runs, with jailkit's exit code.
 * Nothing here touches the system: the caller passes the passwd/group files, a way to load the
 * config, stat/realpath and the word expander (glibc wordexp in production), and carries out
 * the returned plan.
 *
 * Kept from jailkit 2.23: exit codes 1–7 and 255, the order of the checks, section choice,
 * `-c` as the second-to-last argument, splitting on single spaces without expansion, word 0
 * resolved through `paths` and compared exactly with `executables`.
 *
 * Deliberately different (each one closes a trap; all listed in man/jk_lsh.8):
 * - an absent `umask` keeps the inherited umask (jailkit forced 000);
 * - an empty or blank command, control characters (tab included), text that was not valid
 *   UTF-8 and absurdly long commands are refused with exit 4 (jailkit crashed on an empty one);
 * - `executables` missing is always exit 5 (jailkit gave 4 when another section followed);
 * - only absolute `executables` and `paths` entries count: a relative one would let a program
 *   the user uploaded to the home directory run;
 * - a relative command containing `/` is never searched in `paths` (like execvp);
 * - `environment` items need exactly one `=` and a shell-identifier name; `LD_*` is refused;
 * - inherited variables that make an allowed program load or run other code (`LD_*`,
 *   `GCONV_PATH`, `BASH_ENV`, `PERL5OPT`, `GIT_*` but `GIT_PROTOCOL`, `RSYNC_*`…) are removed;
 * - rsync, scp, sftp-server, git, cvs and svnserve only get the arguments their clients send
 *   in server mode (RULES below); `allow_unsafe_options` / `allow_extra_options` lift that;
 *   an extra option is read with the arity its program gives it, and one the program does
 *   not have is a config error; sftp-server's `-u` (umask) needs allowing;
 * - git and rsync run without the configuration the user can write (RULE_ENVIRONMENT):
 *   a ~/.gitconfig hook or a ~/.popt alias would otherwise run past the argument checks.
 */
import { JailkitError } from "../core/errors.ts";
import {
  iniBool,
  type IniFile,
  iniList,
  iniOctal,
  type IniSection,
  selectUserSection,
} from "../config/ini.ts";
import type { GroupFile, PasswdFile } from "../config/passwd.ts";
import type { LogPriority } from "../../ffi/libc.ts";

/** The config as seen from inside the jail; never chosen by the caller. */
export const LSH_CONFIG = "/etc/jailkit/jk_lsh.ini";

/** What `jk_lsh --help` prints (man/jk_lsh.8, SYNOPSIS). */
export const USAGE = `Usage: jk_lsh -c COMMAND
The restricted shell inside a jail: runs COMMAND only when /etc/jailkit/jk_lsh.ini
allows it for the user. Its messages go to syslog. See jk_lsh(8).`;

/** Longer commands are refused. The kernel caps one argument at 128 KiB anyway. */
export const MAX_COMMAND_CHARS = 131072;
/** More words (after expansion: a glob can produce many) are refused. */
export const MAX_WORDS = 10000;
/** Commands are cut to this many characters in log lines. */
const LOG_COMMAND_CHARS = 400;

/** syslog priority of a line jk_lsh logs. */
export type { LogPriority };

/** One line for syslog, in the order it must be logged. */
export interface LogEntry {
  /** How urgent the line is; refusals are `warning` or `err`. */
  readonly priority: LogPriority;
  /** What happened, naming the user and, for commands, what they tried. */
  readonly message: string;
}

/** What jk_lsh executes once a command is allowed. */
export interface ExecPlan {
  /** Absolute path of the program; also argv[0], as jailkit did. */
  readonly path: string;
  /** The program's arguments, argv[0] included. */
  readonly argv: readonly string[];
  /** The complete environment of the program. */
  readonly env: Readonly<Record<string, string>>;
  /** Undefined: keep the inherited umask. */
  readonly umask?: number;
}

/** A command jk_lsh refuses, with what to log and print. */
export interface LshRefusal {
  /** jailkit's exit code for the reason (man/jk_lsh.8, EXIT STATUS). */
  readonly exitCode: number;
  /** Priority of `logMessage`. */
  readonly logPriority: LogPriority;
  /** The reason in full, for the admin (who, what, which rule). */
  readonly logMessage: string;
  /** The one short line jk_lsh may print on stderr; never names config details. */
  readonly userMessage: string;
  /** Logged before logMessage. */
  readonly logs: readonly LogEntry[];
}

/** A command jk_lsh allows. */
export interface LshExec {
  /** What to execute. */
  readonly exec: ExecPlan;
  /** Logged in order before the exec (the last one is "executing …"). */
  readonly logs: readonly LogEntry[];
}

/** The outcome of `decideLsh`; tell the two apart with `isRefusal`. */
export type LshDecision = LshExec | LshRefusal;

/** True when jk_lsh must not run anything (narrows the union). */
export function isRefusal(d: LshDecision | LshUser): d is LshRefusal {
  return "exitCode" in d;
}

/** What the decision needs from the file system (stat and realpath follow symlinks). */
export interface LshFs {
  /** Whether `path` (symlinks followed) is a regular file: executables must be. */
  isRegularFile(path: string): boolean;
  /**
   * The canonical path, undefined when it does not resolve: a renamed or symlinked program is
   * still held to the rule of the program it is.
   */
  realPath(path: string): string | undefined;
}

/**
 * Shell word expansion without command substitution (glibc wordexp + WRDE_NOCMD), seeing `env`
 * as its environment. Throws on refusal; an error's string `code` (WRDE_BADCHAR…) is logged.
 */
export type Expander = (words: string, env: Readonly<Record<string, string>>) => string[];

/** The calling user as the jail's own passwd and group files name them. */
export interface LshUser {
  /** Login name, matched against `[name]` sections. */
  readonly name: string;
  /** Real uid, shown in log lines. */
  readonly uid: number;
  /** Name of the real primary group. */
  readonly group: string;
}

function refuse(
  exitCode: number,
  logPriority: LogPriority,
  logMessage: string,
  userMessage: string,
  logs: readonly LogEntry[] = [],
): LshRefusal {
  return { exitCode, logPriority, logMessage, userMessage, logs };
}

/**
 * Log text with control characters shown as \xNN and long text cut, so a line stays one line.
 * Only the part that is shown is escaped: a refused command may be megabytes long.
 */
export function logText(s: string): string {
  // deno-lint-ignore no-control-regex
  const shown = s.slice(0, LOG_COMMAND_CHARS + 1).replace(/[\x00-\x1f\x7f-\x9f]/g, (c) => {
    return `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`;
  });
  return shown.length <= LOG_COMMAND_CHARS
    ? shown
    : `${shown.slice(0, LOG_COMMAND_CHARS)}… (${s.length} characters)`;
}

// ---------------------------------------------------------------------------------------------
// Step 1: the caller (exit 2 / 3)

/**
 * The user as jailkit finds it: `$USER` when set and non-empty (it must name the real uid),
 * else the passwd entry of the real uid; the group is the real gid's name. The files are the
 * jail's own, parsed directly (undefined: could not be read).
 */
export function identifyUser(input: {
  passwd: PasswdFile | undefined;
  groups: GroupFile | undefined;
  envUser: string | undefined;
  uid: number;
  gid: number;
}): LshUser | LshRefusal {
  const { passwd, groups, envUser, uid, gid } = input;
  const unknown = "jk_lsh: unknown user";
  if (!passwd) return refuse(2, "err", `cannot read /etc/passwd to find uid ${uid}`, unknown);
  let name: string;
  if (envUser !== undefined && envUser !== "") {
    const entry = passwd.byName(envUser);
    if (!entry) {
      return refuse(
        2,
        "err",
        `user "${logText(envUser)}" from $USER is not in /etc/passwd`,
        unknown,
      );
    }
    if (entry.uid !== uid) {
      return refuse(
        2,
        "err",
        `$USER is "${logText(envUser)}" (uid ${entry.uid}) but jk_lsh runs as uid ${uid}`,
        unknown,
      );
    }
    name = entry.name;
  } else {
    const entry = passwd.byUid(uid);
    if (!entry) return refuse(2, "err", `no user with uid ${uid} in /etc/passwd`, unknown);
    name = entry.name;
  }
  const group = groups?.byGid(gid)?.name;
  if (!group) {
    return refuse(
      3,
      "err",
      `no group with gid ${gid} in /etc/group (user ${name}, uid ${uid})`,
      "jk_lsh: unknown group",
    );
  }
  return { name, uid, group };
}

// ---------------------------------------------------------------------------------------------
// The section's settings

/** The per-program argument rules (table in man/jk_lsh.8). */
export const RULE_NAMES = ["rsync", "scp", "sftp-server", "git", "cvs", "svnserve"] as const;
export type RuleName = (typeof RULE_NAMES)[number];

/** Which rule guards a program, by the basename it runs under. */
const RULE_OF_BASENAME: Readonly<Record<string, RuleName>> = {
  "rsync": "rsync",
  "scp": "scp",
  "sftp-server": "sftp-server",
  "git": "git",
  "git-upload-pack": "git",
  "git-receive-pack": "git",
  "git-upload-archive": "git",
  "git-shell": "git",
  "cvs": "cvs",
  "svnserve": "svnserve",
};

/** Whether an option stands alone or takes a value. */
export type Arity = "flag" | "value";

/**
 * Options an admin added to a rule with allow_extra_options, each with the arity the program
 * gives it: an option read as a flag while the program takes a value would make its value look
 * like an operand.
 */
export interface ExtraOptions {
  /** rsync long options by name (without `--`). */
  readonly long: ReadonlyMap<string, Arity>;
  /** Short options without a value. */
  readonly flags: ReadonlySet<string>;
  /** Short options taking a value: the rest of the word, or the next word. */
  readonly withArg: ReadonlySet<string>;
}

/** Every option of rsync 3.x that takes a value (rsync --help, plus daemon options). */
const RSYNC_ALL_VALUE_OPTIONS = new Set([
  "address",
  "backup-dir",
  "block-size",
  "bwlimit",
  "cc",
  "checksum-choice",
  "checksum-seed",
  "chmod",
  "chown",
  "compare-dest",
  "compress-choice",
  "compress-level",
  "compress-threads",
  "config",
  "confine-root",
  "contimeout",
  "copy-as",
  "copy-dest",
  "debug",
  "dparam",
  "early-input",
  "exclude",
  "exclude-from",
  "files-from",
  "filter",
  "groupmap",
  "iconv",
  "include",
  "include-from",
  "info",
  "link-dest",
  "log-file",
  "log-file-format",
  "log-format",
  "max-alloc",
  "max-delete",
  "max-size",
  "min-size",
  "modify-window",
  "only-write-batch",
  "out-format",
  "outbuf",
  "partial-dir",
  "password-file",
  "port",
  "protocol",
  "read-batch",
  "remote-option",
  "rsh",
  "rsync-path",
  "skip-compress",
  "sockopts",
  "stderr",
  "stop-after",
  "stop-at",
  "suffix",
  "temp-dir",
  "timeout",
  "usermap",
  "write-batch",
  "zc",
  "zl",
  "zt",
]);

/** Every option of rsync 3.x that stands alone; `--no-NAME` of each is one too. */
const RSYNC_ALL_FLAG_OPTIONS = new Set([
  "8-bit-output",
  "acls",
  "append",
  "append-verify",
  "archive",
  "atimes",
  "backup",
  "blocking-io",
  "checksum",
  "compress",
  "copy-devices",
  "copy-dirlinks",
  "copy-links",
  "copy-unsafe-links",
  "crtimes",
  "cvs-exclude",
  "daemon",
  "del",
  "delay-updates",
  "delete",
  "delete-after",
  "delete-before",
  "delete-delay",
  "delete-during",
  "delete-excluded",
  "delete-missing-args",
  "detach",
  "devices",
  "dirs",
  "drop-D",
  "dry-run",
  "executability",
  "existing",
  "fake-super",
  "force",
  "from0",
  "fsync",
  "fuzzy",
  "group",
  "hard-links",
  "help",
  "human-readable",
  "i-r",
  "ignore-errors",
  "ignore-existing",
  "ignore-missing-args",
  "ignore-non-existing",
  "ignore-times",
  "implied-dirs",
  "inc-recursive",
  "inplace",
  "insecure-links",
  "ipv4",
  "ipv6",
  "itemize-changes",
  "keep-dirlinks",
  "links",
  "list-only",
  "mkpath",
  "motd",
  "msgs2stderr",
  "munge-links",
  "new-compress",
  "numeric-ids",
  "old-args",
  "old-compress",
  "old-d",
  "old-dirs",
  "omit-dir-times",
  "omit-link-times",
  "one-file-system",
  "open-noatime",
  "owner",
  "partial",
  "perms",
  "preallocate",
  "progress",
  "protect-args",
  "prune-empty-dirs",
  "quiet",
  "recursive",
  "relative",
  "remove-sent-files",
  "remove-source-files",
  "safe-links",
  "secluded-args",
  "sender",
  "server",
  "size-only",
  "sparse",
  "specials",
  "stats",
  "super",
  "times",
  "trust-sender",
  "update",
  "use-qsort",
  "verbose",
  "version",
  "whole-file",
  "write-devices",
  "xattrs",
]);

/** rsync's single-letter options that take a value, and those that stand alone. */
const RSYNC_SHORT_VALUES = "BeTfM@";
const RSYNC_SHORT_FLAGS = "vqcarRbudlLkKHpEAXDtUNOJSnWxyzCF0s8hPi46V";

/** The getopt letters of OpenSSH 9 scp and sftp-server: flags, and those taking a value. */
const GETOPT_LETTERS: Readonly<Record<"scp" | "sftp-server", { flags: string; values: string }>> = {
  "scp": { flags: "12346ABCTdfOpqRrstv", values: "DFJPSciloX" },
  "sftp-server": { flags: "ehR", values: "dflPpuQ" },
};

/** rsync's arity of `--name`, or undefined when rsync has no such option. */
function rsyncLongArity(name: string): Arity | undefined {
  if (RSYNC_ALL_VALUE_OPTIONS.has(name)) return "value";
  if (RSYNC_ALL_FLAG_OPTIONS.has(name)) return "flag";
  const negated = name.startsWith("no-") ? name.slice(3) : undefined;
  if (
    negated !== undefined &&
    (RSYNC_ALL_FLAG_OPTIONS.has(negated) ||
      (negated.length === 1 && RSYNC_SHORT_FLAGS.includes(negated)) || negated === "W")
  ) {
    return "flag";
  }
  return undefined;
}

/** The arity of single-letter option `c` of `rule`, or undefined when it has no such option. */
function shortArity(rule: "rsync" | "scp" | "sftp-server", c: string): Arity | undefined {
  const { flags, values } = rule === "rsync"
    ? { flags: RSYNC_SHORT_FLAGS, values: RSYNC_SHORT_VALUES }
    : GETOPT_LETTERS[rule];
  if (values.includes(c)) return "value";
  if (flags.includes(c)) return "flag";
  return undefined;
}

export interface LshSettings {
  readonly section: string;
  /** Undefined when the key is absent or empty (exit 5). Only absolute entries. */
  readonly executables: readonly string[] | undefined;
  readonly paths: readonly string[];
  readonly allowWordExpansion: boolean;
  readonly umask: number | undefined;
  readonly environment: Readonly<Record<string, string>>;
  readonly unsafe: ReadonlySet<RuleName>;
  readonly extra: ReadonlyMap<RuleName, ExtraOptions>;
}

const KNOWN_KEYS = new Set([
  "executables",
  "paths",
  "allow_word_expansion",
  "umask",
  "environment",
  "allow_unsafe_options",
  "allow_extra_options",
]);

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

function isRuleName(s: string): s is RuleName {
  return (RULE_NAMES as readonly string[]).includes(s);
}

function configFault(section: IniSection, key: string, message: string): JailkitError {
  const line = section.own(key)?.line ?? section.line;
  return new JailkitError(
    "config",
    `${section.path}:${line}: ${key} in [${section.name}]: ${message}`,
  );
}

/**
 * Reads jk_lsh's keys from the chosen section. Throws a "config" JailkitError (exit 1) for a
 * value that cannot mean anything safe (bad umask, unknown rule names); legacy values jailkit
 * ignored (bad environment items, relative paths) only produce warnings.
 */
export function readLshSettings(
  section: IniSection,
): { settings: LshSettings; warnings: LogEntry[] } {
  const warnings: LogEntry[] = [];
  const where = `${section.path} [${section.name}]`;
  for (const e of section.entries) {
    if (!KNOWN_KEYS.has(e.key)) {
      warnings.push({
        priority: "warning",
        message: `${section.path}:${e.line}: unknown key "${e.key}" ignored (keys must be ` +
          `spelled exactly, e.g. "executables", not "executable")`,
      });
    }
  }

  const absolute = (key: string): string[] =>
    iniList(section, key).filter((item) => {
      if (item.startsWith("/")) return true;
      warnings.push({
        priority: "warning",
        message: `${where}: ${key} entry "${item}" ignored: it must be an absolute path`,
      });
      return false;
    });
  // jailkit's reader answered with the value's length, so an empty value was no key (exit 5).
  const executables = (section.own("executables")?.value ?? "") === ""
    ? undefined
    : absolute("executables");
  const paths = absolute("paths");

  const umask = iniOctal(section, "umask");
  if (umask !== undefined && umask > 0o777) {
    throw configFault(section, "umask", `${umask.toString(8)} is not a umask (000 to 777)`);
  }

  const environment: Record<string, string> = {};
  for (const item of iniList(section, "environment")) {
    const parts = item.split("=");
    const key = parts[0].trim();
    let problem: string | undefined;
    if (parts.length !== 2) problem = "it must be KEY=VALUE with exactly one =";
    else if (!IDENTIFIER.test(key)) problem = `"${key}" is not a variable name`;
    else if (key.startsWith("LD_")) problem = "LD_* variables make every program load other code";
    if (problem) {
      warnings.push({
        priority: "warning",
        message: `${where}: environment item "${item}" ignored: ${problem}`,
      });
      continue;
    }
    environment[key] = parts[1].trim();
  }

  const unsafe = new Set<RuleName>();
  for (const name of iniList(section, "allow_unsafe_options")) {
    if (!isRuleName(name)) {
      throw configFault(
        section,
        "allow_unsafe_options",
        `unknown program rule "${name}" (known: ${RULE_NAMES.join(", ")})`,
      );
    }
    unsafe.add(name);
  }

  const extra = new Map<
    RuleName,
    { long: Map<string, Arity>; flags: Set<string>; withArg: Set<string> }
  >();
  for (const item of iniList(section, "allow_extra_options")) {
    const colon = item.indexOf(":");
    const rule = colon < 0 ? "" : item.slice(0, colon).trim();
    const option = colon < 0 ? "" : item.slice(colon + 1).trim();
    const bad = (why: string) => configFault(section, "allow_extra_options", `"${item}": ${why}`);
    if (!isRuleName(rule)) {
      throw bad(`expected RULE:OPTION with RULE one of ${RULE_NAMES.join(", ")}`);
    }
    if (rule !== "rsync" && rule !== "scp" && rule !== "sftp-server") {
      throw bad(`${rule} accepts fixed command lines only; use allow_unsafe_options = ${rule}`);
    }
    let set = extra.get(rule);
    if (!set) {
      set = { long: new Map(), flags: new Set(), withArg: new Set() };
      extra.set(rule, set);
    }
    const long = rule === "rsync" ? /^--([A-Za-z0-9][A-Za-z0-9-]*)$/.exec(option) : null;
    const short = /^-([A-Za-z0-9@])(:?)$/.exec(option);
    if (long) {
      const arity = rsyncLongArity(long[1]);
      if (arity === undefined) {
        throw bad(`rsync has no option --${long[1]} (its arity is unknown, so it is refused)`);
      }
      set.long.set(long[1], arity);
    } else if (short) {
      const arity = shortArity(rule, short[1]);
      if (arity === undefined) {
        throw bad(`${rule} has no option -${short[1]} (its arity is unknown, so it is refused)`);
      }
      if (short[2] === ":" && arity === "flag") throw bad(`${rule}'s -${short[1]} takes no value`);
      (arity === "value" ? set.withArg : set.flags).add(short[1]);
    } else {
      throw bad(
        rule === "rsync"
          ? "expected rsync:--long-name or rsync:-X"
          : `expected ${rule}:-X (its value, if it takes one, is read as ${rule} reads it)`,
      );
    }
  }

  return {
    settings: {
      section: section.name,
      executables,
      paths,
      allowWordExpansion: iniBool(section, "allow_word_expansion", false),
      umask,
      environment,
      unsafe,
      extra,
    },
    warnings,
  };
}

// ---------------------------------------------------------------------------------------------
// Inherited environment

/**
 * Inherited variables that make a program load a library, run start-up code or spawn a helper
 * chosen by whoever set them (sshd AcceptEnv, ~/.ssh/environment). The admin can still set any
 * of them but LD_* through `environment`.
 */
const STRIPPED_NAMES = new Set([
  // glibc's list of variables it ignores for setuid programs (loader, iconv, resolver, locale)
  "GCONV_PATH",
  "GETCONF_DIR",
  "GLIBC_TUNABLES",
  "HOSTALIASES",
  "LOCALDOMAIN",
  "LOCPATH",
  "NIS_PATH",
  "NLSPATH",
  "RESOLV_HOST_CONF",
  "RES_OPTIONS",
  // shells
  "BASH_ENV",
  "ENV",
  "SHELLOPTS",
  "BASHOPTS",
  "PS4",
  "IFS",
  // interpreters and pagers
  "PERL5OPT",
  "PERL5LIB",
  "PERLLIB",
  "PERL5DB",
  "RUBYOPT",
  "RUBYLIB",
  "NODE_OPTIONS",
  "NODE_PATH",
  "JAVA_TOOL_OPTIONS",
  "_JAVA_OPTIONS",
  "JDK_JAVA_OPTIONS",
  "LESSOPEN",
  "LESSCLOSE",
  // remote-shell helpers of the allowed programs
  "CVS_RSH",
  "CVS_SERVER",
  "SVN_SSH",
]);
const STRIPPED_PREFIXES = ["LD_", "MALLOC_", "BASH_FUNC_", "PYTHON", "LUA_INIT", "RSYNC_", "GIT_"];
/** GIT_PROTOCOL only selects the wire protocol version; git clients send it (SendEnv). */
const KEPT_NAMES = new Set(["GIT_PROTOCOL"]);

export function isStrippedVariable(name: string): boolean {
  if (KEPT_NAMES.has(name)) return false;
  return STRIPPED_NAMES.has(name) || STRIPPED_PREFIXES.some((p) => name.startsWith(p));
}

// ---------------------------------------------------------------------------------------------
// Per-program argument rules. Each returns why the arguments are refused, or undefined.

type Rule = (args: readonly string[], variant: string, extra: ExtraOptions | undefined) =>
  | string
  | undefined;

const NO_EXTRA: ExtraOptions = { long: new Map(), flags: new Set(), withArg: new Set() };

/** rsync short options a client puts in the server's option bundle (options.c server_options). */
const RSYNC_FLAGS = new Set("vqbulmkKHAXogDtUNpERrdxyCIcnWSzLOJ");

/** Long options rsync clients send to a server, and what follows them. */
const RSYNC_LONG: ReadonlyMap<string, "flag" | "value" | "path"> = new Map([
  ...[
    "sender",
    "delete",
    "delete-before",
    "delete-during",
    "delete-delay",
    "delete-after",
    "delete-excluded",
    "delete-missing-args",
    "ignore-missing-args",
    "force",
    "ignore-errors",
    "partial",
    "delay-updates",
    "inplace",
    "append",
    "existing",
    "ignore-existing",
    "size-only",
    "remove-source-files",
    "remove-sent-files",
    "numeric-ids",
    "super",
    "fake-super",
    "safe-links",
    "copy-unsafe-links",
    "munge-links",
    "no-implied-dirs",
    "mkpath",
    "list-only",
    "use-qsort",
    "old-compress",
    "new-compress",
    "fsync",
    "preallocate",
    "open-noatime",
    "msgs2stderr",
    "no-msgs2stderr",
    "no-specials",
    "no-devices",
    "from0",
  ].map((n) => [n, "flag"] as const),
  ...[
    "timeout",
    "bwlimit",
    "max-delete",
    "modify-window",
    "min-size",
    "max-size",
    "block-size",
    "max-alloc",
    "checksum-seed",
    "checksum-choice",
    "compress-choice",
    "compress-level",
    "skip-compress",
    "iconv",
    "usermap",
    "groupmap",
    "info",
    "debug",
    "log-format",
    "suffix",
  ].map((n) => [n, "value"] as const),
  // Sent as a separate word by current clients (`--temp-dir /t`), or attached.
  ...[
    "backup-dir",
    "partial-dir",
    "temp-dir",
    "compare-dest",
    "copy-dest",
    "link-dest",
    "files-from",
  ]
    .map((n) => [n, "path"] as const),
]);

/** Why the notorious ones are refused, for the log. */
const RSYNC_DANGERS: ReadonlyMap<string, string> = new Map([
  ["rsh", "names a remote-shell command to run"],
  ["e", "names a remote-shell command to run (only the -e.FLAGS capability string is allowed)"],
  ["rsync-path", "names a program to run"],
  ["daemon", "starts daemon mode, whose rsyncd.conf can run programs (pre-xfer exec)"],
  ["config", "reads an rsyncd.conf that can run programs"],
  ["dparam", "sets rsyncd.conf parameters that can run programs"],
  ["remote-option", "passes further options unchecked"],
  ["M", "passes further options unchecked"],
  ["protect-args", "moves the real arguments to stdin where they cannot be checked"],
  ["secluded-args", "moves the real arguments to stdin where they cannot be checked"],
  ["s", "moves the real arguments to stdin where they cannot be checked"],
  ["log-file", "writes a log file wherever the user can write"],
  ["log-file-format", "only matters with --log-file"],
  ["write-devices", "writes into device files"],
  ["copy-devices", "reads device files as if they were regular files"],
  ["write-batch", "writes a batch file"],
  ["only-write-batch", "writes a batch file"],
  ["read-batch", "reads a batch file"],
  ["password-file", "is for daemon clients"],
  ["early-input", "is for daemon clients"],
]);

/** `-e.` + client capabilities, or `-eVER.SUB` + capabilities from a pre-release protocol. */
const RSYNC_CAPABILITIES = /^(\.|[0-9]+\.[0-9]+)[A-Za-z]*$/;

function rsyncDanger(name: string, shown: string): string {
  const why = RSYNC_DANGERS.get(name);
  return why
    ? `rsync option ${shown} is refused: it ${why}`
    : `rsync option ${shown} is not allowed`;
}

const rsyncRule: Rule = (args, _variant, extra = NO_EXTRA) => {
  if (args[0] !== "--server") {
    return "rsync may only run as a server (`rsync --server …`, as rsync clients start it)";
  }
  const positional: string[] = [];
  let optionsEnded = false;
  for (let i = 1; i < args.length; i++) {
    const a = args[i];
    if (optionsEnded || !a.startsWith("-") || a === "-") {
      positional.push(a);
      continue;
    }
    if (a === "--") {
      optionsEnded = true;
      continue;
    }
    if (a.startsWith("--")) {
      const eq = a.indexOf("=");
      const name = eq < 0 ? a.slice(2) : a.slice(2, eq);
      // An added value option is read like the path options: `--name=V` or `--name V`.
      const added = extra.long.get(name);
      const kind = RSYNC_LONG.get(name) ?? (added === "value" ? "path" : added);
      if (kind === undefined) return rsyncDanger(name, `--${name}`);
      if (kind === "flag" && eq >= 0) return `rsync option --${name} takes no value`;
      if (kind === "value" && eq < 0) return `rsync option --${name} needs =VALUE`;
      if (kind === "path" && eq < 0) {
        const next = args[i + 1];
        if (next === undefined || next.startsWith("-")) {
          return `rsync option --${name} needs a value that does not start with "-"`;
        }
        i++;
      }
      continue;
    }
    // A bundle of short options; -e and -B take the rest of the word as their value.
    const bundle = a.slice(1);
    for (let j = 0; j < bundle.length; j++) {
      const c = bundle[j];
      const rest = bundle.slice(j + 1);
      if (c === "e") {
        if (!RSYNC_CAPABILITIES.test(rest)) return rsyncDanger("e", `-e${rest}`);
        break;
      }
      if (c === "B") {
        if (!/^[0-9]+$/.test(rest)) return "rsync option -B needs a number attached (-B2048)";
        break;
      }
      if (extra.withArg.has(c)) {
        // Like rsync: the rest of the bundle, or else the next word, is the value.
        if (rest === "") {
          const next = args[i + 1];
          if (next === undefined || next.startsWith("-")) {
            return `rsync option -${c} needs a value that does not start with "-"`;
          }
          i++;
        }
        break;
      }
      if (!RSYNC_FLAGS.has(c) && !extra.flags.has(c)) return rsyncDanger(c, `-${c}`);
    }
  }
  if (positional[0] !== "." || positional.length < 2) {
    return 'rsync server arguments must end with "." and at least one path';
  }
  return undefined;
};

/**
 * Options in getopt style: `flags` take no argument, `withArg` take the rest of the word or the
 * next word. Returns the words after the options, or a refusal. `--` ends the options; a word
 * starting with "-" after a non-option word is refused (BSD getopt would take it as a path,
 * glibc's as an option: no reading of it is safe).
 */
function getoptWords(
  program: string,
  args: readonly string[],
  flags: string,
  withArg: string,
  extra: ExtraOptions,
  onFlag: (c: string) => string | undefined = () => undefined,
  reasons: ReadonlyMap<string, string> = new Map(),
): string[] | string {
  const operands: string[] = [];
  let optionsEnded = false;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (!optionsEnded && a === "--") {
      optionsEnded = true;
      continue;
    }
    if (optionsEnded || !a.startsWith("-") || a === "-") {
      operands.push(a);
      continue;
    }
    if (operands.length > 0) return `${program}: option ${a} after a non-option argument`;
    for (let j = 1; j < a.length; j++) {
      const c = a[j];
      if (flags.includes(c) || extra.flags.has(c)) {
        const refusal = onFlag(c);
        if (refusal) return refusal;
        continue;
      }
      if (withArg.includes(c) || extra.withArg.has(c)) {
        if (j === a.length - 1) {
          if (args[i + 1] === undefined) return `${program}: option -${c} needs an argument`;
          i++;
        }
        break;
      }
      const why = reasons.get(c);
      return `${program} option -${c} is ${why ? `refused: it ${why}` : "not allowed"}`;
    }
  }
  return operands;
}

/** scp only as the remote end of a legacy-protocol copy: `scp [-v -r -p -d] -t|-f [--] PATH…`. */
const scpRule: Rule = (args, _variant, extra = NO_EXTRA) => {
  let mode: string | undefined;
  const operands = getoptWords("scp", args, "tfrpdv", "", extra, (c) => {
    if (c !== "t" && c !== "f") return undefined;
    if (mode !== undefined && mode !== c) return "scp: both -t and -f given";
    mode = c;
    return undefined;
  });
  if (typeof operands === "string") return operands;
  if (mode === undefined) {
    return "scp may only run as the remote end of a copy (-t or -f); as a client it runs ssh";
  }
  if (operands.length === 0) return "scp: no path given";
  return undefined;
};

/** Why sftp-server options outside the rule are refused, for the log. */
const SFTP_SERVER_DANGERS: ReadonlyMap<string, string> = new Map([
  [
    "u",
    "sets the umask, overriding the umask of jk_lsh.ini (allow_extra_options = sftp-server:-u)",
  ],
]);

/** Every option of OpenSSH 9 sftp-server but -u; it takes no operands. */
const sftpServerRule: Rule = (args, _variant, extra = NO_EXTRA) => {
  const operands = getoptWords(
    "sftp-server",
    args,
    "ehR",
    "dflPpQ",
    extra,
    undefined,
    SFTP_SERVER_DANGERS,
  );
  if (typeof operands === "string") return operands;
  if (operands.length > 0) return "sftp-server takes no arguments besides options";
  return undefined;
};

const GIT_SERVICES = new Set(["upload-pack", "receive-pack", "upload-archive"]);

/**
 * Exactly the command lines git clients send: `git-upload-pack PATH` (and receive-pack,
 * upload-archive), or `git upload-pack PATH` for a client configured that way. The variant is
 * the basename git itself dispatches on (argv[0]).
 */
const gitRule: Rule = (args, variant) => {
  const pathOk = (p: string | undefined) => p !== undefined && !p.startsWith("-");
  if (variant.startsWith("git-") && GIT_SERVICES.has(variant.slice(4))) {
    if (args.length === 1 && pathOk(args[0])) return undefined;
    return `${variant} takes exactly one repository path (not starting with "-")`;
  }
  if (variant === "git-shell") {
    return "git-shell is not allowed (it runs the user's git-shell-commands); " +
      "list git-upload-pack and git-receive-pack instead";
  }
  if (args.length === 2 && GIT_SERVICES.has(args[0]) && pathOk(args[1])) return undefined;
  return "git may only run as git upload-pack|receive-pack|upload-archive with one repository " +
    "path (no -c, --exec-path, --upload-pack or other options)";
};

const cvsRule: Rule = (args) =>
  args.length === 1 && args[0] === "server" ? undefined : 'cvs may only run as "cvs server"';

const svnserveRule: Rule = (args) =>
  args.length === 1 && (args[0] === "-t" || args[0] === "--tunnel")
    ? undefined
    : 'svnserve may only run as "svnserve -t"';

const RULES: Readonly<Record<RuleName, Rule>> = {
  "rsync": rsyncRule,
  "scp": scpRule,
  "sftp-server": sftpServerRule,
  "git": gitRule,
  "cvs": cvsRule,
  "svnserve": svnserveRule,
};

function basename(path: string): string {
  return path.slice(path.lastIndexOf("/") + 1);
}

/**
 * The rule guarding `path`: by the name it runs under (multi-call programs such as git dispatch
 * on it), else by the name of the file it resolves to (a renamed or symlinked rsync is still
 * rsync).
 */
export function ruleFor(
  path: string,
  fs: LshFs,
): { rule: RuleName; variant: string } | undefined {
  const own = basename(path);
  if (Object.hasOwn(RULE_OF_BASENAME, own)) return { rule: RULE_OF_BASENAME[own], variant: own };
  const real = fs.realPath(path);
  const target = real === undefined ? undefined : basename(real);
  if (target !== undefined && Object.hasOwn(RULE_OF_BASENAME, target)) {
    return { rule: RULE_OF_BASENAME[target], variant: own.startsWith("git-") ? own : target };
  }
  return undefined;
}

/**
 * Per rule, the variables that keep the program from reading configuration the user can write
 * (a string sets the variable, null removes it). The section's `environment` key wins over
 * them. What the programs do with files the user can write is in man/jk_lsh.8,
 * "USER-WRITTEN CODE AND CONFIGURATION".
 */
const RULE_ENVIRONMENT: Readonly<Record<RuleName, Readonly<Record<string, string | null>>>> = {
  // git trusts ~/.gitconfig and $XDG_CONFIG_HOME/git/config, where the user can name programs
  // (uploadpack.packObjectsHook, tar.<format>.command). HOME stays: `git-upload-pack '~/r'`
  // needs it. A partial clone's lazy fetch would run the repository's own transport settings.
  "git": {
    GIT_CONFIG_GLOBAL: "/dev/null",
    GIT_CONFIG_NOSYSTEM: "1",
    XDG_CONFIG_HOME: "/dev/null",
    GIT_NO_LAZY_FETCH: "1",
  },
  // rsync reads popt aliases from $HOME/.popt, which could turn checked options into others.
  "rsync": { HOME: null },
  "scp": {},
  "sftp-server": {},
  "cvs": {},
  "svnserve": {},
};

/** Checks `argv` (argv[0] = resolved path) against its program's rule; undefined = allowed. */
export function checkArguments(
  argv: readonly string[],
  settings: Pick<LshSettings, "unsafe" | "extra">,
  fs: LshFs,
): string | undefined {
  const found = ruleFor(argv[0], fs);
  if (!found || settings.unsafe.has(found.rule)) return undefined;
  return RULES[found.rule](argv.slice(1), found.variant, settings.extra.get(found.rule));
}

// ---------------------------------------------------------------------------------------------
// Steps 2–9

/** Why a command string cannot be run at all, or undefined. */
function commandDefect(command: string): string | undefined {
  if (command.length > MAX_COMMAND_CHARS) {
    return `command longer than ${MAX_COMMAND_CHARS} characters`;
  }
  if (command.trim() === "") return "empty command";
  // Tabs too: jailkit never split on them, so a tab only ever glued words together.
  // deno-lint-ignore no-control-regex
  if (/[\x00-\x1f\x7f-\x9f]/.test(command)) return "control character in command";
  // Deno turns bytes that are not UTF-8 into U+FFFD; running that would name other files.
  if (command.includes("\ufffd")) return "command is not valid UTF-8";
  return undefined;
}

/** jailkit without expansion: split on single spaces, no quoting, empty words dropped. */
export function splitOnSpaces(command: string): string[] {
  return command.split(" ").filter((w) => w !== "");
}

/** Step 7: an existing absolute file as is, else the first `paths` entry holding the word. */
export function resolveProgram(
  word: string,
  paths: readonly string[],
  fs: LshFs,
): { path: string; found: boolean } {
  if (word.startsWith("/")) return { path: word, found: fs.isRegularFile(word) };
  if (word.includes("/")) return { path: word, found: false };
  for (const dir of paths) {
    const candidate = dir.endsWith("/") ? dir + word : `${dir}/${word}`;
    if (fs.isRegularFile(candidate)) return { path: candidate, found: true };
  }
  return { path: word, found: false };
}

/** Everything `decideLsh` needs; the system comes in as data and functions. */
export interface LshRequest {
  /** Arguments after argv[0]. */
  readonly args: readonly string[];
  /** Who is calling; selects the ini section. */
  readonly user: LshUser;
  /** Loads LSH_CONFIG; throws a JailkitError ("not-found" when it does not exist). */
  readonly loadConfig: () => IniFile;
  /** The inherited environment. */
  readonly env: Readonly<Record<string, string>>;
  /** The file system as the jailed user sees it. */
  readonly fs: LshFs;
  /** Word expansion for sections with allow_word_expansion; called for nothing else. */
  readonly expand: Expander;
}

/**
 * jk_lsh's whole decision for one `-c COMMAND`: the section for the user, the command's syntax,
 * its program (listed in executables, found in paths) and arguments (the program's rule), the
 * environment and umask — or the refusal with jailkit's exit code.
 *
 * @example An sftp-only group
 * ```ts
 * import { strict as assert } from "node:assert";
 * import { decideLsh, isRefusal, parseIni } from "../../mod.ts";
 *
 * const ini = parseIni(
 *   "[group sftponly]\nexecutables = /usr/lib/openssh/sftp-server\npaths = /usr/lib/openssh\n",
 *   "/etc/jailkit/jk_lsh.ini",
 *   "c",
 * );
 * const ask = (command: string) =>
 *   decideLsh({
 *     args: ["-c", command],
 *     user: { name: "anna", uid: 1001, group: "sftponly" },
 *     loadConfig: () => ini,
 *     env: { HOME: "/home/anna" },
 *     fs: { isRegularFile: (p) => p === "/usr/lib/openssh/sftp-server", realPath: (p) => p },
 *     expand: () => {
 *       throw new Error("allow_word_expansion is off");
 *     },
 *   });
 *
 * const sftp = ask("sftp-server");
 * assert.ok(!isRefusal(sftp));
 * assert.deepEqual(sftp.exec.argv, ["/usr/lib/openssh/sftp-server"]);
 *
 * const shell = ask("/bin/bash -i");
 * assert.ok(isRefusal(shell));
 * assert.equal(shell.exitCode, 4); // not listed in executables
 * assert.equal(shell.userMessage, "jk_lsh: command not allowed");
 * ```
 */
export function decideLsh(req: LshRequest): LshDecision {
  const { args, user, fs } = req;
  const who = `user ${user.name} (${user.uid})`;
  const notAllowed = "jk_lsh: command not allowed";

  if (args.length < 2 || args[args.length - 2] !== "-c") {
    return refuse(
      7,
      "err",
      `${who} tried an interactive session or gave no -c COMMAND ` +
        `(arguments: ${logText(JSON.stringify(args))}); only -c COMMAND is allowed`,
      "jk_lsh: interactive sessions are not allowed",
    );
  }
  const command = args[args.length - 1];

  let ini: IniFile;
  try {
    ini = req.loadConfig();
  } catch (e) {
    if (!(e instanceof JailkitError)) throw e;
    return refuse(1, "err", `${who}: ${e.message}`, "jk_lsh: configuration error");
  }
  const section = selectUserSection(ini, user.name, user.group);
  if (!section) {
    return refuse(
      3,
      "err",
      `${ini.path}: no section [${user.name}], [group ${user.group}] or [DEFAULT] for ${who}`,
      "jk_lsh: no configuration for this user",
    );
  }
  let settings: LshSettings;
  const logs: LogEntry[] = [];
  try {
    const read = readLshSettings(section);
    settings = read.settings;
    logs.push(...read.warnings);
  } catch (e) {
    if (!(e instanceof JailkitError)) throw e;
    return refuse(1, "err", `${who}: ${e.message}`, "jk_lsh: configuration error", logs);
  }

  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(req.env)) {
    if (isStrippedVariable(key)) {
      logs.push({ priority: "warning", message: `${who}: removed ${key} from the environment` });
    } else {
      env[key] = value;
    }
  }
  Object.assign(env, settings.environment);

  const shown = `'${logText(command)}'`;
  const refused = (code: number, why: string) =>
    refuse(code, "warning", `${who} tried to run ${shown}: ${why}`, notAllowed, logs);

  const defect = commandDefect(command);
  if (defect) return refused(4, defect);

  let words: string[];
  if (settings.allowWordExpansion) {
    try {
      words = req.expand(command, env);
    } catch (e) {
      const code = (e as { code?: unknown }).code;
      const why = typeof code === "string" ? code : String(e);
      return refused(6, `word expansion refused it (${logText(why)})`);
    }
  } else {
    words = splitOnSpaces(command);
  }
  if (words.length === 0) return refused(4, "nothing left after word expansion");
  if (words.length > MAX_WORDS) return refused(4, `more than ${MAX_WORDS} words`);

  const program = resolveProgram(words[0], settings.paths, fs);
  if (!program.found) {
    logs.push({
      priority: "err",
      message: `${who}: executable ${logText(words[0])} not found as a regular file`,
    });
  }
  if (settings.executables === undefined) {
    return refuse(
      5,
      "err",
      `${ini.path} [${settings.section}]: no executables key or an empty one, so nothing ` +
        `may run (${who})`,
      "jk_lsh: configuration error",
      logs,
    );
  }
  if (!program.path.startsWith("/") || !settings.executables.includes(program.path)) {
    return refused(
      4,
      `${logText(program.path)} is not listed in executables of [${settings.section}]`,
    );
  }
  const argv = [program.path, ...words.slice(1)];
  const why = checkArguments(argv, settings, fs);
  if (why) return refused(4, logText(why));

  const execEnv = { ...env };
  const rule = ruleFor(program.path, fs)?.rule;
  for (const [key, value] of Object.entries(rule ? RULE_ENVIRONMENT[rule] : {})) {
    if (Object.hasOwn(settings.environment, key)) continue;
    if (value === null) delete execEnv[key];
    else execEnv[key] = value;
  }

  logs.push({
    priority: "info",
    message: `executing command ${shown} for ${who}` +
      (settings.allowWordExpansion ? ` as ${logText(JSON.stringify(argv))}` : ""),
  });
  return { exec: { path: program.path, argv, env: execEnv, umask: settings.umask }, logs };
}
