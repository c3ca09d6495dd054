/**
 * The executor as root: every write into a jail goes through directory descriptors, so a jail
 * directory swapped for a symlink after planning (or while the executor runs) never leads a
 * write outside the jail. Also replace rules, set-id handling, device nodes, temp-name cleanup,
 * descriptor bounds and host-file appends.
 */
import assert from "node:assert/strict";
import { appendHostFile, applyPlan, type ApplyResult } from "../lib/engine/apply.ts";
import type { Attrs, Op, Plan } from "../lib/core/plan.ts";
import * as libc from "../ffi/libc.ts";
import { DENO, rootTest, safeTestRoot, tempDir } from "./helpers.ts";

const LIBC_URL = new URL("../ffi/libc.ts", import.meta.url).href;
const FILE: Attrs = { mode: 0o644, uid: 0, gid: 0 };
const DIR: Attrs = { mode: 0o755, uid: 0, gid: 0 };

interface Scene {
  root: string;
  jail: string;
  outside: string;
  src: string;
  cleanup: () => void;
}

/** A jail, a directory outside it, and a host source file, all under a root-owned path. */
function scene(label: string): Scene {
  const { dir: root, cleanup } = safeTestRoot(label);
  const jail = `${root}/jail`;
  const outside = `${root}/outside`;
  for (const d of [jail, outside, `${root}/src`]) Deno.mkdirSync(d, { mode: 0o755 });
  const src = `${root}/src/file.txt`;
  Deno.writeTextFileSync(src, "payload\n");
  Deno.chmodSync(src, 0o644);
  return { root, jail, outside, src, cleanup };
}

function apply(jail: string, ops: Op[]): { result: ApplyResult; stderr: string[] } {
  const stderr: string[] = [];
  const plan: Plan = { jail, ops };
  const result = applyPlan(plan, {
    mode: "apply",
    verbose: true,
    print: (stream, line) => {
      if (stream === "stderr") stderr.push(line);
    },
  });
  return { result, stderr };
}

/** Every entry below `dir`, as relative paths, sorted (symlinks not followed). */
function tree(dir: string): string[] {
  const out: string[] = [];
  const walk = (p: string, rel: string) => {
    for (const e of Deno.readDirSync(p)) {
      const r = rel === "" ? e.name : `${rel}/${e.name}`;
      out.push(r);
      if (e.isDirectory) walk(`${p}/${e.name}`, r);
    }
  };
  walk(dir, "");
  return out.sort();
}

function tempLeftovers(dir: string): string[] {
  return tree(dir).filter((p) => p.split("/").some((c) => c.startsWith(".jk_tmp.")));
}

function openFds(): number {
  return [...Deno.readDirSync("/proc/self/fd")].length;
}

function errorsOf(result: ApplyResult): string[] {
  return result.results.filter((r) => r.status === "failed").map((r) => r.error ?? "");
}

