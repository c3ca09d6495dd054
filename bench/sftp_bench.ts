/**
 * sftp session benchmark (run on demand, as root): the time of one sftp session (connect, get
 * one file, quit) through our jail (jk_chrootsh -> in-jail jk_lsh -> sftp-server), through
 * plain sshd (same sftp-server, no jail), and through Debian's jailkit 2.23 jk_chrootsh and
 * jk_lsh when /opt/jailkit-ref (or JAILKIT_REF) holds the extracted package. Medians, ratios and
 * the server side's CPU time per session (what the machine's load does not change much).
 *
 * `deno run -A --unstable-net bench/sftp_bench.ts [RUNS]`
 *
 * Everything happens in a private mount namespace (tests/namespace.ts): users, /etc/jailkit and
 * /home are overlays or test directories, sshd listens on 127.0.0.1 only.
 */
import {
  benchSshKeys,
  jailReferenceUser,
  REF_ROOT,
  referenceJail,
  REPO,
  scratch,
  spawnBenchSshd,
} from "./reference.ts";
import { freePort } from "../tests/sshd.ts";
import { sh, syslogListener, TestNamespace } from "../tests/namespace.ts";
import { parseToolOptions } from "../tools/options.ts";

const { runs } = parseToolOptions({
  command: "deno run -A --unstable-net bench/sftp_bench.ts",
  options: {
    runs: { type: "number", integer: true, positive: true, positional: true, default: 15 },
  },
});
const idBase = 40000 + 100 * Math.floor(Math.random() * 200);

/**
 * A cpuacct cgroup (cgroup v1) for sshd: every process of every session inherits it, so its
 * usage is the server side's CPU time (sshd, the login, sftp-server). Undefined without cpuacct.
 */
function cpuGroup(pid: number): string | undefined {
  const group = `/sys/fs/cgroup/cpuacct/jk-sftp-bench-${Deno.pid}`;
  try {
    Deno.mkdirSync(group);
    Deno.writeTextFileSync(`${group}/cgroup.procs`, `${pid}\n`);
    return group;
  } catch {
    return undefined;
  }
}

function cpuMs(group: string | undefined): number {
  return group ? Number(Deno.readTextFileSync(`${group}/cpuacct.usage`).trim()) / 1e6 : NaN;
}

if (Deno.uid() !== 0) {
  console.error("bench: run as root");
  Deno.exit(1);
}

