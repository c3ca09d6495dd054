/**
 * lib/core/runtime.ts RUN_FLAGS and the installed launcher's runtime_flags (ffi/jk_launcher.c)
 * are two spellings of one list: a tool re-executing itself from sources (jk_socketd) must run
 * under the same rules as the launcher runs it.
 */
import assert from "node:assert/strict";
import { RUN_FLAGS } from "../lib/core/runtime.ts";
import { REPO_ROOT } from "./helpers.ts";

/** The string literals of the C array `runtime_flags`, in order. */
function launcherFlags(): string[] {
  const source = Deno.readTextFileSync(`${REPO_ROOT}/ffi/jk_launcher.c`);
  const block = source.match(/runtime_flags\[\]\s*=\s*\{([^}]*)\}/);
  assert.ok(block, "ffi/jk_launcher.c has no runtime_flags array");
  const withoutComments = block[1].replace(/\/\*[\s\S]*?\*\//g, "");
  return [...withoutComments.matchAll(/"([^"]*)"/g)].map((m) => m[1]);
}

Deno.test("RUN_FLAGS are the launcher's runtime flags after `run`, except --cached-only", () => {
  const flags = launcherFlags();
  assert.equal(flags[0], "run");
  assert.deepEqual(
    flags.slice(1).filter((f) => f !== "--cached-only").sort(),
    [...RUN_FLAGS].sort(),
  );
  assert.ok(flags.includes("--cached-only"), "the installed launcher never fills the cache");
});
