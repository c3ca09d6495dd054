/**
 * jk_check's sshd check: parsing `sshd -T` output (captured from OpenSSH 9.2 on Debian, the
 * stock sshd_config and one with the Match block jk_chrootsh(8) recommends), deciding which
 * settings undermine a jail, the finding, then the real sshd on temporary configurations.
 */
import assert from "node:assert/strict";
import { findingLine, type JailedHostUser } from "../lib/admin/check.ts";
import {
  checkSshdUsers,
  jailedShellUsers,
  parseSshdT,
  querySshd,
  sshdCriteria,
  sshdFinding,
  sshdLoopholes,
  type SshdSettings,
} from "../lib/admin/check_sshd.ts";
import { JailkitError } from "../lib/core/errors.ts";
import { REPO_ROOT, rootTest, SYSTEM_PATH, tempDir } from "./helpers.ts";
import { createRunSshd } from "./sshd.ts";

const FIXTURES = `${REPO_ROOT}/tests/fixtures/sshd`;
const debianDefault = () => Deno.readTextFileSync(`${FIXTURES}/debian-default.txt`);
const matchJailed = () => Deno.readTextFileSync(`${FIXTURES}/match-jailed.txt`);

/** Settings from "keyword value" lines, over nothing (sshd's defaults apply). */
function settings(...lines: string[]): SshdSettings {
  return parseSshdT(lines.join("\n"));
}

Deno.test("parseSshdT: every line of real output, repeated keywords kept in order", () => {
  const s = parseSshdT(debianDefault());
  assert.equal(s.size, 89);
  assert.deepEqual(s.get("x11forwarding"), ["yes"]);
  assert.deepEqual(s.get("listenaddress"), ["[::]:22", "0.0.0.0:22"]);
  assert.equal(s.get("hostkey")?.length, 3);
  assert.deepEqual(s.get("subsystem"), ["sftp /usr/lib/openssh/sftp-server"]);
});

Deno.test("parseSshdT: anything but keyword lines is refused with its line number", () => {
  assert.throws(
    () => parseSshdT("port 22\nPort 23\n"),
    (e) => e instanceof JailkitError && e.kind === "parse" && /line 2: /.test(e.message),
  );
  assert.throws(() => parseSshdT("x 1\n".repeat(10_001)), /more than 10000 lines/);
  assert.throws(() => parseSshdT("x".repeat(1024 * 1024 + 1)), /larger than/);
  assert.deepEqual(parseSshdT("\n\nport 22\n\n").get("port"), ["22"]);
});

Deno.test("sshdLoopholes: Debian's stock sshd_config leaves six ways past a jail", () => {
  assert.deepEqual(sshdLoopholes(parseSshdT(debianDefault())), [
    {
      what: "ssh -L/-D to the server's local services and network",
      settings: ["AllowTcpForwarding yes", "PermitOpen any"],
    },
    {
      what: "ssh -R ports listening on the server",
      settings: ["AllowTcpForwarding yes", "PermitListen any", "GatewayPorts no"],
    },
    {
      what: "Unix socket forwarding to and from the server",
      settings: ["AllowStreamLocalForwarding yes"],
    },
    { what: "agent forwarding", settings: ["AllowAgentForwarding yes"] },
    { what: "X11 forwarding", settings: ["X11Forwarding yes"] },
    { what: "~/.ssh/rc run at login", settings: ["PermitUserRC yes"] },
  ]);
});

Deno.test("sshdLoopholes: the recommended Match block leaves none", () => {
  assert.deepEqual(sshdLoopholes(parseSshdT(matchJailed())), []);
});

