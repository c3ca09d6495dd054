/**
 * The Debian package (debian/, `deno task deb`) installed for real: takeover of Debian's
 * jailkit 2.23, logins through a real sshd, upgrade over itself, every tool's --help and
 * --version, tests/sshd.ts loginScenario against /usr, the jk_socketd unit, purge.
 *
 * dpkg and apt run inside a private mount namespace whose /usr and /var are overlays
 * (tests/namespace.ts) with their upper layers in a directory under /run and whose /etc is a
 * copy there, so the machine's package database and files are never touched; /home is a test
 * directory. Services are not
 * started (policy-rc.d says no, as in a chroot build).
 *
 * The package: $JK_DEB (.ci/run builds it) or, when unset, `deno task deb` into the test
 * directory. Debian's jailkit: $JK_DEBIAN_JAILKIT_DEB, else /opt/jailkit-ref-deb/jailkit_*.deb
 * (.ci/run keeps it there), else `apt-get download jailkit`.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { DENO, REPO_ROOT, rootTest } from "./helpers.ts";
import { must, sh, syslogListener, TestNamespace } from "./namespace.ts";
import { createRunSshd, loginScenario, type RunningSshd, startSshd, stopSshd } from "./sshd.ts";

const SETUID = ["/usr/sbin/jk_chrootsh", "/usr/bin/jk_uchroot", "/usr/bin/jk_procmailwrapper"];
const TOOLS = [
  "/usr/sbin/jk_check",
  "/usr/sbin/jk_chrootlaunch",
  "/usr/sbin/jk_chrootsh",
  "/usr/sbin/jk_cp",
  "/usr/sbin/jk_init",
  "/usr/sbin/jk_jailuser",
  "/usr/sbin/jk_list",
  "/usr/sbin/jk_lsh",
  "/usr/sbin/jk_socketd",
  "/usr/sbin/jk_update",
  "/usr/bin/jk_uchroot",
  "/usr/bin/jk_procmailwrapper",
];
/**
 * Entered by sshd, login or procmail with jailkit 2.23's arguments; the only ones of their own are
 * a lone --help or --version.
 */
const LOGIN_ENTRIES = ["jk_chrootsh", "jk_lsh", "jk_procmailwrapper"];
const GROUP = "jkdebg";
const OLD_USER = "jkold"; // jailed with Debian's jailkit 2.23
const NEW_USER = "jknew"; // jailed with the package's tools
const APT = "DEBIAN_FRONTEND=noninteractive apt-get -y -q -o Dpkg::Options::=--force-confold " +
  "-o Dpkg::Options::=--force-confdef";

/** A root-owned 0755 directory under /run: not below the overlaid /usr, /etc or /var. */
function runTestRoot(): { dir: string; cleanup: () => void } {
  const dir = `/run/jailkit-deno-deb-${crypto.randomUUID().slice(0, 8)}`;
  Deno.mkdirSync(dir, { mode: 0o755 });
  Deno.chmodSync(dir, 0o755);
  return { dir, cleanup: () => Deno.removeSync(dir, { recursive: true }) };
}

