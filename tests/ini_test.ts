import assert from "node:assert/strict";
import { join } from "node:path";
import {
  iniBool,
  iniEntries,
  type IniFile,
  iniFloat,
  iniInt,
  iniList,
  iniLookup,
  iniOctal,
  iniPlainSections,
  type IniSection,
  iniString,
  MAX_INI_BYTES,
  parseIni,
  readIni,
  selectUserSection,
} from "../lib/config/ini.ts";
import { assertJailkitError, tempDir } from "./helpers.ts";

const REF = "/opt/jailkit-ref/etc/jailkit";

function py(text: string): IniFile {
  return parseIni(text, "t.ini", "python");
}
function c(text: string): IniFile {
  return parseIni(text, "t.ini", "c");
}
function sec(ini: IniFile, name: string): IniSection {
  const s = ini.section(name);
  assert.ok(s, `section [${name}] missing`);
  return s;
}

// ---------------------------------------------------------------- both flavours

for (const dialect of ["python", "c"] as const) {
  const parse = (t: string) => parseIni(t, "t.ini", dialect);

  Deno.test(`ini ${dialect}: sections keep file order, names verbatim, lines recorded`, () => {
    const ini = parse(
      "# header comment\n[/srv/jail/dev/log]\nbase = 512\n\n[group web]\nx=1\n[a.b c]\n",
    );
    assert.deepEqual(ini.sections.map((s) => [s.name, s.line]), [
      ["/srv/jail/dev/log", 2],
      ["group web", 5],
      ["a.b c", 7],
    ]);
    assert.equal(ini.path, "t.ini");
    assert.equal(ini.dialect, dialect);
    assert.deepEqual(sec(ini, "/srv/jail/dev/log").entries, [
      { key: "base", value: "512", line: 3 },
    ]);
    assert.equal(sec(ini, "a.b c").entries.length, 0);
    assert.equal(ini.section("group  web"), undefined);
    assert.equal(ini.section("Group web"), undefined, "section names are case-sensitive");
  });

  Deno.test(`ini ${dialect}: key=value split at the first "=", key and value trimmed`, () => {
    const ini = parse("[s]\n  env =  A=1, B = two \t\nempty=\nhash = a # b ; c\n");
    const s = sec(ini, "s");
    assert.equal(iniString(s, "env"), "A=1, B = two");
    assert.equal(iniString(s, "empty"), "");
    assert.equal(iniString(s, "hash"), "a # b ; c", "no inline comments");
  });

  Deno.test(`ini ${dialect}: values are trimmed (jailkit's C reader kept the blank)`, () => {
    const ini = parse("[u]\ninjail_shell = /bin/sh\n");
    assert.equal(iniString(sec(ini, "u"), "injail_shell"), "/bin/sh");
  });

  Deno.test(`ini ${dialect}: exact key matching, no prefix match`, () => {
    const ini = parse(
      "[u]\nrelax_home_group = 1\nexecutable = /bin/ls\nenv = A\npath = /x\n",
    );
    const s = sec(ini, "u");
    assert.equal(iniBool(s, "relax_home_group", false), true);
    assert.equal(iniBool(s, "relax_home_group_permissions", false), false);
    assert.deepEqual(iniList(s, "executables"), []);
    assert.equal(iniString(s, "environment"), undefined);
    assert.equal(iniString(s, "paths"), undefined);
    assert.equal(iniString(s, "relax_home"), undefined, "a longer file key does not match");
    assert.equal(iniString(s, "relax_home_group "), undefined);
  });

  Deno.test(`ini ${dialect}: "%" is an ordinary character`, () => {
    const ini = parse("[s]\ncomment = 100% sure, %(x)s\n");
    assert.equal(iniString(sec(ini, "s"), "comment"), "100% sure, %(x)s");
  });

  Deno.test(`ini ${dialect}: list items trimmed, empty items dropped, trailing comma harmless`, () => {
    const ini = parse("[s]\npaths = /bin/sh, /usr/bin/ls ,,  ,/etc/passwd,\nnone =\n");
    const s = sec(ini, "s");
    assert.deepEqual(iniList(s, "paths"), ["/bin/sh", "/usr/bin/ls", "/etc/passwd"]);
    assert.deepEqual(iniList(s, "none"), []);
    assert.deepEqual(iniList(s, "missing"), []);
  });

  Deno.test(`ini ${dialect}: duplicate section names both lines`, () => {
    assertJailkitError(
      () => parse("[a]\nx=1\n\n[b]\n[a]\n"),
      "config",
      /^t\.ini:5: duplicate section \[a\] \(first at line 1\)/,
    );
    assertJailkitError(() => parse("[DEFAULT]\n[DEFAULT]\n"), "config", /^t\.ini:2: .*line 1/);
  });

  Deno.test(`ini ${dialect}: duplicate key in one section names both lines`, () => {
    assertJailkitError(
      () => parse("[a]\nx = 1\ny = 2\nx = 3\n"),
      "config",
      /^t\.ini:4: duplicate key "x" in section \[a\] \(first set at line 2\)/,
    );
    // The same key in two sections is fine.
    const ini = parse("[a]\nx=1\n[b]\nx=2\n");
    assert.equal(iniString(sec(ini, "b"), "x"), "2");
  });

  Deno.test(`ini ${dialect}: header errors carry file:line`, () => {
    assertJailkitError(() => parse("[ok]\n[/srv/jail\nx=1\n"), "config", /^t\.ini:2: unterminated/);
    assertJailkitError(
      () => parse("[a] junk\n"),
      "config",
      /^t\.ini:1: text after the section header/,
    );
    assertJailkitError(() => parse("\n\n[]\n"), "config", /^t\.ini:3: empty section name/);
    assertJailkitError(() => parse("[a[b]\n"), "config", /^t\.ini:1: "\[" inside a section name/);
    assertJailkitError(
      () => parse("[a]b]\n"),
      "config",
      /^t\.ini:1: text after the section header/,
    );
  });

  Deno.test(`ini ${dialect}: lines that are not comment, header or key are errors`, () => {
    assertJailkitError(
      () => parse("[a]\nx=1\njust words\n"),
      "config",
      /^t\.ini:3: expected .*just words/,
    );
    assertJailkitError(() => parse("[a]\n = 1\n"), "config", /^t\.ini:2: missing key name/);
    assertJailkitError(
      () => parse("x = 1\n[a]\n"),
      "config",
      /^t\.ini:1: key "x" appears before any/,
    );
  });

  Deno.test(`ini ${dialect}: CRLF and BOM tolerated, blank-only file is empty`, () => {
    const ini = parse("\ufeff[a]\r\nx = 1\r\n\r\n[b]\r\ny=2");
    assert.deepEqual(ini.sections.map((s) => s.name), ["a", "b"]);
    assert.equal(iniString(sec(ini, "a"), "x"), "1");
    assert.equal(iniString(sec(ini, "b"), "y"), "2", "last line without newline is clean");
    assert.equal(parse("").sections.length, 0);
    assert.equal(parse("\n  \n\t\n").sections.length, 0);
  });

  Deno.test(`ini ${dialect}: NUL bytes and stray carriage returns rejected`, () => {
    assertJailkitError(() => parse("[a]\nx=1\ny=a\0b\n"), "config", /^t\.ini:3: NUL byte/);
    assertJailkitError(() => parse("# \0\n"), "config", /^t\.ini:1: NUL byte/);
    assertJailkitError(
      () => parse("[a]\nx=1\ry=2\n"),
      "config",
      /^t\.ini:2: stray carriage return/,
    );
  });

  Deno.test(`ini ${dialect}: size limit, huge line and many sections`, () => {
    assertJailkitError(() => parse("#".repeat(MAX_INI_BYTES + 1)), "config", /larger than 1 MiB/);
    const big = "v".repeat(MAX_INI_BYTES - 20);
    const ini = parse(`[a]\nx = ${big}\n`);
    assert.equal(iniString(sec(ini, "a"), "x")?.length, big.length);
    assertJailkitError(
      () => parse(`[a]\n${"x".repeat(MAX_INI_BYTES - 10)}\n`),
      "config",
      /^t\.ini:2:/,
    );

    const parts: string[] = [];
    for (let i = 0; i < 10000; i++) parts.push(`[s${i}]\nk = ${i}\n`);
    const t0 = performance.now();
    const many = parse(parts.join(""));
    assert.ok(performance.now() - t0 < 2000, "10k sections must parse in linear time");
    assert.equal(many.sections.length, 10000);
    assert.equal(iniInt(sec(many, "s9999"), "k", -1), 9999);
    assertJailkitError(
      () => parse(parts.join("") + "[s5000]\n"),
      "config",
      /^t\.ini:20001: .*line 10001/,
    );
  });

  Deno.test(`ini ${dialect}: typed getters and their errors name file:line`, () => {
    const ini = parse(
      [
        "[s]",
        "n = 42",
        "neg = -3",
        "lead = 010",
        "hex = 0x10",
        "word = yes",
        "mask = 022",
        "mask8 = 8",
        "f = 2.5",
        "f2 = .5",
        "f3 = 1e2",
        "finf = inf",
        "b1 = YES",
        "b2 = Off",
        "bad = maybe",
        "empty =",
        "huge = 99999999999999999999",
      ].join("\n"),
    );
    const s = sec(ini, "s");
    assert.equal(iniInt(s, "n", 0), 42);
    assert.equal(iniInt(s, "neg", 0), -3);
    assert.equal(iniInt(s, "lead", 0), 10, "decimal only: leading zero is not octal");
    assert.equal(iniInt(s, "absent", 7), 7);
    assertJailkitError(
      () => iniInt(s, "hex", 0),
      "config",
      /^t\.ini:5: hex in \[s\]: expected a decimal/,
    );
    assertJailkitError(() => iniInt(s, "word", 0), "config", /^t\.ini:6: word .*"yes"/);
    assertJailkitError(() => iniInt(s, "empty", 0), "config", /^t\.ini:16: /);
    assertJailkitError(() => iniInt(s, "huge", 0), "config", /^t\.ini:17: /);
    assertJailkitError(
      () => iniInt(s, "n", 0, { max: 10 }),
      "config",
      /^t\.ini:2: .*from -\d+ to 10/,
    );
    assertJailkitError(() => iniInt(s, "neg", 0, { min: 0 }), "config", /^t\.ini:3: .*from 0 to/);
    assert.equal(iniInt(s, "n", 0, { min: 1, max: 42 }), 42);

    assert.equal(iniOctal(s, "mask"), 0o22);
    assert.equal(iniOctal(s, "absent"), undefined);
    assertJailkitError(() => iniOctal(s, "mask8"), "config", /^t\.ini:8: .*octal/);
    assertJailkitError(() => iniOctal(s, "empty"), "config", /^t\.ini:16: .*octal/);

    assert.equal(iniFloat(s, "f", 0), 2.5);
    assert.equal(iniFloat(s, "f2", 0), 0.5);
    assert.equal(iniFloat(s, "f3", 0), 100);
    assert.equal(iniFloat(s, "n", 0), 42);
    assert.equal(iniFloat(s, "absent", 10), 10);
    assertJailkitError(() => iniFloat(s, "finf", 0), "config", /^t\.ini:12: .*decimal number/);
    assertJailkitError(() => iniFloat(s, "hex", 0), "config", /^t\.ini:5: /);

    assert.equal(iniBool(s, "b1", false), true);
    assert.equal(iniBool(s, "b2", true), false);
    assert.equal(iniBool(s, "absent", true), true);
    assert.equal(iniBool(s, "absent", false), false);
    assertJailkitError(
      () => iniBool(s, "bad", false),
      "config",
      /^t\.ini:15: bad in \[s\]: .*"maybe"/,
    );
    assertJailkitError(() => iniBool(s, "empty", false), "config", /^t\.ini:16: /);
    assertJailkitError(() => iniBool(s, "n", false), "config", /^t\.ini:2: /);
  });

  Deno.test(`ini ${dialect}: every boolean word in any case`, () => {
    const words = ["1", "yes", "true", "on", "0", "no", "false", "off"];
    const body = words.flatMap((w, i) => [`a${i} = ${w}`, `b${i} = ${w.toUpperCase()}`]);
    const s = sec(parse(`[s]\n${body.join("\n")}\n`), "s");
    words.forEach((_w, i) => {
      assert.equal(iniBool(s, `a${i}`, i >= 4), i < 4);
      assert.equal(iniBool(s, `b${i}`, i >= 4), i < 4);
    });
  });
}

