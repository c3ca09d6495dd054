/**
 * `deno task install [--prefix DIR] [--destdir DIR]` — installs the offline "script" flavour:
 *
 *   PREFIX/lib/jailkit/deno              the pinned Deno runtime (tools/deno/node_modules/deno/deno)
 *   PREFIX/lib/jailkit/{mod.ts,cli,lib,ffi,data}   our sources and default ini files
 *   PREFIX/lib/jailkit/cli/NAME.js       the login entries (jk_chrootsh, jk_lsh, jk_uchroot,
 *                                        jk_procmailwrapper) bundled into one file each, which
 *                                        their launchers run: a login starts faster (ToolSpec.bundle)
 *   PREFIX/lib/jailkit/deno-dir          DENO_DIR: the transpiled sources (gen/), filled now; the
 *                                        runtime's cache databases sealed (SEALED_CACHES), so no
 *                                        run writes anything there
 *   PREFIX/lib/jailkit/jk_lsh_standalone marks a jail's copy of LIBDIR as wanted (see below)
 *   PREFIX/lib/jailkit/jk_socketd_supervisor   jk_socketd's native supervisor
 *                                        (ffi/jk_socketd_supervisor.c), which jk_socketd execs
 *   PREFIX/sbin/jk_*, PREFIX/bin/jk_uchroot   the native launchers (ffi/jk_launcher.c), one per
 *                                        tool with cli/<tool>.ts; setuid root: jk_chrootsh,
 *                                        jk_uchroot, jk_procmailwrapper; jk_lsh's carries the
 *                                        in-jail entry marker (LSH_ENTRY)
 *   DESTDIR/etc/jailkit/*.ini            the defaults from data/, never over an admin's file
 *   PREFIX/share/man/manN/*.N            man pages from man/
 *
 * Everything is root:root and not group/other writable; so is every directory above the
 * launchers and the runtime (checked: a writable ancestor would let its owner swap what the
 * setuid launcher runs). Files are replaced by rename, so running tools never see half a file.
 *
 * PREFIX is compiled into the launchers, and jk_init.ini (the /etc copy and the bundled one) is
 * rewritten so that [jk_lsh] names PREFIX/sbin/jk_lsh (only that entry point goes into a jail:
 * jk_chrootsh runs the session from this installation) and [jk_lsh_standalone] names
 * PREFIX/lib/jailkit (the runtime and sources, for jails where sshd's ChrootDirectory or su
 * starts jk_lsh). With --destdir (staging for a package) the module cache cannot be filled,
 * because its entries are keyed by the final paths; the command that fills and seals it is
 * printed instead.
 */
import { lchownSync } from "node:fs";
import { join, posix } from "node:path";
import { parseIni } from "../lib/config/ini.ts";
// Installed in LIBDIR, so a jail's copy of LIBDIR made by [jk_lsh_standalone] carries it, while
// the runtime copy an older build put into every jk_lsh jail does not.
import { STANDALONE_MARKER } from "../lib/engine/runtime_copy.ts";
import { parseToolOptions } from "./options.ts";

export interface ToolSpec {
  readonly name: string;
  readonly dir: "sbin" | "bin";
  readonly setuid: boolean;
  /** The launcher hands fd 3 through (ffi/jk_launcher.c KEEP_FD3). */
  readonly keepFd3?: boolean;
  /** The launcher carries jk_lsh's in-jail entry marker (ffi/jk_launcher.c LSH_ENTRY). */
  readonly lshEntry?: boolean;
  /**
   * A login entry: installed also as one bundled file, cli/NAME.js, which its launcher runs.
   * With the module cache sealed, the runtime parses every module of a login at each start;
   * one file of plain JavaScript saves about 25 ms of CPU per login (bench/sftp_bench.ts).
   */
  readonly bundle?: boolean;
}

