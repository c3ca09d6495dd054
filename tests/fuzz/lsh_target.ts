/**
 * Fuzz target for jk_lsh's decision (lib/login/lsh.ts decideLsh): seeded command lines, argument
 * vectors, inherited environments, users and configs, some of them mangled.
 *
 * Its oracle is written apart from lib/login/lsh.ts, from the programs' own option lists: when a
 * command is allowed, the program must be listed in the config used, and its arguments must
 * carry only options that config allows (plus the environment rules of jk_lsh(8)). The only
 * exception the decision may throw is a JailkitError; anything else, or an oracle violation,
 * fails the run.
 */
import { JailkitError } from "../../lib/core/errors.ts";
import { type IniFile, parseIni } from "../../lib/config/ini.ts";
import { decideLsh, type Expander, isRefusal } from "../../lib/login/lsh.ts";
import type { FuzzTarget } from "./target.ts";
import { LSH_PROGRAMS, lshFs } from "../login_fixture.ts";

// ------------------------------------------------------------------------------ configs

/** A config the oracle understands: what it lists, in its own terms. */
interface Config {
  readonly section: string;
  readonly executables: readonly string[];
  readonly expand: boolean;
  /** Programs (by oracle family) whose checks are off. */
  readonly unsafe: readonly Family[];
  /** Options added per family: long rsync names and single letters, with their arity. */
  readonly extraLong: Readonly<Record<string, "flag" | "value">>;
  readonly extraShort: Readonly<Partial<Record<Family, Record<string, "flag" | "value">>>>;
  readonly environment: Readonly<Record<string, string>>;
}

type Family = "rsync" | "scp" | "sftp-server" | "git" | "cvs" | "svnserve";

const CONFIGS: readonly Config[] = [
  {
    section: "jktest",
    executables: LSH_PROGRAMS,
    expand: false,
    unsafe: [],
    extraLong: {},
    extraShort: {},
    environment: {},
  },
  {
    section: "jktest",
    executables: LSH_PROGRAMS,
    expand: true,
    unsafe: [],
    extraLong: { "exclude": "value", "omit-dir-times": "flag", "log-file": "value" },
    extraShort: {
      rsync: { T: "value", y: "flag" },
      scp: { l: "value" },
      "sftp-server": { u: "value" },
    },
    environment: { LANG: "C.UTF-8" },
  },
  {
    section: "group jkgrp",
    executables: ["/usr/bin/scp", "/usr/bin/rsync", "/usr/lib/openssh/sftp-server", "/bin/echo"],
    expand: true,
    unsafe: ["scp"],
    extraLong: {},
    extraShort: {},
    environment: { GIT_CONFIG_NOSYSTEM: "0" },
  },
  {
    section: "DEFAULT",
    executables: ["/usr/bin/git-upload-pack", "/usr/bin/rsync"],
    expand: false,
    unsafe: [],
    extraLong: { "temp-dir": "value" },
    extraShort: {},
    environment: {},
  },
];

function iniText(c: Config): string {
  const extras = [
    ...Object.keys(c.extraLong).map((n) => `rsync:--${n}`),
    ...Object.entries(c.extraShort).flatMap(([family, letters]) =>
      Object.keys(letters ?? {}).map((l) => `${family}:-${l}`)
    ),
  ];
  const env = Object.entries(c.environment).map(([k, v]) => `${k}=${v}`);
  return [
    `[${c.section}]`,
    `executables = ${c.executables.join(", ")}`,
    "paths = /bin, /usr/bin, /usr/lib/openssh",
    `allow_word_expansion = ${c.expand ? 1 : 0}`,
    "umask = 027",
    ...(c.unsafe.length ? [`allow_unsafe_options = ${c.unsafe.join(", ")}`] : []),
    ...(extras.length ? [`allow_extra_options = ${extras.join(", ")}`] : []),
    ...(env.length ? [`environment = ${env.join(", ")}`] : []),
    "",
  ].join("\n");
}

