/**
 * jk_jailuser's deciding code (lib/admin/jailuser.ts): jail passwd/group lines, host home and usermod
 * arguments, move decisions, jail validation against a fake file system; and the home mover's
 * copy/compare/change-detection on scratch directories.
 */
import assert from "node:assert/strict";
import { parseGroup, parsePasswd, type PasswdEntry } from "../lib/config/passwd.ts";
import {
  checkMoveSource,
  CHROOTSH,
  compareTrees,
  copyTree,
  homeLayout,
  jailProblem,
  type JailuserPlan,
  MoveError,
  moveQuestion,
  planJailUsers,
  shellProblem,
  unchangedSince,
  userNameProblem,
} from "../lib/admin/jailuser.ts";
import type { Op } from "../lib/core/plan.ts";
import { tempDir } from "./helpers.ts";

const JAIL = "/srv/jail";

const HOST_PASSWD = [
  "root:x:0:0:root:/root:/bin/bash",
  "alice:x:1001:1001:Alice A,Room 1:/home/alice:/bin/bash",
  "bob:x:1002:100:Bob:/srv/jail/./home/bob:/bin/sh",
  "carol:x:1003:1003::/srv/jail/home/carol:/bin/sh",
  "dave:x:1004:1004:Dave:/srv/jail/./home/dave:/usr/sbin/jk_chrootsh",
  "eve:x:1005:1005::/other/jail/./home/eve:/bin/sh",
  "frank:x:1006:4242::/home/frank/:/bin/sh",
  "",
].join("\n");

const HOST_GROUP = [
  "root:x:0:",
  "users:x:100:alice,bob",
  "alice:x:1001:",
  "carol:x:1003:",
  "dave:x:1004:",
  "eve:x:1005:",
  "staff:x:50:carol,alice",
  "",
].join("\n");

function plan(
  users: { name: string; move?: boolean }[],
  jailPasswd = "root:x:0:0:root:/root:/bin/bash\n",
  jailGroup = "root:x:0:\n",
  lstat: (p: string) => Deno.FileInfo | undefined = () => undefined,
): JailuserPlan {
  return planJailUsers({
    jail: JAIL,
    shell: "/usr/sbin/jk_lsh",
    hostPasswd: parsePasswd(HOST_PASSWD, "/etc/passwd"),
    hostGroup: parseGroup(HOST_GROUP, "/etc/group"),
    jailPasswd: parsePasswd(jailPasswd, `${JAIL}/etc/passwd`),
    jailGroup: parseGroup(jailGroup, `${JAIL}/etc/group`),
    users: users.map((u) => ({ name: u.name, move: u.move ?? false })),
    lstat,
  });
}

function texts(ops: Op[]): string[] {
  return ops.map((o) => (o.op === "note" ? o.msg.text : o.op));
}

function moveError(fn: () => unknown): MoveError {
  try {
    fn();
  } catch (e) {
    if (e instanceof MoveError) return e;
    throw e;
  }
  throw new assert.AssertionError({ message: "expected a MoveError" });
}

function entry(text: string): PasswdEntry {
  return parsePasswd(text, "/etc/passwd").entries[0];
}

Deno.test("a user outside the jail gets jailkit's passwd and group lines and usermod", () => {
  const p = plan([{ name: "alice" }]);
  assert.deepStrictEqual(
    p.passwdText,
    "root:x:0:0:root:/root:/bin/bash\n" +
      "alice:x:1001:1001:Alice A,Room 1:/home/alice:/usr/sbin/jk_lsh\n",
  );
  // primary group first, then supplementary groups in /etc/group order
  assert.deepStrictEqual(
    p.groupText,
    "root:x:0:\nalice:x:1001:\nusers:x:100:alice\nstaff:x:50:alice\n",
  );
  assert.deepStrictEqual(p.users.length, 1);
  assert.deepStrictEqual(p.users[0].usermod, [
    "-d",
    "/srv/jail/./home/alice",
    "-s",
    CHROOTSH,
    "--",
    "alice",
  ]);
  assert.deepStrictEqual(p.users[0].layout.inJailHome, "/home/alice");
  const notes = texts(p.notes);
  assert.ok(notes.includes(`adding user alice to ${JAIL}/etc/passwd with shell /usr/sbin/jk_lsh`));
  assert.ok(notes.includes(`adding group users to ${JAIL}/etc/group`));
  assert.deepStrictEqual(p.users[0].layout.destination, "/srv/jail/home/alice");
  assert.ok(texts(p.notes).some((n) => /jk_chrootsh is not installed on this host/.test(n)));
  const installed = { isFile: true, isSymlink: false, mode: 0o104755 } as Deno.FileInfo;
  const withShell = plan(
    [{ name: "alice" }],
    undefined,
    undefined,
    (path) => path === CHROOTSH ? installed : undefined,
  );
  assert.ok(!texts(withShell.notes).some((n) => /not installed/.test(n)));
});

