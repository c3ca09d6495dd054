/**
 * tools/install.ts: the pure parts (path checks, layout, the jk_init.ini rewrite), then real
 * installs into a test prefix inside a private mount namespace whose /etc is an overlay, so
 * /etc/jailkit and useradd never touch the host. The last test proves the point of the
 * rewrite: `jk_init … jk_lsh` from the installed tools gives a jail in which the installed
 * jk_chrootsh starts the in-jail jk_lsh (launcher + runtime + sources inside the jail).
 */
import assert from "node:assert/strict";
import { parseIni } from "../lib/config/ini.ts";
import {
  checkInstallPath,
  jkInitIniMisses,
  layout,
  rewriteJkInitIni,
  TOOLS,
} from "../tools/install.ts";
import { DENO, REPO_ROOT, rootTest, safeTestRoot } from "./helpers.ts";
import { type Out, sh as shIn, TestNamespace } from "./namespace.ts";

const sh = (script: string, ns?: string): Promise<Out> => shIn(script, { ns });

Deno.test("checkInstallPath: absolute, normalised, no characters C or ini lists would mangle", () => {
  for (const ok of ["/usr", "/opt/jailkit-2", "/", "/usr/local/"]) {
    checkInstallPath("--prefix", ok);
  }
  for (const bad of ["usr", "/usr/../x", "/usr//x", "/a/./b", '/a"b', "/a b", "/a,b", "/a\\b"]) {
    assert.throws(() => checkInstallPath("--prefix", bad), /--prefix/, bad);
  }
});

Deno.test("layout: final paths follow the prefix; staging prepends destdir", () => {
  const l = layout("/opt/jk", "/tmp/stage");
  assert.equal(l.libdir, "/opt/jk/lib/jailkit");
  assert.equal(l.denoDir, "/opt/jk/lib/jailkit/deno-dir");
  assert.equal(l.stage(l.libdir), "/tmp/stage/opt/jk/lib/jailkit");
  const tool = (n: string) => TOOLS.find((t) => t.name === n)!;
  assert.equal(l.launcher(tool("jk_uchroot")), "/opt/jk/bin/jk_uchroot");
  assert.equal(l.launcher(tool("jk_lsh")), "/opt/jk/sbin/jk_lsh");
  const root = layout("/", "");
  assert.equal(root.libdir, "/lib/jailkit");
  assert.equal(root.launcher(tool("jk_chrootsh")), "/sbin/jk_chrootsh");
  assert.equal(root.stage("/etc/jailkit"), "/etc/jailkit");
  assert.deepEqual(
    TOOLS.filter((t) => t.setuid).map((t) => t.name),
    ["jk_chrootsh", "jk_uchroot", "jk_procmailwrapper"],
  );
});

const LSH_SECTION = `# profiles
[DEFAULT]
comment = x

[jk_lsh]
comment = jk_lsh
paths = /usr/sbin/jk_lsh, /etc/jailkit/jk_lsh.ini,
    /usr/lib/extra
users = root

[other]
# /usr/sbin/jk_lsh in a comment stays
paths = /usr/sbin/jk_lsh,/usr/sbin/jk_lshx
`;

function lshPaths(text: string): string[] {
  const v = parseIni(text, "t", "python").section("jk_lsh")!.own("paths")!.value;
  return v.split(",").map((s) => s.trim()).filter((s) => s !== "");
}

