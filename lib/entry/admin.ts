/**
 * What the administrative tools (jk_cp, jk_init, jk_update, jk_jailuser…) share on the command
 * line: option parsing with jailkit's spellings, PATH lookup of bare program names, output of a
 * plan in the three modes, and turning typed errors into each tool's documented exit codes.
 */
import { parseArgs, type ParseArgsConfig } from "node:util";
import { type ErrorKind, JailkitError } from "../core/errors.ts";
import type { Plan } from "../core/plan.ts";
import { applyPlan, consolePrinter, resultToJson } from "../engine/apply.ts";

/** Thrown by tools to end with a given status after printing their message. */
export class Exit extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`);
  }
}

export function stdout(line: string): void {
  consolePrinter("stdout", line);
}

export function stderr(line: string): void {
  consolePrinter("stderr", line);
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

/** The jail from -j/--jail, else (jailkit's legacy form) the first positional argument. */
export function takeJail(
  option: string | boolean | string[] | undefined,
  positionals: string[],
): { jail: string | undefined; rest: string[] } {
  if (typeof option === "string") return { jail: option, rest: positionals };
  return { jail: positionals[0], rest: positionals.slice(1) };
}

/**
 * node:util parseArgs with jailkit's error behaviour: an unknown option or a missing value
 * prints the message and the usage text and exits 1, as getopt did.
 */
export function parseOptions<T extends ParseArgsConfig["options"]>(
  args: string[],
  options: T,
  usage: string,
): { values: Record<string, string | boolean | string[] | undefined>; positionals: string[] } {
  try {
    const { values, positionals } = parseArgs({
      args,
      options,
      allowPositionals: true,
      strict: true,
    });
    return {
      values: values as Record<string, string | boolean | string[] | undefined>,
      positionals,
    };
  } catch (e) {
    stderr(`ERROR: ${(e as Error).message}`);
    stdout(usage);
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
  const result = applyPlan(plan, {
    mode: out.dryRun ? "dry-run" : "apply",
    verbose: out.verbose,
    print: out.json ? undefined : consolePrinter,
  });
  if (out.json) stdout(resultToJson(plan, result, out.dryRun));
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
