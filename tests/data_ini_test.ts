/**
 * The default configuration files in data/: each parses in the dialect its tool reads, the
 * commented examples are valid when uncommented, and jk_init.ini's sections are well formed and
 * (reported on, and for installed software asserted) correct for the machine running the tests.
 *
 * Convention of data/jk_init.ini checked here (documented in its header): an absolute path
 * without glob characters must exist whenever the software its section is about is installed;
 * a glob may match nothing; a single optional path is written as a one-letter class
 * (`/etc/mot[d]`); bare names are looked up in PATH and skipped when absent.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { expandGlob, hasGlobChars } from "../lib/engine/glob.ts";
import {
  type IniDialect,
  type IniFile,
  iniList,
  iniPlainSections,
  parseIni,
} from "../lib/config/ini.ts";
import { expandSections, JK_INIT_KEYS } from "../lib/config/profile.ts";
import { REPO_ROOT } from "./helpers.ts";

const DATA = join(REPO_ROOT, "data");

/** Every default file, the dialect its tool reads it in, and the keys that tool knows. */
const FILES: Record<string, { dialect: IniDialect; keys: readonly string[] }> = {
  "jk_init.ini": { dialect: "python", keys: JK_INIT_KEYS },
  "jk_check.ini": {
    dialect: "python",
    keys: [
      "ignorepatheverywhere",
      "ignorepathoncompare",
      "ignorewritableforgroup",
      "ignorewritableforothers",
      "ignoresetuidexecuteforuser",
      "ignoresetuidexecuteforgroup",
      "ignoresetuidexecuteforothers",
    ],
  },
  "jk_update.ini": { dialect: "python", keys: ["skips", "directories", "hardlink"] },
  "jk_lsh.ini": {
    dialect: "c",
    keys: ["executables", "paths", "allow_word_expansion", "umask", "environment"],
  },
  "jk_chrootsh.ini": {
    dialect: "c",
    keys: [
      "env",
      "injail_shell",
      "skip_injail_passwd_check",
      "injail_login_shell",
      "relax_home_owner",
      "relax_home_group",
      "relax_home_group_permissions",
      "relax_home_other_permissions",
    ],
  },
  "jk_uchroot.ini": { dialect: "c", keys: ["allowed_jails", "skip_injail_passwd_check"] },
  "jk_socketd.ini": { dialect: "c", keys: ["base", "peak", "interval"] },
};

function read(name: string): string {
  return Deno.readTextFileSync(join(DATA, name));
}

function jkInit(): IniFile {
  return parseIni(read("jk_init.ini"), "data/jk_init.ini", "python");
}

