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
  CFLAGS,
  checkInstallPath,
  jkInitIniMisses,
  layout,
  rewriteJkInitIni,
  SEALED_CACHES,
  TOOLS,
} from "../tools/install.ts";
import { DENO, REPO_ROOT, rootTest, safeTestRoot } from "./helpers.ts";
import { must, type Out, sh as shIn, TestNamespace } from "./namespace.ts";

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

[jk_lsh_standalone]
paths = /usr/lib/jailkit
includesections = jk_lsh

[other]
# /usr/sbin/jk_lsh in a comment stays
paths = /usr/sbin/jk_lsh,/usr/sbin/jk_lshx
`;

function pathsOf(text: string, section = "jk_lsh"): string[] {
  const v = parseIni(text, "t", "python").section(section)!.own("paths")!.value;
  return v.split(",").map((s) => s.trim()).filter((s) => s !== "");
}

Deno.test("rewriteJkInitIni: prefix paths in [jk_lsh] and [jk_lsh_standalone], rest byte for byte", () => {
  const out = rewriteJkInitIni(LSH_SECTION, "/opt/jk/sbin/jk_lsh", "/opt/jk/lib/jailkit");
  assert.deepEqual(pathsOf(out), [
    "/opt/jk/sbin/jk_lsh",
    "/etc/jailkit/jk_lsh.ini",
    "/usr/lib/extra",
  ]);
  assert.deepEqual(pathsOf(out, "jk_lsh_standalone"), ["/opt/jk/lib/jailkit"]);
  assert.match(out, /^# \/usr\/sbin\/jk_lsh in a comment stays$/m);
  assert.match(out, /^paths = \/opt\/jk\/sbin\/jk_lsh,\/usr\/sbin\/jk_lshx$/m);
  assert.equal(out.split("\n").length, LSH_SECTION.split("\n").length);
  assert.equal(
    rewriteJkInitIni(out, "/opt/jk/sbin/jk_lsh", "/opt/jk/lib/jailkit"),
    out,
    "a second rewrite changes nothing",
  );
  assert.equal(rewriteJkInitIni(LSH_SECTION, "/usr/sbin/jk_lsh", "/usr/lib/jailkit"), LSH_SECTION);
});

Deno.test("jkInitIniMisses: a kept file that copies the runtime into every jail, or lacks a section", () => {
  const lsh = "/p/sbin/jk_lsh";
  const lib = "/p/lib/jailkit";
  assert.throws(() => rewriteJkInitIni("[x]\npaths = a\n", lsh, lib), /no \[jk_lsh\] section/);
  // What the installer of the previous layout wrote into /etc/jailkit/jk_init.ini.
  const old = `[jk_lsh]\npaths = ${lib}, ${lsh}, /etc/jailkit/jk_lsh.ini\n`;
  assert.deepEqual(jkInitIniMisses(old, lsh, lib), [
    `[jk_lsh] lists ${lib}, so every jk_lsh jail gets a copy of the runtime`,
    "no [jk_lsh_standalone] section",
  ]);
  assert.deepEqual(jkInitIniMisses("[jk_lsh]\npaths = /x\n", lsh, lib), [
    `[jk_lsh] does not list ${lsh}`,
    "no [jk_lsh_standalone] section",
  ]);
  const good = rewriteJkInitIni(LSH_SECTION, lsh, lib);
  assert.deepEqual(jkInitIniMisses(good, lsh, lib), []);
});

Deno.test("the shipped data/jk_init.ini can be rewritten for any prefix", () => {
  const text = Deno.readTextFileSync(`${REPO_ROOT}/data/jk_init.ini`);
  const out = rewriteJkInitIni(text, "/opt/x/sbin/jk_lsh", "/opt/x/lib/jailkit");
  const paths = pathsOf(out);
  assert.ok(paths.includes("/opt/x/sbin/jk_lsh"));
  assert.ok(!paths.includes("/usr/sbin/jk_lsh"));
  assert.ok(!paths.some((p) => p.includes("/lib/jailkit")), "no runtime in [jk_lsh]");
  assert.deepEqual(pathsOf(out, "jk_lsh_standalone"), ["/opt/x/lib/jailkit"]);
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
      // The bundler is there (CI fetched it): every login entry must have been bundled.
      assert.doesNotMatch(r.stdout + r.stderr, /runs from its sources/, r.stdout + r.stderr);
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
      // jk_socketd's native supervisor, which the installed jk_socketd execs.
      assert.equal(Deno.statSync(`${lib}/jk_socketd_supervisor`).mode! & 0o7777, 0o755);
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
      // The login entries run from one bundled file each, with no node:* import in it.
      for (const tool of TOOLS.filter((t) => t.bundle)) {
        const bundle = Deno.readTextFileSync(`${lib}/cli/${tool.name}.js`);
        if (tool.name !== "jk_uchroot") assert.doesNotMatch(bundle, /from\s*"node:/, tool.name);
        const launcher = new TextDecoder("latin1").decode(
          Deno.readFileSync(`${prefix}/${tool.dir}/${tool.name}`),
        );
        assert.ok(launcher.includes(`${lib}/cli/${tool.name}.js`), tool.name);
      }
      assert.ok(
        new TextDecoder("latin1").decode(Deno.readFileSync(`${prefix}/sbin/jk_init`))
          .includes(`${lib}/cli/jk_init.ts`),
      );
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
      assert.deepEqual(pathsOf(jkInit).slice(0, 1), [`${prefix}/sbin/jk_lsh`]);
      assert.deepEqual(pathsOf(jkInit, "jk_lsh_standalone"), [lib]);
      assert.ok(Deno.statSync(`${lib}/jk_lsh_standalone`).isFile);
      // The runtime's cache databases cannot be opened: Deno keeps them in memory.
      for (const name of SEALED_CACHES) {
        assert.ok(Deno.lstatSync(`${lib}/deno-dir/${name}`).isDirectory, name);
      }
      assert.equal(Deno.readTextFileSync(`${lib}/data/jk_init.ini`), jkInit);
      for (const e of Deno.readDirSync(`${REPO_ROOT}/man`)) {
        const section = e.name.slice(-1);
        assert.ok(Deno.statSync(`${prefix}/share/man/man${section}/${e.name}`).isFile, e.name);
      }
    });

    await t.step("the installed tools start; no run, root's included, writes a file", async () => {
      const snapshot = () =>
        walk(lib).map(([p, s]) => `${p} ${s.size} ${s.mtime?.getTime()} ${s.ctime?.getTime()}`)
          .join("\n");
      const before = snapshot();
      const lsh = await sh(`${prefix}/sbin/jk_lsh`, space.ns);
      assert.equal(lsh.code, 7, lsh.stderr); // interactive use refused: jk_lsh ran
      const chrootsh = await sh(`${prefix}/sbin/jk_chrootsh`, space.ns);
      assert.equal(chrootsh.code, 12, chrootsh.stderr); // real uid 0 refused: jk_chrootsh ran
      const asUser = await sh(
        `setpriv --reuid=65534 --regid=65534 --clear-groups ${prefix}/sbin/jk_lsh`,
        space.ns,
      );
      assert.equal(asUser.code, 7, asUser.stderr);
      assert.equal(snapshot(), before);
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
        new RegExp(
          `WARNING: the kept /etc/jailkit/jk_init.ini: \\[jk_lsh\\] does not list ${prefix}/sbin/`,
        ),
      );
    });

    // A module cache without esbuild and a proxy nobody listens on: nothing can be fetched.
    const offlineEnv = (dir: string) =>
      `DENO_DIR=${dir}/deno HTTPS_PROXY=http://127.0.0.1:9 HTTP_PROXY=http://127.0.0.1:9 NO_PROXY=`;

    await t.step("offline, the login entries are bundled with the pinned esbuild", async () => {
      const offline = `${root}/offline`;
      Deno.mkdirSync(offline, { mode: 0o755 });
      const r = await sh(
        `export ${offlineEnv(offline)} && ${installCmd(`--prefix ${offline}/usr`)}`,
        space.ns,
      );
      assert.equal(r.code, 0, r.stderr + r.stdout);
      assert.doesNotMatch(r.stdout, /runs from its sources/, r.stdout);
      for (const tool of TOOLS.filter((t) => t.bundle)) {
        assert.ok(Deno.statSync(`${offline}/usr/lib/jailkit/cli/${tool.name}.js`).isFile);
      }
      // The caller's module cache is left as it was: the bundler had a private one.
      assert.throws(() => Deno.statSync(`${offline}/deno/dl`), Deno.errors.NotFound);
    });

    await t.step("without any esbuild, the login entries run from sources", async () => {
      const bare = `${root}/bare`;
      Deno.mkdirSync(`${bare}/no-esbuild`, { recursive: true, mode: 0o755 });
      // The pinned package hidden in a mount namespace of this step's own.
      const pinned = `${REPO_ROOT}/tools/deno/node_modules/@esbuild`;
      const r = await sh(
        `unshare -m sh -c 'mount --bind ${bare}/no-esbuild ${pinned} && export ` +
          `${offlineEnv(bare)} && ${installCmd(`--prefix ${bare}/usr`)}'`,
        space.ns,
      );
      assert.equal(r.code, 0, r.stderr + r.stdout);
      const lib = `${bare}/usr/lib/jailkit`;
      for (const tool of TOOLS.filter((t) => t.bundle)) {
        assert.match(r.stdout, new RegExp(`WARNING: ${tool.name} runs from its sources`));
        assert.throws(() => Deno.statSync(`${lib}/cli/${tool.name}.js`), Deno.errors.NotFound);
        const launcher = new TextDecoder("latin1").decode(
          Deno.readFileSync(`${bare}/usr/${tool.dir}/${tool.name}`),
        );
        assert.ok(launcher.includes(`${lib}/cli/${tool.name}.ts`), tool.name);
      }
      const lsh = await sh(`${bare}/usr/sbin/jk_lsh`, space.ns);
      assert.equal(lsh.code, 7, lsh.stderr); // interactive use refused: jk_lsh ran
      const chrootsh = await sh(`${bare}/usr/sbin/jk_chrootsh`, space.ns);
      assert.equal(chrootsh.code, 12, chrootsh.stderr); // real uid 0 refused: it ran
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

rootTest(
  "jk_init … jk_lsh: a small jail; jk_chrootsh runs the session; masquerades refused",
  async (t) => {
    const { dir: root, cleanup } = safeTestRoot("install-lsh");
    const space = await namespace(root);
    try {
      const prefix = `${root}/usr`;
      const jail = `${root}/jail`;
      const lsh = `${jail}${prefix}/sbin/jk_lsh`;
      const inst = await sh(installCmd(`--prefix ${prefix}`), space.ns);
      assert.equal(inst.code, 0, inst.stderr + inst.stdout);
      const uid = 4321;
      const setup = [
        `printf '[group jklg]\\nexecutables = /usr/bin/id\\npaths = /usr/bin\\n' ` +
        `> /etc/jailkit/jk_lsh.ini`,
        `groupadd -g ${uid} jklg`,
        `useradd -M -u ${uid} -g jklg -d ${jail}/./home/jkl -s ${prefix}/sbin/jk_chrootsh jkl`,
        // No -k: the refusal steps below change the jail's files, never the host's.
        `${prefix}/sbin/jk_init -j ${jail} jk_lsh`,
      ];
      for (const s of setup) {
        const r = await sh(s, space.ns);
        assert.equal(r.code, 0, `${s}: ${r.stderr}${r.stdout}`);
      }
      const size = (await sh(`du -sb ${jail} && find ${jail} | wc -l`, space.ns)).stdout;
      console.log(`jk_init jk_lsh: ${size.replace(/\s+/g, " ")}(bytes, path, files)`);
      await sh(`${prefix}/sbin/jk_cp -j ${jail} /usr/bin/id`, space.ns);
      Deno.mkdirSync(`${jail}/home/jkl`, { recursive: true, mode: 0o755 });
      Deno.chownSync(`${jail}/home/jkl`, uid, uid);
      Deno.writeTextFileSync(
        `${jail}/etc/passwd`,
        `jkl:x:${uid}:${uid}::/home/jkl:${prefix}/sbin/jk_lsh\n`,
        { append: true },
      );
      Deno.writeTextFileSync(`${jail}/etc/group`, `jklg:x:${uid}:\n`, { append: true });
      const login = `setpriv --reuid=${uid} --regid=${uid} --init-groups env -i USER=jkl ` +
        `${prefix}/sbin/jk_chrootsh -c`;
      const entry = Deno.readFileSync(lsh);

      await t.step("the jail holds the entry point and no runtime or sources", () => {
        assert.ok(Deno.statSync(lsh).isFile);
        assert.ok(entry.length < 64 * 1024, `entry is ${entry.length} bytes`);
        assert.throws(() => Deno.lstatSync(`${jail}${prefix}/lib/jailkit`), Deno.errors.NotFound);
      });

      await t.step("login: the session runs in jk_chrootsh from the host's code", async () => {
        const r = await sh(`${login} 'id -u'`, space.ns);
        assert.equal(r.code, 0, r.stderr);
        assert.equal(r.stdout, `${uid}\n`);
        const refused = await sh(`${login} 'cat /etc/passwd'`, space.ns);
        assert.equal(refused.code, 4, refused.stderr);
        const ms = await medianMs(`${login} 'id -u'`, space.ns);
        console.log(
          `ssh-style command login (jk_chrootsh + jk_lsh session + id), median: ${ms} ms`,
        );
      });

      await t.step(
        "started inside the jail by anything else, the entry names jk_lsh_standalone",
        async () => {
          const r = await sh(
            `chroot --userspec=${uid}:${uid} ${jail} ${prefix}/sbin/jk_lsh -c 'id -u'`,
            space.ns,
          );
          assert.equal(r.code, 1);
          assert.equal(r.stdout, "");
          assert.match(r.stderr, /no jailkit-deno runtime.*jk_init -j JAIL jk_lsh_standalone/);
        },
      );

      /** Replaces the jail's jk_lsh by `make()`, logs in, restores the entry. */
      const attempt = async (make: () => void) => {
        Deno.removeSync(lsh);
        try {
          make();
          return await sh(`${login} 'id -u'`, space.ns);
        } finally {
          Deno.removeSync(lsh);
          Deno.writeFileSync(lsh, entry, { mode: 0o755 });
          Deno.chmodSync(lsh, 0o755);
        }
      };
      // A program that would print the uid if it were executed in jk_lsh's place.
      const userProgram = `${jail}/home/jkl/prog`;
      Deno.copyFileSync(`${jail}/usr/bin/id`, userProgram);
      Deno.chownSync(userProgram, uid, uid);

      await t.step("refused: a user-owned file with the marker at the jk_lsh path", async () => {
        const r = await attempt(() => {
          Deno.writeFileSync(lsh, entry, { mode: 0o755 });
          Deno.chownSync(lsh, uid, uid);
        });
        assert.equal(r.code, 53, r.stderr + r.stdout);
        assert.equal(r.stdout, "");
      });

      await t.step("refused: a hard link to a user's file, a symlink to it", async () => {
        const linked = await attempt(() => Deno.linkSync(userProgram, lsh));
        assert.equal(linked.code, 53, linked.stderr + linked.stdout);
        const symlinked = await attempt(() => Deno.symlinkSync("/home/jkl/prog", lsh));
        assert.equal(symlinked.code, 53, symlinked.stderr + symlinked.stdout);
        assert.equal(linked.stdout + symlinked.stdout, "");
      });

      await t.step("refused: a writable directory on the way to the entry", async () => {
        const dir = `${jail}${prefix}/sbin`;
        Deno.chmodSync(dir, 0o777);
        try {
          const r = await sh(`${login} 'id -u'`, space.ns);
          assert.equal(r.code, 53, r.stderr + r.stdout);
        } finally {
          Deno.chmodSync(dir, 0o755);
        }
      });

      await t.step(
        "a root-owned program without the marker is executed, not run as jk_lsh",
        async () => {
          // Root's choice (jailkit 2.23's C jk_lsh, say): its own rules apply, not jk_lsh.ini's.
          // id itself answers the `-c` jk_chrootsh hands on.
          const r = await attempt(() => Deno.copyFileSync(`${jail}/usr/bin/id`, lsh));
          assert.equal(r.code, 1, r.stderr);
          assert.match(r.stderr, /jk_lsh: invalid option -- 'c'/);
        },
      );

      await t.step(
        "another spelling of the path is not jk_lsh: the entry is executed and stops",
        async () => {
          const passwd = Deno.readTextFileSync(`${jail}/etc/passwd`);
          for (const spelling of [`${prefix}/sbin//jk_lsh`, `${prefix}/sbin/../sbin/jk_lsh`]) {
            Deno.writeTextFileSync(
              `${jail}/etc/passwd`,
              passwd.replace(`:${prefix}/sbin/jk_lsh\n`, `:${spelling}\n`),
            );
            const r = await sh(`${login} 'id -u'`, space.ns);
            assert.equal(r.code, 1, spelling + r.stderr);
            assert.equal(r.stdout, "");
          }
          Deno.writeTextFileSync(`${jail}/etc/passwd`, passwd);
        },
      );
    } finally {
      await space.close();
      cleanup();
    }
  },
);

rootTest(
  "upgrade: a jail with an older build's runtime copy keeps working; jk_update shrinks it",
  async (t) => {
    const { dir: root, cleanup } = safeTestRoot("install-upgrade");
    const space = await namespace(root);
    try {
      const prefix = `${root}/usr`;
      const lib = `${prefix}/lib/jailkit`;
      const jail = `${root}/jail`;
      const standalone = `${root}/standalone`;
      const uid = 4322;
      const inst = await sh(installCmd(`--prefix ${prefix}`), space.ns);
      assert.equal(inst.code, 0, inst.stderr + inst.stdout);
      for (
        const s of [
          `printf '[group jkug]\\nexecutables = /usr/bin/id\\npaths = /usr/bin\\n' ` +
          `> /etc/jailkit/jk_lsh.ini`,
          `groupadd -g ${uid} jkug`,
          `useradd -M -u ${uid} -g jkug -d ${jail}/./home/jku -s ${prefix}/sbin/jk_chrootsh jku`,
          `${prefix}/sbin/jk_init -j ${jail} jk_lsh`,
          `${prefix}/sbin/jk_cp -j ${jail} /usr/bin/id`,
          `${prefix}/sbin/jk_init -j ${standalone} jk_lsh_standalone`,
        ]
      ) {
        const r = await sh(s, space.ns);
        assert.equal(r.code, 0, `${s}: ${r.stderr}${r.stdout}`);
      }
      Deno.mkdirSync(`${jail}/home/jku`, { recursive: true, mode: 0o755 });
      Deno.chownSync(`${jail}/home/jku`, uid, uid);
      Deno.writeTextFileSync(
        `${jail}/etc/passwd`,
        `jku:x:${uid}:${uid}::/home/jku:${prefix}/sbin/jk_lsh\n`,
        { append: true },
      );
      Deno.writeTextFileSync(`${jail}/etc/group`, `jkug:x:${uid}:\n`, { append: true });
      const login = `setpriv --reuid=${uid} --regid=${uid} --init-groups env -i USER=jku ` +
        `${prefix}/sbin/jk_chrootsh -c 'id -u'`;

      await t.step("the older layout: its launcher (no marker) and a copy of LIBDIR", async () => {
        // The older [jk_lsh] copied LIBDIR (which had no jk_lsh_standalone file), and its jk_lsh
        // was the plain launcher: this source built without LSH_ENTRY.
        await must(
          `mkdir -p ${jail}${prefix}/lib && cp -a ${lib} ${jail}${lib} && ` +
            `rm ${jail}${lib}/jk_lsh_standalone`,
        );
        const old = `${jail}${prefix}/sbin/jk_lsh`;
        const r = await sh(
          `cc ${CFLAGS.join(" ")} -DTOOL_NAME='"jk_lsh"' -DLIBDIR='"${lib}"' -DSETUID_ENTRY=0 ` +
            `-o ${old} ${REPO_ROOT}/ffi/jk_launcher.c`,
        );
        assert.equal(r.code, 0, r.stderr);
        assert.ok(!new TextDecoder("latin1").decode(Deno.readFileSync(old)).includes("protocol 1"));
        const du = (await sh(`du -sb ${jail}`)).stdout;
        console.log(`older layout: ${du.trim()}`);
      });

      await t.step(
        "reinstall (new launchers); the login still works, no jk_update run",
        async () => {
          const again = await sh(installCmd(`--prefix ${prefix}`), space.ns);
          assert.equal(again.code, 0, again.stderr + again.stdout);
          const r = await sh(login, space.ns);
          assert.equal(r.code, 0, r.stderr);
          assert.equal(r.stdout, `${uid}\n`);
        },
      );

      await t.step("jk_update removes the runtime copy; the login still works", async () => {
        const r = await sh(`${prefix}/sbin/jk_update -j ${jail}`, space.ns);
        assert.equal(r.code, 0, r.stderr + r.stdout);
        assert.match(r.stdout, new RegExp(`removed the runtime copy ${jail}${lib}`));
        assert.throws(() => Deno.lstatSync(`${jail}${lib}`), Deno.errors.NotFound);
        const du = (await sh(`du -sb ${jail}`)).stdout;
        console.log(`after jk_update: ${du.trim()}`);
        const after = await sh(login, space.ns);
        assert.equal(after.code, 0, after.stderr);
        assert.equal(after.stdout, `${uid}\n`);
      });

      await t.step("jk_init -f … jk_lsh removes a runtime copy too", async () => {
        await must(`cp -a ${lib} ${jail}${lib} && rm ${jail}${lib}/jk_lsh_standalone`);
        const r = await sh(`${prefix}/sbin/jk_init -f -j ${jail} jk_lsh`, space.ns);
        assert.equal(r.code, 0, r.stderr + r.stdout);
        assert.match(r.stdout, new RegExp(`removed the runtime copy ${jail}${lib}`));
        assert.throws(() => Deno.lstatSync(`${jail}${lib}`), Deno.errors.NotFound);
        const after = await sh(login, space.ns);
        assert.equal(after.code, 0, after.stderr);
      });

      await t.step("a [jk_lsh_standalone] jail keeps its runtime through jk_update", async () => {
        assert.ok(Deno.statSync(`${standalone}${lib}/deno`).isFile);
        assert.ok(Deno.statSync(`${standalone}${lib}/jk_lsh_standalone`).isFile);
        for (const cmd of [`jk_update -j ${standalone}`, `jk_init -f -j ${standalone} jk_lsh`]) {
          const r = await sh(`${prefix}/sbin/${cmd}`, space.ns);
          assert.equal(r.code, 0, r.stderr + r.stdout);
          assert.ok(Deno.statSync(`${standalone}${lib}/deno`).isFile, cmd);
        }
      });
    } finally {
      await space.close();
      cleanup();
    }
  },
);
