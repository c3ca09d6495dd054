import assert from "node:assert/strict";
import { bundledDataFile, installPrefix, locateProgram, toolPath } from "../lib/core/paths.ts";

Deno.test("installPrefix and toolPath follow an installed tree, default to jailkit's /usr/sbin", () => {
  assert.equal(installPrefix("file:///opt/jk/usr/lib/jailkit/lib/core/paths.ts"), "/opt/jk/usr");
  assert.equal(installPrefix("file:///usr/lib/jailkit/lib/core/paths.ts"), "/usr");
  assert.equal(installPrefix("file:///work/main/lib/core/paths.ts"), undefined);
  assert.equal(
    toolPath("jk_chrootsh", "file:///opt/jk/usr/lib/jailkit/lib/core/paths.ts"),
    "/opt/jk/usr/sbin/jk_chrootsh",
  );
  assert.equal(toolPath("jk_lsh", "file:///usr/lib/jailkit/lib/core/paths.ts"), "/usr/sbin/jk_lsh");
  assert.equal(toolPath("jk_lsh", "file:///work/main/lib/core/paths.ts"), "/usr/sbin/jk_lsh");
});

Deno.test("a bundled login entry (PREFIX/lib/jailkit/cli/TOOL.js) finds its prefix and data", () => {
  const bundle = "file:///opt/jk/usr/lib/jailkit/cli/jk_chrootsh.js";
  assert.equal(installPrefix(bundle), "/opt/jk/usr");
  assert.equal(toolPath("jk_lsh", bundle), "/opt/jk/usr/sbin/jk_lsh");
  assert.equal(bundledDataFile("jk_lsh.ini", bundle), "/opt/jk/usr/lib/jailkit/data/jk_lsh.ini");
  assert.equal(
    bundledDataFile("jk_lsh.ini", "file:///opt/jk/usr/lib/jailkit/lib/core/paths.ts"),
    "/opt/jk/usr/lib/jailkit/data/jk_lsh.ini",
  );
  // Only our entries' bundles: another script in cli/ does not stand for the installation.
  assert.equal(installPrefix("file:///opt/jk/usr/lib/jailkit/cli/other.js"), undefined);
  assert.equal(installPrefix("file:///opt/jk/usr/lib/jailkit/cli/jk_lsh.ts"), undefined);
});

Deno.test("locateProgram with cached PATH listings finds what it finds without them", () => {
  const dir = Deno.makeTempDirSync({ prefix: "jk-locate-" });
  try {
    const [a, b, shut] = ["a", "b", "shut"].map((d) => `${dir}/${d}`);
    for (const d of [a, b, shut]) Deno.mkdirSync(d);
    Deno.writeTextFileSync(`${b}/tool`, "");
    Deno.writeTextFileSync(`${a}/both`, "");
    Deno.writeTextFileSync(`${b}/both`, "");
    Deno.symlinkSync(`${b}/tool`, `${a}/link`);
    Deno.writeTextFileSync(`${shut}/hidden`, "");
    Deno.chmodSync(shut, 0o111); // searchable, not listable (for a non-root reader)
    const path = [a, b, shut, "relative"].join(":");
    const listings = new Map<string, ReadonlySet<string> | null>();
    for (const name of ["tool", "both", "link", "hidden", "absent", ""]) {
      assert.equal(
        locateProgram(name, path, listings),
        locateProgram(name, path),
        `${name} with listings`,
      );
    }
    assert.equal(locateProgram("tool", path, listings), `${b}/tool`);
    assert.equal(locateProgram("link", path, listings), `${a}/link`);
    assert.equal(locateProgram("hidden", path, listings), `${shut}/hidden`);
    assert.deepEqual([...listings.get(a) ?? []].sort(), ["both", "link"]);
    // A program installed after its directory was listed is not seen through that listing.
    Deno.writeTextFileSync(`${a}/late`, "");
    assert.equal(locateProgram("late", path, listings), undefined);
    assert.equal(locateProgram("late", path), `${a}/late`);
  } finally {
    Deno.chmodSync(`${dir}/shut`, 0o755);
    Deno.removeSync(dir, { recursive: true });
  }
});
