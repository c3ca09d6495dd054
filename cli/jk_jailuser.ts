/**
 * jk_jailuser — put existing users into a jail: add them (and their groups) to the jail's
 * passwd/group files, point their host account at `JAIL/./HOME` with jk_chrootsh as shell, and
 * with -m move their home into the jail. Command line, messages and exit codes of jailkit 2.23
 * (man/jk_jailuser.8), plus --noninteractive, --dry-run and --json.
 */
import { consolePrinter, resultToJson } from "../lib/engine/apply.ts";
import {
  Exit,
  main,
  parseOptions,
  requireRootUnlessDryRun,
  stderr,
  stdout,
  stdoutText,
} from "../lib/entry/admin.ts";
import { JailkitError } from "../lib/core/errors.ts";
import { escapeText } from "../lib/core/output.ts";
import { lstatOrUndefined, normalizeJail } from "../lib/engine/jailpath.ts";
import { parseGroup, parsePasswd } from "../lib/config/passwd.ts";
import { thinConfigPath, thinJailAt } from "../lib/config/thin.ts";
import { configDir } from "../lib/core/paths.ts";
import {
  carryOut,
  DEFAULT_INJAIL_SHELL,
  jailFile,
  jailProblem,
  moveQuestion,
  planJailUsers,
  readRewritable,
  shellProblem,
} from "../lib/admin/jailuser.ts";

const USAGE = `Usage: jk_jailuser [OPTIONS] USER...

Puts existing users into a jail: adds them and their groups to JAIL/etc/passwd and
JAIL/etc/group, and changes their home to JAIL/./HOME and their shell to /usr/sbin/jk_chrootsh.

  -j, --jail=DIR          the jail directory
  -m, --move              move the home directory into the jail (copy, verify, then remove)
      --nomove            do not move the home directory and do not ask
  -n, --noninteractive    never ask; an invalid jail ends with exit code 33
  -s, --shell=SHELL       shell inside the jail (default ${DEFAULT_INJAIL_SHELL})
  -v, --verbose           tell more
      --dry-run           print what would be done, change nothing
      --json              print the operations and their outcome as JSON
  -h, -?, --help          this text

Exit codes: 0 ok (unknown users are skipped), 1 bad option, 2 no user given, not root, or a
failure writing the jail files or switching a user, 33 invalid jail with -n.`;

/** Exit codes, as jailkit 2.23. */
const EXIT = {
  /** also when unknown users were skipped */
  ok: 0,
  usage: 1,
  /** no user given, not root, or writing the jail files or switching a user failed */
  failed: 2,
  /** the jail is not usable and -n forbids asking for another */
  invalidJail: 33,
} as const;

const OPTIONS = {
  jail: { type: "string", short: "j" },
  move: { type: "boolean", short: "m" },
  nomove: { type: "boolean" },
  noninteractive: { type: "boolean", short: "n" },
  shell: { type: "string", short: "s" },
  verbose: { type: "boolean", short: "v" },
  help: { type: "boolean", short: "h" },
  "?": { type: "boolean", short: "?" },
  "dry-run": { type: "boolean" },
  json: { type: "boolean" },
} as const;

/**
 * One line from standard input, read a byte at a time so that nothing meant for a later
 * question is consumed. Undefined at end of input (or when there is no standard input).
 */
function readLine(): string | undefined {
  const bytes: number[] = [];
  const one = new Uint8Array(1);
  for (;;) {
    let n: number | null;
    try {
      n = Deno.stdin.readSync(one);
    } catch {
      n = null;
    }
    if (n === null || n === 0) {
      return bytes.length === 0 ? undefined : new TextDecoder().decode(new Uint8Array(bytes));
    }
    if (one[0] === 0x0a) return new TextDecoder().decode(new Uint8Array(bytes)).replace(/\r$/, "");
    if (bytes.length >= 4096) throw new JailkitError("usage", "answer on standard input too long");
    bytes.push(one[0]);
  }
}

function findUsermod(): string {
  for (const p of ["/usr/sbin/usermod", "/sbin/usermod"]) {
    if (lstatOrUndefined(p)?.isFile) return p;
  }
  return "/usr/sbin/usermod";
}

