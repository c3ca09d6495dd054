import assert from "node:assert/strict";
import { checkJailSafety, JailView, normalizeJail } from "../lib/engine/jailpath.ts";
import { JailkitError } from "../lib/core/errors.ts";
import { tempDir } from "./helpers.ts";

/** A fake lstat over a table of paths, so the safety rules are tested without root. */
function fakeLstat(table: Record<string, Partial<Deno.FileInfo>>) {
  return (p: string): Deno.FileInfo | undefined => {
    const e = table[p];
    if (!e) return undefined;
    return {
      isFile: false,
      isDirectory: true,
      isSymlink: false,
      uid: 0,
      gid: 0,
      mode: 0o40755,
      ...e,
    } as Deno.FileInfo;
  };
}

function assertUnsafe(fn: () => void, pattern: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    if (!(e instanceof JailkitError)) return false;
    assert.deepEqual(e.kind, "unsafe-jail");
    assert.match(e.message, pattern);
    return true;
  });
}

Deno.test("normalizeJail makes paths absolute and canonical", () => {
  assert.deepEqual(normalizeJail("/srv/jail/"), "/srv/jail");
  assert.deepEqual(normalizeJail("/srv//x/../jail/."), "/srv/jail");
  assert.deepEqual(normalizeJail("jail", "/srv"), "/srv/jail");
  assert.throws(() => normalizeJail(""), JailkitError);
});

Deno.test("checkJailSafety accepts a root-owned 0755 chain and a not-yet-existing jail", () => {
  const ok = fakeLstat({ "/": {}, "/srv": {}, "/srv/jail": {} });
  checkJailSafety("/srv/jail", ok);
  checkJailSafety("/srv/newjail", fakeLstat({ "/": {}, "/srv": {} }));
});

Deno.test("checkJailSafety names the offending component", () => {
  assertUnsafe(
    () =>
      checkJailSafety(
        "/tmp/jail",
        fakeLstat({ "/": {}, "/tmp": { mode: 0o41777 }, "/tmp/jail": {} }),
      ),
    /\/tmp is writable by group or others \(1777 0:0\)/,
  );
  assertUnsafe(
    () =>
      checkJailSafety(
        "/home/j",
        fakeLstat({ "/": {}, "/home": { isSymlink: true, isDirectory: false } }),
      ),
    /\/home is a symlink/,
  );
  assertUnsafe(
    () => checkJailSafety("/srv/j", fakeLstat({ "/": {}, "/srv": { uid: 1000 }, "/srv/j": {} })),
    /\/srv is not owned by root/,
  );
  assertUnsafe(
    () => checkJailSafety("/srv/j", fakeLstat({ "/": {}, "/srv": {}, "/srv/j": { gid: 100 } })),
    /\/srv\/j is not owned by root:root/,
  );
  assertUnsafe(
    () =>
      checkJailSafety("/srv/j", fakeLstat({ "/": {}, "/srv": {}, "/srv/j": { mode: 0o42755 } })),
    /set-uid or set-gid/,
  );
  assertUnsafe(
    () => checkJailSafety("/srv/a/b", fakeLstat({ "/": {}, "/srv": {} })),
    /\/srv\/a does not exist/,
  );
  assertUnsafe(
    () =>
      checkJailSafety(
        "/srv/j",
        fakeLstat({ "/": {}, "/srv": {}, "/srv/j": {}, "/srv/j/usr": { mode: 0o40775 } }),
      ),
    /\/srv\/j\/usr is writable by group or others/,
  );
  assertUnsafe(() => checkJailSafety("/", fakeLstat({ "/": {} })), /refusing to use \/ as a jail/);
});

Deno.test("JailView.resolve interprets symlinks inside the jail, never outside", () => {
  const { dir, cleanup } = tempDir("view");
  try {
    Deno.mkdirSync(`${dir}/usr/lib`, { recursive: true });
    Deno.symlinkSync("usr/lib", `${dir}/lib`);
    Deno.symlinkSync("/etc", `${dir}/usr/lib/abs`); // absolute: the jail's /etc, not the host's
    Deno.symlinkSync("../../../../../../..", `${dir}/usr/lib/up`);
    Deno.symlinkSync("loop2", `${dir}/loop1`);
    Deno.symlinkSync("loop1", `${dir}/loop2`);
    Deno.writeFileSync(`${dir}/file`, new Uint8Array());
    const view = new JailView(dir);
    assert.deepEqual(
      view.resolve("/lib/x86_64-linux-gnu/libc.so.6", false),
      "/usr/lib/x86_64-linux-gnu/libc.so.6",
    );
    assert.deepEqual(view.resolve("/lib", false), "/lib");
    assert.deepEqual(view.resolve("/lib", true), "/usr/lib");
    assert.deepEqual(view.resolve("/lib/abs/passwd", false), "/etc/passwd");
    assert.deepEqual(view.resolve("/lib/up/etc/shadow", false), "/etc/shadow");
    assert.deepEqual(view.resolve("/../../etc", false), "/etc");
    assertUnsafe(() => view.resolve("/loop1/x", false), /too many levels of symlinks/);
    assertUnsafe(() => view.resolve("/file/x", false), /is not a directory/);
  } finally {
    cleanup();
  }
});

Deno.test("JailView sees planned nodes before the disk", () => {
  const { dir, cleanup } = tempDir("view2");
  try {
    const view = new JailView(dir);
    view.record("/lib", { kind: "symlink", target: "usr/lib" });
    view.record("/usr", { kind: "dir" });
    view.record("/usr/lib", { kind: "dir" });
    assert.deepEqual(view.resolve("/lib/libc.so.6", false), "/usr/lib/libc.so.6");
    assert.deepEqual(view.lookup("/usr/lib")?.planned, true);
  } finally {
    cleanup();
  }
});
