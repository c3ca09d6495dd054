/**
 * jk_socketd's decisions (man/jk_socketd.8): which sockets the configuration asks for and at which
 * rates, whether a socket path is safe to create, the per-socket rate limiter, the messages the
 * daemon logs, and what a worker was started for. Everything here is pure: the worker
 * (forwarder.ts) reads files, binds sockets and sleeps.
 *
 * Deliberately not copied from jailkit 2.23:
 * - duplicate sections and over-long lists are reported as notices with the file and line, and a
 *   replaced rate is always reported (jailkit replaced values silently);
 * - a socket is only created where nobody but root can change the path: every directory above
 *   it must be a real directory (no symlink), owned by root and writable by neither group nor
 *   others (jailkit unlinked, bound and chmod-ed any path, following symlinks);
 * - an existing node at the socket path is removed only when it is a socket (jailkit unlinked
 *   whatever was there, a planted regular file included);
 * - the "directly after a peak" flag starts cleared (jailkit left it uninitialised) and a sleep
 *   is never negative (jailkit computed the rest of a window that had already ended).
 */
import { JailkitError } from "../core/errors.ts";
import { parseIni } from "../config/ini.ts";
import { join } from "../core/posixpath.ts";
import { VERSION } from "../core/runtime.ts";

/** jailkit's fixed table size. */
export const MAX_SOCKETS = 128;

/**
 * Bytes read from one datagram. jailkit read 512 and cut longer messages; 8192 is rsyslog's
 * default maximum message size, so nothing the host daemon would keep is lost here.
 */
export const MAX_DATAGRAM = 8192;

/** sun_path holds 108 bytes including the terminating NUL. */
export const MAX_SOCKET_PATH_BYTES = 107;

export const DEFAULT_BASE = 511;
export const DEFAULT_PEAK = 2048;
/** The default of the ini key and of an invalid value. */
export const DEFAULT_INTERVAL = 5.0;
/** `--socket` without `--interval` (jailkit's command-line default differs from the ini one). */
export const CLI_DEFAULT_INTERVAL = 10.0;

export const BASE_RANGE = { min: 10, max: 1_000_000 } as const;
export const PEAK_RANGE = { min: 100, max: 10_000_000 } as const;
export const INTERVAL_RANGE = { min: 0.01, max: 60 } as const;

/** Bytes per interval: `base` normally, up to `peak` in a burst; `interval` in seconds. */
export interface Rates {
  /** Bytes per interval a jail may log steadily. */
  readonly base: number;
  /** Bytes per interval a burst may reach; beyond it reading pauses until the interval ends. */
  readonly peak: number;
  /** Length of the accounting interval, in seconds. */
  readonly interval: number;
}

/** One socket jk_socketd creates, with its rate limits. */
export interface SocketSpec extends Rates {
  /** Host path of the socket (usually JAIL/dev/log). */
  readonly path: string;
}

/** The rate values as written (ini value or command-line argument); undefined when absent. */
export interface RawRates {
  /** `base` as written. */
  readonly base?: string;
  /** `peak` as written. */
  readonly peak?: string;
  /** `interval` as written. */
  readonly interval?: string;
}

/** Where each raw value came from, for messages: `FILE:LINE` or `--base`. */
export type Origin = (key: keyof RawRates) => string;