function run(): number {
  const { values, positionals } = parseOptions(Deno.args, OPTIONS, USAGE);
  if (values.help || values["?"]) {
    stdoutText(USAGE);
    return EXIT.ok;
  }
  let interactive = values.noninteractive !== true;
  if (values.move && values.nomove) {
    stderr("ERROR: --move and --nomove contradict each other");
    stdoutText(USAGE);
    return EXIT.usage;
  }
  const shell = values.shell ?? DEFAULT_INJAIL_SHELL;
  const badShell = shellProblem(shell);
  if (badShell !== undefined) {
    stderr(`ERROR: ${badShell}`);
    return EXIT.usage;
  }
  if (positionals.length === 0) {
    stdout("aborted, no username specified");
    return EXIT.failed;
  }
  const { json, dryRun, verbose } = requireRootUnlessDryRun(values, {
    tool: "jk_jailuser",
    what: "change users and jails",
    code: EXIT.failed,
    print: stderr,
  });
  // Prompts must not end up inside the JSON document.
  const ask = (text: string, newline: boolean) => {
    const bytes = new TextEncoder().encode(newline ? `${escapeText(text)}\n` : escapeText(text));
    (json ? Deno.stderr : Deno.stdout).writeSync(bytes);
  };

  const noAnswer = (what: string) => {
    stderr(`no answer on standard input: ${what}, continuing as with -n`);
    interactive = false;
  };
  let jailArg = values.jail;
  let jail: string;
  for (;;) {
    let problem: string | undefined;
    if (jailArg === undefined || jailArg === "") problem = "no jail directory given";
    else {
      jail = normalizeJail(jailArg);
      // A thin jail's programs are the host's, seen through its binds at login.
      const thin = thinJailAt(thinConfigPath(configDir()), jail);
      problem = jailProblem(jail, shell, undefined, thin?.readonlyBinds);
    }
    if (problem === undefined) break;
    stderr(problem);
    if (!interactive) throw new Exit(EXIT.invalidJail);
    ask("enter jail directory: ", false);
    jailArg = readLine();
    if (jailArg === undefined) {
      noAnswer("no jail directory");
      throw new Exit(EXIT.invalidJail);
    }
  }
  jail = jail!;

  const hostPasswd = parsePasswd(Deno.readTextFileSync("/etc/passwd"), "/etc/passwd");
  const hostGroup = parseGroup(Deno.readTextFileSync("/etc/group"), "/etc/group");
  const passwdFile = jailFile(jail, "/etc/passwd");
  const groupFile = jailFile(jail, "/etc/group");
  const jailPasswd = parsePasswd(readRewritable(passwdFile.host), `${jail}/etc/passwd`);
  const jailGroup = parseGroup(
    groupFile.exists ? readRewritable(groupFile.host) : "",
    `${jail}/etc/group`,
  );

  const users = positionals.map((name) => {
    if (values.move) return { name, move: true };
    if (!interactive || values.nomove) return { name, move: false };
    const entry = hostPasswd.byName(name);
    const question = entry && moveQuestion(jail, entry);
    if (question === undefined) return { name, move: false };
    ask(question, true);
    ask("[Y]/[n]", false);
    const answer = readLine();
    if (answer === undefined) {
      noAnswer(`not moving the home of ${name}`);
      return { name, move: false };
    }
    return { name, move: answer === "" || answer === "y" || answer === "Y" };
  });

  const plan = planJailUsers({ jail, shell, hostPasswd, hostGroup, jailPasswd, jailGroup, users });
  const outcome = carryOut(plan, {
    jail,
    dryRun,
    verbose,
    print: json ? undefined : consolePrinter,
    usermod: findUsermod(),
  });
  if (json) {
    const ops = outcome.results.map((r) => r.op);
    stdoutText(
      resultToJson({ jail, ops }, { results: outcome.results, failed: outcome.failed }, dryRun),
    );
  }
  if (outcome.jailWriteFailed) return EXIT.failed;
  return outcome.failedUsers.length > 0 ? EXIT.failed : EXIT.ok;
}

if (import.meta.main) {
  main(run, {
    usage: EXIT.usage,
    config: EXIT.failed,
    "unsafe-jail": EXIT.failed,
    "not-found": EXIT.failed,
    permission: EXIT.failed,
    parse: EXIT.failed,
    io: EXIT.failed,
  });
}
