/**
 * jk_check — audits jails and reports what it finds; never changes anything. Command line of
 * jailkit 2.23 (man/jk_check.8) plus jails as arguments and --json; exit 2 when an ERROR was found.
 */
import * as posix from "../lib/core/posixpath.ts";
import { main, parseOptions, stderr, stdout, stdoutText } from "../lib/entry/admin.ts";
import { JailkitError } from "../lib/core/errors.ts";
import { jsonText } from "../lib/core/output.ts";
import { type IniFile, parseIni, readIni } from "../lib/config/ini.ts";
import { checkJailSafety, lstatOrUndefined } from "../lib/engine/jailpath.ts";
import { parsePasswd } from "../lib/config/passwd.ts";
import { configDir, DEFAULT_PATH, locateProgram } from "../lib/core/paths.ts";
import { parseSocketdConfig } from "../lib/socketd/rules.ts";
import {
  mountPoints,
  readThinConfigText,
  thinConfigPath,
  type ThinJail,
  thinJails,
} from "../lib/config/thin.ts";
import {
  checkJail,
  chrootshPaths,
  type Finding,
  findingLine,
  jailedHostUsers,
  readJailPasswd,
  selectJails,
  systemCheckFs,
  unknownKeyFindings,
} from "../lib/admin/check.ts";
import {
  checkSshdUsers,
  jailedShellUsers,
  querySshd,
  type SshdSettings,
} from "../lib/admin/check_sshd.ts";

const HOST_PASSWD = "/etc/passwd";

function usage(): string {
  return `Usage: jk_check [OPTIONS] [JAIL...]

Checks jails for security problems: an unsafe path to the jail, group- or world-writable
directories, set-uid and set-gid root programs, files and symlinks that differ from the
host, jail users that do not match their host accounts, and sshd settings that let
jailed users past their jail (forwarding, tunnels, ~/.ssh/rc). Changes nothing.
Without JAIL it checks every jail named in the configuration file and every jail of an
account in ${HOST_PASSWD} whose home contains /./; with JAIL it checks only those.

  -c, --configfile=FILE   configuration file (default ${configDir()}/jk_check.ini)
  -j, --jail=JAIL         check this jail, as a JAIL argument does; may be repeated
  -v, --verbose           show what is being tested
      --json              print the findings as one JSON document
      --sshd-config=FILE  the sshd configuration to evaluate (default: sshd's own)
  -h, --help              this text

Findings are printed on standard output, starting with ERROR: or WARNING:.
Exit codes: 0 no ERROR found (there may be warnings), 1 bad option or unusable
configuration file, 2 at least one ERROR found.`;
}

/** Exit codes: jailkit 2.23 always ended with 0 (1 on a bad option); 2 is ours. */
const EXIT = {
  /** no ERROR found; there may be warnings */
  ok: 0,
  /** bad option or unusable configuration file */
  usage: 1,
  errorFound: 2,
} as const;

const OPTIONS = {
  configfile: { type: "string", short: "c" },
  jail: { type: "string", short: "j", multiple: true },
  verbose: { type: "boolean", short: "v" },
  help: { type: "boolean", short: "h" },
  json: { type: "boolean" },
  "sshd-config": { type: "string" },
} as const;

/** The configuration, if any: a missing default file is normal, a missing -c FILE is not. */
function loadConfig(given: string | undefined, note: (t: string) => void): IniFile | undefined {
  const path = given ?? posix.join(configDir(), "jk_check.ini");
  try {
    return readIni(path, "python");
  } catch (e) {
    if (e instanceof JailkitError && e.kind === "not-found" && given === undefined) {
      note(`${path} does not exist; checking the jails found in ${HOST_PASSWD} only`);
      return undefined;
    }
    throw e;
  }
}

/**
 * The sockets jk_socketd makes (its configuration), which are not reported as sockets no
 * jailkit tool made. Without a readable configuration only each jail's dev/log counts.
 */
function socketdSockets(note: (t: string) => void): string[] {
  const path = posix.join(configDir(), "jk_socketd.ini");
  try {
    return parseSocketdConfig(Deno.readTextFileSync(path), path).sockets.map((s) =>
      posix.normalize(s.path)
    );
  } catch (e) {
    note(`not using ${path}: ${e instanceof Error ? e.message : String(e)}`);
    return [];
  }
}

/**
 * The thin jails of jk_thin.ini, whose mount points the walk leaves alone. A file the login
 * tools would refuse is an error finding (no thin login works), and then no jail counts as thin.
 */
