/**
 * jk_socketd end to end, as root. The daemon runs in a private mount namespace (`unshare -m`)
 * where a test directory is bind-mounted over /dev: its `log` is a datagram socket this test
 * listens on, so the daemon talks to a real "host /dev/log" without touching the machine's, and
 * "restarting the host's syslog" is closing that socket and binding a new one. Nothing in the
 * tool knows about tests.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { mknod } from "../ffi/libc.ts";
import { buildCheckoutSupervisor } from "../tools/install.ts";
import {
  DENO,
  isRoot,
  REPO_ROOT,
  rootTest,
  runTool,
  safeTestRoot,
  SYSTEM_PATH,
} from "./helpers.ts";
import { devBoundArgs } from "./namespace.ts";

const CLI = join(REPO_ROOT, "cli", "jk_socketd.ts");
// jk_socketd run from this checkout execs out/jk_socketd_supervisor (lib/socketd/supervisor.ts).
const SUPERVISOR = isRoot ? await buildCheckoutSupervisor() : "";
const EMPTY_ROOT = "/var/lib/jailkit/empty";
const decoder = new TextDecoder();
const encoder = new TextEncoder();

function nobodyIds(): { uid: number; gid: number } {
  for (const line of Deno.readTextFileSync("/etc/passwd").split("\n")) {
    const f = line.split(":");
    if (f[0] === "nobody") return { uid: Number(f[2]), gid: Number(f[3]) };
  }
  throw new Error("no user nobody in /etc/passwd");
}

async function waitFor<T>(
  what: string,
  probe: () => T | undefined | false,
  timeoutMs = 10_000,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const got = probe();
    if (got !== undefined && got !== false) return got;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** What arrives on a datagram socket, kept in order. */
class Listener {
  readonly messages: string[] = [];
  readonly #conn: Deno.DatagramConn;
  readonly #done: Promise<void>;

  constructor(readonly path: string) {
    try {
      Deno.removeSync(path);
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
    const conn = Deno.listenDatagram({ transport: "unixpacket", path });
    this.#conn = conn;
    Deno.chmodSync(path, 0o666);
    this.#done = (async () => {
      const buf = new Uint8Array(65536);
      try {
        for (;;) {
          const [data] = await conn.receive(buf);
          this.messages.push(decoder.decode(data));
        }
      } catch {
        // closed
      }
    })();
  }

  waitFor(what: string, test: (m: string) => boolean, timeoutMs?: number): Promise<string> {
    return waitFor(what, () => this.messages.find(test), timeoutMs);
  }

  async close(): Promise<void> {
    this.#conn.close();
    await this.#done;
    Deno.removeSync(this.path);
  }
}

/** Lines a process prints, collected as they come. */
class Lines {
  readonly lines: string[] = [];
  readonly done: Promise<void>;

  constructor(stream: ReadableStream<Uint8Array>) {
    this.done = (async () => {
      let pending = "";
      for await (const chunk of stream) {
        pending += decoder.decode(chunk, { stream: true });
        const parts = pending.split("\n");
        pending = parts.pop() ?? "";
        this.lines.push(...parts);
      }
      if (pending !== "") this.lines.push(pending);
    })();
  }

  waitFor(what: string, test: (line: string) => boolean): Promise<string> {
    return waitFor(what, () => this.lines.find(test));
  }

  get text(): string {
    return this.lines.join("\n");
  }
}

function processGone(pid: number): boolean {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return stat.slice(stat.lastIndexOf(")") + 2).startsWith("Z");
  } catch {
    return true;
  }
}

function childrenOf(pid: number): number[] {
  const found: number[] = [];
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      const stat = Deno.readTextFileSync(`/proc/${entry.name}/stat`);
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (ppid === pid) found.push(Number(entry.name));
    } catch {
      // exited meanwhile
    }
  }
  return found;
}

