/**
 * Shared pieces of the on-demand benchmarks: timing a command, a root-owned scratch area, and
 * Debian's jailkit 2.23 as the baseline when it is available.
 *
 * The reference jailkit may be installed (`/usr/sbin/jk_cp`) or extracted in a throwaway way
 * (`apt-get download jailkit; dpkg -x jailkit_*.deb /opt/jailkit-ref`); for the extracted
 * copy we run its Python scripts with their library directory pointed at the extraction.
 */
import { join } from "node:path";

export const REPO = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const REF_ROOT = Deno.env.get("JAILKIT_REF") ?? "/opt/jailkit-ref";

export interface Timing {
  label: string;
  seconds: number;
}

/** Runs a command `repeat` times (each with a fresh setup) and keeps the best wall time. */
export function timeBest(
  label: string,
  repeat: number,
  setup: () => void,
  argv: string[],
  env: Record<string, string> = {},
): Timing {
  let best = Infinity;
  for (let i = 0; i < repeat; i++) {
    setup();
    const t0 = performance.now();
    const out = new Deno.Command(argv[0], {
      args: argv.slice(1),
      stdout: "null",
      stderr: "piped",
      env: { RUST_BACKTRACE: "0", ...env },
    }).outputSync();
    const dt = (performance.now() - t0) / 1000;
    if (!out.success) {
      throw new Error(
        `${label}: ${argv.join(" ")} failed: ${new TextDecoder().decode(out.stderr)}`,
      );
    }
    best = Math.min(best, dt);
  }
  return { label, seconds: best };
}

/** A root-owned 0755 scratch directory (the tools refuse jails below /tmp). */
export function scratch(label: string): string {
  const base = "/var/lib/jailkit-deno-bench";
  Deno.mkdirSync(base, { recursive: true, mode: 0o755 });
  const dir = join(base, `${label}-${Date.now()}`);
  Deno.mkdirSync(dir, { mode: 0o755 });
  return dir;
}

export function freshDir(path: string): void {
  try {
    Deno.removeSync(path, { recursive: true });
  } catch { /* first run */ }
  Deno.mkdirSync(path, { mode: 0o755 });
}

/**
 * argv prefix running a Debian jailkit Python tool, or undefined when none is available.
 * The extracted scripts hard-code LIBDIR=/usr/share/jailkit; we rewrite it in a temporary copy.
 */
export function referenceTool(tool: string, tmp: string): string[] | undefined {
  const installed = `/usr/sbin/${tool}`;
  try {
    const text = Deno.readTextFileSync(installed);
    if (text.includes("jk_lib")) return ["python3", installed];
  } catch { /* not installed */ }
  const script = `${REF_ROOT}/usr/sbin/${tool}`;
  try {
    const text = Deno.readTextFileSync(script)
      .replace("LIBDIR='/usr/share/jailkit'", `LIBDIR='${REF_ROOT}/usr/share/jailkit'`)
      .replace("INIPREFIX='/etc/jailkit'", `INIPREFIX='${REF_ROOT}/etc/jailkit'`);
    const copy = join(tmp, `${tool}.ref.py`);
    Deno.writeTextFileSync(copy, text);
    return ["python3", copy];
  } catch {
    return undefined;
  }
}

export function printRatios(title: string, timings: Timing[], baseline: string): void {
  const base = timings.find((t) => t.label === baseline);
  console.log(`\n${title}`);
  for (const t of timings) {
    const ratio = base ? ` ${(t.seconds / base.seconds).toFixed(2)}× ${baseline}` : "";
    console.log(`  ${t.label.padEnd(28)} ${t.seconds.toFixed(3)} s${ratio}`);
  }
}

/** One measured run. */
export interface Run {
  /** Wall seconds. */
  seconds: number;
  /** User plus system CPU seconds: less disturbed than wall time on a busy machine. */
  cpu: number;
  /** Peak resident set size, MB. */
  rssMb: number;
}

const BENCH_ENV = {
  PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
  NO_COLOR: "1",
  RUST_BACKTRACE: "0",
};

/** One run under /usr/bin/time: wall and CPU seconds, peak RSS. Exit codes in `ok` succeed. */
export function timeOnce(argv: string[], ok: number[], extraEnv: Record<string, string>): Run {
  const out = new Deno.Command("/usr/bin/time", {
    args: ["-f", "jkbench %e %U %S %M", ...argv],
    env: { ...BENCH_ENV, ...extraEnv },
    stdout: "null",
    stderr: "piped",
  }).outputSync();
  const err = new TextDecoder().decode(out.stderr);
  const m = err.match(/^jkbench ([0-9.]+) ([0-9.]+) ([0-9.]+) ([0-9]+)$/m);
  if (!m || !ok.includes(out.code)) {
    throw new Error(`${argv.join(" ")}: exit ${out.code}: ${err}`);
  }
  return {
    seconds: Number(m[1]),
    cpu: Number(m[2]) + Number(m[3]),
    rssMb: Number(m[4]) / 1024,
  };
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/**
 * Medians (wall, CPU, peak RSS, each on its own) of `repeat` runs after one warm-up run;
 * `setup` runs before each (outside the timing).
 */
export function measureMedian(
  repeat: number,
  argv: string[],
  opts: { ok?: number[]; env?: Record<string, string>; setup?: () => void } = {},
): Run {
  const one = () => {
    opts.setup?.();
    return timeOnce(argv, opts.ok ?? [0], opts.env ?? {});
  };
  one();
  const runs = Array.from({ length: repeat }, one);
  return {
    seconds: median(runs.map((r) => r.seconds)),
    cpu: median(runs.map((r) => r.cpu)),
    rssMb: median(runs.map((r) => r.rssMb)),
  };
}

/** `a ÷ b` in wall and CPU time, followed by `label`. */
export function ratio(a: Run, b: Run, label: string): string {
  return `${(a.seconds / b.seconds).toFixed(2)}× (CPU ${(a.cpu / b.cpu).toFixed(2)}×) ${label}`;
}

/** A markdown table row: wall, CPU, peak RSS, and a ratio column. */
export function runRow(label: string, r: Run, ratioText = ""): string {
  return `| ${label.padEnd(40)} | ${r.seconds.toFixed(3).padStart(7)} s | ` +
    `${r.cpu.toFixed(3).padStart(7)} s | ${r.rssMb.toFixed(1).padStart(6)} MB | ${ratioText} |`;
}
