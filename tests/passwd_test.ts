import assert from "node:assert/strict";
import { assertJailkitError } from "./helpers.ts";
import {
  addGroupMember,
  appendGroupEntry,
  appendPasswdEntry,
  type GroupFile,
  jailedHomeFor,
  joinDbLines,
  loadDbFile,
  MAX_ID,
  type NewPasswdEntry,
  parseGroup,
  parseJailHome,
  parsePasswd,
  type PasswdFile,
  setUserHomeShell,
  splitDbLines,
} from "../lib/config/passwd.ts";

/** Lines of `after` that differ from `before`, as [index, before, after]. */
function changedLines(before: string, after: string): [number, string, string][] {
  const a = before.split("\n");
  const b = after.split("\n");
  const out: [number, string, string][] = [];
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    if (a[i] !== b[i]) out.push([i, a[i], b[i]]);
  }
  return out;
}

/** A Debian 12 style passwd with the oddities real files accumulate. */
const ODD_PASSWD = [
  "root:x:0:0:root:/root:/bin/bash",
  "# local accounts below",
  "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin",
  "",
  "toor:x:0:0:second root:/root:/bin/sh",
  "short:x:1000:1000:only six fields:/home/short",
  "long:x:1001:1001:gecos:/home/long:/bin/sh:extra",
  "letters:x:abc:100::/home/l:/bin/sh",
  "negative:x:-1:100::/home/n:/bin/sh",
  "toobig:x:4294967295:100::/home/t:/bin/sh",
  "maxid:x:4294967294:100::/home/m:/bin/sh",
  "spacegid:x:1002: 100::/home/s:/bin/sh",
  ":x:1003:100::/home/e:/bin/sh",
  "+::::::",
  " indented:x:1004:100::/home/i:/bin/sh",
  "nul:x:1005:100::/home/\0:/bin/sh",
  "cr:x:1006:100::/home/cr\r:/bin/sh",
  "   ",
  "  # indented comment",
  "daemon:x:9:9:duplicate:/tmp:/bin/sh",
  "web:*:33:33:www-data,,,:/srv/./jail/./home/web:/usr/sbin/jk_chrootsh\r",
  "last:x:1007:1007:Last User,,,:/home/last:/bin/bash",
].join("\n"); // no final newline

const ODD_GROUP = [
  "root:x:0:",
  "# comment",
  "users:x:100:alice,,bob,",
  "staff:!:050:",
  "bad:x:abc:",
  "three:x:5",
  "wheel::10:root\r",
  "empty:x:11:",
  "users:x:101:dup",
  "nomore:*:12:carol",
].join("\n");

// ---------------------------------------------------------------- lines

Deno.test("passwd: splitDbLines/joinDbLines round-trip every line-ending shape", () => {
  const samples = [
    "",
    "\n",
    "\n\n",
    "a",
    "a\n",
    "a\nb",
    "a\r\nb\r\n",
    "a\r\n",
    "\r\n\r\n",
    "a\rb\n",
    "\r",
    "x\n\r\ny",
    ODD_PASSWD,
    ODD_GROUP,
  ];
  for (const s of samples) assert.equal(joinDbLines(splitDbLines(s)), s, JSON.stringify(s));
  assert.deepEqual(splitDbLines("a\r\nb\n\nc"), [
    { text: "a", eol: "\r\n" },
    { text: "b", eol: "\n" },
    { text: "", eol: "\n" },
    { text: "c", eol: "" },
  ]);
  assert.deepEqual(splitDbLines(""), []);
  assert.deepEqual(splitDbLines("a\rb"), [{ text: "a\rb", eol: "" }]);
});

// ---------------------------------------------------------------- parsing