function thinJailsOf(report: (f: Finding) => void): Map<string, ThinJail> {
  const path = thinConfigPath(configDir());
  try {
    const text = readThinConfigText(path);
    return text === undefined ? new Map() : thinJails(parseIni(text, path, "c"));
  } catch (e) {
    if (!(e instanceof JailkitError)) throw e;
    report({ severity: "error", kind: "config", path, message: e.message });
    return new Map();
  }
}

/**
 * How to ask sshd for a user's effective settings, or undefined (noted) when sshd is not
 * installed; a configuration given with --sshd-config needs sshd.
 */
function sshdQuery(
  configFile: string | undefined,
  note: (t: string) => void,
): ((criteria: string) => SshdSettings | string) | undefined {
  const sshd = locateProgram("sshd", DEFAULT_PATH);
  if (sshd === undefined) {
    if (configFile !== undefined) {
      throw new JailkitError("not-found", `--sshd-config ${configFile}: sshd is not installed`);
    }
    note(`sshd is not installed: not checking its settings for jailed users`);
    return undefined;
  }
  return (criteria) => querySshd(sshd, criteria, configFile);
}

/** Whoever may change the configuration may hide problems from jk_check. */
function configOwnerFinding(path: string): Finding | undefined {
  const info = lstatOrUndefined(path);
  if (!info) return undefined;
  const mode = (info.mode ?? 0) & 0o7777;
  if (info.uid === 0 && (mode & 0o022) === 0) return undefined;
  return {
    severity: "warning",
    kind: "config",
    message: `${path} is not owned by root or is writable by group or others ` +
      `(${mode.toString(8).padStart(4, "0")} ${info.uid}:${info.gid}): whoever can change ` +
      `it can hide problems from jk_check`,
  };
}

function run(): number {
  const { values, positionals } = parseOptions(Deno.args, OPTIONS, usage());
  if (values.help) {
    stdoutText(usage());
    return EXIT.ok;
  }
  const verbose = values.verbose === true;
  const json = values.json === true;
  const findings: Finding[] = [];
  let errors = 0;
  let warnings = 0;
  const report = (f: Finding) => {
    if (f.severity === "error") errors++;
    else warnings++;
    if (json) findings.push(f);
    else stdout(findingLine(f));
  };
  // Progress must not end up inside the JSON document.
  const note = (text: string) => {
    if (verbose) (json ? stderr : stdout)(text);
  };

  const ini = loadConfig(values.configfile, note);
  let hostText: string;
  try {
    hostText = Deno.readTextFileSync(HOST_PASSWD);
  } catch (e) {
    throw new JailkitError("io", `cannot read ${HOST_PASSWD}: ${(e as Error).message}`);
  }
  const hostPasswd = parsePasswd(hostText, HOST_PASSWD);
  const hostUsers = jailedHostUsers(hostText, HOST_PASSWD);
  if (ini) {
    const owner = configOwnerFinding(ini.path);
    if (owner) report(owner);
    for (const f of unknownKeyFindings(ini)) report(f);
  }
  const selection = selectJails(ini, hostUsers, [...values.jail ?? [], ...positionals], Deno.cwd());
  for (const f of selection.findings) report(f);

  const fs = systemCheckFs();
  const sockets = socketdSockets(note);
  const thin = thinJailsOf(report);
  const shells = chrootshPaths();
  const askSshd = sshdQuery(values["sshd-config"], note);
  for (const j of selection.jails) {
    const thinJail = thin.get(j.jail);
    checkJail({
      jail: j.jail,
      settings: j.settings,
      hostPasswd,
      hostUsers,
      shells,
      readJailPasswd: () => readJailPasswd(j.jail),
      checkSafety: (jail) => checkJailSafety(jail),
      fs,
      sockets,
      mountPoints: thinJail ? mountPoints(thinJail) : [],
      report,
      note,
    });
    if (askSshd) {
      checkSshdUsers({
        jail: j.jail,
        users: jailedShellUsers(hostUsers, j.jail, shells),
        query: askSshd,
        report,
        note,
      });
    }
  }
  if (json) {
    stdoutText(jsonText({
      jails: selection.jails.map((j) => ({ jail: j.jail, source: j.source })),
      findings,
      errors,
      warnings,
    }));
  }
  return errors > 0 ? EXIT.errorFound : EXIT.ok;
}

if (import.meta.main) {
  main(run, {
    usage: EXIT.usage,
    config: EXIT.usage,
    "not-found": EXIT.usage,
    permission: EXIT.usage,
    io: EXIT.usage,
    parse: EXIT.usage,
    "unsafe-jail": EXIT.usage,
  });
}
