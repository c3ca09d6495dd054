import assert from "node:assert/strict";
import { JailkitError } from "../lib/core/errors.ts";
import { parseIni } from "../lib/config/ini.ts";
import {
  DEFAULT_TMP_SIZE_MIB,
  mountPoints,
  needsPidNamespace,
  renderThinSection,
  type ThinJail,
  thinJailFor,
  thinJails,
  withThinSection,
} from "../lib/config/thin.ts";

const FILE = "/etc/jailkit/jk_thin.ini";

function parse(text: string) {
  return thinJails(parseIni(text, FILE, "c"));
}

function refused(text: string, message: RegExp): void {
  assert.throws(() => parse(text), (e: unknown) => {
    assert.ok(e instanceof JailkitError, String(e));
    assert.equal(e.kind, "config");
    assert.match(e.message, message);
    return true;
  });
}

Deno.test("jk_thin.ini: a full section and the defaults", () => {
  const jails = parse(
    "# thin jails\n[/home/thin]\nreadonly_binds = /usr, /etc/alternatives,\nprivate_tmp = 1\n" +
      "tmp_size_mb = 32\nprivate_proc = yes\nno_network = 1\nend_processes_at_logout = 1\n\n" +
      "[/srv/other]\n",
  );
  const thin = jails.get("/home/thin")!;
  assert.deepEqual(thin, {
    jail: "/home/thin",
    readonlyBinds: ["/etc/alternatives", "/usr"],
    privateTmp: true,
    tmpSizeMiB: 32,
    privateProc: true,
    noNetwork: true,
    endProcessesAtLogout: true,
  });
  assert.deepEqual(mountPoints(thin), ["/etc/alternatives", "/usr", "/tmp", "/proc"]);
  assert.equal(needsPidNamespace(thin), true);
  const other = jails.get("/srv/other")!;
  assert.deepEqual(other.readonlyBinds, []);
  assert.equal(other.tmpSizeMiB, DEFAULT_TMP_SIZE_MIB);
  assert.equal(needsPidNamespace(other), false);
  assert.deepEqual(mountPoints(other), []);
  assert.equal(thinJailFor(parseIni("[/srv/other]\n", FILE, "c"), "/home/thin"), undefined);
});

Deno.test("jk_thin.ini: every weakening typo is an error naming the line", () => {
  refused("[/j]\nreadonly_bind = /usr\n", /jk_thin\.ini:2: unknown key readonly_bind/);
  refused("[/j]\nReadonly_binds = /usr\n", /:2: unknown key Readonly_binds/);
  refused("[DEFAULT]\n", /:1: section \[DEFAULT\]/);
  refused("[/j/]\n", /:1: section \[\/j\/\]/);
  refused("[/a/../j]\n", /:1: section/);
  refused("[/]\n", /:1: section \[\/\]/);
  refused("[/j]\nreadonly_binds = usr\n", /:2: .*"usr" is not an absolute path/);
  refused("[/j]\nreadonly_binds = /usr/\n", /:2: .*"\/usr\/" is not/);
  refused("[/j]\nreadonly_binds = /usr/./lib\n", /:2: .*is not/);
  refused("[/j]\nreadonly_binds = /\n", /:2: .*\/ cannot be bound/);
  refused("[/j]\nreadonly_binds = /proc/sys\n", /:2: .*in \/proc, which is never bound/);
  refused("[/j]\nreadonly_binds = /dev\n", /:2: .*in \/dev/);
  refused("[/home/j]\nreadonly_binds = /home\n", /:2: .*\/home is the jail, inside it or holds/);
  refused("[/home/j]\nreadonly_binds = /home/j/usr\n", /:2: .*the jail, inside it/);
  refused("[/j]\nreadonly_binds = /usr, /usr/lib\n", /:2: .*\/usr\/lib is inside \/usr/);
  refused("[/j]\nreadonly_binds = /usr, /usr\n", /:2: .*listed twice/);
  refused(
    "[/j]\nreadonly_binds = /tmp\nprivate_tmp = 1\n",
    /:2: .*overlaps the session's own \/tmp/,
  );
  refused("[/j]\nprivate_tmp = 2\n", /:2: private_tmp in \[\/j\]: expected 1\/yes/);
  refused("[/j]\ntmp_size_mb = 0\n", /:2: tmp_size_mb .*from 1 to/);
  refused(
    "[/j]\nreadonly_binds = " + Array(65).fill(0).map((_, i) => `/b${i}`).join(",") + "\n",
    /more than 64/,
  );
});

Deno.test("jk_thin.ini: jk_init's rewrite keeps the rest of the file and validates", () => {
  const thin: ThinJail = {
    jail: "/home/thin",
    readonlyBinds: ["/usr"],
    privateTmp: true,
    tmpSizeMiB: 64,
    privateProc: true,
    noNetwork: false,
    endProcessesAtLogout: true,
  };
  const fresh = withThinSection(undefined, thin, FILE);
  assert.equal(fresh, renderThinSection(thin));
  assert.deepEqual(parse(fresh).get("/home/thin"), thin);

  const before =
    "# site notes\n[/a]\nprivate_tmp = 1\n\n[/home/thin]\nno_network = 1\n\n[/b]\n# keep\n";
  const after = withThinSection(before, thin, FILE);
  assert.match(after, /^# site notes\n\[\/a\]\nprivate_tmp = 1\n\n\[\/home\/thin\]\n/);
  assert.match(after, /\n\[\/b\]\n# keep\n$/);
  assert.deepEqual(parse(after).get("/home/thin"), thin);
  assert.equal(parse(after).size, 3);

  const appended = withThinSection("[/a]\nprivate_tmp = 1", thin, FILE);
  assert.equal(appended, "[/a]\nprivate_tmp = 1\n\n" + renderThinSection(thin));
  // A broken file is not silently rewritten.
  assert.throws(() => withThinSection("[/a]\nbogus = 1\n", thin, FILE), /unknown key bogus/);
  // Nor is a section that would be refused written.
  assert.throws(
    () => withThinSection(undefined, { ...thin, readonlyBinds: ["/home"] }, FILE),
    /holds it/,
  );
});
