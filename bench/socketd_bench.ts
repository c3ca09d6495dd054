/**
 * jk_socketd's cost at rest and at work, ours against Debian's jailkit 2.23 (issue 11): the
 * resident memory of every process of a running daemon (steady state, before and after
 * relaying), and the CPU time (user + system, from /proc/PID/stat, summed over the daemon's
 * processes) of relaying 10,000 messages from a jail socket to the host's /dev/log.
 *
 * Each daemon runs with -n in a private mount namespace whose /dev is a scratch directory with
 * a datagram socket this benchmark reads as the host's /dev/log (as tests/jk_socketd_test.ts
 * does), with rates high enough that nothing is held back. The sender waits for every message
 * to arrive before the CPU time is read again.
 *
 * Usage (root):
 *   deno run -A --unstable-net bench/socketd_bench.ts [--repeat N] [--burst N] [--checkout DIR]
 *   --burst N       N clients send at once (default 1: each message waits for the previous
 *                   one), so the jail socket holds a queue as a busy jail's would
 *   --checkout DIR  also measure DIR/cli/jk_socketd.ts (another checkout, e.g. an older build)
 * Prints a table, the ratios ours ÷ jailkit and the load average. No timed assertions anywhere.
 */
import { join } from "node:path";
import { mknod } from "../ffi/libc.ts";
import { buildCheckoutSupervisor } from "../tools/install.ts";
import { median, REPO, scratch } from "./reference.ts";
import { devBoundArgs } from "../tests/namespace.ts";
import { parseToolOptions } from "../tools/options.ts";

const MESSAGES = 10_000;
const RATES = ["--base=1000000", "--peak=10000000", "--interval=60"];
const REF_SOCKETD = `${Deno.env.get("JAILKIT_REF") ?? "/opt/jailkit-ref"}/usr/sbin/jk_socketd`;
const CLK_TCK = 100;
const decoder = new TextDecoder();
const encoder = new TextEncoder();

interface Sample {
  rssKb: number[];
  /** RssAnon: what no file backs, of the same processes. */
  anonKb: number[];
  cpuS: number;
  wallS: number;
  rssAfterKb: number[];
}

function procStat(pid: number): { ppid: number; ticks: number } | undefined {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return { ppid: Number(f[1]), ticks: Number(f[11]) + Number(f[12]) };
  } catch {
    return undefined;
  }
}

/** `root` and every process below it. */
function tree(root: number): number[] {
  const parent = new Map<number, number>();
  for (const e of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    const st = procStat(Number(e.name));
    if (st) parent.set(Number(e.name), st.ppid);
  }
  const found = [root];
  for (let i = 0; i < found.length; i++) {
    for (const [pid, ppid] of parent) if (ppid === found[i]) found.push(pid);
  }
  return found;
}

function statusKb(pid: number, field: "VmRSS" | "RssAnon"): number {
  const line = Deno.readTextFileSync(`/proc/${pid}/status`).split("\n")
    .find((l) => l.startsWith(`${field}:`));
  return Number(line?.match(/\d+/)?.[0] ?? 0);
}

const rssKb = (pid: number) => statusKb(pid, "VmRSS");

function cpuSeconds(pids: number[]): number {
  return pids.reduce((t, p) => t + (procStat(p)?.ticks ?? 0), 0) / CLK_TCK;
}

