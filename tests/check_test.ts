/**
 * lib/admin/check.ts decisions on plain data: settings from jk_check.ini, host accounts with a jail
 * marker, the choice of jails, one-entry verdicts, the file walk over fake trees, the user
 * checks; and the content comparison and passwd reader on real files.
 */
import assert from "node:assert/strict";
import { posix } from "node:path";
import { parseIni } from "../lib/config/ini.ts";
import { parsePasswd } from "../lib/config/passwd.ts";
import { JailkitError } from "../lib/core/errors.ts";
import {
  type CheckFs,
  checkJail,
  type CheckSettings,
  chrootshPaths,
  type EntryInfo,
  type Finding,
  findingLine,
  foreignSetidFinding,
  hostUserFindings,
  jailedHostUsers,
  jailShellFindings,
  jailUserFindings,
  NO_SETTINGS,
  parseMountinfo,
  readJailPasswd,
  resolveTarget,
  selectJails,
  setidFinding,
  settingsFor,
  systemCheckFs,
  unknownKeyFindings,
  walkJail,
  writableDirFinding,
} from "../lib/admin/check.ts";
import type { NodeKind } from "../lib/engine/jailpath.ts";
import { tempDir } from "./helpers.ts";

// ---------------------------------------------------------------------------------------------
// A fake file system: host and jail in one map of absolute paths

interface FakeNode {
  kind: NodeKind;
  mode?: number;
  uid?: number;
  gid?: number;
  content?: string;
  target?: string;
  dev?: number;
  /** Same number = same inode (a hard link). */
  ino?: number;
  /** Links to this inode outside the fake tree. */
  outsideLinks?: number;
  /** Device number of a char or block device. */
  rdev?: number;
}

class FakeFs implements CheckFs {
  readonly compared: string[] = [];
  readonly #nodes = new Map<string, FakeNode>();
  readonly #mounts: Map<string, string>;
  #nextIno = 1000;

  constructor(nodes: Record<string, FakeNode>, mounts: Record<string, string> = {}) {
    for (const [p, n] of Object.entries(nodes)) this.add(p, n);
    this.#mounts = new Map(Object.entries(mounts));
  }

  /** Adds a node and its missing parent directories. */
  add(path: string, node: FakeNode): void {
    const parent = posix.dirname(path);
    if (parent !== path && !this.#nodes.has(parent)) this.add(parent, { kind: "dir" });
    this.#nodes.set(path, { ...node, ino: node.ino ?? this.#nextIno++ });
  }

  remove(path: string): void {
    this.#nodes.delete(path);
  }

  #info(n: FakeNode): EntryInfo {
    const size = n.kind === "symlink" ? n.target!.length : (n.content ?? "").length;
    return {
      kind: n.kind,
      mode: n.mode ?? (n.kind === "dir" ? 0o755 : n.kind === "symlink" ? 0o777 : 0o644),
      uid: n.uid ?? 0,
      gid: n.gid ?? 0,
      size,
      dev: n.dev ?? 1,
      ino: n.ino!,
      nlink: [...this.#nodes.values()].filter((o) => o.ino === n.ino).length +
        (n.outsideLinks ?? 0),
      rdev: n.rdev ?? 0,
    };
  }

  #follow(path: string): string | undefined {
    let p = path;
    for (let i = 0; i < 10; i++) {
      const n = this.#nodes.get(p);
      if (n?.kind !== "symlink") return n ? p : undefined;
      p = posix.resolve(posix.dirname(p), n.target!);
    }
    return undefined;
  }

  lstat(path: string): EntryInfo | undefined {
    const n = this.#nodes.get(path);
    return n && this.#info(n);
  }

  stat(path: string): EntryInfo | undefined {
    const p = this.#follow(path);
    return p === undefined ? undefined : this.#info(this.#nodes.get(p)!);
  }

