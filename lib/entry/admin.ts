/**
 * What the administrative tools (jk_cp, jk_init, jk_update, jk_jailuser…) share on the command
 * line: option parsing with jailkit's spellings, PATH lookup of bare program names, output of a
 * plan in the three modes, and turning typed errors into each tool's documented exit codes.
 */
import { type ErrorKind, JailkitError } from "../core/errors.ts";
import type { Plan } from "../core/plan.ts";
import { VERSION } from "../core/runtime.ts";
import { LineBatch, writeLine, writeOwnText } from "../core/output.ts";
import { applyPlan, resultToJson } from "../engine/apply.ts";
import { checkJailSafety, lstatOrUndefined, normalizeJail } from "../engine/jailpath.ts";
import { OptionError, type OptionSpec, parseCommandLine } from "../core/options.ts";

/** Thrown by tools to end with a given status after printing their message. */
export class Exit extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`);
  }
}

/** Prints one line on stdout, escaped (lib/core/output.ts): it may carry names from a jail. */
export function stdout(line: string): void {
  writeLine("stdout", line);
}

/** Prints one line on stderr, escaped like `stdout`. */
export function stderr(line: string): void {
  writeLine("stderr", line);
}

/**
 * Prints the tool's own text unescaped: usage texts and JSON documents made by `jsonText`
 * (see writeOwnText in lib/core/output.ts for what may go through here).
 */
export function stdoutText(text: string): void {
  writeOwnText("stdout", text);
}

/** Options every jail-writing tool (jk_cp, jk_init, jk_update) spells the same way. */
export const JAIL_WRITER_OPTIONS = {
  jail: { type: "string", short: "j" },
  force: { type: "boolean", short: "f" },
  hardlink: { type: "boolean", short: "k" },
  verbose: { type: "boolean", short: "v" },
  help: { type: "boolean", short: "h" },
  "dry-run": { type: "boolean" },
  json: { type: "boolean" },
} as const;

/**
 * The jail from -j/--jail, else (jailkit's legacy form) the first positional argument, and the
 * arguments after it. jk_cp and jk_init need both: when either is missing, `missing.say` prints
 * the tool's own message, the usage text follows and the tool ends with `missing.code`.
 */
export function takeJail(
  option: string | undefined,
  positionals: string[],
  usage: string,
  missing: { say: () => void; code: number },
): { jail: string; rest: string[] } {
  const jail = option ?? positionals[0];
  const rest = option !== undefined ? positionals : positionals.slice(1);
  if (jail === undefined || rest.length === 0) {
    missing.say();
    stdoutText(usage);
    throw new Exit(missing.code);
  }
  return { jail, rest };
}

/**
 * The options (lib/core/options.ts) with jailkit's error behaviour: an unknown option or a
 * missing value prints the message and the usage text and exits 1, as getopt did.
 */
export function parseOptions<const T extends Record<string, OptionSpec>>(
  args: string[],
  options: T,
  usage: string,
) {
  // Every administrative tool answers --version (jailkit 2.23's had none), before any other
  // check, so that scripts can ask which implementation is installed.
  const end = args.indexOf("--");
  if ((end === -1 ? args : args.slice(0, end)).includes("--version")) {
    stdoutText(`${usage.match(/^Usage: (\S+)/)?.[1] ?? "jailkit"} (jailkit-deno) ${VERSION}`);
    throw new Exit(0);
  }
  try {
    return parseCommandLine(args, options);
  } catch (e) {
    if (!(e instanceof OptionError)) throw e;
    stderr(`ERROR: ${(e as Error).message}`);
    stdoutText(usage);
    throw new Exit(1);
  }
}

export interface OutputOptions {
  dryRun: boolean;
  json: boolean;
  verbose: boolean;
}

/** Applies, prints or emits a plan; returns the number of failed operations. */
export function runPlan(plan: Plan, out: OutputOptions): number {
  const batch = out.json ? undefined : new LineBatch();
  let result;
  try {
    result = applyPlan(plan, {
      mode: out.dryRun ? "dry-run" : "apply",
      verbose: out.verbose,
      print: batch?.print,
    });
  } finally {
    batch?.flush();
  }
  if (out.json) stdoutText(resultToJson(plan, result, out.dryRun));
  return result.failed;
}

/**
 * Runs a tool's main function: JailkitErrors are printed as `ERROR: message` on stderr and
 * mapped to the tool's exit code for their kind; anything else is a bug and exits 1 with
 * the message.
 */
export async function main(
  fn: () => number | Promise<number>,
  exitCodes: Partial<Record<ErrorKind, number>>,
): Promise<never> {
  let code: number;
  try {
    code = await fn();
  } catch (e) {
    if (e instanceof Exit) code = e.code;
    else if (e instanceof JailkitError) {
      stderr(`ERROR: ${e.message}`);
      code = exitCodes[e.kind] ?? 1;
    } else {
      stderr(`ERROR: internal error: ${e instanceof Error ? e.stack ?? e.message : String(e)}`);
      code = 1;
    }
  }
  Deno.exit(code);
}

export function isRoot(): boolean {
  return Deno.uid() === 0;
}

/**
 * The jail writers need root to write as root; --dry-run only reads, so anyone may try it.
 * Otherwise prints `TOOL: you need to be root to WHAT (or use --dry-run)` and ends with `code`.
 * Returns how the writer is to run its plan: its --dry-run, --json and -v.
 */
export function requireRootUnlessDryRun(
  values: { readonly "dry-run"?: boolean; readonly json?: boolean; readonly verbose?: boolean },
  refusal: { tool: string; what: string; code: number; print?: (line: string) => void },
): OutputOptions {
  const out = {
    dryRun: values["dry-run"] === true,
    json: values.json === true,
    verbose: values.verbose === true,
  };
  if (out.dryRun || isRoot()) return out;
  (refusal.print ?? stdout)(
    `${refusal.tool}: you need to be root to ${refusal.what} (or use --dry-run)`,
  );
  throw new Exit(refusal.code);
}

/** How a tool reports a jail it cannot use, with its own exit codes. */
export interface JailRules {
  /** Exit code when the jail is not an existing directory; absent: it may not exist yet. */
  notDirectory?: number;
  /** Exit code when the path to the jail fails the safety rules (checkJailSafety). */
  unsafe: number;
  /** jailkit's jk_cp printed the safety message alone; the other tools name the jail first. */
  bareSafetyMessage?: boolean;
}

/**
 * The jail argument, normalised, once it is known to be a directory (when required) on a safe
 * path; otherwise prints `ERROR: …` and ends with the tool's exit code.
 */
export function openJail(arg: string, rules: JailRules): string {
  const jail = normalizeJail(arg);
  // A symlink goes on to the safety check, which refuses it by name (as jailkit did).
  const st = lstatOrUndefined(jail);
  if (rules.notDirectory !== undefined && !st?.isDirectory && !st?.isSymlink) {
    stderr(`ERROR: ${jail} is not a directory`);
    throw new Exit(rules.notDirectory);
  }
  try {
    checkJailSafety(jail);
  } catch (e) {
    if (!(e instanceof JailkitError)) throw e;
    stderr(
      rules.bareSafetyMessage
        ? `ERROR: ${e.message}`
        : `ERROR: jail directory ${jail} is not safe: ${e.message}`,
    );
    throw new Exit(rules.unsafe);
  }
  return jail;
}