// ---------------------------------------------------------------- python flavour

Deno.test("ini python: key: value accepted when the line has no '='", () => {
  const s = sec(py("[s]\ncomment: a: b\nurl: x=y\n"), "s");
  assert.equal(iniString(s, "comment"), "a: b");
  assert.equal(iniString(s, "url: x"), "y", "a line with '=' splits at the first '='");
});

Deno.test("ini python: keys lower-cased, lookups case-insensitive", () => {
  const s = sec(py("[Sec]\nPaths = /a\n"), "Sec");
  assert.deepEqual(s.entries.map((e) => e.key), ["paths"]);
  assert.deepEqual(iniList(s, "PATHS"), ["/a"]);
  assert.equal(s.own("Paths")?.value, "/a");
  assertJailkitError(() => py("[s]\nPaths = /a\npaths = /b\n"), "config", /^t\.ini:3: .*line 2/);
});

Deno.test("ini python: '#' and ';' comments, also indented", () => {
  const ini = py("# one\n; two\n[s]\n  # three\n\t; four\nx = 1\n");
  assert.deepEqual(sec(ini, "s").entries, [{ key: "x", value: "1", line: 6 }]);
});

Deno.test("ini python: indented lines continue the value", () => {
  const ini = py(
    [
      "[s]",
      "paths = /bin/sh,",
      "   /usr/bin/ls,",
      "# a comment inside the value is skipped",
      "",
      "\t/etc/passwd,",
      "",
      "",
      "other = 1",
      "start =",
      "  first",
      "",
    ].join("\n"),
  );
  const s = sec(ini, "s");
  assert.equal(iniString(s, "paths"), "/bin/sh,\n/usr/bin/ls,\n\n/etc/passwd,");
  assert.deepEqual(iniList(s, "paths"), ["/bin/sh", "/usr/bin/ls", "/etc/passwd"]);
  assert.equal(s.own("paths")?.line, 2);
  assert.equal(iniString(s, "other"), "1");
  assert.equal(iniString(s, "start"), "first");
});

