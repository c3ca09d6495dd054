import assert from "node:assert/strict";
import { JailkitError } from "../lib/core/errors.ts";
import { parseIni } from "../lib/config/ini.ts";
import { expandSections, listSections } from "../lib/config/profile.ts";

const FILE = "/etc/jailkit/jk_init.ini";

function ini(text: string) {
  return parseIni(text, FILE, "python");
}

function order(text: string, requested: string[]): string[] {
  return expandSections(ini(text), requested).sections.map((s) => s.name);
}

function configFailure(fn: () => unknown): JailkitError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof JailkitError, String(e));
    assert.equal(e.kind, "config");
    return e;
  }
  assert.fail("expected a config error");
}

Deno.test("included sections come first, depth-first in the order listed", () => {
  const text = `
[a]
includesections = b, c
[b]
includesections = d
[c]
[d]
`;
  assert.deepEqual(order(text, ["a"]), ["d", "b", "c", "a"]);
});

Deno.test("a section runs once: shared includes, repeats and top-level sections included elsewhere", () => {
  const text = `
[top]
includesections = left, right, left
[left]
includesections = base
[right]
includesections = base
[base]
`;
  assert.deepEqual(order(text, ["top"]), ["base", "left", "right", "top"]);
  assert.deepEqual(order(text, ["base", "top", "base", "left"]), ["base", "left", "right", "top"]);
  assert.deepEqual(order(text, ["left", "left"]), ["base", "left"]);
});

Deno.test("an include cycle is a config error naming the cycle and the includesections line", () => {
  const text = `[x]
includesections = a
[a]
includesections = b
[b]
comment = second
includesections = c, a
[c]
`;
  const e = configFailure(() => expandSections(ini(text), ["x"]));
  assert.deepEqual(e.message, `${FILE}:7: includesections cycle: a -> b -> a`);
});

Deno.test("a section including itself is a cycle of one", () => {
  const e = configFailure(() => expandSections(ini("[a]\nincludesections = a\n"), ["a"]));
  assert.deepEqual(e.message, `${FILE}:2: includesections cycle: a -> a`);
});

Deno.test("a cycle through [DEFAULT]'s includesections names DEFAULT's line", () => {
  const text = "[DEFAULT]\nincludesections = base\n[base]\n[top]\n";
  const e = configFailure(() => expandSections(ini(text), ["top"]));
  assert.deepEqual(e.message, `${FILE}:2: includesections cycle: base -> base`);
});

Deno.test("a missing requested section warns and the run goes on", () => {
  const result = expandSections(ini("[sftp]\n[scp]\n"), ["groups", "sftp", "php", "scp"]);
  assert.deepEqual(result.sections.map((s) => s.name), ["sftp", "scp"]);
  assert.deepEqual(result.warnings, [
    `WARNING: section [groups] does not exist in ${FILE}`,
    `WARNING: section [php] does not exist in ${FILE}`,
  ]);
});

Deno.test("[DEFAULT] is not a section that can be requested or included", () => {
  const text = "[DEFAULT]\ncomment = shared\n[a]\n";
  assert.deepEqual(expandSections(ini(text), ["DEFAULT"]).warnings, [
    `WARNING: section [DEFAULT] does not exist in ${FILE}`,
  ]);
  const e = configFailure(() =>
    expandSections(ini(text + "[b]\nincludesections = DEFAULT\n"), ["b"])
  );
  assert.deepEqual(e.message, `${FILE}:5: section [b] includes [DEFAULT], which does not exist`);
});

Deno.test("a missing included section is a config error naming file and line", () => {
  const text = "[ssh]\ncomment = client\nincludesections = netbasics, uidbasics\n[netbasics]\n";
  const e = configFailure(() => expandSections(ini(text), ["ssh"]));
  assert.deepEqual(
    e.message,
    `${FILE}:3: section [ssh] includes [uidbasics], which does not exist`,
  );
});

