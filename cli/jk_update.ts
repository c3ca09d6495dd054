/**
 * jk_update — refresh the programs and libraries in a jail from the host. Command line,
 * jk_update.ini keys, output lines (which ISPConfig parses) and exit codes of jailkit 2.23
 * (man/jk_update.8), without its defects, plus --delete-deprecated and --json.
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
} from "../lib/entry/admin.ts";
import { configError } from "../lib/core/errors.ts";
import { iniBool, iniList, iniLookup, type IniSection, readIni } from "../lib/config/ini.ts";
import { configDir, fileExists } from "../lib/core/paths.ts";
import { DEFAULT_DIRS, planUpdate } from "../lib/admin/update.ts";
import { mountPoints, thinConfigPath, thinJailAt } from "../lib/config/thin.ts";

const USAGE = `Usage: jk_update [OPTIONS] -j JAIL [DIR...]
       jk_update [OPTIONS] -c JAIL [DIR...]

Compares the files in the directories DIR of JAIL with the host files of the same name and
refreshes the jail copies that differ: changed files are copied again (with any library they
now need), changed symlinks are recreated with the host's link text. The directories are the
DIRs and, with -c, the section's; when there are none: ${DEFAULT_DIRS.join(" ")}. Jail entries
that are not on the host are reported and kept.

  -j, --jail=JAIL           the jail directory
  -c, --configsection=JAIL  use the section [JAIL] of /etc/jailkit/jk_update.ini
                            (keys: skips, directories, hardlink or hardlinks, delete_deprecated)
  -s, --skip=PATH           leave PATH alone (host or jail path; may be repeated)
  -k, --hardlink            use hard links where possible (set-id and non-root files are copied)
      --delete-deprecated   remove jail entries that are not on the host (jailkit 2.23 did)
  -d, --dry-run             print what would be done, change nothing
  -v, --verbose             tell more
      --json                print the operations and their outcome as JSON
  -h, --help                this text

Exit codes: 0 ok, 1 bad option, no jail, missing or bad config section, 5 not root,
6 the jail is not safe, 7 some operations failed, 21 both -j and -c.`;

/**
 * Exit codes: jailkit 2.23's (1, 21), plus those of the checks jailkit lacked (5, 6) and 7
 * (jailkit left failed copies at 0).
 */
const EXIT = {
  ok: 0,
  /** bad option, no jail, missing or bad config section, jail not a directory */
  usage: 1,
  notRoot: 5,
  unsafeJail: 6,
  failed: 7,
  jailAndSection: 21,
} as const;

const OPTIONS = {
  jail: JAIL_WRITER_OPTIONS.jail,
  hardlink: JAIL_WRITER_OPTIONS.hardlink,
  verbose: JAIL_WRITER_OPTIONS.verbose,
  help: JAIL_WRITER_OPTIONS.help,
  json: JAIL_WRITER_OPTIONS.json,
  "dry-run": { type: "boolean", short: "d" },
  configsection: { type: "string", short: "c" },
  skip: { type: "string", short: "s", multiple: true },
  "delete-deprecated": { type: "boolean" },
} as const;

interface SectionSettings {
  skips: string[];
  directories: string[];
  hardlink: boolean | undefined;
  deleteDeprecated: boolean;
}

/**
 * The section's keys. jailkit 2.23 meant `hardlink` but never read it, and documented
 * `hardlinks`: both are read; when both are set they must agree.
 */
function readSection(section: IniSection): SectionSettings {
  const one = iniLookup(section, "hardlink");
  const other = iniLookup(section, "hardlinks");
  const hardlink = one ? iniBool(section, "hardlink", false) : undefined;
  const hardlinks = other ? iniBool(section, "hardlinks", false) : undefined;
  if (hardlink !== undefined && hardlinks !== undefined && hardlink !== hardlinks) {
    throw configError(
      section.path,
      other!.line,
      `hardlinks = ${other!.value} contradicts hardlink = ${one!.value} (line ${one!.line})`,
    );
  }
  return {
    skips: iniList(section, "skips"),
    directories: iniList(section, "directories"),
    hardlink: hardlink ?? hardlinks,
    deleteDeprecated: iniBool(section, "delete_deprecated", false),
  };
}

async function run(): Promise<number> {
  const { values, positionals } = parseOptions(Deno.args, OPTIONS, USAGE);
  if (values.help) {
    stdoutText(USAGE);
    return EXIT.ok;
  }
  const jailOpt = values.jail;
  const sectionName = values.configsection;
  if (jailOpt !== undefined && sectionName !== undefined) {
    stderr("ERROR: cannot specify both a jail and a configsection");
    return EXIT.jailAndSection;
  }
  if (jailOpt === undefined && sectionName === undefined) {
    stderr(
      "ERROR: must at least specify a jail or a configsection using -j or --jail or -c or --configsection",
    );
    stdoutText(USAGE);
    return EXIT.usage;
  }
  const skips = [...(values.skip ?? [])];
  const dirs = positionals.slice();
  let hardlink = values.hardlink === true;
  let deleteDeprecated = values["delete-deprecated"] === true;
  if (sectionName !== undefined) {
    const file = `${configDir()}/jk_update.ini`;
    if (!fileExists(file)) {
      stderr(`ERROR: configfile ${file} does not exist`);
      return EXIT.usage;
    }
    const section = readIni(file, "python").section(sectionName);
    if (section === undefined || sectionName === "DEFAULT") {
      stderr(`ERROR: configfile ${file} does not have a section called ${sectionName}`);
      return EXIT.usage;
    }
    const settings = readSection(section);
    skips.push(...settings.skips);
    dirs.push(...settings.directories);
    if (!values.hardlink) hardlink = settings.hardlink ?? false;
    if (!values["delete-deprecated"]) deleteDeprecated = settings.deleteDeprecated;
  }
  const out = requireRootUnlessDryRun(values, {
    tool: "jk_update",
    what: "update a jail",
    code: EXIT.notRoot,
  });
  const jail = openJail((jailOpt ?? sectionName)!, {
    notDirectory: EXIT.usage,
    unsafe: EXIT.unsafeJail,
  });
  // A thin jail's mount points show the host at login: nothing there is compared or filled.
  const thin = thinJailAt(thinConfigPath(configDir()), jail);
  const { plan, problems } = await planUpdate(jail, {
    dirs,
    skips,
    hardlink,
    deleteDeprecated,
    dryRun: out.dryRun,
    mountPoints: thin ? mountPoints(thin) : [],
    // --json lists every note, the -v ones too.
    verbose: out.verbose || out.json,
  });
  const failed = runPlan(plan, out);
  return failed > 0 || problems > 0 ? EXIT.failed : EXIT.ok;
}

if (import.meta.main) {
  main(run, {
    usage: EXIT.usage,
    config: EXIT.usage,
    "not-found": EXIT.usage,
    "unsafe-jail": EXIT.unsafeJail,
    permission: EXIT.notRoot,
    io: EXIT.failed,
    parse: EXIT.failed,
  });
}
