/**
 * lib/core/runtime.ts RUN_FLAGS and the installed launcher's runtime_flags (ffi/jk_launcher.c)
 * are two spellings of one list: a tool re-executing itself from sources (jk_socketd) must run
 * under the same rules as the launcher runs it.
 */
import assert from "node:assert/strict";
import { loginInfo, RUN_FLAGS, VERSION } from "../lib/core/runtime.ts";
import { TOOLS } from "../tools/install.ts";
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

Deno.test("loginInfo: only a lone --help or --version is answered", () => {
  assert.equal(loginInfo("jk_lsh", ["--version"], "Usage: x"), `jk_lsh (jailkit-deno) ${VERSION}`);
  assert.equal(loginInfo("jk_lsh", ["--help"], "Usage: x"), "Usage: x");
  for (
    const args of [
      [],
      ["-c", "--version"],
      ["--version", "x"],
      ["--help", "--version"],
      ["-V"],
      [
        "--versio",
      ],
      ["--version="],
      [" --help"],
    ]
  ) {
    assert.equal(loginInfo("jk_lsh", args, "Usage: x"), undefined, JSON.stringify(args));
  }
});

Deno.test("the login entries load no node:* module (Deno's Node layer costs each login ~25 ms)", async () => {
  const entries = TOOLS.filter((t) => t.bundle).map((t) => t.name);
  assert.ok(entries.includes("jk_chrootsh") && entries.includes("jk_lsh"));
  for (const name of entries) {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["info", "--json", "--no-config", `${REPO_ROOT}/cli/${name}.ts`],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.ok(out.success, new TextDecoder().decode(out.stderr));
    const graph = JSON.parse(new TextDecoder().decode(out.stdout)) as {
      modules: { specifier: string }[];
    };
    const node = graph.modules.map((m) => m.specifier).filter((s) => s.startsWith("node:"));
    assert.deepEqual(node, [], `${name} imports ${node.join(", ")}`);
  }
});
