/**
 * The import-direction rule of the source tree (README, "Layout"), checked on every
 * `deno task check`:
 *
 *   cli/  →  lib/entry/  →  lib/admin/ | lib/login/ | lib/socketd/  →  lib/engine/  →
 *   lib/config/  →  lib/core/  →  ffi/
 *
 * A module imports only from its own folder or from folders to its right. The three tool folders
 * never import one another. Inside lib/admin/ and lib/login/ a tool's module imports a sibling
 * only when the sibling is shared by the folder (SHARED) or belongs to the same tool (same name
 * before the first `_`, as lsh.ts and lsh_session.ts). No cli/ entry imports another.
 *
 * Usage: deno run --allow-read tools/check_imports.ts [ROOT]   (exit 1 on a violation)
 */
import { posix } from "node:path";
import { parseToolOptions } from "./options.ts";

const LAYERS: Record<string, number> = {
  "ffi": 0,
  "lib/core": 1,
  "lib/config": 2,
  "lib/engine": 3,
  "lib/admin": 4,
  "lib/login": 4,
  "lib/socketd": 4,
  "lib/entry": 5,
  "cli": 6,
};

/** Modules of a tool folder that every tool in it may use. */
const SHARED: Record<string, Set<string>> = {
  "lib/admin": new Set([]),
  "lib/login": new Set(["common.ts", "privilege.ts", "thin_session.ts"]),
};

export interface Violation {
  file: string;
  line: number;
  target: string;
  why: string;
}

/** The layered folder a path belongs to; a subfolder (ffi/libc/) belongs to its parent's. */
function folderOf(path: string): string | undefined {
  const dir = posix.dirname(path);
  return Object.keys(LAYERS).find((k) => dir === k || dir.startsWith(`${k}/`));
}

function toolStem(name: string): string {
  return name.replace(/\.ts$/, "").split("_")[0];
}

/**
 * Relative module specifiers of one source text, with their line numbers. Comment lines are
 * skipped: a JSDoc `@example` imports from the caller's point of view, not the module's.
 */
export function importsOf(text: string): { line: number; spec: string }[] {
  const found: { line: number; spec: string }[] = [];
  const lines = text.split("\n").map((l) => /^\s*(\*|\/\/|\/\*)/.test(l) ? "" : l);
  const re =
    /(?:^|\s)(?:import|export)\b[^"'`]*?\bfrom\s*["'](\.{1,2}\/[^"']+)["']|\bimport\s*\(\s*["'](\.{1,2}\/[^"']+)["']|^\s*import\s*["'](\.{1,2}\/[^"']+)["']/g;
  lines.forEach((l, i) => {
    for (const m of l.matchAll(re)) found.push({ line: i + 1, spec: m[1] ?? m[2] ?? m[3] });
  });
  // multi-line `import {\n …\n} from "…"`: the specifier sits on the closing line
  lines.forEach((l, i) => {
    const m = l.match(/^\}\s*from\s*["'](\.{1,2}\/[^"']+)["']/);
    if (m) found.push({ line: i + 1, spec: m[1] });
  });
  return found;
}

/** The rule for one import of `file` (both paths relative to the repository root). */
export function judge(file: string, target: string): string | undefined {
  const from = folderOf(file);
  const to = folderOf(target);
  if (from === undefined) return undefined; // tests, bench, tools and mod.ts may import anything
  if (to === undefined) return `${from}/ may not import outside the layered folders`;
  if (LAYERS[to] > LAYERS[from]) return `${from}/ may not import upwards from ${to}/`;
  if (LAYERS[to] === LAYERS[from] && to !== from) {
    return `${from}/ and ${to}/ are separate tool folders`;
  }
  if (to !== from) return undefined;
  if (from === "cli") return "a cli/ entry may not import another entry";
  const shared = SHARED[from];
  if (shared === undefined) return undefined;
  const name = posix.basename(target);
  if (shared.has(name) || shared.has(posix.basename(file))) {
    // a shared module may not lean on one tool's module
    return shared.has(name) ? undefined : `shared ${posix.basename(file)} may not import ${name}`;
  }
  if (toolStem(name) === toolStem(posix.basename(file))) return undefined;
  return `${posix.basename(file)} may not import sibling tool module ${name}`;
}

export function checkTree(root: string): Violation[] {
  const out: Violation[] = [];
  const visit = (dir: string, depth: number) => {
    if (depth > 8) throw new Error(`check_imports: ${dir} is nested too deep`);
    let entries: Deno.DirEntry[];
    try {
      entries = [...Deno.readDirSync(posix.join(root, dir))];
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return;
      throw e;
    }
    for (const e of entries) {
      const path = posix.join(dir, e.name);
      if (e.isDirectory && !(path in LAYERS)) visit(path, depth + 1);
      if (!e.isFile || !e.name.endsWith(".ts")) continue;
      const text = Deno.readTextFileSync(posix.join(root, path));
      for (const { line, spec } of importsOf(text)) {
        const target = posix.normalize(posix.join(dir, spec));
        const why = judge(path, target);
        if (why) out.push({ file: path, line, target, why });
      }
    }
  };
  for (const dir of Object.keys(LAYERS)) visit(dir, 0);
  return out;
}

if (import.meta.main) {
  const { root } = parseToolOptions({
    command: "deno run --allow-read tools/check_imports.ts",
    options: {
      root: {
        type: "string",
        positional: true,
        default: new URL("..", import.meta.url).pathname,
      },
    },
  });
  const violations = checkTree(root);
  for (const v of violations) console.error(`${v.file}:${v.line}: imports ${v.target}: ${v.why}`);
  if (violations.length > 0) {
    console.error(`check_imports: ${violations.length} import(s) break the layering`);
    Deno.exit(1);
  }
  console.log("check_imports: every import points down the layers");
}
