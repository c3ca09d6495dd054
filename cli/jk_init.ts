/**
 * jk_init — create or complete a jail from the sections of jk_init.ini. Command line, output
 * lines and exit codes of jailkit 2.23 (man/jk_init.8), plus --dry-run and --json.
 */
import {
  JAIL_WRITER_OPTIONS,
  main,
  openJail,
  parseOptions,
  requireRootUnlessDryRun,
  runPlan,
  stderr,
  stdout,
  stdoutText,
  takeJail,
} from "../lib/entry/admin.ts";
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
      --thin             make a thin jail: copy nothing under /usr (and the other bind roots),
                         make those mount points and record the jail in jk_thin.ini
  -v, --verbose          tell more
      --dry-run          print what would be done, change nothing
      --json             print the operations and their outcome as JSON
  -h, --help             this text

Exit codes: 0 ok (also when a section does not exist: a warning is printed), 1 bad option,
2 missing jail or section, 3 unsafe jail, unusable config file, or a thin jail without
--thin, 5 not root,
7 some operations failed.`;

/** Exit codes: jailkit 2.23's, plus 7 (jailkit ended with a traceback and 1). */
const EXIT = {
  ok: 0,
  usage: 1,
  /** no jail or no section given */
  missingArgument: 2,
  /** the path to the jail is not safe, or the config file is missing or unusable */
  unsafeJailOrConfig: 3,
  notRoot: 5,
  failed: 7,
} as const;

const OPTIONS = {
  ...JAIL_WRITER_OPTIONS,
  configfile: { type: "string", short: "c" },
  list: { type: "boolean", short: "l" },
  thin: { type: "boolean" },
} as const;

function run(): number {
  const { values, positionals } = parseOptions(Deno.args, OPTIONS, USAGE);
  if (values.help) {
    stdoutText(USAGE);
    return EXIT.ok;
  }
  const configFile = locateConfig("jk_init.ini", values.configfile);
  if (!fileExists(configFile)) {
    stderr(`ERROR: configfile ${configFile} does not exist`);
    return EXIT.unsafeJailOrConfig;
  }
  const ini = readIni(configFile, "python");
  if (values.list) {
    stdout("");
    stdout(`** Available sections in ${configFile} **`);
    stdout("");
    for (const s of listSections(ini)) stdout(s.comment ? `${s.name} - ${s.comment}` : s.name);
    stdout("");
    return EXIT.ok;
  }
  const out = requireRootUnlessDryRun(values, {
    tool: "jk_init",
    what: "create a jail",
    code: EXIT.notRoot,
  });
  const { jail: jailArg, rest: args } = takeJail(values.jail, positionals, USAGE, {
    say: () => {
      stdout("");
      stdout("ERROR: need a jail directory and at least one section");
    },
    code: EXIT.missingArgument,
  });
  // No directory check: jk_init creates the jail.
  const jail = openJail(jailArg, { unsafe: EXIT.unsafeJailOrConfig });
  const { plan } = planInit(jail, ini, args, {
    force: values.force === true,
    hardlink: values.hardlink === true,
    configDir: configDir(),
    thin: values.thin === true,
  });
  const changes = plan.ops.some((o) => o.op !== "note");
  const failed = runPlan(plan, out);
  if (!changes && !out.json) {
    stdout(`Nothing to do: ${jail} already has everything in ${args.join(" ")}`);
  }
  return failed > 0 ? EXIT.failed : EXIT.ok;
}

if (import.meta.main) {
  main(run, {
    usage: EXIT.usage,
    config: EXIT.unsafeJailOrConfig,
    "not-found": EXIT.unsafeJailOrConfig,
    "unsafe-jail": EXIT.unsafeJailOrConfig,
    permission: EXIT.notRoot,
    io: EXIT.failed,
    parse: EXIT.failed,
  });
}
