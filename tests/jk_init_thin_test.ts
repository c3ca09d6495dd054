/**
 * jk_init --thin end to end, as root: the skeleton of a thin jail (mount points, /etc files,
 * devices, accounts; nothing under a bind root), its record in jk_thin.ini written last and only
 * after everything else succeeded, idempotency, dry runs, the admin's settings kept, and plain
 * jk_init refused on a thin jail. Also the executor's `write-host` and exact `mkdir`.
 */
import assert from "node:assert/strict";
import { readOrUndefined, REPO_ROOT, rootTest, runTool, safeTestRoot } from "./helpers.ts";
import { parseIni } from "../lib/config/ini.ts";
import { mountPoints, thinJailFor } from "../lib/config/thin.ts";
import { thinBindRoots } from "../lib/admin/init.ts";
import { applyPlan } from "../lib/engine/apply.ts";
import type { Op } from "../lib/core/plan.ts";

const INI = `${REPO_ROOT}/data/jk_init.ini`;
const SECTIONS = ["jk_lsh", "sftp", "scp", "rsync", "basicshell"];

interface Setup {
  jail: string;
  /** JAILKIT_ETC: where jk_thin.ini and jk_socketd.ini go. */
  etc: string;
  thinIni: string;
  cleanup: () => void;
}

function setup(label: string): Setup {
  const { dir, cleanup } = safeTestRoot(label);
  const etc = `${dir}/etc-jailkit`;
  Deno.mkdirSync(etc, { mode: 0o755 });
  return { jail: `${dir}/jail`, etc, thinIni: `${etc}/jk_thin.ini`, cleanup };
}

function jkInit(s: Setup, args: string[]) {
  return runTool("jk_init", ["-c", INI, ...args], { env: { JAILKIT_ETC: s.etc } });
}

/** Every entry below `dir` (relative paths), depth first. */
function entries(dir: string): string[] {
  const out: string[] = [];
  const walk = (p: string, rel: string) => {
    for (const e of [...Deno.readDirSync(p)].sort((a, b) => a.name.localeCompare(b.name))) {
      out.push(`${rel}/${e.name}`);
      if (e.isDirectory && !e.isSymlink) walk(`${p}/${e.name}`, `${rel}/${e.name}`);
    }
  };
  walk(dir, "");
  return out;
}

function assertMountPoint(path: string): void {
  const st = Deno.lstatSync(path);
  assert.ok(st.isDirectory, `${path} is a directory`);
  assert.deepEqual([st.uid, st.gid, (st.mode ?? 0) & 0o7777], [0, 0, 0o755], path);
  assert.deepEqual([...Deno.readDirSync(path)], [], `${path} is empty`);
}

