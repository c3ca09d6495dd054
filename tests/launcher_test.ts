/**
 * ffi/jk_launcher.c on its own: compiled (as tools/install.ts does) for a probe tool whose
 * script reports what the runtime was given — environment, argv, fds, signal masks, umask,
 * working directory, ids. The caller tries to smuggle things in each way a setuid program's
 * caller can.
 */
import assert from "node:assert/strict";
import { CFLAGS } from "../tools/install.ts";
import { CALLER_ENV_VAR, decodeCallerEnv } from "../lib/core/environ.ts";
import { entryKind } from "../lib/login/chrootsh_lsh.ts";
import { REPO_ROOT, rootTest, runCommand, safeTestRoot } from "./helpers.ts";

const RUNTIME = `${REPO_ROOT}/tools/deno/node_modules/deno/deno`;

const PROBE = `
const status = Deno.readTextFileSync("/proc/self/status");
const field = (name) => status.match(new RegExp("^" + name + ":\\\\s*(.*)$", "m"))[1];
const fds = {};
for (const e of Deno.readDirSync("/proc/self/fd")) {
  try { fds[e.name] = Deno.readLinkSync("/proc/self/fd/" + e.name); } catch { /* the dir fd */ }
}
console.log(JSON.stringify({
  env: Deno.env.toObject(),
  args: Deno.args,
  cwd: Deno.cwd(),
  fds,
  uid: field("Uid"),
  umask: field("Umask"),
  sigIgn: field("SigIgn"),
  sigBlk: field("SigBlk"),
}));
`;

interface Probe {
  env: Record<string, string>;
  args: string[];
  cwd: string;
  fds: Record<string, string>;
  uid: string;
  umask: string;
  sigIgn: string;
  sigBlk: string;
}

/** Builds the launcher for `tool` at `out`; `lshEntry`: jk_lsh's build (-DLSH_ENTRY=1). */
async function compile(
  out: string,
  tool: string,
  libdir: string,
  setuid: boolean,
  lshEntry = false,
) {
  const r = await new Deno.Command("cc", {
    args: [
      ...CFLAGS,
      `-DTOOL_NAME="${tool}"`,
      `-DLIBDIR="${libdir}"`,
      `-DSETUID_ENTRY=${setuid ? 1 : 0}`,
      `-DLSH_ENTRY=${lshEntry ? 1 : 0}`,
      "-o",
      out,
      `${REPO_ROOT}/ffi/jk_launcher.c`,
    ],
    stderr: "piped",
  }).output();
  assert.ok(r.success, new TextDecoder().decode(r.stderr));
}

function sh(script: string, env: Record<string, string> = {}) {
  return runCommand("/bin/bash", {
    args: ["-c", script],
    clearEnv: true,
    env: { PATH: "/usr/sbin:/usr/bin:/sbin:/bin", ...env },
  });
}

function parse(stdout: string): Probe {
  return JSON.parse(stdout) as Probe;
}

/** The caller's environment as the tool sees it. */
function caller(p: Probe): Map<string, string> {
  return decodeCallerEnv(p.env[CALLER_ENV_VAR]);
}

function argv0Of(p: Probe): string {
  return new TextDecoder().decode(
    Uint8Array.from(atob(p.env.JAILKIT_ARGV0), (c) => c.charCodeAt(0)),
  );
}