Deno.test("rewriteJkInitIni: prefix paths in [jk_lsh], LIBDIR added, rest byte for byte", () => {
  const out = rewriteJkInitIni(LSH_SECTION, "/opt/jk/sbin/jk_lsh", "/opt/jk/lib/jailkit");
  assert.deepEqual(lshPaths(out), [
    "/opt/jk/lib/jailkit",
    "/opt/jk/sbin/jk_lsh",
    "/etc/jailkit/jk_lsh.ini",
    "/usr/lib/extra",
  ]);
  assert.match(out, /^# \/usr\/sbin\/jk_lsh in a comment stays$/m);
  assert.match(out, /^paths = \/opt\/jk\/sbin\/jk_lsh,\/usr\/sbin\/jk_lshx$/m);
  assert.equal(
    rewriteJkInitIni(out, "/opt/jk/sbin/jk_lsh", "/opt/jk/lib/jailkit"),
    out,
    "a second rewrite changes nothing",
  );
  const usr = rewriteJkInitIni(LSH_SECTION, "/usr/sbin/jk_lsh", "/usr/lib/jailkit");
  assert.deepEqual(lshPaths(usr).slice(0, 2), ["/usr/lib/jailkit", "/usr/sbin/jk_lsh"]);
  assert.equal(usr.split("\n").length, LSH_SECTION.split("\n").length);
});

Deno.test("rewriteJkInitIni: a [jk_lsh] without paths gets one; no [jk_lsh] is an error", () => {
  const out = rewriteJkInitIni("[jk_lsh]\nusers = root\n", "/p/sbin/jk_lsh", "/p/lib/jailkit");
  assert.deepEqual(lshPaths(out), ["/p/sbin/jk_lsh", "/p/lib/jailkit"]);
  assert.throws(() => rewriteJkInitIni("[x]\npaths = a\n", "/a", "/b"), /no \[jk_lsh\] section/);
  assert.deepEqual(jkInitIniMisses(LSH_SECTION, "/usr/sbin/jk_lsh", "/usr/lib/jailkit"), [
    "/usr/lib/jailkit",
  ]);
  assert.deepEqual(jkInitIniMisses(out, "/p/sbin/jk_lsh", "/p/lib/jailkit"), []);
});

Deno.test("the shipped data/jk_init.ini can be rewritten for any prefix", () => {
  const text = Deno.readTextFileSync(`${REPO_ROOT}/data/jk_init.ini`);
  const out = rewriteJkInitIni(text, "/opt/x/sbin/jk_lsh", "/opt/x/lib/jailkit");
  const paths = lshPaths(out);
  assert.ok(paths.includes("/opt/x/sbin/jk_lsh") && paths.includes("/opt/x/lib/jailkit"));
  assert.ok(!paths.includes("/usr/sbin/jk_lsh"));
});

// ---------------------------------------------------------------------------------------------
// Real installs

/** A namespace whose /etc is an overlay; see tests/namespace.ts. */
async function namespace(root: string): Promise<{ ns: string; close: () => Promise<void> }> {
  const space = await TestNamespace.create(root);
  return { ns: space.nsFile, close: () => space.close() };
}

/** The install command, run with an admin umask that would leave group-writable files. */
function installCmd(args: string): string {
  return `umask 002 && cd ${REPO_ROOT} && ${DENO} run -A tools/install.ts ${args}`;
}

/** Every path under `dir` with its lstat. */
function walk(dir: string, out: [string, Deno.FileInfo][] = []): [string, Deno.FileInfo][] {
  const st = Deno.lstatSync(dir);
  out.push([dir, st]);
  if (st.isDirectory) { for (const e of Deno.readDirSync(dir)) walk(`${dir}/${e.name}`, out); }
  return out;
}

/** Median wall time of `runs` executions of `script` in the namespace, in milliseconds. */
async function medianMs(script: string, ns: string, runs = 15): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await sh(script, ns);
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return Math.round(times[Math.floor(runs / 2)]);
}

