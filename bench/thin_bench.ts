/**
 * Login latency of a thin jail (man/jk_thin.ini.5) against a copied jail built from the same
 * jk_init sections and against Debian's jailkit 2.23 (jk_chrootsh and jk_lsh from /opt/jailkit-ref
 * or JAILKIT_REF, in a jail from bench/reference.ts referenceJail), through a real sshd on 127.0.0.1.
 * Run on demand, as root:
 *
 *   deno run -A --unstable-net bench/thin_bench.ts [RUNS]
 *
 * A second thin jail has no PID namespace (private_proc and end_processes_at_logout off), so
 * its logins start once: its row against the first one's is the cost of the second start.
 *
 * Two sessions per jail: a jk_lsh user's sftp session (connect, get 64 KiB, quit) and a bash
 * user's `ssh USER true`. For each, after one warm-up session, the medians of RUNS sessions:
 * wall time as the client sees it; the server side's CPU time (user + system of every process
 * of the session, sshd's included); and the session's peak memory. Both are read from cgroup v1
 * cpuacct and memory groups the sshd is put in, which every process of a session inherits
 * (sshd's monitor does not wait for its post-authentication child, so the listener's reaped-
 * children times miss the session). Peak memory is memory.max_usage_in_bytes, reset before each
 * session, less the usage then: what the session added at its highest (its processes' resident
 * memory and the page cache they newly brought in). The machine is shared: the load average is
 * printed before and after.
 *
 * Everything happens in a private mount namespace (tests/namespace.ts): users, /etc/jailkit and
 * /home are overlays or test directories; the scratch directory is removed at the end.
 */
import { parseIni } from "../lib/config/ini.ts";
import { thinJailFor, withThinSection } from "../lib/config/thin.ts";
import {
  benchSshKeys,
  jailReferenceUser,
  median,
  REF_ROOT,
  referenceJail,
  REPO,
  scratch,
  spawnBenchSshd,
} from "./reference.ts";
import { freePort } from "../tests/sshd.ts";
import { freeIdBase, sh, syslogListener, TestNamespace } from "../tests/namespace.ts";
import { parseToolOptions } from "../tools/options.ts";

const { runs } = parseToolOptions({
  command: "deno run -A --unstable-net bench/thin_bench.ts",
  options: {
    runs: { type: "number", integer: true, positive: true, positional: true, default: 15 },
  },
});
const SECTIONS = "jk_lsh sftp scp rsync basicshell";
const GROUP = "jkbench";
const THIN_INI = "/etc/jailkit/jk_thin.ini";

if (Deno.uid() !== 0) {
  console.error("bench: run as root");
  Deno.exit(1);
}

/** One jail and its two users. */
interface Setup {
  label: string;
  jail: string;
  sftpUser: string;
  bashUser: string;
}

/** The medians of one jail and session kind. */
interface Row {
  label: string;
  kind: string;
  wallMs: number;
  cpuMs: number;
  peakMb: number;
}

/** cpuacct and memory groups (cgroup v1) holding one sshd and so all its sessions. */
class SessionGroups {
  readonly cpu: string;
  readonly mem: string;
  constructor(name: string, pid: number) {
    this.cpu = `/sys/fs/cgroup/cpuacct/${name}`;
    this.mem = `/sys/fs/cgroup/memory/${name}`;
    for (const g of [this.cpu, this.mem]) {
      Deno.mkdirSync(g);
      Deno.writeTextFileSync(`${g}/cgroup.procs`, `${pid}\n`);
    }
  }
  private read(file: string): number {
    return Number(Deno.readTextFileSync(file).trim());
  }
  /** CPU time of every process that ran in the group, ms. */
  cpuMs(): number {
    return this.read(`${this.cpu}/cpuacct.usage`) / 1e6;
  }
  /** Starts a new peak: returns the usage now, bytes. */
  resetPeak(): number {
    Deno.writeTextFileSync(`${this.mem}/memory.max_usage_in_bytes`, "0");
    return this.read(`${this.mem}/memory.usage_in_bytes`);
  }
  peak(): number {
    return this.read(`${this.mem}/memory.max_usage_in_bytes`);
  }
  /** Removes the groups once their processes are gone. */
  async remove(): Promise<void> {
    for (const g of [this.cpu, this.mem]) {
      for (let i = 0; i < 100; i++) {
        try {
          Deno.removeSync(g);
          break;
        } catch {
          await new Promise((r) => setTimeout(r, 50));
        }
      }
    }
  }
}