export const TOOLS: readonly ToolSpec[] = [
  { name: "jk_init", dir: "sbin", setuid: false },
  { name: "jk_cp", dir: "sbin", setuid: false },
  { name: "jk_chrootsh", dir: "sbin", setuid: true, bundle: true },
  { name: "jk_lsh", dir: "sbin", setuid: false, lshEntry: true, bundle: true },
  { name: "jk_jailuser", dir: "sbin", setuid: false },
  { name: "jk_uchroot", dir: "bin", setuid: true, bundle: true },
  { name: "jk_chrootlaunch", dir: "sbin", setuid: false },
  { name: "jk_socketd", dir: "sbin", setuid: false },
  { name: "jk_check", dir: "sbin", setuid: false },
  { name: "jk_update", dir: "sbin", setuid: false },
  { name: "jk_list", dir: "sbin", setuid: false },
  { name: "jk_procmailwrapper", dir: "bin", setuid: true, keepFd3: true, bundle: true },
];

/** The flags the launcher gives the runtime, minus `run`; `deno cache` must match them. */
const CACHE_FLAGS = ["--no-config", "--no-lock", "--no-remote", "--no-npm", "--quiet"];

export const CFLAGS = [
  "-O2",
  "-Wall",
  "-Wextra",
  "-Werror",
  "-D_FORTIFY_SOURCE=2",
  "-fstack-protector-strong",
  "-pie",
  "-fPIE",
];

export class InstallError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "InstallError";
  }
}

/**
 * An absolute, normalised path made of characters that are safe inside a C string literal and
 * an ini list (no quotes, backslashes, commas, blanks).
 */
export function checkInstallPath(what: string, path: string): string {
  if (!/^\/[A-Za-z0-9._+/-]*$/.test(path)) {
    throw new InstallError(
      `${what} ${JSON.stringify(path)} must be an absolute path of letters, digits and ._+-/`,
    );
  }
  const normal = posix.normalize(path).replace(/(.)\/+$/, "$1");
  if (normal !== path.replace(/(.)\/+$/, "$1") || path.split("/").includes("..")) {
    throw new InstallError(`${what} ${path} must be normalised (no //, . or ..)`);
  }
  return normal;
}

export interface Layout {
  readonly prefix: string;
  /** "" or an absolute staging directory. */
  readonly destdir: string;
  /** Final (run-time) paths; `prefix` is "" for --prefix /. */
  readonly libdir: string;
  readonly denoDir: string;
  readonly etcDir: string;
  /** Where a final path is written now. */
  stage(path: string): string;
  launcher(tool: ToolSpec): string;
}

export function layout(prefix: string, destdir: string): Layout {
  const p = checkInstallPath("--prefix", prefix);
  const d = destdir === "" ? "" : checkInstallPath("--destdir", destdir);
  const base = p === "/" ? "" : p;
  const stageBase = d === "/" ? "" : d;
  const libdir = `${base}/lib/jailkit`;
  return {
    prefix: base,
    destdir: stageBase,
    libdir,
    denoDir: `${libdir}/deno-dir`,
    etcDir: "/etc/jailkit",
    stage: (path: string) => stageBase + path,
    launcher: (tool: ToolSpec) => `${base}/${tool.dir}/${tool.name}`,
  };
}

// ---------------------------------------------------------------------------------------------
// jk_init.ini: [jk_lsh] brings the entry point, [jk_lsh_standalone] the runtime as well

const DEFAULT_LSH = "/usr/sbin/jk_lsh";
const DEFAULT_LIBDIR = "/usr/lib/jailkit";
export const STANDALONE_SECTION = "jk_lsh_standalone";

/** Every list item `from` outside comment lines becomes `to`. */
function replaceItem(lines: string[], from: string, to: string): void {
  if (from === to) return;
  const item = new RegExp(`(^|[=,:\\s])${from.replaceAll("/", "\\/")}(?=\\s*(,|$))`, "g");
  for (let i = 0; i < lines.length; i++) {
    if (!lines[i].trimStart().startsWith("#")) lines[i] = lines[i].replace(item, `$1${to}`);
  }
}

/**
 * Rewrites jk_init.ini text for an installation: every `/usr/sbin/jk_lsh` list item becomes
 * `lshPath` and every `/usr/lib/jailkit` item `libdir`. Throws unless the result's [jk_lsh]
 * lists `lshPath` and its [jk_lsh_standalone] lists `libdir`. Pure; checked by re-parsing.
 */
