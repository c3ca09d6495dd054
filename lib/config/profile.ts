/**
 * jk_init's sections ("profiles"): which sections a run processes, in which order, and the typed
 * keys of each. Pure: takes a parsed jk_init.ini, returns data; copying is lib/engine/copy.ts's job.
 *
 * Differences from jailkit 2.23 (man/jk_init.8 tells admins), each deliberate:
 * - a section runs at most once per run, also when it is named on the command line twice or is
 *   both named and included (jailkit only recorded included sections);
 * - an includesections cycle is a configuration error naming the cycle (jailkit recursed until
 *   Python gave up), and so is an included section that does not exist;
 * - need_logsocket / need_proc are booleans (jailkit took any non-empty value, even "0", as yes);
 * - a key jk_init does not know is reported with its file and line, so a typo such as
 *   `path = /usr/bin/git` is not silently ignored.
 */
import { configError } from "../core/errors.ts";
import {
  iniBool,
  iniEntries,
  type IniEntry,
  type IniFile,
  iniList,
  iniLookup,
  iniPlainSections,
  type IniSection,
  iniString,
} from "./ini.ts";

/** One section as jk_init processes it, with every key already split and typed. */
export interface ResolvedSection {
  /** The section header, as given on jk_init's command line. */
  readonly name: string;
  /** Line of the section header in the ini file. */
  readonly line: number;
  /** Sections this one includes, as written (all of them precede it in the run order). */
  readonly includes: readonly string[];
  /** paths, then the deprecated libraries, executables, regularfiles, directories. */
  readonly paths: readonly string[];
  /** paths_w_owner: copied keeping the host owner and group. */
  readonly pathsWithOwner: readonly string[];
  /** paths_w_setuid: copied keeping set-uid and set-gid bits. */
  readonly pathsWithSetuid: readonly string[];
  /** Host users (names or ids) whose passwd entries go into JAIL/etc/passwd. */
  readonly users: readonly string[];
  /** Host groups (names or ids) whose entries go into JAIL/etc/group. */
  readonly groups: readonly string[];
  /** Device nodes recreated in the jail with the host's numbers. */
  readonly devices: readonly string[];
  /** Directories created empty, whether or not the host has them. */
  readonly emptydirs: readonly string[];
  /** need_logsocket: register JAIL/dev/log with jk_socketd. */
  readonly needLogsocket: boolean;
  /** need_proc: mount /proc in the jail now and from fstab at boot. */
  readonly needProc: boolean;
  /** The `comment` key, shown by `jk_init -l`. */
  readonly comment: string | undefined;
}

/** What a `jk_init SECTION...` run processes, and what it has to say about the request. */
export interface ExpandedProfile {
  /** Run order: every section once, each after the sections it includes. */
  readonly sections: readonly ResolvedSection[];
  /** Lines for the admin (missing requested sections, unknown keys), in the order found. */
  readonly warnings: readonly string[];
}

/** Keys concatenated into `paths`, in jailkit's order; the last four are old spellings. */
const PATH_KEYS = ["paths", "libraries", "executables", "regularfiles", "directories"] as const;

export const JK_INIT_KEYS: readonly string[] = [
  ...PATH_KEYS,
  "paths_w_owner",
  "paths_w_setuid",
  "users",
  "groups",
  "devices",
  "emptydirs",
  "includesections",
  "need_logsocket",
  "need_proc",
  "comment",
];

const KNOWN_KEYS = new Set(JK_INIT_KEYS);

/** A section jk_init can process: `[DEFAULT]` only lends keys, it is never a section itself. */
function findSection(ini: IniFile, name: string): IniSection | undefined {
  const section = ini.section(name);
  return section === ini.defaults ? undefined : section;
}

interface Frame {
  section: IniSection;
  includes: string[];
  /** The includesections entry, for FILE:LINE in errors (may come from [DEFAULT]). */
  entry: IniEntry | undefined;
  next: number;
}

/**
 * The sections a `jk_init SECTION...` run processes, in order. Included sections come first,
 * depth-first in the order listed. Throws a "config" JailkitError for an include cycle or a
 * missing included section; a missing requested section is only a warning, as panels ask for
 * sections (`php`, `groups`) that an older ini may lack and expect jk_init to carry on.
 *
 * @example Included sections run first, once
 * ```ts
 * import { strict as assert } from "node:assert";
 * import { expandSections, parseIni } from "../../mod.ts";
 *
 * const ini = parseIni(
 *   "[sh]\nexecutables = /bin/sh\n\n[basic]\nincludesections = sh\nemptydirs = /tmp\n",
 *   "jk_init.ini",
 *   "python",
 * );
 * const { sections, warnings } = expandSections(ini, ["basic", "sh", "php"]);
 * assert.deepEqual(sections.map((s) => s.name), ["sh", "basic"]);
 * assert.deepEqual(warnings, ["WARNING: section [php] does not exist in jk_init.ini"]);
 * ```
 */