Deno.test("existing jail groups get the user added to their member field only", () => {
  const p = plan(
    [{ name: "alice" }],
    "",
    "root:x:0:\nusers:*:100:zed\nstaff:x:50:\n",
  );
  assert.deepStrictEqual(
    p.groupText,
    "root:x:0:\nusers:*:100:zed,alice\nstaff:x:50:alice\nalice:x:1001:\n",
  );
  assert.ok(texts(p.notes).includes("Adding user alice to group users"));
});

Deno.test("a home already marked (ISPConfig's usermod first) only needs the shell changed", () => {
  const p = plan([{ name: "bob" }]);
  assert.deepStrictEqual(
    p.passwdText?.split("\n")[1],
    "bob:x:1002:100:Bob:/home/bob:/usr/sbin/jk_lsh",
  );
  assert.deepStrictEqual(p.groupText, "root:x:0:\nusers:x:100:bob\n");
  assert.deepStrictEqual(p.users[0].usermod, [
    "-d",
    "/srv/jail/./home/bob",
    "-s",
    CHROOTSH,
    "--",
    "bob",
  ]);
});

Deno.test("a home inside the jail without marker gets the marker inserted, nothing to move", () => {
  const p = plan([{ name: "carol", move: true }]);
  assert.deepStrictEqual(p.users[0].usermod?.[1], "/srv/jail/./home/carol");
  assert.deepStrictEqual(
    p.passwdText?.split("\n")[1],
    "carol:x:1003:1003::/home/carol:/usr/sbin/jk_lsh",
  );
  assert.deepStrictEqual(p.users[0].move, false);
  assert.ok(
    texts(p.users[0].notes).includes(
      "home directory /srv/jail/home/carol is already inside the jail",
    ),
  );
});

Deno.test("an account already switched needs no usermod", () => {
  const p = plan([{ name: "dave" }]);
  assert.deepStrictEqual(p.users[0].usermod, undefined);
  assert.ok(
    texts(p.users[0].notes).includes("user dave has a correct home directory and shell already"),
  );
});

Deno.test("a rerun on a complete jail changes no file", () => {
  const first = plan([{ name: "alice" }, { name: "bob" }]);
  const second = plan([{ name: "alice" }, { name: "bob" }], first.passwdText, first.groupText);
  assert.deepStrictEqual(second.passwdText, undefined);
  assert.deepStrictEqual(second.groupText, undefined);
  assert.ok(texts(second.notes).includes(`user alice already exists in ${JAIL}/etc/passwd`));
});

Deno.test("unknown, repeated and option-like names are skipped with a message", () => {
  const p = plan([{ name: "nobody-here" }, { name: "-x" }, { name: "alice" }, { name: "alice" }]);
  const notes = texts(p.notes);
  assert.ok(notes.includes("user nobody-here does not exist"));
  assert.ok(notes.some((n) => /ERROR: user name "-x" starts with "-"; user skipped/.test(n)));
  assert.deepStrictEqual(p.users.map((u) => u.name), ["alice"]);
  assert.deepStrictEqual(p.passwdText?.match(/^alice:/gm)?.length, 1);
});

Deno.test("a home marked for another jail is refused, the jail files stay unchanged", () => {
  const p = plan([{ name: "eve" }]);
  assert.deepStrictEqual(p.users, []);
  assert.deepStrictEqual(p.passwdText, undefined);
  assert.ok(texts(p.notes).some((n) => n.includes("another jail")));
});

Deno.test("a trailing slash is dropped and a missing primary group is reported", () => {
  const p = plan([{ name: "frank" }]);
  assert.deepStrictEqual(
    p.passwdText?.split("\n")[1],
    "frank:x:1006:4242::/home/frank:/usr/sbin/jk_lsh",
  );
  assert.deepStrictEqual(p.users[0].usermod?.[1], "/srv/jail/./home/frank");
  assert.ok(texts(p.notes).some((n) => n.startsWith("WARNING: the primary group 4242 of frank")));
  assert.deepStrictEqual(p.groupText, undefined);
});

