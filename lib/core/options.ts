/**
 * The tools' option parser (the administrative tools, jk_socketd, jk_uchroot, jk_chrootlaunch,
 * and through tools/options.ts the developer scripts): the behaviour and messages of node:util
 * parseArgs in strict mode (which they used until loading node:util cost every run about 20 ms
 * of start-up), in one pass over the arguments. In lib/core so that the login tools may use it.
 *
 * - `--name=value`, `--name value`, `-n value`, `-nvalue`; a string option's separate value
 *   may not look like an option (`-x`), an inline one may.
 * - Short booleans group (`-dv`); a string option inside a group takes the rest of it as its
 *   value (`-vjJAIL`).
 * - `--` ends the options; a lone `-` is a positional argument.
 * - Positional arguments are allowed unless `allowPositionals` is false; then the first one is
 *   an error (parseArgs' `allowPositionals: false`).
 * - Unknown options, missing values and values given to booleans are errors.
 * - A repeated option keeps its last value, unless it is `multiple` (then every value, in order).
 * - `given` lists every option in command-line order, for "the last of -x and --executable wins".
 */

/** One option: its type, its one-character short name, whether it may be repeated. */
export interface OptionSpec {
  type: "string" | "boolean";
  short?: string;
  multiple?: boolean;
}

type Value<S extends OptionSpec> = S extends { type: "string" } ? string : boolean;

/** What parsing returns for each option that was given. */
export type OptionValues<T extends Record<string, OptionSpec>> = {
  [K in keyof T]?: T[K] extends { multiple: true } ? Value<T[K]>[] : Value<T[K]>;
};

/** One option as given on the command line: its (long) name and value. */
export interface GivenOption<T extends Record<string, OptionSpec>> {
  name: keyof T & string;
  value: string | boolean;
}

/** A command line that does not fit the options; the message is parseArgs' own. */
export class OptionError extends Error {
  override name = "OptionError";
}

function longFor(options: Record<string, OptionSpec>, short: string): string {
  for (const [name, spec] of Object.entries(options)) {
    if (spec.short === short) return name;
  }
  return short;
}

/** How the command line is read beyond its options. */
export interface ParseSettings {
  /** Whether arguments that are not options are accepted (default true). */
  allowPositionals?: boolean;
}

/**
 * Parses `args` against `options`; throws OptionError at the first argument that does not fit.
 */
export function parseCommandLine<const T extends Record<string, OptionSpec>>(
  args: readonly string[],
  options: T,
  { allowPositionals = true }: ParseSettings = {},
): { values: OptionValues<T>; positionals: string[]; given: GivenOption<T>[] } {
  const values: Record<string, string | boolean | (string | boolean)[]> = Object.create(null);
  const positionals: string[] = [];
  const given: GivenOption<T>[] = [];
  // The hint about `--` only helps where positional arguments may follow it.
  const unknown = (raw: string) =>
    new OptionError(
      allowPositionals
        ? `Unknown option '${raw}'. To specify a positional argument starting with a '-', ` +
          `place it at the end of the command after '--', as in '-- ${JSON.stringify(raw)}`
        : `Unknown option '${raw}'`,
    );
  const positional = (arg: string) => {
    if (!allowPositionals) {
      throw new OptionError(
        `Unexpected argument '${arg}'. This command does not take positional arguments`,
      );
    }
    positionals.push(arg);
  };
  const store = (
    name: string,
    raw: string,
    value: string | undefined,
    inline: boolean,
  ): void => {
    if (!Object.hasOwn(options, name)) throw unknown(raw);
    const spec = options[name];
    const shown = `${spec.short ? `-${spec.short}, ` : ""}--${name}`;
    if (spec.type === "string" && value === undefined) {
      throw new OptionError(`Option '${shown} <value>' argument missing`);
    }
    if (spec.type === "boolean" && value !== undefined) {
      throw new OptionError(`Option '${shown}' does not take an argument`);
    }
    if (!inline && value !== undefined && value.length > 1 && value[0] === "-") {
      const example = raw.startsWith("--") ? `'${raw}=-XYZ'` : `'--${name}=-XYZ' or '${raw}-XYZ'`;
      throw new OptionError(
        `Option '${raw}' argument is ambiguous.\n` +
          `Did you forget to specify the option argument for '${raw}'?\n` +
          `To specify an option argument starting with a dash use ${example}.`,
      );
    }
    const v = value ?? true;
    given.push({ name, value: v });
    if (spec.multiple) {
      const list = values[name];
      if (Array.isArray(list)) list.push(v);
      else values[name] = [v];
    } else values[name] = v;
  };
  const isString = (name: string) =>
    Object.hasOwn(options, name) && options[name].type === "string";
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "--") {
      args.slice(i + 1).forEach(positional);
      break;
    }
    if (arg.length < 2 || arg[0] !== "-") {
      positional(arg);
      continue;
    }
    if (arg[1] === "-") {
      // As parseArgs: an `=` right after the dashes belongs to the name (`--=x` is unknown).
      const eq = arg.indexOf("=", 3);
      if (eq !== -1) {
        store(arg.slice(2, eq), arg.slice(0, eq), arg.slice(eq + 1), true);
        continue;
      }
      const name = arg.slice(2);
      const take = isString(name) && i + 1 < args.length;
      store(name, arg, take ? args[++i] : undefined, false);
      continue;
    }
    // One short option, or a group of them: each letter up to the first string option, which
    // takes the rest of the argument, else the next argument.
    for (let k = 1; k < arg.length; k++) {
      const letter = arg[k];
      const name = longFor(options, letter);
      if (!isString(name)) {
        store(name, `-${letter}`, undefined, false);
        continue;
      }
      if (k < arg.length - 1) {
        store(name, `-${letter}`, arg.slice(k + 1), true);
      } else {
        const take = i + 1 < args.length;
        store(name, `-${letter}`, take ? args[++i] : undefined, false);
      }
      break;
    }
  }
  return { values: values as OptionValues<T>, positionals, given };
}