Deno.test("ini python: continuation needs deeper indentation than its key", () => {
  const ini = py("[s]\n  a = 1\n  b = 2\n    more\nc = 3\n   [t]\n");
  const s = sec(ini, "s");
  assert.equal(iniString(s, "a"), "1", "indented key after a header is a key");
  assert.equal(iniString(s, "b"), "2\nmore");
  assert.equal(iniString(s, "c"), "3\n[t]", "like configparser, an indented [x] continues");
  assert.equal(ini.section("t"), undefined);
  // A blank line does not end the value either (configparser's empty_lines_in_values).
  assert.equal(iniString(sec(py("[s]\na = 1\n\n  b = 2\n"), "s"), "a"), "1\n\nb = 2");
});

Deno.test("ini python: an indented line after a header is not a continuation", () => {
  assertJailkitError(() => py("[s]\n   words only\n"), "config", /^t\.ini:2: expected/);
});

Deno.test("ini python: DEFAULT keys visible in every section, never copied", () => {
  const ini = py(
    "[a]\npaths = /a\n[DEFAULT]\ncomment = shared\nneed_logsocket = no\n[b]\ncomment = own\n",
  );
  const a = sec(ini, "a");
  const b = sec(ini, "b");
  assert.equal(ini.defaults, sec(ini, "DEFAULT"));
  assert.equal(a.defaults, ini.defaults, "DEFAULT after a section still applies to it");
  assert.equal(sec(ini, "DEFAULT").defaults, undefined);
  assert.deepEqual(a.entries.map((e) => e.key), ["paths"], "entries stay the section's own");
  assert.equal(a.own("comment"), undefined);
  assert.equal(iniString(a, "comment"), "shared");
  assert.equal(iniLookup(a, "Comment")?.line, 4);
  assert.equal(iniString(b, "comment"), "own");
  assert.equal(iniBool(b, "need_logsocket", true), false);
  assert.deepEqual(iniEntries(a).map((e) => [e.key, e.value]), [
    ["paths", "/a"],
    ["comment", "shared"],
    ["need_logsocket", "no"],
  ]);
  assert.deepEqual(iniEntries(b).map((e) => [e.key, e.value]), [
    ["comment", "own"],
    ["need_logsocket", "no"],
  ]);
  assert.deepEqual(iniPlainSections(ini).map((s) => s.name), ["a", "b"]);
  assert.deepEqual(ini.sections.map((s) => s.name), ["a", "DEFAULT", "b"]);
});