function loadAverage(): string {
  return Deno.readTextFileSync("/proc/loadavg").split(" ").slice(0, 3).join(" ");
}

const dir = scratch("thin");
const log = syslogListener(`${dir}/log.sock`);
const ns = await TestNamespace.create(dir, { devLog: `${dir}/log.sock` });
/** The sshds started and not yet stopped, by sshd's pid. */
const sshds = new Map<number, { child: Deno.ChildProcess; groups: SessionGroups }>();
try {
  const prefix = `${dir}/usr`;
  Deno.mkdirSync(`${dir}/home`, { mode: 0o755 });
  await ns.must(`mount --bind ${dir}/home /home && mkdir -p /run/sshd`);
  await ns.must(`cd ${REPO} && ${Deno.execPath()} run -A tools/install.ts --prefix ${prefix}`);
  const base = freeIdBase();
  await ns.must(`groupadd -g ${base} ${GROUP}`);
  let nextId = base;
  const addUser = async (name: string) => {
    await ns.must(
      `useradd -u ${nextId++} -m -d /home/${name} -g ${GROUP} -s /bin/bash ${name} && ` +
        `usermod -p '*' ${name}`,
    );
  };
  const lshIni = `[group ${GROUP}]\nexecutables = /usr/lib/openssh/sftp-server\n` +
    `paths = /usr/lib/openssh\numask = 022\n`;

  const setups: Setup[] = [];
  for (
    const [label, jail, flag, tag] of [
      ["thin jail", `${dir}/thin`, "--thin", "t"],
      ["thin jail, one stage", `${dir}/thin1`, "--thin", "o"],
      ["copied jail", `${dir}/copied`, "", "c"],
    ]
  ) {
    await ns.must(`${prefix}/sbin/jk_init ${flag} -j ${jail} ${SECTIONS}`);
    Deno.writeTextFileSync(`${jail}/etc/jailkit/jk_lsh.ini`, lshIni);
    const setup = { label, jail, sftpUser: `jb${tag}sftp`, bashUser: `jb${tag}bash` };
    await addUser(setup.sftpUser);
    await addUser(setup.bashUser);
    await ns.must(`${prefix}/sbin/jk_jailuser -m -n -j ${jail} ${setup.sftpUser}`);
    await ns.must(`${prefix}/sbin/jk_jailuser -m -n -s /bin/bash -j ${jail} ${setup.bashUser}`);
    setups.push(setup);
  }
  // The same thin jail without a PID namespace (private_proc and end_processes_at_logout
  // off): its login starts once, so the difference to "thin jail" is the second start.
  const iniText = (await ns.must(`cat ${THIN_INI}`)).stdout;
  const oneStage = thinJailFor(parseIni(iniText, THIN_INI, "c"), `${dir}/thin1`)!;
  await ns.must(
    `cat > ${THIN_INI}.new && chmod 0644 ${THIN_INI}.new && mv ${THIN_INI}.new ${THIN_INI}`,
    {
      stdin: withThinSection(
        iniText,
        { ...oneStage, privateProc: false, endProcessesAtLogout: false },
        THIN_INI,
      ),
    },
  );
  const sizes = await ns.must(`du -sk ${dir}/thin ${dir}/copied`);

  try {
    const jail = `${dir}/jail223`;
    // Our [jk_lsh] names our launcher, so the sections without it.
    const chrootsh = await referenceJail(
      ns,
      prefix,
      dir,
      jail,
      "uidbasics logbasics sftp scp rsync basicshell",
      lshIni,
    );
    const setup = {
      label: "jailkit 2.23 (Debian)",
      jail,
      sftpUser: "jbrsftp",
      bashUser: "jbrbash",
    };
    for (
      const [user, shell] of [[setup.sftpUser, "/usr/sbin/jk_lsh"], [setup.bashUser, "/bin/bash"]]
    ) {
      await addUser(user);
      await jailReferenceUser(ns, jail, chrootsh, user, shell);
    }
    Deno.writeTextFileSync(`${jail}/etc/group`, `${GROUP}:x:${base}:\n`, { append: true });
    setups.push(setup);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
    console.log(`(Debian jailkit not found at ${REF_ROOT}: thin and copied jails only)`);
  }

  const opts = await benchSshKeys(dir, setups.flatMap((s) => [s.sftpUser, s.bashUser]));
  for (const s of setups) {
    await ns.must(
      `head -c 65536 /dev/urandom > ${s.jail}/home/${s.sftpUser}/file && ` +
        `chown ${s.sftpUser} ${s.jail}/home/${s.sftpUser}/file`,
    );
  }

  /** A fresh sshd in its own cgroups. */
  const startSshd = async (port: number) => {
    const { child, pidFile } = await spawnBenchSshd(ns, dir, port);
    const pid = Number(Deno.readTextFileSync(pidFile).trim());
    const groups = new SessionGroups(`jk-thin-bench-${Deno.pid}-${port}`, pid);
    sshds.set(pid, { child, groups });
    const stop = async () => {
      sshds.delete(pid);
      Deno.kill(pid, "SIGTERM");
      await child.output();
      await groups.remove();
    };
    return { groups, stop };
  };

  const kinds = [
    {
      kind: "sftp get 64 KiB",
      user: (s: Setup) => s.sftpUser,
      run: (s: Setup, port: number) =>
        sh(`sftp ${opts} -P ${port} -b - ${s.sftpUser}@127.0.0.1`, {
          stdin: `get /home/${s.sftpUser}/file /dev/null\n`,
        }),
    },
    {
      kind: "ssh bash true",
      user: (s: Setup) => s.bashUser,
      run: (s: Setup, port: number) => sh(`ssh ${opts} -p ${port} ${s.bashUser}@127.0.0.1 true`),
    },
  ];

  const loadBefore = loadAverage();
  const rows: Row[] = [];
  for (const k of kinds) {
    for (const s of setups) {
      const port = freePort();
      const sshd = await startSshd(port);
      const wall: number[] = [];
      const cpu: number[] = [];
      const mem: number[] = [];
      for (let i = 0; i < runs + 1; i++) {
        const cpu0 = sshd.groups.cpuMs();
        const mem0 = sshd.groups.resetPeak();
        const t0 = performance.now();
        const r = await k.run(s, port);
        const ms = performance.now() - t0;
        if (r.code !== 0) {
          throw new Error(`${s.label}, ${k.kind} as ${k.user(s)}: exit ${r.code}: ${r.stderr}`);
        }
        if (i > 0) {
          wall.push(ms);
          cpu.push(sshd.groups.cpuMs() - cpu0);
          mem.push((sshd.groups.peak() - mem0) / (1024 * 1024));
        }
      }
      await sshd.stop();
      rows.push({
        label: s.label,
        kind: k.kind,
        wallMs: median(wall),
        cpuMs: median(cpu),
        peakMb: median(mem),
      });
    }
  }

  console.log(
    `\nLogin latency, median of ${runs} sessions after one warm-up (load average ${loadBefore} ` +
      `before, ${loadAverage()} after; ${navigator.hardwareConcurrency} CPUs)\n`,
  );
  console.log(
    "| session | jail | wall | server CPU | peak memory | wall vs copied | wall vs 2.23 | CPU vs 2.23 |",
  );
  console.log("|---|---|---:|---:|---:|---:|---:|---:|");
  for (const r of rows) {
    const same = (label: string) =>
      rows.find((o) => o.kind === r.kind && o.label.startsWith(label));
    const copied = same("copied");
    const ref = same("jailkit 2.23");
    const x = (a: number, b: number | undefined) => (b ? `${(a / b).toFixed(2)}×` : "–");
    console.log(
      `| ${r.kind} | ${r.label} | ${r.wallMs.toFixed(1)} ms | ${r.cpuMs.toFixed(0)} ms | ` +
        `${r.peakMb.toFixed(1)} MB | ${x(r.wallMs, copied?.wallMs)} | ` +
        `${x(r.wallMs, ref?.wallMs)} | ${x(r.cpuMs, ref?.cpuMs)} |`,
    );
  }
  console.log(`\nJail size on disk (du -sk, same sections: ${SECTIONS})`);
  for (const line of sizes.stdout.trim().split("\n")) {
    const [kb, path] = line.split("\t");
    console.log(`  ${path.slice(dir.length + 1).padEnd(8)} ${(Number(kb) / 1024).toFixed(1)} MiB`);
  }
} finally {
  for (const [pid, { child, groups }] of sshds) {
    try {
      Deno.kill(pid, "SIGTERM");
    } catch { /* gone */ }
    await child.output();
    await groups.remove();
  }
  await log.close();
  await ns.close();
  Deno.removeSync(dir, { recursive: true });
}
