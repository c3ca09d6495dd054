/**
 * Fuzz target for jk_socketd's configuration (lib/socketd/rules.ts): jk_socketd.ini mutated from
 * the bundled one, command-line rates, and the supervisor's phase variable. Besides typed errors
 * only, it checks what the daemon relies on: every rate within its documented range, at most
 * MAX_SOCKETS sockets, no path twice; parsePhase never throws and names a known phase.
 */
import { JailkitError } from "../../lib/core/errors.ts";
import {
  BASE_RANGE,
  commandLineSocket,
  INTERVAL_RANGE,
  MAX_SOCKETS,
  parsePhase,
  parseSocketdConfig,
  PEAK_RANGE,
  type SocketdConfig,
} from "../../lib/socketd/rules.ts";
import type { FuzzTarget } from "./target.ts";
import { chance, expectOnly, int, mutateText, pick, seedText } from "./mutate.ts";

const SEED = seedText(new URL("../../data/jk_socketd.ini", import.meta.url).pathname) ??
  "[/srv/jail/dev/log]\nbase=512\npeak=2048\ninterval=10\n";
const NUMBERS = [
  "0",
  "9",
  "10",
  "511",
  "1000000",
  "1000001",
  "100",
  "10000000",
  "0.01",
  "0.009",
  "60",
  "60.0001",
  "1e1",
  "-5",
  "+5",
  ".5",
  "5.",
  "NaN",
  "Infinity",
  "1e309",
  "0x20",
  " 12",
  "",
];
const TOKENS = [
  ...NUMBERS,
  "[/srv/jail/dev/log]",
  "[/srv/jail/dev/log]\n[/srv/jail/dev/log]",
  "base=",
  "peak=",
  "interval=",
  "bogus=1",
];

function checkConfig(c: SocketdConfig): void {
  if (c.sockets.length > MAX_SOCKETS) throw new Error(`${c.sockets.length} sockets`);
  const seen = new Set<string>();
  for (const s of c.sockets) {
    if (seen.has(s.path)) throw new Error(`socket ${s.path} twice`);
    seen.add(s.path);
    const ok = (n: number, r: { min: number; max: number }) => n >= r.min && n <= r.max;
    if (!ok(s.base, BASE_RANGE) || !ok(s.peak, PEAK_RANGE) || !ok(s.interval, INTERVAL_RANGE)) {
      throw new Error(`rates out of range: ${JSON.stringify(s)}`);
    }
  }
}

type Input =
  | { kind: "ini"; text: string }
  | { kind: "cli"; path: string; base?: string; peak?: string; interval?: string }
  | { kind: "phase"; value: string };

export const socketdTarget: FuzzTarget = {
  name: "socketd",
  generate(rng): Input {
    const r = rng();
    if (r < 0.7) {
      if (chance(rng, 0.1)) {
        // Many sections, past the bound.
        const n = MAX_SOCKETS - 2 + int(rng, 6);
        const text = Array.from({ length: n }, (_, i) => `[/j${i % (n - int(rng, 3))}/dev/log]`)
          .join("\n");
        return { kind: "ini", text };
      }
      return { kind: "ini", text: mutateText(rng, SEED, TOKENS) };
    }
    if (r < 0.9) {
      const maybe = () => chance(rng, 0.7) ? pick(rng, NUMBERS) : undefined;
      return {
        kind: "cli",
        path: pick(rng, ["", "/dev/log", "/srv/j/dev/log", "x"]),
        base: maybe(),
        peak: maybe(),
        interval: maybe(),
      };
    }
    const value = pick(rng, ["start", "reload", "restart", "stop:SIGTERM", "stop:SIGINT", ""]);
    return { kind: "phase", value: mutateText(rng, value, [":", "stop", "SIG", "\u0000"]) };
  },
  run(input) {
    const i = input as Input;
    if (i.kind === "phase") {
      const phase = parsePhase(i.value);
      const known = ["start", "reload", "restart", "stop", "alone"];
      if (!known.includes(phase.kind)) throw new Error(`phase ${JSON.stringify(phase)}`);
      return;
    }
    try {
      if (i.kind === "ini") checkConfig(parseSocketdConfig(i.text, "/fuzz/jk_socketd.ini"));
      else checkConfig(commandLineSocket(i.path, i));
    } catch (e) {
      expectOnly(e, [JailkitError]);
    }
  },
};
