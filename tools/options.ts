/**
 * The command lines of the developer scripts (tools/install.ts, tools/deb.ts, tools/fuzz.ts and
 * bench/): lib/core/options.ts's strict parsing (unknown options, missing values and stray
 * arguments are errors), with string, number and boolean values typed and defaulted, a usage
 * line built from the options, and `--help`/`-h` on every script.
 *
 * - A number must be written in decimal (`12`, `0.5`, `1e3`); `integer` and `positive` narrow
 *   it further. A bad one is an error naming the option and the value, not a NaN run.
 * - Positional arguments are refused, except options marked `positional`, which are taken from
 *   the arguments in declaration order (`bench/jk_init_bench.ts [SECTION] [REPEAT]`) and only
 *   from there.
 * - parseToolOptions prints `ERROR: …` and the usage line on standard error and exits 2; on
 *   `--help` it prints the usage line and `about` on standard output and exits 0.
 *
 * @example
 * ```ts ignore
 * const { repeat, checkout } = parseToolOptions({
 *   command: "deno run -A bench/x_bench.ts",
 *   options: {
 *     repeat: { type: "number", integer: true, positive: true, default: 3 },
 *     checkout: { type: "string", arg: "DIR" },
 *   },
 * });
 * ```
 */
import { OptionError, type OptionSpec, parseCommandLine } from "../lib/core/options.ts";

/** A valued option: its default, its name on the usage line, whether it is positional. */
interface Valued<V> {
  readonly default?: V;
  /** Shown on the usage line: `--out DIR`; a positional's is its name in capitals. */
  readonly arg?: string;
  readonly positional?: true;
}

/** One option of a script. A boolean is false unless given. */
export type ToolOption =
  | { readonly type: "boolean" }
  | { readonly type: "string"; readonly multiple: true; readonly arg?: string }
  | ({ readonly type: "string" } & Valued<string>)
  | (
    & { readonly type: "number"; readonly integer?: true; readonly positive?: true }
    & Valued<number>
  );

/** A script's options by their long names; `help` is every script's own. */
export type ToolOptions = Record<string, ToolOption> & { help?: never };

/** A script's command line: how it is run, its options, what --help adds to the usage line. */
export interface ToolCommand<T extends ToolOptions> {
  /** The start of the usage line: `deno run -A bench/jk_cp_bench.ts`. */
  readonly command: string;
  readonly options: T;
  readonly about?: string;
}

type ValueOf<O> = O extends { type: "number" } ? number
  : O extends { type: "boolean" } ? boolean
  : O extends { multiple: true } ? string[]
  : string;

/** The parsed values: undefined only for a string or number option without a default. */
export type ToolValues<T extends ToolOptions> = {
  [K in keyof T]: T[K] extends { type: "boolean" } | { default: unknown } ? ValueOf<T[K]>
    : ValueOf<T[K]> | undefined;
};

const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;

function isPositional(option: ToolOption): boolean {
  return "positional" in option && option.positional === true;
}

function metavar(name: string, option: ToolOption): string {
  if (isPositional(option)) return name.toUpperCase();
  return ("arg" in option ? option.arg : undefined) ?? (option.type === "number" ? "N" : "VALUE");
}

/** `Usage: COMMAND [--name ARG]... [--flag] [POSITIONAL]`. */
export function usageLine<T extends ToolOptions>(command: ToolCommand<T>): string {
  const options: string[] = [];
  const positionals: string[] = [];
  for (const [name, option] of Object.entries(command.options)) {
    if (isPositional(option)) positionals.push(`[${metavar(name, option)}]`);
    else if (option.type === "boolean") options.push(`[--${name}]`);
    else {
      const many = "multiple" in option && option.multiple ? "..." : "";
      options.push(`[--${name} ${metavar(name, option)}]${many}`);
    }
  }
  return ["Usage:", command.command, ...options, ...positionals].join(" ");
}

function toNumber(
  label: string,
  text: string,
  option: { integer?: true; positive?: true },
): number {
  const n = DECIMAL.test(text) ? Number(text) : NaN;
  const integer = option.integer === true;
  if (
    !Number.isFinite(n) || (integer && !Number.isSafeInteger(n)) ||
    (option.positive === true && !(n > 0))
  ) {
    const kind = `${option.positive ? "positive " : ""}${integer ? "integer" : "number"}`;
    const article = kind === "integer" ? "an" : "a";
    throw new OptionError(`${label} expects ${article} ${kind}, not ${JSON.stringify(text)}`);
  }
  return n;
}

/**
 * The values of `args`, or "help" when --help or -h is among them; throws OptionError at the
 * first argument that does not fit.
 */
export function readToolOptions<const T extends ToolOptions>(
  args: readonly string[],
  command: ToolCommand<T>,
): ToolValues<T> | "help" {
  const specs: Record<string, OptionSpec> = { help: { type: "boolean", short: "h" } };
  const positional: string[] = [];
  for (const [name, option] of Object.entries(command.options)) {
    if (isPositional(option)) positional.push(name);
    else {
      specs[name] = {
        type: option.type === "boolean" ? "boolean" : "string",
        multiple: "multiple" in option && option.multiple,
      };
    }
  }
  const parsed = parseCommandLine(args, specs, { allowPositionals: positional.length > 0 });
  const given = parsed.values as Record<string, string | string[] | boolean | undefined>;
  if (given.help) return "help";
  if (parsed.positionals.length > positional.length) {
    const names = positional.map((name) => name.toUpperCase()).join(" ");
    throw new OptionError(
      `Unexpected argument '${parsed.positionals[positional.length]}'. ` +
        `This command takes no arguments but ${names}`,
    );
  }
  const values: Record<string, unknown> = {};
  for (const [name, option] of Object.entries(command.options)) {
    const at = positional.indexOf(name);
    const raw = at === -1 ? given[name] : parsed.positionals[at];
    if (option.type === "boolean") values[name] = raw === true;
    else if (raw === undefined) values[name] = "default" in option ? option.default : undefined;
    else if (option.type === "number") {
      const label = at === -1 ? `--${name}` : name.toUpperCase();
      values[name] = toNumber(label, raw as string, option);
    } else values[name] = raw;
  }
  return values as ToolValues<T>;
}

/**
 * The values of the script's arguments; prints the usage and exits on --help (0) or on a
 * command line that does not fit (2).
 */
export function parseToolOptions<const T extends ToolOptions>(
  command: ToolCommand<T>,
  args: readonly string[] = Deno.args,
): ToolValues<T> {
  try {
    const values = readToolOptions(args, command);
    if (values !== "help") return values;
    console.log(command.about ? `${usageLine(command)}\n${command.about}` : usageLine(command));
    Deno.exit(0);
  } catch (e) {
    if (!(e instanceof OptionError)) throw e;
    console.error(`ERROR: ${e.message}\n${usageLine(command)}`);
    Deno.exit(2);
  }
}
