/**
 * The caller's environment. When a tool is started through the native launcher
 * (ffi/jk_launcher.c), the Deno runtime gets a fresh minimal environment and the caller's
 * variables arrive as data in one variable, CALLER_ENV_VAR: base64 of the `NAME=value` entries
 * joined by NUL bytes. No caller variable can then steer the runtime (DENO_*, NODE_*, RUST_*),
 * and each tool decides which variables it passes on. Started directly (`deno run`, tests),
 * the tool's own environment is the caller's.
 */

export const CALLER_ENV_VAR = "JAILKIT_CALLER_ENV";
export const ARGV0_VAR = "JAILKIT_ARGV0";
export const UMASK_VAR = "JAILKIT_CALLER_UMASK";

const BASE64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const BASE64_VALUE = new Map([...BASE64].map((c, i) => [c.charCodeAt(0), i]));

/**
 * The text of padded standard base64, as the launcher writes it; undefined when `encoded` is
 * not that. Not atob: its first call costs about 2.5 ms, at every start of a login entry.
 */
export function decodeBase64(encoded: string): string | undefined {
  if (encoded.length % 4 !== 0) return undefined;
  const pad = encoded.endsWith("==") ? 2 : encoded.endsWith("=") ? 1 : 0;
  const bytes = new Uint8Array((encoded.length / 4) * 3 - pad);
  const digits = encoded.length - pad;
  let out = 0;
  for (let i = 0; i < encoded.length; i += 4) {
    let group = 0;
    for (let k = i; k < i + 4; k++) {
      const value = k < digits ? BASE64_VALUE.get(encoded.charCodeAt(k)) : 0;
      if (value === undefined) return undefined;
      group = (group << 6) | value;
    }
    for (let shift = 16; shift >= 0 && out < bytes.length; shift -= 8) {
      bytes[out++] = (group >> shift) & 0xff;
    }
  }
  return new TextDecoder().decode(bytes);
}

/** Decodes the launcher's encoding; entries without `=` are dropped (never valid env). */
export function decodeCallerEnv(encoded: string): Map<string, string> {
  const env = new Map<string, string>();
  const text = decodeBase64(encoded);
  if (text === undefined) return env;
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

/** The caller's argv[0] (base64 in JAILKIT_ARGV0); undefined when not started by the launcher. */
export function launcherArgv0(): string | undefined {
  const encoded = Deno.env.get(ARGV0_VAR);
  return encoded === undefined ? undefined : decodeBase64(encoded);
}

/**
 * The caller's umask. The launcher runs the tool with that umask plus 022 (so the runtime never
 * creates group/world-writable files); whatever the tool starts for the caller gets this back.
 */
export function callerUmask(): number | undefined {
  const value = Deno.env.get(UMASK_VAR);
  return value !== undefined && /^[0-7]{1,4}$/.test(value) ? parseInt(value, 8) & 0o777 : undefined;
}
