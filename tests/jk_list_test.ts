/**
 * jk_list: the table format and the /proc scan on fake process tables, then as root a real
 * jailed process (our jk_cp copies sleep into a jail, chroot runs it as nobody) found with the
 * right pid, user, jail and command, filtered with -j, shown as JSON, with an unknown uid.
 */
import assert from "node:assert/strict";
import {
  commandText,
  filterByJail,
  formatTable,
  type JailedProcess,
  MIN_COMMAND,
  parseCmdline,
  type ProcFs,
  scanProcesses,
} from "../lib/admin/list.ts";
import { escapeText } from "../lib/core/output.ts";
import { rootTest, runTool, safeTestRoot } from "./helpers.ts";

function proc(
  pid: number,
  user: string,
  jail: string,
  argv: string[],
  exe = `${jail}${argv[0]}`,
): JailedProcess {
  return { pid, uid: 1000, user, jail, exe, argv, terminated: true };
}

Deno.test("formatTable: jailkit's columns, header and padding (man/jk_list.8, OUTPUT)", () => {
  const p = proc(12, "jkbash", "/srv/jail", ["/usr/bin/bash", "-c", "sleep 2; echo"]);
  const command = "/srv/jail/usr/bin/bash -c sleep 2; echo ";
  assert.equal(commandText(p), command);
  assert.deepEqual(formatTable([p], false), [
    "Pid    User   Jail      " + "Command".padEnd(command.length),
    "12     jkbash /srv/jail " + command,
  ]);
  assert.deepEqual(formatTable([], false), ["No jailed processes found"]);
  assert.deepEqual(formatTable([], true), ["No jailed processes found"]);
});

Deno.test("formatTable: narrow rows fill 80 columns; wide rows keep the whole command", () => {
  const long = proc(7, "www-data", "/srv/web", ["/usr/bin/php", "-f", "x".repeat(200)]);
  const short = proc(300, "bob", "/srv/a", ["/bin/sh"]);
  const narrow = formatTable([long, short], false);
  assert.equal(narrow.length, 3);
  for (const line of narrow) assert.equal(line.length, 80, JSON.stringify(line));
  // Sorted by jail: /srv/a before /srv/web.
  assert.equal(narrow[1], "300    bob      /srv/a   " + "/srv/a/bin/sh ".padEnd(55));
  assert.equal(narrow[2], "7      www-data /srv/web " + commandText(long).slice(0, 55));
  const wide = formatTable([long, short], true);
  assert.equal(wide[0], narrow[0], "the header keeps the narrow width");
  assert.equal(wide[1], "300    bob      /srv/a   /srv/a/bin/sh ");
  assert.equal(wide[2], `7      www-data /srv/web ${commandText(long)}`);
});

Deno.test("formatTable: very long jails keep a readable command column", () => {
  const jail = `/srv/${"j".repeat(90)}`;
  const p = proc(1, "someone-with-a-long-name", jail, ["/usr/bin/sleep", "1000"]);
  const [header, row] = formatTable([p], false);
  const cmdCol = header.indexOf("Command");
  assert.equal(header.length - cmdCol, MIN_COMMAND);
  assert.equal(row.slice(cmdCol), `${jail}/usr/bin/sleep 1000 `.slice(0, MIN_COMMAND));
  assert.equal(row.slice(header.indexOf("Jail"), cmdCol - 1), jail);
});

Deno.test("formatTable: stable by jail, control characters escaped", () => {
  const rows = formatTable(
    [
      proc(9, "a", "/srv/b", ["/x"]),
      proc(3, "a", "/srv/a", ["/x"]),
      proc(5, "a", "/srv/b", ["/x"]),
      proc(4, "a\nb", "/srv/new\nline", ["/x", "arg\twith\x1bescape"]),
      proc(6, "c\u009bd", "/srv/z", ["/x", "back\\slash", "csi\u009b2J"]),
    ],
    true,
  );
  assert.deepEqual(rows.slice(1).map((r) => r.split(" ")[0]), ["3", "9", "5", "4", "6"]);
  assert.equal(rows.length, 6);
  assert.match(
    rows[4],
    /a\\x0ab +\/srv\/new\\x0aline \/srv\/new\\x0aline\/x arg\\x09with\\x1bescape $/,
  );
  assert.match(rows[5], /^6 +c\\u009bd +\/srv\/z +\/srv\/z\/x back\\\\slash csi\\u009b2J $/);
  // deno-lint-ignore no-control-regex
  assert.ok(!/[\x00-\x1f\x7f-\x9f]/.test(rows.join("")));
  assert.equal(escapeText("ok é"), "ok é");
});

