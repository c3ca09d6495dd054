/**
 * The one executor: carries out a plan, prints it (--dry-run) or reports it as JSON (--json).
 *
 * Before each write it re-walks the destination's parent directories with lstat and refuses a
 * symlink or non-directory anywhere (the plan only contains canonical paths, so a symlink there
 * means the jail changed since planning). Files are written to a fresh temp name opened with
 * O_CREAT|O_EXCL|O_NOFOLLOW and renamed into place, so an existing destination symlink is
 * replaced, never written through.
 */
import * as fs from "node:fs";
import { posix } from "node:path";
import { JailkitError } from "./errors.ts";
import type { Attrs, Op, Plan } from "./plan.ts";
import { components } from "./jailpath.ts";
import { mknod } from "../ffi/libc.ts";

const { O_RDONLY, O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW } = fs.constants;
const COPY_CHUNK = 1 << 20;
/** One copy buffer for the whole run: allocating (and zeroing) 1 MiB per file dominated. */
let copyBuffer: Uint8Array | undefined;

export type OpStatus = "planned" | "done" | "failed";

export interface OpResult {
  op: Op;
  status: OpStatus;
  error?: string;
}

export interface ApplyOptions {
  mode: "apply" | "dry-run";
  verbose: boolean;
  /** Receives every human-readable line; absent in --json mode (stdout carries only JSON). */
  print?: (stream: "stdout" | "stderr", line: string) => void;
}

export interface ApplyResult {
  results: OpResult[];
  failed: number;
}

/** Where printing goes by default: the process's stdout/stderr, one line at a time. */
export function consolePrinter(stream: "stdout" | "stderr", line: string): void {
  const bytes = new TextEncoder().encode(line + "\n");
  (stream === "stdout" ? Deno.stdout : Deno.stderr).writeSync(bytes);
}

function octal(mode: number): string {
  return (mode & 0o7777).toString(8).padStart(4, "0");
}

function attrText(a: Attrs): string {
  return `${octal(a.mode)} ${a.uid}:${a.gid}`;
}

function hostOf(plan: Plan, inJail: string): string {
  return inJail === "/" ? plan.jail : plan.jail + inJail;
}

/** One line describing an operation, for --dry-run. */
export function describeOp(plan: Plan, op: Op): string {
  switch (op.op) {
    case "mkdir":
      return `mkdir ${hostOf(plan, op.path)} (${attrText(op.attrs)})`;
    case "copy":
      return `copy ${op.src} -> ${hostOf(plan, op.path)} (${attrText(op.attrs)})${
        op.replace ? " replacing" : ""
      }`;
    case "link":
      return `hardlink ${op.src} -> ${hostOf(plan, op.path)} (copy ${
        attrText(op.attrs)
      } if linking fails)`;
    case "symlink":
      return `symlink ${hostOf(plan, op.path)} -> ${op.target}${op.replace ? " replacing" : ""}`;
    case "mknod":
      return `mknod ${hostOf(plan, op.path)} ${op.kind} ${op.major} ${op.minor} (${
        attrText(op.attrs)
      })`;
    case "write":
      return `write ${hostOf(plan, op.path)} (${
        new TextEncoder().encode(op.content).length
      } bytes, ${attrText(op.attrs)})`;
    case "append-host":
      return `append to ${op.hostPath}: ${JSON.stringify(op.text)}`;
    case "ldconfig":
      return `ldconfig -X -r ${plan.jail}`;
    case "run":
      return `run ${op.argv.map((a) => JSON.stringify(a)).join(" ")}`;
    case "remove":
      return `remove ${op.what} ${hostOf(plan, op.path)}`;
    case "note":
      return op.msg.text;
  }
}

/** Carries out (or, in dry-run mode, describes) every operation in order. */
export function applyPlan(plan: Plan, opts: ApplyOptions): ApplyResult {
  const results: OpResult[] = [];
  const print = opts.print;
  const say = (
    msg: { text: string; verbose?: boolean; stream?: "stdout" | "stderr" } | undefined,
  ) => {
    if (msg && print && (!msg.verbose || opts.verbose)) print(msg.stream ?? "stdout", msg.text);
  };
  if (opts.mode === "dry-run") {
    for (const op of plan.ops) {
      if (op.op === "note") say(op.msg);
      else print?.("stdout", `would ${describeOp(plan, op)}`);
      results.push({ op, status: "planned" });
    }
    return { results, failed: 0 };
  }
  const ex = new Executor(plan);
  let failed = 0;
  for (const op of plan.ops) {
    if (op.op === "note") {
      say(op.msg);
      results.push({ op, status: "done" });
      continue;
    }
    try {
      ex.run(op, say);
      results.push({ op, status: "done" });
    } catch (e) {
      failed++;
      const message = e instanceof Error ? e.message : String(e);
      print?.("stderr", `ERROR: ${message}`);
      results.push({ op, status: "failed", error: message });
    }
  }
  try {
    ex.finishDirectoryTimes();
  } catch (e) {
    failed++;
    print?.("stderr", `ERROR: ${e instanceof Error ? e.message : String(e)}`);
  }
  return { results, failed };
}