Deno.test("passwd: fields, line indexes and lookups of well-formed lines", () => {
  const f = parsePasswd(ODD_PASSWD, "/etc/passwd");
  assert.equal(f.path, "/etc/passwd");
  assert.deepEqual(f.byName("root"), {
    name: "root",
    password: "x",
    uid: 0,
    gid: 0,
    gecos: "root",
    home: "/root",
    shell: "/bin/bash",
    index: 0,
  });
  assert.equal(f.byName("web")?.home, "/srv/./jail/./home/web");
  assert.equal(f.byName("web")?.shell, "/usr/sbin/jk_chrootsh", "CRLF is the terminator");
  assert.equal(f.byName("web")?.gecos, "www-data,,,");
  assert.equal(f.byName("web")?.password, "*");
  assert.equal(f.byName("last")?.shell, "/bin/bash", "last line without newline");
  assert.equal(f.byName("last")?.index, 21);
  assert.equal(f.byName("maxid")?.uid, MAX_ID);
  assert.equal(f.byUid(0)?.name, "root", "first of two uid-0 users");
  assert.equal(f.byName("toor")?.uid, 0);
  assert.equal(f.byName("daemon")?.gecos, "daemon", "first of duplicate names");
  assert.equal(f.byUid(9)?.name, "daemon", "the duplicate is still an entry");
  assert.equal(f.byUid(12345), undefined);
  assert.equal(f.byName("nobody"), undefined);
  assert.deepEqual(f.entries.map((e) => e.name), [
    "root",
    "daemon",
    "toor",
    "maxid",
    "daemon",
    "web",
    "last",
  ]);
  assert.equal(f.lines.length, 22);
});

Deno.test("passwd: malformed lines are kept, excluded from lookups and reported", () => {
  const f = parsePasswd(ODD_PASSWD, "/etc/passwd");
  for (const name of ["short", "long", "letters", "negative", "toobig", "spacegid", "nul", "cr"]) {
    assert.equal(f.byName(name), undefined, name);
  }
  assert.equal(f.byName(""), undefined);
  assert.equal(f.byName("+"), undefined);
  assert.equal(f.byName(" indented"), undefined);
  assert.equal(f.byName("indented"), undefined);
  assert.equal(f.byUid(1000), undefined);
  assert.equal(f.byUid(1004), undefined);
  const messages = f.problems.map((p) => p.message);
  assert.deepEqual(messages, [
    "/etc/passwd:6: expected 7 colon-separated fields, found 6; line ignored",
    "/etc/passwd:7: expected 7 colon-separated fields, found 8; line ignored",
    '/etc/passwd:8: uid "abc" is not a number from 0 to 4294967294; line ignored',
    '/etc/passwd:9: uid "-1" is not a number from 0 to 4294967294; line ignored',
    '/etc/passwd:10: uid "4294967295" is not a number from 0 to 4294967294; line ignored',
    '/etc/passwd:12: gid " 100" is not a number from 0 to 4294967294; line ignored',
    "/etc/passwd:13: empty name; line ignored",
    '/etc/passwd:14: uid "" is not a number from 0 to 4294967294; line ignored',
    '/etc/passwd:15: blank in name " indented"; line ignored',
    "/etc/passwd:16: NUL byte in line; line ignored",
    "/etc/passwd:17: stray carriage return in line; line ignored",
    '/etc/passwd:20: duplicate name "daemon" (first at line 3); lookups use the first',
  ]);
  assert.deepEqual(f.problems.map((p) => p.index), [5, 6, 7, 8, 9, 11, 12, 13, 14, 15, 16, 19]);
  assert.equal(joinDbLines(f.lines), ODD_PASSWD);
});

Deno.test("passwd: ids must be plain decimal within range", () => {
  const line = (uid: string) => parsePasswd(`u:x:${uid}:0::/h:/s\n`, "p");
  assert.equal(line("0").byName("u")?.uid, 0);
  assert.equal(line("007").byName("u")?.uid, 7);
  assert.equal(line("4294967294").byName("u")?.uid, 4294967294);
  for (const bad of ["", "+1", "1e3", "0x10", " 1", "1 ", "4294967295", "99999999999", "١"]) {
    assert.equal(line(bad).byName("u"), undefined, JSON.stringify(bad));
    assert.equal(line(bad).problems.length, 1, JSON.stringify(bad));
  }
});