Deno.test("typed keys: lists split and trimmed, deprecated path keys appended in jailkit's order", () => {
  const text = `
[old]
comment = written for jailkit 2.0
directories = /usr/share/d
regularfiles = /etc/r
executables = /usr/bin/e
libraries = /usr/lib/l.so
paths = /usr/bin/p,
    /usr/bin/q , ,
paths_w_owner = /var/www
paths_w_setuid = /usr/bin/ping
users = root, www-data
groups = root
devices = /dev/null, /dev/urandom
emptydirs = /tmp, /var/tmp
need_logsocket = yes
need_proc = 0
`;
  const [s] = expandSections(ini(text), ["old"]).sections;
  assert.deepEqual(s, {
    name: "old",
    line: 2,
    includes: [],
    paths: [
      "/usr/bin/p",
      "/usr/bin/q",
      "/usr/lib/l.so",
      "/usr/bin/e",
      "/etc/r",
      "/usr/share/d",
    ],
    pathsWithOwner: ["/var/www"],
    pathsWithSetuid: ["/usr/bin/ping"],
    users: ["root", "www-data"],
    groups: ["root"],
    devices: ["/dev/null", "/dev/urandom"],
    emptydirs: ["/tmp", "/var/tmp"],
    needLogsocket: true,
    needProc: false,
    comment: "written for jailkit 2.0",
  });
});

Deno.test("absent keys give empty lists, false and no comment", () => {
  const [s] = expandSections(ini("[bare]\n"), ["bare"]).sections;
  assert.deepEqual(
    [s.paths, s.users, s.devices, s.needLogsocket, s.needProc, s.comment],
    [[], [], [], false, false, undefined],
  );
});

Deno.test("need_logsocket = 0 means no, and a non-boolean value is a config error", () => {
  const [s] = expandSections(ini("[l]\nneed_logsocket = 0\n"), ["l"]).sections;
  assert.deepEqual(s.needLogsocket, false);
  const e = configFailure(() => expandSections(ini("[l]\n\nneed_logsocket = maybe\n"), ["l"]));
  assert.ok(e.message.startsWith(`${FILE}:3:`), e.message);
});

Deno.test("unknown keys warn with file, line and a suggestion; known ones stay quiet", () => {
  const text = `[git]
comment = git
path = /usr/bin/git
includesection = base
colour = blue
[base]
paths = /etc/gitconfig
`;
  const result = expandSections(ini(text), ["git"]);
  assert.deepEqual(result.sections.map((s) => s.paths), [[]]);
  assert.deepEqual(result.warnings, [
    `WARNING: ${FILE}:3: unknown key "path" in section [git] is ignored; did you mean "paths"?`,
    `WARNING: ${FILE}:4: unknown key "includesection" in section [git] is ignored; ` +
    `did you mean "includesections"?`,
    `WARNING: ${FILE}:5: unknown key "colour" in section [git] is ignored`,
  ]);
});

Deno.test("an unknown key in [DEFAULT] is reported once, not for every section", () => {
  const text = "[DEFAULT]\nexecutable = /bin/sh\n[a]\n[b]\n";
  assert.deepEqual(expandSections(ini(text), ["a", "b"]).warnings, [
    `WARNING: ${FILE}:2: unknown key "executable" in section [DEFAULT] is ignored; ` +
    `did you mean "executables"?`,
  ]);
});

Deno.test("keys inherited from [DEFAULT] apply to every section", () => {
  const text = "[DEFAULT]\ndevices = /dev/null\n[a]\n[b]\ndevices = /dev/zero\n";
  const sections = expandSections(ini(text), ["a", "b"]).sections;
  assert.deepEqual(sections.map((s) => s.devices), [["/dev/null"], ["/dev/zero"]]);
});

Deno.test("a very long include chain is handled without recursion", () => {
  const n = 20000;
  const parts: string[] = [];
  for (let i = 0; i < n - 1; i++) parts.push(`[s${i}]\nincludesections = s${i + 1}\n`);
  parts.push(`[s${n - 1}]\n`);
  const names = order(parts.join(""), ["s0"]);
  assert.deepEqual(names.length, n);
  assert.deepEqual([names[0], names[n - 1]], [`s${n - 1}`, "s0"]);
});

Deno.test("listSections: sorted by name, DEFAULT left out but its comment inherited", () => {
  const text = `
[DEFAULT]
comment = no description
[zip]
comment = zip and unzip
[Xvnc]
[basicshell]
comment = bash and friends
`;
  assert.deepEqual(listSections(ini(text)), [
    { name: "Xvnc", comment: "no description" },
    { name: "basicshell", comment: "bash and friends" },
    { name: "zip", comment: "zip and unzip" },
  ]);
  assert.deepEqual(listSections(ini("[b]\n[a]\ncomment = first\n")), [
    { name: "a", comment: "first" },
    { name: "b", comment: undefined },
  ]);
});