rootTest("a parent swapped for a symlink after planning refuses every kind of write", () => {
  const s = scene("apply-swap");
  try {
    Deno.mkdirSync(`${s.jail}/d`, { mode: 0o755 });
    Deno.writeTextFileSync(`${s.outside}/old`, "outside, must survive\n");
    const ops: Op[] = [
      { op: "copy", src: s.src, path: "/d/copied", attrs: FILE, replace: false },
      { op: "copy", src: s.src, path: "/d/old", attrs: FILE, replace: true },
      {
        op: "link",
        src: s.src,
        path: "/d/linked",
        attrs: FILE,
        replace: false,
        keepSetid: false,
      },
      { op: "symlink", path: "/d/sym", target: "/etc/shadow", replace: true },
      { op: "mknod", path: "/d/null", kind: "c", major: 1, minor: 3, attrs: FILE },
      { op: "write", path: "/d/written", content: "x", attrs: FILE },
      { op: "mkdir", path: "/d/sub", attrs: DIR },
      { op: "remove", path: "/d/old", dir: false, what: "file" },
    ];
    // planned while /d was a directory; now the jailed user swaps it
    Deno.renameSync(`${s.jail}/d`, `${s.jail}/d.real`);
    Deno.symlinkSync(s.outside, `${s.jail}/d`);
    const { result } = apply(s.jail, ops);
    assert.equal(result.failed, ops.length);
    for (const error of errorsOf(result)) {
      assert.equal(
        error,
        `refusing to write through symlink ${s.jail}/d (the jail changed since planning)`,
      );
    }
    assert.deepEqual(tree(s.outside), ["old"]);
    assert.equal(Deno.readTextFileSync(`${s.outside}/old`), "outside, must survive\n");
    assert.deepEqual(tree(`${s.jail}/d.real`), []);

    // a regular file in place of the directory, and the jail itself a symlink
    Deno.removeSync(`${s.jail}/d`);
    Deno.writeTextFileSync(`${s.jail}/d`, "");
    assert.deepEqual(errorsOf(apply(s.jail, ops.slice(0, 1)).result), [
      `${s.jail}/d is not a directory`,
    ]);
    Deno.symlinkSync(s.jail, `${s.root}/jail-link`);
    assert.deepEqual(
      errorsOf(apply(`${s.root}/jail-link`, [{ op: "mkdir", path: "/x", attrs: DIR }]).result),
      [`refusing to write through symlink ${s.root}/jail-link (the jail changed since planning)`],
    );
    assert.deepEqual(tree(s.outside), ["old"]);
  } finally {
    s.cleanup();
  }
});

/**
 * Starts a process that swaps `a` and `b` (a directory and a symlink) with RENAME_EXCHANGE as
 * fast as it can for `ms` milliseconds, and leaves them as they were.
 */