function exists(path: string): boolean {
  try {
    Deno.lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

let built: Promise<string> | undefined;

/** $JK_DEB, or the package built once per run by `deno task deb` (removed at exit). */
function ourDeb(): Promise<string> {
  const given = Deno.env.get("JK_DEB");
  if (given) return Promise.resolve(given);
  built ??= (async () => {
    const out = Deno.makeTempDirSync({ prefix: "jk-deb-test-" });
    globalThis.addEventListener("unload", () => Deno.removeSync(out, { recursive: true }));
    const r = await must(`cd ${REPO_ROOT} && ${DENO} run -A tools/deb.ts --out ${out}`, {
      env: { HOME: "/root" },
    });
    return r.stdout.trim().split("\n").at(-1)!;
  })();
  return built;
}

async function debianDeb(dir: string): Promise<string> {
  const given = Deno.env.get("JK_DEBIAN_JAILKIT_DEB");
  if (given) return given;
  const kept = "/opt/jailkit-ref-deb";
  if (exists(kept)) {
    const name = [...Deno.readDirSync(kept)].map((e) => e.name).find((n) => n.endsWith(".deb"));
    if (name) return join(kept, name);
  }
  Deno.mkdirSync(`${dir}/debian-jailkit`);
  await must(`cd ${dir}/debian-jailkit && apt-get download jailkit`);
  const name = [...Deno.readDirSync(`${dir}/debian-jailkit`)].map((e) => e.name)[0];
  return `${dir}/debian-jailkit/${name}`;
}

/** The same package with a higher version and a changed default jk_chrootsh.ini. */
async function repackHigher(deb: string, dir: string): Promise<string> {
  const tree = `${dir}/repack`;
  await must(`dpkg-deb -R ${deb} ${tree}`);
  const control = Deno.readTextFileSync(`${tree}/DEBIAN/control`);
  const version = control.match(/^Version: (.*)$/m)![1];
  Deno.writeTextFileSync(
    `${tree}/DEBIAN/control`,
    control.replace(/^Version: .*$/m, `Version: ${version}+rebuild1`),
  );
  const ini = `${tree}/etc/jailkit/jk_chrootsh.ini`;
  Deno.writeTextFileSync(ini, Deno.readTextFileSync(ini) + "# changed in the rebuild\n");
  const sum = (await must(`cd ${tree} && md5sum etc/jailkit/jk_chrootsh.ini`)).stdout;
  const sums = Deno.readTextFileSync(`${tree}/DEBIAN/md5sums`).replace(
    /^[0-9a-f]+ {2}etc\/jailkit\/jk_chrootsh\.ini\n/m,
    sum,
  );
  Deno.writeTextFileSync(`${tree}/DEBIAN/md5sums`, sums);
  const out = `${dir}/jailkit_${version}+rebuild1.deb`;
  await must(`dpkg-deb --root-owner-group -Zzstd -z1 -b ${tree} ${out}`);
  Deno.removeSync(tree, { recursive: true });
  return out;
}

/** A namespace with /usr, /etc, /var overlaid, /home a test directory, no service starts. */
async function packageNamespace(dir: string, devLog?: string): Promise<TestNamespace> {
  const ns = await TestNamespace.create(dir, { overlay: ["/usr", "/var"], devLog });
  // /etc is a private copy rather than an overlay: other tests that run useradd on the host
  // leave their *.lock files in the host's /etc for a moment, and an overlay would show them.
  await ns.must(
    `cp -a /etc ${dir}/etc && find ${dir}/etc -maxdepth 1 -name '*.lock' -delete && ` +
      `mount --bind ${dir}/etc /etc`,
  );
  Deno.mkdirSync(`${dir}/home`, { mode: 0o755 });
  await ns.must(`mount --bind ${dir}/home /home`);
  await ns.must(
    "printf '#!/bin/sh\\nexit 101\\n' > /usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d",
  );
  return ns;
}

/**
 * sftp put+get, scp (both modes) and rsync push through `sshd` for `user`, whose home is `home`
 * on the host.
 */
async function transfers(
  dir: string,
  { port, opts }: RunningSshd,
  user: string,
  home: string,
  tag: string,
) {
  const payload = `payload ${tag} ${crypto.randomUUID()}\n`;
  Deno.writeTextFileSync(`${dir}/up-${tag}.txt`, payload);
  const sftp = await sh(`timeout 60 sftp ${opts} -P ${port} -b - ${user}@127.0.0.1`, {
    stdin: `put ${dir}/up-${tag}.txt /home/${user}/sftp-${tag}.txt\n` +
      `get /home/${user}/sftp-${tag}.txt ${dir}/down-${tag}.txt\n`,
  });
  assert.equal(sftp.code, 0, `sftp ${user}: ${sftp.stdout}${sftp.stderr}`);
  assert.equal(Deno.readTextFileSync(`${home}/sftp-${tag}.txt`), payload);
  assert.equal(Deno.readTextFileSync(`${dir}/down-${tag}.txt`), payload);
  for (const [flag, name] of [["", `scp-${tag}.txt`], ["-O", `scpo-${tag}.txt`]]) {
    const scp = await sh(
      `timeout 60 scp ${opts} ${flag} -P ${port} ${dir}/up-${tag}.txt ${user}@127.0.0.1:/home/${user}/${name}`,
    );
    assert.equal(scp.code, 0, `scp ${flag} ${user}: ${scp.stderr}`);
    assert.equal(Deno.readTextFileSync(`${home}/${name}`), payload);
  }
  Deno.mkdirSync(`${dir}/rsrc-${tag}/sub`, { recursive: true });
  Deno.writeTextFileSync(`${dir}/rsrc-${tag}/sub/b.txt`, payload);
  const rsync = await sh(
    `timeout 60 rsync -a -e "ssh ${opts} -p ${port}" ${dir}/rsrc-${tag}/ ${user}@127.0.0.1:/home/${user}/rsync-${tag}/`,
  );
  assert.equal(rsync.code, 0, `rsync ${user}: ${rsync.stderr}`);
  assert.equal(Deno.readTextFileSync(`${home}/rsync-${tag}/sub/b.txt`), payload);
}

const LSH_INI = `[group ${GROUP}]\n` +
  "executables = /usr/lib/openssh/sftp-server, /usr/bin/scp, /usr/bin/rsync\n" +
  "paths = /usr/lib/openssh, /usr/bin\n";

rootTest(
  "deb: takeover of Debian's jailkit 2.23, logins through sshd, upgrade over itself, purge",
  async (t) => {
    const { dir, cleanup } = runTestRoot();
    let ns: TestNamespace | undefined;
    let sshd: Deno.ChildProcess | undefined;
    const createdRunSshd = createRunSshd();
    try {
      const deb = await ourDeb();
      const debian = await debianDeb(dir);
      const higher = await repackHigher(deb, dir);
      ns = await packageNamespace(dir);
      const oldJail = `${dir}/jail-2.23`;
      const newJail = `${dir}/jail-deno`;

      await t.step("Debian's jailkit 2.23: edited jk_init.ini, a jail, a jk_lsh user", async () => {
        await ns!.must(`dpkg -i ${debian}`);
        await ns!.must("echo '# edited by the admin' >> /etc/jailkit/jk_init.ini");
        await ns!.must(`/usr/sbin/jk_init -j ${oldJail} jk_lsh sftp scp rsync`);
        await ns!.must(
          `groupadd ${GROUP} && useradd -m -g ${GROUP} -s /bin/bash ${OLD_USER} && ` +
            `usermod -p '*' ${OLD_USER} && /usr/sbin/jk_jailuser -m -j ${oldJail} ${OLD_USER}`,
        );
        Deno.writeTextFileSync(`${oldJail}/etc/jailkit/jk_lsh.ini`, LSH_INI);
        const entry = (await ns!.must(`getent passwd ${OLD_USER}`)).stdout;
        assert.match(entry, new RegExp(`:${oldJail}/\\./home/${OLD_USER}:/usr/sbin/jk_chrootsh`));
      });

      await t.step("apt-get install ./our.deb takes over", async () => {
        const r = await ns!.must(`${APT} install ${deb}`);
        assert.match(r.stdout, /Unpacking jailkit \(2\.23\+deno\d+\) over \(2\.23-2\)/);
        const ini = (await ns!.must("cat /etc/jailkit/jk_init.ini")).stdout;
        assert.match(ini, /^# edited by the admin$/m, "the admin's jk_init.ini is kept");
        const owner = (await ns!.must("dpkg -S /usr/sbin/jk_chrootsh")).stdout.trim();
        assert.equal(owner, "jailkit: /usr/sbin/jk_chrootsh");
        const version = (await ns!.must("dpkg-query -W -f='${Version}' jailkit")).stdout;
        assert.match(version, /^2\.23\+deno\d+$/);
        await ns!.must("test -x /usr/lib/jailkit/deno && test ! -e /usr/share/jailkit/jk_lib.py");
        for (const path of SETUID) {
          const mode = (await ns!.must(`stat -c %a:%U ${path}`)).stdout.trim();
          assert.equal(mode, "4755:root", path);
        }
        await ns!.must("grep -qx /usr/sbin/jk_chrootsh /etc/shells");
        const user = (await ns!.must("getent passwd jk_socketd")).stdout;
        assert.match(user, /^jk_socketd:x:\d+:\d+:[^:]*:\/nonexistent:\/usr\/sbin\/nologin$/m);
        await ns!.must("dpkg --verify jailkit");
      });

      await t.step("a jail and a user made with the package's tools", async () => {
        await ns!.must(`jk_init -j ${newJail} jk_lsh sftp scp rsync`);
        await ns!.must(
          `useradd -m -g ${GROUP} -s /bin/bash ${NEW_USER} && usermod -p '*' ${NEW_USER} && ` +
            `jk_jailuser -m -n -j ${newJail} ${NEW_USER}`,
        );
        Deno.writeTextFileSync(`${newJail}/etc/jailkit/jk_lsh.ini`, LSH_INI);
      });

      const server = await startSshd(dir, ns, [OLD_USER, NEW_USER]);
      sshd = server.sshd;

      await t.step("sftp, scp and rsync through sshd for both users", async () => {
        await transfers(dir, server, OLD_USER, `${oldJail}/home/${OLD_USER}`, "takeover-old");
        await transfers(dir, server, NEW_USER, `${newJail}/home/${NEW_USER}`, "takeover-new");
      });

      await t.step("upgrade over itself keeps a modified conffile; no jk_update", async () => {
        await ns!.must("echo '# admin setting' >> /etc/jailkit/jk_chrootsh.ini");
        // The admin's dpkg-statoverride wins over the package's set-uid bit.
        await ns!.must("dpkg-statoverride --update --add root root 0755 /usr/bin/jk_uchroot");
        const r = await ns!.must(`${APT} install ${higher}`);
        assert.equal((await ns!.must("stat -c %a /usr/bin/jk_uchroot")).stdout.trim(), "755");
        assert.equal((await ns!.must("stat -c %a /usr/sbin/jk_chrootsh")).stdout.trim(), "4755");
        await ns!.must("dpkg-statoverride --remove /usr/bin/jk_uchroot");
        assert.match(r.stdout, /Unpacking jailkit \(.*\+rebuild1\) over/);
        const ini = (await ns!.must("cat /etc/jailkit/jk_chrootsh.ini")).stdout;
        assert.match(ini, /^# admin setting$/m);
        assert.doesNotMatch(ini, /changed in the rebuild/);
        const dist = (await ns!.must("cat /etc/jailkit/jk_chrootsh.ini.dpkg-dist")).stdout;
        assert.match(dist, /changed in the rebuild/);
        await ns!.must("grep -qx /usr/sbin/jk_chrootsh /etc/shells");
        await ns!.must("dpkg --verify jailkit");
        await transfers(dir, server, OLD_USER, `${oldJail}/home/${OLD_USER}`, "upgrade-old");
        await transfers(dir, server, NEW_USER, `${newJail}/home/${NEW_USER}`, "upgrade-new");
      });

      await t.step("the jk_socketd unit verifies; man pages resolve", async () => {
        await ns!.must("systemd-analyze verify /lib/systemd/system/jk_socketd.service");
        for (const page of ["jailkit", "jk_init", "jk_lsh", "jk_socketd"]) {
          await ns!.must(`man -w ${page} | grep -q /usr/share/man/man8/${page}.8.gz`);
        }
      });

      await stopSshd(sshd);
      sshd = undefined;

      await t.step("purge leaves no file of ours outside the jails", async () => {
        const files = (await ns!.must("dpkg -L jailkit")).stdout.trim().split("\n")
          .filter((p) => p !== "/." && p !== "");
        await ns!.must(`${APT} purge jailkit`);
        // Directories shared with other packages (/usr/sbin ...) stay; no file may.
        const left = await ns!.must(
          `for p in ${files.join(" ")}; do [ -d "$p" ] && continue; ` +
            `[ -e "$p" ] || [ -L "$p" ] && echo "$p"; done; true`,
        );
        assert.equal(left.stdout, "", "files of the package left after purge");
        for (
          const p of [
            "/etc/jailkit",
            "/usr/lib/jailkit",
            "/var/lib/jailkit",
            "/usr/share/doc/jailkit",
          ]
        ) {
          await ns!.must(`test ! -e ${p}`);
        }
        const rc = await ns!.sh(
          "ls /etc/rc*.d/*jk_socketd* /etc/systemd/system/*/jk_socketd.service " +
            "/var/lib/systemd/deb-systemd-helper-enabled/*/jk_socketd.service 2>/dev/null",
        );
        assert.equal(rc.stdout, "", "service links left");
        const shells = (await ns!.must("cat /etc/shells")).stdout;
        assert.doesNotMatch(shells, /jk_chrootsh/);
        assert.ok(exists(`${oldJail}/home/${OLD_USER}`) && exists(`${newJail}/usr/sbin/jk_lsh`));
      });
    } finally {
      await stopSshd(sshd);
      await ns?.close();
      if (createdRunSshd) Deno.removeSync("/run/sshd");
      cleanup();
    }
  },
);

rootTest(
  "deb: fresh install, every tool starts (--help, --version), the sshd login path, jk_socketd, purge",
  async (t) => {
    const { dir, cleanup } = runTestRoot();
    let ns: TestNamespace | undefined;
    const hostLog = syslogListener(`${dir}/hostlog.sock`);
    try {
      const deb = await ourDeb();
      ns = await packageNamespace(dir, `${dir}/hostlog.sock`);
      await t.step("install on a machine without jailkit", async () => {
        await ns!.must(`${APT} install ${deb}`);
        await ns!.must("grep -qx /usr/sbin/jk_chrootsh /etc/shells && getent passwd jk_socketd");
      });
      await t.step("every tool: --help and --version; the login entries start", async () => {
        for (const tool of TOOLS) {
          const name = tool.slice(tool.lastIndexOf("/") + 1);
          if (LOGIN_ENTRIES.includes(name)) {
            // Any other arguments go to the login path: run by root it refuses (jk_chrootsh only in
            // syslog, exit 12), which shows the launcher started the runtime's tool.
            const r = await ns!.sh(`${tool} -c true`);
            assert.notEqual(r.code, 0, tool);
            assert.doesNotMatch(
              r.stderr,
              /cannot execute|error: |Uncaught/,
              `${tool}: ${r.stderr}`,
            );
            if (name === "jk_chrootsh") assert.equal(r.code, 12, "refusing to run for root");
          }
          const help = await ns!.sh(`${tool} --help`);
          assert.equal(help.code, 0, `${tool} --help: ${help.stderr}`);
          assert.match(help.stdout + help.stderr, new RegExp(`Usage: ${name}`), tool);
          const v = await ns!.sh(`${tool} --version`);
          assert.equal(v.code, 0, `${tool} --version: ${v.stderr}`);
          assert.match(v.stdout, new RegExp(`^${name} (\\(jailkit-deno\\)|version) \\S+\n$`), tool);
        }
      });
      // tests/sshd_e2e_test.ts's login path, with the package's /usr/sbin tools and jk_init.ini.
      // Its jk_init lists the jail's /dev/log in jk_socketd.ini; the init script step below wants
      // the file as installed.
      await ns.must(`cp -p /etc/jailkit/jk_socketd.ini ${dir}/jk_socketd.ini.installed`);
      await loginScenario(t, { dir, ns, prefix: "/usr", hostLog });
      await ns.must(`cp -p ${dir}/jk_socketd.ini.installed /etc/jailkit/jk_socketd.ini`);
      // The pid file and the jail of the socket go to a /run of the namespace's own (which
      // hides the test directory: the login scenario ran before).
      await ns.must("mount -t tmpfs -o mode=0755 tmpfs /run && mkdir -p /run/sockjail/dev");
      await t.step(
        "init script: jk_socketd runs only with a socket listed, as jk_socketd",
        async () => {
          const idle = await ns!.must("/etc/init.d/jk_socketd start");
          assert.match(idle.stdout, /Not starting jk_socketd: no socket listed/);
          await ns!.must("test ! -e /run/jk_socketd.pid");
          await ns!.must("printf '[/run/sockjail/dev/log]\\n' >> /etc/jailkit/jk_socketd.ini");
          await ns!.must("/etc/init.d/jk_socketd start");
          const pid = (await ns!.must("cat /run/jk_socketd.pid")).stdout.trim();
          const workers = (await ns!.must(`ps -o user:20=,args= --ppid ${pid}`)).stdout.trim();
          assert.match(workers, /^jk_socketd\s.*--role=worker/, workers);
          const tag = `jkdeb${crypto.randomUUID().slice(0, 8)}`;
          await ns!.must(`logger -u /run/sockjail/dev/log -t ${tag} hello-from-the-jail`);
          for (let i = 0; i < 50 && !hostLog.messages.some((m) => m.includes(tag)); i++) {
            await new Promise((r) => setTimeout(r, 100));
          }
          assert.ok(hostLog.messages.some((m) => m.includes(`${tag}: hello-from-the-jail`)));
          await ns!.must("/etc/init.d/jk_socketd stop");
          await ns!.must("test ! -e /run/jk_socketd.pid");
          // Gone, or a zombie until PID 1 reaps it (start-stop-daemon already saw it end).
          const state = await ns!.sh(`ps -o stat= -p ${pid}`);
          assert.match(state.stdout.trim(), /^(Z.*)?$/, `jk_socketd ${pid} still runs`);
        },
      );
      await t.step("purge", async () => {
        await ns!.must(`${APT} purge jailkit`);
        await ns!.must("test ! -e /etc/jailkit && test ! -e /usr/lib/jailkit");
        const shells = (await ns!.must("cat /etc/shells")).stdout;
        assert.doesNotMatch(shells, /jk_chrootsh/);
      });
    } finally {
      await ns?.sh("/etc/init.d/jk_socketd stop");
      await ns?.close();
      await hostLog.close();
      cleanup();
    }
  },
);
