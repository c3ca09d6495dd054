/**
 * jk_init's planning: turns the requested sections of a jk_init.ini into one plan (man/jk_init.8,
 * minus jailkit's defects). Pure with respect to the jail: it reads the host and the jail, and
 * returns the operations; lib/engine/apply.ts carries them out.
 */
import * as posix from "../core/posixpath.ts";
import { type CopyOptions, CopyPlanner } from "../engine/copy.ts";
import { installedLibdir, planRuntimeCopyRemoval } from "../engine/runtime_copy.ts";
import { type IniFile, parseIni } from "../config/ini.ts";
import {
  DEFAULT_TMP_SIZE_MIB,
  mountPointOf,
  mountPoints,
  outsideMountPoints,
  readThinConfigText,
  renderThinSection,
  thinConfigPath,
  type ThinJail,
  thinJails,
  withThinSection,
} from "../config/thin.ts";
import { JailkitError } from "../core/errors.ts";
import { expandSections, type ResolvedSection } from "../config/profile.ts";
import { appendGroupEntry, appendPasswdEntry, parseGroup, parsePasswd } from "../config/passwd.ts";
import { locateProgram } from "../core/paths.ts";
import { LOADER_CACHE, lstatOrUndefined } from "../engine/jailpath.ts";
import type { Op, Plan } from "../core/plan.ts";

/** jk_init's switches and the host files it reads, replaceable for tests. */
export interface InitOptions {
  /** Refresh jail files and symlinks that differ from the host (-f). */
  force: boolean;
  /** Hard-link files where the executor allows it (-k). */
  hardlink: boolean;
  /** Directory holding jk_socketd.ini (need_logsocket). */
  configDir: string;
  /** Host files users, groups and need_proc read or edit. */
  hostPasswd?: string;
  /** Host group file the `groups` key copies entries from (default /etc/group). */
  hostGroup?: string;
  /** Host fstab that need_proc adds the jail's /proc mount to (default /etc/fstab). */
  hostFstab?: string;
  /** Mount table that tells need_proc whether /proc is already mounted in the jail. */
  hostMountinfo?: string;
  /**
   * Make a thin jail (--thin): nothing the jail sees through a bind is copied, and the jail
   * is recorded in jk_thin.ini in `configDir`.
   */
  thin?: boolean;
}

/** The plan for the jail and which sections it came from. */
export interface InitResult {
  /** Every change, ready for `applyPlan`. */
  plan: Plan;
  /** Sections processed, in order (includes first). */
  sections: string[];
}

/**
 * The jk_socketd.ini block jk_init appends for need_logsocket (docs/design.md, Compatibility
 * contract).
 */
export function socketdBlock(jail: string): string {
  return `\n[${jail}/dev/log]\nbase=512\npeak=2048\ninterval=10\n`;
}