Deno.test("ini python: a bad inherited value names the DEFAULT line", () => {
  const ini = py("[DEFAULT]\nneed_logsocket = sure\n[jail]\nx = 1\n");
  assertJailkitError(
    () => iniBool(sec(ini, "jail"), "need_logsocket", false),
    "config",
    /^t\.ini:2: need_logsocket in \[DEFAULT\]:/,
  );
});

Deno.test("ini python: need_logsocket = 0 means no (jk_init took any non-empty string)", () => {
  const ini = py("[jk_lsh]\nneed_logsocket = 0\nneed_proc = false\n");
  assert.equal(iniBool(sec(ini, "jk_lsh"), "need_logsocket", true), false);
  assert.equal(iniBool(sec(ini, "jk_lsh"), "need_proc", true), false);
});

Deno.test("ini python: selectUserSection is refused (it would inherit DEFAULT)", () => {
  assertJailkitError(() => selectUserSection(py("[DEFAULT]\n"), "bob", "users"), "usage", /C-tool/);
});

// ---------------------------------------------------------------- C flavour

Deno.test("ini c: '#' comments also after blanks; ';' is not a comment", () => {
  const ini = c("#x=1\n[s]\n   # indented=comment\n\t#y=2\n;z = 3\n");
  assert.deepEqual(sec(ini, "s").entries, [{ key: ";z", value: "3", line: 5 }]);
  assertJailkitError(() => c("[s]\n; a comment in python\n"), "config", /^t\.ini:2: expected/);
});