// ------------------------------------------------------------------------------ the oracle

/** rsync options a client sends to a server, as jk_lsh(8) lists them. */
const RSYNC_CLIENT_FLAGS = new Set(
  ("sender delete delete-before delete-during delete-delay delete-after delete-excluded " +
    "delete-missing-args ignore-missing-args force ignore-errors partial delay-updates inplace " +
    "append existing ignore-existing size-only remove-source-files remove-sent-files numeric-ids " +
    "super fake-super safe-links copy-unsafe-links munge-links no-implied-dirs mkpath list-only " +
    "use-qsort old-compress new-compress fsync preallocate open-noatime msgs2stderr " +
    "no-msgs2stderr no-specials no-devices from0").split(" "),
);
const RSYNC_CLIENT_EQUALS = new Set(
  ("timeout bwlimit max-delete modify-window min-size max-size block-size max-alloc " +
    "checksum-seed checksum-choice compress-choice compress-level skip-compress iconv usermap " +
    "groupmap info debug log-format suffix").split(" "),
);
const RSYNC_CLIENT_PATHS = new Set(
  "backup-dir partial-dir temp-dir compare-dest copy-dest link-dest files-from".split(" "),
);
const RSYNC_CLIENT_LETTERS = "vqbulmkKHAXogDtUNpERrdxyCIcnWSzLOJ";
/** Options that run programs, read daemon configs, write files or hide arguments. */
const RSYNC_NEVER =
  /^--(rsh|rsync-path|daemon|config|dparam|remote-option|protect-args|secluded-args|log-file|log-file-format|write-devices|copy-devices|read-batch|write-batch|only-write-batch|password-file|early-input)(=|$)/;

/** Why `args` (after argv[0]) are not what an rsync server may get under `c`, or undefined. */
function rsyncViolation(args: readonly string[], c: Config): string | undefined {
  if (args[0] !== "--server") return "rsync without --server";
  const extraShort = c.extraShort.rsync ?? {};
  const operands: string[] = [];
  let ended = false;
  for (let i = 1; i < args.length; i++) {
    const w = args[i];
    if (ended || w === "-" || !w.startsWith("-")) {
      operands.push(w);
      continue;
    }
    if (w === "--") {
      ended = true;
      continue;
    }
    const needsWord = () => {
      const next = args[i + 1];
      if (next === undefined || next.startsWith("-")) return true;
      i++;
      return false;
    };
    if (w.startsWith("--")) {
      const eq = w.indexOf("=");
      const name = w.slice(2, eq < 0 ? undefined : eq);
      if (RSYNC_NEVER.test(w) && !Object.hasOwn(c.extraLong, name)) return `rsync ${w}`;
      const extra = Object.hasOwn(c.extraLong, name) ? c.extraLong[name] : undefined;
      if (RSYNC_CLIENT_FLAGS.has(name) || extra === "flag") {
        if (eq >= 0) return `rsync flag with a value: ${w}`;
      } else if (RSYNC_CLIENT_EQUALS.has(name)) {
        if (eq < 0) return `rsync ${w} without =`;
      } else if (RSYNC_CLIENT_PATHS.has(name) || extra === "value") {
        if (eq < 0 && needsWord()) return `rsync ${w} without its value`;
      } else {
        return `rsync option not allowed: ${w}`;
      }
      continue;
    }
    for (let j = 1; j < w.length; j++) {
      const letter = w[j];
      const rest = w.slice(j + 1);
      if (letter === "e") {
        if (!/^(\.|[0-9]+\.[0-9]+)[A-Za-z]*$/.test(rest)) return `rsync -e${rest}`;
        break;
      }
      if (letter === "B") {
        if (!/^[0-9]+$/.test(rest)) return `rsync -B${rest}`;
        break;
      }
      const extra = Object.hasOwn(extraShort, letter) ? extraShort[letter] : undefined;
      if (extra === "value") {
        if (rest === "" && needsWord()) return `rsync -${letter} without its value`;
        break;
      }
      if (!RSYNC_CLIENT_LETTERS.includes(letter) && extra !== "flag") {
        return `rsync option not allowed: -${letter} in ${w}`;
      }
    }
  }
  if (operands[0] !== "." || operands.length < 2) return `rsync operands ${operands.join(" ")}`;
  return undefined;
}