function startSwapper(a: string, b: string, ms: number) {
  const code = `
    import { AT_FDCWD, RENAME_EXCHANGE, renameat } from ${JSON.stringify(LIBC_URL)};
    const swap = () => renameat(AT_FDCWD, ${JSON.stringify(a)}, AT_FDCWD, ${
    JSON.stringify(b)
  }, RENAME_EXCHANGE);
    console.log("go");
    let n = 0;
    for (const end = Date.now() + ${ms}; Date.now() < end; n++) swap();
    if (n % 2 === 1) swap();
    console.log(n);
  `;
  const child = new Deno.Command(DENO, {
    args: ["eval", "--no-config", code],
    env: { RUST_BACKTRACE: "0", NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let stdout = "";
  const { promise: go, resolve: started } = Promise.withResolvers<void>();
  const reading = (async () => {
    for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
      stdout += chunk;
      if (stdout.includes("go\n")) started();
    }
  })();
  const done = (async () => {
    const [status, err] = await Promise.all([
      child.status,
      new Response(child.stderr).text(),
      reading,
    ]);
    started(); // a swapper that died before starting must not hang the test
    assert.ok(status.success, `swapper failed: ${err}`);
    return Number(stdout.trim().split("\n").at(-1));
  })();
  return { go, done };
}

rootTest("a swapper racing the executor for 3 s never gets a file written outside", async () => {
  const s = scene("apply-race");
  try {
    Deno.mkdirSync(`${s.jail}/d`, { mode: 0o755 });
    Deno.symlinkSync(s.outside, `${s.jail}/x`);
    const swapper = startSwapper(`${s.jail}/d`, `${s.jail}/x`, 3000);
    let finished = false;
    const swaps = swapper.done.finally(() => finished = true);
    await swapper.go;
    let runs = 0, outsideSeen: string[] = [];
    const written: string[] = [];
    const failures: string[] = [];
    while (!finished) {
      const ops: Op[] = [];
      for (let i = 0; i < 20; i++) {
        ops.push({ op: "copy", src: s.src, path: `/d/f${runs}-${i}`, attrs: FILE, replace: false });
      }
      ops.push({ op: "mkdir", path: `/d/sub${runs}`, attrs: DIR });
      ops.push({ op: "write", path: `/d/sub${runs}/w`, content: "w", attrs: FILE });
      const { result } = apply(s.jail, ops);
      for (const r of result.results) {
        if (r.status === "done") written.push((r.op as { path: string }).path);
        else failures.push(r.error ?? "");
      }
      runs++;
      outsideSeen = tree(s.outside);
      if (outsideSeen.length > 0) break;
      await new Promise((resolve) => setTimeout(resolve, 0));
    }
    const count = await swaps;
    console.log(
      `race: ${count} swaps, ${runs} runs, ${written.length} ops done, ${failures.length} refused`,
    );
    assert.deepEqual(outsideSeen, [], `written outside the jail in run ${runs}`);
    assert.deepEqual(tree(s.outside), []);
    assert.ok(count > 1000, `the swapper only swapped ${count} times`);
    assert.ok(written.length > 0, "nothing was written at all");
    for (const f of failures) {
      // the walk to /d met the symlink; or it did for the mkdir, not for the write inside
      assert.match(
        f,
        /^refusing to write through symlink .*\/d \(the jail|^cannot open directory .*\/d\/sub\d+: openat\(sub\d+\): ENOENT/,
      );
    }
    // the swapper left `d` the real directory: everything reported done is in it
    for (const p of written) assert.ok(Deno.lstatSync(`${s.jail}${p}`), p);
    assert.deepEqual(tempLeftovers(s.jail), []);
  } finally {
    s.cleanup();
  }
});

rootTest("a directory swapped mid-run: later writes follow the directory already opened", () => {
  const s = scene("apply-midrun");
  try {
    Deno.mkdirSync(`${s.jail}/d`, { mode: 0o755 });
    const times = { atime: Date.UTC(2001, 0, 2), mtime: Date.UTC(2001, 0, 3) };
    const { result } = apply(s.jail, [
      { op: "mkdir", path: "/d/sub", attrs: { ...DIR, ...times } },
      { op: "copy", src: s.src, path: "/d/a", attrs: FILE, replace: false },
      {
        op: "run",
        argv: ["/bin/sh", "-c", `mv "$0/d" "$0/moved" && ln -s "$1" "$0/d"`, s.jail, s.outside],
      },
      { op: "copy", src: s.src, path: "/d/b", attrs: FILE, replace: false },
      { op: "write", path: "/d/sub/c", content: "c", attrs: FILE },
    ]);
    assert.deepEqual(errorsOf(result), []);
    assert.deepEqual(tree(s.outside), []);
    assert.deepEqual(tree(`${s.jail}/moved`), ["a", "b", "sub", "sub/c"]);
    assert.equal(Deno.lstatSync(`${s.jail}/moved/sub`).mtime?.getTime(), times.mtime);
  } finally {
    s.cleanup();
  }
});

rootTest("replace=false refuses a destination that appeared after planning", () => {
  const s = scene("apply-appeared");
  try {
    Deno.mkdirSync(`${s.jail}/e`, { mode: 0o755 });
    const ops: Op[] = [
      { op: "copy", src: s.src, path: "/e/f", attrs: FILE, replace: false },
      { op: "link", src: s.src, path: "/e/k", attrs: FILE, replace: false, keepSetid: false },
      { op: "symlink", path: "/e/l", target: "t", replace: false },
      { op: "copy", src: s.src, path: "/e/dir", attrs: FILE, replace: false },
    ];
    for (const n of ["f", "k", "l"]) Deno.writeTextFileSync(`${s.jail}/e/${n}`, `theirs ${n}`);
    Deno.mkdirSync(`${s.jail}/e/dir`);
    const { result } = apply(s.jail, ops);
    assert.deepEqual(errorsOf(result), [
      `${s.jail}/e/f appeared since planning, not replacing it`,
      `${s.jail}/e/k appeared since planning, not replacing it`,
      `${s.jail}/e/l exists, not replacing it`,
      `${s.jail}/e/dir is a directory, not replacing it with a file`,
    ]);
    for (const n of ["f", "k", "l"]) {
      assert.equal(Deno.readTextFileSync(`${s.jail}/e/${n}`), `theirs ${n}`);
    }
    assert.deepEqual(tempLeftovers(s.jail), []);
    // the same ops with replace do replace (and an identical symlink is left alone)
    Deno.removeSync(`${s.jail}/e/l`);
    Deno.symlinkSync("t", `${s.jail}/e/l`);
    const again = apply(s.jail, ops.slice(0, 3).map((op) => ({ ...op, replace: true }) as Op));
    assert.deepEqual(errorsOf(again.result), []);
    assert.equal(Deno.readTextFileSync(`${s.jail}/e/f`), "payload\n");
    assert.equal(Deno.statSync(`${s.jail}/e/k`).ino, Deno.statSync(s.src).ino);
  } finally {
    s.cleanup();
  }
});

rootTest("failed operations leave no temp names and no open descriptors behind", () => {
  const s = scene("apply-cleanup");
  try {
    Deno.mkdirSync(`${s.jail}/d/busy`, { recursive: true, mode: 0o755 });
    const fifo = `${s.root}/src/fifo`;
    assert.equal(new Deno.Command("mkfifo", { args: [fifo] }).outputSync().code, 0);
    const before = openFds();
    const { result } = apply(s.jail, [
      { op: "write", path: "/d/busy", content: "x", attrs: FILE },
      { op: "copy", src: s.src, path: "/d/busy", attrs: FILE, replace: true },
      { op: "copy", src: fifo, path: "/d/f", attrs: FILE, replace: false },
      { op: "copy", src: `${s.root}/src/missing`, path: "/d/m", attrs: FILE, replace: false },
      { op: "mknod", path: "/d/busy", kind: "c", major: 1, minor: 3, attrs: FILE },
      { op: "remove", path: "/d/busy", dir: false, what: "file" },
      { op: "mkdir", path: "/d/no/such/parent", attrs: DIR },
    ]);
    const errors = errorsOf(result);
    assert.equal(errors.length, 7);
    assert.equal(errors[0], `${s.jail}/d/busy is a directory, not replacing it with a file`);
    assert.equal(errors[1], `${s.jail}/d/busy is a directory, not replacing it with a file`);
    assert.match(errors[2], /^cannot copy .*fifo to .*\/d\/f: the source is not a regular file$/);
    assert.match(errors[3], /^cannot copy .*missing to .*\/d\/m: openat\(.*\): ENOENT/);
    assert.equal(errors[4], `${s.jail}/d/busy exists, not replacing it`);
    assert.match(errors[5], /^failed to remove file .*\/d\/busy\n {2}\(it is a directory\)$/);
    assert.match(errors[6], /^cannot open directory .*\/d\/no: openat\(no\): ENOENT/);
    assert.deepEqual(tree(s.jail), ["d", "d/busy"]);
    assert.equal(openFds(), before);
  } finally {
    s.cleanup();
  }
});

rootTest("set-id bits and owners survive only when the plan asks for them", () => {
  const s = scene("apply-setid");
  try {
    Deno.chmodSync(s.src, 0o6755);
    const theirs = `${s.root}/src/theirs`;
    Deno.copyFileSync(s.src, theirs);
    Deno.chownSync(theirs, 1000, 1000);
    const link = (path: string, src: string, keepSetid: boolean, mode: number): Op => ({
      op: "link",
      src,
      path,
      attrs: { ...FILE, mode },
      replace: false,
      keepSetid,
    });
    const { result } = apply(s.jail, [
      {
        op: "copy",
        src: s.src,
        path: "/kept",
        attrs: { mode: 0o6755, uid: 1000, gid: 1000 },
        replace: false,
      },
      {
        op: "copy",
        src: s.src,
        path: "/stripped",
        attrs: { ...FILE, mode: 0o755 },
        replace: false,
      },
      link("/linked-stripped", s.src, false, 0o755),
      link("/linked-kept", s.src, true, 0o6755),
      link("/linked-theirs", theirs, true, 0o6755),
    ]);
    assert.deepEqual(errorsOf(result), []);
    const st = (p: string) => Deno.lstatSync(`${s.jail}${p}`);
    assert.equal(st("/kept").mode! & 0o7777, 0o6755);
    assert.deepEqual([st("/kept").uid, st("/kept").gid], [1000, 1000]);
    assert.equal(st("/stripped").mode! & 0o7777, 0o755);
    assert.equal(st("/linked-stripped").mode! & 0o7777, 0o755);
    assert.notEqual(st("/linked-stripped").ino, Deno.statSync(s.src).ino, "copied, not linked");
    assert.equal(st("/linked-kept").ino, Deno.statSync(s.src).ino, "hard-linked with -s");
    assert.notEqual(st("/linked-theirs").ino, Deno.statSync(theirs).ino, "non-root: copied");
    assert.deepEqual([st("/linked-theirs").uid, st("/linked-theirs").mode! & 0o7777], [0, 0o6755]);
    assert.equal(Deno.readTextFileSync(`${s.jail}/stripped`), "payload\n");
  } finally {
    s.cleanup();
  }
});

rootTest("mknod creates device nodes with owner, mode and times, and never replaces", () => {
  const s = scene("apply-mknod");
  try {
    const mtime = Date.UTC(2010, 5, 6, 7, 8, 9, 123);
    const ops: Op[] = [
      { op: "mkdir", path: "/dev", attrs: DIR },
      {
        op: "mknod",
        path: "/dev/null",
        kind: "c",
        major: 1,
        minor: 3,
        attrs: { mode: 0o666, uid: 0, gid: 0, atime: mtime, mtime },
      },
      {
        op: "mknod",
        path: "/dev/loop9",
        kind: "b",
        major: 7,
        minor: 9,
        attrs: { mode: 0o640, uid: 5, gid: 6 },
      },
    ];
    assert.deepEqual(errorsOf(apply(s.jail, ops).result), []);
    const nul = Deno.lstatSync(`${s.jail}/dev/null`);
    assert.ok(nul.isCharDevice);
    assert.equal(nul.rdev, Deno.lstatSync("/dev/null").rdev);
    assert.equal(nul.mode! & 0o7777, 0o666);
    assert.equal(nul.mtime?.getTime(), mtime);
    const loop = Deno.lstatSync(`${s.jail}/dev/loop9`);
    assert.ok(loop.isBlockDevice);
    assert.deepEqual([loop.uid, loop.gid, loop.mode! & 0o7777], [5, 6, 0o640]);
    assert.deepEqual(tree(`${s.jail}/dev`), ["loop9", "null"]);
    assert.deepEqual(errorsOf(apply(s.jail, ops.slice(1, 2)).result), [
      `${s.jail}/dev/null exists, not replacing it`,
    ]);
    assert.deepEqual(tree(`${s.jail}/dev`), ["loop9", "null"]);
  } finally {
    s.cleanup();
  }
});

rootTest("copies keep content, owner, mode and times; the jail itself can be created", () => {
  const s = scene("apply-copy");
  try {
    const big = `${s.root}/src/big`;
    const data = new Uint8Array(5 * 1024 * 1024 + 17);
    for (let i = 0; i < data.length; i += 65536) {
      crypto.getRandomValues(data.subarray(i, i + 65536));
    }
    Deno.writeFileSync(big, data);
    Deno.writeFileSync(`${s.root}/src/empty`, new Uint8Array());
    Deno.removeSync(s.jail);
    const mtime = Date.UTC(2020, 1, 2, 3, 4, 5, 678);
    const times = { atime: mtime, mtime };
    const { result } = apply(s.jail, [
      { op: "mkdir", path: "/", attrs: { mode: 0o755, uid: 0, gid: 0, ...times } },
      { op: "mkdir", path: "/usr", attrs: { mode: 0o750, uid: 0, gid: 7, ...times } },
      { op: "copy", src: big, path: "/usr/big", attrs: { ...FILE, ...times }, replace: false },
      { op: "copy", src: `${s.root}/src/empty`, path: "/usr/empty", attrs: FILE, replace: false },
      { op: "copy", src: "/proc/version", path: "/usr/version", attrs: FILE, replace: false },
      { op: "symlink", path: "/lib", target: "usr/lib", replace: false },
      { op: "write", path: "/usr/w", content: "héllo\n", attrs: { mode: 0o600, uid: 3, gid: 4 } },
      { op: "mkdir", path: "/usr", attrs: DIR },
    ]);
    assert.deepEqual(errorsOf(result), []);
    assert.deepEqual(Deno.readFileSync(`${s.jail}/usr/big`), data);
    assert.equal(Deno.lstatSync(`${s.jail}/usr/big`).mtime?.getTime(), mtime);
    assert.equal(Deno.lstatSync(`${s.jail}/usr/empty`).size, 0);
    assert.equal(
      Deno.readTextFileSync(`${s.jail}/usr/version`),
      Deno.readTextFileSync("/proc/version"),
    );
    assert.equal(Deno.readLinkSync(`${s.jail}/lib`), "usr/lib");
    const w = Deno.lstatSync(`${s.jail}/usr/w`);
    assert.deepEqual([w.uid, w.gid, w.mode! & 0o7777], [3, 4, 0o600]);
    assert.equal(Deno.readTextFileSync(`${s.jail}/usr/w`), "héllo\n");
    const usr = Deno.lstatSync(`${s.jail}/usr`);
    assert.deepEqual([usr.gid, usr.mode! & 0o7777, usr.mtime?.getTime()], [7, 0o750, mtime]);
    assert.equal(Deno.lstatSync(s.jail).mtime?.getTime(), mtime);
    assert.deepEqual(tempLeftovers(s.jail), []);
  } finally {
    s.cleanup();
  }
});

rootTest("directory descriptors stay bounded over hundreds of directories and all close", () => {
  const s = scene("apply-fds");
  try {
    const before = openFds();
    const ops: Op[] = [{ op: "mkdir", path: "/t", attrs: DIR }];
    for (let i = 0; i < 400; i++) {
      ops.push({ op: "mkdir", path: `/t/d${i}`, attrs: DIR });
      ops.push({ op: "write", path: `/t/d${i}/f`, content: `${i}`, attrs: FILE });
    }
    // the executor's own descriptors at this point, counted by a program it runs
    const limit = before + 128 + 16;
    ops.push({
      op: "run",
      argv: ["/bin/sh", "-c", `test "$(ls /proc/${Deno.pid}/fd | wc -l)" -lt ${limit}`],
    });
    // back to directories evicted long ago: walked to again
    for (let i = 0; i < 10; i++) {
      ops.push({ op: "write", path: `/t/d${i}/g`, content: "g", attrs: FILE });
    }
    assert.deepEqual(errorsOf(apply(s.jail, ops).result), []);
    assert.equal(Deno.readTextFileSync(`${s.jail}/t/d399/f`), "399");
    assert.equal(Deno.readTextFileSync(`${s.jail}/t/d3/g`), "g");
    assert.equal(openFds(), before);
  } finally {
    s.cleanup();
  }
});

rootTest("remove deletes one entry, a symlink itself, or one empty directory", () => {
  const s = scene("apply-remove");
  try {
    Deno.mkdirSync(`${s.jail}/d/empty`, { recursive: true });
    Deno.writeTextFileSync(`${s.jail}/d/f`, "");
    Deno.symlinkSync(s.src, `${s.jail}/d/l`);
    Deno.mkdirSync(`${s.jail}/d/full`);
    Deno.writeTextFileSync(`${s.jail}/d/full/x`, "");
    const { result } = apply(s.jail, [
      { op: "remove", path: "/d/f", dir: false, what: "file" },
      { op: "remove", path: "/d/l", dir: false, what: "symlink" },
      { op: "remove", path: "/d/empty", dir: true, what: "directory" },
      { op: "remove", path: "/d/gone", dir: false, what: "file" },
      { op: "remove", path: "/d/full", dir: true, what: "directory" },
      { op: "remove", path: "/", dir: true, what: "jail" },
    ]);
    const errors = errorsOf(result);
    assert.equal(errors.length, 2);
    assert.match(errors[0], /^failed to remove directory .*\/d\/full\n {2}\(.*ENOTEMPTY/);
    assert.equal(errors[1], `refusing to remove the jail ${s.jail}`);
    assert.deepEqual(tree(`${s.jail}/d`), ["full", "full/x"]);
    assert.equal(Deno.readTextFileSync(s.src), "payload\n");
  } finally {
    s.cleanup();
  }
});

rootTest("appendHostFile keeps mode and owner and refuses a symlink in the file's place", () => {
  const s = scene("apply-append");
  try {
    const conf = `${s.root}/etc/jailkit/jk_socketd.ini`;
    appendHostFile(conf, "[a]\n");
    assert.equal(Deno.readTextFileSync(conf), "[a]\n");
    assert.equal(Deno.lstatSync(conf).mode! & 0o7777, 0o644);
    Deno.chmodSync(conf, 0o600);
    Deno.chownSync(conf, 0, 4);
    appendHostFile(conf, "[b]\n");
    assert.equal(Deno.readTextFileSync(conf), "[a]\n[b]\n");
    const st = Deno.lstatSync(conf);
    assert.deepEqual([st.mode! & 0o7777, st.uid, st.gid], [0o600, 0, 4]);
    Deno.removeSync(conf);
    Deno.symlinkSync(s.src, conf);
    assert.throws(() => appendHostFile(conf, "[c]\n"), {
      name: "JailkitError",
      message: `${conf} is a symlink, not appending to it`,
    });
    assert.equal(Deno.readTextFileSync(s.src), "payload\n");
    assert.deepEqual(tree(`${s.root}/etc/jailkit`), ["jk_socketd.ini"]);
  } finally {
    s.cleanup();
  }
});

Deno.test("descriptor-relative libc calls: statx layout, times, no-replace rename, Dir", () => {
  const { dir, cleanup } = tempDir("apply-ffi");
  try {
    const d = libc.Dir.open(dir);
    try {
      const fd = libc.openat(d.fd, "f", libc.O_WRONLY | libc.O_CREAT | libc.O_EXCL, 0o600);
      assert.equal(libc.write(fd, new TextEncoder().encode("abc")), 3);
      libc.fchmod(fd, 0o640);
      libc.futimens(fd, -1, Date.UTC(1999, 11, 31, 23, 59, 59, 999));
      libc.close(fd);
      const st = libc.statx(d.fd, "f", libc.AT_SYMLINK_NOFOLLOW);
      const ref = Deno.lstatSync(`${dir}/f`);
      assert.deepEqual(
        [st.mode, st.uid, st.gid, st.nlink, st.size, st.ino],
        [ref.mode, ref.uid, ref.gid, ref.nlink, ref.size, BigInt(ref.ino!)],
      );
      assert.equal(ref.mtime?.getTime(), Date.UTC(1999, 11, 31, 23, 59, 59, 999));
      assert.equal(ref.atime?.getTime(), -1);
      libc.symlinkat("f", d.fd, "l");
      assert.equal(libc.readlinkat(d.fd, "l"), "f");
      assert.throws(() => libc.renameat(d.fd, "l", d.fd, "f", libc.RENAME_NOREPLACE), {
        name: "ErrnoError",
        code: "EEXIST",
      });
      assert.throws(() => d.openDir("l"), { name: "ErrnoError", code: "ENOTDIR" });
      assert.throws(() => d.openDir("f"), { name: "ErrnoError", code: "ENOTDIR" });
    } finally {
      d.close();
    }
    d.close(); // idempotent
    assert.throws(() => d.fd, /used after close/);
    assert.throws(() => libc.Dir.open(`${dir}/l`), { name: "ErrnoError", code: "ENOTDIR" });
  } finally {
    cleanup();
  }
});