rootTest("jk_init --thin: the skeleton, nothing under the bind roots, the record", async () => {
  const s = setup("thin-init");
  try {
    const r = await jkInit(s, ["--thin", "-j", s.jail, ...SECTIONS]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.doesNotMatch(r.stderr, /ERROR/);
    const roots = thinBindRoots();
    assert.ok(roots.includes("/usr"));
    // On this usr-merged host /bin, /lib… are symlinks: copied as symlinks, not bound.
    for (const d of ["/bin", "/lib", "/lib64"]) {
      if (Deno.lstatSync(d).isSymlink) {
        assert.ok(!roots.includes(d), d);
        assert.equal(Deno.readLinkSync(`${s.jail}${d}`), Deno.readLinkSync(d));
      }
    }
    const thin = thinJailFor(parseIni(Deno.readTextFileSync(s.thinIni), s.thinIni, "c"), s.jail);
    assert.ok(thin, "recorded");
    assert.deepEqual(thin, {
      jail: s.jail,
      readonlyBinds: roots,
      privateTmp: true,
      tmpSizeMiB: 64,
      privateProc: true,
      noNetwork: false,
      endProcessesAtLogout: true,
    });
    const st = Deno.lstatSync(s.thinIni);
    assert.deepEqual([st.uid, st.gid, (st.mode ?? 0) & 0o7777], [0, 0, 0o644]);
    for (const p of mountPoints(thin)) assertMountPoint(`${s.jail}${p}`);
    // What the sections need outside the binds is there.
    assert.match(Deno.readTextFileSync(`${s.jail}/etc/passwd`), /^root:x:0:0:/m);
    assert.match(Deno.readTextFileSync(`${s.jail}/etc/group`), /^root:x:0:/m);
    assert.ok(Deno.lstatSync(`${s.jail}/etc/profile`).isFile);
    assert.ok(Deno.lstatSync(`${s.jail}/etc/nsswitch.conf`).isFile);
    // The host's loader cache, which lists the libraries the binds will show (ldconfig -r on
    // the jail would find the mount points empty and list only the copied ones).
    assert.deepEqual(
      Deno.readFileSync(`${s.jail}/etc/ld.so.cache`),
      Deno.readFileSync("/etc/ld.so.cache"),
    );
    for (const dev of ["null", "zero", "tty", "urandom"]) {
      assert.ok(Deno.lstatSync(`${s.jail}/dev/${dev}`).isCharDevice, dev);
    }
    // No host copy anywhere but /etc and /dev; no need_proc line in the host's fstab.
    const top = [...Deno.readDirSync(s.jail)].map((e) => e.name).sort();
    for (const name of top) {
      const st = Deno.lstatSync(`${s.jail}/${name}`);
      if (st.isSymlink || name === "etc" || name === "dev") continue;
      assertMountPoint(`${s.jail}/${name}`);
    }
    const all = entries(s.jail);
    assert.ok(all.length < 80, `a small skeleton: ${all.length} entries`);
    assert.doesNotMatch(r.stdout, /Adding .* to .*fstab|Mounting proc/);
    // The last line says the jail is recorded.
    const out = r.stdout.trimEnd().split("\n");
    assert.equal(out[out.length - 1], `Recording ${s.jail} as a thin jail in ${s.thinIni}`);
  } finally {
    s.cleanup();
  }
});

rootTest("jk_init --thin again changes nothing; plain jk_init is refused", async () => {
  const s = setup("thin-again");
  try {
    const first = await jkInit(s, ["--thin", "-j", s.jail, ...SECTIONS]);
    assert.equal(first.code, 0, first.stdout + first.stderr);
    const before = Deno.readTextFileSync(s.thinIni);
    const mtime = Deno.lstatSync(s.thinIni).mtime?.getTime();
    const tree = entries(s.jail);
    const again = await jkInit(s, ["--thin", "-j", s.jail, ...SECTIONS]);
    assert.equal(again.code, 0, again.stdout + again.stderr);
    assert.match(again.stdout, /^Nothing to do: /m);
    assert.equal(Deno.readTextFileSync(s.thinIni), before);
    assert.equal(Deno.lstatSync(s.thinIni).mtime?.getTime(), mtime);
    assert.deepEqual(entries(s.jail), tree);

    const plain = await jkInit(s, ["-j", s.jail, "basicshell"]);
    assert.equal(plain.code, 3, plain.stdout + plain.stderr);
    assert.match(
      plain.stderr,
      new RegExp(`ERROR: ${s.jail} is a thin jail \\(section \\[${s.jail}\\] of ${s.thinIni}\\)`),
    );
    assert.deepEqual(entries(s.jail), tree, "nothing copied into the mount points");
  } finally {
    s.cleanup();
  }
});

rootTest("jk_init --thin --dry-run and --json: the record is the last operation", async () => {
  const s = setup("thin-dry");
  try {
    const dry = await jkInit(s, ["--thin", "--dry-run", "-j", s.jail, "basicshell"]);
    assert.equal(dry.code, 0, dry.stderr);
    const lines = dry.stdout.trimEnd().split("\n");
    assert.equal(
      lines[lines.length - 1],
      `would write ${s.thinIni} (${
        new TextEncoder().encode(
          `[${s.jail}]\nreadonly_binds = ${
            thinBindRoots().join(", ")
          }\nprivate_tmp = 1\ntmp_size_mb = 64\nprivate_proc = 1\nno_network = 0\n` +
            `end_processes_at_logout = 1\n`,
        ).length
      } bytes, 0644 0:0): [${s.jail}]; readonly_binds = ${
        thinBindRoots().join(", ")
      }; private_tmp = 1; tmp_size_mb = 64; private_proc = 1; no_network = 0; ` +
        `end_processes_at_logout = 1`,
    );
    assert.ok(lines.some((l) => l === `would mkdir ${s.jail}/usr (0755 0:0, also if it exists)`));
    assert.ok(!lines.some((l) => /^would (copy|hardlink|mkdir) \S*\/usr\//.test(l)), dry.stdout);
    assert.equal(readOrUndefined(s.thinIni), undefined);
    assert.throws(() => Deno.lstatSync(s.jail), Deno.errors.NotFound);

    const json = await jkInit(s, ["--thin", "--json", "-j", s.jail, ...SECTIONS]);
    assert.equal(json.code, 0, json.stderr);
    const doc = JSON.parse(json.stdout) as {
      operations: (Op & { status: string })[];
      summary: { failed: number };
    };
    assert.equal(doc.summary.failed, 0);
    const changes = doc.operations.filter((o) => o.op !== "note");
    const last = changes[changes.length - 1];
    assert.equal(last.op, "write-host");
    assert.ok(last.op === "write-host" && last.hostPath === s.thinIni && last.whenAllDone);
    assert.equal(last.status, "done");
    assert.equal(changes.filter((o) => o.op === "write-host").length, 1);
    // Every mount point, device and account exists before the record does.
    const order = (pred: (o: Op) => boolean) => changes.findIndex(pred);
    for (const p of ["/usr", "/tmp", "/proc"]) {
      const i = order((o) => o.op === "mkdir" && o.path === p);
      assert.ok(i >= 0 && i < changes.length - 1, p);
    }
    assert.ok(order((o) => o.op === "mknod") < changes.length - 1);
    assert.ok(order((o) => o.op === "write" && o.path === "/etc/passwd") < changes.length - 1);
    assert.ok(!changes.some((o) => "path" in o && /^\/usr\//.test(o.path)), "nothing in /usr");
  } finally {
    s.cleanup();
  }
});

rootTest("jk_init --thin: a failure before the record leaves the jail unrecorded", async () => {
  const s = setup("thin-fail");
  try {
    // The jail's owner planted /tmp as a symlink: refused while planning, nothing recorded.
    Deno.mkdirSync(s.jail, { mode: 0o755 });
    Deno.symlinkSync("/etc", `${s.jail}/tmp`);
    const planted = await jkInit(s, ["--thin", "-j", s.jail, "basicshell"]);
    assert.equal(planted.code, 3, planted.stdout + planted.stderr);
    assert.match(planted.stderr, new RegExp(`ERROR: ${s.jail}/tmp is a symlink to /etc`));
    assert.equal(readOrUndefined(s.thinIni), undefined);
    Deno.removeSync(`${s.jail}/tmp`);
    // A failure while carrying the plan out (an immutable /dev refuses the device nodes):
    // the other operations run, the record does not, so a login meets an ordinary,
    // incomplete jail rather than a thin one.
    Deno.mkdirSync(`${s.jail}/dev`, { mode: 0o755 });
    const chattr = new Deno.Command("chattr", { args: ["+i", `${s.jail}/dev`] }).outputSync();
    assert.equal(chattr.code, 0, new TextDecoder().decode(chattr.stderr));
    try {
      const r = await jkInit(s, ["--thin", "-j", s.jail, "basicshell"]);
      assert.equal(r.code, 7, r.stdout + r.stderr);
      assert.match(r.stderr, new RegExp(`ERROR: cannot create device ${s.jail}/dev/null`));
      assert.match(r.stderr, new RegExp(`ERROR: not writing ${s.thinIni}: \\d+ earlier`));
      assert.equal(readOrUndefined(s.thinIni), undefined, "an ordinary, incomplete jail");
      assertMountPoint(`${s.jail}/usr`);
    } finally {
      new Deno.Command("chattr", { args: ["-i", `${s.jail}/dev`] }).outputSync();
    }
    const done = await jkInit(s, ["--thin", "-j", s.jail, "basicshell"]);
    assert.equal(done.code, 0, done.stdout + done.stderr);
    assert.ok(readOrUndefined(s.thinIni)?.includes(`[${s.jail}]`));
  } finally {
    s.cleanup();
  }
});

rootTest(
  "jk_init --thin keeps the admin's settings and other sections, fixes mount points",
  async () => {
    const s = setup("thin-keep");
    try {
      // A copied jail first: its /tmp is the host's 1777.
      const copied = await jkInit(s, ["-j", s.jail, "basicshell"]);
      assert.equal(copied.code, 0, copied.stderr);
      assert.equal((Deno.lstatSync(`${s.jail}/tmp`).mode ?? 0) & 0o7777, 0o1777);
      const other = "# panel-managed\n[/srv/other]\nreadonly_binds = /usr\nprivate_tmp = 1\n";
      const mine = `[${s.jail}]\nreadonly_binds = /etc/ssl\ntmp_size_mb = 128\nno_network = 1\n`;
      Deno.writeTextFileSync(s.thinIni, other + "\n" + mine);
      const r = await jkInit(s, ["--thin", "-j", s.jail, "basicshell"]);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      const text = Deno.readTextFileSync(s.thinIni);
      assert.ok(text.startsWith(other), text);
      const thin = thinJailFor(parseIni(text, s.thinIni, "c"), s.jail)!;
      assert.deepEqual(thin.readonlyBinds, [...thinBindRoots(), "/etc/ssl"].sort());
      assert.equal(thin.tmpSizeMiB, 128);
      assert.equal(thin.noNetwork, true);
      assert.equal(thin.privateTmp, false, "the admin's section had no private_tmp");
      assertMountPoint(`${s.jail}/etc/ssl`);
      // /tmp is no mount point of this section: it stays as it was.
      assert.equal((Deno.lstatSync(`${s.jail}/tmp`).mode ?? 0) & 0o7777, 0o1777);

      // With private_tmp, the copied jail's 1777 /tmp becomes a root 0755 mount point.
      Deno.writeTextFileSync(s.thinIni, text.replace("private_tmp = 0", "private_tmp = 1"));
      const again = await jkInit(s, ["--thin", "-j", s.jail, "basicshell"]);
      assert.equal(again.code, 0, again.stdout + again.stderr);
      assert.match(again.stdout, new RegExp(`^Creating mount point ${s.jail}/tmp$`, "m"));
      const st = Deno.lstatSync(`${s.jail}/tmp`);
      assert.deepEqual([st.uid, st.gid, (st.mode ?? 0) & 0o7777], [0, 0, 0o755]);
    } finally {
      s.cleanup();
    }
  },
);

rootTest("write-host: root 0644, refused when the file changed since planning", () => {
  const s = setup("thin-write-host");
  try {
    const op = (expected: string | null, content: string): Op => ({
      op: "write-host",
      hostPath: s.thinIni,
      content,
      expected,
      whenAllDone: true,
      summary: "test",
    });
    const run = (ops: Op[]) => {
      const lines: string[] = [];
      const result = applyPlan({ jail: s.jail, ops }, {
        mode: "apply",
        verbose: false,
        print: (_s, l) => lines.push(l),
      });
      return { failed: result.failed, lines };
    };
    assert.equal(run([op(null, "a\n")]).failed, 0);
    assert.equal(Deno.readTextFileSync(s.thinIni), "a\n");
    Deno.chmodSync(s.thinIni, 0o600);
    assert.equal(run([op("a\n", "b\n")]).failed, 0);
    const st = Deno.lstatSync(s.thinIni);
    assert.deepEqual([st.uid, st.gid, (st.mode ?? 0) & 0o7777], [0, 0, 0o644]);
    // Planned from "a\n", but someone wrote "b\n" meanwhile: left alone.
    const stale = run([op("a\n", "c\n")]);
    assert.equal(stale.failed, 1);
    assert.match(stale.lines.join("\n"), /changed since planning/);
    assert.equal(Deno.readTextFileSync(s.thinIni), "b\n");
    // No temp files left in the directory.
    assert.deepEqual([...Deno.readDirSync(s.etc)].map((e) => e.name), ["jk_thin.ini"]);
  } finally {
    s.cleanup();
  }
});
