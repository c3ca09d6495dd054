/**
 * /etc/jailkit/jk_thin.ini (man/jk_thin.ini.5): the jails whose sessions are built at login
 * from read-only views of the host. One section per jail, named by the jail's absolute path;
 * a jail without a section is an ordinary copied jail and nothing here applies to it.
 *
 *   [/home/thin]
 *   readonly_binds = /usr, /etc/alternatives
 *   private_tmp = 1
 *   tmp_size_mb = 64
 *   private_proc = 1
 *   no_network = 0
 *   end_processes_at_logout = 1
 *
 * Read with the C tools' rules (keys case-sensitive, `#` comments), because the set-uid login
 * tools read it. Stricter than the other files, since a typo here silently weakens a jail:
 * unknown keys, a relative or unnormalised path, a bind of `/`, of /proc, /sys or /dev, of the
 * jail itself or of a directory holding it, and two binds where one holds the other are errors
 * naming FILE:LINE.
 */
import { configError, JailkitError } from "../core/errors.ts";
import type { Op } from "../core/plan.ts";
import {
  iniBool,
  type IniFile,
  iniInt,
  iniList,
  iniLookup,
  type IniSection,
  parseIni,
  readConfigText,
} from "./ini.ts";

/** The file's name in the configuration directory. */
export const THIN_CONFIG_NAME = "jk_thin.ini";

/** What a session of one thin jail gets. */
export interface ThinJail {
  /** The section name: the jail's absolute, normalised path. */
  readonly jail: string;
  /**
   * Host directories the session sees at the same path inside the jail, bind-mounted
   * read-only, nosuid and nodev; sorted, none inside another.
   */
  readonly readonlyBinds: readonly string[];
  /** A fresh tmpfs (mode 1777, nosuid, nodev) on the jail's /tmp. */
  readonly privateTmp: boolean;
  /** Size limit of that tmpfs, in MiB. */
  readonly tmpSizeMiB: number;
  /** A new PID namespace whose proc is mounted on the jail's /proc. */
  readonly privateProc: boolean;
  /** A new network namespace with no interface up. */
  readonly noNetwork: boolean;
  /** A new PID namespace: when the login's process ends, every process of the session ends. */
  readonly endProcessesAtLogout: boolean;
}

/** The keys of a section; anything else is an error. */
export const THIN_KEYS = [
  "readonly_binds",
  "private_tmp",
  "tmp_size_mb",
  "private_proc",
  "no_network",
  "end_processes_at_logout",
] as const;

export const DEFAULT_TMP_SIZE_MIB = 64;
const MAX_TMP_SIZE_MIB = 1024 * 1024;
const MAX_BINDS = 64;

/** Host trees that are never bound: the session gets its own /proc, and devices are copied. */
const NEVER_BOUND = ["/proc", "/sys", "/dev"];

/** Whether the session needs its own PID namespace (and so a second start, see jk_chrootsh(8)). */
export function needsPidNamespace(thin: ThinJail): boolean {
  return thin.privateProc || thin.endProcessesAtLogout;
}

/** `inner` is `outer` or below it (both normalised absolute paths). */
export function isWithin(inner: string, outer: string): boolean {
  return outer === "/" || inner === outer || inner.startsWith(`${outer}/`);
}

/** An absolute path without empty, `.` or `..` components and without a trailing slash. */
export function isNormalAbsolute(path: string): boolean {
  if (!path.startsWith("/") || path.includes("\0")) return false;
  if (path === "/") return true;
  const parts = path.slice(1).split("/");
  return parts.every((p) => p !== "" && p !== "." && p !== "..");
}

/**
 * Where the session mounts things, relative to the jail root, in the order it mounts them:
 * the binds, then tmp, then proc. jk_check leaves these alone and jk_update does not fill them.
 */
export function mountPoints(thin: ThinJail): string[] {
  const points = [...thin.readonlyBinds];
  if (thin.privateTmp) points.push("/tmp");
  if (thin.privateProc) points.push("/proc");
  return points;
}

function sectionToThin(section: IniSection): ThinJail {
  const where = (line: number, message: string) => configError(section.path, line, message);
  const jail = section.name;
  if (!isNormalAbsolute(jail) || jail === "/") {
    throw where(
      section.line,
      `section [${jail}]: a thin jail is named by its absolute path, without "." or ".." ` +
        `components, repeated or trailing slashes, and not /`,
    );
  }
  for (const entry of section.entries) {
    if (!(THIN_KEYS as readonly string[]).includes(entry.key)) {
      throw where(
        entry.line,
        `unknown key ${entry.key} in [${jail}] (known: ${THIN_KEYS.join(", ")})`,
      );
    }
  }
  const bindsEntry = iniLookup(section, "readonly_binds");
  const binds = iniList(section, "readonly_binds");
  const line = bindsEntry?.line ?? section.line;
  if (binds.length > MAX_BINDS) {
    throw where(line, `readonly_binds in [${jail}]: more than ${MAX_BINDS} directories`);
  }
  for (const bind of binds) {
    if (!isNormalAbsolute(bind)) {
      throw where(
        line,
        `readonly_binds in [${jail}]: ${JSON.stringify(bind)} is not an absolute path without ` +
          `".", ".." and repeated or trailing slashes`,
      );
    }
    if (bind === "/") throw where(line, `readonly_binds in [${jail}]: / cannot be bound`);
    const never = NEVER_BOUND.find((n) => isWithin(bind, n));
    if (never) {
      throw where(
        line,
        `readonly_binds in [${jail}]: ${bind} is in ${never}, which is never bound`,
      );
    }
    if (isWithin(bind, jail) || isWithin(jail, bind)) {
      throw where(
        line,
        `readonly_binds in [${jail}]: ${bind} is the jail, inside it or holds it`,
      );
    }
  }
  const sorted = [...binds].sort();
  for (let i = 1; i < sorted.length; i++) {
    if (isWithin(sorted[i], sorted[i - 1])) {
      throw where(
        line,
        `readonly_binds in [${jail}]: ${sorted[i]} is inside ${sorted[i - 1]} (or listed twice)`,
      );
    }
  }
  const privateTmp = iniBool(section, "private_tmp", false);
  const privateProc = iniBool(section, "private_proc", false);
  for (const [flag, dir] of [[privateTmp, "/tmp"], [privateProc, "/proc"]] as const) {
    const clash = flag ? sorted.find((b) => isWithin(dir, b) || isWithin(b, dir)) : undefined;
    if (clash) {
      throw where(line, `readonly_binds in [${jail}]: ${clash} overlaps the session's own ${dir}`);
    }
  }
  return {
    jail,
    readonlyBinds: sorted,
    privateTmp,
    tmpSizeMiB: iniInt(section, "tmp_size_mb", DEFAULT_TMP_SIZE_MIB, {
      min: 1,
      max: MAX_TMP_SIZE_MIB,
    }),
    privateProc,
    noNetwork: iniBool(section, "no_network", false),
    endProcessesAtLogout: iniBool(section, "end_processes_at_logout", false),
  };
}

