/**
 * Root tests that install the tools, create users or bind /dev/log run inside a private mount
 * namespace whose /etc (and optionally /dev) are overlays: useradd, /etc/jailkit and /dev/log
 * then never touch the host, and everything disappears when the namespace is unmounted.
 * The namespace is kept alive by a bind-mounted nsfs file; commands enter it with nsenter.
 */
import assert from "node:assert/strict";
import { type Out, runCommand } from "./helpers.ts";

export type { Out };

const PATH = "/usr/sbin:/usr/bin:/sbin:/bin";

/** Runs a shell script (in the namespace when `ns` is given); never throws on failure. */
export function sh(
  script: string,
  opts: { ns?: string; env?: Record<string, string>; stdin?: string } = {},
): Promise<Out> {
  const argv = opts.ns
    ? ["nsenter", `--mount=${opts.ns}`, "--wd=/", "--", "/bin/sh", "-c", script]
    : ["/bin/sh", "-c", script];
  return runCommand(argv[0], {
    args: argv.slice(1),
    clearEnv: true,
    env: { PATH, LC_ALL: "C", ...opts.env },
  }, opts.stdin);
}

/** Like `sh`, but a non-zero exit fails the test with the script and its stderr. */
export async function must(script: string, opts: Parameters<typeof sh>[1] = {}): Promise<Out> {
  const r = await sh(script, opts);
  assert.equal(r.code, 0, `${script}\nexit ${r.code}\n${r.stdout}\n${r.stderr}`);
  return r;
}

export class TestNamespace {
  readonly nsFile: string;
  private constructor(readonly root: string) {
    this.nsFile = `${root}/ns/mnt`;
  }

  /**
   * A namespace under `root` (a safeTestRoot directory) with /etc overlaid (or the top-level
   * directories in `overlay`, which `root` must not be below); with `devLog`, /dev is overlaid
   * too and /dev/log is bound to that (test listener) socket.
   */
  static async create(
    root: string,
    opts: { devLog?: string; overlay?: readonly string[] } = {},
  ): Promise<TestNamespace> {
    const ns = new TestNamespace(root);
    const overlays = (opts.overlay ?? ["/etc"]).map((d) => ({ dir: d, name: d.slice(1) }));
    const dirs = [
      "ns",
      "dev-up",
      "dev-work",
      ...overlays.flatMap((o) => [`${o.name}-up`, `${o.name}-work`]),
    ];
    for (const d of dirs) {
      Deno.mkdirSync(`${root}/${d}`, { mode: 0o755 });
    }
    await must(`mount --bind ${root}/ns ${root}/ns && mount --make-private ${root}/ns`);
    Deno.writeTextFileSync(ns.nsFile, "");
    await must(`unshare --mount=${ns.nsFile} --propagation private true`);
    let setup = overlays.map((o) =>
      `mount -t overlay overlay -o lowerdir=${o.dir},upperdir=${root}/${o.name}-up,` +
      `workdir=${root}/${o.name}-work ${o.dir}`
    ).join(" && ");
    if (opts.devLog) {
      // An overlay hides the mounts below /dev; /dev/pts is kept aside and moved back so that
      // terminals (ssh -t) still work in the namespace.
      Deno.mkdirSync(`${root}/keep-pts`, { mode: 0o755 });
      setup += ` && mount --bind /dev/pts ${root}/keep-pts` +
        ` && mount -t overlay overlay -o lowerdir=/dev,upperdir=${root}/dev-up,` +
        `workdir=${root}/dev-work /dev && mount --move ${root}/keep-pts /dev/pts` +
        ` && touch /dev/log && mount --bind ${opts.devLog} /dev/log`;
    }
    await must(setup, { ns: ns.nsFile });
    return ns;
  }

  sh(script: string, opts: { env?: Record<string, string>; stdin?: string } = {}): Promise<Out> {
    return sh(script, { ...opts, ns: this.nsFile });
  }

  must(script: string, opts: { env?: Record<string, string>; stdin?: string } = {}): Promise<Out> {
    return must(script, { ...opts, ns: this.nsFile });
  }

  /** Starts a long-running process inside the namespace. */
  spawn(argv: string[]): Deno.ChildProcess {
    return new Deno.Command("nsenter", {
      args: [`--mount=${this.nsFile}`, "--wd=/", "--", ...argv],
      clearEnv: true,
      env: { PATH, LC_ALL: "C" },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
  }

  async close(): Promise<void> {
    await sh(`umount ${this.nsFile}; umount ${this.root}/ns`);
  }
}

/** Collects syslog datagrams sent to a unix datagram socket at `path` (needs --unstable-net). */
export function syslogListener(path: string) {
  const sock = Deno.listenDatagram({ transport: "unixpacket", path });
  Deno.chmodSync(path, 0o666);
  const messages: string[] = [];
  const reader = (async () => {
    try {
      for await (const [data] of sock) messages.push(new TextDecoder().decode(data));
    } catch {
      // closed
    }
  })();
  return {
    messages,
    close: async () => {
      sock.close();
      await reader;
    },
  };
}

/** The messages from `since` on, once their senders have exited and the reader caught up. */
export async function logsSince(messages: readonly string[], since: number): Promise<string[]> {
  await new Promise((res) => setTimeout(res, 100));
  return messages.slice(since);
}

/**
 * The first of ten user ids no process on the machine runs as. Other tests create users in
 * their own namespaces, from the same default range; usermod refuses a user whose id some
 * process (theirs) runs with.
 */
export function freeIdBase(): number {
  const busy = new Set<number>();
  for (const e of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    try {
      const status = Deno.readTextFileSync(`/proc/${e.name}/status`);
      for (const id of status.match(/^Uid:\s+(.*)$/m)?.[1].split(/\s+/) ?? []) busy.add(Number(id));
    } catch { /* ended meanwhile */ }
  }
  for (let i = 0; i < 100; i++) {
    const base = 40000 + 10 * Math.floor(Math.random() * 2000);
    if (![...busy].some((id) => id >= base && id < base + 10)) return base;
  }
  throw new Error("no free user ids");
}

/**
 * `unshare` arguments that run `argv` in a private mount namespace of its own whose /dev is
 * `dev` (a host directory holding a test /dev/log), after the shell commands `prepare`, which
 * end in `&& `.
 */
export function devBoundArgs(dev: string, argv: readonly string[], prepare = ""): string[] {
  return [
    "--mount",
    "--propagation",
    "private",
    "sh",
    "-c",
    `${prepare}mount --bind "$0" /dev && exec "$@"`,
    dev,
    ...argv,
  ];
}
