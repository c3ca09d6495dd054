/**
 * ffi/libc/dirs.ts: statDirectory and statEntry give what Deno.lstatSync and Deno.readDirSync
 * give (names in sorted order, type, mode, owner, size, mtime, device), answer undefined for
 * what is missing, never follow a symlink, and return undecodable names instead of skipping.
 * fileInfo and directoryNames, which the planners use instead of Deno.lstatSync/statSync and
 * Deno.readDirSync, give exactly what those give.
 */
import assert from "node:assert/strict";
import {
  AT_FDCWD,
  close,
  directoryNames,
  type EntryStat,
  ErrnoError,
  fileInfo,
  O_CLOEXEC,
  O_DIRECTORY,
  O_RDONLY,
  open,
  statDirectory,
  statEntry,
} from "../ffi/libc.ts";
import { tempDir } from "./helpers.ts";

function sameAsDeno(stat: EntryStat | undefined, path: string): void {
  const info = Deno.lstatSync(path);
  assert.ok(stat !== undefined, path);
  assert.equal(stat.mode, info.mode, path);
  assert.equal(stat.uid, info.uid, path);
  assert.equal(stat.gid, info.gid, path);
  assert.equal(stat.size, info.size, path);
  assert.equal(stat.dev, info.dev, path);
  assert.equal(stat.mtimeSec * 1000 + Math.floor(stat.mtimeNsec / 1e6), info.mtime?.getTime());
}

