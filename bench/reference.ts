/**
 * Shared pieces of the on-demand benchmarks: timing a command, a root-owned scratch area,
 * Debian's jailkit 2.23 as the baseline when it is available, and an sshd for login benchmarks.
 *
 * The reference jailkit may be installed (`/usr/sbin/jk_cp`) or extracted in a throwaway way
 * (`apt-get download jailkit; dpkg -x jailkit_*.deb /opt/jailkit-ref`); for the extracted
 * copy we run its Python scripts with their library directory pointed at the extraction.
 */
import { join } from "node:path";
import { must, type TestNamespace } from "../tests/namespace.ts";
import { waitForPort } from "../tests/sshd.ts";

export const REPO = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
/** Where Debian's jailkit 2.23 package is extracted. */
export const REF_ROOT = Deno.env.get("JAILKIT_REF") ?? "/opt/jailkit-ref";

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

/** One command of a `measureInterleaved` set. */
export interface Contender {
  argv: string[];
  ok?: number[];
  env?: Record<string, string>;
  setup?: () => void;
}

/**
 * `measureMedian` for several commands compared with each other: one warm-up run each, then
 * `repeat` rounds in which each runs once in turn, so a slow spell of the shared machine (or of
 * the disk's writeback) falls on all of them rather than on whichever ran then.
 */
export function measureInterleaved(repeat: number, contenders: Contender[]): Run[] {
  const one = (c: Contender) => {
    c.setup?.();
    return timeOnce(c.argv, c.ok ?? [0], c.env ?? {});
  };
  contenders.forEach(one);
  const runs: Run[][] = contenders.map(() => []);
  for (let i = 0; i < repeat; i++) contenders.forEach((c, k) => runs[k].push(one(c)));
  return runs.map((r) => ({
    seconds: median(r.map((x) => x.seconds)),
    cpu: median(r.map((x) => x.cpu)),
    rssMb: median(r.map((x) => x.rssMb)),
  }));
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

/**
 * A host key and a client key (ed25519) in DIR/ssh, the client key authorized for `users`.
 * Returns the ssh and sftp options that log in with it.
 */
export async function benchSshKeys(dir: string, users: readonly string[]): Promise<string> {
  Deno.mkdirSync(`${dir}/ssh/keys`, { recursive: true, mode: 0o755 });
  await must(
    `ssh-keygen -q -t ed25519 -N '' -f ${dir}/ssh/host && ` +
      `ssh-keygen -q -t ed25519 -N '' -f ${dir}/ssh/id`,
  );
  const pub = Deno.readTextFileSync(`${dir}/ssh/id.pub`);
  for (const u of users) Deno.writeTextFileSync(`${dir}/ssh/keys/${u}`, pub);
  return `-i ${dir}/ssh/id -o IdentitiesOnly=yes -o BatchMode=yes ` +
    `-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR`;
}

/**
 * sshd in `ns` on 127.0.0.1:`port` with benchSshKeys' keys, key-only, and the external
 * sftp-server (the one jk_lsh allows); listening when this returns.
 */
export async function spawnBenchSshd(
  ns: TestNamespace,
  dir: string,
  port: number,
): Promise<{ child: Deno.ChildProcess; pidFile: string }> {
  const config = `${dir}/ssh/sshd_config-${port}`;
  const pidFile = `${dir}/ssh/pid-${port}`;
  Deno.writeTextFileSync(
    config,
    [
      `Port ${port}`,
      "ListenAddress 127.0.0.1",
      `HostKey ${dir}/ssh/host`,
      `PidFile ${pidFile}`,
      `AuthorizedKeysFile ${dir}/ssh/keys/%u`,
      "PasswordAuthentication no",
      "KbdInteractiveAuthentication no",
      "UsePAM no",
      "Subsystem sftp /usr/lib/openssh/sftp-server",
      "",
    ].join("\n"),
  );
  const child = ns.spawn(["/usr/sbin/sshd", "-D", "-e", "-f", config]);
  await waitForPort(port, child);
  return { child, pidFile };
}

/**
 * A jail for jailkit 2.23's logins and its set-uid jk_chrootsh, DIR/ref/jk_chrootsh: our jk_init
 * builds `jail` (`init`: its options and sections, none naming our jk_lsh), and 2.23's jk_lsh
 * goes to /usr/sbin as its package installs it, with `lshIni` as the jail's jk_lsh.ini.
 * Returns jk_chrootsh's path; throws NotFound when REF_ROOT holds no jailkit.
 */
export async function referenceJail(
  ns: TestNamespace,
  prefix: string,
  dir: string,
  jail: string,
  init: string,
  lshIni: string,
): Promise<string> {
  Deno.statSync(`${REF_ROOT}/usr/sbin/jk_chrootsh`);
  const ref = `${dir}/ref`;
  Deno.mkdirSync(ref, { mode: 0o755 });
  await must(`cp ${REF_ROOT}/usr/sbin/jk_chrootsh ${ref}/ && chmod 4755 ${ref}/jk_chrootsh`);
  await ns.must(`${prefix}/sbin/jk_init -j ${jail} ${init}`);
  await ns.must(`${prefix}/sbin/jk_cp -j ${jail} ${REF_ROOT}/usr/sbin/jk_lsh`);
  await must(
    `mkdir -p ${jail}/usr/sbin ${jail}/etc/jailkit && ` +
      `mv ${jail}${REF_ROOT}/usr/sbin/jk_lsh ${jail}/usr/sbin/`,
  );
  Deno.writeTextFileSync(`${jail}/etc/jailkit/jk_lsh.ini`, lshIni);
  return `${ref}/jk_chrootsh`;
}

/**
 * Jails `user` of `ns` (home made by `useradd -m` in /home) in a referenceJail: the home moves
 * into the jail, `chrootsh` becomes the login shell, and the jail's /etc/passwd gets the user
 * with `shell`.
 */
export async function jailReferenceUser(
  ns: TestNamespace,
  jail: string,
  chrootsh: string,
  user: string,
  shell: string,
): Promise<void> {
  const uid = (await ns.must(`id -u ${user}`)).stdout.trim();
  const gid = (await ns.must(`id -g ${user}`)).stdout.trim();
  await ns.must(`mkdir -p ${jail}/home && mv /home/${user} ${jail}/home/${user}`);
  await ns.must(`usermod -d ${jail}/./home/${user} -s ${chrootsh} ${user}`);
  Deno.writeTextFileSync(
    `${jail}/etc/passwd`,
    `${user}:x:${uid}:${gid}::/home/${user}:${shell}\n`,
    { append: true },
  );
}
