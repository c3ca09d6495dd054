/**
 * tools/check_imports.ts: the import-direction rule of the layered tree, on small synthetic
 * trees (each wrong import reported with its file and line, a good tree passes) and on the
 * repository itself.
 */
import assert from "node:assert/strict";
import { checkTree, importsOf } from "../tools/check_imports.ts";
import { REPO_ROOT } from "./helpers.ts";

/** A throwaway tree of `files` (path → text), removed after `body`. */
function withTree(files: Record<string, string>, body: (root: string) => void): void {
  const root = Deno.makeTempDirSync({ prefix: "jk-imports-" });
  try {
    for (const [path, text] of Object.entries(files)) {
      Deno.mkdirSync(`${root}/${path.slice(0, path.lastIndexOf("/"))}`, { recursive: true });
      Deno.writeTextFileSync(`${root}/${path}`, text);
    }
    body(root);
  } finally {
    Deno.removeSync(root, { recursive: true });
  }
}

const GOOD: Record<string, string> = {
  "ffi/libc.ts": "export const x = 1;\n",
  "lib/core/errors.ts": 'import { x } from "../../ffi/libc.ts";\nexport const e = x;\n',
  "lib/config/ini.ts": 'import { e } from "../core/errors.ts";\nexport const i = e;\n',
  "lib/login/common.ts": 'import { i } from "../config/ini.ts";\nexport const c = i;\n',
  "lib/login/privilege.ts": "export const p = 1;\n",
  "lib/login/chrootsh.ts":
    'import { c } from "./common.ts";\nimport { p } from "./privilege.ts";\n' +
    "export const s = c + p;\n",
  "lib/login/lsh.ts": "export const l = 1;\n",
  "lib/login/lsh_session.ts": 'import { l } from "./lsh.ts";\nexport const ls = l;\n',
  "lib/entry/setuid.ts": 'import {\n  c,\n} from "../login/common.ts";\nexport const w = c;\n',
  "cli/jk_chrootsh.ts": 'import { s } from "../lib/login/chrootsh.ts";\n' +
    'import { w } from "../lib/entry/setuid.ts";\nconsole.log(s, w);\n',
  "tests/anything_test.ts": 'import { s } from "../lib/login/chrootsh.ts";\nconsole.log(s);\n',
};

Deno.test("check_imports: a tree whose imports all point down passes", () => {
  withTree(GOOD, (root) => assert.deepEqual(checkTree(root), []));
});

Deno.test("check_imports: each wrong import is reported with its file and line", () => {
  withTree({
    ...GOOD,
    // a tool module leaning on a sibling tool's module (line 2)
    "lib/login/procmailwrapper.ts": 'import { c } from "./common.ts";\n' +
      'import { s } from "./chrootsh.ts";\nexport const m = c + s;\n',
    // upwards, on the closing line of a multi-line import (line 3)
    "lib/core/paths.ts": 'import {\n  s,\n} from "../login/chrootsh.ts";\nexport const q = s;\n',
    // one tool folder into another
    "lib/admin/check.ts": 'import { s } from "../login/chrootsh.ts";\nexport const k = s;\n',
    // a shared module leaning on one tool's module
    "lib/login/common.ts": 'import { l } from "./lsh.ts";\nexport const c = l;\n',
    // one entry importing another
    "cli/jk_uchroot.ts": 'import "./jk_chrootsh.ts";\n',
  }, (root) => {
    const found = checkTree(root).map((v) => `${v.file}:${v.line}: ${v.target}: ${v.why}`).sort();
    assert.deepEqual(found, [
      "cli/jk_uchroot.ts:1: cli/jk_chrootsh.ts: a cli/ entry may not import another entry",
      "lib/admin/check.ts:1: lib/login/chrootsh.ts: lib/admin/ and lib/login/ are separate " +
      "tool folders",
      "lib/core/paths.ts:3: lib/login/chrootsh.ts: lib/core/ may not import upwards from " +
      "lib/login/",
      "lib/login/common.ts:1: lib/login/lsh.ts: shared common.ts may not import lsh.ts",
      "lib/login/procmailwrapper.ts:2: lib/login/chrootsh.ts: procmailwrapper.ts may not " +
      "import sibling tool module chrootsh.ts",
    ]);
  });
});

Deno.test("check_imports: import forms, with their line numbers", () => {
  assert.deepEqual(
    importsOf(
      'import a from "./a.ts";\nexport { b } from "../b.ts";\nconst c = await import("./c.ts");\n' +
        'import "./d.ts";\nimport x from "node:fs";\n' +
        '/**\n * @example\n * import { y } from "../../mod.ts";\n */\n// import "./e.ts";\n',
    ),
    [
      { line: 1, spec: "./a.ts" },
      { line: 2, spec: "../b.ts" },
      { line: 3, spec: "./c.ts" },
      { line: 4, spec: "./d.ts" },
    ],
  );
});

Deno.test("check_imports: the repository itself keeps the rule", () => {
  const violations = checkTree(REPO_ROOT);
  assert.deepEqual(
    violations.map((v) => `${v.file}:${v.line}: imports ${v.target}: ${v.why}`),
    [],
  );
});
