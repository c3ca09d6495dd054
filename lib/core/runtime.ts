/**
 * This implementation's version and how its tools run the Deno runtime, defined once for the
 * TypeScript side. ffi/jk_launcher.c spells the same runtime flags in C (it cannot import
 * them); tests/runtime_test.ts keeps the two lists equal.
 */

/** Printed by the tools' --version and in jk_socketd's "listening on socket" message. */
export const VERSION = "2.23-deno";

/**
 * A login entry's answer to `--help` (its usage) or `--version` (the administrative tools'
 * `TOOL (jailkit-deno) VERSION`), or undefined. jailkit 2.23's had neither. Only a single
 * argument that is exactly one of them counts, so a shell's `-c COMMAND` and procmail's
 * arguments are never taken for one; the entry asks before anything else, so answering touches
 * no privilege, configuration or log.
 */
export function loginInfo(
  tool: string,
  args: readonly string[],
  usage: string,
): string | undefined {
  if (args.length !== 1) return undefined;
  if (args[0] === "--version") return `${tool} (jailkit-deno) ${VERSION}`;
  if (args[0] === "--help") return usage;
  return undefined;
}

/**
 * What the installed launcher passes after `run`, minus `--cached-only` (sources run from a
 * checkout may still need their cache filled): no config, lock file, remote or npm module is
 * looked up, no V8 code cache is read back, nothing is ever prompted for.
 */
export const RUN_FLAGS: readonly string[] = [
  "--no-config",
  "--no-lock",
  "--no-remote",
  "--no-npm",
  "--no-code-cache",
  "--no-prompt",
  "--quiet",
  "-A",
];