Deno.test("statDirectory: sorted entries stated in both directories, symlinks not followed", () => {
  const { dir, cleanup } = tempDir("dirs");
  try {
    const one = `${dir}/one`;
    const two = `${dir}/two`;
    Deno.mkdirSync(`${one}/sub`, { recursive: true });
    Deno.mkdirSync(two);
    for (const [name, text] of [["b", "bee"], ["a", "a"], ["é", "accent"], ["B", "big"]]) {
      Deno.writeTextFileSync(`${one}/${name}`, text);
    }
    Deno.writeTextFileSync(`${two}/a`, "a longer file");
    Deno.symlinkSync("/etc/passwd", `${one}/link`);
    Deno.symlinkSync("a", `${two}/sub`);
    const fd = open(one, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    const other = open(two, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    let listed;
    try {
      listed = statDirectory(fd, other);
    } finally {
      close(fd);
      close(other);
    }
    assert.deepEqual(listed.undecodable, []);
    const names = listed.entries.map((e) => e.name);
    assert.deepEqual(names, [...Deno.readDirSync(one)].map((e) => e.name).sort());
    for (const e of listed.entries) {
      sameAsDeno(e.stat, `${one}/${e.name}`);
      if (e.name === "a" || e.name === "sub") sameAsDeno(e.other, `${two}/${e.name}`);
      else assert.equal(e.other, undefined, e.name);
    }
    // The symlinks themselves: not the 0644 file or the directory they lead to.
    assert.equal(listed.entries.find((e) => e.name === "link")!.stat!.mode & 0o170000, 0o120000);
    assert.equal(listed.entries.find((e) => e.name === "sub")!.other!.mode & 0o170000, 0o120000);
  } finally {
    cleanup();
  }
});

Deno.test("statDirectory: names that are not UTF-8 come back as bytes; -1 states one side", () => {
  const { dir, cleanup } = tempDir("dirs");
  try {
    const sh = new Deno.Command("sh", {
      args: ["-c", 'cd "$0" && : > "$(printf "x\\377y")" && : > ok', dir],
    }).outputSync();
    assert.ok(sh.success, new TextDecoder().decode(sh.stderr));
    const fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    try {
      const listed = statDirectory(fd, -1);
      assert.deepEqual(listed.entries.map((e) => [e.name, e.other]), [["ok", undefined]]);
      assert.deepEqual(listed.undecodable, [new Uint8Array([0x78, 0xff, 0x79])]);
    } finally {
      close(fd);
    }
  } finally {
    cleanup();
  }
});

Deno.test("statEntry: a path, relative or absolute; missing and through a file are undefined", () => {
  const { dir, cleanup } = tempDir("dirs");
  try {
    Deno.writeTextFileSync(`${dir}/f`, "file");
    sameAsDeno(statEntry(AT_FDCWD, `${dir}/f`), `${dir}/f`);
    assert.equal(statEntry(AT_FDCWD, `${dir}/missing`), undefined);
    assert.equal(statEntry(AT_FDCWD, `${dir}/f/below`), undefined);
    const fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    try {
      sameAsDeno(statEntry(fd, "f"), `${dir}/f`);
    } finally {
      close(fd);
    }
    assert.throws(() => statEntry(AT_FDCWD, "a\0b"), /NUL byte/);
    assert.throws(() => statEntry(AT_FDCWD, "/" + "x".repeat(5000)), /longer than/);
  } finally {
    cleanup();
  }
});

Deno.test("fileInfo: every field as Deno.lstatSync / Deno.statSync gives it, for every kind", () => {
  const { dir, cleanup } = tempDir("dirs");
  try {
    Deno.writeTextFileSync(`${dir}/f`, "x".repeat(5000));
    Deno.chmodSync(`${dir}/f`, 0o4751);
    Deno.utimeSync(`${dir}/f`, new Date(1_000_000_123), new Date(-86_400_000 * 400 + 7));
    Deno.mkdirSync(`${dir}/d`);
    Deno.symlinkSync("f", `${dir}/link`);
    Deno.symlinkSync("missing", `${dir}/dangling`);
    const fifo = new Deno.Command("mkfifo", { args: [`${dir}/fifo`] }).outputSync();
    assert.ok(fifo.success);
    const listener = Deno.listen({ transport: "unix", path: `${dir}/sock` });
    try {
      const paths = ["f", "d", "link", "dangling", "fifo", "sock"].map((n) => `${dir}/${n}`);
      for (const path of [...paths, "/dev/null", "/", dir]) {
        for (const follow of [false, true]) {
          let expected: Deno.FileInfo | undefined;
          try {
            expected = follow ? Deno.statSync(path) : Deno.lstatSync(path);
          } catch (e) {
            if (!(e instanceof Deno.errors.NotFound)) throw e;
          }
          assert.deepEqual(fileInfo(path, follow), expected, `${path} follow=${follow}`);
        }
      }
    } finally {
      listener.close();
    }
    assert.equal(fileInfo(`${dir}/missing`, false), undefined);
    assert.equal(fileInfo(`${dir}/f/below`, true), undefined);
    Deno.symlinkSync("loop", `${dir}/loop`);
    assert.throws(
      () => fileInfo(`${dir}/loop`, true),
      (e) => e instanceof ErrnoError && e.code === "ELOOP",
    );
    assert.throws(() => fileInfo("a\0b", false), /NUL byte/);
  } finally {
    cleanup();
  }
});

Deno.test("directoryNames: the names Deno.readDirSync gives, undecodable bytes as U+FFFD", () => {
  const { dir, cleanup } = tempDir("dirs");
  try {
    const sh = new Deno.Command("sh", {
      args: ["-c", 'cd "$0" && : > "$(printf "x\\377y")" && : > ok && mkdir d && mkfifo p', dir],
    }).outputSync();
    assert.ok(sh.success, new TextDecoder().decode(sh.stderr));
    Deno.writeTextFileSync(`${dir}/é`, "");
    Deno.symlinkSync(".", `${dir}/self`);
    const expected = [...Deno.readDirSync(dir)].map((e) => e.name).sort();
    assert.deepEqual(directoryNames(dir).sort(), expected);
    assert.ok(expected.includes("x\ufffdy"));
    // A symlink to a directory is read as that directory, as Deno.readDirSync reads it.
    assert.deepEqual(directoryNames(`${dir}/self`).sort(), expected);
    assert.deepEqual(directoryNames(`${dir}/d`), []);
    for (const [path, code] of [["missing", "ENOENT"], ["ok", "ENOTDIR"], ["p", "ENOTDIR"]]) {
      assert.throws(
        () => directoryNames(`${dir}/${path}`),
        (e) => e instanceof ErrnoError && e.code === code,
        path,
      );
    }
    // More names than one getdents64 buffer holds.
    Deno.mkdirSync(`${dir}/many`);
    for (let i = 0; i < 3000; i++) Deno.writeTextFileSync(`${dir}/many/${"n".repeat(40)}${i}`, "");
    assert.equal(new Set(directoryNames(`${dir}/many`)).size, 3000);
  } finally {
    cleanup();
  }
});