/** The --json document: the plan's operations with their outcome. */
export function resultToJson(plan: Plan, result: ApplyResult, dryRun: boolean): string {
  return JSON.stringify(
    {
      jail: plan.jail,
      dryRun,
      operations: result.results.map((r) => ({
        ...r.op,
        status: r.status,
        ...(r.error ? { error: r.error } : {}),
      })),
      summary: {
        operations: result.results.filter((r) => r.op.op !== "note").length,
        failed: result.failed,
      },
    },
    null,
    2,
  );
}

function ioError(action: string, path: string, e: unknown): JailkitError {
  const reason = e instanceof Error ? e.message : String(e);
  return new JailkitError("io", `${action} ${path}: ${reason}`, { cause: e });
}

class Executor {
  /** Directories verified (or created) in this run: no need to lstat them again. */
  readonly #verified = new Set<string>();
  readonly #dirTimes: { host: string; atime: number; mtime: number }[] = [];

  constructor(readonly plan: Plan) {}

  run(op: Exclude<Op, { op: "note" }>, say: (m: Op["msg"]) => void): void {
    switch (op.op) {
      case "mkdir":
        this.#mkdir(op.path, op.attrs);
        break;
      case "copy":
        this.#copy(op.src, op.path, op.attrs, op.replace);
        break;
      case "link":
        say(op.msg);
        if (!this.#link(op.src, op.path, op.replace, op.keepSetid)) {
          say({
            text: `Linking ${op.src} to ${
              hostOf(this.plan, op.path)
            } failed, will revert to copying`,
          });
          this.#copy(op.src, op.path, op.attrs, op.replace);
        }
        return;
      case "symlink":
        this.#symlink(op.path, op.target, op.replace);
        break;
      case "mknod":
        this.#mknod(op.path, op.kind, op.major, op.minor, op.attrs);
        break;
      case "write":
        this.#write(op.path, new TextEncoder().encode(op.content), op.attrs);
        break;
      case "append-host":
        appendHostFile(op.hostPath, op.text);
        break;
      case "ldconfig":
        say(op.msg);
        runLdconfig(this.plan.jail);
        return;
      case "run":
        say(op.msg);
        runProgram(op.argv);
        return;
      case "remove":
        this.#remove(op.path, op.dir, op.what);
        break;
    }
    say(op.msg);
  }

