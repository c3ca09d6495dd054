import assert from "node:assert/strict";
import { posix } from "node:path";
import { basename, dirname, join, normalize, resolve } from "../lib/core/posixpath.ts";

/** Every path of up to four names from NAMES, each joined by one or two slashes, with or without a leading and a trailing slash. */
function corpus(): string[] {
  const NAMES = ["", ".", "..", "a", "bc"];
  const paths = new Set<string>(["", "/", "//", "///"]);
  let level = [""];
  for (let depth = 1; depth <= 4; depth++) {
    const next: string[] = [];
    for (const base of level) {
      for (const name of NAMES) {
        for (const sep of depth === 1 ? [""] : ["/", "//"]) next.push(`${base}${sep}${name}`);
      }
    }
    for (const p of next) {
      for (const lead of ["", "/"]) {
        for (const tail of ["", "/"]) {
          paths.add(`${lead}${p}${tail}`);
        }
      }
    }
    level = next;
  }
  return [...paths];
}

Deno.test("posixpath gives node:path's posix results", () => {
  const paths = corpus();
  assert.ok(paths.length > 1000);
  for (const p of paths) {
    assert.equal(normalize(p), posix.normalize(p), `normalize(${JSON.stringify(p)})`);
    assert.equal(dirname(p), posix.dirname(p), `dirname(${JSON.stringify(p)})`);
    assert.equal(basename(p), posix.basename(p), `basename(${JSON.stringify(p)})`);
    assert.equal(resolve(p), posix.resolve(p), `resolve(${JSON.stringify(p)})`);
    assert.equal(
      resolve("/x/y", p),
      posix.resolve("/x/y", p),
      `resolve("/x/y", ${JSON.stringify(p)})`,
    );
    for (const q of ["", "a", "/b/", "..", "./c"]) {
      assert.equal(
        join(p, q),
        posix.join(p, q),
        `join(${JSON.stringify(p)}, ${JSON.stringify(q)})`,
      );
    }
  }
  assert.equal(join(), posix.join());
  assert.equal(resolve(), posix.resolve());
});