/** getopt(3) reading of `args` with the given letters; the violation, or undefined. */
function getoptViolation(
  program: string,
  args: readonly string[],
  flags: string,
  values: string,
  extra: Readonly<Record<string, "flag" | "value">>,
  seen: Set<string>,
): { why?: string; operands: string[] } {
  const operands: string[] = [];
  let ended = false;
  for (let i = 0; i < args.length; i++) {
    const w = args[i];
    if (!ended && w === "--") {
      ended = true;
      continue;
    }
    if (ended || w === "-" || !w.startsWith("-")) {
      operands.push(w);
      continue;
    }
    if (operands.length > 0) return { why: `${program}: option after operand: ${w}`, operands };
    for (let j = 1; j < w.length; j++) {
      const letter = w[j];
      const kind = flags.includes(letter)
        ? "flag"
        : values.includes(letter)
        ? "value"
        : Object.hasOwn(extra, letter)
        ? extra[letter]
        : undefined;
      if (kind === undefined) return { why: `${program}: -${letter} not allowed`, operands };
      seen.add(letter);
      if (kind === "value") {
        if (j === w.length - 1) {
          if (args[i + 1] === undefined) {
            return { why: `${program}: -${letter} no value`, operands };
          }
          i++;
        }
        break;
      }
    }
  }
  return { operands };
}

function familyOf(path: string): { family: Family; name: string } | undefined {
  const base = (p: string) => p.slice(p.lastIndexOf("/") + 1);
  for (const candidate of [base(path), base(lshFs.realPath(path) ?? "")]) {
    if (candidate === "rsync") return { family: "rsync", name: "rsync" };
    if (candidate === "scp") return { family: "scp", name: "scp" };
    if (candidate === "sftp-server") return { family: "sftp-server", name: "sftp-server" };
    if (candidate === "cvs") return { family: "cvs", name: "cvs" };
    if (candidate === "svnserve") return { family: "svnserve", name: "svnserve" };
    if (candidate === "git" || candidate.startsWith("git-")) {
      return { family: "git", name: base(path).startsWith("git-") ? base(path) : candidate };
    }
  }
  return undefined;
}