export function rewriteJkInitIni(text: string, lshPath: string, libdir: string): string {
  parseIni(text, "jk_init.ini", "python");
  const lines = text.split("\n");
  replaceItem(lines, DEFAULT_LSH, lshPath);
  replaceItem(lines, DEFAULT_LIBDIR, libdir);
  const result = lines.join("\n");
  const problems = jkInitIniMisses(result, lshPath, libdir);
  if (problems.length > 0) throw new InstallError(`jk_init.ini: ${problems.join("; ")}`);
  return result;
}

/** A section's own `paths` list (python dialect, DEFAULT inherited). */
function pathsOf(ini: ReturnType<typeof parseIni>, section: string): string[] | undefined {
  const s = ini.section(section);
  if (!s) return undefined;
  const value = s.own("paths")?.value ?? s.defaults?.own("paths")?.value ?? "";
  return value.split(",").map((v) => v.trim()).filter((v) => v !== "");
}

/**
 * What keeps a jk_init.ini (an admin's kept one, or ours after the rewrite) from giving small
 * jk_lsh jails and working standalone ones; empty when nothing does.
 */
export function jkInitIniMisses(text: string, lshPath: string, libdir: string): string[] {
  let ini;
  try {
    ini = parseIni(text, "jk_init.ini", "python");
  } catch (e) {
    return [(e as Error).message];
  }
  const problems: string[] = [];
  const lsh = pathsOf(ini, "jk_lsh");
  if (lsh === undefined) problems.push("no [jk_lsh] section");
  else if (!lsh.includes(lshPath)) problems.push(`[jk_lsh] does not list ${lshPath}`);
  else if (lsh.includes(libdir)) {
    problems.push(`[jk_lsh] lists ${libdir}, so every jk_lsh jail gets a copy of the runtime`);
  }
  const standalone = pathsOf(ini, STANDALONE_SECTION);
  if (standalone === undefined) problems.push(`no [${STANDALONE_SECTION}] section`);
  else if (!standalone.includes(libdir)) {
    problems.push(`[${STANDALONE_SECTION}] does not list ${libdir}`);
  }
  return problems;
}

// ---------------------------------------------------------------------------------------------
// Acting

const REPO = new URL("..", import.meta.url).pathname.replace(/\/$/, "");