Deno.test("ini c: 'key: value' is not accepted", () => {
  assertJailkitError(() => c("[s]\numask: 022\n"), "config", /^t\.ini:2: expected .*key = value/);
});

Deno.test("ini c: keys are case-sensitive", () => {
  const s = sec(c("[s]\nUmask = 022\n"), "s");
  assert.equal(iniOctal(s, "umask"), undefined);
  assert.equal(iniOctal(s, "Umask"), 0o22);
  assert.deepEqual(s.entries.map((e) => e.key), ["Umask"]);
});

Deno.test("ini c: no continuation lines, an indented line is a key line", () => {
  const s = sec(c("[s]\npaths = /a,\n    more = /b\n"), "s");
  assert.equal(iniString(s, "paths"), "/a,");
  assert.equal(iniString(s, "more"), "/b");
  assertJailkitError(() => c("[s]\npaths = /a,\n    /b\n"), "config", /^t\.ini:3: expected/);
});

Deno.test("ini c: DEFAULT is an ordinary section, nothing inherited", () => {
  const ini = c("[DEFAULT]\nenv = TERM\numask = 077\n[bob]\npaths = /x\n");
  const bob = sec(ini, "bob");
  assert.equal(ini.defaults, undefined);
  assert.equal(bob.defaults, undefined);
  assert.equal(iniString(bob, "env"), undefined);
  assert.equal(iniOctal(bob, "umask"), undefined);
  assert.deepEqual(iniEntries(bob).map((e) => e.key), ["paths"]);
  assert.deepEqual(iniPlainSections(ini).map((s) => s.name), ["DEFAULT", "bob"]);
});