  /** Host path of `inJail` after checking that every parent is a real directory. */
  #target(inJail: string): string {
    const parts = components(inJail);
    let host = this.plan.jail;
    if (parts.length === 0) return host; // the jail itself (jk_init creating it)
    this.#verifyDir(host);
    for (const part of parts.slice(0, -1)) {
      if (part === "..") throw new JailkitError("unsafe-jail", `refusing '..' in ${inJail}`);
      host += "/" + part;
      this.#verifyDir(host);
    }
    return `${host}/${parts[parts.length - 1]}`;
  }

  #verifyDir(host: string): void {
    if (this.#verified.has(host)) return;
    let info: Deno.FileInfo;
    try {
      info = Deno.lstatSync(host);
    } catch (e) {
      throw ioError("cannot lstat", host, e);
    }
    if (info.isSymlink) {
      throw new JailkitError(
        "unsafe-jail",
        `refusing to write through symlink ${host} (the jail changed since planning)`,
      );
    }
    if (!info.isDirectory) throw new JailkitError("unsafe-jail", `${host} is not a directory`);
    this.#verified.add(host);
  }

  #mkdir(inJail: string, attrs: Attrs): void {
    const host = this.#target(inJail);
    const existing = lstatQuiet(host);
    if (existing) {
      if (existing.isDirectory && !existing.isSymlink) {
        this.#verified.add(host);
        return;
      }
      throw new JailkitError("unsafe-jail", `${host} exists and is not a directory`);
    }
    try {
      Deno.mkdirSync(host, { mode: 0o700 });
      fs.lchownSync(host, attrs.uid, attrs.gid);
      Deno.chmodSync(host, attrs.mode & 0o7777);
    } catch (e) {
      throw ioError("cannot create directory", host, e);
    }
    this.#verified.add(host);
    if (attrs.atime !== undefined && attrs.mtime !== undefined) {
      this.#dirTimes.push({ host, atime: attrs.atime, mtime: attrs.mtime });
    }
  }

  /** Directory times last, since creating entries inside a directory changes its mtime. */
  finishDirectoryTimes(): void {
    for (const { host, atime, mtime } of this.#dirTimes.reverse()) {
      Deno.utimeSync(host, atime / 1000, mtime / 1000);
    }
  }

  #tempName(host: string): string {
    const rand = crypto.getRandomValues(new Uint8Array(6));
    const hex = Array.from(rand, (b) => b.toString(16).padStart(2, "0")).join("");
    return `${posix.dirname(host)}/.jk_tmp.${hex}`;
  }

  /** Moves a finished temp file into place; without `replace` an existing entry is an error. */
  #commit(tmp: string, host: string, replace: boolean): void {
    const existing = lstatQuiet(host);
    if (existing?.isDirectory) {
      Deno.removeSync(tmp);
      throw new JailkitError("io", `${host} is a directory, not replacing it with a file`);
    }
    if (existing && !replace) {
      Deno.removeSync(tmp);
      throw new JailkitError("io", `${host} appeared since planning, not replacing it`);
    }
    Deno.renameSync(tmp, host);
  }

  #copy(src: string, inJail: string, attrs: Attrs, replace: boolean): void {
    const host = this.#target(inJail);
    const tmp = this.#tempName(host);
    let sfd = -1, dfd = -1;
    try {
      sfd = fs.openSync(src, O_RDONLY | O_NOFOLLOW);
      dfd = fs.openSync(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600);
      const buf = copyBuffer ??= new Uint8Array(COPY_CHUNK);
      for (;;) {
        const n = fs.readSync(sfd, buf, 0, COPY_CHUNK, null);
        if (n === 0) break;
        let off = 0;
        while (off < n) off += fs.writeSync(dfd, buf, off, n - off);
      }
      // chown first: it clears set-id bits that the following chmod may legitimately set
      fs.fchownSync(dfd, attrs.uid, attrs.gid);
      fs.fchmodSync(dfd, attrs.mode & 0o7777);
      if (attrs.atime !== undefined && attrs.mtime !== undefined) {
        fs.futimesSync(dfd, attrs.atime / 1000, attrs.mtime / 1000);
      }
    } catch (e) {
      if (dfd >= 0) fs.closeSync(dfd);
      dfd = -1;
      try {
        Deno.removeSync(tmp);
      } catch { /* the temp file may not exist: nothing to clean */ }
      throw ioError(`cannot copy ${src} to`, host, e);
    } finally {
      if (sfd >= 0) fs.closeSync(sfd);
      if (dfd >= 0) fs.closeSync(dfd);
    }
    this.#commit(tmp, host, replace);
  }

  /** Returns false when the caller should copy instead. */
  #link(src: string, inJail: string, replace: boolean, keepSetid: boolean): boolean {
    const host = this.#target(inJail);
    const info = lstatQuiet(src);
    // A hard link is the same inode: it would keep a set-id bit or a non-root owner that
    // copying strips, so those files are always copied.
    if (!info?.isFile || info.uid !== 0 || info.gid !== 0) return false;
    if (!keepSetid && ((info.mode ?? 0) & 0o6000) !== 0) return false;
    const tmp = this.#tempName(host);
    try {
      Deno.linkSync(src, tmp);
    } catch {
      return false;
    }
    this.#commit(tmp, host, replace);
    return true;
  }

  #symlink(inJail: string, target: string, replace: boolean): void {
    const host = this.#target(inJail);
    const existing = lstatQuiet(host);
    if (existing?.isSymlink && Deno.readLinkSync(host) === target) return;
    if (existing && !replace) throw new JailkitError("io", `${host} exists, not replacing it`);
    const tmp = this.#tempName(host);
    try {
      Deno.symlinkSync(target, tmp);
    } catch (e) {
      throw ioError("cannot create symlink", host, e);
    }
    this.#commit(tmp, host, replace);
  }

  /**
   * Removes one entry whose parents are real directories inside the jail: never the jail
   * itself, never a directory's contents. The error line ends with the path (panels parse
   * it); the reason follows on the next line.
   */
  #remove(inJail: string, dir: boolean, what: string): void {
    if (components(inJail).length === 0) {
      throw new JailkitError("unsafe-jail", `refusing to remove the jail ${this.plan.jail}`);
    }
    const host = this.#target(inJail);
    const info = lstatQuiet(host);
    if (!info) return; // already gone
    try {
      if (info.isDirectory !== dir) {
        throw new Error(dir ? "it is not a directory" : "it is a directory");
      }
      Deno.removeSync(host);
    } catch (e) {
      const reason = e instanceof Error ? e.message : String(e);
      throw new JailkitError("io", `failed to remove ${what} ${host}\n  (${reason})`, {
        cause: e,
      });
    }
    this.#verified.delete(host);
  }

  #mknod(inJail: string, kind: "c" | "b", major: number, minor: number, attrs: Attrs): void {
    const host = this.#target(inJail);
    if (lstatQuiet(host)) throw new JailkitError("io", `${host} exists, not replacing it`);
    const tmp = this.#tempName(host);
    mknod(tmp, kind, 0o600, major, minor);
    fs.lchownSync(tmp, attrs.uid, attrs.gid);
    Deno.chmodSync(tmp, attrs.mode & 0o7777);
    if (attrs.atime !== undefined && attrs.mtime !== undefined) {
      Deno.utimeSync(tmp, attrs.atime / 1000, attrs.mtime / 1000);
    }
    this.#commit(tmp, host, false);
  }

  #write(inJail: string, content: Uint8Array, attrs: Attrs): void {
    const host = this.#target(inJail);
    const tmp = this.#tempName(host);
    writeExclusive(tmp, content, attrs);
    this.#commit(tmp, host, true);
  }
}

