/**
 * jk_cp — copy files, directories, devices and programs (with the libraries they need) into a
 * jail. Command line and output lines of jailkit 2.23 (man/jk_cp.8), plus --dry-run and --json.
 */
import {
  JAIL_WRITER_OPTIONS,
  main,
  openJail,
  parseOptions,
  requireRootUnlessDryRun,
  runPlan,
  stderr,
  stdoutText,
  takeJail,
} from "../lib/entry/admin.ts";
import { CopyPlanner } from "../lib/engine/copy.ts";
import { configDir, locateProgram } from "../lib/core/paths.ts";
import {
  mountPointOf,
  mountPoints,
  outsideMountPoints,
  thinConfigPath,
  thinJailAt,
} from "../lib/config/thin.ts";

const USAGE = `Usage: jk_cp -j JAIL [OPTIONS] FILE...
       jk_cp JAIL [OPTIONS] FILE...

Copies files, directories, devices and programs into JAIL at the same path as on the host,
together with the libraries the programs need. Bare program names are looked up in PATH.

  -j, --jail=DIR   the jail directory
  -f, --force      replace jail files and symlinks that differ from the host
  -k, --hardlink   use hard links where possible (set-id and non-root files are copied)
  -o, --owner      keep the owner and group of the files (default: root:root)
  -s, --setuid     keep set-uid and set-gid bits (default: removed)
  -v, --verbose    tell more
      --dry-run    print what would be done, change nothing
      --json       print the operations and their outcome as JSON
  -h, --help       this text

Exit codes: 0 ok (programs not found in PATH are reported and skipped), 1 bad option,
2 missing jail or file (or none found), 3 jail is not a directory, 4 a path does not exist
(nothing is copied), 5 not root, 6 the jail is not safe, 7 some operations failed.`;

/** Exit codes: jailkit 2.23's, plus 7 (jailkit left copy errors at 0). */
const EXIT = {
  ok: 0,
  usage: 1,
  /** no jail or no file given, or none of the bare names found in PATH */
  nothingToCopy: 2,
  notDirectory: 3,
  /** a path given with a slash does not exist */
  missingPath: 4,
  notRoot: 5,
  unsafeJail: 6,
  failed: 7,
} as const;

const OPTIONS = {
  ...JAIL_WRITER_OPTIONS,
  owner: { type: "boolean", short: "o" },
  setuid: { type: "boolean", short: "s" },
} as const;

function run(): number {
  const { values, positionals } = parseOptions(Deno.args, OPTIONS, USAGE);
  if (values.help) {
    stdoutText(USAGE);
    return EXIT.ok;
  }
  const out = requireRootUnlessDryRun(values, {
    tool: "jk_cp",
    what: "copy files into a jail",
    code: EXIT.notRoot,
  });
  const { jail: jailArg, rest: names } = takeJail(values.jail, positionals, USAGE, {
    say: () => stderr("ERROR: need at least a jail directory and one file to copy"),
    code: EXIT.nothingToCopy,
  });
  const jail = openJail(jailArg, {
    notDirectory: EXIT.notDirectory,
    unsafe: EXIT.unsafeJail,
    bareSafetyMessage: true,
  });
  const files: string[] = [];
  // jailkit 2.23: a missing path stops everything (exit 4), a bare name not in PATH was
  // silently dropped. Panels pass lists of optional programs (ISPConfig: "which zip unzip
  // patch pico lesspipe"), so such names are now reported and the others still copied.
  const missingPaths: string[] = [];
  for (const name of names) {
    const found = locateProgram(name);
    if (found !== undefined) files.push(found);
    else if (name.includes("/")) missingPaths.push(name);
    else stderr(`WARNING: ${name} was not found in PATH, not copied`);
  }
  if (missingPaths.length > 0) {
    for (const p of missingPaths) stderr(`ERROR: ${p} does not exist`);
    stderr("ERROR: nothing was copied");
    return EXIT.missingPath;
  }
  if (files.length === 0) {
    stderr("ERROR: none of the programs was found, nothing to copy");
    return EXIT.nothingToCopy;
  }
  const planner = new CopyPlanner(jail);
  // A thin jail (jk_init --thin) shows the host at its mount points: nothing is copied there,
  // and its loader cache is the host's.
  const thin = thinJailAt(thinConfigPath(configDir()), jail);
  const points = thin === undefined ? [] : mountPoints(thin);
  for (const file of points.length > 0 ? files : []) {
    const point = mountPointOf(planner.view.resolve(file, false), points);
    if (point !== undefined) {
      planner.plan.note(
        `${file}: ${jail}${point} is a mount point of this thin jail, where the session sees ` +
          "the host's: not copied",
      );
    }
  }
  planner.copyPaths(files, {
    force: values.force === true,
    hardlink: values.hardlink === true,
    keepOwner: values.owner === true,
    keepSetid: values.setuid === true,
    glob: false,
    resolveLibs: true,
  });
  if (points.length > 0) {
    const ops = planner.plan.ops;
    ops.splice(0, ops.length, ...outsideMountPoints(ops, points));
  }
  planner.finishLibraryCache(thin !== undefined);
  const failed = runPlan(planner.plan.build(), out);
  return failed > 0 ? EXIT.failed : EXIT.ok;
}

if (import.meta.main) {
  main(run, {
    usage: EXIT.usage,
    "not-found": EXIT.missingPath,
    "unsafe-jail": EXIT.unsafeJail,
    permission: EXIT.notRoot,
    io: EXIT.failed,
    config: EXIT.usage,
    parse: EXIT.failed,
  });
}