  readDir(path: string): string[] {
    return [...this.#nodes.keys()]
      .filter((p) => p !== path && posix.dirname(p) === path)
      .map((p) => posix.basename(p));
  }

  readLink(path: string): string {
    return this.#nodes.get(path)!.target!;
  }

  sameContent(jailPath: string, _info: EntryInfo, hostPath: string): boolean {
    this.compared.push(jailPath);
    return this.#nodes.get(jailPath)!.content ===
      this.#nodes.get(this.#follow(hostPath)!)!.content;
  }

  mountType(path: string): string | undefined {
    return this.#mounts.get(path);
  }
}

const J = "/srv/jail";
const LS = "ELF ls program";
const BASH = "ELF bash program";

/** A host and a fresh jk_init-like jail on it: every check should stay silent. */
function freshTree(): Record<string, FakeNode> {
  return {
    "/": { kind: "dir" },
    "/bin": { kind: "symlink", target: "usr/bin" },
    "/usr/bin/ls": { kind: "file", content: LS, mode: 0o755 },
    "/usr/bin/bash": { kind: "file", content: BASH, mode: 0o755 },
    "/usr/bin/sh": { kind: "symlink", target: "dash" },
    "/usr/bin/dash": { kind: "file", content: "ELF dash", mode: 0o755 },
    "/usr/share": { kind: "dir" },
    "/etc/passwd": { kind: "file", content: "root:x:0:0::/root:/bin/bash\nbob:x:1000:1000::/" },
    "/etc/group": { kind: "file", content: "root:x:0:\nbob:x:1000:" },
    "/etc/ld.so.cache": { kind: "file", content: "host cache with many entries" },
    "/etc/profile": { kind: "file", content: "PATH=/usr/bin" },
    "/etc/jailkit/jk_lsh.ini": { kind: "file", content: "[DEFAULT]\n" },
    "/tmp": { kind: "dir", mode: 0o1777 },
    "/tmp/hostonly": { kind: "file", content: "host temp file" },
    "/home/alice/notes": { kind: "file", content: "host notes" },
    [J]: { kind: "dir" },
    [`${J}/bin`]: { kind: "symlink", target: "usr/bin" },
    [`${J}/usr/bin/ls`]: { kind: "file", content: LS, mode: 0o755 },
    [`${J}/usr/bin/bash`]: { kind: "file", content: BASH, mode: 0o755 },
    [`${J}/usr/bin/sh`]: { kind: "symlink", target: "dash" },
    [`${J}/usr/bin/dash`]: { kind: "file", content: "ELF dash", mode: 0o755 },
    [`${J}/etc/passwd`]: { kind: "file", content: "root:x:0:0::/root:/bin/bash\n" },
    [`${J}/etc/group`]: { kind: "file", content: "root:x:0:\n" },
    [`${J}/etc/ld.so.cache`]: { kind: "file", content: "jail cache" },
    [`${J}/etc/profile`]: { kind: "file", content: "PATH=/usr/bin" },
    [`${J}/etc/jailkit/jk_lsh.ini`]: { kind: "file", content: "[alice]\npaths=/usr/bin\n" },
    [`${J}/tmp`]: { kind: "dir", mode: 0o1777 },
    [`${J}/tmp/hostonly`]: { kind: "file", content: "a jailed user's file" },
    [`${J}/home/alice/notes`]: { kind: "file", content: "alice's own notes" },
    "/dev/null": { kind: "char", mode: 0o666, rdev: 259 },
    [`${J}/dev/null`]: { kind: "char", mode: 0o666, rdev: 259 },
    "/etc/alternatives/vi": { kind: "symlink", target: "/usr/bin/vim.basic" },
    [`${J}/etc/alternatives/vi`]: { kind: "symlink", target: "/usr/bin/vim.basic" },
  };
}

function walk(
  fs: CheckFs,
  opts: {
    settings?: Partial<CheckSettings>;
    homes?: string[];
    unsafe?: string;
    sockets?: string[];
  } = {},
): { findings: Finding[]; notes: string[] } {
  const findings: Finding[] = [];
  const notes: string[] = [];
  walkJail(fs, {
    jail: J,
    settings: { ...NO_SETTINGS, ...opts.settings },
    homes: opts.homes ?? [],
    unsafeMessage: opts.unsafe,
    sockets: opts.sockets,
    report: (f) => findings.push(f),
    note: (t) => notes.push(t),
  });
  return { findings, notes };
}

function lines(findings: readonly Finding[]): string[] {
  return findings.map(findingLine);
}

// ---------------------------------------------------------------------------------------------
// Configuration

Deno.test("settingsFor: own keys, [DEFAULT] fallback, normalised paths, relative items warned", () => {
  const ini = parseIni(
    [
      "[DEFAULT]",
      "ignorewritableforothers = /srv/jail/tmp/, /x//y",
      "ignorepathoncompare = /default",
      "[/srv/jail]",
      "ignorepathoncompare = /srv/jail/home, relative/path,, /srv/jail/etc/",
      "IgnoreSetuidExecuteForUser = /srv/jail/usr/bin/ping",
    ].join("\n"),
    "/etc/jailkit/jk_check.ini",
    "python",
  );
  const { settings, findings } = settingsFor(ini, ini.section("/srv/jail"));
  assert.deepEqual(settings.ignorePathOnCompare, ["/srv/jail/home", "/srv/jail/etc"]);
  assert.deepEqual(settings.ignoreWritableForOthers, ["/srv/jail/tmp", "/x/y"]);
  assert.deepEqual(settings.ignoreSetuidExecuteForUser, ["/srv/jail/usr/bin/ping"]);
  assert.deepEqual(settings.ignorePathEverywhere, []);
  assert.deepEqual(lines(findings), [
    'WARNING: /etc/jailkit/jk_check.ini:5: ignorepathoncompare in [/srv/jail]: "relative/path" ' +
    "is not an absolute path; ignored",
  ]);
  // A jail with no section of its own gets the DEFAULT keys, as configparser gave them.
  assert.deepEqual(settingsFor(ini, undefined).settings.ignorePathOnCompare, ["/default"]);
  assert.deepEqual(settingsFor(undefined, undefined).settings, NO_SETTINGS);
});

Deno.test("unknownKeyFindings: a misspelt key is reported with its line", () => {
  const ini = parseIni(
    "[/srv/jail]\nignorepathoncomapre = /srv/jail/home\nignorepatheverywhere = /srv/jail/proc\n",
    "c.ini",
    "python",
  );
  assert.deepEqual(lines(unknownKeyFindings(ini)), [
    'WARNING: c.ini:2: unknown key "ignorepathoncomapre" in [/srv/jail]; ignored',
  ]);
});

// ---------------------------------------------------------------------------------------------
// Host accounts and the choice of jails

Deno.test("jailedHostUsers: last /./ like jk_chrootsh, 6-field lines kept, bad markers explained", () => {
  const text = [
    "root:x:0:0:root:/root:/bin/bash",
    "alice:x:1001:1001::/srv/jail/./home/alice:/usr/sbin/jk_chrootsh",
    "nested:x:1002:1002::/srv/a/./b/./home/n:/usr/sbin/jk_chrootsh",
    "six:x:1003:1003::/srv/six/./home/six",
    "short:x:1004:1004::/a/./x:/usr/sbin/jk_chrootsh",
    "dotted:x:1005:1005::/srv/../srv/j2/./home/d:/usr/sbin/jk_chrootsh",
    "plain:x:1006:1006::/home/plain:/bin/bash",
    "",
  ].join("\n");
  const users = jailedHostUsers(text, "/etc/passwd");
  assert.deepEqual(users.map((u) => [u.name, u.jail, u.inJailHome]), [
    ["alice", "/srv/jail", "/home/alice"],
    ["nested", "/srv/a/b", "/home/n"],
    ["six", "/srv/six", "/home/six"],
    ["short", undefined, undefined],
    ["dotted", "/srv/j2", "/home/d"],
  ]);
  assert.equal(users[0].problem, undefined);
  assert.match(users[1].problem!, /names the jail \/srv\/a\/\.\/b, which is not a canonical/);
  assert.match(users[2].problem!, /^\/etc\/passwd:4: expected 7 colon-separated fields, found 6/);
  assert.equal(users[2].shell, undefined);
  assert.match(users[3].problem!, /shorter than 3 bytes/);
  assert.match(users[4].problem!, /not a canonical absolute path/);
});

Deno.test("selectJails: sections then passwd jails, trailing slashes, DEFAULT, arguments only", () => {
  const ini = parseIni(
    [
      "[DEFAULT]",
      "ignorepathoncompare = /common",
      "[/srv/jail/]",
      "ignorewritableforothers = /srv/jail/upload",
      "[relative]",
      "[/srv/jail]",
      "[/]",
      "[/srv/other]",
    ].join("\n"),
    "c.ini",
    "python",
  );
  const users = jailedHostUsers(
    [
      "a:x:1001:1001::/srv/jail/./home/a:/usr/sbin/jk_chrootsh",
      "b:x:1002:1002::/srv/third/./home/b:/usr/sbin/jk_chrootsh",
    ].join("\n"),
    "/etc/passwd",
  );
  const all = selectJails(ini, users, [], "/");
  assert.deepEqual(all.jails.map((j) => [j.jail, j.source]), [
    ["/srv/jail", "config"],
    ["/srv/other", "config"],
    ["/srv/third", "passwd"],
  ]);
  assert.deepEqual(all.jails[0].settings.ignoreWritableForOthers, ["/srv/jail/upload"]);
  assert.deepEqual(all.jails[2].settings.ignorePathOnCompare, ["/common"]);
  assert.deepEqual(lines(all.findings), [
    "WARNING: c.ini:5: section [relative] is not an absolute jail path; skipped",
    "WARNING: c.ini:6: section [/srv/jail] names the jail /srv/jail again; only the first " +
    "section is used",
    "WARNING: c.ini:7: section [/] names /, which is not a jail; skipped",
  ]);

  const some = selectJails(ini, users, ["/srv/jail/", "x", "/"], "/srv");
  assert.deepEqual(some.jails.map((j) => [j.jail, j.source]), [
    ["/srv/jail", "argument"],
    ["/srv/x", "argument"],
  ]);
  assert.deepEqual(some.jails[0].settings.ignoreWritableForOthers, ["/srv/jail/upload"]);
  assert.ok(lines(some.findings).includes("ERROR: / is not a jail"));
});

// ---------------------------------------------------------------------------------------------
// One entry

function info(kind: NodeKind, mode: number, uid = 0, gid = 0): EntryInfo {
  return { kind, mode, uid, gid, size: 0, dev: 1, ino: 1, nlink: 1, rdev: 0 };
}

Deno.test("writableDirFinding: one warning per directory, others first, sticky temp dirs quiet", () => {
  const f = (inJail: string, i: EntryInfo, s: Partial<CheckSettings> = {}) =>
    writableDirFinding(J, inJail, i, { ...NO_SETTINGS, ...s });
  assert.equal(f("/usr", info("dir", 0o755)), undefined);
  assert.equal(
    findingLine(f("/up", info("dir", 0o777))!),
    `WARNING: ${J}/up/ is writable for others!`,
  );
  assert.equal(
    findingLine(f("/up", info("dir", 0o775))!),
    `WARNING: ${J}/up/ is writable for group!`,
  );
  assert.equal(findingLine(f("/", info("dir", 0o757))!), `WARNING: ${J}/ is writable for others!`);
  assert.equal(
    findingLine(f("/up/x", info("dir", 0o777), { ignoreWritableForOthers: [`${J}/up`] })!),
    `WARNING: ${J}/up/x/ is writable for group!`,
  );
  assert.equal(
    f("/up", info("dir", 0o777), {
      ignoreWritableForOthers: [`${J}/up`],
      ignoreWritableForGroup: [`${J}/up`],
    }),
    undefined,
  );
  // Whole components: /srv/jail/up does not cover /srv/jail/upload.
  assert.equal(
    findingLine(f("/upload", info("dir", 0o777), { ignoreWritableForOthers: [`${J}/up`] })!),
    `WARNING: ${J}/upload/ is writable for others!`,
  );
  // Root-owned sticky temporary directories are the normal shared /tmp.
  for (const t of ["/tmp", "/var/tmp", "/dev/shm", "/run/lock", "/var/lock"]) {
    assert.equal(f(t, info("dir", 0o1777)), undefined, t);
  }
  assert.ok(f("/tmp", info("dir", 0o777)), "not sticky");
  assert.ok(f("/tmp", info("dir", 0o1777, 1000)), "owned by a user");
  assert.ok(f("/usr/bin", info("dir", 0o1777)), "sticky does not protect a program directory");
});

Deno.test("setidFinding: set-id root files warned once, for the widest class not ignored", () => {
  const p = `${J}/usr/bin/su`;
  const f = (i: EntryInfo, s: Partial<CheckSettings> = {}) =>
    setidFinding(J, p, i, { ...NO_SETTINGS, ...s });
  assert.equal(
    findingLine(f(info("file", 0o4755))!),
    `WARNING: ${p} is executable for others and setuid root!!`,
  );
  assert.equal(
    findingLine(f(info("file", 0o4755), { ignoreSetuidExecuteForOthers: [p] })!),
    `WARNING: ${p} is executable for group and setuid root!!`,
  );
  assert.equal(
    findingLine(
      f(info("file", 0o4755), {
        ignoreSetuidExecuteForOthers: [p],
        ignoreSetuidExecuteForGroup: [p],
      })!,
    ),
    `WARNING: ${p} is executable for user and setuid root!!`,
  );
  assert.equal(
    f(info("file", 0o4755), {
      ignoreSetuidExecuteForOthers: [p],
      ignoreSetuidExecuteForGroup: [p],
      ignoreSetuidExecuteForUser: [p],
    }),
    undefined,
  );
  assert.equal(
    findingLine(f(info("file", 0o4700))!),
    `WARNING: ${p} is executable for user and setuid root!!`,
  );
  assert.equal(
    findingLine(f(info("file", 0o2755, 1000, 0))!),
    `WARNING: ${p} is executable for others and setgid root!!`,
  );
  assert.equal(f(info("file", 0o4755, 1000, 1000)), undefined, "set-uid to a user, not root");
  assert.equal(f(info("file", 0o4755, 1000, 0)), undefined, "set-uid to a user, group root");
  assert.equal(f(info("file", 0o4644)), undefined, "not executable");
  assert.equal(f(info("file", 0o755)), undefined);
});

// ---------------------------------------------------------------------------------------------
// The walk

Deno.test("walkJail: a fresh jail reports nothing (tool-written files, /tmp, homes, host links)", () => {
  const fs = new FakeFs(freshTree());
  const { findings, notes } = walk(fs, { homes: ["/home/alice"] });
  assert.deepEqual(lines(findings), []);
  // Equal files are compared in full; tool-written and local files are not compared at all.
  assert.deepEqual(fs.compared.sort(), [
    `${J}/etc/profile`,
    `${J}/usr/bin/bash`,
    `${J}/usr/bin/dash`,
    `${J}/usr/bin/ls`,
  ]);
  assert.ok(notes.includes(`comparing device ${J}/dev/null and /dev/null`));
});

Deno.test("walkJail: each planted difference is reported exactly once", () => {
  const cases: [string, (fs: FakeFs) => void, string][] = [
    [
      "same size, other bytes",
      (fs) => fs.add(`${J}/usr/bin/ls`, { kind: "file", content: "ELF ls progrAm", mode: 0o755 }),
      `ERROR: ${J}/usr/bin/ls and /usr/bin/ls are not the same!`,
    ],
    [
      "other size",
      (fs) => fs.add(`${J}/usr/bin/ls`, { kind: "file", content: "ELF ls program!", mode: 0o755 }),
      `ERROR: ${J}/usr/bin/ls and /usr/bin/ls have a different size!`,
    ],
    [
      "symlink with another text",
      (fs) => fs.add(`${J}/usr/bin/sh`, { kind: "symlink", target: "bash" }),
      `ERROR: symlinks ${J}/usr/bin/sh and /usr/bin/sh point to different files! (bash, dash)`,
    ],
    [
      "symlink where the host has a directory",
      (fs) => {
        fs.add("/usr/lib/x", { kind: "file", content: "x" });
        fs.add(`${J}/usr/lib`, { kind: "symlink", target: "/etc" });
      },
      `ERROR: symlink ${J}/usr/lib leads out of the jail when followed from the host (to /etc; ` +
      "/usr/lib is not a symlink)",
    ],
    [
      "file where the host has a directory",
      (fs) => {
        fs.add(`${J}/etc/jailkit2`, { kind: "file", content: "x" });
        fs.add("/etc/jailkit2/a", { kind: "file" });
      },
      `ERROR: ${J}/etc/jailkit2 is a regular file but /etc/jailkit2 is not!`,
    ],
    [
      "world-writable directory",
      (fs) => fs.add(`${J}/usr/share`, { kind: "dir", mode: 0o777 }),
      `WARNING: ${J}/usr/share/ is writable for others!`,
    ],
    [
      "set-uid root program",
      (fs) => fs.add(`${J}/usr/bin/bash`, { kind: "file", content: BASH, mode: 0o4755 }),
      `WARNING: ${J}/usr/bin/bash is executable for others and setuid root!!`,
    ],
  ];
  for (const [name, plant, expected] of cases) {
    const fs = new FakeFs(freshTree());
    plant(fs);
    assert.deepEqual(lines(walk(fs, { homes: ["/home/alice"] }).findings), [expected], name);
  }
});

Deno.test("walkJail: the last byte of a file is compared (no sampling)", () => {
  const big = "x".repeat(100_000);
  const fs = new FakeFs({
    "/usr/lib/libbig.so": { kind: "file", content: `${big}A` },
    [`${J}/usr/lib/libbig.so`]: { kind: "file", content: `${big}B` },
  });
  for (let i = 0; i < 5; i++) {
    assert.deepEqual(lines(walk(fs).findings), [
      `ERROR: ${J}/usr/lib/libbig.so and /usr/lib/libbig.so are not the same!`,
    ]);
  }
});

Deno.test("walkJail: ignore lists, hard links, pseudo file systems, bind-mount loops", () => {
  const tree = freshTree();
  const fs = new FakeFs({
    ...tree,
    [`${J}/usr/bin/bash`]: { kind: "file", content: "changed!!!!!!!!!", mode: 0o755 },
    [`${J}/srv/data`]: { kind: "dir", mode: 0o777 },
    [`${J}/srv/data/x`]: { kind: "file", mode: 0o4755, content: "x" },
    [`${J}/proc`]: { kind: "dir", dev: 9, mode: 0o555 },
    [`${J}/proc/1/environ`]: { kind: "file", dev: 9, content: "SECRET" },
    [`${J}/mnt`]: { kind: "dir", dev: 7 },
    [`${J}/mnt/tmp`]: { kind: "dir", dev: 7, mode: 0o777 },
  }, { [`${J}/proc`]: "proc", [`${J}/mnt`]: "ext4" });
  const result = walk(fs, {
    settings: {
      ignorePathEverywhere: [`${J}/srv`],
      ignorePathOnCompare: [`${J}/usr/bin/bash`],
    },
    homes: ["/home/alice"],
  });
  // The other file system is walked; proc is not; /srv is skipped entirely.
  assert.deepEqual(lines(result.findings), [`WARNING: ${J}/mnt/tmp/ is writable for others!`]);
  assert.ok(result.notes.includes(`ignoring path ${J}/proc (proc file system)`));
  assert.ok(result.notes.includes(`ignoring path ${J}/srv (ignorepatheverywhere)`));

  // A hard link to the host file (jk_init -k) is the same file: nothing to read.
  const linked = new FakeFs({
    "/usr/bin/ls": { kind: "file", content: LS, ino: 5 },
    [`${J}/usr/bin/ls`]: { kind: "file", content: LS, ino: 5 },
  });
  assert.deepEqual(lines(walk(linked).findings), []);
  assert.deepEqual(linked.compared, []);

  // A directory seen twice (bind mount of a parent) is walked once.
  const loop = new FakeFs({
    [J]: { kind: "dir", ino: 1 },
    [`${J}/again`]: { kind: "dir", ino: 1 },
    [`${J}/again/x`]: { kind: "dir", mode: 0o777 },
  });
  assert.deepEqual(lines(walk(loop).findings), []);
});

Deno.test("walkJail: a missing jail is one warning; a symlinked jail is not followed", () => {
  assert.deepEqual(lines(walk(new FakeFs({ "/srv": { kind: "dir" } })).findings), [
    `WARNING: cannot check files in ${J}, it does not exist`,
  ]);
  const fs = new FakeFs({
    "/srv/real/usr/share": { kind: "dir", mode: 0o777 },
    [J]: { kind: "symlink", target: "real" },
  });
  assert.deepEqual(lines(walk(fs).findings), []);
});

Deno.test("walkJail: unreadable entries are errors naming the path, and the walk goes on", () => {
  const fs = new FakeFs(freshTree());
  const broken: CheckFs = {
    lstat: (p) => fs.lstat(p),
    stat: (p) => fs.stat(p),
    readLink: (p) => fs.readLink(p),
    mountType: (p) => fs.mountType(p),
    readDir: (p) => {
      if (p === `${J}/etc`) throw new Error("Permission denied (os error 13)");
      return fs.readDir(p);
    },
    sameContent: (a) => {
      if (a === `${J}/usr/bin/ls`) {
        throw new JailkitError("io", `${a} changed while it was being checked`);
      }
      return true;
    },
  };
  assert.deepEqual(lines(walk(broken, { homes: ["/home/alice"] }).findings), [
    `ERROR: failed to test any files in ${J}/etc/: Permission denied (os error 13)`,
    `ERROR: cannot read ${J}/usr/bin/ls or /usr/bin/ls: ${J}/usr/bin/ls changed while it was ` +
    "being checked",
  ]);
});

Deno.test("walkJail: entries the host lacks, each once; a jail-only directory once for all it holds", () => {
  const fs = new FakeFs({
    ...freshTree(),
    // A dropped program, a relative link and a directory tree the host does not have.
    [`${J}/usr/bin/dropped`]: { kind: "file", content: "ELF", mode: 0o755 },
    [`${J}/usr/bin/vi`]: { kind: "symlink", target: "ls" },
    [`${J}/opt/tools/bin/a`]: { kind: "file", content: "a" },
    [`${J}/opt/tools/b`]: { kind: "symlink", target: "bin/a" },
    // jk_init's emptydirs for a directory the host lacks, and the parents of a home.
    [`${J}/srv/empty/deeper`]: { kind: "dir" },
    [`${J}/srv/www/alice/site.html`]: { kind: "file", content: "alice's page" },
    // Local data and ignored paths are the jail's own.
    [`${J}/home/carol/x`]: { kind: "file", content: "x" },
    [`${J}/tmp/new`]: { kind: "file", content: "x" },
    [`${J}/var/log/new.log`]: { kind: "file", content: "x" },
    [`${J}/etc/jailkit/new.ini`]: { kind: "file", content: "x" },
    [`${J}/usr/local/custom`]: { kind: "file", content: "x" },
  });
  const { findings } = walk(fs, {
    homes: ["/home/alice", "/srv/www/alice"],
    settings: { ignorePathOnCompare: [`${J}/usr/local`] },
  });
  assert.deepEqual(lines(findings), [
    `WARNING: ${J}/opt/ is only in the jail: /opt does not exist on the host`,
    `WARNING: ${J}/usr/bin/dropped is only in the jail: /usr/bin/dropped does not exist on ` +
    "the host",
    `WARNING: ${J}/usr/bin/vi is only in the jail: /usr/bin/vi does not exist on the host`,
  ]);
  assert.deepEqual(findings.map((f) => [f.kind, f.path]), [
    ["jail-only", `${J}/opt`],
    ["jail-only", `${J}/usr/bin/dropped`],
    ["jail-only", `${J}/usr/bin/vi`],
  ]);

  // A file where the host has a dangling symlink is not a host file either.
  const dangling = new FakeFs({
    "/etc/motd": { kind: "symlink", target: "/run/motd.dynamic" },
    [`${J}/etc/motd`]: { kind: "file", content: "hello" },
  });
  assert.deepEqual(lines(walk(dangling).findings), [
    `ERROR: ${J}/etc/motd is a regular file but /etc/motd is not!`,
  ]);
});

Deno.test("walkJail: symlinks that lead out of the jail from the host; the host's own links are quiet", () => {
  const cases: [string, Record<string, FakeNode>, string[]][] = [
    ["absolute, planted", { [`${J}/usr/share/x`]: { kind: "symlink", target: "/etc/shadow" } }, [
      `ERROR: symlink ${J}/usr/share/x leads out of the jail when followed from the host ` +
      "(to /etc/shadow; /usr/share/x does not exist)",
    ]],
    ["relative, .. past the jail root", {
      [`${J}/usr/share/up`]: { kind: "symlink", target: "../../../etc" },
    }, [
      `ERROR: symlink ${J}/usr/share/up leads out of the jail when followed from the host ` +
      "(to ../../../etc; /usr/share/up does not exist)",
    ]],
    ["changed host link", {
      "/usr/bin/pager": { kind: "symlink", target: "less" },
      [`${J}/usr/bin/pager`]: { kind: "symlink", target: "/etc/passwd" },
    }, [
      `ERROR: symlink ${J}/usr/bin/pager leads out of the jail when followed from the host ` +
      "(to /etc/passwd; /usr/bin/pager is a symlink to less)",
    ]],
    ["where the host has a file", {
      [`${J}/etc/profile`]: { kind: "symlink", target: "/etc/shadow" },
    }, [
      `ERROR: symlink ${J}/etc/profile leads out of the jail when followed from the host ` +
      "(to /etc/shadow; /etc/profile is not a symlink)",
    ]],
    // `b` alone stays inside (it is the jail root), but `a`'s own `..` then leaves.
    ["through an inner link", {
      [`${J}/x/b`]: { kind: "symlink", target: ".." },
      [`${J}/x/a`]: { kind: "symlink", target: "b/../etc/shadow" },
    }, [
      `WARNING: ${J}/x/ is only in the jail: /x does not exist on the host`,
      `ERROR: symlink ${J}/x/a leads out of the jail when followed from the host ` +
      "(to b/../etc/shadow; /x/a does not exist)",
    ]],
    // Leaving through another link is that link's finding, not this one's.
    ["via a link judged on its own", {
      [`${J}/usr/share/vi`]: { kind: "symlink", target: "../../etc/alternatives/vi/.." },
    }, [
      `WARNING: ${J}/usr/share/vi is only in the jail: /usr/share/vi does not exist on the host`,
    ]],
    // The jail's own path, spelt in full, stays in the jail from the host.
    ["absolute into the jail", {
      [`${J}/usr/share/ls`]: { kind: "symlink", target: `${J}/usr/bin/ls` },
    }, [
      `WARNING: ${J}/usr/share/ls is only in the jail: /usr/share/ls does not exist on the host`,
    ]],
    ["the user's own, in a home", {
      [`${J}/home/alice/secret`]: { kind: "symlink", target: "/etc/shadow" },
      [`${J}/tmp/t`]: { kind: "symlink", target: "/etc/shadow" },
    }, []],
    ["a loop", {
      [`${J}/usr/share/l1`]: { kind: "symlink", target: "l2/x" },
      [`${J}/usr/share/l2`]: { kind: "symlink", target: "l1/x" },
    }, [
      `WARNING: ${J}/usr/share/l1 is only in the jail: /usr/share/l1 does not exist on the host`,
      `WARNING: ${J}/usr/share/l2 is only in the jail: /usr/share/l2 does not exist on the host`,
    ]],
  ];
  for (const [name, planted, expected] of cases) {
    const fs = new FakeFs({ ...freshTree(), ...planted });
    assert.deepEqual(lines(walk(fs, { homes: ["/home/alice"] }).findings), expected, name);
  }
  const escape = walk(
    new FakeFs({ ...freshTree(), [`${J}/usr/x`]: { kind: "symlink", target: "/" } }),
  ).findings;
  assert.deepEqual(escape.map((f) => [f.severity, f.kind, f.path]), [
    ["error", "symlink-escape", `${J}/usr/x`],
  ]);
});

Deno.test("walkJail: hard links to files outside the jail; jk_init -k links are quiet", () => {
  const fs = new FakeFs({
    ...freshTree(),
    // jk_init -k: the host file of the same path, whatever other links the host has.
    "/usr/bin/perl": { kind: "file", content: "perl", ino: 7, outsideLinks: 1 },
    [`${J}/usr/bin/perl`]: { kind: "file", content: "perl", ino: 7 },
    // Two names of one file, both in the jail (host copies of a and b are separate files).
    "/usr/lib/a": { kind: "file", content: "same" },
    "/usr/lib/b": { kind: "file", content: "same" },
    [`${J}/usr/lib/a`]: { kind: "file", content: "same", ino: 8 },
    [`${J}/usr/lib/b`]: { kind: "file", content: "same", ino: 8 },
    // The inode of another host file (/etc/shadow), under a name the host lacks.
    "/etc/shadow": { kind: "file", content: "root:hash", ino: 9 },
    [`${J}/usr/share/hn`]: { kind: "file", content: "root:hash", ino: 9 },
    // A jail file linked to a file in no tree we know (another jail, say).
    [`${J}/etc/profile`]: { kind: "file", content: "PATH=/usr/bin", outsideLinks: 1 },
    // The tools' own files and the users' data are never -k links.
    [`${J}/etc/group`]: { kind: "file", content: "root:x:0:\n", ino: 10 },
    "/etc/group": { kind: "file", content: "root:x:0:\n", ino: 10 },
  });
  fs.remove("/etc/group");
  const result = walk(fs, { homes: ["/home/alice"] }).findings;
  assert.deepEqual(lines(result), [
    `ERROR: ${J}/etc/profile is a hard link to a file outside the jail (2 links, 1 in the jail)`,
    `ERROR: ${J}/usr/share/hn is a hard link to a file outside the jail (2 links, 1 in the jail)`,
  ]);
  assert.ok(result.every((f) => f.kind === "hardlink" && f.severity === "error"));

  // A jail-only file whose links are all in the jail is reported as jail-only, at the end.
  const inside = new FakeFs({
    ...freshTree(),
    "/usr/lib/libc.so": { kind: "file" },
    [`${J}/usr/lib/a`]: { kind: "file", content: "same", ino: 8 },
    [`${J}/usr/lib/b`]: { kind: "file", content: "same", ino: 8 },
  });
  assert.deepEqual(lines(walk(inside).findings), [
    `WARNING: ${J}/usr/lib/a is only in the jail: /usr/lib/a does not exist on the host`,
    `WARNING: ${J}/usr/lib/b is only in the jail: /usr/lib/b does not exist on the host`,
  ]);
});

Deno.test("walkJail: devices outside /dev or unlike the host's, FIFOs and sockets no tool made", () => {
  const fs = new FakeFs({
    ...freshTree(),
    [`${J}/usr/share/mem`]: { kind: "char", rdev: 257 },
    [`${J}/home/alice/disk`]: { kind: "block", rdev: 2048 },
    "/dev/zero": { kind: "char", rdev: 261 },
    [`${J}/dev/zero`]: { kind: "char", rdev: 2048 },
    [`${J}/dev/sda`]: { kind: "block", rdev: 2048 },
    [`${J}/usr/share/fifo`]: { kind: "fifo" },
    [`${J}/etc/sock`]: { kind: "socket" },
    // jk_socketd's: dev/log always, others from its configuration; users' own places.
    [`${J}/dev/log`]: { kind: "socket" },
    [`${J}/var/spool/postfix/dev/log`]: { kind: "socket" },
    [`${J}/home/alice/.gnupg/S.gpg-agent`]: { kind: "socket" },
    [`${J}/tmp/fifo`]: { kind: "fifo" },
    [`${J}/run/daemon.sock`]: { kind: "socket" },
  });
  const { findings } = walk(fs, {
    homes: ["/home/alice"],
    sockets: [`${J}/var/spool/postfix/dev/log`],
  });
  assert.deepEqual(lines(findings), [
    `ERROR: ${J}/dev/sda is a block device, but /dev/sda does not exist on the host!`,
    `ERROR: ${J}/dev/zero is not the same device as /dev/zero!`,
    `WARNING: ${J}/etc/sock is a socket, which no jailkit tool makes there`,
    `ERROR: ${J}/home/alice/disk is a block device outside /dev!`,
    `WARNING: ${J}/usr/share/fifo is a FIFO, which no jailkit tool makes there`,
    `ERROR: ${J}/usr/share/mem is a char device outside /dev!`,
  ]);
  assert.deepEqual(findings.map((f) => f.kind), [
    "device",
    "device",
    "special",
    "device",
    "special",
    "device",
  ]);
});

Deno.test("foreignSetidFinding: set-id files owned by anyone but root", () => {
  const file = (mode: number, uid: number) => ({ ...info("file", mode, uid), size: 1 });
  assert.equal(foreignSetidFinding(J, `${J}/x`, file(0o4755, 0)), undefined);
  assert.equal(foreignSetidFinding(J, `${J}/x`, file(0o755, 1000)), undefined);
  assert.equal(foreignSetidFinding(J, `${J}/x`, info("dir", 0o2775, 1000)), undefined);
  assert.equal(
    findingLine(foreignSetidFinding(J, `${J}/x`, file(0o4755, 1000))!),
    `WARNING: ${J}/x is setuid and owned by uid 1000, not root!`,
  );
  assert.equal(
    findingLine(foreignSetidFinding(J, `${J}/x`, file(0o2711, 33))!),
    `WARNING: ${J}/x is setgid and owned by uid 33, not root!`,
  );
  // In the walk, next to the set-uid-root warnings.
  const fs = new FakeFs({
    ...freshTree(),
    [`${J}/usr/bin/ls`]: { kind: "file", content: LS, mode: 0o4755, uid: 1000 },
  });
  assert.deepEqual(lines(walk(fs).findings), [
    `WARNING: ${J}/usr/bin/ls is setuid and owned by uid 1000, not root!`,
  ]);
});

Deno.test("jailShellFindings: a user's shell must be an executable file of the jail", () => {
  const fs = new FakeFs({
    [`${J}/bin`]: { kind: "symlink", target: "usr/bin" },
    [`${J}/usr/bin/bash`]: { kind: "file", mode: 0o755 },
    [`${J}/usr/bin/rbash`]: { kind: "symlink", target: "/usr/bin/bash" },
    [`${J}/usr/bin/notes`]: { kind: "file", mode: 0o644 },
    [`${J}/usr/sbin/jk_lsh`]: { kind: "file", mode: 0o755 },
    // A link that leaves the jail from the host is followed as a jailed process does.
    "/usr/bin/zsh": { kind: "file", mode: 0o755 },
  });
  const jailPasswd = parsePasswd(
    [
      "root:x:0:0:root:/root:/bin/bash",
      "daemon:x:4242:1:daemon:/usr/sbin:/usr/sbin/nologin",
      "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin",
      "alice:x:1001:1001::/home/alice:/usr/sbin/jk_lsh",
      "bob:x:1002:1002::/home/bob:/bin/rbash",
      "carol:x:1003:1003::/home/carol:/usr/bin/zsh",
      "dave:x:1004:1004::/home/dave:/usr/bin/notes",
      "eve:x:1005:1005::/home/eve:",
      "www-data:x:99:33:www-data:/var/www:/usr/sbin/nologin",
    ].join("\n"),
    `${J}/etc/passwd`,
  );
  const findings = jailShellFindings(J, jailPasswd, HOST, fs);
  assert.deepEqual(lines(findings), [
    `WARNING: the shell /usr/bin/zsh of user carol does not exist in jail ${J}`,
    `WARNING: the shell /usr/bin/notes of user dave is not an executable file in jail ${J}`,
    `WARNING: the shell /bin/sh of user eve does not exist in jail ${J}`,
  ]);
  assert.deepEqual(findings.map((f) => [f.kind, f.user]), [
    ["jail-user", "carol"],
    ["jail-user", "dave"],
    ["jail-user", "eve"],
  ]);
});

Deno.test("resolveTarget: from the host, or as a jailed process sees it", () => {
  const fs = new FakeFs({
    [`${J}/bin`]: { kind: "symlink", target: "usr/bin" },
    [`${J}/usr/bin/ls`]: { kind: "file" },
    [`${J}/x/b`]: { kind: "symlink", target: ".." },
    [`${J}/etc/alternatives/vi`]: { kind: "symlink", target: "/usr/bin/vim.basic" },
  });
  const host = { chroot: false, followLast: false };
  const chroot = { chroot: true, followLast: true };
  assert.deepEqual(resolveTarget(fs, J, "/", "bin/ls", host), {
    where: "inside",
    path: "/usr/bin/ls",
  });
  assert.deepEqual(resolveTarget(fs, J, "/usr", "../../x", host), { where: "outside" });
  assert.deepEqual(resolveTarget(fs, J, "/x", "b/../y", host), { where: "outside" });
  assert.deepEqual(resolveTarget(fs, J, "/x", "b/y", host), { where: "inside", path: "/y" });
  assert.deepEqual(resolveTarget(fs, J, "/", "etc/alternatives/vi/..", host), {
    where: "via-link",
  });
  assert.deepEqual(resolveTarget(fs, J, "/", `${J}/bin/ls`, host), {
    where: "inside",
    path: "/usr/bin/ls",
  });
  assert.deepEqual(resolveTarget(fs, J, "/usr", "/etc/x", chroot), {
    where: "inside",
    path: "/etc/x",
  });
  assert.deepEqual(resolveTarget(fs, J, "/", "../../bin/ls", chroot), {
    where: "inside",
    path: "/usr/bin/ls",
  });
  assert.deepEqual(resolveTarget(fs, J, "/", "etc/alternatives/vi", chroot), {
    where: "inside",
    path: "/usr/bin/vim.basic",
  });
  const loop = new FakeFs({ [`${J}/a`]: { kind: "symlink", target: "a" } });
  assert.deepEqual(resolveTarget(loop, J, "/", "a", chroot), { where: "loop" });
});

// ---------------------------------------------------------------------------------------------
// Users

const HOST = parsePasswd(
  [
    "root:x:0:0:root:/root:/bin/bash",
    "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin",
    "www-data:x:33:33:www-data:/var/www:/usr/sbin/nologin",
    "alice:x:1001:1001::/srv/jail/./home/alice:/usr/sbin/jk_chrootsh",
    "bob:x:1002:1002::/srv/jail/./home/bob/:/usr/sbin/jk_chrootsh",
    "carol:x:1003:1003::/home/carol:/bin/bash",
    "dave:x:1004:1004::/srv/other/./home/dave:/usr/sbin/jk_chrootsh",
  ].join("\n"),
  "/etc/passwd",
);

Deno.test("jailUserFindings: root and unchanged system accounts skipped, every mismatch named", () => {
  const jailPasswd = parsePasswd(
    [
      "root:x:0:0:root:/root:/bin/bash",
      "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin",
      "www-data:x:99:33:www-data:/var/www:/usr/sbin/nologin",
      "alice:x:1001:1001::/home/alice:/usr/sbin/jk_lsh",
      "bob:x:1002:1002::/home/bob:/bin/bash",
      "carol:x:1003:1003::/home/carol:/bin/bash",
      "dave:x:1004:1004::/home/dave:/bin/bash",
      "eve:x:1005:1005::/home/eve:/bin/bash",
      "",
      "broken line",
    ].join("\n"),
    `${J}/etc/passwd`,
  );
  const notes: string[] = [];
  const findings = jailUserFindings(J, jailPasswd, HOST, (t) => notes.push(t));
  assert.deepEqual(lines(findings), [
    `WARNING: ${J}/etc/passwd:10: expected 7 colon-separated fields, found 1; line ignored`,
    `ERROR: user www-data is changed in jail ${J}`,
    `ERROR: the real homedir and jail homedir for user carol do not correspond in jail ${J} ` +
    `(host /home/carol, jail /home/carol, expected ${J}/./home/carol)`,
    `ERROR: the real homedir and jail homedir for user dave do not correspond in jail ${J} ` +
    `(host /srv/other/./home/dave, jail /home/dave, expected ${J}/./home/dave)`,
    `ERROR: user eve in jail ${J} does not exist on the real system`,
  ]);
  assert.ok(notes.includes(`ignoring entry for user root in ${J}/etc/passwd`));
  assert.deepEqual(findings.map((f) => f.user), [undefined, "www-data", "carol", "dave", "eve"]);
});

Deno.test("hostUserFindings: jail entry and jk_chrootsh shell of each account of the jail", () => {
  const users = jailedHostUsers(
    [
      "alice:x:1001:1001::/srv/jail/./home/alice:/usr/sbin/jk_chrootsh",
      "bob:x:1002:1002::/srv/jail/./home/bob:/bin/bash",
      "six:x:1003:1003::/srv/jail/./home/six",
      "usrmerge:x:1004:1004::/srv/jail/./home/u:/sbin/jk_chrootsh",
      "elsewhere:x:1005:1005::/srv/other/./home/e:/bin/bash",
    ].join("\n"),
    "/etc/passwd",
  );
  const jailPasswd = parsePasswd(
    "alice:x:1001:1001::/home/alice:/bin/sh\nbob:x:1002:1002::/home/bob:/bin/sh\n" +
      "usrmerge:x:1004:1004::/home/u:/bin/sh\n",
    `${J}/etc/passwd`,
  );
  const shells = chrootshPaths("/usr/sbin/jk_chrootsh");
  assert.deepEqual(lines(hostUserFindings(J, users, jailPasswd, shells)), [
    "ERROR: user bob has a /./ but does not have the /usr/sbin/jk_chrootsh shell " +
    "(it has /bin/bash)",
    "ERROR: /etc/passwd:3: expected 7 colon-separated fields, found 6; line ignored",
    `ERROR: user six does not exist in ${J}/etc/passwd`,
  ]);
  // An unreadable jail passwd has been reported already; an absent one has no users.
  assert.deepEqual(lines(hostUserFindings(J, users.slice(0, 1), null, shells)), []);
  assert.deepEqual(lines(hostUserFindings(J, users.slice(0, 1), undefined, shells)), [
    `ERROR: user alice does not exist in ${J}/etc/passwd`,
  ]);
});

Deno.test("chrootshPaths: this installation's jk_chrootsh, jailkit's and its usrmerge alias", () => {
  assert.deepEqual(chrootshPaths("/usr/sbin/jk_chrootsh"), [
    "/usr/sbin/jk_chrootsh",
    "/sbin/jk_chrootsh",
  ]);
  assert.deepEqual(chrootshPaths("/opt/jk/sbin/jk_chrootsh"), [
    "/opt/jk/sbin/jk_chrootsh",
    "/usr/sbin/jk_chrootsh",
    "/sbin/jk_chrootsh",
  ]);
  // From a checkout the tools name jailkit's path.
  assert.equal(chrootshPaths()[0], "/usr/sbin/jk_chrootsh");
});

Deno.test("checkJail: an unsafe jail is one error, its directory not warned again; homes skipped", () => {
  const fs = new FakeFs({
    ...freshTree(),
    [`${J}/etc`]: { kind: "dir", mode: 0o777 },
    [`${J}/home/alice/notes`]: { kind: "file", content: "alice's own notes" },
    "/home/alice/notes": { kind: "file", content: "host notes" },
    "/usr/sbin/jk_lsh": { kind: "file", content: "jk_lsh", mode: 0o755 },
    [`${J}/usr/sbin/jk_lsh`]: { kind: "file", content: "jk_lsh", mode: 0o755 },
  });
  const findings: Finding[] = [];
  checkJail({
    jail: J,
    settings: NO_SETTINGS,
    hostPasswd: HOST,
    hostUsers: jailedHostUsers(
      "alice:x:1001:1001::/srv/jail/./home/alice:/usr/sbin/jk_chrootsh",
      "/etc/passwd",
    ),
    shells: ["/usr/sbin/jk_chrootsh"],
    readJailPasswd: () =>
      "root:x:0:0:root:/root:/bin/bash\nalice:x:1001:1001::/home/alice:/usr/sbin/jk_lsh\n",
    checkSafety: (jail) => {
      throw new JailkitError(
        "unsafe-jail",
        `${jail}/etc is writable by group or others (0777 0:0)`,
      );
    },
    fs,
    report: (f) => findings.push(f),
    note: () => {},
  });
  assert.deepEqual(lines(findings), [
    `ERROR: jail ${J} is not safe: ${J}/etc is writable by group or others (0777 0:0)`,
  ]);
});

Deno.test("checkJail: an OS error in the safety check or the passwd read is a finding", () => {
  const findings: Finding[] = [];
  checkJail({
    jail: J,
    settings: NO_SETTINGS,
    hostPasswd: HOST,
    hostUsers: jailedHostUsers(
      "alice:x:1001:1001::/srv/jail/./home/alice:/usr/sbin/jk_chrootsh",
      "/etc/passwd",
    ),
    shells: ["/usr/sbin/jk_chrootsh"],
    readJailPasswd: () => {
      throw new Deno.errors.PermissionDenied("Permission denied (os error 13)");
    },
    checkSafety: () => {
      throw new Deno.errors.PermissionDenied("Permission denied (os error 13): lstat '/srv'");
    },
    fs: new FakeFs(freshTree()),
    report: (f) => findings.push(f),
    note: () => {},
  });
  // The jail's users cannot be listed, so alice is not reported missing from them.
  assert.deepEqual(lines(findings), [
    `ERROR: cannot check the path to jail ${J}: Permission denied (os error 13): lstat '/srv'`,
    `ERROR: cannot read ${J}/etc/passwd: Permission denied (os error 13)`,
  ]);
});

// ---------------------------------------------------------------------------------------------
// Production wiring on real files

Deno.test("systemCheckFs.sameContent: every byte, never follows a jail symlink, never blocks", () => {
  const { dir, cleanup } = tempDir("check");
  try {
    const size = 3 * 1024 * 1024 + 17;
    const a = new Uint8Array(size).fill(7);
    const b = a.slice();
    b[size - 1] = 8;
    Deno.writeFileSync(`${dir}/a`, a);
    Deno.writeFileSync(`${dir}/a2`, a);
    Deno.writeFileSync(`${dir}/b`, b);
    const fs = systemCheckFs();
    const infoA = fs.lstat(`${dir}/a`)!;
    assert.equal(infoA.kind, "file");
    assert.equal(infoA.size, size);
    assert.equal(fs.sameContent(`${dir}/a`, infoA, `${dir}/a2`), true);
    assert.equal(fs.sameContent(`${dir}/a`, infoA, `${dir}/b`), false);
    // Swapped for a symlink after the lstat: refused, not followed.
    Deno.symlinkSync(`${dir}/a2`, `${dir}/link`);
    assert.throws(() => fs.sameContent(`${dir}/link`, infoA, `${dir}/a2`));
    // Swapped for another file: noticed.
    assert.throws(
      () => fs.sameContent(`${dir}/a2`, infoA, `${dir}/a`),
      /changed while it was being checked/,
    );
    // A FIFO does not block the check.
    new Deno.Command("mkfifo", { args: [`${dir}/fifo`] }).outputSync();
    assert.throws(() => fs.sameContent(`${dir}/fifo`, infoA, `${dir}/a`), /changed/);
    assert.equal(fs.lstat(`${dir}/missing`), undefined);
    assert.equal(fs.stat(`${dir}/link`)!.kind, "file");
    assert.equal(fs.lstat(`${dir}/link`)!.kind, "symlink");
  } finally {
    cleanup();
  }
});

Deno.test("readJailPasswd: resolved inside the jail; absent is undefined; a loop is an error", () => {
  const { dir, cleanup } = tempDir("check");
  try {
    assert.equal(readJailPasswd(dir), undefined);
    Deno.mkdirSync(`${dir}/real-etc`);
    Deno.writeTextFileSync(`${dir}/real-etc/passwd`, "root:x:0:0::/root:/bin/sh\n");
    // An absolute link means "inside the jail": /real-etc, not the host's.
    Deno.symlinkSync("/real-etc", `${dir}/etc`);
    assert.equal(readJailPasswd(dir), "root:x:0:0::/root:/bin/sh\n");
    Deno.removeSync(`${dir}/etc`);
    Deno.mkdirSync(`${dir}/etc`);
    Deno.symlinkSync("/etc/passwd", `${dir}/etc/passwd`);
    assert.throws(() => readJailPasswd(dir), /too many levels of symlinks/);
  } finally {
    cleanup();
  }
});

Deno.test("parseMountinfo: mount points with escapes, types after the separator", () => {
  const m = parseMountinfo(
    [
      "22 1 0:21 / /proc rw,nosuid shared:12 - proc proc rw",
      "90 22 0:50 / /srv/my\\040jail/proc rw - proc proc rw",
      "91 22 8:1 / /srv/jail/data rw master:1 - ext4 /dev/sda1 rw",
      "garbage",
    ].join("\n"),
  );
  assert.equal(m.get("/proc"), "proc");
  assert.equal(m.get("/srv/my jail/proc"), "proc");
  assert.equal(m.get("/srv/jail/data"), "ext4");
  assert.equal(m.size, 3);
});