Deno.test("parseCmdline: NUL-separated, the terminator is not an argument", () => {
  const enc = new TextEncoder();
  assert.deepEqual(parseCmdline(enc.encode("/usr/bin/sleep\x0030\x00")), {
    argv: ["/usr/bin/sleep", "30"],
    terminated: true,
  });
  // A process that rewrote its argv (e.g. "sshd: user [priv]") may leave no terminator.
  assert.deepEqual(parseCmdline(enc.encode("sshd: bob [priv]")), {
    argv: ["sshd: bob [priv]"],
    terminated: false,
  });
  assert.deepEqual(parseCmdline(new Uint8Array()), { argv: [], terminated: false });
  assert.deepEqual(parseCmdline(enc.encode("a\x00\x00b\x00")).argv, ["a", "", "b"]);
});

/** A process table; an Error value makes that read fail. */
function fakeProc(
  table: Record<string, { root: string | Error; uid?: number; exe?: string | Error; cmd?: string }>,
): ProcFs {
  const get = <T>(v: T | Error | undefined, dflt: T): T => {
    if (v instanceof Error) throw v;
    return v ?? dflt;
  };
  return {
    list: () => ["self", "thread-self", "cpuinfo", ...Object.keys(table)],
    root: (pid) => get(table[pid].root, "/"),
    owner: (pid) => table[pid].uid ?? 0,
    exe: (pid) => get(table[pid].exe, "/usr/bin/true"),
    cmdline: (pid) => new TextEncoder().encode(table[pid].cmd ?? "true\0"),
  };
}

Deno.test("scanProcesses: unreadable and vanished processes are skipped and counted", () => {
  const denied = new Deno.errors.PermissionDenied("Permission denied (os error 13)");
  const result = scanProcesses(
    fakeProc({
      "1": { root: denied },
      "5": { root: "/" },
      "20": {
        root: "/srv/jail",
        uid: 4000123,
        exe: "/srv/jail/usr/bin/sleep",
        cmd: "sleep\x0030\x00",
      },
      "9": { root: new Deno.errors.NotFound("No such file or directory (os error 2)") },
      "11": { root: "/srv/jail", exe: new Deno.errors.NotFound("gone") },
      "12": { root: new Error("No such process (os error 3)") },
      "15": { root: "/srv/jail", uid: 1000, exe: "/srv/jail/usr/bin/bash", cmd: "bash\0" },
    }),
    (uid) => uid === 1000 ? "alice" : undefined,
  );
  assert.equal(result.scanned, 7);
  assert.deepEqual(
    result.processes.map((p) => [p.pid, p.user, p.jail, commandText(p)]),
    [
      [15, "alice", "/srv/jail", "/srv/jail/usr/bin/bash "],
      [20, "4000123", "/srv/jail", "/srv/jail/usr/bin/sleep 30 "],
    ],
  );
  assert.deepEqual(result.skipped.map((s) => [s.pid, s.reason]), [
    [1, "denied"],
    [9, "vanished"],
    [11, "vanished"],
    [12, "vanished"],
  ]);
});

Deno.test("filterByJail: the jail and jails below it, whole components only", () => {
  const ps = [
    proc(1, "a", "/srv/jail", ["/x"]),
    proc(2, "a", "/srv/jail/inner", ["/x"]),
    proc(3, "a", "/srv/jail2", ["/x"]),
    proc(4, "a", "/srv/other", ["/x"]),
  ];
  assert.deepEqual(filterByJail(ps, ["/srv/jail"]).map((p) => p.pid), [1, 2]);
  assert.deepEqual(filterByJail(ps, ["/srv/jail2", "/srv/other"]).map((p) => p.pid), [3, 4]);
  assert.deepEqual(filterByJail(ps, ["/srv/none"]), []);
});

// ---------------------------------------------------------------------------------------------
// A real jailed process

/** Our jk_cp even under JK_REFERENCE: the fixture must not depend on the tool being judged. */
async function ours(tool: string, args: string[]) {
  const ref = Deno.env.get("JK_REFERENCE");
  Deno.env.delete("JK_REFERENCE");
  try {
    return await runTool(tool, args);
  } finally {
    if (ref !== undefined) Deno.env.set("JK_REFERENCE", ref);
  }
}

