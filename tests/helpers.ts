/**
 * Test helpers shared by every test file. Root-only tests must really run in CI: tests/run.ts
 * refuses a run where any of them was ignored while running as root or under CI=true.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { type ErrorKind, JailkitError } from "../lib/core/errors.ts";

export const isRoot = Deno.uid() === 0;

/** Marker in the test name that tests/run.ts counts to prove root tests ran. */
export const ROOT_TAG = "[root]";

/** Declares a test that needs root (chroot, mknod, chown, sshd). Ignored, visibly, when not root. */
export function rootTest(name: string, fn: (t: Deno.TestContext) => void | Promise<void>): void {
  Deno.test({
    name: `${ROOT_TAG} ${name}`,
    ignore: !isRoot,
    sanitizeResources: false,
    sanitizeOps: false,
    fn,
  });
}

const SAFE_BASE = "/var/lib/jailkit-deno-tests";

/**
 * A fresh directory whose whole path chain is root-owned and not group/other writable, as the
 * tools demand of a jail's ancestors (/tmp would be refused for being world-writable).
 * Needs root. The caller removes it with `cleanup()`.
 */
export function safeTestRoot(label: string): { dir: string; cleanup: () => void } {
  Deno.mkdirSync(SAFE_BASE, { recursive: true, mode: 0o755 });
  Deno.chmodSync(SAFE_BASE, 0o755);
  const dir = join(SAFE_BASE, `${label}-${crypto.randomUUID().slice(0, 8)}`);
  Deno.mkdirSync(dir, { mode: 0o755 });
  Deno.chmodSync(dir, 0o755);
  return {
    dir,
    cleanup: () => {
      try {
        Deno.removeSync(dir, { recursive: true });
      } catch (e) {
        if (!(e instanceof Deno.errors.NotFound)) throw e;
      }
    },
  };
}

/**
 * Asserts that `fn` throws a JailkitError of `kind` whose message matches `message` and, with
 * `path`, starts with "PATH: "; returns the error.
 */
export function assertJailkitError(
  fn: () => unknown,
  kind: ErrorKind,
  message: RegExp,
  path?: string,
): JailkitError {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof JailkitError, `expected a JailkitError, got ${caught}`);
  assert.equal(caught.kind, kind, caught.message);
  if (path !== undefined) assert.ok(caught.message.startsWith(`${path}: `), caught.message);
  assert.match(caught.message, message);
  return caught;
}

/** The text of `path`, undefined when there is no such file. */
export function readOrUndefined(path: string): string | undefined {
  try {
    return Deno.readTextFileSync(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw e;
  }
}

/** A scratch directory for tests that need no particular ownership. */
export function tempDir(label: string): { dir: string; cleanup: () => void } {
  const dir = Deno.makeTempDirSync({ prefix: `jk-${label}-` });
  return { dir, cleanup: () => Deno.removeSync(dir, { recursive: true }) };
}

/** The PATH tools see in tests: the system's, not a developer's shims (pyenv, cargo…). */
export const SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

export const REPO_ROOT = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
export const DENO = Deno.execPath();

/** What a finished command gave. */
export interface Out {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs `program` to its end with `options`, its output collected; `stdin` is written to it when
 * given, otherwise it reads nothing.
 */
export async function runCommand(
  program: string,
  options: Omit<Deno.CommandOptions, "stdin" | "stdout" | "stderr">,
  stdin?: string,
): Promise<Out> {
  const child = new Deno.Command(program, {
    ...options,
    stdin: stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (stdin !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(stdin));
    await w.close();
  }
  const out = await child.output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** Runs one of our tools from the checkout, as `deno run -A cli/<tool>.ts ARGS`. */
export function runTool(
  tool: string,
  args: string[],
  opts: { env?: Record<string, string>; cwd?: string; stdin?: string } = {},
): Promise<Out> {
  const argv = referenceArgv(tool) ??
    [DENO, "run", "-A", "--no-config", "--quiet", join(REPO_ROOT, "cli", `${tool}.ts`)];
  return runCommand(argv[0], {
    args: [...argv.slice(1), ...args],
    cwd: opts.cwd,
    env: { RUST_BACKTRACE: "0", NO_COLOR: "1", PATH: SYSTEM_PATH, ...opts.env },
  }, opts.stdin);
}

/**
 * With JK_REFERENCE=DIR (an extracted Debian jailkit package, e.g. /opt/jailkit-ref), runTool
 * runs jailkit 2.23's Python tool instead of ours, to watch our tests catch its known defects.
 */
function referenceArgv(tool: string): string[] | undefined {
  const ref = Deno.env.get("JK_REFERENCE");
  if (!ref) return undefined;
  const text = Deno.readTextFileSync(`${ref}/usr/sbin/${tool}`)
    .replace("LIBDIR='/usr/share/jailkit'", `LIBDIR='${ref}/usr/share/jailkit'`);
  const copy = `${Deno.makeTempDirSync({ prefix: "jk-ref-" })}/${tool}`;
  Deno.writeTextFileSync(copy, text);
  return ["python3", copy];
}

/** The shared libraries of a trusted system binary, as ldd lists them (test fixtures only). */
export function librariesOf(program: string): string[] {
  const out = new Deno.Command("ldd", { args: [program], stdout: "piped" }).outputSync();
  return [...new TextDecoder().decode(out.stdout).matchAll(/(\/\S+) \(0x[0-9a-f]+\)/g)]
    .map((m) => m[1]);
}

/** Copies a host file to JAIL/`as` for a hand-built test jail, creating parents 0755. */
export function copyInto(jail: string, path: string, as = path): void {
  const target = `${jail}${as}`;
  Deno.mkdirSync(target.slice(0, target.lastIndexOf("/")), { recursive: true, mode: 0o755 });
  Deno.copyFileSync(path, target);
}
