/**
 * The login path end to end, through a real OpenSSH sshd on 127.0.0.1: `deno task install`
 * into a test prefix, then tests/sshd.ts loginScenario (`jk_init … jk_lsh sftp scp rsync`,
 * `jk_jailuser -m -n`, sftp, scp in both modes, rsync, refusals, an interactive bash user),
 * which tests/deb_test.ts also runs against the installed package's /usr.
 *
 * Everything runs in a private mount namespace (tests/namespace.ts) whose /etc and /dev are
 * overlays and whose /home is a test directory: users, /etc/jailkit and /dev/log never touch
 * the host. sshd runs in that namespace with its own config and host key, key-only auth.
 */
import assert from "node:assert/strict";
import { DENO, REPO_ROOT, rootTest, safeTestRoot } from "./helpers.ts";
import { sh, syslogListener, TestNamespace } from "./namespace.ts";
import { createRunSshd, loginScenario, startSshd, stopSshd } from "./sshd.ts";

const GROUP = "jksshg";

rootTest(
  "login path through a real sshd: sftp, scp, rsync work; everything else is refused",
  async (t) => {
    const { dir, cleanup } = safeTestRoot("sshd");
    const hostLog = syslogListener(`${dir}/hostlog.sock`);
    const ns = await TestNamespace.create(dir, { devLog: `${dir}/hostlog.sock` });
    const prefix = `${dir}/usr`;
    try {
      Deno.mkdirSync(`${dir}/home`, { mode: 0o755 });
      await ns.must(`mount --bind ${dir}/home /home`);
      await t.step("install into a test prefix", async () => {
        await ns.must(`cd ${REPO_ROOT} && ${DENO} run -A tools/install.ts --prefix ${prefix}`);
        const st = Deno.statSync(`${prefix}/sbin/jk_chrootsh`);
        assert.equal((st.mode ?? 0) & 0o7777, 0o4755);
      });
      await loginScenario(t, { dir, ns, prefix, hostLog });
    } finally {
      await hostLog.close();
      await ns.close();
      cleanup();
    }
  },
);

rootTest(
  "sshd ChrootDirectory with jk_lsh as the in-jail shell: works with [jk_lsh_standalone], says so without",
  async (t) => {
    const { dir, cleanup } = safeTestRoot("sshd-chroot");
    const ns = await TestNamespace.create(dir);
    const prefix = `${dir}/usr`;
    let sshd: Deno.ChildProcess | undefined;
    const createdRunSshd = createRunSshd();
    // jail, section, user: sshd chroots these users itself and starts their shell, jk_lsh.
    const setups = [
      { jail: `${dir}/standalone`, section: "jk_lsh_standalone", user: "jkstand" },
      { jail: `${dir}/small`, section: "jk_lsh", user: "jksmall" },
    ];
    try {
      await t.step("install, the two jails, users whose shell is jk_lsh", async () => {
        await ns.must(`cd ${REPO_ROOT} && ${DENO} run -A tools/install.ts --prefix ${prefix}`);
        await ns.must(`groupadd ${GROUP}`);
        for (const { jail, section, user } of setups) {
          await ns.must(`${prefix}/sbin/jk_init -j ${jail} ${section}`);
          await ns.must(`${prefix}/sbin/jk_cp -j ${jail} /usr/bin/id`);
          await ns.must(
            `useradd -M -d /home/${user} -g ${GROUP} -s ${prefix}/sbin/jk_lsh ${user} && ` +
              `usermod -p '*' ${user} && mkdir -p ${jail}/home/${user} && ` +
              `chown ${user}:${GROUP} ${jail}/home/${user} && ` +
              `grep -h '^${user}:' /etc/passwd >> ${jail}/etc/passwd && ` +
              `grep -h '^${GROUP}:' /etc/group >> ${jail}/etc/group`,
          );
          Deno.writeTextFileSync(
            `${jail}/etc/jailkit/jk_lsh.ini`,
            `[group ${GROUP}]\nexecutables = /usr/bin/id\npaths = /usr/bin\n`,
          );
        }
        assert.ok(Deno.statSync(`${setups[0].jail}${prefix}/lib/jailkit/deno`).isFile);
        // need_proc: the runtime reads /proc/self/exe at start (mounted in the namespace).
        await ns.must(`test -d ${setups[0].jail}/proc/self`);
      });

      const match = setups.map(({ jail, user }) =>
        `Match User ${user}\n  ChrootDirectory ${jail}\n  DisableForwarding yes\n`
      );
      const started = await startSshd(dir, ns, setups.map((s) => s.user), match.join(""));
      sshd = started.sshd;
      const { port, opts } = started;
      const ssh = (user: string, cmd: string) =>
        sh(`timeout 60 ssh ${opts} -p ${port} ${user}@127.0.0.1 ${cmd}`);

      await t.step(
        "[jk_lsh_standalone]: jk_lsh runs inside the jail and applies jk_lsh.ini",
        async () => {
          const uid = (await ns.must("id -u jkstand")).stdout.trim();
          const ok = await ssh("jkstand", "'id -u'");
          assert.equal(ok.code, 0, ok.stderr);
          assert.equal(ok.stdout, `${uid}\n`);
          const refused = await ssh("jkstand", "'cat /etc/passwd'");
          assert.equal(refused.code, 4, refused.stderr);
          assert.equal(refused.stdout, "");
        },
      );

      await t.step("[jk_lsh] alone: the entry names jk_lsh_standalone and fails", async () => {
        const r = await ssh("jksmall", "'id -u'");
        assert.equal(r.code, 1, r.stdout + r.stderr);
        assert.equal(r.stdout, "");
        assert.match(r.stderr, /no jailkit-deno runtime.*jk_init -j JAIL jk_lsh_standalone/);
      });
    } finally {
      await stopSshd(sshd);
      await ns.close();
      if (createdRunSshd) Deno.removeSync("/run/sshd");
      cleanup();
    }
  },
);