function lstatOrUndefined(path: string): Deno.FileInfo | undefined {
  try {
    return Deno.lstatSync(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw e;
  }
}

/** mkdir -p; every directory it creates is root:root 0755. */
function ensureDir(path: string): void {
  const st = lstatOrUndefined(path);
  if (st?.isDirectory) return;
  if (st && !(st.isSymlink && Deno.statSync(path).isDirectory)) {
    throw new InstallError(`${path} exists and is not a directory`);
  }
  if (st) return;
  ensureDir(posix.dirname(path));
  Deno.mkdirSync(path, { mode: 0o755 });
  Deno.chownSync(path, 0, 0);
  Deno.chmodSync(path, 0o755);
}

/**
 * Puts a copy of `src` (or `data`) at `dst` with `mode`, root:root, by rename from a temporary
 * name in the same directory. chown comes before chmod because chown clears set-id bits.
 */
function installFile(
  dst: string,
  mode: number,
  from: { src: string } | { data: Uint8Array },
): void {
  ensureDir(posix.dirname(dst));
  const tmp = `${dst}.jk-install-${crypto.randomUUID().slice(0, 8)}`;
  try {
    if ("src" in from) {
      Deno.copyFileSync(from.src, tmp);
    } else {
      Deno.writeFileSync(tmp, from.data, { createNew: true, mode: 0o600 });
    }
    Deno.chownSync(tmp, 0, 0);
    Deno.chmodSync(tmp, mode);
    Deno.renameSync(tmp, dst);
  } catch (e) {
    try {
      Deno.removeSync(tmp);
    } catch {
      // never created
    }
    throw e;
  }
}

function regularFiles(dir: string, filter: (name: string) => boolean): string[] {
  const names: string[] = [];
  for (const e of Deno.readDirSync(dir)) if (e.isFile && filter(e.name)) names.push(e.name);
  return names.sort();
}

/**
 * Copies the named files of REPO/dir into `target` and removes whatever else is there, except
 * the subdirectories named in `keep`.
 */
function syncDir(dir: string, target: string, names: string[], mode: number, keep: string[] = []) {
  ensureDir(target);
  for (const name of names) installFile(join(target, name), mode, { src: join(REPO, dir, name) });
  for (const e of Deno.readDirSync(target)) {
    if (!names.includes(e.name) && !keep.includes(e.name)) {
      Deno.removeSync(join(target, e.name), { recursive: true });
    }
  }
}

/** syncDir for the TypeScript sources of REPO/dir and of every folder below it. */
function syncSources(dir: string, target: string): void {
  const subdirs = [...Deno.readDirSync(join(REPO, dir))].filter((e) => e.isDirectory)
    .map((e) => e.name).sort();
  syncDir(dir, target, regularFiles(join(REPO, dir), (n) => n.endsWith(".ts")), 0o644, subdirs);
  for (const sub of subdirs) syncSources(join(dir, sub), join(target, sub));
}

async function compileLauncher(
  out: string,
  tool: ToolSpec,
  libdir: string,
  bundled: boolean,
): Promise<void> {
  const args = [
    ...CFLAGS,
    `-DTOOL_NAME="${tool.name}"`,
    `-DLIBDIR="${libdir}"`,
    ...(bundled ? ['-DSCRIPT_EXT=".js"'] : []),
    `-DSETUID_ENTRY=${tool.setuid ? 1 : 0}`,
    `-DKEEP_FD3=${tool.keepFd3 ? 1 : 0}`,
    `-DLSH_ENTRY=${tool.lshEntry ? 1 : 0}`,
    "-o",
    out,
    join(REPO, "ffi", "jk_launcher.c"),
  ];
  const r = await new Deno.Command("cc", { args, stdout: "piped", stderr: "piped" }).output();
  if (!r.success) {
    throw new InstallError(
      `cc failed for ${tool.name}:\n${new TextDecoder().decode(r.stderr)}`,
    );
  }
}

/** The native supervisor jk_socketd execs (lib/socketd/supervisor.ts SUPERVISOR_NAME). */
export const SUPERVISOR = "jk_socketd_supervisor";

/** Compiles ffi/jk_socketd_supervisor.c into `out`, with the launchers' flags. */
export async function compileSupervisor(out: string): Promise<void> {
  const args = [...CFLAGS, "-o", out, join(REPO, "ffi", `${SUPERVISOR}.c`)];
  const r = await new Deno.Command("cc", { args, stdout: "piped", stderr: "piped" }).output();
  if (!r.success) {
    throw new InstallError(`cc failed for ${SUPERVISOR}:\n${new TextDecoder().decode(r.stderr)}`);
  }
}

/**
 * Builds the supervisor where jk_socketd looks for it when run from this checkout
 * (REPO/out/jk_socketd_supervisor), replacing it by rename so a running daemon is not disturbed.
 */
export async function buildCheckoutSupervisor(): Promise<string> {
  const dir = join(REPO, "out");
  Deno.mkdirSync(dir, { recursive: true });
  const target = join(dir, SUPERVISOR);
  const temp = `${target}.${crypto.randomUUID().slice(0, 8)}`;
  try {
    await compileSupervisor(temp);
    Deno.renameSync(temp, target);
  } finally {
    if (lstatOrUndefined(temp)) Deno.removeSync(temp);
  }
  return target;
}

/**
 * The esbuild release the pinned runtime's `deno bundle` runs. tools/deno/package.json pins the
 * same release of npm's @esbuild/linux-<cpu> package, so `npm ci` fetches it with the runtime and
 * no install or package build reaches the network (tests/install_test.ts fails when the runtime
 * wants another release).
 */
const ESBUILD_VERSION = "0.25.5";

/**
 * A DENO_DIR for `deno bundle` in `build` holding the pinned esbuild where the runtime looks
 * before it downloads one (dl/esbuild-VERSION-1/esbuild-linux-CPU), or undefined when
 * `npm ci` did not install it (another architecture): the bundler then uses the caller's
 * DENO_DIR and fetches esbuild itself.
 */
function bundlerDenoDir(build: string): string | undefined {
  const cpu = Deno.build.arch === "aarch64" ? "arm64" : "x64";
  const pinned = join(REPO, "tools", "deno", "node_modules", "@esbuild", `linux-${cpu}`);
  let version: unknown;
  try {
    version = JSON.parse(Deno.readTextFileSync(join(pinned, "package.json"))).version;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw e;
  }
  if (version !== ESBUILD_VERSION) {
    throw new InstallError(
      `${pinned} is esbuild ${String(version)}, not ${ESBUILD_VERSION}: run npm ci --prefix ` +
        "tools/deno",
    );
  }
  const denoDir = join(build, "bundler-deno-dir");
  const dl = join(denoDir, "dl", `esbuild-${ESBUILD_VERSION}-1`);
  Deno.mkdirSync(dl, { recursive: true, mode: 0o700 });
  Deno.copyFileSync(join(pinned, "bin", "esbuild"), join(dl, `esbuild-linux-${cpu}`));
  Deno.chmodSync(join(dl, `esbuild-linux-${cpu}`), 0o700);
  return denoDir;
}

/**
 * Bundles REPO/cli/NAME.ts and what it imports into one JavaScript file at `out` with the
 * runtime's own bundler (`deno bundle`), whose esbuild comes from `denoDir` (bundlerDenoDir)
 * or else is fetched into the caller's DENO_DIR. Returns why it failed, or undefined.
 */
async function bundleEntry(
  runtime: string,
  name: string,
  out: string,
  denoDir: string | undefined,
): Promise<string | undefined> {
  const r = await new Deno.Command(runtime, {
    args: [
      "bundle",
      "--quiet",
      ...CACHE_FLAGS.filter((f) => f !== "--quiet"),
      "--platform",
      "deno",
      // No comments or blanks to scan at every start (~5 ms CPU); names stay for stack traces.
      "--minify",
      "--keep-names",
      "--output",
      out,
      `cli/${name}.ts`,
    ],
    cwd: REPO,
    ...(denoDir === undefined ? {} : { env: { DENO_DIR: denoDir } }),
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (r.success && lstatOrUndefined(out)?.isFile) return undefined;
  return new TextDecoder().decode(r.stderr).trim() || `exit ${r.code}`;
}

/** `deno cache` as the launcher would run the tools: same DENO_DIR, HOME and flags. */
export function cacheCommand(l: Layout, scripts: readonly string[]): string[] {
  return [
    `DENO_DIR=${l.denoDir}`,
    `HOME=${l.denoDir}`,
    "DENO_NO_UPDATE_CHECK=1",
    "NO_COLOR=1",
    `${l.libdir}/deno`,
    "cache",
    ...CACHE_FLAGS,
    ...scripts,
  ];
}

/**
 * The runtime's SQLite caches (module and CommonJS analysis, V8 code) that `deno run` opens
 * read-write at every start, creating `-wal`/`-shm` files next to them, as root in the setuid
 * tools. Each is made a directory: SQLite cannot open a directory, Deno then keeps that cache
 * in memory for the run (it also tries to unlink the path, which fails for a directory), and
 * nothing under DENO_DIR is written. `node_compat_bin` is the directory Deno creates at every
 * start when missing. The transpiled sources under `gen/` stay the only cache that is read.
 */
export const SEALED_CACHES = [
  "dep_analysis_cache_v2",
  "node_analysis_cache_v2",
  "v8_code_cache_v2",
] as const;
const RUNTIME_DIRS = ["node_compat_bin"] as const;

/** Replaces DENO_DIR's cache databases by directories (see SEALED_CACHES). */
export function sealDenoDir(denoDir: string): void {
  for (const e of Deno.readDirSync(denoDir)) {
    if (SEALED_CACHES.some((c) => e.name.startsWith(c))) {
      Deno.removeSync(join(denoDir, e.name), { recursive: true });
    }
  }
  for (const name of [...SEALED_CACHES, ...RUNTIME_DIRS]) ensureDir(join(denoDir, name));
}

/** The shell form of sealDenoDir, for the command printed after a --destdir install. */
export function sealCommand(l: Layout): string {
  const names = SEALED_CACHES.map((c) => `${c}*`).join(" ");
  const dirs = [...SEALED_CACHES, ...RUNTIME_DIRS].join(" ");
  return `cd ${l.denoDir} && rm -rf ${names} && mkdir -m 0755 ${dirs}`;
}

/** Everything under `path`: root:root, no group/other write, no set-id bits. */
function enforceOwnership(path: string): void {
  const st = Deno.lstatSync(path);
  if (st.isSymlink) {
    lchownSync(path, 0, 0); // Deno.chown would follow the link
    return;
  }
  Deno.chownSync(path, 0, 0);
  Deno.chmodSync(path, (st.mode ?? 0) & 0o755);
  if (st.isDirectory) {
    for (const e of Deno.readDirSync(path)) enforceOwnership(join(path, e.name));
  }
}

/**
 * Refuses when a directory that holds (or will hold) `path` is writable by anyone but root,
 * or a symlink on the way is not root's: its owner could swap what a setuid launcher runs.
 * With a staging directory only the part below it is checked.
 */
function checkChain(path: string, stagingTop: string): void {
  let existing = path;
  while (!lstatOrUndefined(existing)) existing = posix.dirname(existing);
  const top = stagingTop === "" ? "/" : Deno.realPathSync(stagingTop);
  const check = (dir: string) => {
    if (top !== "/" && dir !== top && !dir.startsWith(`${top}/`)) return;
    const st = Deno.lstatSync(dir);
    if (st.uid !== 0) {
      throw new InstallError(
        `${dir} is owned by uid ${st.uid}: a setuid launcher below it would run whatever ` +
          `its owner puts there`,
      );
    }
    if (!st.isSymlink && ((st.mode ?? 0) & 0o022) !== 0) {
      throw new InstallError(
        `${dir} is group/world writable: a setuid launcher below it would run whatever ` +
          `others put there`,
      );
    }
  };
  let at = "";
  check("/");
  for (const part of existing.split("/").filter((p) => p !== "")) {
    at += `/${part}`;
    if (lstatOrUndefined(at)?.isSymlink) check(at);
  }
  at = "";
  for (const part of Deno.realPathSync(existing).split("/").filter((p) => p !== "")) {
    at += `/${part}`;
    check(at);
  }
}

export interface InstallReport {
  readonly layout: Layout;
  readonly installed: string[];
  readonly skippedTools: string[];
  readonly keptConfigs: string[];
  readonly newConfigs: string[];
  readonly warnings: string[];
  /** Set when the module cache could not be filled (--destdir): the command to run later. */
  readonly cacheLater?: string;
}

export async function install(prefix: string, destdir: string): Promise<InstallReport> {
  if (Deno.uid() !== 0) throw new InstallError("must run as root (files are installed root:root)");
  const l = layout(prefix, destdir);
  const runtime = join(REPO, "tools", "deno", "node_modules", "deno", "deno");
  if (!lstatOrUndefined(runtime)) {
    throw new InstallError(`${runtime} is missing: run npm ci --prefix tools/deno`);
  }
  const installed: string[] = [];
  const skippedTools: string[] = [];
  const keptConfigs: string[] = [];
  const newConfigs: string[] = [];
  const warnings: string[] = [];
  const lib = l.stage(l.libdir);

  for (const dir of [lib, l.stage(`${l.prefix}/sbin`), l.stage(`${l.prefix}/bin`)]) {
    checkChain(dir, l.destdir);
  }

  // Bundles and launchers are built first, so a failure changes nothing. A login entry whose
  // bundle cannot be built (no pinned esbuild and no network) runs from its sources, only slower.
  const build = Deno.makeTempDirSync({ prefix: "jk-launchers-" });
  const built = new Map<ToolSpec, string>();
  const bundles = new Map<ToolSpec, string>();
  let cacheLater: string | undefined;
  try {
    const bundlerDir = bundlerDenoDir(build);
    for (const tool of TOOLS) {
      if (!lstatOrUndefined(join(REPO, "cli", `${tool.name}.ts`))) {
        skippedTools.push(tool.name);
        continue;
      }
      if (tool.bundle) {
        const js = join(build, `${tool.name}.js`);
        const failed = await bundleEntry(runtime, tool.name, js, bundlerDir);
        if (failed === undefined) bundles.set(tool, js);
        else warnings.push(`${tool.name} runs from its sources (slower start): ${failed}`);
      }
      const out = join(build, tool.name);
      await compileLauncher(out, tool, l.libdir, bundles.has(tool));
      built.set(tool, out);
    }
    await compileSupervisor(join(build, SUPERVISOR));

    ensureDir(lib);
    installFile(`${lib}/deno`, 0o755, { src: runtime });
    installed.push(`${l.libdir}/deno`);
    if (lstatOrUndefined(join(REPO, "mod.ts"))) {
      installFile(`${lib}/mod.ts`, 0o644, { src: join(REPO, "mod.ts") });
    }
    for (const dir of ["cli", "lib", "ffi"]) {
      syncSources(dir, `${lib}/${dir}`);
      installed.push(`${l.libdir}/${dir}/`);
    }
    for (const [tool, js] of bundles) {
      installFile(`${lib}/cli/${tool.name}.js`, 0o644, { src: js });
      installed.push(`${l.libdir}/cli/${tool.name}.js (bundled)`);
    }
    syncDir("data", `${lib}/data`, regularFiles(join(REPO, "data"), () => true), 0o644);
    installed.push(`${l.libdir}/data/`);

    installFile(`${lib}/${SUPERVISOR}`, 0o755, { src: join(build, SUPERVISOR) });
    installed.push(`${l.libdir}/${SUPERVISOR}`);
    installFile(`${lib}/${STANDALONE_MARKER}`, 0o644, {
      data: new TextEncoder().encode(
        "A jail holding this file got the jailkit-deno runtime from jk_init's " +
          `[${STANDALONE_SECTION}] section on purpose: jk_update keeps it there.\n`,
      ),
    });
    const lshPath = l.launcher(TOOLS.find((t) => t.name === "jk_lsh")!);
    const jkInit = join(REPO, "data", "jk_init.ini");
    if (lstatOrUndefined(jkInit)) {
      const text = rewriteJkInitIni(Deno.readTextFileSync(jkInit), lshPath, l.libdir);
      installFile(`${lib}/data/jk_init.ini`, 0o644, { data: new TextEncoder().encode(text) });
    }

    // The module cache is keyed by the final paths of the sources.
    const denoDir = l.stage(l.denoDir);
    if (lstatOrUndefined(denoDir)) Deno.removeSync(denoDir, { recursive: true });
    ensureDir(denoDir);
    const scripts = [...built.keys()].map((t) => `${l.libdir}/cli/${t.name}.ts`);
    const [envDir, envHome, envNoUpdate, envNoColor, cmd, ...args] = cacheCommand(l, scripts);
    if (l.destdir === "") {
      const r = await new Deno.Command(cmd, {
        args,
        env: Object.fromEntries(
          [envDir, envHome, envNoUpdate, envNoColor].map((e) => e.split(/=(.*)/s, 2)),
        ),
        clearEnv: true,
        cwd: "/",
        stdout: "piped",
        stderr: "piped",
      }).output();
      if (!r.success) {
        throw new InstallError(`deno cache failed:\n${new TextDecoder().decode(r.stderr)}`);
      }
      sealDenoDir(denoDir);
    } else {
      cacheLater = `env -i ${cacheCommand(l, scripts).join(" ")} && ${sealCommand(l)}`;
    }
    installed.push(`${l.denoDir}/`);
    enforceOwnership(lib);

    for (const [tool, out] of built) {
      installFile(l.stage(l.launcher(tool)), tool.setuid ? 0o4755 : 0o755, { src: out });
      installed.push(`${l.launcher(tool)} (${tool.setuid ? "4755, setuid root" : "0755"})`);
    }
  } finally {
    Deno.removeSync(build, { recursive: true });
  }

  // Default configuration, never over an admin's file.
  const etc = l.stage(l.etcDir);
  ensureDir(etc);
  const etcStat = Deno.lstatSync(etc);
  if (etcStat.uid !== 0 || etcStat.gid !== 0 || ((etcStat.mode ?? 0) & 0o002) !== 0) {
    warnings.push(
      `${l.etcDir} is not root:root or is world writable: jk_chrootsh and jk_uchroot refuse ` +
        `to run (exit 14) until it is fixed`,
    );
  }
  for (const name of regularFiles(join(REPO, "data"), (n) => n.endsWith(".ini"))) {
    const dst = `${etc}/${name}`;
    if (lstatOrUndefined(dst)) {
      keptConfigs.push(`${l.etcDir}/${name}`);
      if (name === "jk_init.ini") {
        const misses = jkInitIniMisses(
          Deno.readTextFileSync(dst),
          l.launcher(TOOLS.find((t) => t.name === "jk_lsh")!),
          l.libdir,
        );
        for (const problem of misses) {
          warnings.push(
            `the kept ${l.etcDir}/jk_init.ini: ${problem}; compare it with ` +
              `${l.libdir}/data/jk_init.ini`,
          );
        }
      }
      continue;
    }
    const data = Deno.readFileSync(
      name === "jk_init.ini" ? `${lib}/data/${name}` : join(REPO, "data", name),
    );
    installFile(dst, 0o644, { data });
    newConfigs.push(`${l.etcDir}/${name}`);
  }

  const manDir = join(REPO, "man");
  if (lstatOrUndefined(manDir)) {
    for (const name of regularFiles(manDir, (n) => /\.[1-8]$/.test(n))) {
      const path = `${l.prefix}/share/man/man${name.slice(-1)}/${name}`;
      installFile(l.stage(path), 0o644, { src: join(manDir, name) });
      installed.push(path);
    }
  }
  return { layout: l, installed, skippedTools, keptConfigs, newConfigs, warnings, cacheLater };
}

const COMMAND = {
  command: "deno task install",
  options: {
    prefix: { type: "string", arg: "DIR", default: "/usr" },
    destdir: { type: "string", arg: "DIR", default: "" },
    supervisor: { type: "boolean" },
  },
  about: `
Installs jailkit-deno (runtime, sources, launchers, default configs, man pages) as root.
  --prefix DIR   installation prefix compiled into the launchers (default /usr)
  --destdir DIR  staging directory prepended to every path written (packaging)
  --supervisor   only build jk_socketd's supervisor into out/, for running it from this checkout`,
} as const;

async function main(): Promise<number> {
  const values = parseToolOptions(COMMAND);
  try {
    if (values.supervisor) {
      console.log(`built ${await buildCheckoutSupervisor()}`);
      return 0;
    }
    const r = await install(values.prefix, values.destdir);
    const at = r.layout.destdir === "" ? "" : ` (staged under ${r.layout.destdir})`;
    console.log(`installed${at}:`);
    for (const p of r.installed) console.log(`  ${p}`);
    for (const p of r.newConfigs) console.log(`  ${p} (new, 0644)`);
    for (const p of r.keptConfigs) console.log(`kept existing ${p} (not overwritten)`);
    if (r.skippedTools.length > 0) {
      console.log(`skipped (no cli/<tool>.ts yet): ${r.skippedTools.join(", ")}`);
    }
    if (r.cacheLater) {
      console.log(`module cache not filled (--destdir); on the target system run as root:`);
      console.log(`  ${r.cacheLater}`);
    }
    for (const w of r.warnings) console.log(`WARNING: ${w}`);
    return 0;
  } catch (e) {
    if (e instanceof InstallError) {
      console.error(`install: ${e.message}`);
      return 1;
    }
    throw e;
  }
}

if (import.meta.main) Deno.exit(await main());