Deno.test("group: members, lookups by name and gid, problems", () => {
  const g = parseGroup(ODD_GROUP, "/etc/group");
  assert.deepEqual(g.byName("users"), {
    name: "users",
    password: "x",
    gid: 100,
    members: ["alice", "bob"],
    index: 2,
  });
  assert.equal(g.byGid(50)?.name, "staff");
  assert.deepEqual(g.byName("staff")?.members, []);
  assert.deepEqual(g.byName("wheel")?.members, ["root"], "CRLF not part of the member");
  assert.equal(g.byName("wheel")?.password, "");
  assert.deepEqual(g.byName("nomore")?.members, ["carol"]);
  assert.equal(g.byName("bad"), undefined);
  assert.equal(g.byName("three"), undefined);
  assert.equal(g.byGid(101)?.name, "users", "the duplicate stays an entry");
  assert.equal(parseGroup("a:x:5:\nb:x:5:\n", "g").byGid(5)?.name, "a", "first of a shared gid");
  assert.deepEqual(g.problems.map((p) => p.message), [
    '/etc/group:5: gid "abc" is not a number from 0 to 4294967294; line ignored',
    "/etc/group:6: expected 4 colon-separated fields, found 3; line ignored",
    '/etc/group:9: duplicate name "users" (first at line 3); lookups use the first',
  ]);
  assert.equal(joinDbLines(g.lines), ODD_GROUP);
});

Deno.test("passwd/group: empty and comment-only files have no entries and no problems", () => {
  for (const text of ["", "\n", "# nothing\n\n   \n"]) {
    const p = parsePasswd(text, "p");
    const g = parseGroup(text, "g");
    assert.equal(p.entries.length + p.problems.length + g.entries.length, 0);
    assert.equal(g.problems.length, 0);
  }
});

// ---------------------------------------------------------------- the machine's real files

Deno.test("passwd: this machine's /etc/passwd and /etc/group parse and round-trip", () => {
  const pText = Deno.readTextFileSync("/etc/passwd");
  const gText = Deno.readTextFileSync("/etc/group");
  const p = parsePasswd(pText, "/etc/passwd");
  const g = parseGroup(gText, "/etc/group");
  assert.equal(joinDbLines(p.lines), pText);
  assert.equal(joinDbLines(g.lines), gText);
  assert.deepEqual(p.problems, []);
  assert.deepEqual(g.problems, []);
  // Independent reading of the same lines: every field must come out unchanged.
  const meaningful = (t: string) => t.split("\n").filter((l) => l.trim() && !l.startsWith("#"));
  assert.deepEqual(
    p.entries.map((e) => [e.name, e.password, e.uid, e.gid, e.gecos, e.home, e.shell].join(":")),
    meaningful(pText),
  );
  assert.deepEqual(
    g.entries.map((e) => [e.name, e.password, e.gid, e.members.join(",")].join(":")),
    meaningful(gText),
  );
  assert.equal(p.byUid(0)?.name, "root");
  assert.equal(p.byName("root")?.home, "/root");
  assert.equal(g.byGid(0)?.name, "root");
  const me = Deno.uid();
  if (me !== null && p.byUid(me)) assert.equal(p.byUid(me)?.uid, me);

  // Edits leave every other line byte for byte.
  const added = appendPasswdEntry(p, newUser({ name: "jkdeno" }));
  assert.equal(
    added,
    `${pText.endsWith("\n") ? pText : pText + "\n"}` +
      "jkdeno:x:1001:1002:JK Test,,,:/home/jktest:/usr/sbin/jk_lsh\n",
  );
  const target = g.entries.find((e) => !e.members.includes("jkdeno"));
  assert.ok(target);
  const withMember = addGroupMember(g, target.name, "jkdeno");
  const diff = changedLines(gText, withMember);
  assert.equal(diff.length, 1);
  assert.equal(diff[0][0], target.index);
  assert.ok(diff[0][2].endsWith("jkdeno"));
  const moved = setUserHomeShell(p, "root", { shell: "/usr/sbin/jk_chrootsh" });
  assert.deepEqual(changedLines(pText, moved).map((d) => d[0]), [p.byName("root")?.index]);
});

// ---------------------------------------------------------------- appending

function newUser(over: Partial<NewPasswdEntry> = {}): NewPasswdEntry {
  return {
    name: "jktest",
    password: "x",
    uid: 1001,
    gid: 1002,
    gecos: "JK Test,,,",
    home: "/home/jktest",
    shell: "/usr/sbin/jk_lsh",
    ...over,
  };
}