rootTest("launcher: fresh environment, fds, signals, umask, cwd, ids", async (t) => {
  const { dir: root, cleanup } = safeTestRoot("launcher");
  try {
    const lib = `${root}/lib/jailkit`;
    Deno.mkdirSync(`${lib}/cli`, { recursive: true, mode: 0o755 });
    Deno.mkdirSync(`${lib}/deno-dir`, { mode: 0o755 });
    Deno.copyFileSync(RUNTIME, `${lib}/deno`);
    Deno.chmodSync(`${lib}/deno`, 0o755);
    Deno.writeTextFileSync(`${lib}/cli/jk_probe.ts`, PROBE);
    Deno.writeTextFileSync(`${lib}/cli/jk_probesu.ts`, PROBE);
    Deno.mkdirSync(`${root}/sbin`, { mode: 0o755 });
    const probe = `${root}/sbin/jk_probe`;
    const probesu = `${root}/sbin/jk_probesu`;
    await compile(probe, "jk_probe", lib, false);
    await compile(probesu, "jk_probesu", lib, true);
    Deno.chmodSync(probesu, 0o4755);
    const work = `${root}/work`;
    Deno.mkdirSync(work, { mode: 0o777 });
    Deno.chmodSync(work, 0o777);

    await t.step(
      "only the fixed variables reach the runtime; the caller's arrive as data",
      async () => {
        const r = await sh(
          `cd ${work} && exec -a -jk_probe ${probe} -A --v8-flags=--x '' 'a b'`,
          {
            DENO_DIR: work,
            NODE_OPTIONS: "--require /nonexistent.js",
            DENO_V8_FLAGS: "--abort-on-uncaught-exception",
            RUST_BACKTRACE: "1",
            HOME: work,
            PATH: `${work}:/usr/bin:/bin`,
            ODD: "x=y\nz",
          },
        );
        assert.equal(r.code, 0, r.stderr);
        const p = parse(r.stdout);
        assert.deepEqual(Object.keys(p.env).sort(), [
          "DENO_DIR",
          "DENO_NO_UPDATE_CHECK",
          "HOME",
          "JAILKIT_ARGV0",
          "JAILKIT_CALLER_ENV",
          "JAILKIT_CALLER_UMASK",
          "NO_COLOR",
          "PATH",
        ]);
        assert.equal(p.env.DENO_DIR, `${lib}/deno-dir`);
        assert.equal(p.env.HOME, `${lib}/deno-dir`);
        assert.equal(p.env.PATH, "/usr/sbin:/usr/bin:/sbin:/bin");
        const env = caller(p);
        assert.equal(env.get("DENO_DIR"), work);
        assert.equal(env.get("NODE_OPTIONS"), "--require /nonexistent.js");
        assert.equal(env.get("ODD"), "x=y\nz");
        assert.equal(argv0Of(p), "-jk_probe");
        assert.deepEqual(p.args, ["-A", "--v8-flags=--x", "", "a b"]);
        assert.equal(p.cwd, work, "a plain launcher keeps the working directory");
        assert.deepEqual(
          [...Deno.readDirSync(work)],
          [],
          "nothing written to the caller's DENO_DIR",
        );
      },
    );

    await t.step("argv[0] 'dx' does not turn the runtime into `deno x`", async () => {
      const r = await sh(`exec -a dx ${probe} hello`);
      assert.equal(r.code, 0, r.stderr);
      const p = parse(r.stdout);
      assert.equal(argv0Of(p), "dx");
      assert.deepEqual(p.args, ["hello"]);
    });

    await t.step("inherited descriptors are closed; closed 0-2 become /dev/null", async () => {
      const r = await sh(`exec ${probe} 5<${work} 7>${work}/f 200</dev/zero`);
      assert.equal(r.code, 0, r.stderr);
      const leaked = Object.values(parse(r.stdout).fds).filter((t) =>
        t.startsWith(work) || t === "/dev/zero"
      );
      assert.deepEqual(leaked, []);
      const closed = await sh(`${probe} <&- 2>&- >${work}/out; cat ${work}/out`);
      assert.equal(closed.code, 0, closed.stderr);
      const fds = parse(closed.stdout).fds;
      assert.equal(fds["0"], "/dev/null");
      assert.equal(fds["2"], "/dev/null");
    });

    await t.step("ignored and blocked signals are reset", async () => {
      const r = await sh(
        `trap '' INT TERM HUP USR1; exec python3 -c 'import os, signal
signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGUSR2, signal.SIGCHLD})
os.execv("${probe}", ["jk_probe"])'`,
      );
      assert.equal(r.code, 0, r.stderr);
      const p = parse(r.stdout);
      assert.equal(p.sigBlk, "0000000000000000");
      // Deno ignores SIGPIPE (13) itself. 32 and 33 are glibc's own (sigaction refuses them;
      // glibc installs its SIGSETXID handler at start-up), and Deno.Command leaves them ignored.
      const glibcOwn = (1n << 31n) | (1n << 32n);
      assert.equal(BigInt(`0x${p.sigIgn}`) & ~glibcOwn, 1n << 12n);
    });

    await t.step("the runtime never runs with a group/world-writable umask", async () => {
      const open = parse((await sh(`umask 000; exec ${probe}`)).stdout);
      assert.equal(open.umask, "0022");
      assert.equal(open.env.JAILKIT_CALLER_UMASK, "0000");
      const tight = parse((await sh(`umask 077; exec ${probe}`)).stdout);
      assert.equal(tight.umask, "0077");
      assert.equal(tight.env.JAILKIT_CALLER_UMASK, "0077");
    });

    await t.step("setuid build: euid 0, real uid kept, cwd /, caller variables inert", async () => {
      const work = `${root}/work2`;
      Deno.mkdirSync(work, { mode: 0o777 });
      Deno.chmodSync(work, 0o777);
      const r = await sh(
        `cd ${work} && exec setpriv --reuid=65534 --regid=65534 --clear-groups ` +
          `env DENO_DIR=${work} NODE_OPTIONS='--require ${work}/x.js' HOME=${work} ${probesu} x`,
      );
      assert.equal(r.code, 0, r.stderr);
      const p = parse(r.stdout);
      assert.match(p.uid, /^65534\s+0\s+0\s+0$/);
      assert.equal(p.cwd, "/");
      assert.equal(p.env.DENO_DIR, `${lib}/deno-dir`);
      assert.equal(caller(p).get("DENO_DIR"), work);
      assert.deepEqual([...Deno.readDirSync(work)], []);
    });

    await t.step("an environment over 96 KiB is refused before the runtime starts", async () => {
      const big = "x".repeat(100 * 1024);
      const r = await sh(`exec ${probe}`, { BIG: big });
      assert.equal(r.code, 1);
      assert.equal(r.stdout, "");
      assert.match(r.stderr, /^jk_probe: environment too large \(more than 96 KiB encoded\)/);
      const ok = await sh(`exec ${probe}`, { BIG: "x".repeat(60 * 1024) });
      assert.equal(ok.code, 0, ok.stderr);
      assert.equal(caller(parse(ok.stdout)).get("BIG")?.length, 60 * 1024);
    });

    await t.step("a missing runtime is reported, not searched for", async () => {
      const broken = `${root}/sbin/jk_broken`;
      await compile(broken, "jk_broken", `${root}/nonexistent`, false);
      const r = await sh(`cd ${work} && exec ${broken}`, { PATH: `${lib}:/usr/bin:/bin` });
      assert.equal(r.code, 1);
      assert.match(r.stderr, /cannot execute .*\/nonexistent\/deno: No such file or directory/);
    });
  } finally {
    cleanup();
  }
});