/** Why an allowed exec breaks the rules for config `c`, or undefined. */
function violation(
  c: Config,
  command: string,
  exec: { path: string; argv: readonly string[]; env: Readonly<Record<string, string>> },
): string | undefined {
  // deno-lint-ignore no-control-regex
  if (/[\x00-\x1f\x7f-\x9f\ufffd]/.test(command)) return "command with a control character ran";
  if (!c.executables.includes(exec.path)) return `${exec.path} is not listed`;
  if (exec.argv[0] !== exec.path) return "argv[0] is not the path";
  for (const key of Object.keys(exec.env)) {
    if (key.startsWith("LD_")) return `${key} reached the program`;
    if (/^(GIT_CONFIG_PARAMETERS|GIT_CONFIG_COUNT|GIT_EXEC_PATH|RSYNC_RSH|BASH_ENV)$/.test(key)) {
      if (!Object.hasOwn(c.environment, key)) return `${key} reached the program`;
    }
  }
  const found = familyOf(exec.path);
  if (!found) return undefined; // no rule: jailkit 2.23 behaviour
  const { family, name } = found;
  if (family === "git" && exec.env.GIT_CONFIG_GLOBAL !== "/dev/null") {
    return "git reads the user's global config";
  }
  if (family === "rsync" && exec.env.HOME !== undefined && !Object.hasOwn(c.environment, "HOME")) {
    return "rsync has a HOME (~/.popt)";
  }
  if (c.unsafe.includes(family)) return undefined;
  const args = exec.argv.slice(1);
  const extra = c.extraShort[family] ?? {};
  switch (family) {
    case "rsync":
      return rsyncViolation(args, c);
    case "scp": {
      const seen = new Set<string>();
      const r = getoptViolation("scp", args, "tfrpdv", "", extra, seen);
      if (r.why) return r.why;
      if (!seen.has("t") && !seen.has("f")) return "scp neither -t nor -f";
      if (seen.has("t") && seen.has("f")) return "scp both -t and -f";
      return r.operands.length === 0 ? "scp without a path" : undefined;
    }
    case "sftp-server": {
      const r = getoptViolation("sftp-server", args, "ehR", "dflPpQ", extra, new Set());
      if (r.why) return r.why;
      return r.operands.length > 0 ? "sftp-server with operands" : undefined;
    }
    case "git": {
      const services = ["upload-pack", "receive-pack", "upload-archive"];
      const pathOk = (p: string | undefined) => p !== undefined && !p.startsWith("-");
      if (name.startsWith("git-")) {
        if (!services.includes(name.slice(4))) return `${name} ran`;
        return args.length === 1 && pathOk(args[0]) ? undefined : `${name} ${args.join(" ")}`;
      }
      return args.length === 2 && services.includes(args[0]) && pathOk(args[1])
        ? undefined
        : `git ${args.join(" ")}`;
    }
    case "cvs":
      return args.length === 1 && args[0] === "server" ? undefined : `cvs ${args.join(" ")}`;
    case "svnserve":
      return args.length === 1 && (args[0] === "-t" || args[0] === "--tunnel")
        ? undefined
        : `svnserve ${args.join(" ")}`;
  }
}

// ------------------------------------------------------------------------------ expansion

/**
 * A small shell-word splitter standing in for glibc wordexp (quotes, backslashes, $NAME;
 * refuses the characters wordexp refuses). No globbing and no file system, so a seed gives
 * the same result everywhere.
 */
const fakeExpand: Expander = (words, env) => {
  const out: string[] = [];
  let cur: string | undefined;
  let i = 0;
  const fail = (code: string) => {
    throw Object.assign(new Error(code), { code });
  };
  const add = (s: string) => {
    cur = (cur ?? "") + s;
  };
  const variable = () => {
    const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(words.slice(i + 1));
    if (!m) {
      if (words[i + 1] === "(") fail("WRDE_CMDSUB");
      add("$");
      i++;
      return;
    }
    add(Object.hasOwn(env, m[0]) ? env[m[0]] : "");
    i += 1 + m[0].length;
  };
  while (i < words.length) {
    const ch = words[i];
    if (ch === " ") {
      if (cur !== undefined) out.push(cur);
      cur = undefined;
      i++;
    } else if ("|&;<>(){}\n".includes(ch)) {
      fail("WRDE_BADCHAR");
    } else if (ch === "`") {
      fail("WRDE_CMDSUB");
    } else if (ch === "\\") {
      if (i + 1 >= words.length) fail("WRDE_SYNTAX");
      add(words[i + 1]);
      i += 2;
    } else if (ch === "'") {
      const end = words.indexOf("'", i + 1);
      if (end < 0) fail("WRDE_SYNTAX");
      add(words.slice(i + 1, end));
      i = end + 1;
    } else if (ch === '"') {
      add("");
      i++;
      for (;;) {
        if (i >= words.length) fail("WRDE_SYNTAX");
        const d = words[i];
        if (d === '"') break;
        if (d === "`") fail("WRDE_CMDSUB");
        if (d === "$") {
          variable();
          continue;
        }
        if (d === "\\" && i + 1 < words.length && '"\\$`'.includes(words[i + 1])) {
          add(words[i + 1]);
          i += 2;
          continue;
        }
        add(d);
        i++;
      }
      i++;
    } else if (ch === "$") {
      variable();
    } else {
      add(ch);
      i++;
    }
  }
  if (cur !== undefined) out.push(cur);
  return out;
};

