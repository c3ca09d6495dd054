/**
 * lib/entry/setuid.ts: the host's lstat and stat as the privileged entries see them.
 */
import assert from "node:assert/strict";
import { lstatPath, statPath } from "../lib/entry/setuid.ts";

Deno.test("lstatPath and statPath: Deno's answers, and undefined where nothing is", () => {
  const dir = Deno.makeTempDirSync({ prefix: "jk-setuid-stat-" });
  try {
    Deno.writeTextFileSync(`${dir}/file`, "x");
    Deno.chmodSync(`${dir}/file`, 0o640);
    Deno.symlinkSync(`${dir}/file`, `${dir}/link`);
    Deno.symlinkSync(`${dir}/absent`, `${dir}/dangling`);
    for (const name of ["", "file", "link"]) {
      const path = `${dir}/${name}`;
      for (
        const [ours, deno] of [[lstatPath, Deno.lstatSync], [statPath, Deno.statSync]] as const
      ) {
        const st = deno(path);
        assert.deepEqual(ours(path), {
          isSymlink: st.isSymlink,
          mode: st.mode,
          uid: st.uid,
          gid: st.gid,
        }, `${ours.name}(${name})`);
      }
    }
    for (const path of [`${dir}/absent`, `${dir}/file/below`, `${dir}/dangling`]) {
      assert.equal(statPath(path), undefined, path);
    }
    assert.equal(lstatPath(`${dir}/dangling`)?.isSymlink, true);
    assert.equal(lstatPath(`${dir}/absent`), undefined);
    assert.equal(lstatPath(`${dir}/file/below`), undefined);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
