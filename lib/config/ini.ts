/**
 * Jailkit's configuration dialect, in the two flavours its tools read:
 *
 * - "python": what jailkit's Python tools get from configparser (jk_init.ini, jk_check.ini,
 *   jk_update.ini). Keys are lower-cased, `key: value` is accepted, `;` also starts a comment,
 *   indented lines continue a value, and `[DEFAULT]` supplies keys to every other section.
 * - "c": what the C tools read (jk_chrootsh.ini, jk_lsh.ini, jk_uchroot.ini, jk_socketd.ini).
 *   Keys are case-sensitive, only `key=value`, only `#` comments, no continuation lines, and
 *   `DEFAULT` is an ordinary section.
 *
 * Deliberately not copied from jailkit 2.23 (each one is a trap for admins):
 * - keys match exactly; the C scanner let `relax_home_group` satisfy a lookup of
 *   `relax_home_group_permissions`;
 * - values are trimmed in both flavours (the C scanner kept the blank after `=`);
 * - `%` is an ordinary character (configparser interpolation crashed on a lone `%`);
 * - list items that are empty are dropped (a trailing comma crashed jk_init);
 * - booleans mean what they say (jk_init took `need_logsocket = 0` as true);
 * - duplicate sections or keys are reported with both lines instead of a traceback (Python)
 *   or silently using the first one (C);
 * - in the C flavour a `#` after leading blanks starts a comment too (the C scanner only
 *   honoured `#` in column 0 and read `  #x=1` as a key), and a `[` inside a value never opens
 *   a section (the C section enumerator took any `[...]` as a header).
 * Stricter than either original: a header must be the whole line (`[name]`, no text after the
 * `]`, no brackets inside the name), keys outside any section, stray carriage returns, NUL bytes,
 * files over 1 MiB and lines that are neither comment, header nor key/value are errors.
 */
import { configError, JailkitError } from "../core/errors.ts";
import { closeFd, openNoFollow, readBounded } from "../core/safeio.ts";

/** Which of jailkit's two readers a file was written for; see the module documentation. */
export type IniDialect = "python" | "c";

/** Largest config file accepted; jailkit's own files are a few KiB. */
export const MAX_INI_BYTES = 1024 * 1024;

/** One `key = value` setting, with the line it was written on. */
export interface IniEntry {
  /** As written (trimmed); lower-cased in the python flavour. */
  readonly key: string;
  /** Trimmed; python continuation lines are joined with "\n". */
  readonly value: string;
  /** 1-based line of the key. */
  readonly line: number;
}

/** One `[name]` section with its entries. */
export interface IniSection {
  /** File the section was read from, so getters can name FILE:LINE. */
  readonly path: string;
  /** Decides how keys are matched (python: case-insensitive) and whether DEFAULT is inherited. */
  readonly dialect: IniDialect;
  /** Verbatim text between the brackets. */
  readonly name: string;
  /** 1-based line of the header. */
  readonly line: number;
  /** This section's own entries, in file order (never the inherited DEFAULT ones). */
  readonly entries: readonly IniEntry[];
  /**
   * Python flavour only: the file's `[DEFAULT]` section, consulted by `iniLookup` and the
   * getters for keys this section lacks. Undefined for DEFAULT itself and in the C flavour.
   */
  readonly defaults: IniSection | undefined;
  /** This section's own entry for `key` (python: case-insensitive), without inheritance. */
  own(key: string): IniEntry | undefined;
}

/** A parsed configuration file. */
export interface IniFile {
  /** File the text came from, named in every error. */
  readonly path: string;
  /** The reader's rules the file was parsed with. */
  readonly dialect: IniDialect;
  /** Every section as written, in file order, `[DEFAULT]` included. */
  readonly sections: readonly IniSection[];
  /** Python flavour: the `[DEFAULT]` section if present. Always undefined in the C flavour. */
  readonly defaults: IniSection | undefined;
  /** The section named exactly `name` (case-sensitive), or undefined. */
  section(name: string): IniSection | undefined;
}

class Section implements IniSection {
  defaults: IniSection | undefined = undefined;
  readonly entries: IniEntry[] = [];
  readonly #byKey = new Map<string, IniEntry>();