// ------------------------------------------------------------------------------ the generator

export interface LshInput {
  /** Index into CONFIGS; with `iniOverride` the oracle only checks what the text lists. */
  readonly config: number;
  readonly iniOverride?: string;
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  readonly user: { readonly name: string; readonly uid: number; readonly group: string };
}

const PROGRAMS = [
  "rsync",
  "/usr/bin/rsync",
  "scp",
  "sftp-server",
  "/usr/lib/openssh/sftp-server",
  "git-upload-pack",
  "git-receive-pack",
  "git-upload-archive",
  "git",
  "git-shell",
  "cvs",
  "svnserve",
  "ls",
  "echo",
  "sh",
  "/bin/sh",
  "../bin/sh",
  "/usr/local/bin/backup",
  "/home/jktest/rsync",
  "rsуnc",
  "/bin//ls",
];
const TOKENS: Readonly<Record<string, readonly string[]>> = {
  rsync: [
    "--server",
    "--sender",
    "-vlogDtpre.iLsfxCIvu",
    "-logDtpr",
    "-e.iLsfxC",
    "-vT",
    "-T",
    "-y",
    "-B2048",
    "-Bx",
    ".",
    "--delete",
    "--timeout=5",
    "--timeout",
    "--temp-dir",
    "--temp-dir=/t",
    "--partial-dir",
    "--exclude",
    "--exclude=*.o",
    "--omit-dir-times",
    "--log-file=/home/jktest/.profile",
    "--rsh=sh",
    "--rsync-path=sh",
    "--daemon",
    "--config=/home/jktest/r.conf",
    "-M--rsh=sh",
    "-s",
    "-vs",
    "--protect-args",
    "--",
  ],
  scp: [
    "-t",
    "-f",
    "-r",
    "-p",
    "-d",
    "-v",
    "-rpt",
    "-l",
    "100",
    "-l100",
    "-S",
    "-oProxyCommand=sh",
    "-q",
  ],
  sftp: [
    "-e",
    "-h",
    "-R",
    "-d",
    "/x",
    "-l",
    "DEBUG3",
    "-u",
    "000",
    "-u000",
    "-P",
    "remove",
    "-Q",
    "-x",
  ],
  git: [
    "upload-pack",
    "receive-pack",
    "upload-archive",
    "-c",
    "core.sshCommand=sh",
    "--exec-path=/tmp",
    "--upload-pack=sh",
    "--help",
  ],
  cvs: ["server", "-e", "vi"],
  svn: ["-t", "--tunnel", "--tunnel-user=root", "-d"],
  generic: [
    "/x",
    "/home/jktest/d",
    "'/srv/repo.git'",
    '"a b"',
    "~/x",
    "$HOME",
    "${IFS}",
    "a\\ b",
    "-",
    "--",
    "*",
    ";",
    "|",
    "$(id)",
    "`id`",
    "'",
    "\\",
    "''",
  ],
};
const JUNK = [
  " ",
  "\t",
  "\n",
  "\0",
  "\x1b",
  "\u0085",
  "\ufffd",
  "-",
  "=",
  ".",
  "/",
  "'",
  '"',
  "\\",
  "$",
  "é",
  "ф",
  "‐",
  "\u202e",
];

const HOSTILE_ENV: readonly [string, string][] = [
  ["LD_PRELOAD", "/home/jktest/x.so"],
  ["GIT_CONFIG_PARAMETERS", "'core.pager'='sh'"],
  ["GIT_CONFIG_COUNT", "1"],
  ["GIT_CONFIG_GLOBAL", "/home/jktest/.gitconfig"],
  ["GIT_EXEC_PATH", "/home/jktest"],
  ["GIT_PROTOCOL", "version=2"],
  ["RSYNC_RSH", "sh"],
  ["BASH_ENV", "/home/jktest/x"],
  ["XDG_CONFIG_HOME", "/home/jktest/.config"],
  ["HOME", "/home/jktest"],
  ["IFS", "-"],
];