/** The example lines of a commented-out file, uncommented: `#[name]` and `#key = value`. */
function uncommentedExamples(text: string): string {
  return text.split("\n")
    .filter((l) => /^#\[[^\]]+\]$/.test(l) || /^#[a-z_]+ ?=/.test(l))
    .map((l) => l.slice(1))
    .join("\n");
}

Deno.test("data/ holds exactly the known default files", () => {
  const present = [...Deno.readDirSync(DATA)].map((e) => e.name).filter((n) => n.endsWith(".ini"));
  assert.deepEqual(present.sort(), Object.keys(FILES).sort());
});

Deno.test("every data/*.ini parses in its tool's dialect", () => {
  for (const [name, { dialect }] of Object.entries(FILES)) {
    parseIni(read(name), `data/${name}`, dialect);
  }
});

Deno.test("only jk_init.ini is active; the other files are commented examples", () => {
  for (const [name, { dialect }] of Object.entries(FILES)) {
    if (name === "jk_init.ini") continue;
    const ini = parseIni(read(name), `data/${name}`, dialect);
    assert.deepEqual(ini.sections.map((s) => s.name), [], `${name} has an active section`);
  }
});

Deno.test("the commented examples parse when uncommented and use only known keys", () => {
  for (const [name, { dialect, keys }] of Object.entries(FILES)) {
    if (name === "jk_init.ini") continue;
    const example = uncommentedExamples(read(name));
    const ini = parseIni(example, `data/${name} (examples)`, dialect);
    assert.ok(ini.sections.length > 0, `${name} has no example section`);
    for (const s of ini.sections) {
      assert.ok(s.entries.length > 0, `${name}: example [${s.name}] is empty`);
      for (const e of s.entries) {
        assert.ok(keys.includes(e.key), `${name}: example [${s.name}] uses unknown key ${e.key}`);
      }
    }
  }
});

Deno.test("C-dialect files stay inside what jailkit 2.23's C scanner also reads correctly", () => {
  for (const [name, { dialect }] of Object.entries(FILES)) {
    if (dialect !== "c") continue;
    read(name).split("\n").forEach((line, i) => {
      const where = `${name}:${i + 1}`;
      // The C scanner honours "#" only in column 0 and takes any other "[" as a header.
      assert.ok(line === "" || line.startsWith("#"), `${where}: not a column-0 comment`);
      // It keeps the blank after "=" in injail_shell as part of the program path.
      assert.ok(!/injail_shell\s*=\s/.test(line), `${where}: blank after injail_shell=`);
    });
  }
});

Deno.test("jk_init.ini: every section has a comment, known keys, existing includes, no cycle", () => {
  const ini = jkInit();
  const names = iniPlainSections(ini).map((s) => s.name);
  assert.equal(ini.defaults, undefined, "a [DEFAULT] would leak its keys into every section");
  const { sections, warnings } = expandSections(ini, names);
  assert.deepEqual(warnings, []);
  assert.equal(sections.length, names.length);
  for (const s of sections) {
    assert.ok(s.comment, `[${s.name}] has no comment`);
    for (const inc of s.includes) assert.ok(names.includes(inc), `[${s.name}] includes ${inc}`);
  }
});

Deno.test("jk_init.ini: has jailkit 2.23's sections and those hosting panels ask for", () => {
  const names = new Set(iniPlainSections(jkInit()).map((s) => s.name));
  // deno-fmt-ignore
  const expected = [
    // jailkit 2.23
    "uidbasics", "netbasics", "logbasics", "jk_lsh", "limitedshell", "cvs", "git", "scp", "sftp",
    "ssh", "rsync", "procmail", "basicshell", "interactiveshell", "midnightcommander",
    "extendedshell", "terminfo", "editors", "netutils", "apacheutils", "extshellplusnet",
    "openvpn", "apache", "perl", "xauth", "xclients", "vncserver", "ping",
    // panels (ISPConfig, HestiaCP, Virtualmin)
    "coreutils", "mysql-client", "php", "python3", "nodejs", "composer", "zip", "curl", "locale",
  ];
  for (const name of expected) assert.ok(names.has(name), `missing section [${name}]`);
  // ISPConfig's older default list names `groups`; it must stay a warning, not a section.
  assert.ok(!names.has("groups"));
});

/** Top-level usr-merge links: listing one would copy the whole directory behind it. */
const MERGED_TOP_DIRS = new Set(["/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"]);

/** Host secrets no default section may pull into a jail, even as part of a directory. */
const SECRETS = ["/etc/shadow", "/etc/gshadow", "/etc/ssl/private", "/etc/mysql/debian.cnf"];

Deno.test("jk_init.ini: every entry is well formed", () => {
  const { sections } = expandSections(jkInit(), iniPlainSections(jkInit()).map((s) => s.name));
  for (const s of sections) {
    const all = [...s.paths, ...s.pathsWithOwner, ...s.pathsWithSetuid, ...s.devices];
    for (const e of [...all, ...s.emptydirs]) {
      assert.ok(!/\s/.test(e), `[${s.name}] ${e}: whitespace`);
      if (!e.startsWith("/")) {
        // Bare names are PATH look-ups, so only `paths` may hold them.
        assert.ok(s.paths.includes(e), `[${s.name}] ${e}: relative outside paths`);
        assert.ok(/^[A-Za-z0-9][A-Za-z0-9._+-]*$/.test(e), `[${s.name}] ${e}: bad program name`);
        continue;
      }
      const parts = e.split("/").slice(1);
      assert.ok(
        parts.every((p) => p !== "" && p !== "." && p !== ".."),
        `[${s.name}] ${e}: empty, . or .. component`,
      );
      assert.ok(!MERGED_TOP_DIRS.has(e), `[${s.name}] ${e}: a top-level usr-merge link`);
      for (const secret of SECRETS) {
        assert.ok(
          !(secret === e || secret.startsWith(e + "/")),
          `[${s.name}] ${e} would copy ${secret}`,
        );
      }
    }
    for (const d of s.devices) assert.ok(d.startsWith("/dev/"), `[${s.name}] device ${d}`);
    for (const e of [...s.pathsWithSetuid, ...s.devices, ...s.emptydirs]) {
      assert.ok(!hasGlobChars(e), `[${s.name}] ${e}: globs only work in paths/paths_w_owner`);
    }
    for (const u of [...s.users, ...s.groups]) {
      assert.ok(/^[a-z_][a-z0-9_-]*$/.test(u), `[${s.name}] bad user/group name ${u}`);
    }
  }
  // Python-flavoured readers (jailkit's own) crash on a lone "%".
  assert.ok(!read("jk_init.ini").includes("%"));
});

/** PATH look-up as jk_init does it: first directory of the process's PATH holding the name. */
function which(name: string): string | undefined {
  for (const dir of (Deno.env.get("PATH") ?? "").split(":")) {
    if (!dir.startsWith("/")) continue;
    const candidate = join(dir, name);
    try {
      if (Deno.statSync(candidate).isFile) return candidate;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

function exists(path: string): boolean {
  try {
    Deno.lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * For each section: what must be installed for its absolute entries to be required here.
 * An empty list means "always" (the section is about files every Debian/Ubuntu system has).
 */
const INSTALLED_WHEN: Record<string, string[]> = {
  uidbasics: [],
  netbasics: [],
  logbasics: [],
  terminfo: [],
  locale: [],
  iconv: [],
  timezone: ["/usr/share/zoneinfo"],
  cacerts: ["/usr/share/ca-certificates"],
  basicshell: ["bash"],
  coreutils: ["ls"],
  extendedshell: ["file", "less"],
  ssh: ["ssh"],
  scp: ["scp"],
  sftp: ["/usr/lib/openssh/sftp-server"],
  rsync: ["rsync"],
  git: ["git"],
  perl: ["perl"],
  python3: ["/usr/bin/python3"],
  editors: ["vim", "nano"],
  midnightcommander: ["mc"],
  procmail: ["procmail"],
  curl: ["curl"],
  netutils: ["wget"],
  zip: ["zip", "unzip"],
  nodejs: ["node"],
  php: ["php"],
  composer: ["composer"],
  "mysql-client": ["mysql"],
  jk_lsh: ["/usr/sbin/jk_lsh"],
  apache: ["/usr/sbin/apache2"],
  openvpn: ["/usr/sbin/openvpn"],
  ping: ["/usr/bin/ping"],
};

function present(entry: string): boolean {
  if (!entry.startsWith("/")) return which(entry) !== undefined;
  return hasGlobChars(entry) ? expandGlob(entry).length > 0 : exists(entry);
}

const PATH_KEYS = ["paths", "libraries", "executables", "regularfiles", "directories"];

Deno.test("jk_init.ini on this machine: report, and no required path missing for installed software", () => {
  const ini = jkInit();
  for (const name of Object.keys(INSTALLED_WHEN)) {
    assert.ok(ini.section(name), `INSTALLED_WHEN names unknown section ${name}`);
  }
  const report: string[] = [];
  const failures: string[] = [];
  for (const section of iniPlainSections(ini)) {
    // The section's own entries only: included sections are judged under their own name.
    const entries = [...PATH_KEYS, "paths_w_owner", "paths_w_setuid", "devices"]
      .flatMap((key) => iniList(section, key));
    const missing = entries.filter((e) => !present(e));
    const required = INSTALLED_WHEN[section.name];
    const checked = required !== undefined && required.every(present);
    const status = checked ? "checked" : required === undefined ? "report " : "absent ";
    report.push(
      `${status} [${section.name}] ${entries.length - missing.length}/${entries.length} present` +
        (missing.length ? `; absent here: ${missing.join(", ")}` : ""),
    );
    if (!checked) continue;
    for (const e of missing) {
      if (e.startsWith("/") && !hasGlobChars(e)) failures.push(`[${section.name}] ${e}`);
    }
  }
  console.log(report.join("\n"));
  assert.deepEqual(failures, [], "required (non-glob) paths missing although installed");
});