  constructor(
    readonly path: string,
    readonly dialect: IniDialect,
    readonly name: string,
    readonly line: number,
  ) {}

  /** Returns the entry already holding `entry.key`, if any, instead of adding. */
  add(entry: IniEntry): IniEntry | undefined {
    const previous = this.#byKey.get(entry.key);
    if (previous) return previous;
    this.entries.push(entry);
    this.#byKey.set(entry.key, entry);
    return undefined;
  }

  own(key: string): IniEntry | undefined {
    return this.#byKey.get(normaliseKey(this.dialect, key));
  }
}

function normaliseKey(dialect: IniDialect, key: string): string {
  return dialect === "python" ? key.toLowerCase() : key;
}

/** A key's value while its python continuation lines are still being collected. */
interface PendingValue {
  key: string;
  line: number;
  parts: string[];
  /** Indentation of the key line; only deeper lines continue the value (configparser). */
  indent: number;
  section: Section;
}

/**
 * Parses `text` (the contents of `path`, used only in messages). Throws a "config"
 * JailkitError naming FILE:LINE at the first problem.
 *
 * @example A jk_init.ini section, read as jk_init reads it
 * ```ts
 * import { strict as assert } from "node:assert";
 * import { iniBool, iniList, parseIni } from "../../mod.ts";
 *
 * const ini = parseIni(
 *   "[DEFAULT]\nneed_logsocket = no\n\n[rsync]\nexecutables = /usr/bin/rsync,\n",
 *   "jk_init.ini",
 *   "python",
 * );
 * const rsync = ini.section("rsync")!;
 * assert.deepEqual(iniList(rsync, "executables"), ["/usr/bin/rsync"]); // empty items dropped
 * assert.equal(iniBool(rsync, "need_logsocket", true), false); // inherited from [DEFAULT]
 * ```
 */
export function parseIni(text: string, path: string, dialect: IniDialect): IniFile {
  if (text.length > MAX_INI_BYTES) {
    throw new JailkitError(
      "config",
      `${path}: file is larger than 1 MiB; refusing to parse it`,
    );
  }
  const lines = text.split("\n");
  // A final newline does not start another line.
  if (lines.length > 1 && lines[lines.length - 1] === "") lines.pop();

  const sections: Section[] = [];
  const byName = new Map<string, Section>();
  let current: Section | undefined;
  let pending: PendingValue | undefined;

  const flush = () => {
    if (!pending) return;
    const { key, line, parts, section } = pending;
    pending = undefined;
    const entry = { key, value: parts.join("\n").trim(), line };
    const previous = section.add(entry);
    if (previous) {
      throw configError(
        path,
        line,
        `duplicate key "${key}" in section [${section.name}] ` +
          `(first set at line ${previous.line})`,
      );
    }
  };

  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    let line = lines[i];
    if (line.endsWith("\r")) line = line.slice(0, -1);
    if (line.includes("\0")) throw configError(path, lineNo, "NUL byte in configuration file");
    if (line.includes("\r")) {
      throw configError(path, lineNo, "stray carriage return inside a line");
    }
    // trim() and \S treat U+FEFF as a blank, so a byte-order mark needs no special case.
    const trimmed = line.trim();
    if (trimmed === "") {
      // configparser keeps blank lines inside a multi-line value; trailing ones are trimmed.
      pending?.parts.push("");
      continue;
    }
    if (trimmed.startsWith("#") || (dialect === "python" && trimmed.startsWith(";"))) continue;

    const indent = line.search(/\S/);
    if (dialect === "python" && pending && indent > pending.indent) {
      pending.parts.push(trimmed);
      continue;
    }
    flush();

    if (trimmed.startsWith("[")) {
      const name = parseHeader(trimmed, path, lineNo);
      const first = byName.get(name);
      if (first) {
        throw configError(
          path,
          lineNo,
          `duplicate section [${name}] (first at line ${first.line})`,
        );
      }
      current = new Section(path, dialect, name, lineNo);
      sections.push(current);
      byName.set(name, current);
      continue;
    }

    const [rawKey, rawValue] = splitKeyValue(trimmed, dialect, path, lineNo);
    if (!current) {
      throw configError(path, lineNo, `key "${rawKey}" appears before any [section] header`);
    }
    pending = {
      key: normaliseKey(dialect, rawKey),
      line: lineNo,
      parts: [rawValue],
      indent,
      section: current,
    };
  }
  flush();

  const defaults = dialect === "python" ? byName.get("DEFAULT") : undefined;
  if (defaults) {
    for (const s of sections) if (s !== defaults) s.defaults = defaults;
  }
  return {
    path,
    dialect,
    sections,
    defaults,
    section: (name: string) => byName.get(name),
  };
}