function pick<T>(rng: () => number, items: readonly T[]): T {
  return items[Math.floor(rng() * items.length)];
}

function junkWord(rng: () => number): string {
  let s = "";
  const n = 1 + Math.floor(rng() * 6);
  for (let i = 0; i < n; i++) {
    s += rng() < 0.7 ? pick(rng, JUNK) : String.fromCharCode(33 + Math.floor(rng() * 94));
  }
  return s;
}

function tokensFor(program: string): readonly string[] {
  if (program.includes("rsync") || program.includes("backup")) return TOKENS.rsync;
  if (program.includes("scp")) return TOKENS.scp;
  if (program.includes("sftp")) return TOKENS.sftp;
  if (program.includes("git")) return TOKENS.git;
  if (program === "cvs") return TOKENS.cvs;
  if (program === "svnserve") return TOKENS.svn;
  return TOKENS.generic;
}

/** Command lines as clients send them, to be varied by one or two words. */
const TEMPLATES: readonly string[][] = [
  ["rsync", "--server", "-vlogDtpre.iLsfxCIvu", ".", "/home/jktest/d"],
  ["rsync", "--server", "--sender", "-logDtpre.iLsfxCIvu", "--delete", ".", "/x"],
  ["/usr/local/bin/backup", "--server", "-vlogDtprT/tmp", ".", "/x"],
  ["scp", "-t", "/x"],
  ["scp", "-r", "-p", "-f", "/x"],
  ["/usr/lib/openssh/sftp-server"],
  ["/usr/lib/openssh/sftp-server", "-e", "-l", "VERBOSE"],
  ["git-upload-pack", "'/srv/r.git'"],
  ["git-receive-pack", "/srv/r.git"],
  ["git-upload-archive", "/srv/r.git"],
  ["git", "upload-pack", "/srv/r.git"],
  ["cvs", "server"],
  ["svnserve", "-t"],
];

function generateCommand(rng: () => number): string {
  if (rng() < 0.45) {
    const words = [...pick(rng, TEMPLATES)];
    const changes = Math.floor(rng() * 3);
    for (let i = 0; i < changes; i++) {
      const at = 1 + Math.floor(rng() * words.length);
      const word = rng() < 0.8 ? pick(rng, tokensFor(words[0])) : pick(rng, TOKENS.generic);
      if (rng() < 0.5) words.splice(at, 0, word);
      else words[Math.min(at, words.length - 1)] = word;
    }
    return words.join(" ");
  }
  const program = pick(rng, PROGRAMS);
  const words = [program];
  const pool = tokensFor(program);
  const n = Math.floor(rng() * 9);
  for (let i = 0; i < n; i++) {
    const r = rng();
    if (r < 0.6) words.push(pick(rng, pool));
    else if (r < 0.75) words.push(pick(rng, TOKENS.rsync.concat(TOKENS.scp)));
    else if (r < 0.93) words.push(pick(rng, TOKENS.generic));
    else words.push(junkWord(rng));
  }
  // Sometimes the rsync shape clients use: options, ".", a path.
  if (pool === TOKENS.rsync && rng() < 0.5) words.splice(1, 0, "--server");
  if (pool === TOKENS.rsync && rng() < 0.4) words.push(".", "/x");
  let command = words.join(rng() < 0.1 ? "  " : " ");
  if (rng() < 0.05) {
    const at = Math.floor(rng() * (command.length + 1));
    command = command.slice(0, at) + junkWord(rng) + command.slice(at);
  }
  if (rng() < 0.01) command = command.repeat(1000 + Math.floor(rng() * 8000));
  return command;
}