function statusField(pid: number, field: string): string {
  const line = Deno.readTextFileSync(`/proc/${pid}/status`).split("\n")
    .find((l) => l.startsWith(`${field}:`));
  return (line ?? "").slice(field.length + 1).trim().replace(/\s+/g, " ");
}

/** Whether `pid` has set PR_SET_NO_NEW_PRIVS, the last step of its privilege drop. */
function droppedAll(pid: number): boolean {
  try {
    return statusField(pid, "NoNewPrivs") === "1";
  } catch {
    return false;
  }
}

/**
 * The one worker under the supervisor `pid` once it has dropped its privileges (it is ready)
 * and any other (a retiring one) has ended.
 */
function soleWorker(pid: number, not?: number): Promise<number> {
  return waitFor("a single new worker", () => {
    const children = childrenOf(pid).filter((p) => !processGone(p));
    const [only] = children;
    return children.length === 1 && only !== not && droppedAll(only) ? only : undefined;
  });
}

/** Kills what is left of a daemon: the supervisor (pid) and every forwarder under it. */
async function killAll(pid: number | undefined): Promise<void> {
  if (pid === undefined) return;
  const forwarders = childrenOf(pid);
  for (const p of [pid, ...forwarders]) {
    try {
      Deno.kill(p, "SIGTERM");
    } catch {
      // already gone
    }
  }
  const end = Date.now() + 5000;
  while (Date.now() < end && ![pid, ...forwarders].every(processGone)) {
    await new Promise((r) => setTimeout(r, 50));
  }
  for (const p of [pid, ...forwarders]) {
    try {
      if (!processGone(p)) Deno.kill(p, "SIGKILL");
    } catch {
      // already gone
    }
  }
}

/** A test root with a fake host /dev (a few device nodes and the "host syslog" listener). */
function setUp(label: string) {
  const root = safeTestRoot(label);
  const hostDev = join(root.dir, "hostdev");
  Deno.mkdirSync(hostDev, { mode: 0o755 });
  for (const [name, minor] of [["null", 3], ["zero", 5], ["random", 8], ["urandom", 9]] as const) {
    mknod(join(hostDev, name), "c", 0o666, 1, minor);
    Deno.chmodSync(join(hostDev, name), 0o666);
  }
  Deno.mkdirSync(join(root.dir, "etc"), { mode: 0o755 });
  Deno.mkdirSync(join(root.dir, "run"), { mode: 0o755 });
  return { root: root.dir, hostDev, cleanup: root.cleanup };
}

function jailDev(root: string, jail: string, mode = 0o755): string {
  const dev = join(root, jail, "dev");
  Deno.mkdirSync(dev, { recursive: true, mode: 0o755 });
  Deno.chmodSync(dev, mode);
  return join(dev, "log");
}