/** Starts sleep inside the jail as `ids` and waits until it runs there. */
async function jailedSleep(jail: string, ids: string): Promise<Deno.ChildProcess> {
  const child = new Deno.Command("chroot", {
    args: [`--userspec=${ids}`, jail, "/usr/bin/sleep", "30"],
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  for (let i = 0; i < 100; i++) {
    try {
      const exe = Deno.readLinkSync(`/proc/${child.pid}/exe`);
      if (exe === `${jail}/usr/bin/sleep`) return child;
    } catch { /* not yet */ }
    await new Promise((r) => setTimeout(r, 50));
  }
  child.kill("SIGKILL");
  await child.status;
  throw new Error(`sleep did not start in ${jail}`);
}

/** The columns of the row of `pid`, cut where the header puts them. */
function row(stdout: string, pid: number) {
  const lines = stdout.split("\n").filter((l) => l !== "");
  const header = lines[0];
  assert.match(header, /^Pid {4}User +Jail +Command/);
  const jailCol = header.indexOf("Jail");
  const cmdCol = header.indexOf("Command");
  const line = lines.find((l) => l.startsWith(`${pid} `));
  assert.ok(line, `no row for ${pid} in:\n${stdout}`);
  return {
    lines,
    pid: line.slice(0, 6),
    user: line.slice(7, jailCol - 1),
    jail: line.slice(jailCol, cmdCol - 1),
    command: line.slice(cmdCol),
    commandWidth: header.length - cmdCol,
  };
}

rootTest(
  "jk_list: a process in a jail, with its pid, user, jail and command; -j filters",
  async () => {
    const { dir, cleanup } = safeTestRoot("list");
    const jail = `${dir}/jail`;
    const children: Deno.ChildProcess[] = [];
    try {
      Deno.mkdirSync(jail, { mode: 0o755 });
      Deno.chmodSync(jail, 0o755);
      const cp = await ours("jk_cp", ["-j", jail, "/usr/bin/sleep"]);
      assert.equal(cp.code, 0, cp.stderr);
      const nobody = await jailedSleep(jail, "65534:65534");
      children.push(nobody);
      const command = `${jail}/usr/bin/sleep 30 `;

      const narrow = await runTool("jk_list", []);
      assert.equal(narrow.code, 0, narrow.stderr);
      const r = row(narrow.stdout, nobody.pid);
      assert.equal(r.pid, String(nobody.pid).padEnd(6));
      assert.equal(r.user.trimEnd(), "nobody");
      assert.equal(r.jail.trimEnd(), jail);
      assert.equal(r.command, command.slice(0, r.commandWidth).padEnd(r.commandWidth));

      const wide = await runTool("jk_list", ["-w"]);
      assert.equal(row(wide.stdout, nobody.pid).command, command);

      // Only this jail: the header and our process, however many jails the host runs.
      const own = await runTool("jk_list", ["-w", "-j", jail]);
      assert.deepEqual(own.stdout.split("\n").filter((l) => l !== "").length, 2, own.stdout);
      assert.equal(row(own.stdout, nobody.pid).command, command);
      for (const args of [[`--jail=${jail}/`], ["--jail", jail], [jail]]) {
        const again = await runTool("jk_list", ["-w", ...args]);
        assert.equal(again.stdout, own.stdout, args.join(" "));
      }
      // Through a symlink to the jail: /proc shows the real path, the filter resolves it.
      Deno.symlinkSync(jail, `${dir}/link`);
      const viaLink = await runTool("jk_list", ["-w", "-j", `${dir}/link`]);
      assert.equal(viaLink.stdout, own.stdout);
      Deno.mkdirSync(`${dir}/empty`);
      const none = await runTool("jk_list", ["-j", `${dir}/empty`]);
      assert.equal(none.stdout, "No jailed processes found\n");
      assert.equal(none.code, 0);

      const json = await runTool("jk_list", ["--json", "-j", jail]);
      assert.deepEqual(JSON.parse(json.stdout).processes, [{
        pid: nobody.pid,
        uid: 65534,
        user: "nobody",
        jail,
        exe: `${jail}/usr/bin/sleep`,
        argv: ["/usr/bin/sleep", "30"],
      }]);

      // A uid with no passwd entry is shown as the number.
      const unknown = await jailedSleep(jail, "4000123:4000123");
      children.push(unknown);
      const both = await runTool("jk_list", ["-j", jail]);
      assert.equal(both.code, 0, both.stderr);
      assert.equal(row(both.stdout, unknown.pid).user.trimEnd(), "4000123");
      assert.equal(row(both.stdout, nobody.pid).user.trimEnd(), "nobody");
    } finally {
      for (const c of children) {
        c.kill("SIGKILL");
        await c.status;
      }
      cleanup();
    }
  },
);

rootTest("jk_list: options", async () => {
  const help = await runTool("jk_list", ["-h"]);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /^Usage: jk_list/);
  assert.match(help.stdout, /--jail=DIR/);
  const bad = await runTool("jk_list", ["--bogus"]);
  assert.equal(bad.code, 1);
  const verbose = await runTool("jk_list", ["-v", "-j", "/nonexistent-jail"]);
  assert.equal(verbose.code, 0);
  assert.equal(verbose.stdout, "No jailed processes found\n");
  assert.match(verbose.stderr, /^scanned \d+ process/);
});