const UNSIGNED = /^[0-9]{1,15}$/;
const DECIMAL = /^[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?$/;

function inRange(n: number, range: { min: number; max: number }): boolean {
  return n >= range.min && n <= range.max;
}

/**
 * jailkit's validation: base outside [10, 1000000] becomes 511; peak outside [100, 10000000] or
 * below base becomes 2048; interval outside [0.01, 60] becomes 5.0. A value that is not a number
 * counts as invalid. Every replacement yields a notice naming the value and its origin.
 */
export function validateRates(
  raw: RawRates,
  origin: Origin,
  intervalDefault = DEFAULT_INTERVAL,
): { rates: Rates; notices: string[] } {
  const notices: string[] = [];
  const replace = (key: keyof RawRates, why: string, used: number) => {
    notices.push(`${origin(key)}: ${key} ${JSON.stringify(raw[key])} ${why}; using ${used}`);
    return used;
  };

  let base = DEFAULT_BASE;
  if (raw.base !== undefined) {
    const n = UNSIGNED.test(raw.base) ? Number(raw.base) : NaN;
    if (Number.isNaN(n)) base = replace("base", "is not a whole number", DEFAULT_BASE);
    else if (!inRange(n, BASE_RANGE)) {
      base = replace("base", `is outside ${BASE_RANGE.min}..${BASE_RANGE.max}`, DEFAULT_BASE);
    } else base = n;
  }

  let peak = DEFAULT_PEAK;
  if (raw.peak !== undefined) {
    const n = UNSIGNED.test(raw.peak) ? Number(raw.peak) : NaN;
    if (Number.isNaN(n)) peak = replace("peak", "is not a whole number", DEFAULT_PEAK);
    else if (!inRange(n, PEAK_RANGE)) {
      peak = replace("peak", `is outside ${PEAK_RANGE.min}..${PEAK_RANGE.max}`, DEFAULT_PEAK);
    } else if (n < base) peak = replace("peak", `is below base ${base}`, DEFAULT_PEAK);
    else peak = n;
  }

  let interval = intervalDefault;
  if (raw.interval !== undefined) {
    const n = DECIMAL.test(raw.interval) ? Number(raw.interval) : NaN;
    if (!Number.isFinite(n)) {
      interval = replace("interval", "is not a decimal number", DEFAULT_INTERVAL);
    } else if (!inRange(n, INTERVAL_RANGE)) {
      interval = replace(
        "interval",
        `is outside ${INTERVAL_RANGE.min}..${INTERVAL_RANGE.max} seconds`,
        DEFAULT_INTERVAL,
      );
    } else interval = n;
  }
  return { rates: { base, peak, interval }, notices };
}

/** What jk_socketd.ini asks for. */
export interface SocketdConfig {
  /** Sockets in file order, at most one per path. */
  readonly sockets: SocketSpec[];
  /** Things the admin should know; the daemon logs them at LOG_NOTICE. */
  readonly notices: string[];
}

const RATE_KEYS: readonly (keyof RawRates)[] = ["base", "peak", "interval"];

/**
 * Reads jk_socketd.ini (`text` is the contents of `path`): every section is a socket path, in
 * file order, with keys base/peak/interval. A repeated section is skipped with a notice, as are
 * sections past the 128th and unknown keys. Syntax errors throw a "config" JailkitError naming
 * FILE:LINE (the C-flavour rules of lib/config/ini.ts).
 */
export function parseSocketdConfig(text: string, path: string): SocketdConfig {
  const notices: string[] = [];
  const lines = text.split("\n");
  const firstLine = new Map<string, number>();
  let skipping = false;
  for (let i = 0; i < lines.length; i++) {
    const trimmed = lines[i].replace(/\r$/, "").trim();
    if (trimmed.startsWith("[")) {
      skipping = false;
      const close = trimmed.indexOf("]");
      // A malformed header is left for parseIni to report.
      if (close < 0) continue;
      const name = trimmed.slice(1, close);
      const first = firstLine.get(name);
      if (first === undefined) {
        firstLine.set(name, i + 1);
        continue;
      }
      notices.push(
        `${path}:${i + 1}: duplicate section [${name}] (first at line ${first}); skipped`,
      );
      skipping = true;
    }
    // Blanked rather than removed, so parseIni still reports the right line numbers.
    if (skipping) lines[i] = "";
  }
  const ini = parseIni(lines.join("\n"), path, "c");

  const sockets: SocketSpec[] = [];
  for (const section of ini.sections) {
    if (sockets.length === MAX_SOCKETS) {
      notices.push(
        `${path}:${section.line}: more than ${MAX_SOCKETS} sockets; [${section.name}] ignored`,
      );
      continue;
    }
    for (const entry of section.entries) {
      if (!(RATE_KEYS as readonly string[]).includes(entry.key)) {
        notices.push(`${path}:${entry.line}: unknown key "${entry.key}" ignored`);
      }
    }
    const raw: RawRates = {
      base: section.own("base")?.value,
      peak: section.own("peak")?.value,
      interval: section.own("interval")?.value,
    };
    const origin: Origin = (key) =>
      `${path}:${section.own(key)?.line ?? section.line}: [${section.name}]`;
    const { rates, notices: replaced } = validateRates(raw, origin);
    notices.push(...replaced);
    sockets.push({ path: section.name, ...rates });
  }
  return { sockets, notices };
}

/** `--socket=PATH` with the rates given on the command line (the ini file is not read). */
export function commandLineSocket(path: string, raw: RawRates): SocketdConfig {
  if (path === "") throw new JailkitError("usage", "--socket: the socket path is empty");
  const { rates, notices } = validateRates(raw, (key) => `--${key}`, CLI_DEFAULT_INTERVAL);
  return { sockets: [{ path, ...rates }], notices };
}

// ---------------------------------------------------------------------------------------------
// Where a socket may be created

/** The parts of an lstat result the checks need (Deno.FileInfo has them all). */
export interface NodeInfo {
  readonly isDirectory: boolean;
  readonly isSymlink: boolean;
  readonly isFile: boolean;
  readonly isSocket: boolean | null;
  readonly uid: number | null;
  readonly mode: number | null;
}

export type Lstat = (path: string) => NodeInfo | undefined;

export type SocketPlan =
  | { readonly ok: true; readonly replaceSocket: boolean }
  | { readonly ok: false; readonly reason: string };

function describe(info: NodeInfo): string {
  if (info.isSymlink) return "a symlink";
  if (info.isDirectory) return "a directory";
  if (info.isFile) return "a regular file";
  return "a device, fifo or other special file";
}

function modeText(info: NodeInfo): string {
  return `${((info.mode ?? 0) & 0o7777).toString(8).padStart(4, "0")} uid ${info.uid}`;
}

/**
 * Decides whether `path` may become a socket. Every directory from / down to the socket's
 * parent must be a real directory, owned by root, not writable by group or others: then nobody
 * but root can swap a component between this check and the bind and chmod that follow. A node
 * already at the path is replaced only when it is a socket (left over from an earlier run).
 */
export function planSocket(path: string, lstat: Lstat): SocketPlan {
  if (!path.startsWith("/")) return { ok: false, reason: "not an absolute path" };
  if (path.includes("\0")) return { ok: false, reason: "contains a NUL byte" };
  if (new TextEncoder().encode(path).length > MAX_SOCKET_PATH_BYTES) {
    return { ok: false, reason: `longer than ${MAX_SOCKET_PATH_BYTES} bytes` };
  }
  const parts = path.split("/").filter((c) => c !== "");
  if (parts.length === 0 || path.endsWith("/")) {
    return { ok: false, reason: "does not name a file" };
  }
  if (parts.includes(".") || parts.includes("..")) {
    return { ok: false, reason: `contains "." or ".." (give the real path)` };
  }
  let dir = "/";
  for (let i = 0; i < parts.length; i++) {
    const info = lstat(dir);
    if (info === undefined) return { ok: false, reason: `directory ${dir} does not exist` };
    if (info.isSymlink) {
      return { ok: false, reason: `${dir} is a symlink (symlinks above a socket are refused)` };
    }
    if (!info.isDirectory) return { ok: false, reason: `${dir} is not a directory` };
    if (info.uid !== 0) {
      return { ok: false, reason: `directory ${dir} is not owned by root (${modeText(info)})` };
    }
    if (((info.mode ?? 0) & 0o022) !== 0) {
      return {
        ok: false,
        reason: `directory ${dir} is writable by group or others (${modeText(info)})`,
      };
    }
    if (i < parts.length - 1) dir = join(dir, parts[i]);
  }
  const existing = lstat(path);
  if (existing === undefined) return { ok: true, replaceSocket: false };
  if (existing.isSocket === true) return { ok: true, replaceSocket: true };
  return {
    ok: false,
    reason: `${describe(existing)} is in the way (only an old socket is ever removed)`,
  };
}

/**
 * The directory the daemon chroots into must be a real, root-owned directory that nobody else
 * can write, with nothing in it, reached through root-owned, non-writable real directories.
 * Returns the problem, or undefined when it is fit.
 */
export function emptyRootProblem(
  path: string,
  lstat: Lstat,
  entryCount: number,
): string | undefined {
  const parts = path.split("/").filter((c) => c !== "");
  let dir = "/";
  for (let i = 0; i <= parts.length; i++) {
    const info = lstat(dir);
    if (info === undefined) return `${dir} does not exist`;
    if (info.isSymlink) return `${dir} is a symlink`;
    if (!info.isDirectory) return `${dir} is not a directory`;
    if (info.uid !== 0) return `${dir} is not owned by root (${modeText(info)})`;
    if (((info.mode ?? 0) & 0o022) !== 0) {
      return `${dir} is writable by group or others (${modeText(info)})`;
    }
    if (i < parts.length) dir = join(dir, parts[i]);
  }
  if (entryCount !== 0) return `${path} is not empty`;
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Rate limiting (per socket)

export interface RateState {
  /** Bytes counted since the window began. */
  readonly bytes: number;
  /** When the window began, in seconds on the caller's clock. */
  readonly reset: number;
  /** The previous window ended over the limits. */
  readonly afterPeak: boolean;
}

export interface RateDecision {
  readonly state: RateState;
  readonly warning?: "peak" | "normal";
  /** Seconds to stop reading this socket before the next datagram; 0 for none. */
  readonly sleep: number;
}

export function initialRateState(now: number): RateState {
  return { bytes: 0, reset: now, afterPeak: false };
}

/**
 * jailkit's limiter, applied after each forwarded datagram of `n` bytes at time `now`:
 * - over `peak` in the window: warn, pause reading until the window ends, start a new window
 *   marked as following a peak;
 * - over `base`: when the window has ended, start a new one marked as following a peak; else,
 *   when the previous window was a peak, warn and pause until the window ends; else allow the
 *   burst;
 * - otherwise, when the window has ended, start a new unmarked one.
 * As in jailkit the new window starts at `now`, the time of the datagram, not after the pause.
 */
export function rateStep(rates: Rates, state: RateState, n: number, now: number): RateDecision {
  const bytes = state.bytes + n;
  const elapsed = now - state.reset;
  const rest = Math.max(0, rates.interval - elapsed);
  if (bytes > rates.peak) {
    return { state: { bytes: 0, reset: now, afterPeak: true }, warning: "peak", sleep: rest };
  }
  if (bytes > rates.base) {
    if (elapsed > rates.interval) {
      return { state: { bytes: 0, reset: now, afterPeak: true }, sleep: 0 };
    }
    if (state.afterPeak) {
      return { state: { bytes: 0, reset: now, afterPeak: true }, warning: "normal", sleep: rest };
    }
    return { state: { ...state, bytes }, sleep: 0 };
  }
  if (elapsed > rates.interval) {
    return { state: { bytes: 0, reset: now, afterPeak: false }, sleep: 0 };
  }
  return { state: { ...state, bytes }, sleep: 0 };
}

// ---------------------------------------------------------------------------------------------
// Messages (the fixed tokens of jailkit's, with our version)

export function listeningMessage(spec: SocketSpec): string {
  return `version ${VERSION}, listening on socket ${spec.path} with rates ` +
    `[${spec.base}:${spec.peak}]/${spec.interval.toFixed(6)}`;
}

export function rateWarning(kind: "peak" | "normal", spec: SocketSpec): string {
  if (kind === "peak") {
    return `device ${spec.path} is over the peak limit ` +
      `(${Math.trunc(spec.peak / spec.interval)} bytes/s)`;
  }
  return `device ${spec.path} is over the normal limit ` +
    `(${Math.trunc(spec.base / spec.interval)} bytes/s), directly after a peak`;
}

/**
 * Why a worker was started (JK_SOCKETD_PHASE, set by ffi/jk_socketd_supervisor.c):
 * - start: the first one; it writes the pid file, and removes it again if it fails;
 * - reload: SIGHUP while another worker runs, which keeps running if this one cannot read the
 *   configuration;
 * - restart: after a worker ended;
 * - stop: the last one, which logs the stop and removes the pid file;
 * - alone: started by hand, without the supervisor (no readiness pipe, no pid file).
 */
export type WorkerPhase =
  | { readonly kind: "start" | "reload" | "restart" | "alone" }
  | { readonly kind: "stop"; readonly signal: "SIGTERM" | "SIGINT" };

/** The phase named by the supervisor's variable; anything unknown is a hand-started worker. */
export function parsePhase(value: string | undefined): WorkerPhase {
  switch (value) {
    case "start":
    case "reload":
    case "restart":
      return { kind: value };
    case "stop:SIGTERM":
      return { kind: "stop", signal: "SIGTERM" };
    case "stop:SIGINT":
      return { kind: "stop", signal: "SIGINT" };
    default:
      return { kind: "alone" };
  }
}

/** One mapping of the executable that the worker may give back once it is ready. */
export interface Mapping {
  readonly start: bigint;
  readonly end: bigint;
}

/** Lines of /proc/self/smaps read at most: a runtime has a few hundred mappings, 20 lines each. */
const MAX_SMAPS_LINES = 200_000;
const MAPPING_LINE = /^([0-9a-f]+)-([0-9a-f]+) ([-r][-w][-x][ps]) [0-9a-f]+ \S+ \d+ *(.*)$/;

/**
 * The mappings of `executable` in `smaps` (the text of /proc/self/smaps) that hold only what the
 * file holds: private, not writable, without anonymous (written) pages. The runtime maps about
 * 33 MB of its executable at start-up, most of it never used again by a worker that relays;
 * dropping these mappings (ffi dropFilePages) leaves in memory only what relaying touches again.
 * Anything unexpected in the text keeps a mapping out of the list.
 */
export function startupMappings(smaps: string, executable: string): Mapping[] {
  const found: Mapping[] = [];
  let current: Mapping | undefined;
  const lines = smaps.split("\n", MAX_SMAPS_LINES);
  for (const line of lines) {
    const m = MAPPING_LINE.exec(line);
    if (m) {
      const candidate = m[4] === executable && m[3][1] === "-" && m[3][3] === "p";
      current = candidate ? { start: BigInt(`0x${m[1]}`), end: BigInt(`0x${m[2]}`) } : undefined;
      continue;
    }
    if (current !== undefined && line.startsWith("Anonymous:")) {
      if (/^Anonymous:\s+0 kB$/.test(line) && current.end > current.start) found.push(current);
      current = undefined;
    }
  }
  return found;
}