Deno.test("passwd: appendPasswdEntry writes jk_jailuser's line format", () => {
  const base = "root:x:0:0:root:/root:/bin/bash\n";
  assert.equal(
    appendPasswdEntry(parsePasswd(base, "p"), newUser()),
    base + "jktest:x:1001:1002:JK Test,,,:/home/jktest:/usr/sbin/jk_lsh\n",
  );
  assert.equal(
    appendPasswdEntry(parsePasswd("", "p"), newUser({ gecos: "" })),
    "jktest:x:1001:1002::/home/jktest:/usr/sbin/jk_lsh\n",
  );
});

Deno.test("passwd: appending terminates an unterminated last line and keeps CRLF style", () => {
  const line = "jktest:x:1001:1002:JK Test,,,:/home/jktest:/usr/sbin/jk_lsh";
  assert.equal(
    appendPasswdEntry(parsePasswd("root:x:0:0::/root:/bin/sh", "p"), newUser()),
    `root:x:0:0::/root:/bin/sh\n${line}\n`,
  );
  assert.equal(
    appendPasswdEntry(parsePasswd("a:x:1:1::/:/s\r\nb:x:2:2::/:/s", "p"), newUser()),
    `a:x:1:1::/:/s\r\nb:x:2:2::/:/s\r\n${line}\r\n`,
  );
  assert.equal(
    appendPasswdEntry(parsePasswd("# c\na:x:1:1::/:/s\r\n", "p"), newUser()),
    `# c\na:x:1:1::/:/s\r\n${line}\n`,
    "mixed endings get a plain newline",
  );
  assert.equal(
    appendPasswdEntry(parsePasswd(ODD_PASSWD, "p"), newUser()),
    `${ODD_PASSWD}\n${line}\n`,
  );
});

Deno.test("passwd: appending refuses unwritable fields", () => {
  const f = parsePasswd("", "p");
  for (const bad of [":", "\n", "\r", "\0"]) {
    for (const field of ["name", "password", "gecos", "home", "shell"] as const) {
      assertJailkitError(
        () => appendPasswdEntry(f, newUser({ [field]: `a${bad}b` })),
        "usage",
        /which passwd\/group files cannot hold/,
      );
    }
  }
  assertJailkitError(
    () => appendPasswdEntry(f, newUser({ name: "" })),
    "usage",
    /user name is empty/,
  );
  assertJailkitError(
    () => appendPasswdEntry(f, newUser({ name: "-rf" })),
    "usage",
    /start with "-"/,
  );
  assertJailkitError(
    () => appendPasswdEntry(f, newUser({ name: "+nis" })),
    "usage",
    /start with "\+"/,
  );
  assertJailkitError(() => appendPasswdEntry(f, newUser({ name: "a,b" })), "usage", /","/);
  assertJailkitError(() => appendPasswdEntry(f, newUser({ name: "a b" })), "usage", /blanks/);
  assertJailkitError(
    () => appendPasswdEntry(f, newUser({ home: "" })),
    "usage",
    /home directory is empty/,
  );
  assertJailkitError(() => appendPasswdEntry(f, newUser({ shell: "" })), "usage", /shell is empty/);
  for (const id of [-1, 1.5, MAX_ID + 1, NaN]) {
    assertJailkitError(() => appendPasswdEntry(f, newUser({ uid: id })), "usage", /^uid /);
    assertJailkitError(() => appendPasswdEntry(f, newUser({ gid: id })), "usage", /^gid /);
  }
  assert.match(appendPasswdEntry(f, newUser({ uid: MAX_ID, gid: 0 })), /:4294967294:0:/);
});

Deno.test("passwd: appending refuses a name already present, even on a malformed line", () => {
  const text = "root:x:0:0::/root:/bin/sh\njktest:x:oops:1::/h:/s\n";
  assertJailkitError(
    () => appendPasswdEntry(parsePasswd(text, "/jail/etc/passwd"), newUser()),
    "config",
    /^\/jail\/etc\/passwd:2: user "jktest" already exists/,
  );
  assertJailkitError(
    () => appendPasswdEntry(parsePasswd(text, "p"), newUser({ name: "root" })),
    "config",
    /^p:1: /,
  );
  // A comment that mentions the name is no obstacle.
  const ok = appendPasswdEntry(parsePasswd("#jktest:x:1:1::/:/s\n", "p"), newUser());
  assert.equal(parsePasswd(ok, "p").byName("jktest")?.index, 1);
});