Deno.test("sshdLoopholes: DisableForwarding, PermitOpen/PermitListen none, one-sided", () => {
  const what = (s: SshdSettings) => sshdLoopholes(s).map((l) => l.settings.join(", "));
  const closed = ["permituserrc no"];
  // sshd's compiled-in defaults when a keyword is missing: forwarding on, X11 off
  assert.deepEqual(what(settings(...closed)), [
    "AllowTcpForwarding yes, PermitOpen any",
    "AllowTcpForwarding yes, PermitListen any, GatewayPorts no",
    "AllowStreamLocalForwarding yes",
    "AllowAgentForwarding yes",
  ]);
  assert.deepEqual(
    what(settings(...closed, "disableforwarding yes", "allowtcpforwarding yes")),
    [],
  );
  const noUnixNoAgent = [...closed, "allowstreamlocalforwarding no", "allowagentforwarding no"];
  assert.deepEqual(
    what(settings(...noUnixNoAgent, "allowtcpforwarding local", "permitopen none")),
    [],
  );
  assert.deepEqual(
    what(settings(...noUnixNoAgent, "allowtcpforwarding yes", "permitopen none")),
    ["AllowTcpForwarding yes, PermitListen any, GatewayPorts no"],
  );
  assert.deepEqual(
    what(settings(...noUnixNoAgent, "allowtcpforwarding remote", "permitopen any")),
    ["AllowTcpForwarding remote, PermitListen any, GatewayPorts no"],
  );
  assert.deepEqual(
    what(settings(...noUnixNoAgent, "allowtcpforwarding all", "permitlisten none")),
    ["AllowTcpForwarding all, PermitOpen any"],
  );
  assert.deepEqual(
    what(
      settings(
        "disableforwarding yes",
        "allowstreamlocalforwarding remote",
        "permittunnel point-to-point",
        "permituserrc yes",
        "permituserenvironment LANG,LC_*",
      ),
    ),
    ["PermitTunnel point-to-point", "PermitUserRC yes", "PermitUserEnvironment LANG,LC_*"],
  );
  assert.deepEqual(
    what(settings(...closed, "disableforwarding no", "allowtcpforwarding no", ...noUnixNoAgent)),
    [],
  );
  assert.deepEqual(
    what(
      settings(
        ...closed,
        "allowagentforwarding no",
        "allowtcpforwarding no",
        "allowstreamlocalforwarding local",
      ),
    ),
    ["AllowStreamLocalForwarding local"],
  );
});

Deno.test("sshdFinding: one WARNING per user, the settings listed once, for --json too", () => {
  const f = sshdFinding("alice", "/srv/jail", sshdLoopholes(parseSshdT(debianDefault())));
  assert.ok(f);
  assert.equal(f.severity, "warning");
  assert.equal(f.kind, "sshd");
  assert.equal(f.jail, "/srv/jail");
  assert.equal(f.user, "alice");
  assert.deepEqual(f.sshd, [
    "AllowTcpForwarding yes",
    "PermitOpen any",
    "PermitListen any",
    "GatewayPorts no",
    "AllowStreamLocalForwarding yes",
    "AllowAgentForwarding yes",
    "X11Forwarding yes",
    "PermitUserRC yes",
  ]);
  assert.equal(
    findingLine(f),
    "WARNING: sshd lets jailed user alice of jail /srv/jail reach past the jail: ssh -L/-D " +
      "to the server's local services and network; ssh -R ports listening on the server; " +
      "Unix socket forwarding to and from the server; agent forwarding; X11 forwarding; " +
      "~/.ssh/rc run at login (AllowTcpForwarding yes, PermitOpen any, PermitListen any, " +
      "GatewayPorts no, AllowStreamLocalForwarding yes, AllowAgentForwarding yes, " +
      "X11Forwarding yes, PermitUserRC yes); switch them off in a Match block for jailed " +
      "users (see jk_check(8))",
  );
  assert.equal(sshdFinding("alice", "/srv/jail", []), undefined);
});

Deno.test("sshdCriteria: a name that would add criteria of its own is not passed", () => {
  assert.equal(sshdCriteria("alice"), "user=alice,host=localhost,addr=127.0.0.1");
  assert.equal(sshdCriteria("first.last"), "user=first.last,host=localhost,addr=127.0.0.1");
  assert.equal(sshdCriteria("machine$"), "user=machine$,host=localhost,addr=127.0.0.1");
  for (const bad of ["", "a,addr=10.0.0.1", "a=b", "a b", "-T", "a\nb", "$"]) {
    assert.equal(sshdCriteria(bad), undefined, JSON.stringify(bad));
  }
});

