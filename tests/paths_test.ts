import assert from "node:assert/strict";
import { installPrefix, toolPath } from "../lib/core/paths.ts";

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