Deno.test("group: appendGroupEntry writes name:x:GID: and name:x:GID:user", () => {
  const g = parseGroup("root:x:0:\nusers:x:100:alice", "g");
  assert.equal(
    appendGroupEntry(g, { name: "jkgrp", password: "x", gid: 1001, members: [] }),
    "root:x:0:\nusers:x:100:alice\njkgrp:x:1001:\n",
  );
  assert.equal(
    appendGroupEntry(g, { name: "dev", password: "x", gid: 200, members: ["a", "b"] }),
    "root:x:0:\nusers:x:100:alice\ndev:x:200:a,b\n",
  );
  assertJailkitError(
    () => appendGroupEntry(g, { name: "users", password: "x", gid: 5, members: [] }),
    "config",
    /^g:2: group "users" already exists/,
  );
  assertJailkitError(
    () => appendGroupEntry(g, { name: "x", password: "x", gid: 5, members: ["a,b"] }),
    "usage",
    /group member "a,b"/,
  );
  assertJailkitError(
    () => appendGroupEntry(g, { name: "x", password: "x", gid: 5, members: [""] }),
    "usage",
    /group member is empty/,
  );
  assertJailkitError(
    () => appendGroupEntry(g, { name: "-x", password: "x", gid: 5, members: [] }),
    "usage",
    /group name "-x"/,
  );
  assertJailkitError(
    () => appendGroupEntry(g, { name: "x", password: "a:b", gid: 5, members: [] }),
    "usage",
    /password field/,
  );
  assertJailkitError(
    () => appendGroupEntry(g, { name: "x", password: "x", gid: -5, members: [] }),
    "usage",
    /^gid -5/,
  );
});

// ---------------------------------------------------------------- rewriting one line

function groupOf(text: string): GroupFile {
  return parseGroup(text, "/jail/etc/group");
}

Deno.test("group: addGroupMember rewrites only the member field of one line", () => {
  const text = "root:x:0:\nstaff:!:050:\nusers:*:100:alice,bob\nlast:x:7:a,";
  assert.equal(
    addGroupMember(groupOf(text), "staff", "jk"),
    "root:x:0:\nstaff:!:050:jk\nusers:*:100:alice,bob\nlast:x:7:a,",
    "password and gid kept as written",
  );
  assert.equal(
    addGroupMember(groupOf(text), "users", "jk"),
    "root:x:0:\nstaff:!:050:\nusers:*:100:alice,bob,jk\nlast:x:7:a,",
  );
  assert.equal(
    addGroupMember(groupOf(text), "last", "jk"),
    "root:x:0:\nstaff:!:050:\nusers:*:100:alice,bob\nlast:x:7:a,jk",
    "no newline invented on the last line, no doubled comma",
  );
  assert.equal(addGroupMember(groupOf(text), "users", "bob"), text, "already a member");
});

Deno.test("group: addGroupMember keeps CRLF and every other odd line", () => {
  const g = groupOf(ODD_GROUP);
  const out = addGroupMember(g, "wheel", "jk");
  assert.deepEqual(changedLines(ODD_GROUP, out), [[6, "wheel::10:root\r", "wheel::10:root,jk\r"]]);
  const out2 = addGroupMember(g, "users", "carol");
  assert.deepEqual(changedLines(ODD_GROUP, out2), [
    [2, "users:x:100:alice,,bob,", "users:x:100:alice,,bob,carol"],
  ]);
  assert.equal(addGroupMember(g, "users", "bob"), ODD_GROUP);
});

Deno.test("group: addGroupMember errors", () => {
  const g = groupOf(ODD_GROUP);
  assertJailkitError(
    () => addGroupMember(g, "nosuch", "jk"),
    "not-found",
    /\/jail\/etc\/group: .*nosuch/,
  );
  assertJailkitError(() => addGroupMember(g, "bad", "jk"), "not-found", /"bad"/);
  assertJailkitError(() => addGroupMember(g, "users", "a,b"), "usage", /","/);
  assertJailkitError(() => addGroupMember(g, "users", "a:b"), "usage", /":"/);
  assertJailkitError(() => addGroupMember(g, "users", "-jk"), "usage", /"-"/);
  assertJailkitError(() => addGroupMember(g, "users", ""), "usage", /empty/);
});