Deno.test("jailedShellUsers: accounts of this jail with a jk_chrootsh shell, once", () => {
  const u = (name: string, jail: string | undefined, shell: string | undefined) =>
    ({
      name,
      jail,
      shell,
      line: 1,
      home: "",
      inJailHome: "/",
      problem: undefined,
    }) as JailedHostUser;
  const shells = ["/usr/sbin/jk_chrootsh", "/sbin/jk_chrootsh"];
  assert.deepEqual(
    jailedShellUsers(
      [
        u("a", "/j", "/usr/sbin/jk_chrootsh"),
        u("b", "/j", "/bin/bash"),
        u("c", "/k", "/usr/sbin/jk_chrootsh"),
        u("d", "/j", undefined),
        u("e", "/j", "/sbin/jk_chrootsh"),
        u("a", "/j", "/usr/sbin/jk_chrootsh"),
      ],
      "/j",
      shells,
    ),
    ["a", "e"],
  );
});

Deno.test("checkSshdUsers: one query per user, failures and odd names noted only", () => {
  const asked: string[] = [];
  const reported: string[] = [];
  const notes: string[] = [];
  checkSshdUsers({
    jail: "/j",
    users: ["open", "closed", "broken", "x,y"],
    query: (criteria) => {
      asked.push(criteria);
      if (criteria.startsWith("user=open,")) return parseSshdT(debianDefault());
      if (criteria.startsWith("user=closed,")) return parseSshdT(matchJailed());
      return "sshd -T exited with status 255";
    },
    report: (f) => reported.push(`${f.user} ${f.kind}`),
    note: (t) => notes.push(t),
  });
  assert.deepEqual(asked, [
    "user=open,host=localhost,addr=127.0.0.1",
    "user=closed,host=localhost,addr=127.0.0.1",
    "user=broken,host=localhost,addr=127.0.0.1",
  ]);
  assert.deepEqual(reported, ["open sshd"]);
  assert.ok(notes.some((n) => n.includes("user broken: sshd -T exited with status 255")));
  assert.ok(notes.some((n) => n.includes('"x,y"')));
});

// ---------------------------------------------------------------------------------------------
// The real sshd

function sshdPath(): string {
  for (const dir of SYSTEM_PATH.split(":")) {
    try {
      if (Deno.statSync(`${dir}/sshd`).isFile) return `${dir}/sshd`;
    } catch { /* not here */ }
  }
  throw new Error("sshd is not installed (openssh-server)");
}

rootTest("querySshd: the real sshd on temporary configurations, Match by user", () => {
  const { dir, cleanup } = tempDir("check-sshd");
  // sshd -T refuses to run without its privilege-separation directory, which only a running
  // sshd's service makes.
  const createdRunSshd = createRunSshd();
  try {
    const key = `${dir}/host_ed25519`;
    const keygen = new Deno.Command("ssh-keygen", {
      args: ["-q", "-t", "ed25519", "-N", "", "-f", key],
      stdout: "null",
      stderr: "piped",
    }).outputSync();
    assert.equal(keygen.code, 0, new TextDecoder().decode(keygen.stderr));
    const config = `${dir}/sshd_config`;
    Deno.writeTextFileSync(
      config,
      `HostKey ${key}\nX11Forwarding yes\nMatch User nobody\n` +
        "    DisableForwarding yes\n    PermitTunnel no\n    PermitUserRC no\n",
    );
    const sshd = sshdPath();
    const open = querySshd(sshd, sshdCriteria("root")!, config);
    assert.notEqual(typeof open, "string", String(open));
    assert.deepEqual(sshdLoopholes(open as SshdSettings).map((l) => l.what), [
      "ssh -L/-D to the server's local services and network",
      "ssh -R ports listening on the server",
      "Unix socket forwarding to and from the server",
      "agent forwarding",
      "X11 forwarding",
      "~/.ssh/rc run at login",
    ]);
    const closed = querySshd(sshd, sshdCriteria("nobody")!, config);
    assert.notEqual(typeof closed, "string", String(closed));
    assert.deepEqual(sshdLoopholes(closed as SshdSettings), []);

    // A configuration sshd rejects: the reason, never a finding.
    Deno.writeTextFileSync(config, `HostKey ${key}\nNoSuchKeyword yes\n`);
    const broken = querySshd(sshd, sshdCriteria("root")!, config);
    assert.equal(typeof broken, "string");
    assert.match(broken as string, /exited with status 255: .*NoSuchKeyword/i);
  } finally {
    if (createdRunSshd) Deno.removeSync("/run/sshd");
    cleanup();
  }
});
