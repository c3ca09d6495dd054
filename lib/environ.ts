/**
 * The caller's environment. When a tool is started through the native launcher
 * (ffi/jk_launcher.c), the Deno runtime gets a fresh minimal environment and the caller's
 * variables arrive as data in one variable, CALLER_ENV_VAR: base64 of the `NAME=value` entries
 * joined by NUL bytes. No caller variable can then steer the runtime (DENO_*, NODE_*, RUST_*),
 * and each tool decides which variables it passes on. Started directly (`deno run`, tests),
 * the tool's own environment is the caller's.
 */

export const CALLER_ENV_VAR = "JAILKIT_CALLER_ENV";

/** Decodes the launcher's encoding; entries without `=` are dropped (never valid env). */
export function decodeCallerEnv(encoded: string): Map<string, string> {
  const env = new Map<string, string>();
  let bytes: Uint8Array;
  try {
    const bin = atob(encoded);
    bytes = Uint8Array.from(bin, (c) => c.charCodeAt(0));
  } catch {
    return env;
  }
  const text = new TextDecoder().decode(bytes);
  for (const entry of text.split("\0")) {
    const eq = entry.indexOf("=");
    if (eq <= 0) continue;
    const name = entry.slice(0, eq);
    if (!env.has(name)) env.set(name, entry.slice(eq + 1));
  }
  return env;
}

let cached: Map<string, string> | undefined;

/** The caller's variables, from the launcher's encoding or the process environment. */
export function callerEnv(): Map<string, string> {
  if (cached) return cached;
  const encoded = Deno.env.get(CALLER_ENV_VAR);
  cached = encoded !== undefined
    ? decodeCallerEnv(encoded)
    : new Map(Object.entries(Deno.env.toObject()));
  return cached;
}

export function callerVar(name: string): string | undefined {
  return callerEnv().get(name);
}

/** True when the tool was started through the native launcher. */
export function viaLauncher(): boolean {
  return Deno.env.get(CALLER_ENV_VAR) !== undefined;
}