function readText(path: string): string | undefined {
  try {
    return Deno.readTextFileSync(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw e;
  }
}

/**
 * Plans a jail from the named sections of jk_init.ini (with their `includesections`, in order):
 * directories, programs with their libraries, devices, users and groups, the jk_socketd entry and
 * /proc mount when asked. Nothing is written; a missing section only adds a warning note.
 *
 * @example Planning a jail and showing the plan without carrying it out
 * ```ts
 * import { strict as assert } from "node:assert";
 * import { applyPlan, parseIni, planInit } from "../../mod.ts";
 *
 * const ini = parseIni(
 *   "[sh]\nexecutables = /bin/sh\n\n[basic]\nincludesections = sh\nemptydirs = /tmp\n",
 *   "jk_init.ini",
 *   "python",
 * );
 * const { plan, sections } = planInit("/srv/jail", ini, ["basic"], {
 *   force: false,
 *   hardlink: false,
 *   configDir: "/etc/jailkit",
 * });
 * assert.deepEqual(sections, ["sh", "basic"]);
 * const lines: string[] = [];
 * const result = applyPlan(plan, {
 *   mode: "dry-run",
 *   verbose: false,
 *   print: (_stream, line) => lines.push(line), // "would copy /usr/bin/dash -> …"
 * });
 * assert.equal(result.failed, 0);
 * assert.ok(lines.some((line) => line.startsWith("would mkdir /srv/jail/tmp ")));
 * ```
 */
export function planInit(
  jail: string,
  ini: IniFile,
  requested: string[],
  opts: InitOptions,
): InitResult {
  const planner = new CopyPlanner(jail);
  const plan = planner.plan;
  const thin = opts.thin ? thinRecord(jail, opts.configDir) : undefined;
  if (!opts.thin) refuseThinJail(jail, opts.configDir);
  const { sections, warnings } = expandSections(ini, requested);
  for (const w of warnings) plan.note(w);
  // Only missing sections: warn and change nothing. Panels ask for sections the ini may lack,
  // also as the first call on a jail that does not exist yet, and expect exit 0.
  if (sections.length === 0) return { plan: plan.build(), sections: [] };
  if (lstatOrUndefined(jail) === undefined) {
    plan.add({
      op: "mkdir",
      path: "/",
      attrs: { mode: 0o755, uid: 0, gid: 0 },
      msg: { text: `Creating jail ${jail}` },
    });
  }
  // -f on a jk_lsh jail of the older layout: its runtime copy goes unless a section asks for it.
  const libdir = installedLibdir();
  if (
    opts.force && sections.some((s) => s.name === "jk_lsh") &&
    !sections.some((s) => [...s.paths, ...s.pathsWithOwner].includes(libdir))
  ) {
    planRuntimeCopyRemoval(planner.view, plan, libdir);
  }
  const accounts = new JailAccounts(planner, opts);
  const socketd = new SocketdConfig(jail, `${opts.configDir}/jk_socketd.ini`);
  // The names in each PATH directory, read once for all the sections' programs.
  const programListings = new Map<string, ReadonlySet<string> | null>();
  for (const s of sections) {
    planSection(planner, s, opts, accounts, socketd, programListings);
  }
  accounts.finish();
  socketd.finish(planner);
  if (thin === undefined) {
    planner.finishLibraryCache();
    return { plan: plan.build(), sections: sections.map((s) => s.name) };
  }
  const points = mountPoints(thin.record);
  const own = points.map((p) => planMountPoint(planner, p));
  planner.finishLibraryCache(true);
  const ops = thinOps(plan.ops, points, own, planner.view.lookup(LOADER_CACHE) !== undefined);
  if (thin.op) ops.push(thin.op);
  return { plan: { jail, ops }, sections: sections.map((s) => s.name) };
}

/**
 * The host directories a thin jail sees through read-only binds (jk_thin.ini(5)): /usr, each
 * top-level library or program directory that is a real directory on this host (on a
 * usr-merged host they are symlinks into /usr, copied as any symlink), and /etc/alternatives,
 * whose links the programs under /usr are reached through.
 */
export function thinBindRoots(lstat: typeof lstatOrUndefined = lstatOrUndefined): string[] {
  const roots = ["/usr"];
  for (const dir of ["/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc/alternatives"]) {
    if (lstat(dir)?.isDirectory) roots.push(dir);
  }
  return roots.sort();
}

/** What jk_init --thin records for the jail, and the operation that records it (if needed). */
interface ThinPlan {
  record: ThinJail;
  op: Op | undefined;
}

/**
 * The jail's jk_thin.ini section after this run. A section the admin already has keeps its
 * settings and its binds; the bind roots are added to them (a bind inside one of the roots
 * gives way to it). A new section gets private /tmp and /proc, processes ended at logout and
 * the network left on (no_network changes what the jail's programs can do, so it is the
 * admin's choice).
 */
function thinRecord(jail: string, configDir: string): ThinPlan {
  const path = thinConfigPath(configDir);
  const text = readThinConfigText(path);
  const existing = text === undefined ? undefined : thinJails(parseIni(text, path, "c")).get(jail);
  const roots = thinBindRoots();
  const binds = [
    ...roots,
    ...(existing?.readonlyBinds ?? []).filter((b) => mountPointOf(b, roots) === undefined),
  ].sort();
  if (existing && binds.join("\n") === existing.readonlyBinds.join("\n")) {
    return { record: existing, op: undefined };
  }
  const record: ThinJail = existing ? { ...existing, readonlyBinds: binds } : {
    jail,
    readonlyBinds: binds,
    privateTmp: true,
    tmpSizeMiB: DEFAULT_TMP_SIZE_MIB,
    privateProc: true,
    noNetwork: false,
    endProcessesAtLogout: true,
  };
  return {
    record,
    op: {
      op: "write-host",
      hostPath: path,
      content: withThinSection(text, record, path),
      expected: text ?? null,
      whenAllDone: true,
      summary: renderThinSection(record).trimEnd().split("\n").join("; "),
      msg: { text: `Recording ${jail} as a thin jail in ${path}` },
    },
  };
}

/**
 * Plain jk_init on a thin jail would copy host files into its mount points, where the binds
 * hide them at every login: refused, so that turning a thin jail into a copied one is the
 * admin's explicit act (removing its jk_thin.ini section).
 */
function refuseThinJail(jail: string, configDir: string): void {
  const path = thinConfigPath(configDir);
  const text = readThinConfigText(path);
  if (text === undefined || parseIni(text, path, "c").section(jail) === undefined) return;
  throw new JailkitError(
    "unsafe-jail",
    `${jail} is a thin jail (section [${jail}] of ${path}): use jk_init --thin to complete it, ` +
      `or remove that section first to make it a copied jail`,
  );
}

/** A mount point's directory: root's, 0755. */
const MOUNT_POINT_ATTRS = { mode: 0o755, uid: 0, gid: 0 };

/**
 * Plans the mount point `inJail` (its parents mirrored from the host like any directory's) and
 * returns the operation, or undefined when the jail already has it as it must be.
 */
function planMountPoint(planner: CopyPlanner, inJail: string): Op | undefined {
  planner.emptyDir(posix.dirname(inJail));
  const now = lstatOrUndefined(planner.view.hostPath(inJail));
  if (
    now?.isDirectory && now.uid === 0 && now.gid === 0 && ((now.mode ?? 0) & 0o7777) === 0o755
  ) {
    return undefined;
  }
  const op: Op = {
    op: "mkdir",
    path: inJail,
    attrs: MOUNT_POINT_ATTRS,
    exact: true,
    msg: { text: `Creating mount point ${planner.view.hostPath(inJail)}` },
  };
  planner.plan.add(op);
  return op;
}

/**
 * The plan of a thin jail: every operation at or below a mount point goes (the session sees
 * the host there), except the mount points' own directories; ldconfig (planned only on a host
 * without a loader cache to copy) stays only for a jail without one or when files are still
 * copied (libraries outside the binds).
 */
function thinOps(
  ops: readonly Op[],
  points: readonly string[],
  own: readonly (Op | undefined)[],
  hasCache: boolean,
): Op[] {
  const kept = outsideMountPoints(ops, points, own);
  const copies = kept.some((o) => o.op === "copy" || o.op === "link");
  return kept.filter((o) => o.op !== "ldconfig" || !hasCache || copies);
}

function planSection(
  planner: CopyPlanner,
  s: ResolvedSection,
  opts: InitOptions,
  accounts: JailAccounts,
  socketd: SocketdConfig,
  programListings: Map<string, ReadonlySet<string> | null>,
): void {
  const base: CopyOptions = {
    force: opts.force,
    hardlink: opts.hardlink,
    keepOwner: false,
    keepSetid: false,
    glob: true,
    resolveLibs: true,
  };
  const notInstalled: string[] = [];
  const paths: string[] = [];
  for (const p of s.paths) {
    if (p.startsWith("/")) {
      paths.push(p);
      continue;
    }
    const found = locateProgram(p, undefined, programListings);
    if (found === undefined) notInstalled.push(p);
    else paths.push(found);
  }
  const before = planner.missing.length;
  planner.copyPaths(paths, base);
  planner.copyPaths(s.pathsWithOwner, { ...base, keepOwner: true });
  planner.copyPaths(s.pathsWithSetuid, { ...base, keepOwner: true, keepSetid: true, glob: false });
  for (const d of s.emptydirs) planner.emptyDir(d);
  planner.copyPaths(s.devices, { ...base, glob: false, resolveLibs: false });
  // Globs are optional by nature (multiarch alternatives); a literal path or program the
  // section names but this system lacks is reported once per section, with a prefix that
  // panels parsing our output already skip.
  for (const m of planner.missing.slice(before)) {
    if (m.glob) planner.plan.note(`Source file(s) ${m.path} do not exist`, { verbose: true });
    else notInstalled.push(m.path);
  }
  if (notInstalled.length > 0) {
    planner.plan.note(`skip [${s.name}]: not on this system: ${notInstalled.join(", ")}`);
  }
  for (const u of s.users) accounts.addUser(u, s.name);
  for (const g of s.groups) accounts.addGroup(g, s.name);
  if (s.needProc && opts.thin) {
    planner.plan.note(`[${s.name}] need_proc: the session mounts its own /proc (thin jail)`, {
      verbose: true,
    });
  } else if (s.needProc) planProc(planner, opts);
  if (s.needLogsocket) {
    planner.emptyDir("/dev");
    socketd.want();
  }
}

/** need_proc done right: JAIL/proc, one correct fstab line, and the mount itself. */
function planProc(planner: CopyPlanner, opts: InitOptions): void {
  const jail = planner.jail;
  planner.emptyDir("/proc");
  const mountPoint = `${jail}/proc`;
  const fstabPath = opts.hostFstab ?? "/etc/fstab";
  const fstab = readText(fstabPath) ?? "";
  const listed = fstab.split("\n").some((l) => {
    const f = l.trim().split(/\s+/);
    return !l.trimStart().startsWith("#") && f[1] === mountPoint;
  });
  if (!listed) {
    const sep = fstab === "" || fstab.endsWith("\n") ? "" : "\n";
    planner.plan.add({
      op: "append-host",
      hostPath: fstabPath,
      text: `${sep}proc\t${mountPoint}\tproc\tdefaults\t0\t0\n`,
      msg: { text: `Adding ${mountPoint} to ${fstabPath}` },
    });
  }
  const mountinfo = readText(opts.hostMountinfo ?? "/proc/self/mountinfo") ?? "";
  const mounted = mountinfo.split("\n").some((l) => l.split(" ")[4] === mountPoint);
  if (!mounted) {
    planner.plan.add({
      op: "run",
      argv: ["mount", "-t", "proc", "proc", mountPoint],
      msg: { text: `Mounting proc on ${mountPoint}` },
    });
  }
}

/** The `[JAIL/dev/log]` block in jk_socketd.ini, appended at most once. */
class SocketdConfig {
  #wanted = false;
  constructor(readonly jail: string, readonly path: string) {}

  want(): void {
    this.#wanted = true;
  }

  finish(planner: CopyPlanner): void {
    if (!this.#wanted) return;
    const header = `[${this.jail}/dev/log]`;
    const text = readText(this.path) ?? "";
    if (text.split(/\r?\n/).some((l) => l === header)) {
      planner.plan.note(`we already have ${this.jail}/dev/log in ${this.path}`, { verbose: true });
      return;
    }
    planner.plan.add({
      op: "append-host",
      hostPath: this.path,
      text: socketdBlock(this.jail),
      msg: { text: `Adding ${header} to ${this.path} (restart jk_socketd to create the socket)` },
    });
  }
}

/**
 * JAIL/etc/passwd and JAIL/etc/group: users and groups named by sections are copied from the
 * host once (matched by name or id), with password field `x` and, for groups, only members
 * that exist in the jail. Both files always exist after jk_init, as jailkit guaranteed.
 */
class JailAccounts {
  readonly #hostPasswd;
  readonly #hostGroup;
  readonly #passwdPath: string;
  readonly #groupPath: string;
  #passwd: string;
  #group: string;
  readonly #passwdExisted: boolean;
  readonly #groupExisted: boolean;
  #passwdChanged = false;
  #groupChanged = false;

  constructor(readonly planner: CopyPlanner, opts: InitOptions) {
    const hp = opts.hostPasswd ?? "/etc/passwd";
    const hg = opts.hostGroup ?? "/etc/group";
    this.#hostPasswd = parsePasswd(readText(hp) ?? "", hp);
    this.#hostGroup = parseGroup(readText(hg) ?? "", hg);
    const view = planner.view;
    this.#passwdPath = view.resolve("/etc/passwd", true);
    this.#groupPath = view.resolve("/etc/group", true);
    const p = readText(view.hostPath(this.#passwdPath));
    const g = readText(view.hostPath(this.#groupPath));
    this.#passwdExisted = p !== undefined;
    this.#groupExisted = g !== undefined;
    this.#passwd = p ?? "";
    this.#group = g ?? "";
  }

  #jailFile(path: string): string {
    return this.planner.view.hostPath(path);
  }

  addUser(nameOrUid: string, section: string): void {
    const jail = parsePasswd(this.#passwd, this.#jailFile(this.#passwdPath));
    const isId = /^[0-9]+$/.test(nameOrUid);
    const present = isId ? jail.byUid(Number(nameOrUid)) : jail.byName(nameOrUid);
    if (present) {
      this.planner.plan.note(`user ${nameOrUid} exists in ${this.#jailFile(this.#passwdPath)}`, {
        verbose: true,
      });
      return;
    }
    const host = isId
      ? this.#hostPasswd.byUid(Number(nameOrUid))
      : this.#hostPasswd.byName(nameOrUid);
    if (!host) {
      this.planner.plan.note(
        `WARNING: user ${nameOrUid} of section [${section}] does not exist on this system`,
        {
          stream: "stderr",
        },
      );
      return;
    }
    this.#passwd = appendPasswdEntry(jail, { ...host, password: "x" });
    this.#passwdChanged = true;
    this.planner.plan.note(`writing user ${host.name} to ${this.#jailFile(this.#passwdPath)}`, {
      verbose: true,
    });
    const primary = this.#hostGroup.byGid(host.gid);
    if (primary) this.addGroup(primary.name, section);
  }

  addGroup(nameOrGid: string, section: string): void {
    const jail = parseGroup(this.#group, this.#jailFile(this.#groupPath));
    const isId = /^[0-9]+$/.test(nameOrGid);
    const present = isId ? jail.byGid(Number(nameOrGid)) : jail.byName(nameOrGid);
    if (present) {
      this.planner.plan.note(`group ${nameOrGid} exists in ${this.#jailFile(this.#groupPath)}`, {
        verbose: true,
      });
      return;
    }
    const host = isId
      ? this.#hostGroup.byGid(Number(nameOrGid))
      : this.#hostGroup.byName(nameOrGid);
    if (!host) {
      this.planner.plan.note(
        `WARNING: group ${nameOrGid} of section [${section}] does not exist on this system`,
        {
          stream: "stderr",
        },
      );
      return;
    }
    const jailUsers = parsePasswd(this.#passwd, this.#passwdPath);
    const members = host.members.filter((m) => jailUsers.byName(m) !== undefined);
    this.#group = appendGroupEntry(jail, { ...host, password: "x", members });
    this.#groupChanged = true;
    this.planner.plan.note(`writing group ${host.name} to ${this.#jailFile(this.#groupPath)}`, {
      verbose: true,
    });
  }

  finish(): void {
    if (this.#passwdChanged || !this.#passwdExisted || this.#groupChanged || !this.#groupExisted) {
      this.planner.emptyDir(posix.dirname(this.#passwdPath));
    }
    const attrs = { mode: 0o644, uid: 0, gid: 0 };
    if (this.#passwdChanged || !this.#passwdExisted) {
      this.planner.plan.add({ op: "write", path: this.#passwdPath, content: this.#passwd, attrs });
    }
    if (this.#groupChanged || !this.#groupExisted) {
      this.planner.plan.add({ op: "write", path: this.#groupPath, content: this.#group, attrs });
    }
  }
}
