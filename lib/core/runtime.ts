/**
 * This implementation's version and how its tools run the Deno runtime, defined once for the
 * TypeScript side. ffi/jk_launcher.c spells the same runtime flags in C (it cannot import
 * them); tests/runtime_test.ts keeps the two lists equal.
 */

/** Printed by the tools' --version and in jk_socketd's "listening on socket" message. */
export const VERSION = "2.23-deno";

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
