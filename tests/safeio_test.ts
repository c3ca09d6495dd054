/**
 * lib/core/safeio.ts: the one pid-file policy (the union of what jk_socketd and
 * jk_chrootlaunch each refused before), the bounded reader and the streamed comparison.
 * tests/chrootlaunch_test.ts and tests/jk_socketd_test.ts cover the tools' use of them.
 */
import assert from "node:assert/strict";
import * as nodeFs from "node:fs";
import { JailkitError } from "../lib/core/errors.ts";
import {
  COMPARE_CHUNK,
  readBounded,
  readBoundedFile,
  removePidFile,
  sameContent,
  writePidFile,
} from "../lib/core/safeio.ts";
import { rootTest, safeTestRoot, tempDir } from "./helpers.ts";

rootTest("writePidFile: a hard link or another owner's file at the name is left alone", () => {
  const { dir, cleanup } = safeTestRoot("safeio-pid");
  try {
    Deno.writeTextFileSync(`${dir}/victim`, "keep\n");
    Deno.linkSync(`${dir}/victim`, `${dir}/hard.pid`);
    assert.throws(() => writePidFile(`${dir}/hard.pid`, 1), /hard\.pid not written: has 2 hard/);
    assert.equal(Deno.readTextFileSync(`${dir}/victim`), "keep\n");

    Deno.writeTextFileSync(`${dir}/theirs.pid`, "keep\n");
    Deno.chownSync(`${dir}/theirs.pid`, 65534, 65534);
    assert.throws(() => writePidFile(`${dir}/theirs.pid`, 1), /owned by uid 65534, not by us/);
    assert.equal(Deno.readTextFileSync(`${dir}/theirs.pid`), "keep\n");
  } finally {
    cleanup();
  }
});

rootTest("writePidFile: never in a directory someone else can change", () => {
  const { dir, cleanup } = safeTestRoot("safeio-piddir");
  try {
    Deno.mkdirSync(`${dir}/group`, { mode: 0o775 });
    Deno.chmodSync(`${dir}/group`, 0o775);
    assert.throws(() => writePidFile(`${dir}/group/x.pid`, 1), (e: unknown) => {
      assert.ok(e instanceof JailkitError);
      assert.match(e.message, /x\.pid not written: .*\/group is writable by group or others/);
      return true;
    });
    Deno.mkdirSync(`${dir}/user`, { mode: 0o755 });
    Deno.chownSync(`${dir}/user`, 65534, 65534);
    assert.throws(() => writePidFile(`${dir}/user/x.pid`, 1), /\/user is not owned by root/);
    assert.throws(() => Deno.lstatSync(`${dir}/user/x.pid`), Deno.errors.NotFound);
    assert.throws(() => writePidFile(`${dir}/`, 1), /does not name a file/);
  } finally {
    cleanup();
  }
});

rootTest("removePidFile: only our own pid, never through a symlink", () => {
  const { dir, cleanup } = safeTestRoot("safeio-rmpid");
  try {
    writePidFile(`${dir}/a.pid`, 42);
    removePidFile(`${dir}/a.pid`, 43);
    assert.equal(Deno.readTextFileSync(`${dir}/a.pid`), "42\n", "another instance's file stays");
    removePidFile(`${dir}/a.pid`, 42);
    assert.throws(() => Deno.lstatSync(`${dir}/a.pid`), Deno.errors.NotFound);
    removePidFile(`${dir}/a.pid`, 42);

    Deno.writeTextFileSync(`${dir}/target`, "42\n");
    Deno.symlinkSync(`${dir}/target`, `${dir}/l.pid`);
    removePidFile(`${dir}/l.pid`, 42);
    assert.ok(Deno.lstatSync(`${dir}/l.pid`).isSymlink);
    assert.equal(Deno.readTextFileSync(`${dir}/target`), "42\n");
  } finally {
    cleanup();
  }
});

Deno.test("readBounded: up to the limit, undefined beyond it, even on an endless device", () => {
  const { dir, cleanup } = tempDir("safeio-read");
  try {
    const big = new Uint8Array(100_000).map((_, i) => i % 253);
    Deno.writeFileSync(`${dir}/f`, big);
    assert.deepEqual(readBoundedFile(`${dir}/f`, 100_000), big);
    assert.equal(readBoundedFile(`${dir}/f`, 99_999), undefined);
    assert.deepEqual(readBoundedFile(`${dir}/f`, 1 << 20), big);
    Deno.writeFileSync(`${dir}/empty`, new Uint8Array());
    assert.deepEqual(readBoundedFile(`${dir}/empty`, 0), new Uint8Array());
    assert.equal(readBoundedFile("/dev/zero", 5000), undefined);
    Deno.symlinkSync(`${dir}/f`, `${dir}/link`);
    assert.throws(() => readBoundedFile(`${dir}/link`, 10, false), /ELOOP|symbolic|loop/i);
    // From the descriptor's position: what is left, bounded the same way.
    const fd = nodeFs.openSync(`${dir}/f`, "r");
    try {
      nodeFs.readSync(fd, new Uint8Array(99_990), 0, 99_990, null);
      assert.deepEqual(readBounded(fd, 10), big.subarray(99_990));
    } finally {
      nodeFs.closeSync(fd);
    }
  } finally {
    cleanup();
  }
});

Deno.test("sameContent: streamed in chunks; the last byte of a later chunk counts", () => {
  const { dir, cleanup } = tempDir("safeio-same");
  try {
    const size = 2 * COMPARE_CHUNK + 3;
    const a = new Uint8Array(size).fill(1);
    const b = a.slice();
    b[size - 1] = 2;
    Deno.writeFileSync(`${dir}/a`, a);
    Deno.writeFileSync(`${dir}/a2`, a);
    Deno.writeFileSync(`${dir}/b`, b);
    assert.equal(sameContent(`${dir}/a`, `${dir}/a2`), true);
    assert.equal(sameContent(`${dir}/a`, `${dir}/b`), false);
    Deno.writeFileSync(`${dir}/short`, a.subarray(0, size - 1));
    assert.equal(sameContent(`${dir}/a`, `${dir}/short`), false);
    // followB: the host side of jk_check may be a symlink; `a` never is followed.
    Deno.symlinkSync(`${dir}/a2`, `${dir}/link`);
    assert.equal(sameContent(`${dir}/a`, `${dir}/link`, { followB: true }), true);
    assert.throws(() => sameContent(`${dir}/link`, `${dir}/a`, { followB: true }));
    // expectA: another inode at the name since it was looked at.
    const st = nodeFs.statSync(`${dir}/a`);
    assert.equal(
      sameContent(`${dir}/a`, `${dir}/a2`, { expectA: { dev: st.dev, ino: st.ino } }),
      true,
    );
    assert.throws(
      () => sameContent(`${dir}/a2`, `${dir}/a`, { expectA: { dev: st.dev, ino: st.ino } }),
      /a2 changed while it was being checked/,
    );
    // A FIFO is refused without blocking.
    new Deno.Command("mkfifo", { args: [`${dir}/fifo`] }).outputSync();
    assert.throws(() => sameContent(`${dir}/a`, `${dir}/fifo`), /fifo is not a regular file/);
  } finally {
    cleanup();
  }
});