Deno.test("a jail entry that disagrees with the host is kept but reported", () => {
  const p = plan(
    [{ name: "alice" }],
    "alice:x:1001:1001::/home/elsewhere:/bin/sh\n",
    "alice:x:1001:\nusers:x:100:alice\nstaff:x:51:alice\n",
  );
  assert.deepStrictEqual(p.passwdText, undefined);
  const notes = texts(p.notes);
  assert.ok(
    notes.some((n) => /passwd:1 has home \/home\/elsewhere \(expected \/home\/alice\)/.test(n)),
  );
  assert.ok(notes.some((n) => /group:3: group staff has gid 51, the host has 50/.test(n)));
});

Deno.test("a uid already used by another jail user is reported", () => {
  const p = plan([{ name: "alice" }], "someone:x:1001:1001::/home/x:/bin/sh\n");
  assert.ok(texts(p.notes).some((n) => n.includes("gives uid 1001 to someone")));
});

Deno.test("the move is planned only for an existing directory outside the jail", () => {
  const dir = { isDirectory: true, isSymlink: false, uid: 1001 } as Deno.FileInfo;
  const p = plan(
    [{ name: "alice", move: true }],
    "",
    "",
    (path) => path === "/home/alice" ? dir : undefined,
  );
  assert.deepStrictEqual(p.users[0].move, true);
  assert.deepStrictEqual(p.users[0].layout.source, "/home/alice");
  const missing = plan([{ name: "alice", move: true }]);
  assert.deepStrictEqual(missing.users[0].move, false);
  assert.ok(
    texts(missing.users[0].notes).includes(
      "home directory /home/alice does not exist, nothing moved",
    ),
  );
});