function mangle(rng: () => number, text: string): string {
  const lines = text.split("\n");
  const at = Math.floor(rng() * lines.length);
  const choices = [
    () => lines[at] + junkWord(rng),
    () => "umask = " + junkWord(rng),
    () =>
      "allow_extra_options = " +
      pick(rng, ["rsync:-Q", "scp:-l:", "rsync:--nope", "git:-c", "sftp-server:-e:", "x"]),
    () => "allow_unsafe_options = " + junkWord(rng),
    () => "environment = " + junkWord(rng) + "=" + junkWord(rng),
    () => lines[at].replace("=", ""),
    () => "[" + junkWord(rng),
    () => "executables = " + junkWord(rng),
  ];
  lines[at] = pick(rng, choices)();
  return lines.join("\n");
}

function generate(rng: () => number): LshInput {
  const config = Math.floor(rng() * CONFIGS.length);
  const iniOverride = rng() < 0.08 ? mangle(rng, iniText(CONFIGS[config])) : undefined;
  const command = generateCommand(rng);
  const r = rng();
  const args = r < 0.85
    ? ["-c", command]
    : r < 0.93
    ? ["--login", "-c", command]
    : r < 0.97
    ? [command]
    : ["-c", command, "-c"];
  const env: Record<string, string> = { USER: "jktest", HOME: "/home/jktest" };
  for (const [k, v] of HOSTILE_ENV) if (rng() < 0.15) env[k] = v;
  const user = rng() < 0.8 && config !== 2
    ? { name: "jktest", uid: 1001, group: "jkgrp" }
    : pick(rng, [
      { name: "jktest", uid: 1001, group: "jkgrp" },
      { name: "other", uid: 1002, group: "jkgrp" },
      { name: "nobody", uid: 65534, group: "nogroup" },
    ]);
  return { config, iniOverride, args, env, user };
}

/**
 * Runs one input and names its outcome ("exec PROGRAM", "exit N" or "JailkitError"); throws on
 * a raw exception or an oracle violation.
 */
export function lshOutcome(input: unknown): string {
  const inp = input as LshInput;
  const c = CONFIGS[inp.config];
  const text = inp.iniOverride ?? iniText(c);
  const loadConfig = (): IniFile => parseIni(text, "/etc/jailkit/jk_lsh.ini", "c");
  let d;
  try {
    d = decideLsh({
      args: inp.args,
      user: inp.user,
      loadConfig,
      env: inp.env,
      fs: lshFs,
      expand: fakeExpand,
    });
  } catch (e) {
    if (e instanceof JailkitError) return "JailkitError";
    throw e;
  }
  if (isRefusal(d)) {
    if (!Number.isInteger(d.exitCode) || d.exitCode < 1 || d.exitCode > 7) {
      throw new Error(`oracle: exit code ${d.exitCode}`);
    }
    return `exit ${d.exitCode}`;
  }
  const ran = `exec ${d.exec.path.slice(d.exec.path.lastIndexOf("/") + 1)}`;
  const command = inp.args[inp.args.length - 1];
  if (inp.iniOverride !== undefined) {
    // A mangled config: the program must still be named in the text's executables line.
    const listed = text.split("\n").some((l) =>
      /^executables\s*=/.test(l) && l.split("=")[1].split(",").map((s) => s.trim())
        .includes(d.exec.path)
    );
    if (!listed) {
      throw new Error(`oracle: ${d.exec.path} ran but is not in ${JSON.stringify(text)}`);
    }
    return ran;
  }
  // The section the oracle expects: the user's own, the group's, or DEFAULT.
  const applies = c.section === inp.user.name || c.section === `group ${inp.user.group}` ||
    c.section === "DEFAULT";
  if (!applies) throw new Error(`oracle: section [${c.section}] applied to ${inp.user.name}`);
  const why = violation(c, command, d.exec);
  if (why) throw new Error(`oracle: ${why} (command ${JSON.stringify(command)})`);
  return ran;
}

export const lshTarget: FuzzTarget = {
  name: "jk_lsh decision",
  generate,
  run: (input) => void lshOutcome(input),
};