/** Starts `jk_socketd ARGS` (from sources, without --unstable-net) with hostDev as its /dev. */
function startDaemon(hostDev: string, args: string[], env: Record<string, string> = {}) {
  return new Deno.Command("unshare", {
    args: devBoundArgs(hostDev, [DENO, "run", "-A", "--no-config", "--quiet", CLI, ...args]),
    env: { RUST_BACKTRACE: "0", NO_COLOR: "1", PATH: SYSTEM_PATH, ...env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

/** A client socket to send raw datagrams from, like a jailed program's syslog(). */
function client(root: string): Deno.DatagramConn {
  return Deno.listenDatagram({ transport: "unixpacket", path: join(root, `client-${Date.now()}`) });
}

function sendTo(conn: Deno.DatagramConn, path: string, text: string): Promise<number> {
  return conn.send(encoder.encode(text), { transport: "unixpacket", path });
}

function checkDropped(pid: number): void {
  const { uid, gid } = nobodyIds();
  assert.equal(statusField(pid, "Uid"), `${uid} ${uid} ${uid} ${uid}`);
  assert.equal(statusField(pid, "Gid"), `${gid} ${gid} ${gid} ${gid}`);
  assert.equal(statusField(pid, "Groups"), "");
  assert.equal(statusField(pid, "NoNewPrivs"), "1");
  assert.equal(Deno.readLinkSync(`/proc/${pid}/root`), EMPTY_ROOT);
  assert.equal(Deno.readLinkSync(`/proc/${pid}/cwd`), EMPTY_ROOT);
}

Deno.test("jk_socketd -h and bad options", async () => {
  const help = await runTool("jk_socketd", ["-h"]);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /^Usage: jk_socketd /);
  assert.match(help.stdout, /--peak=INT/);
  const bad = await runTool("jk_socketd", ["--nonsense"]);
  assert.equal(bad.code, 1);
  assert.match(bad.stdout, /^Usage: jk_socketd /);
  const positional = await runTool("jk_socketd", ["-n", "/srv/jail/dev/log"]);
  assert.equal(positional.code, 1);
  assert.match(positional.stderr, /unexpected argument: \/srv\/jail\/dev\/log/);
});

rootTest(
  "jk_socketd -n: forwarding, limits, refusals, privilege drop, SIGHUP, reconnect",
  async () => {
    const { root, hostDev, cleanup } = setUp("socketd-fg");
    let host = new Listener(join(hostDev, "log"));
    const sender = client(root);
    const pidFile = join(root, "run", "jk_socketd.pid");
    const a = jailDev(root, "jailA"); // tight limits: peaks quickly, then pauses a minute
    const b = jailDev(root, "jailB"); // defaults
    const big = jailDev(root, "jailBig"); // limits high enough for long messages
    const planted = jailDev(root, "jailPlanted");
    Deno.writeTextFileSync(planted, "not a socket\n");
    const open = jailDev(root, "jailOpen", 0o777);
    Deno.mkdirSync(join(root, "jailLink"));
    Deno.symlinkSync(join(root, "jailB", "dev"), join(root, "jailLink", "dev"));
    const linked = join(root, "jailLink", "dev", "log");
    const ini = join(root, "etc", "jk_socketd.ini");
    Deno.writeTextFileSync(
      ini,
      `[${a}]\nbase=10\npeak=100\ninterval=60\n\n[${b}]\n\n[${big}]\nbase = 1000000\n` +
        `peak = 10000000\ninterval = 1\n[${planted}]\n[${open}]\n[${linked}]\n` +
        `[${b}]\nbase=999\n[/relative/../dev/log]\npeak=50\n`,
    );

    const daemon = startDaemon(hostDev, ["-n", "-p", pidFile], { JAILKIT_ETC: join(root, "etc") });
    const out = new Lines(daemon.stdout);
    const err = new Lines(daemon.stderr);
    let supervisor: number | undefined = daemon.pid;
    try {
      await out.waitFor("the last socket", (l) => l.includes(`listening on socket ${big}`));
      // The refusals of the sockets configured after it follow on the same stream.
      for (const path of ["/relative/../dev/log", linked, planted, open]) {
        await out.waitFor(
          `the refusal of ${path}`,
          (l) => l.startsWith(`refusing to create socket ${path}: `),
        );
      }
      assert.ok(out.lines.includes("opened /dev/log"), out.text);
      for (const [path, rates] of [[a, "[10:100]/60.000000"], [b, "[511:2048]/5.000000"]]) {
        assert.ok(
          out.lines.includes(
            `version 2.23-deno, listening on socket ${path} with rates ${rates}`,
          ),
          out.text,
        );
      }
      assert.match(out.text, new RegExp(`:15: duplicate section \\[${b}\\] \\(first at line 6\\)`));
      assert.match(out.text, /:18: \[\/relative\/\.\.\/dev\/log\]: peak "50" is outside/);
      assert.match(out.text, /refusing to create socket \/relative\/\.\.\/dev\/log: /);
      assert.ok(
        out.lines.includes(
          `refusing to create socket ${planted}: a regular file is in the way ` +
            "(only an old socket is ever removed)",
        ),
        out.text,
      );
      assert.match(
        out.text,
        new RegExp(
          `refusing to create socket ${open}: directory .*jailOpen/dev is writable by group or others`,
        ),
      );
      assert.match(
        out.text,
        new RegExp(`refusing to create socket ${linked}: .*jailLink/dev is a symlink`),
      );
      assert.equal(Deno.readTextFileSync(planted), "not a socket\n");
      for (const path of [a, b, big]) {
        const info = Deno.lstatSync(path);
        assert.ok(info.isSocket, path);
        assert.equal((info.mode ?? 0) & 0o7777, 0o666, path);
        assert.equal(info.uid, 0);
      }
      // The same messages reach the host's syslog from the forwarder (ident, pid, daemon.notice).
      await host.waitFor(
        "the listening notice",
        (m) =>
          /^<29>.* jk_socketd\[\d+\]: version 2\.23-deno, listening on socket /.test(m) &&
          m.includes(a),
      );
      await host.waitFor(
        "the refusal, at LOG_CRIT",
        (m) => m.startsWith("<26>") && m.includes(`refusing to create socket ${planted}`),
      );

      assert.equal(Deno.readTextFileSync(pidFile), `${daemon.pid}\n`);
      // One runtime: the supervisor is the native program, the worker the only Deno process.
      assert.equal(Deno.readLinkSync(`/proc/${daemon.pid}/exe`), SUPERVISOR);
      const forwarder = await soleWorker(daemon.pid);
      assert.equal(Deno.readLinkSync(`/proc/${forwarder}/exe`), Deno.realPathSync(DENO));
      checkDropped(forwarder);

      // Forwarding, with util-linux's logger as a jailed program.
      const logger = await new Deno.Command("logger", {
        args: ["-u", b, "-t", "jailtest", "hello from jail B"],
      }).output();
      assert.ok(logger.success, decoder.decode(logger.stderr));
      await host.waitFor("logger's message", (m) => m.endsWith("jailtest: hello from jail B"));

      // Long messages: whole up to 8192 bytes (jailkit cut them at 512), then cut at 8192.
      await sendTo(sender, big, "L".repeat(5000));
      await host.waitFor("5000 bytes", (m) => m === "L".repeat(5000));
      await sendTo(sender, big, "M".repeat(10000));
      await host.waitFor("8192 bytes", (m) => m === "M".repeat(8192));

      // jail A: 60 bytes pass, 120 > peak 100 passes with a warning, then A pauses for the rest
      // of its minute; jail B keeps flowing meanwhile.
      await sendTo(sender, a, "a1".padEnd(60, "."));
      await sendTo(sender, a, "a2".padEnd(60, "."));
      await host.waitFor("a2", (m) => m.startsWith("a2"));
      await host.waitFor(
        "the peak warning",
        (m) => m.startsWith("<28>") && m.endsWith(`device ${a} is over the peak limit (1 bytes/s)`),
      );
      await out.waitFor(
        "the peak warning on stdout",
        (l) => l === `device ${a} is over the peak limit (1 bytes/s)`,
      );
      await sendTo(sender, a, "a3 held back");
      await sendTo(sender, b, "b while a pauses");
      await host.waitFor("B's message", (m) => m === "b while a pauses", 2000);
      await new Promise((r) => setTimeout(r, 500));
      assert.ok(!host.messages.includes("a3 held back"), "jail A was not paused");

      // SIGHUP: the configuration is read again and a new socket appears. The old worker stays
      // until the new one is ready and then relays what is queued in its sockets: every
      // message sent while the sockets change hands arrives (a send may be refused in the
      // instant a socket is replaced, as a jailed syslog() would see).
      const c = jailDev(root, "jailC");
      Deno.writeTextFileSync(ini, `[${c}]\ninterval=2\n`, { append: true });
      const accepted: string[] = [];
      let sending = true;
      const flow = (async () => {
        for (let i = 0; sending; i++) {
          const text = `during reload ${i}`;
          // As fast as the socket takes them, so the old worker has a queue when it is ended.
          if (await sendTo(sender, big, text).then(() => true, () => false)) accepted.push(text);
        }
      })();
      await new Promise((r) => setTimeout(r, 100));
      Deno.kill(daemon.pid, "SIGHUP");
      await out.waitFor("jail C", (l) => l.includes(`listening on socket ${c} with rates`));
      const second = await soleWorker(daemon.pid, forwarder);
      sending = false;
      await flow;
      assert.ok(accepted.length > 100, `only ${accepted.length} messages sent`);
      await waitFor("every message sent during the reload", () => {
        const arrived = new Set(host.messages);
        return accepted.every((m) => arrived.has(m));
      });
      // What jail A's pause held back was in the old worker's queue: relayed, not dropped.
      await host.waitFor("a3, relayed by the old worker", (m) => m === "a3 held back");
      await sendTo(sender, c, "hello from jail C");
      await host.waitFor("C's message", (m) => m === "hello from jail C");
      checkDropped(second);

      // A configuration that cannot be read is not applied: the running worker keeps going.
      const good = Deno.readTextFileSync(ini);
      Deno.writeTextFileSync(ini, "[unterminated\n", { append: true });
      Deno.kill(daemon.pid, "SIGHUP");
      await out.waitFor(
        "the refusal to reload",
        (l) => l.startsWith("SIGHUP: configuration not reloaded, keeping the sockets: "),
      );
      Deno.writeTextFileSync(ini, good);
      assert.equal(await soleWorker(daemon.pid), second);
      await sendTo(sender, c, "C still served");
      await host.waitFor("C's second message", (m) => m === "C still served");

      // A worker that dies is replaced at once by a new one that binds the sockets again.
      Deno.kill(second, "SIGKILL");
      await out.waitFor(
        "the restart notice",
        (l) => l === "forwarder ended with status 137; starting a new one in 0 s",
      );
      const revived = await soleWorker(daemon.pid, second);
      checkDropped(revived);
      await out.waitFor("the socket again", (l) => l.includes(`listening on socket ${c}`));
      await sendTo(sender, c, "after the crash");
      await host.waitFor("the message after the crash", (m) => m === "after the crash");

      // The host's syslog restarts: its socket is replaced. jailkit stayed cut off until
      // restarted; the message that reveals the loss is dropped, later ones arrive.
      await host.close();
      host = new Listener(join(hostDev, "log"));
      const end = Date.now() + 15_000;
      while (!host.messages.includes("after the syslog restart")) {
        assert.ok(Date.now() < end, "nothing arrived through the new host socket");
        // Refused while the forwarder is being replaced, as a jailed syslog() would be.
        await sendTo(sender, b, "after the syslog restart").catch(() => 0);
        await new Promise((r) => setTimeout(r, 250));
      }
      await out.waitFor(
        "the reconnect notice",
        (l) =>
          l.includes("the host's /dev/log went away (ECONNREFUSED); restarting to connect again"),
      );
      const third = await soleWorker(daemon.pid, revived);
      checkDropped(third);

      // SIGTERM: a clean stop that removes the pid file and the forwarder.
      Deno.kill(daemon.pid, "SIGTERM");
      const status = await daemon.status;
      supervisor = undefined;
      await out.done;
      await err.done;
      assert.equal(status.code, 0, err.text);
      assert.equal(err.text, "");
      assert.ok(out.lines.includes("SIGTERM: stopping"), out.text);
      assert.throws(() => Deno.lstatSync(pidFile), Deno.errors.NotFound);
      await waitFor("the forwarder to end", () => processGone(third));
    } finally {
      await killAll(supervisor);
      sender.close();
      await host.close().catch(() => {});
      if (supervisor !== undefined) await daemon.status;
      cleanup();
    }
  },
);

rootTest("jk_socketd detaches: the pid file names the daemon, which stops on SIGTERM", async () => {
  const { root, hostDev, cleanup } = setUp("socketd-bg");
  const host = new Listener(join(hostDev, "log"));
  const sender = client(root);
  const pidFile = join(root, "run", "jk_socketd.pid");
  const sock = jailDev(root, "jail");
  let daemonPid: number | undefined;
  try {
    const started = startDaemon(hostDev, ["-p", pidFile, `--socket=${sock}`]);
    const [status, out, err] = await Promise.all([
      started.status,
      new Response(started.stdout).text(),
      new Response(started.stderr).text(),
    ]);
    assert.equal(status.code, 0, err);
    assert.equal(out, "", "without -n nothing is printed");
    const text = Deno.readTextFileSync(pidFile);
    assert.match(text, /^\d+\n$/);
    daemonPid = Number(text);
    assert.notEqual(daemonPid, started.pid);
    assert.ok(!processGone(daemonPid), "the daemon is not running");
    // Its own session, as after fork() and setsid().
    const stat = Deno.readTextFileSync(`/proc/${daemonPid}/stat`);
    assert.equal(Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[3]), daemonPid);
    assert.equal(Deno.readLinkSync(`/proc/${daemonPid}/exe`), SUPERVISOR);
    const forwarder = await soleWorker(daemonPid);
    checkDropped(forwarder);
    await host.waitFor(
      "the listening notice",
      (m) => m.endsWith(`listening on socket ${sock} with rates [511:2048]/10.000000`),
    );
    await sendTo(sender, sock, "<13>detached forwarding");
    await host.waitFor("the message", (m) => m === "<13>detached forwarding");

    Deno.kill(daemonPid, "SIGTERM");
    await waitFor("the daemon to stop", () => processGone(daemonPid!) && processGone(forwarder));
    assert.throws(() => Deno.lstatSync(pidFile), Deno.errors.NotFound);
    await host.waitFor("the stop notice", (m) => m.endsWith("SIGTERM: stopping"));
    daemonPid = undefined;
  } finally {
    await killAll(daemonPid);
    sender.close();
    await host.close();
    cleanup();
  }
});

rootTest("jk_socketd: no socket is an error (exit 1), shown also when detaching", async () => {
  const { root, hostDev, cleanup } = setUp("socketd-none");
  const host = new Listener(join(hostDev, "log"));
  const pidFile = join(root, "run", "jk_socketd.pid");
  const missing = join(root, "nojail", "dev", "log");
  try {
    for (const args of [["-n"], []]) {
      const p = startDaemon(hostDev, [...args, "-p", pidFile, `--socket=${missing}`]);
      const [status, out] = await Promise.all([p.status, new Response(p.stdout).text()]);
      await p.stderr.cancel();
      assert.equal(status.code, 1, `${args}: ${out}`);
      assert.match(out, /no socket could be created, nothing to do; exiting/);
      if (args.length > 0) {
        assert.match(
          out,
          new RegExp(`refusing to create socket ${missing}: directory .* does not exist`),
        );
      }
      assert.throws(() => Deno.lstatSync(pidFile), Deno.errors.NotFound, "pid file left behind");
    }
    // jk_socketd.ini without a section that gives a socket: the same error.
    Deno.writeTextFileSync(join(root, "etc", "jk_socketd.ini"), `[${missing}]\nbase=512\n`);
    const p = startDaemon(hostDev, ["-n"], { JAILKIT_ETC: join(root, "etc") });
    const [status, out] = await Promise.all([p.status, new Response(p.stdout).text()]);
    await p.stderr.cancel();
    assert.equal(status.code, 1, out);
    assert.match(out, /no socket could be created, nothing to do; exiting/);
    await host.waitFor(
      "the error at LOG_ERR",
      (m) =>
        m.startsWith("<27>") && m.endsWith("no socket could be created, nothing to do; exiting"),
    );
  } finally {
    await host.close();
    cleanup();
  }
});

rootTest("jk_socketd: jailkit's rate validation on the command line", async () => {
  const { root, hostDev, cleanup } = setUp("socketd-rates");
  const host = new Listener(join(hostDev, "log"));
  const sock = jailDev(root, "jail");
  const p = startDaemon(hostDev, [
    "-n",
    `--socket=${sock}`,
    "--base=5",
    "--peek=50",
    "--interval=100",
  ]);
  const out = new Lines(p.stdout);
  try {
    await out.waitFor(
      "the socket",
      (l) => l === `version 2.23-deno, listening on socket ${sock} with rates [511:2048]/5.000000`,
    );
    assert.ok(out.lines.includes(`--base: base "5" is outside 10..1000000; using 511`), out.text);
    assert.ok(out.lines.includes(`--peak: peak "50" is outside 100..10000000; using 2048`));
    assert.ok(
      out.lines.includes(`--interval: interval "100" is outside 0.01..60 seconds; using 5`),
    );
  } finally {
    Deno.kill(p.pid, "SIGTERM");
    assert.equal((await p.status).code, 0);
    await p.stderr.cancel();
    await out.done;
    await host.close();
    cleanup();
  }
});

rootTest("jk_socketd: a pid file that is a symlink or a hard link is not written", async () => {
  const { root, hostDev, cleanup } = setUp("socketd-pid");
  const host = new Listener(join(hostDev, "log"));
  const victim = join(root, "victim");
  Deno.writeTextFileSync(victim, "precious\n");
  const link = join(root, "run", "link.pid");
  Deno.symlinkSync(victim, link);
  const hard = join(root, "run", "hard.pid");
  Deno.linkSync(victim, hard);
  const sock = jailDev(root, "jail");
  try {
    for (const [pidFile, reason] of [[link, /cannot open/], [hard, /has 2 hard links/]] as const) {
      const p = startDaemon(hostDev, ["-n", "-p", pidFile, `--socket=${sock}`]);
      const [status, out] = await Promise.all([p.status, new Response(p.stdout).text()]);
      await p.stderr.cancel();
      assert.equal(status.code, 1, out);
      assert.match(out, reason);
      assert.equal(Deno.readTextFileSync(victim), "precious\n");
    }
    assert.throws(() => Deno.lstatSync(sock), Deno.errors.NotFound, "a socket was created");
  } finally {
    await host.close();
    cleanup();
  }
});

rootTest("jk_socketd: a stream /dev/log gets NUL-terminated messages", async () => {
  const { root, hostDev, cleanup } = setUp("socketd-stream");
  const hostPath = join(hostDev, "log");
  const listener = Deno.listen({ transport: "unix", path: hostPath });
  Deno.chmodSync(hostPath, 0o666);
  // Every connection's bytes: glibc's syslog() of the daemon itself connects too.
  const streams: string[] = [];
  const accepting = (async () => {
    for await (const conn of listener) {
      const index = streams.push("") - 1;
      (async () => {
        for await (const chunk of conn.readable) streams[index] += decoder.decode(chunk);
      })().catch(() => {});
    }
  })().catch(() => {});
  const sender = client(root);
  const sock = jailDev(root, "jail");
  const p = startDaemon(hostDev, ["-n", `--socket=${sock}`]);
  const out = new Lines(p.stdout);
  try {
    await out.waitFor("the socket", (l) => l.includes(`listening on socket ${sock}`));
    await sendTo(sender, sock, "<13>one");
    await sendTo(sender, sock, "<13>two\0");
    const forwarded = await waitFor("both messages", () => streams.find((s) => s.includes("two")));
    assert.equal(forwarded, "<13>one\0<13>two\0");
    assert.ok(
      streams.some((s) => s.includes(`jk_socketd[`) && s.includes(`listening on socket ${sock}`)),
      JSON.stringify(streams),
    );
  } finally {
    Deno.kill(p.pid, "SIGTERM");
    assert.equal((await p.status).code, 0);
    await p.stderr.cancel();
    await out.done;
    listener.close();
    await accepting;
    sender.close();
    cleanup();
  }
});