Deno.test("homeLayout infers the old home a first run without -m left behind", () => {
  const bob = entry("bob:x:1002:100::/srv/jail/./home/bob:/usr/sbin/jk_chrootsh");
  const mine = { isDirectory: true, isSymlink: false, uid: 1002 } as Deno.FileInfo;
  const other = { isDirectory: true, isSymlink: false, uid: 0 } as Deno.FileInfo;
  const found = homeLayout(JAIL, bob, (p) => (p === "/home/bob" ? mine : undefined));
  assert.deepStrictEqual(found.source, "/home/bob");
  assert.deepStrictEqual(found.inferred, true);
  assert.deepStrictEqual(found.destination, "/srv/jail/home/bob");
  // somebody else's directory, or none, is never taken
  assert.deepStrictEqual(homeLayout(JAIL, bob, () => other).source, undefined);
  assert.deepStrictEqual(homeLayout(JAIL, bob, () => undefined).source, undefined);
  assert.match(moveQuestion(JAIL, bob, () => mine) ?? "", /still exists outside \/srv\/jail\//);
  assert.deepStrictEqual(
    moveQuestion(JAIL, entry("a:x:1:1::/home/a:/bin/sh"), () => undefined),
    "home directory /home/a is not within /srv/jail/, move the directory contents?",
  );
  assert.deepStrictEqual(moveQuestion(JAIL, entry("a:x:1:1::/srv/jail/home/a:/bin/sh")), undefined);
});

Deno.test("homeLayout: a home equal to the jail root has in-jail home /", () => {
  const l = homeLayout(JAIL, entry("a:x:1:1::/srv/jail:/bin/sh"));
  assert.deepStrictEqual(l.newHome, "/srv/jail/./");
  assert.deepStrictEqual(l.inJailHome, "/");
  assert.deepStrictEqual(l.source, undefined);
});

Deno.test("names and shells that could inject options or break lines are refused", () => {
  for (const bad of ["-x", "--help", "+nis", "a:b", "a,b", "a b", "a\nb", "a/b", ""]) {
    assert.ok(userNameProblem(bad) !== undefined, bad);
  }
  for (const good of ["alice", "web1_ftp", "user.name", "x-y", "jkt123$"]) {
    assert.deepStrictEqual(userNameProblem(good), undefined, good);
  }
  assert.ok(shellProblem("bin/bash") !== undefined);
  assert.ok(shellProblem("/bin/ba:sh") !== undefined);
  assert.deepStrictEqual(shellProblem("/bin/bash"), undefined);
});

// ---------------------------------------------------------------------------------------------
// Jail validation on a fake file system (lstat only; no symlinks needing readlink)

function fakeFs(entries: Record<string, { kind: "dir" | "file"; mode?: number; uid?: number }>) {
  return (path: string): Deno.FileInfo | undefined => {
    const e = entries[path];
    if (e === undefined) return undefined;
    return {
      isDirectory: e.kind === "dir",
      isFile: e.kind === "file",
      isSymlink: false,
      mode: (e.kind === "dir" ? 0o040000 : 0o100000) |
        (e.mode ?? (e.kind === "dir" ? 0o755 : 0o644)),
      uid: e.uid ?? 0,
      gid: 0,
    } as Deno.FileInfo;
  };
}

const GOOD_JAIL = {
  "/": { kind: "dir" },
  "/srv": { kind: "dir" },
  "/srv/jail": { kind: "dir" },
  "/srv/jail/etc": { kind: "dir" },
  "/srv/jail/etc/passwd": { kind: "file" },
  "/srv/jail/usr": { kind: "dir" },
  "/srv/jail/usr/sbin": { kind: "dir" },
  "/srv/jail/usr/sbin/jk_lsh": { kind: "file", mode: 0o755 },
} as const;

Deno.test("jailProblem accepts a complete jail and names what is missing", () => {
  assert.deepStrictEqual(jailProblem(JAIL, "/usr/sbin/jk_lsh", fakeFs(GOOD_JAIL)), undefined);
  assert.deepStrictEqual(
    jailProblem("/srv/none", "/usr/sbin/jk_lsh", fakeFs(GOOD_JAIL)),
    "/srv/none does not exist",
  );
  const { "/srv/jail/etc/passwd": _p, ...noPasswd } = GOOD_JAIL;
  assert.deepStrictEqual(
    jailProblem(JAIL, "/usr/sbin/jk_lsh", fakeFs(noPasswd)),
    "invalid jail, /srv/jail/etc/passwd does not exist",
  );
  assert.deepStrictEqual(
    jailProblem(JAIL, "/bin/bash", fakeFs(GOOD_JAIL)),
    "invalid shell, /srv/jail/bin/bash does not exist",
  );
  assert.deepStrictEqual(
    jailProblem(
      JAIL,
      "/usr/sbin/jk_lsh",
      fakeFs({ ...GOOD_JAIL, "/srv/jail/usr/sbin/jk_lsh": { kind: "file", mode: 0o644 } }),
    ),
    "invalid shell, /srv/jail/usr/sbin/jk_lsh is not executable",
  );
  assert.match(
    jailProblem(
      JAIL,
      "/usr/sbin/jk_lsh",
      fakeFs({ ...GOOD_JAIL, "/srv": { kind: "dir", mode: 0o777 } }),
    ) ?? "",
    /^invalid jail, \/srv is writable by group or others/,
  );
});

// ---------------------------------------------------------------------------------------------
// The home mover on scratch directories (owners are our own, so no root needed)

function build(root: string): void {
  Deno.mkdirSync(`${root}/sub/deeper`, { recursive: true });
  Deno.writeTextFileSync(`${root}/plain`, "hello\n");
  Deno.writeTextFileSync(`${root}/sub/deeper/secret`, "s3cret");
  Deno.chmodSync(`${root}/sub/deeper/secret`, 0o600);
  Deno.writeTextFileSync(`${root}/odd name \u00e9 *`, "odd");
  Deno.writeTextFileSync(`${root}/-rf`, "dash");
  Deno.linkSync(`${root}/plain`, `${root}/sub/hardlink`);
  Deno.symlinkSync("../plain", `${root}/sub/rel-link`);
  Deno.symlinkSync("/etc/passwd", `${root}/abs-link`);
  Deno.symlinkSync("nowhere", `${root}/dangling`);
  new Deno.Command("mkfifo", { args: [`${root}/fifo`] }).outputSync();
  Deno.chmodSync(`${root}/sub`, 0o750);
  Deno.utimeSync(`${root}/plain`, new Date(1e12), new Date(1.5e12 + 123));
  Deno.utimeSync(`${root}/sub`, new Date(1e12), new Date(1.2e12 + 7));
}

Deno.test("copyTree reproduces every kind of entry and compareTrees finds no difference", () => {
  const t = tempDir("jailuser-copy");
  try {
    build(`${t.dir}/src`);
    const manifest = copyTree(`${t.dir}/src`, `${t.dir}/dst`);
    assert.deepStrictEqual(compareTrees(`${t.dir}/src`, `${t.dir}/dst`), []);
    assert.deepStrictEqual(Deno.readLinkSync(`${t.dir}/dst/abs-link`), "/etc/passwd");
    assert.ok(Deno.lstatSync(`${t.dir}/dst/dangling`).isSymlink);
    assert.ok(Deno.lstatSync(`${t.dir}/dst/fifo`).isFifo);
    assert.deepStrictEqual(
      Deno.lstatSync(`${t.dir}/dst/plain`).ino,
      Deno.lstatSync(`${t.dir}/dst/sub/hardlink`).ino,
    );
    assert.deepStrictEqual(Deno.lstatSync(`${t.dir}/dst/sub`).mtime?.getTime(), 1.2e12 + 7);
    assert.deepStrictEqual(unchangedSince(`${t.dir}/src`, manifest), []);
    // same size, different content; then only a mode change
    Deno.writeTextFileSync(`${t.dir}/src/plain`, "HELLO\n");
    assert.deepStrictEqual(unchangedSince(`${t.dir}/src`, manifest), [
      `${t.dir}/src/plain changed`,
      `${t.dir}/src/sub/hardlink changed`, // the same inode
    ]);
    const again = copyTree(`${t.dir}/src`, `${t.dir}/dst2`);
    Deno.chmodSync(`${t.dir}/src/sub/deeper/secret`, 0o640);
    assert.deepStrictEqual(unchangedSince(`${t.dir}/src`, again), [
      `${t.dir}/src/sub/deeper/secret changed`,
    ]);
    // a new entry changes its directory
    const third = copyTree(`${t.dir}/src`, `${t.dir}/dst3`);
    Deno.writeTextFileSync(`${t.dir}/src/sub/new`, "late");
    assert.deepStrictEqual(unchangedSince(`${t.dir}/src`, third), [`${t.dir}/src/sub changed`]);
  } finally {
    t.cleanup();
  }
});

Deno.test("compareTrees reports content, mode, link and hard-link differences", () => {
  const t = tempDir("jailuser-cmp");
  try {
    build(`${t.dir}/a`);
    copyTree(`${t.dir}/a`, `${t.dir}/b`);
    const info = Deno.lstatSync(`${t.dir}/b/plain`);
    Deno.writeTextFileSync(`${t.dir}/b/sub/deeper/secret`, "s3creT");
    Deno.utimeSync(
      `${t.dir}/b/sub/deeper/secret`,
      info.atime!,
      Deno.lstatSync(`${t.dir}/a/sub/deeper/secret`).mtime!,
    );
    Deno.utimeSync(
      `${t.dir}/b/sub/deeper`,
      info.atime!,
      Deno.lstatSync(`${t.dir}/a/sub/deeper`).mtime!,
    );
    assert.deepStrictEqual(compareTrees(`${t.dir}/a`, `${t.dir}/b`), [
      "sub/deeper/secret: content differs",
    ]);
  } finally {
    t.cleanup();
  }
  const u = tempDir("jailuser-cmp2");
  try {
    build(`${u.dir}/a`);
    copyTree(`${u.dir}/a`, `${u.dir}/b`);
    const m = Deno.lstatSync(`${u.dir}/b/sub`).mtime!;
    Deno.removeSync(`${u.dir}/b/sub/hardlink`);
    Deno.copyFileSync(`${u.dir}/a/plain`, `${u.dir}/b/sub/hardlink`);
    const pm = Deno.lstatSync(`${u.dir}/a/plain`);
    Deno.utimeSync(`${u.dir}/b/sub/hardlink`, pm.atime!, pm.mtime!);
    Deno.utimeSync(`${u.dir}/b/sub`, m, m);
    assert.deepStrictEqual(compareTrees(`${u.dir}/a`, `${u.dir}/b`), [
      "sub/hardlink: hard links differ",
    ]);
  } finally {
    u.cleanup();
  }
});

Deno.test("copyTree refuses a socket and reports it", async () => {
  const t = tempDir("jailuser-sock");
  const listener = Deno.listen({ transport: "unix", path: `${t.dir}/src-sock` });
  try {
    Deno.mkdirSync(`${t.dir}/src`);
    Deno.renameSync(`${t.dir}/src-sock`, `${t.dir}/src/agent.sock`);
    Deno.writeTextFileSync(`${t.dir}/src/keep`, "x");
    const e = moveError(() => copyTree(`${t.dir}/src`, `${t.dir}/dst`));
    assert.match(e.problems.join("\n"), /agent\.sock: is a socket/);
  } finally {
    listener.close();
    await Promise.resolve();
    t.cleanup();
  }
});

Deno.test("checkMoveSource refuses a symlinked home and overlapping trees", () => {
  const t = tempDir("jailuser-src");
  try {
    Deno.mkdirSync(`${t.dir}/real`);
    Deno.symlinkSync(`${t.dir}/real`, `${t.dir}/link`);
    assert.match(
      moveError(() => checkMoveSource(`${t.dir}/link`, "/srv/jail/home/x", "/srv/jail")).message,
      /is a symlink/,
    );
    assert.match(
      moveError(() =>
        checkMoveSource(`${t.dir}/real`, `${t.dir}/real/jail/home/x`, `${t.dir}/real/jail`)
      ).message,
      /overlap/,
    );
    assert.ok(checkMoveSource(`${t.dir}/real`, "/srv/jail/home/x", "/srv/jail").isDirectory);
  } finally {
    t.cleanup();
  }
});