function passwdOf(text: string): PasswdFile {
  return parsePasswd(text, "/etc/passwd");
}

Deno.test("passwd: setUserHomeShell replaces only home and/or shell of one line", () => {
  const text = "root:x:0:0:root:/root:/bin/bash\r\njk:!:01001:100:A B,,,:/home/jk:/bin/sh";
  assert.equal(
    setUserHomeShell(passwdOf(text), "jk", {
      home: "/srv/jail/./home/jk",
      shell: "/usr/sbin/jk_chrootsh",
    }),
    "root:x:0:0:root:/root:/bin/bash\r\njk:!:01001:100:A B,,,:/srv/jail/./home/jk:/usr/sbin/jk_chrootsh",
  );
  assert.equal(
    setUserHomeShell(passwdOf(text), "root", { shell: "/bin/sh" }),
    "root:x:0:0:root:/root:/bin/sh\r\njk:!:01001:100:A B,,,:/home/jk:/bin/sh",
  );
  assert.equal(
    setUserHomeShell(passwdOf(text), "root", { home: "/r" }),
    "root:x:0:0:root:/r:/bin/bash\r\njk:!:01001:100:A B,,,:/home/jk:/bin/sh",
  );
  assert.equal(setUserHomeShell(passwdOf(text), "root", {}), text);
  const odd = setUserHomeShell(passwdOf(ODD_PASSWD), "web", { home: "/srv/jail/./home/web" });
  assert.deepEqual(changedLines(ODD_PASSWD, odd), [[
    20,
    "web:*:33:33:www-data,,,:/srv/./jail/./home/web:/usr/sbin/jk_chrootsh\r",
    "web:*:33:33:www-data,,,:/srv/jail/./home/web:/usr/sbin/jk_chrootsh\r",
  ]]);
});

Deno.test("passwd: setUserHomeShell errors", () => {
  const f = passwdOf(ODD_PASSWD);
  assertJailkitError(() => setUserHomeShell(f, "nosuch", { shell: "/s" }), "not-found", /nosuch/);
  assertJailkitError(() => setUserHomeShell(f, "short", { shell: "/s" }), "not-found", /short/);
  assertJailkitError(() => setUserHomeShell(f, "root", { shell: "/bin/sh\n" }), "usage", /shell/);
  assertJailkitError(() => setUserHomeShell(f, "root", { home: "/a:b" }), "usage", /home/);
  assertJailkitError(
    () => setUserHomeShell(f, "root", { home: "" }),
    "usage",
    /home directory is empty/,
  );
  assertJailkitError(() => setUserHomeShell(f, "root", { shell: "" }), "usage", /shell is empty/);
});

// ---------------------------------------------------------------- the /./ marker

Deno.test("loadDbFile parses the text `read` gives, and gives undefined for none", () => {
  const texts: Record<string, string> = {
    "/jail/etc/passwd": "u:x:1005:1006::/home/u:/bin/sh\n",
    "/jail/etc/group": "g:x:1006:u\nbad\n",
  };
  const read = (path: string) => texts[path];
  const passwd = loadDbFile("/jail/etc/passwd", parsePasswd, read);
  assert.equal(passwd?.byUid(1005)?.name, "u");
  const group = loadDbFile("/jail/etc/group", parseGroup, read);
  assert.deepEqual(group?.byGid(1006)?.members, ["u"]);
  assert.match(group?.problems[0].message ?? "", /^\/jail\/etc\/group:2: /, "named by its path");
  assert.equal(loadDbFile("/jail/etc/shadow", parsePasswd, read), undefined);
  assert.equal(loadDbFile("/nonexistent/passwd", parsePasswd), undefined, "readDbFile by default");
});

Deno.test("parseJailHome: the LAST /./ splits jail and in-jail home", () => {
  assert.deepEqual(parseJailHome("/home/jail/./home/test"), {
    jail: "/home/jail",
    home: "/home/test",
  });
  assert.deepEqual(parseJailHome("/srv/jail/./"), { jail: "/srv/jail", home: "/" });
  assert.deepEqual(parseJailHome("/srv/./jail/./home/x"), { jail: "/srv/./jail", home: "/home/x" });
  assert.deepEqual(parseJailHome("/srv/jail/./home/x/"), { jail: "/srv/jail", home: "/home/x/" });
  assert.deepEqual(parseJailHome("/ab/./x"), { jail: "/ab", home: "/x" });
  assert.deepEqual(parseJailHome("/é/./x"), { jail: "/é", home: "/x" }, "3 bytes, 2 characters");
  assert.equal(parseJailHome("/a/./x"), undefined, "jail shorter than 3 bytes");
  assert.equal(parseJailHome("/./x"), undefined);
  assert.equal(parseJailHome("/home/test"), undefined);
  assert.equal(parseJailHome("/srv/jail/."), undefined);
  assert.equal(parseJailHome(""), undefined);
});