Deno.test("ini c: '[' inside a value is not a header, '#' inside a value is kept", () => {
  const ini = c("[s]\npaths = /a[1]/b, /c # d\n[t]\n");
  assert.deepEqual(ini.sections.map((s) => s.name), ["s", "t"]);
  assert.equal(iniString(sec(ini, "s"), "paths"), "/a[1]/b, /c # d");
});

Deno.test("ini c: selectUserSection: user, then 'group NAME', then DEFAULT, no merging", () => {
  const ini = c(
    "[DEFAULT]\nenv = TERM\n[group users]\nrelax_home_group = 1\n[bob]\n[group  staff]\nx=1\n",
  );
  assert.equal(selectUserSection(ini, "bob", "users")?.name, "bob");
  const bob = selectUserSection(ini, "bob", "users");
  assert.ok(bob);
  assert.equal(iniBool(bob, "relax_home_group", false), false, "empty [bob] shadows the group");
  assert.equal(iniString(bob, "env"), undefined);
  assert.equal(selectUserSection(ini, "alice", "users")?.name, "group users");
  assert.equal(selectUserSection(ini, "alice", "staff")?.name, "DEFAULT", "exactly one space");
  assert.equal(selectUserSection(ini, "alice", undefined)?.name, "DEFAULT");
  assert.equal(selectUserSection(ini, "", "users")?.name, "group users");
  assert.equal(selectUserSection(ini, "Bob", "Users")?.name, "DEFAULT", "case-sensitive");
  assert.equal(selectUserSection(c("[bob]\n"), "alice", "users"), undefined);
  assert.equal(selectUserSection(c("[jktes]\n"), "jktest", "x"), undefined, "no prefix match");
  assert.equal(selectUserSection(c("[jktest]\n"), "jktes", "x"), undefined);
});

Deno.test("ini c: a realistic jk_socketd.ini as jk_init appends it", () => {
  const ini = c(
    "# sockets\n[/home/testchroot/dev/log]\nbase = 1024\npeak = 10240\ninterval = 2.0\n" +
      "\n[/srv/jail/dev/log]\nbase=512\npeak=2048\ninterval=10\n",
  );
  const s = sec(ini, "/srv/jail/dev/log");
  assert.equal(iniInt(s, "base", 0), 512);
  assert.equal(iniInt(s, "peak", 0), 2048);
  assert.equal(iniFloat(s, "interval", 0), 10);
  assert.equal(iniFloat(sec(ini, "/home/testchroot/dev/log"), "interval", 0), 2);
});

// ---------------------------------------------------------------- readIni and real files

Deno.test("readIni: missing file is not-found naming it", () => {
  assertJailkitError(
    () => readIni("/nonexistent/jk_lsh.ini", "c"),
    "not-found",
    /\/nonexistent\/jk_lsh/,
  );
});

Deno.test("readIni: reads, and rejects directories, non-UTF-8 and oversized files", () => {
  const { dir, cleanup } = tempDir("ini");
  try {
    const ok = join(dir, "ok.ini");
    Deno.writeTextFileSync(ok, "[DEFAULT]\numask = 077\n");
    const ini = readIni(ok, "c");
    assert.equal(ini.path, ok);
    assert.equal(iniOctal(sec(ini, "DEFAULT"), "umask"), 0o77);

    assertJailkitError(() => readIni(dir, "c"), "io", new RegExp(dir));

    const latin1 = join(dir, "latin1.ini");
    Deno.writeFileSync(latin1, new Uint8Array([0x5b, 0x73, 0x5d, 0x0a, 0x63, 0x3d, 0xe9, 0x0a]));
    assertJailkitError(() => readIni(latin1, "python"), "config", /latin1\.ini: not valid UTF-8/);

    const huge = join(dir, "huge.ini");
    Deno.writeTextFileSync(huge, "#".repeat(MAX_INI_BYTES + 1));
    assertJailkitError(() => readIni(huge, "c"), "config", /huge\.ini: .*larger than/);
    // Fewer characters than the limit, but more bytes: the limit is on the file size.
    const wide = join(dir, "wide.ini");
    Deno.writeTextFileSync(wide, `#${"\u00e9".repeat(MAX_INI_BYTES / 2)}\n`);
    assertJailkitError(() => readIni(wide, "c"), "config", /wide\.ini: .*larger than/);
    const edge = join(dir, "edge.ini");
    Deno.writeTextFileSync(edge, "#".repeat(MAX_INI_BYTES));
    assert.equal(readIni(edge, "c").sections.length, 0);

    const bom = join(dir, "bom.ini");
    Deno.writeFileSync(bom, new Uint8Array([0xef, 0xbb, 0xbf, 0x5b, 0x73, 0x5d, 0x0a]));
    assert.deepEqual(readIni(bom, "c").sections.map((s) => s.name), ["s"]);
  } finally {
    cleanup();
  }
});