export function expandSections(ini: IniFile, requested: string[]): ExpandedProfile {
  const sections: ResolvedSection[] = [];
  const warnings: string[] = [];
  const done = new Set<string>();
  const warnedLines = new Set<number>();

  const finish = (section: IniSection, includes: string[]) => {
    done.add(section.name);
    for (const entry of iniEntries(section)) {
      if (KNOWN_KEYS.has(entry.key) || warnedLines.has(entry.line)) continue;
      warnedLines.add(entry.line);
      warnings.push(unknownKeyWarning(ini.path, section, entry));
    }
    sections.push(resolve(section, includes));
  };

  for (const name of requested) {
    const root = findSection(ini, name);
    if (!root) {
      warnings.push(`WARNING: section [${name}] does not exist in ${ini.path}`);
      continue;
    }
    if (done.has(name)) continue;

    // Explicit stack: a hostile file with a very long include chain must not overflow the JS one.
    const stack: Frame[] = [frame(root)];
    const depthOf = new Map<string, number>([[name, 0]]);
    while (stack.length > 0) {
      const top = stack[stack.length - 1];
      if (top.next >= top.includes.length) {
        stack.pop();
        depthOf.delete(top.section.name);
        finish(top.section, top.includes);
        continue;
      }
      const inc = top.includes[top.next++];
      if (done.has(inc)) continue;
      const line = top.entry?.line ?? top.section.line;
      const open = depthOf.get(inc);
      if (open !== undefined) {
        const cycle = [...stack.slice(open).map((f) => f.section.name), inc].join(" -> ");
        throw configError(ini.path, line, `includesections cycle: ${cycle}`);
      }
      const included = findSection(ini, inc);
      if (!included) {
        throw configError(
          ini.path,
          line,
          `section [${top.section.name}] includes [${inc}], which does not exist`,
        );
      }
      depthOf.set(inc, stack.length);
      stack.push(frame(included));
    }
  }
  return { sections, warnings };
}

function frame(section: IniSection): Frame {
  return {
    section,
    includes: iniList(section, "includesections"),
    entry: iniLookup(section, "includesections"),
    next: 0,
  };
}

function resolve(section: IniSection, includes: string[]): ResolvedSection {
  return {
    name: section.name,
    line: section.line,
    includes,
    paths: PATH_KEYS.flatMap((key) => iniList(section, key)),
    pathsWithOwner: iniList(section, "paths_w_owner"),
    pathsWithSetuid: iniList(section, "paths_w_setuid"),
    users: iniList(section, "users"),
    groups: iniList(section, "groups"),
    devices: iniList(section, "devices"),
    emptydirs: iniList(section, "emptydirs"),
    needLogsocket: iniBool(section, "need_logsocket", false),
    needProc: iniBool(section, "need_proc", false),
    comment: iniString(section, "comment"),
  };
}

function unknownKeyWarning(path: string, section: IniSection, entry: IniEntry): string {
  const owner = section.own(entry.key) === entry ? section.name : "DEFAULT";
  const guess = closestKey(entry.key);
  const hint = guess ? `; did you mean "${guess}"?` : "";
  return `WARNING: ${path}:${entry.line}: unknown key "${entry.key}" in section [${owner}] ` +
    `is ignored${hint}`;
}

/** The known key within two edits of `key`, to turn a typo into an actionable warning. */
function closestKey(key: string): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  for (const known of JK_INIT_KEYS) {
    const d = editDistance(key, known, bestDistance);
    if (d < bestDistance) {
      best = known;
      bestDistance = d;
    }
  }
  return best;
}

/** Levenshtein distance, giving up (returning `limit`) once it cannot be below `limit`. */
function editDistance(a: string, b: string, limit: number): number {
  if (Math.abs(a.length - b.length) >= limit) return limit;
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    let rowMin = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      row[j] = Math.min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + cost);
      rowMin = Math.min(rowMin, row[j]);
    }
    if (rowMin >= limit) return limit;
    prev = row;
  }
  return Math.min(prev[b.length], limit);
}

/** What `jk_init -l` lists: every section but `[DEFAULT]`, sorted by name, with its comment. */
export function listSections(ini: IniFile): { name: string; comment: string | undefined }[] {
  return iniPlainSections(ini)
    .map((s) => ({ name: s.name, comment: iniString(s, "comment") }))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}