Deno.test("LSH_ENTRY build: carries jk_chrootsh's marker; without a runtime it names jk_lsh_standalone", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "jk-entry-" });
  try {
    const entry = `${dir}/jk_lsh`;
    const plain = `${dir}/jk_lsh_plain`;
    const libdir = `${dir}/no-such-libdir`;
    await compile(entry, "jk_lsh", libdir, false, true);
    await compile(plain, "jk_lsh", libdir, false);
    assert.equal(entryKind(Deno.readFileSync(entry), libdir), "marker");
    // A launcher without the marker is what builds before it installed as jk_lsh.
    assert.equal(entryKind(Deno.readFileSync(plain), libdir), "legacy");
    assert.equal(entryKind(Deno.readFileSync(plain), "/other/lib/jailkit"), undefined);
    const run = await new Deno.Command(entry, {
      args: ["-c", "id"],
      stdout: "piped",
      stderr: "piped",
    })
      .output();
    assert.equal(run.code, 1);
    assert.equal(run.stdout.length, 0);
    assert.match(
      new TextDecoder().decode(run.stderr),
      /^jk_lsh: this jail has no jailkit-deno runtime .*jk_init -j JAIL jk_lsh_standalone\n$/,
    );
    const other = await new Deno.Command(plain, { stderr: "piped" }).output();
    assert.match(new TextDecoder().decode(other.stderr), /cannot execute .*No such file/);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