function parseHeader(trimmed: string, path: string, lineNo: number): string {
  const close = trimmed.indexOf("]");
  if (close < 0) throw configError(path, lineNo, `unterminated section header: ${trimmed}`);
  if (close !== trimmed.length - 1) {
    throw configError(path, lineNo, `text after the section header: ${trimmed}`);
  }
  const name = trimmed.slice(1, close);
  if (name === "") throw configError(path, lineNo, "empty section name []");
  if (name.includes("[")) {
    throw configError(path, lineNo, `"[" inside a section name: ${trimmed}`);
  }
  return name;
}

function splitKeyValue(
  trimmed: string,
  dialect: IniDialect,
  path: string,
  lineNo: number,
): [string, string] {
  let sep = trimmed.indexOf("=");
  if (sep < 0 && dialect === "python") sep = trimmed.indexOf(":");
  if (sep < 0) {
    const expected = dialect === "python" ? "key = value, key: value" : "key = value";
    throw configError(
      path,
      lineNo,
      `expected a comment, [section] or ${expected}; got: ${trimmed}`,
    );
  }
  const key = trimmed.slice(0, sep).trim();
  if (key === "") throw configError(path, lineNo, `missing key name before "${trimmed[sep]}"`);
  return [key, trimmed.slice(sep + 1).trim()];
}

/**
 * Reads and parses a config file. A missing file is a "not-found" error naming it; unreadable
 * or oversized files, non-UTF-8 content and syntax errors are reported with the path.
 */
export function readIni(path: string, dialect: IniDialect): IniFile {
  return parseIni(readConfigText(path), path, dialect);
}

/**
 * The text of a config file, read with lib/core/safeio.ts's bounded reader (at most
 * MAX_INI_BYTES, so /dev/zero cannot exhaust memory). Errors as readIni's.
 */
export function readConfigText(path: string): string {
  let fd: number;
  try {
    fd = openNoFollow(path, true);
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === "ENOENT") {
      throw new JailkitError("not-found", `${path}: configuration file not found`, { cause: e });
    }
    if (code === "EACCES" || code === "EPERM") {
      throw new JailkitError("permission", `${path}: cannot read: ${(e as Error).message}`, {
        cause: e,
      });
    }
    throw new JailkitError("io", `${path}: cannot open: ${(e as Error).message}`, { cause: e });
  }
  let bytes: Uint8Array | undefined;
  try {
    bytes = readBounded(fd, MAX_INI_BYTES);
  } catch (e) {
    throw new JailkitError("io", `${path}: cannot read: ${(e as Error).message}`, { cause: e });
  } finally {
    closeFd(fd);
  }
  if (bytes === undefined) {
    throw new JailkitError(
      "config",
      `${path}: file is larger than ${MAX_INI_BYTES} bytes; refusing to parse it`,
    );
  }
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch (e) {
    throw new JailkitError("config", `${path}: not valid UTF-8`, { cause: e });
  }
}

/**
 * The entry for `key` as the tools see it: the section's own entry, else (python flavour) the
 * one from `[DEFAULT]`, like configparser. Never inherits in the C flavour.
 */
export function iniLookup(section: IniSection, key: string): IniEntry | undefined {
  return section.own(key) ?? section.defaults?.own(key);
}

/** Every entry visible in `section`: its own, then inherited DEFAULT keys it does not override. */
export function iniEntries(section: IniSection): IniEntry[] {
  const result = [...section.entries];
  for (const e of section.defaults?.entries ?? []) {
    if (!section.own(e.key)) result.push(e);
  }
  return result;
}

