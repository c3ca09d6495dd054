/**
 * jk_init — create or complete a jail from the sections of jk_init.ini. Command line, output
 * lines and exit codes of jailkit 2.23 (spec §2.1), plus --dry-run and --json.
 */
import {
  isRoot,
  JAIL_WRITER_OPTIONS,
  main,
  parseOptions,
  runPlan,
  stderr,
  stdout,
  takeJail,
} from "../lib/entry/admin.ts";
import { checkJailSafety, normalizeJail } from "../lib/engine/jailpath.ts";
import { JailkitError } from "../lib/core/errors.ts";
import { readIni } from "../lib/config/ini.ts";
import { listSections } from "../lib/config/profile.ts";
import { planInit } from "../lib/admin/init.ts";
import { configDir, fileExists, locateConfig } from "../lib/core/paths.ts";

const USAGE = `Usage: jk_init [OPTIONS] -j JAIL SECTION...
       jk_init [OPTIONS] JAIL SECTION...
       jk_init [-c FILE] -l

Creates or completes JAIL with the files, programs, libraries, devices, users and groups that
the named sections of jk_init.ini list. Existing files are left alone unless -f is given.

  -c, --configfile=FILE  the ini file (default /etc/jailkit/jk_init.ini when present, else the
                         defaults shipped with these tools)
  -l, --list             list the available sections
  -j, --jail=DIR         the jail directory
  -f, --force            refresh jail files and symlinks that differ from the host
  -k, --hardlink         use hard links where possible (set-id and non-root files are copied)
  -v, --verbose          tell more
      --dry-run          print what would be done, change nothing
      --json             print the operations and their outcome as JSON
  -h, --help             this text

Exit codes: 0 ok (also when a section does not exist: a warning is printed), 1 bad option,
2 missing jail or section, 3 unsafe jail or unusable config file, 5 not root,
7 some operations failed.`;

const OPTIONS = {
  ...JAIL_WRITER_OPTIONS,
  configfile: { type: "string", short: "c" },
  list: { type: "boolean", short: "l" },
} as const;

function run(): number {
  const { values, positionals } = parseOptions(Deno.args, OPTIONS, USAGE);
  if (values.help) {
    stdout(USAGE);
    return 0;
  }
  const configFile = locateConfig("jk_init.ini", values.configfile as string | undefined);
  if (!fileExists(configFile)) {
    stderr(`ERROR: configfile ${configFile} does not exist`);
    return 3;
  }
  const ini = readIni(configFile, "python");
  if (values.list) {
    stdout("");
    stdout(`** Available sections in ${configFile} **`);
    stdout("");
    for (const s of listSections(ini)) stdout(s.comment ? `${s.name} - ${s.comment}` : s.name);
    stdout("");
    return 0;
  }
  const dryRun = values["dry-run"] === true;
  if (!isRoot() && !dryRun) {
    stdout("jk_init: you need to be root to create a jail (or use --dry-run)");
    return 5;
  }
  const { jail: jailArg, rest: args } = takeJail(values.jail, positionals);
  if (jailArg === undefined || args.length === 0) {
    stdout("");
    stdout("ERROR: need a jail directory and at least one section");
    stdout(USAGE);
    return 2;
  }
  const jail = normalizeJail(jailArg);
  try {
    checkJailSafety(jail);
  } catch (e) {
    if (e instanceof JailkitError) {
      stderr(`ERROR: jail directory ${jail} is not safe: ${e.message}`);
      return 3;
    }
    throw e;
  }
  const { plan } = planInit(jail, ini, args, {
    force: values.force === true,
    hardlink: values.hardlink === true,
    configDir: configDir(),
  });
  const json = values.json === true;
  const changes = plan.ops.some((o) => o.op !== "note");
  const failed = runPlan(plan, { dryRun, json, verbose: values.verbose === true });
  if (!changes && !json) {
    stdout(`Nothing to do: ${jail} already has everything in ${args.join(" ")}`);
  }
  return failed > 0 ? 7 : 0;
}

if (import.meta.main) {
  main(run, {
    usage: 1,
    config: 3,
    "not-found": 3,
    "unsafe-jail": 3,
    permission: 5,
    io: 7,
    parse: 7,
  });
}