function lstatQuiet(path: string): Deno.FileInfo | undefined {
  try {
    return Deno.lstatSync(path);
  } catch {
    return undefined;
  }
}

function writeExclusive(tmp: string, content: Uint8Array, attrs: Attrs): void {
  let fd = -1;
  try {
    fd = fs.openSync(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600);
    let off = 0;
    while (off < content.length) off += fs.writeSync(fd, content, off, content.length - off);
    fs.fchownSync(fd, attrs.uid, attrs.gid);
    fs.fchmodSync(fd, attrs.mode & 0o7777);
    fs.fsyncSync(fd);
  } catch (e) {
    if (fd >= 0) fs.closeSync(fd);
    fd = -1;
    try {
      Deno.removeSync(tmp);
    } catch { /* nothing was created */ }
    throw ioError("cannot write", tmp, e);
  } finally {
    if (fd >= 0) fs.closeSync(fd);
  }
}

/**
 * Appends to a host file by writing a complete new copy beside it and renaming it over the
 * old one, so a crash leaves either the old or the new file, never half of the addition.
 */
export function appendHostFile(hostPath: string, text: string): void {
  const info = lstatQuiet(hostPath);
  if (info?.isSymlink) {
    throw new JailkitError("unsafe-jail", `${hostPath} is a symlink, not appending to it`);
  }
  // jk_socketd.ini's directory may not exist yet on a host that never had jailkit
  if (!info) Deno.mkdirSync(posix.dirname(hostPath), { recursive: true, mode: 0o755 });
  const old = info ? Deno.readFileSync(hostPath) : new Uint8Array();
  const add = new TextEncoder().encode(text);
  const all = new Uint8Array(old.length + add.length);
  all.set(old);
  all.set(add, old.length);
  const rand = Array.from(crypto.getRandomValues(new Uint8Array(6)), (b) => b.toString(16)).join(
    "",
  );
  const tmp = `${posix.dirname(hostPath)}/.${posix.basename(hostPath)}.jk_tmp.${rand}`;
  writeExclusive(tmp, all, {
    mode: info ? (info.mode ?? 0o644) & 0o7777 : 0o644,
    uid: info?.uid ?? 0,
    gid: info?.gid ?? 0,
  });
  Deno.renameSync(tmp, hostPath);
}

/** Runs a program without a shell; a non-zero exit becomes an error carrying its stderr. */
export function runProgram(argv: string[]): void {
  const out = new Deno.Command(argv[0], {
    args: argv.slice(1),
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { LC_ALL: "C", PATH: "/usr/sbin:/usr/bin:/sbin:/bin" },
    clearEnv: true,
  }).outputSync();
  if (!out.success) {
    const err = new TextDecoder().decode(out.stderr).trim();
    throw new JailkitError(
      "io",
      `${argv.join(" ")} failed (exit ${out.code})${err ? `: ${err}` : ""}`,
    );
  }
}

/** Absolute path of ldconfig: never looked up through the caller's PATH. */
export function ldconfigPath(): string {
  for (const p of ["/usr/sbin/ldconfig", "/sbin/ldconfig"]) {
    if (lstatQuiet(p)?.isFile) return p;
  }
  throw new JailkitError("not-found", "ldconfig not found in /usr/sbin or /sbin");
}

/**
 * `ldconfig -r JAIL` chroots into the jail itself, so it cannot write outside it; -X keeps it
 * from creating SONAME links the host does not have (the jail mirrors the host's links).
 */
function runLdconfig(jail: string): void {
  runProgram([ldconfigPath(), "-X", "-r", jail]);
}