/** configparser's sections(): every section except the python flavour's `[DEFAULT]`. */
export function iniPlainSections(ini: IniFile): IniSection[] {
  return ini.sections.filter((s) => s !== ini.defaults);
}

function bad(section: IniSection, entry: IniEntry, expected: string): JailkitError {
  const where = entry === section.own(entry.key) ? `[${section.name}]` : "[DEFAULT]";
  return configError(
    section.path,
    entry.line,
    `${entry.key} in ${where}: expected ${expected}, got "${entry.value}"`,
  );
}

/** The value of `key` as written (python: falling back to [DEFAULT]); undefined when absent. */
export function iniString(section: IniSection, key: string): string | undefined {
  return iniLookup(section, key)?.value;
}

/** Comma-separated list: items trimmed, empty items dropped; missing key = empty list. */
export function iniList(section: IniSection, key: string): string[] {
  const value = iniLookup(section, key)?.value;
  if (value === undefined) return [];
  return value.split(",").map((s) => s.trim()).filter((s) => s !== "");
}

/** Decimal integer (optionally negative), within `range` when given; `dflt` when absent. */
export function iniInt(
  section: IniSection,
  key: string,
  dflt: number,
  range: { min?: number; max?: number } = {},
): number {
  const entry = iniLookup(section, key);
  if (!entry) return dflt;
  const { min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER } = range;
  const want = range.min !== undefined || range.max !== undefined
    ? `a decimal integer from ${min} to ${max}`
    : "a decimal integer";
  // The length cap keeps Number() exact; anything longer is out of every useful range anyway.
  if (!/^-?[0-9]{1,15}$/.test(entry.value)) throw bad(section, entry, want);
  const n = Number(entry.value);
  if (n < min || n > max) throw bad(section, entry, want);
  return n;
}

/** Octal number such as a umask (`022`, `0077`); undefined when absent. */
export function iniOctal(section: IniSection, key: string): number | undefined {
  const entry = iniLookup(section, key);
  if (!entry) return undefined;
  if (!/^[0-7]{1,11}$/.test(entry.value)) throw bad(section, entry, "an octal number");
  return parseInt(entry.value, 8);
}

/** Decimal floating-point number (no hex, inf or nan); `dflt` when absent. */
export function iniFloat(section: IniSection, key: string, dflt: number): number {
  const entry = iniLookup(section, key);
  if (!entry) return dflt;
  if (!/^[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?$/.test(entry.value)) {
    throw bad(section, entry, "a decimal number");
  }
  const n = Number(entry.value);
  if (!Number.isFinite(n)) throw bad(section, entry, "a finite decimal number");
  return n;
}

const TRUE_WORDS = new Set(["1", "yes", "true", "on"]);
const FALSE_WORDS = new Set(["0", "no", "false", "off"]);

/** 1/yes/true/on or 0/no/false/off (any case); anything else, even empty, is an error. */
export function iniBool(section: IniSection, key: string, dflt: boolean): boolean {
  const entry = iniLookup(section, key);
  if (!entry) return dflt;
  const word = entry.value.toLowerCase();
  if (TRUE_WORDS.has(word)) return true;
  if (FALSE_WORDS.has(word)) return false;
  throw bad(section, entry, "1/yes/true/on or 0/no/false/off");
}

/**
 * Per-user section choice of jk_chrootsh, jk_lsh and jk_uchroot (man/jk_chrootsh.8,
 * CONFIGURATION): the section named exactly like the user, else `group <primary group>` (one
 * space), else `DEFAULT`. The chosen section is used alone; keys it lacks take the tool's built-in
 * default, never another section's.
 */
export function selectUserSection(
  ini: IniFile,
  userName: string,
  primaryGroupName: string | undefined,
): IniSection | undefined {
  if (ini.dialect !== "c") {
    throw new JailkitError(
      "usage",
      `${ini.path}: per-user section selection applies to the C-tool flavour only`,
    );
  }
  return (userName === "" ? undefined : ini.section(userName)) ??
    (primaryGroupName ? ini.section(`group ${primaryGroupName}`) : undefined) ??
    ini.section("DEFAULT");
}