rootTest("install: layout, ownership, modes, kept configs, staging, unsafe prefix", async (t) => {
  const { dir: root, cleanup } = safeTestRoot("install");
  const space = await namespace(root);
  try {
    const prefix = `${root}/usr`;
    const lib = `${prefix}/lib/jailkit`;

    await t.step("first install: everything root:root, only the setuid tools set-uid", async () => {
      const r = await sh(installCmd(`--prefix ${prefix}`), space.ns);
      assert.equal(r.code, 0, r.stderr + r.stdout);
      for (const [path, st] of walk(prefix)) {
        assert.equal(st.uid, 0, path);
        assert.equal(st.gid, 0, path);
        if (st.isSymlink) continue;
        assert.equal((st.mode ?? 0) & 0o022, 0, `${path} is group/other writable`);
        const setuid = TOOLS.some((t) => t.setuid && path === `${prefix}/${t.dir}/${t.name}`);
        assert.equal((st.mode ?? 0) & 0o7000, setuid ? 0o4000 : 0, path);
      }
      assert.equal(Deno.statSync(`${prefix}/sbin/jk_lsh`).mode! & 0o7777, 0o755);
      assert.equal(Deno.statSync(`${lib}/deno`).mode! & 0o7777, 0o755);
      assert.ok(Deno.statSync(`${lib}/cli/jk_chrootsh.ts`).isFile);
      assert.ok(Deno.statSync(`${lib}/ffi/libc.ts`).isFile);
      assert.throws(() => Deno.statSync(`${lib}/ffi/jk_launcher.c`), Deno.errors.NotFound);
      for (const tool of TOOLS) {
        const has = (() => {
          try {
            return Deno.statSync(`${REPO_ROOT}/cli/${tool.name}.ts`).isFile;
          } catch {
            return false;
          }
        })();
        const installed = (() => {
          try {
            return Deno.statSync(`${prefix}/${tool.dir}/${tool.name}`).isFile;
          } catch {
            return false;
          }
        })();
        assert.equal(installed, has, tool.name);
        if (!has) assert.match(r.stdout, new RegExp(`skipped .*${tool.name}`));
      }
      // The module cache holds the transpiled entry points, keyed by their final paths.
      assert.ok(
        Deno.statSync(`${lib}/deno-dir/gen/file${lib}/cli/jk_chrootsh.ts.js`).isFile,
      );
      const etc = `${root}/etc-up/jailkit`;
      assert.equal(Deno.statSync(etc).mode! & 0o7777, 0o755);
      for (const e of Deno.readDirSync(`${REPO_ROOT}/data`)) {
        if (!e.name.endsWith(".ini")) continue;
        assert.equal(Deno.statSync(`${etc}/${e.name}`).mode! & 0o7777, 0o644, e.name);
        assert.match(r.stdout, new RegExp(`/etc/jailkit/${e.name} \\(new, 0644\\)`));
      }
      const jkInit = Deno.readTextFileSync(`${etc}/jk_init.ini`);
      assert.deepEqual(lshPaths(jkInit).slice(0, 2), [lib, `${prefix}/sbin/jk_lsh`]);
      assert.equal(Deno.readTextFileSync(`${lib}/data/jk_init.ini`), jkInit);
      for (const e of Deno.readDirSync(`${REPO_ROOT}/man`)) {
        const section = e.name.slice(-1);
        assert.ok(Deno.statSync(`${prefix}/share/man/man${section}/${e.name}`).isFile, e.name);
      }
    });

    await t.step("the installed tools start; a user cannot write the runtime's cache", async () => {
      const lsh = await sh(`${prefix}/sbin/jk_lsh`, space.ns);
      assert.equal(lsh.code, 7, lsh.stderr); // interactive use refused: jk_lsh ran
      const before = walk(`${lib}/deno-dir`).map(([p, s]) => `${p} ${s.size}`).join("\n");
      const asUser = await sh(
        `setpriv --reuid=65534 --regid=65534 --clear-groups ${prefix}/sbin/jk_lsh`,
        space.ns,
      );
      assert.equal(asUser.code, 7, asUser.stderr);
      const after = walk(`${lib}/deno-dir`).map(([p, s]) => `${p} ${s.size}`).join("\n");
      assert.equal(after, before);
      const lshMs = await medianMs(`${prefix}/sbin/jk_lsh`, space.ns);
      const chrootshMs = await medianMs(`${prefix}/sbin/jk_chrootsh`, space.ns);
      console.log(`startup (median of 15): jk_lsh ${lshMs} ms, jk_chrootsh ${chrootshMs} ms`);
    });

    await t.step("second install keeps every admin file and says so", async () => {
      const etc = `${root}/etc-up/jailkit`;
      Deno.writeTextFileSync(`${etc}/jk_chrootsh.ini`, "[DEFAULT]\nenv = TERM\n");
      Deno.writeTextFileSync(`${etc}/jk_init.ini`, "[jk_lsh]\npaths = /usr/sbin/jk_lsh\n");
      const r = await sh(installCmd(`--prefix ${prefix}`), space.ns);
      assert.equal(r.code, 0, r.stderr + r.stdout);
      assert.match(r.stdout, /kept existing \/etc\/jailkit\/jk_chrootsh\.ini \(not overwritten\)/);
      assert.equal(Deno.readTextFileSync(`${etc}/jk_chrootsh.ini`), "[DEFAULT]\nenv = TERM\n");
      assert.match(
        r.stdout,
        new RegExp(`WARNING: the kept /etc/jailkit/jk_init.ini does not list ${prefix}/sbin/`),
      );
    });

    await t.step("a group/world-writable directory above the prefix is refused", async () => {
      const open = `${root}/open`;
      Deno.mkdirSync(open, { mode: 0o777 });
      Deno.chmodSync(open, 0o1777);
      const r = await sh(installCmd(`--prefix ${open}/usr`), space.ns);
      assert.equal(r.code, 1);
      assert.match(r.stderr, new RegExp(`${open} is group/world writable`));
      assert.deepEqual([...Deno.readDirSync(open)], []);
    });

    await t.step("--destdir stages with the final paths compiled in", async () => {
      const stage = `${root}/stage`;
      Deno.mkdirSync(stage, { mode: 0o755 });
      const r = await sh(installCmd(`--prefix /opt/jkd --destdir ${stage}`), space.ns);
      assert.equal(r.code, 0, r.stderr + r.stdout);
      const binary = new TextDecoder("latin1").decode(
        Deno.readFileSync(`${stage}/opt/jkd/sbin/jk_chrootsh`),
      );
      assert.ok(binary.includes("/opt/jkd/lib/jailkit/deno"));
      assert.ok(!binary.includes(stage));
      assert.ok(Deno.statSync(`${stage}/etc/jailkit/jk_init.ini`).isFile);
      assert.match(r.stdout, /module cache not filled/);
      assert.match(
        r.stdout,
        /DENO_DIR=\/opt\/jkd\/lib\/jailkit\/deno-dir .*\/opt\/jkd\/lib\/jailkit\/deno cache/,
      );
    });
  } finally {
    await space.close();
    cleanup();
  }
});