async function waitFor<T>(what: string, probe: () => T | undefined, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The scratch /dev with the "host syslog" socket, and a jail whose dev/log the daemon makes. */
function setUp(dir: string) {
  const hostDev = join(dir, "hostdev");
  Deno.mkdirSync(hostDev, { mode: 0o755 });
  for (const [name, minor] of [["null", 3], ["zero", 5], ["random", 8], ["urandom", 9]] as const) {
    mknod(join(hostDev, name), "c", 0o666, 1, minor);
    Deno.chmodSync(join(hostDev, name), 0o666);
  }
  Deno.mkdirSync(join(dir, "jail", "dev"), { recursive: true, mode: 0o755 });
  const host = Deno.listenDatagram({ transport: "unixpacket", path: join(hostDev, "log") });
  Deno.chmodSync(join(hostDev, "log"), 0o666);
  let count = 0;
  let seen = false;
  (async () => {
    const buf = new Uint8Array(65536);
    try {
      for (;;) {
        const [data] = await host.receive(buf);
        const text = decoder.decode(data);
        if (text.includes("jkbench ")) count++;
        if (text.includes("jkprobe")) seen = true;
      }
    } catch {
      // closed
    }
  })();
  return {
    hostDev,
    socket: join(dir, "jail", "dev", "log"),
    received: () => count,
    probed: () => seen,
    reset: () => {
      count = 0;
      seen = false;
    },
    close: () => host.close(),
  };
}

/**
 * jailkit 2.23 chroots into its compiled-in /etc/jailkit, which this machine may not have: in
 * the namespace /etc becomes an overlay over the real one, with an empty /etc/jailkit added.
 */
function etcOverlay(dir: string): string {
  for (const d of ["etc-upper", "etc-work"]) Deno.mkdirSync(join(dir, d), { mode: 0o755 });
  return `mount -t overlay overlay -o lowerdir=/etc,upperdir=${dir}/etc-upper,` +
    `workdir=${dir}/etc-work /etc && mkdir -p -m 755 /etc/jailkit && `;
}

async function measure(
  label: string,
  argv: string[],
  dir: string,
  repeat: number,
  needsEtcJailkit: boolean,
  burst: number,
): Promise<Sample[]> {
  const env = setUp(dir);
  const prepare = needsEtcJailkit ? etcOverlay(dir) : "";
  const samples: Sample[] = [];
  try {
    for (let r = 0; r < repeat; r++) {
      try {
        Deno.removeSync(env.socket);
      } catch { /* first run */ }
      env.reset();
      const daemon = new Deno.Command("unshare", {
        args: devBoundArgs(
          env.hostDev,
          [...argv, "-n", `--socket=${env.socket}`, ...RATES],
          prepare,
        ),
        env: { PATH: "/usr/sbin:/usr/bin:/sbin:/bin", NO_COLOR: "1" },
        stdin: "null",
        stdout: "null",
        stderr: "null",
      }).spawn();
      const sender = Deno.listenDatagram({
        transport: "unixpacket",
        path: join(dir, `sender-${r}`),
      });
      try {
        // Ready: a probe sent into the jail socket reaches the host's.
        await waitFor(`${label} to relay`, () => {
          sender.send(encoder.encode("<13>jkprobe"), { transport: "unixpacket", path: env.socket })
            .catch(() => {});
          return env.probed() ? true : undefined;
        });
        await new Promise((res) => setTimeout(res, 2000));
        const pids = tree(daemon.pid);
        const rss = pids.map(rssKb);
        const cpu0 = cpuSeconds(pids);
        const t0 = performance.now();
        // `burst` clients at once, each sending its share one message after the other.
        const clients = Array.from(
          { length: burst },
          (_, c) =>
            c === 0 ? sender : Deno.listenDatagram({
              transport: "unixpacket",
              path: join(dir, `sender-${r}-${c}`),
            }),
        );
        try {
          await Promise.all(clients.map(async (client, c) => {
            for (let i = c; i < MESSAGES; i += burst) {
              const text = `<13>Dec  6 04:00:00 app[123]: jkbench message ${i} from the jail`;
              await client.send(encoder.encode(text), {
                transport: "unixpacket",
                path: env.socket,
              });
            }
          }));
        } finally {
          for (const [c, client] of clients.entries()) {
            if (c === 0) continue;
            client.close();
            Deno.removeSync(join(dir, `sender-${r}-${c}`));
          }
        }
        await waitFor("every message", () => env.received() >= MESSAGES ? true : undefined);
        const wall = (performance.now() - t0) / 1000;
        const cpu = cpuSeconds(pids) - cpu0;
        await new Promise((res) => setTimeout(res, 1000));
        samples.push({
          rssKb: rss,
          anonKb: pids.map((p) => statusKb(p, "RssAnon")),
          cpuS: cpu,
          wallS: wall,
          rssAfterKb: tree(daemon.pid).map(rssKb),
        });
      } finally {
        sender.close();
        try {
          Deno.removeSync(join(dir, `sender-${r}`));
        } catch { /* gone */ }
        for (const p of tree(daemon.pid).reverse()) {
          try {
            Deno.kill(p, "SIGTERM");
          } catch { /* gone */ }
        }
        await daemon.status;
      }
    }
  } finally {
    env.close();
  }
  return samples;
}

function summary(samples: Sample[]) {
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
  return {
    processes: samples[0].rssKb.length,
    rssMb: median(samples.map((s) => sum(s.rssKb))) / 1024,
    perProcess: samples[0].rssKb.map((k) => (k / 1024).toFixed(1)).join(" + "),
    anonMb: median(samples.map((s) => sum(s.anonKb))) / 1024,
    rssAfterMb: median(samples.map((s) => sum(s.rssAfterKb))) / 1024,
    cpuS: median(samples.map((s) => s.cpuS)),
    wallS: median(samples.map((s) => s.wallS)),
  };
}

async function main(): Promise<void> {
  const { repeat, checkout, burst } = parseToolOptions({
    command: "deno run -A --unstable-net bench/socketd_bench.ts",
    options: {
      repeat: { type: "number", integer: true, positive: true, default: 3 },
      burst: { type: "number", integer: true, positive: true, default: 1 },
      checkout: { type: "string", arg: "DIR" },
    },
  });
  if (Deno.uid() !== 0) throw new Error("run as root (namespaces, sockets in a jail)");
  await buildCheckoutSupervisor();
  const deno = Deno.execPath();
  const runs: [string, string[], boolean][] = [
    [
      "ours",
      [deno, "run", "-A", "--no-config", "--quiet", join(REPO, "cli", "jk_socketd.ts")],
      false,
    ],
  ];
  if (checkout) {
    const cli = join(checkout, "cli", "jk_socketd.ts");
    runs.push([
      `checkout ${checkout}`,
      [deno, "run", "-A", "--no-config", "--quiet", cli],
      false,
    ]);
  }
  try {
    Deno.statSync(REF_SOCKETD);
    runs.push(["jailkit 2.23", [REF_SOCKETD], true]);
  } catch {
    console.log(`(no ${REF_SOCKETD}: jailkit 2.23 not measured)`);
  }

  const results = [];
  for (const [label, argv, needsEtcJailkit] of runs) {
    const dir = scratch("socketd");
    try {
      results.push({
        label,
        ...summary(await measure(label, argv, dir, repeat, needsEtcJailkit, burst)),
      });
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  }

  console.log(
    `\njk_socketd: ${MESSAGES} messages relayed (sent ${burst} at a time), ` +
      `medians of ${repeat} daemons`,
  );
  console.log(
    "| daemon | processes | RSS at rest (per process) | of it anonymous | RSS after relaying | " +
      "CPU (user+sys) | wall |",
  );
  console.log("|---|---|---|---|---|---|---|");
  for (const r of results) {
    console.log(
      `| ${r.label} | ${r.processes} | ${r.rssMb.toFixed(1)} MB (${r.perProcess}) | ` +
        `${r.anonMb.toFixed(1)} MB | ${r.rssAfterMb.toFixed(1)} MB | ${r.cpuS.toFixed(3)} s | ` +
        `${r.wallS.toFixed(3)} s |`,
    );
  }
  const ref = results.find((r) => r.label === "jailkit 2.23");
  if (ref) {
    for (const r of results.filter((x) => x !== ref)) {
      console.log(
        `${r.label} ÷ jailkit 2.23: RSS ${(r.rssMb / ref.rssMb).toFixed(1)}×, ` +
          `CPU ${(r.cpuS / ref.cpuS).toFixed(2)}×, wall ${(r.wallS / ref.wallS).toFixed(2)}×`,
      );
    }
  }
  console.log(`load average: ${Deno.loadavg().map((l) => l.toFixed(2)).join(" ")}`);
}

if (import.meta.main) await main();