Deno.test("jailedHomeFor: jk_jailuser's new host home", () => {
  const j = "/srv/jail";
  assert.equal(jailedHomeFor(j, "/home/x"), "/srv/jail/./home/x");
  assert.equal(jailedHomeFor(`${j}/`, "/home/x/"), "/srv/jail/./home/x", "trailing slashes");
  assert.equal(jailedHomeFor(j, "/srv/jail/home/x"), "/srv/jail/./home/x", "marker inserted");
  assert.equal(jailedHomeFor(j, "/srv/jail/./home/x"), "/srv/jail/./home/x", "already marked");
  assert.equal(jailedHomeFor(j, "/srv/jail/./home/x/"), "/srv/jail/./home/x");
  assert.equal(jailedHomeFor(j, "/srv/jailbird/x"), "/srv/jail/./srv/jailbird/x", "not inside");
  assert.equal(jailedHomeFor(j, "/srv/jail"), "/srv/jail/./", "home is the jail root");
  assert.equal(jailedHomeFor(j, "/srv/jail/"), "/srv/jail/./");
  assert.equal(jailedHomeFor(j, "/srv/jail/./"), "/srv/jail/./");
  assert.equal(jailedHomeFor(j, "/"), "/srv/jail/./");
  assert.equal(jailedHomeFor("/abc", "/h"), "/abc/./h");
  for (
    const [jail, home] of [["/srv/jail", "/home/x"], ["/abc", "/"], ["/srv/jail", "/srv/jail"]]
  ) {
    const parsed = parseJailHome(jailedHomeFor(jail, home));
    assert.equal(parsed?.jail, jail.replace(/\/$/, ""), `${jail} ${home}`);
  }
  assert.equal(parseJailHome(jailedHomeFor(j, "/srv/jail/home/x"))?.home, "/home/x");
});

Deno.test("jailedHomeFor: refuses what would give a wrong marker", () => {
  const j = "/srv/jail";
  assertJailkitError(() => jailedHomeFor(j, "/other/./home/x"), "usage", /another jail/);
  assertJailkitError(() => jailedHomeFor(j, "/srv/jail/./a/./b"), "usage", /\/\//);
  assertJailkitError(() => jailedHomeFor(j, "home/x"), "usage", /absolute/);
  assertJailkitError(() => jailedHomeFor(j, "/home/../etc"), "usage", /"\.\."/);
  assertJailkitError(() => jailedHomeFor(j, "/home//x"), "usage", /absolute/);
  assertJailkitError(() => jailedHomeFor(j, "/srv/jail/./home/.."), "usage", /absolute/);
  assertJailkitError(() => jailedHomeFor(j, ""), "usage", /home directory is empty/);
  assertJailkitError(() => jailedHomeFor(j, "/a:b"), "usage", /":"/);
  assertJailkitError(() => jailedHomeFor("srv/jail", "/h"), "usage", /jail "srv\/jail"/);
  assertJailkitError(() => jailedHomeFor("/", "/h"), "usage", /other than \//);
  assertJailkitError(() => jailedHomeFor("/srv//jail", "/h"), "usage", /"\/\/"/);
  assertJailkitError(() => jailedHomeFor("/srv/./jail", "/h"), "usage", /jail/);
  assertJailkitError(() => jailedHomeFor("/srv/jail/..", "/h"), "usage", /jail/);
  assertJailkitError(() => jailedHomeFor("/a", "/h"), "usage", /shorter than 3/);
  assertJailkitError(() => jailedHomeFor("/a/", "/h"), "usage", /shorter than 3/);
  assertJailkitError(() => jailedHomeFor("", "/h"), "usage", /jail directory is empty/);
});