rootTest("jk_init … jk_lsh from the install makes jk_lsh work inside the jail", async () => {
  const { dir: root, cleanup } = safeTestRoot("install-lsh");
  const space = await namespace(root);
  try {
    const prefix = `${root}/usr`;
    const jail = `${root}/jail`;
    const inst = await sh(installCmd(`--prefix ${prefix}`), space.ns);
    assert.equal(inst.code, 0, inst.stderr + inst.stdout);
    assert.ok(lshPaths(Deno.readTextFileSync(`${root}/etc-up/jailkit/jk_init.ini`)).length > 0);
    const uid = 4321;
    const setup = [
      `printf '[group jklg]\\nexecutables = /usr/bin/id\\npaths = /usr/bin\\n' ` +
      `> /etc/jailkit/jk_lsh.ini`,
      `groupadd -g ${uid} jklg`,
      `useradd -M -u ${uid} -g jklg -d ${jail}/./home/jkl -s ${prefix}/sbin/jk_chrootsh jkl`,
      `${prefix}/sbin/jk_init -k -j ${jail} jk_lsh`,
      `${prefix}/sbin/jk_cp -k -j ${jail} /usr/bin/id`,
    ];
    for (const s of setup) {
      const r = await sh(s, space.ns);
      assert.equal(r.code, 0, `${s}: ${r.stderr}${r.stdout}`);
    }
    Deno.mkdirSync(`${jail}/home/jkl`, { recursive: true, mode: 0o755 });
    Deno.chownSync(`${jail}/home/jkl`, uid, uid);
    Deno.writeTextFileSync(
      `${jail}/etc/passwd`,
      `jkl:x:${uid}:${uid}::/home/jkl:${prefix}/sbin/jk_lsh\n`,
      { append: true },
    );
    Deno.writeTextFileSync(`${jail}/etc/group`, `jklg:x:${uid}:\n`, { append: true });
    assert.ok(Deno.statSync(`${jail}${prefix}/lib/jailkit/deno`).isFile);
    assert.ok(Deno.statSync(`${jail}${prefix}/sbin/jk_lsh`).isFile);

    const login = `setpriv --reuid=${uid} --regid=${uid} --init-groups env -i USER=jkl ` +
      `${prefix}/sbin/jk_chrootsh -c`;
    const r = await sh(`${login} 'id -u'`, space.ns);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `${uid}\n`);
    const refused = await sh(`${login} 'cat /etc/passwd'`, space.ns);
    assert.equal(refused.code, 4, refused.stderr);
    const ms = await medianMs(`${login} 'id -u'`, space.ns);
    console.log(`ssh-style command login (jk_chrootsh + in-jail jk_lsh + id), median: ${ms} ms`);
  } finally {
    await space.close();
    cleanup();
  }
});