Deno.test("readIni: an endless device is refused without reading it all", () => {
  assertJailkitError(() => readIni("/dev/zero", "c"), "config", /\/dev\/zero: .*larger than/);
});

const REF_FILES: [string, "python" | "c"][] = [
  ["jk_init.ini", "python"],
  ["jk_check.ini", "python"],
  ["jk_update.ini", "python"],
  ["jk_chrootsh.ini", "c"],
  ["jk_lsh.ini", "c"],
  ["jk_uchroot.ini", "c"],
  ["jk_socketd.ini", "c"],
];

Deno.test("readIni: every jailkit 2.23 default ini parses in its flavour", () => {
  const found = [...Deno.readDirSync(REF)].map((e) => e.name).filter((n) => n.endsWith(".ini"));
  assert.deepEqual(found.sort(), REF_FILES.map(([f]) => f).sort(), "a default file is unlisted");
  for (const [file, dialect] of REF_FILES) readIni(join(REF, file), dialect);

  const init = readIni(join(REF, "jk_init.ini"), "python");
  assert.ok(init.sections.length >= 20);
  for (const s of init.sections) {
    for (const inc of iniList(s, "includesections")) {
      assert.ok(init.section(inc), `[${s.name}] includes unknown [${inc}]`);
    }
  }
  const uid = sec(init, "uidbasics");
  assert.ok(iniList(uid, "paths").includes("/etc/nsswitch.conf"));
  assert.equal(iniBool(sec(init, "logbasics"), "need_logsocket", false), true);

  const check = readIni(join(REF, "jk_check.ini"), "python");
  assert.deepEqual(iniList(sec(check, "/home/testchroot"), "ignoresetuidexecuteforothers"), []);
  const update = readIni(join(REF, "jk_update.ini"), "python");
  assert.equal(iniInt(sec(update, "/home/testjail"), "hardlinks", 1), 0);
});

Deno.test("readIni: the commented examples of the C-tool defaults parse once uncommented", () => {
  const expected: Record<string, string[]> = {
    "jk_lsh.ini": ["test", "group users"],
    "jk_chrootsh.ini": ["test", "group users", "DEFAULT", "group jail"],
    "jk_uchroot.ini": ["john", "group users"],
    "jk_socketd.ini": ["/home/testchroot/dev/log"],
  };
  // Only the example lines (`#[section]`, `#key = value`) lose their `#`, not the prose.
  const uncommented = (file: string) =>
    parseIni(
      Deno.readTextFileSync(join(REF, file)).replace(/^#(?=\[|\w+\s*=)/gm, ""),
      file,
      "c",
    );
  for (const [file, names] of Object.entries(expected)) {
    assert.deepEqual(uncommented(file).sections.map((s) => s.name), names, file);
  }
  const lsh = uncommented("jk_lsh.ini");
  assert.equal(iniOctal(sec(lsh, "test"), "umask"), 0o2);
  assert.deepEqual(iniList(sec(lsh, "group users"), "environment"), [
    "HELIX_PATH=/opt/RealPlayer/",
    "TMP=/tmp/",
  ]);
  assert.equal(iniBool(sec(lsh, "test"), "allow_word_expansion", true), false);
  const chrootsh = uncommented("jk_chrootsh.ini");
  const jail = sec(chrootsh, "group jail");
  assert.equal(iniBool(jail, "relax_home_group_permissions", false), true);
  assert.equal(iniBool(sec(chrootsh, "DEFAULT"), "relax_home_group_permissions", false), false);
});