/** Every thin jail of a parsed jk_thin.ini, validated as a whole (the first error throws). */
export function thinJails(ini: IniFile): Map<string, ThinJail> {
  if (ini.dialect !== "c") {
    throw new JailkitError("usage", `${ini.path}: jk_thin.ini is read with the C tools' rules`);
  }
  const jails = new Map<string, ThinJail>();
  for (const section of ini.sections) jails.set(section.name, sectionToThin(section));
  return jails;
}

/**
 * The settings for `jail` (absolute, normalised), or undefined when the file has no section for
 * it. The whole file is validated first: a broken section elsewhere refuses every thin login
 * rather than letting a typo pass unnoticed.
 */
export function thinJailFor(ini: IniFile, jail: string): ThinJail | undefined {
  return thinJails(ini).get(jail);
}

/** The section text for `thin`, as jk_init --thin writes it. */
export function renderThinSection(thin: ThinJail): string {
  const flag = (b: boolean) => (b ? "1" : "0");
  return [
    `[${thin.jail}]`,
    `readonly_binds = ${thin.readonlyBinds.join(", ")}`,
    `private_tmp = ${flag(thin.privateTmp)}`,
    `tmp_size_mb = ${thin.tmpSizeMiB}`,
    `private_proc = ${flag(thin.privateProc)}`,
    `no_network = ${flag(thin.noNetwork)}`,
    `end_processes_at_logout = ${flag(thin.endProcessesAtLogout)}`,
    "",
  ].join("\n");
}

/**
 * `text` (the current file, or undefined when there is none) with the section of `thin.jail`
 * replaced by `thin`, or appended; every other line, comments included, is kept as written.
 * The result is parsed and validated before it is returned, so a caller never writes a file
 * the login tools would refuse.
 */
export function withThinSection(text: string | undefined, thin: ThinJail, path: string): string {
  const current = text ?? "";
  const ini = parseIni(current, path, "c");
  thinJails(ini);
  const lines = current === "" ? [] : current.replace(/\n$/, "").split("\n");
  const own = ini.section(thin.jail);
  let out: string[];
  if (own) {
    // The section runs from its header to the line before the next header.
    const start = own.line - 1;
    const next = ini.sections.find((s) => s.line > own.line);
    const end = next ? next.line - 1 : lines.length;
    out = [...lines.slice(0, start), ...renderThinSection(thin).split("\n")];
    if (next) out.push(...lines.slice(end));
  } else {
    out = [...lines];
    if (out.length > 0 && out[out.length - 1].trim() !== "") out.push("");
    out.push(...renderThinSection(thin).split("\n"));
  }
  const result = `${out.join("\n").replace(/\n+$/, "")}\n`;
  thinJails(parseIni(result, path, "c"));
  return result;
}

/** The path of jk_thin.ini in the configuration directory `dir` (configDir()). */
export function thinConfigPath(dir: string): string {
  return `${dir}/${THIN_CONFIG_NAME}`;
}

/**
 * The text of the jk_thin.ini at `path` as the admin tools read it (no symlink, bounded), or
 * undefined when there is none: then no jail is thin.
 */
export function readThinConfigText(path: string): string | undefined {
  try {
    return readConfigText(path);
  } catch (e) {
    if (e instanceof JailkitError && e.kind === "not-found") return undefined;
    throw e;
  }
}

/**
 * The settings of `jail` in the jk_thin.ini at `path` (validated whole, as thinJailFor), or
 * undefined when the file or its section for the jail does not exist. jk_update and jk_check
 * ask this to leave the jail's mount points alone.
 */
export function thinJailAt(path: string, jail: string): ThinJail | undefined {
  const text = readThinConfigText(path);
  return text === undefined ? undefined : thinJailFor(parseIni(text, path, "c"), jail);
}

/** The mount point of `points` that `inJail` (a canonical in-jail path) is, or lies below. */
export function mountPointOf(inJail: string, points: readonly string[]): string | undefined {
  return points.find((p) => isWithin(inJail, p));
}

/**
 * The operations that touch nothing at or below a mount point, except those in `keep`: the
 * session sees the host there, so a copy would only lie hidden under the mount.
 */
export function outsideMountPoints(
  ops: readonly Op[],
  points: readonly string[],
  keep: readonly (Op | undefined)[] = [],
): Op[] {
  return ops.filter((o) =>
    keep.includes(o) || !("path" in o) || mountPointOf(o.path, points) === undefined
  );
}