const dir = scratch("sftp");
const log = syslogListener(`${dir}/log.sock`);
const ns = await TestNamespace.create(dir, { devLog: `${dir}/log.sock` });
let sshd: Deno.ChildProcess | undefined;
let group: string | undefined;
try {
  const prefix = `${dir}/usr`;
  const jail = `${dir}/jail`;
  Deno.mkdirSync(`${dir}/home`, { mode: 0o755 });
  await ns.must(`mount --bind ${dir}/home /home && mkdir -p /run/sshd`);
  await ns.must(`cd ${REPO} && ${Deno.execPath()} run -A tools/install.ts --prefix ${prefix}`);
  await ns.must(`${prefix}/sbin/jk_init -k -j ${jail} jk_lsh sftp`);
  Deno.writeTextFileSync(
    `${jail}/etc/jailkit/jk_lsh.ini`,
    "[group jkbench]\nexecutables = /usr/lib/openssh/sftp-server\npaths = /usr/lib/openssh\n",
  );
  // Ids far from the usual range: other root tests on this machine create users of their own in
  // their namespaces, and usermod refuses an account whose uid has a process running.
  const ids = `-K UID_MIN=${idBase} -K UID_MAX=${idBase + 99}`;
  await ns.must(`groupadd -g ${idBase} jkbench`);
  const users: { label: string; name: string; home: string }[] = [];
  await ns.must(
    `useradd ${ids} -m -d /home/jkplain -g jkbench -s /bin/sh jkplain && usermod -p '*' jkplain`,
  );
  users.push({ label: "plain sshd (no jail)", name: "jkplain", home: "/home/jkplain" });
  await ns.must(
    `useradd ${ids} -m -d /home/jkours -g jkbench -s /bin/sh jkours && usermod -p '*' jkours`,
  );
  await ns.must(`${prefix}/sbin/jk_jailuser -m -n -j ${jail} jkours`);
  users.push({ label: "our jailkit", name: "jkours", home: `${jail}/home/jkours` });

  try {
    const jail2 = `${dir}/jail2`;
    const chrootsh = await referenceJail(
      ns,
      prefix,
      dir,
      jail2,
      "-k uidbasics sftp logbasics",
      "[group jkbench]\nexecutables = /usr/lib/openssh/sftp-server\npaths = /usr/lib/openssh\numask = 022\n",
    );
    await ns.must(
      `useradd ${ids} -m -d /home/jkref -g jkbench -s /bin/sh jkref && usermod -p '*' jkref`,
    );
    await jailReferenceUser(ns, jail2, chrootsh, "jkref", "/usr/sbin/jk_lsh");
    Deno.writeTextFileSync(`${jail2}/etc/group`, `jkbench:x:${idBase}:\n`, { append: true });
    users.push({ label: "jailkit 2.23 (Debian)", name: "jkref", home: `${jail2}/home/jkref` });
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
    console.log(`(Debian jailkit not found at ${REF_ROOT}: comparing with plain sshd only)`);
  }

  const keyOpts = await benchSshKeys(dir, users.map((u) => u.name));
  for (const u of users) {
    await ns.must(`head -c 65536 /dev/urandom > ${u.home}/file && chown ${u.name} ${u.home}/file`);
  }
  const port = freePort();
  sshd = (await spawnBenchSshd(ns, dir, port)).child;
  const opts = `${keyOpts} -P ${port}`;
  // Rounds visit every user once, in turn, so a change of the machine's load (it is shared)
  // weighs on all of them alike; the first round warms caches and is not counted.
  group = cpuGroup(sshd.pid);
  const times = users.map(() => [] as number[]);
  const cpu = users.map(() => 0);
  for (let round = 0; round < runs + 1; round++) {
    for (let k = 0; k < users.length; k++) {
      const i = (round + k) % users.length;
      const u = users[i];
      const inJail = u.name === "jkplain" ? u.home : `/home/${u.name}`;
      const cpu0 = cpuMs(group);
      const t0 = performance.now();
      const r = await sh(`sftp ${opts} -b - ${u.name}@127.0.0.1`, {
        stdin: `get ${inJail}/file /dev/null\n`,
      });
      const ms = performance.now() - t0;
      if (r.code !== 0) throw new Error(`${u.label}: sftp failed: ${r.stderr}`);
      if (round > 0) {
        times[i].push(ms);
        cpu[i] += cpuMs(group) - cpu0;
      }
    }
  }
  const results = users.map((u, i) => ({
    label: u.label,
    ms: times[i].sort((a, b) => a - b)[Math.floor(times[i].length / 2)],
    cpuMs: cpu[i] / runs,
  }));
  console.log(
    `\nsftp session (connect, get 64 KiB, quit), median of ${runs}; CPU: server side ` +
      `(sshd, login, sftp-server), mean; load average ${Deno.loadavg().join(" ")}`,
  );
  const plain = results[0].ms;
  const ref = results.find((r) => r.label.startsWith("jailkit 2.23"));
  for (const r of results) {
    const vsRef = ref ? `  ${(r.ms / ref.ms).toFixed(2)}× jailkit 2.23` : "";
    console.log(
      `  ${r.label.padEnd(24)} ${r.ms.toFixed(1).padStart(7)} ms  CPU ${
        r.cpuMs.toFixed(0).padStart(4)
      } ms  ${(r.ms / plain).toFixed(2)}× plain${vsRef}`,
    );
  }
} finally {
  if (sshd) {
    try {
      sshd.kill();
    } catch { /* gone */ }
    await sshd.output();
  }
  if (group) Deno.removeSync(group);
  await log.close();
  await ns.close();
  Deno.removeSync(dir, { recursive: true });
}
