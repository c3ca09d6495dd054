import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import * as libc from "../ffi/libc.ts";
import { DENO, rootTest, safeTestRoot, tempDir } from "./helpers.ts";

const LIBC_URL = new URL("../ffi/libc.ts", import.meta.url).href;
const NOBODY = 65534;

function caught(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  assert.fail("expected an exception");
}

function errnoOf(fn: () => unknown): libc.ErrnoError {
  const e = caught(fn);
  assert.ok(e instanceof libc.ErrnoError, `expected ErrnoError, got ${e}`);
  return e;
}

function wordexpErrorOf(words: string, flags: number): libc.WordexpError {
  const e = caught(() => libc.wordexp(words, flags));
  assert.ok(e instanceof libc.WordexpError, `expected WordexpError, got ${e}`);
  return e;
}

/** "Uid:\t0\t0\t0\t0" style lines of a /proc status file, by key. */
function statusField(status: string, key: string): string {
  const line = status.split("\n").find((l) => l.startsWith(`${key}:`));
  assert.ok(line !== undefined, `no ${key} line in status`);
  return line.slice(key.length + 1).trim();
}

/** Runs JavaScript `source` (which may import LIBC_URL) in a fresh Deno, maybe via `bash -c`. */
async function runChild(
  source: string,
  opts: { denoFlags?: string[]; bashPrefix?: string } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const scratch = tempDir("ffi-child");
  try {
    const script = join(scratch.dir, "child.js");
    Deno.writeTextFileSync(script, source);
    const denoArgs = ["run", "--no-config", "--quiet", ...(opts.denoFlags ?? ["-A"]), script];
    const command = opts.bashPrefix === undefined
      ? new Deno.Command(DENO, { args: denoArgs, env: { RUST_BACKTRACE: "0", NO_COLOR: "1" } })
      : new Deno.Command("/bin/bash", {
        args: ["-c", `${opts.bashPrefix} exec "$0" "$@"`, DENO, ...denoArgs],
        env: { RUST_BACKTRACE: "0", NO_COLOR: "1" },
      });
    const out = await command.output();
    const dec = new TextDecoder();
    return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
  } finally {
    scratch.cleanup();
  }
}

Deno.test("errnoName matches every errno the kernel headers define", () => {
  let checked = 0;
  for (const header of ["errno-base.h", "errno.h"]) {
    const text = Deno.readTextFileSync(`/usr/include/asm-generic/${header}`);
    for (const [, name, value] of text.matchAll(/^#define\s+(E[A-Z0-9]+)\s+(\d+)\b/gm)) {
      assert.equal(libc.errnoName(Number(value)), name, `errno ${value}`);
      checked++;
    }
  }
  assert.equal(checked, 131); // 1..133 without the two holes
  for (const hole of [0, 41, 58, 134, -1, 2.5]) assert.equal(libc.errnoName(hole), "EUNKNOWN");
});

Deno.test("ErrnoError carries errno, name, syscall, path and glibc's text", () => {
  const missing = `/nonexistent-${crypto.randomUUID()}`;
  const before = Deno.cwd();
  const e = errnoOf(() => libc.chdir(missing));
  assert.equal(e.errno, 2);
  assert.equal(e.code, "ENOENT");
  assert.equal(e.syscall, "chdir");
  assert.equal(e.path, missing);
  assert.equal(e.message, `chdir(${missing}): ENOENT (No such file or directory)`);
  assert.equal(Deno.cwd(), before);

  // Different failures of the same call must give different errno values, read per call.
  const scratch = tempDir("ffi-errno");
  try {
    const file = join(scratch.dir, "file");
    Deno.writeTextFileSync(file, "");
    assert.equal(errnoOf(() => libc.chdir(file)).code, "ENOTDIR");
    assert.equal(
      errnoOf(() => libc.chdir(join(scratch.dir, "x".repeat(300)))).code,
      "ENAMETOOLONG",
    );
    assert.equal(errnoOf(() => libc.chdir(missing)).code, "ENOENT");
  } finally {
    scratch.cleanup();
  }
});

Deno.test("strings with a NUL byte are refused before reaching libc", () => {
  const e = caught(() => libc.chdir("/tmp\0/etc"));
  assert.ok(e instanceof RangeError);
  assert.match(e.message, /chdir: path contains a NUL byte/);
  assert.throws(() => libc.execve("/bin/true", ["true", "a\0b"], []), RangeError);
  assert.throws(() => libc.wordexp("a\0b", 0), RangeError);
});

Deno.test("deviceNumbers decodes dev_t, including minors above 255 and majors above 4095", () => {
  const cases: [number | bigint, number, number][] = [
    [0x103, 1, 3], // /dev/null
    [0x805, 8, 5], // /dev/sda5
    [0x11112c70, 300, 70000],
    [0x1000_0000_0000n, 0x1000, 0], // first major beyond 12 bits
    [0x1_0000_0000, 0, 0x100000], // first minor beyond 20 bits
    [0xab123456cde78, 0xabcde, 0x12345678], // still a safe integer number
    [0x12345000cde7abf0n, 0x123457ab, 0xcdef0],
    [0xffff_ffff_ffff_ffffn, 0xffffffff, 0xffffffff],
  ];
  for (const [rdev, major, minor] of cases) {
    assert.deepEqual(libc.deviceNumbers(rdev), { major, minor }, `rdev ${rdev.toString(16)}`);
    assert.equal(libc.makedev(major, minor), BigInt(rdev), `makedev(${major}, ${minor})`);
  }
  assert.deepEqual(libc.deviceNumbers(0x11112c70n), { major: 300, minor: 70000 });
  for (const bad of [-1, 1.5, 2 ** 53, -1n, 2n ** 64n]) {
    assert.throws(() => libc.deviceNumbers(bad), RangeError, String(bad));
  }
  assert.throws(() => libc.makedev(-1, 0), RangeError);
  assert.throws(() => libc.makedev(0, 2 ** 32), RangeError);
});

rootTest("mknod creates character and block devices that stat decodes back", () => {
  const root = safeTestRoot("ffi-mknod");
  const old = libc.umask(0o022);
  try {
    const nullDev = join(root.dir, "null");
    libc.mknod(nullDev, "c", 0o666, 1, 3);
    const st = Deno.lstatSync(nullDev);
    assert.equal(st.isCharDevice, true);
    assert.equal(st.mode! & 0o7777, 0o644); // umask applies
    assert.deepEqual(libc.deviceNumbers(st.rdev!), { major: 1, minor: 3 });

    const big = join(root.dir, "big");
    libc.mknod(big, "b", 0o600, 300, 70000);
    const bst = Deno.lstatSync(big);
    assert.equal(bst.isBlockDevice, true);
    assert.deepEqual(libc.deviceNumbers(bst.rdev!), { major: 300, minor: 70000 });

    const exists = errnoOf(() => libc.mknod(nullDev, "c", 0o666, 1, 3));
    assert.equal(exists.code, "EEXIST");
    const missing = join(root.dir, "no-such-dir", "null");
    const e = errnoOf(() => libc.mknod(missing, "c", 0o666, 1, 3));
    assert.equal(e.code, "ENOENT");
    assert.equal(e.message, `mknod(${missing}): ENOENT (No such file or directory)`);

    assert.throws(() => libc.mknod(join(root.dir, "x"), "c", 0o10000, 1, 3), RangeError);
    assert.throws(
      () => libc.mknod(join(root.dir, "x"), "p" as "c", 0o600, 1, 3),
      RangeError,
    );
  } finally {
    libc.umask(old);
    root.cleanup();
  }
});

Deno.test("descriptor, kind and mode arguments are refused before libc sees them", () => {
  const scratch = tempDir("ffi-args");
  try {
    const x = join(scratch.dir, "x");
    for (const fd of [-1, -101, 2 ** 31, 1.5]) {
      assert.throws(() => libc.mknodat(fd, x, "c", 0o600, 1, 3), /^RangeError: mknodat: descr/);
      assert.throws(() => libc.statEntry(fd, x), /^RangeError: statx: descriptor/);
      assert.throws(() => libc.openTree(fd, x, 0), /^RangeError: open_tree: descriptor/);
      assert.throws(() => libc.close(fd), /^RangeError: close: descriptor/);
    }
    const cwd = libc.AT_FDCWD;
    assert.throws(() => libc.mknodat(cwd, x, "p" as "c", 0o600, 1, 3), /mknodat: kind "p"/);
    assert.throws(() => libc.mknodat(cwd, x, "c", 0o10000, 1, 3), /mknodat: mode 4096/);
    assert.throws(() => Deno.lstatSync(x), Deno.errors.NotFound);
  } finally {
    scratch.cleanup();
  }
});

Deno.test("umask sets the mask, returns the previous one, and applies to new files", () => {
  const scratch = tempDir("ffi-umask");
  const old = libc.umask(0o027);
  try {
    assert.equal(libc.umask(0o077), 0o027);
    const file = join(scratch.dir, "d");
    // Deno.writeFileSync chmods to its mode afterwards; mkdir leaves the umask in force.
    Deno.mkdirSync(file, { mode: 0o777 });
    assert.equal(Deno.statSync(file).mode! & 0o777, 0o700);
    assert.throws(() => libc.umask(0o1000), RangeError);
  } finally {
    assert.equal(libc.umask(old), 0o077);
    scratch.cleanup();
  }
});

Deno.test("wordexp expands quotes, variables, tilde and arithmetic", () => {
  const home = Deno.env.get("HOME");
  assert.ok(home, "HOME must be set for this test");
  assert.deepEqual(libc.wordexp(`a "b c" $HOME ~`, libc.WRDE_NOCMD), ["a", "b c", home, home]);
  assert.deepEqual(
    libc.wordexp("x $JK_FFI_UNDEFINED_VAR 'y  z' $((6*7)) no-match-*.jk", libc.WRDE_NOCMD),
    ["x", "y  z", "42", "no-match-*.jk"],
  );
  assert.deepEqual(libc.wordexp("   ", libc.WRDE_NOCMD), []);
});

Deno.test("wordexp errors carry the WRDE_* name", () => {
  for (
    const [words, flags, code, status] of [
      ["echo $(id)", libc.WRDE_NOCMD, "WRDE_CMDSUB", 4],
      ["echo `id`", libc.WRDE_NOCMD, "WRDE_CMDSUB", 4],
      ["a|b", libc.WRDE_NOCMD, "WRDE_BADCHAR", 2],
      ["a\nb", libc.WRDE_NOCMD, "WRDE_BADCHAR", 2],
      ["a;b", 0, "WRDE_BADCHAR", 2],
      [`echo "abc`, libc.WRDE_NOCMD, "WRDE_SYNTAX", 5],
      ["$JK_FFI_UNDEFINED_VAR", libc.WRDE_NOCMD | libc.WRDE_UNDEF, "WRDE_BADVAL", 3],
    ] as const
  ) {
    const e = wordexpErrorOf(words, flags);
    assert.equal(e.code, code, words);
    assert.equal(e.status, status, words);
    assert.equal(e.words, words);
  }
  assert.match(wordexpErrorOf("a|b", libc.WRDE_NOCMD).message, /^wordexp\("a\|b"\): WRDE_BADCHAR/);
  // WRDE_APPEND/WRDE_REUSE/WRDE_DOOFFS would need caller-owned wordexp_t state.
  for (const flag of [1, 2, 8]) assert.throws(() => libc.wordexp("a", flag), RangeError);
});

Deno.test("credential getters agree with Deno and /proc", () => {
  assert.equal(libc.getuid(), Deno.uid());
  assert.equal(libc.getgid(), Deno.gid());
  const status = Deno.readTextFileSync("/proc/self/status");
  const [ruid, euid, suid] = statusField(status, "Uid").split(/\s+/).map(Number);
  const [rgid, egid, sgid] = statusField(status, "Gid").split(/\s+/).map(Number);
  assert.deepEqual(libc.getresuid(), { real: ruid, effective: euid, saved: suid });
  assert.deepEqual(libc.getresgid(), { real: rgid, effective: egid, saved: sgid });
  assert.equal(libc.geteuid(), euid);
  assert.equal(libc.getegid(), egid);
  const groups = statusField(status, "Groups").split(/\s+/).filter((g) => g !== "").map(Number);
  assert.deepEqual(libc.getgroups().sort((a, b) => a - b), groups.sort((a, b) => a - b));
});

Deno.test("ids that the kernel would read as 'unchanged' are refused", () => {
  // Validation runs before any call, so none of these touches the test process's credentials.
  for (const id of [-1, 0xffffffff, 1.5]) {
    assert.throws(() => libc.setresuid(id, id, id), RangeError, String(id));
    assert.throws(() => libc.setresgid(id, id, id), RangeError, String(id));
    assert.throws(() => libc.setgroups([id]), RangeError, String(id));
  }
});

Deno.test("a failed execve throws ErrnoError and leaves SIGPIPE ignored again", () => {
  const sigIgn = () =>
    BigInt("0x" + statusField(Deno.readTextFileSync("/proc/thread-self/status"), "SigIgn"));
  const pipeBit = 1n << BigInt(libc.SIGPIPE - 1);
  assert.equal(sigIgn() & pipeBit, pipeBit, "Deno starts with SIGPIPE ignored");

  const missing = `/nonexistent-${crypto.randomUUID()}/prog`;
  const e = errnoOf(() => libc.execve(missing, ["prog", "arg"], ["A=1"]));
  assert.equal(e.code, "ENOENT");
  assert.equal(e.syscall, "execve");
  assert.equal(e.path, missing);
  assert.equal(sigIgn() & pipeBit, pipeBit);

  const scratch = tempDir("ffi-exec");
  try {
    const plain = join(scratch.dir, "not-executable");
    Deno.writeTextFileSync(plain, "#!/bin/sh\n", { mode: 0o644 });
    assert.equal(errnoOf(() => libc.execve(plain, [plain], [])).code, "EACCES");
  } finally {
    scratch.cleanup();
  }
});

Deno.test("resetSignal reports EINVAL for a signal that cannot be changed", () => {
  const e = errnoOf(() => libc.resetSignal(libc.SIGKILL));
  assert.equal(e.code, "EINVAL");
  assert.equal(e.message, "signal(9): EINVAL (Invalid argument)");
  assert.throws(() => libc.resetSignal(65), RangeError);
});

Deno.test("importing the module does not open libc", async () => {
  // Without --allow-ffi, a dlopen at import time would be a permission error.
  const out = await runChild(
    `import { deviceNumbers } from ${JSON.stringify(LIBC_URL)};
console.log(JSON.stringify(deviceNumbers(0x103)));`,
    { denoFlags: ["--allow-read"] },
  );
  assert.equal(out.stderr, "");
  assert.equal(out.stdout.trim(), `{"major":1,"minor":3}`);
  assert.equal(out.code, 0);
});

Deno.test("syslog sends the message verbatim through %s and keeps the ident alive", async () => {
  const out = await runChild(
    `import * as libc from ${JSON.stringify(LIBC_URL)};
libc.openlog(["jk", "ffi", "test"].join("_"), libc.LOG_PID | libc.LOG_PERROR, libc.LOG_AUTH);
// The ident is only pointed to by glibc: churn and collect the heap before logging.
let junk = [];
for (let i = 0; i < 20000; i++) junk.push(new Uint8Array(8 + (i % 50)));
junk = [];
globalThis.gc();
libc.syslog(libc.LOG_NOTICE, "100% %s %n %x done");
libc.syslog(libc.LOG_ERR, "nul\\0inside");
console.log(Deno.pid);`,
    { denoFlags: ["-A", "--v8-flags=--expose-gc"] },
  );
  assert.equal(out.code, 0, out.stderr);
  const pid = out.stdout.trim();
  assert.match(pid, /^\d+$/);
  assert.equal(
    out.stderr,
    `jk_ffi_test[${pid}]: 100% %s %n %x done\njk_ffi_test[${pid}]: nul\\0inside\n`,
  );
});

/** Prints getresuid etc. as JSON, then execs a shell that reports what the new program got. */
const DROP_AND_EXEC = `import * as libc from LIBC;
const field = (status, key) =>
  status.split("\\n").find((l) => l.startsWith(key + ":")).slice(key.length + 1).trim();
const fdsBefore = [...Deno.readDirSync("/proc/self/fd")].map((e) => e.name);
libc.setgroups([65534]);
libc.setresgid(65534, 65534, 65534);
libc.setresuid(65534, 65534, 65534);
libc.setNoNewPrivs();
const threads = [...Deno.readDirSync("/proc/self/task")].map((t) => {
  const s = Deno.readTextFileSync("/proc/self/task/" + t.name + "/status");
  return { uid: field(s, "Uid"), gid: field(s, "Gid"), groups: field(s, "Groups") };
});
let regain = "none";
try {
  libc.setresuid(0, 0, 0);
} catch (e) {
  regain = e.code;
}
libc.closeFdsAbove(2);
console.log(JSON.stringify({
  fdsBefore, threads, regain,
  resuid: libc.getresuid(), resgid: libc.getresgid(), groups: libc.getgroups(),
}));
const probe = "grep -E '^(Uid|Gid|Groups|NoNewPrivs|SigIgn):' /proc/self/status" +
  "; echo fds; ls /proc/self/fd";
libc.execve("/bin/sh", ["sh", "-c", probe], ["PATH=/usr/bin:/bin"]);
`;

rootTest(
  "credentials change in every thread; exec gets no_new_privs, no stray fds, default SIGPIPE",
  async () => {
    const out = await runChild(DROP_AND_EXEC.replace("LIBC", JSON.stringify(LIBC_URL)), {
      bashPrefix: "exec 7</dev/null;",
    });
    assert.equal(out.code, 0, out.stderr);
    assert.equal(out.stderr, "");
    const [json, ...rest] = out.stdout.split("\n");
    const report = JSON.parse(json);
    const ids = { real: NOBODY, effective: NOBODY, saved: NOBODY };
    assert.deepEqual(report.resuid, ids);
    assert.deepEqual(report.resgid, ids);
    assert.deepEqual(report.groups, [NOBODY]);
    assert.equal(report.regain, "EPERM");
    assert.ok(report.threads.length > 1, `Deno should run several threads: ${json}`);
    for (const t of report.threads) {
      assert.deepEqual(t, {
        uid: "65534\t65534\t65534\t65534",
        gid: "65534\t65534\t65534\t65534",
        groups: "65534",
      });
    }
    assert.ok(report.fdsBefore.includes("7"), "the inherited fd 7 was open before closeFdsAbove");

    const after = rest.join("\n");
    const [status, fds] = after.split("fds\n");
    assert.equal(statusField(status, "Uid"), "65534\t65534\t65534\t65534");
    assert.equal(statusField(status, "Gid"), "65534\t65534\t65534\t65534");
    assert.equal(statusField(status, "Groups"), "65534");
    assert.equal(statusField(status, "NoNewPrivs"), "1");
    // Only SIGPIPE is ours to reset: Deno.Command children start with signals 32 and 33 ignored.
    const pipeBit = 1n << BigInt(libc.SIGPIPE - 1);
    assert.equal(BigInt("0x" + statusField(status, "SigIgn")) & pipeBit, 0n);
    // ls sees the three standard descriptors plus the one it opened on /proc/self/fd.
    assert.deepEqual(fds.trim().split("\n"), ["0", "1", "2", "3"]);
  },
);

/** Copies a trusted host binary and the libraries ldd reports into the jail at the same paths. */
async function copyWithLibraries(binary: string, jail: string): Promise<void> {
  const ldd = await new Deno.Command("ldd", { args: [binary], stdout: "piped" }).output();
  assert.equal(ldd.code, 0);
  const files = [binary];
  for (const line of new TextDecoder().decode(ldd.stdout).split("\n")) {
    const m = line.match(/(?:=>\s*)?(\/\S+)\s+\(0x[0-9a-f]+\)/);
    if (m) files.push(m[1]);
  }
  assert.ok(files.length >= 3, `ldd found no libraries for ${binary}`);
  for (const file of files) {
    const target = join(jail, file);
    Deno.mkdirSync(dirname(target), { recursive: true, mode: 0o755 });
    Deno.copyFileSync(file, target);
  }
}

Deno.test("path arguments: two at once stay apart, a path longer than PATH_MAX is the kernel's to refuse", () => {
  const { dir, cleanup } = tempDir("ffi-paths");
  try {
    // The *at wrappers encode paths into reused buffers: renameat2 and symlinkat take two.
    Deno.writeTextFileSync(`${dir}/from`, "x");
    libc.renameat(libc.AT_FDCWD, `${dir}/from`, libc.AT_FDCWD, `${dir}/to-a-longer-name`);
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["to-a-longer-name"]);
    libc.symlinkat("a/link/text", libc.AT_FDCWD, `${dir}/l`);
    assert.equal(Deno.readLinkSync(`${dir}/l`), "a/link/text");
    assert.equal(libc.readlinkat(libc.AT_FDCWD, `${dir}/l`), "a/link/text");
    const long = `${dir}/${"d/".repeat(2100)}f`;
    assert.equal(errnoOf(() => libc.open(long, libc.O_RDONLY)).code, "ENAMETOOLONG");
    assert.equal(libc.statx(libc.AT_FDCWD, `${dir}/l`, libc.AT_SYMLINK_NOFOLLOW).size, 11);
    assert.throws(() => libc.open("a\0b", libc.O_RDONLY), /NUL byte/);
  } finally {
    cleanup();
  }
});

rootTest("a child chroots, drops to 65534 and execs a program inside the jail", async () => {
  const root = safeTestRoot("ffi-jail");
  try {
    const jail = root.dir;
    await copyWithLibraries("/usr/bin/id", jail);
    const out = await runChild(
      `import * as libc from ${JSON.stringify(LIBC_URL)};
libc.chdir(${JSON.stringify(jail)});
libc.chroot(${JSON.stringify(jail)});
libc.chdir("/");
libc.setgroups([65534]);
libc.setresgid(65534, 65534, 65534);
libc.setresuid(65534, 65534, 65534);
libc.setNoNewPrivs();
libc.execve("/usr/bin/id", ["id"], []);`,
    );
    assert.equal(out.stderr, "");
    assert.equal(out.code, 0);
    // Names would resolve to nobody/nogroup on the host; the jail has no passwd or group file.
    assert.equal(out.stdout, "uid=65534 gid=65534 groups=65534\n");
  } finally {
    root.cleanup();
  }
});

rootTest("chroot into a missing directory is ENOENT and leaves the root alone", () => {
  const missing = `/nonexistent-${crypto.randomUUID()}`;
  const e = errnoOf(() => libc.chroot(missing));
  assert.equal(e.code, "ENOENT");
  assert.equal(e.message, `chroot(${missing}): ENOENT (No such file or directory)`);
  assert.ok(Deno.statSync("/etc/passwd").isFile);
});

Deno.test("sameBytes compares the first `length` bytes (memcmp), refuses a length past either buffer", () => {
  const a = new Uint8Array([1, 2, 3, 4, 5]);
  const b = new Uint8Array([1, 2, 3, 4, 6]);
  assert.equal(libc.sameBytes(a, b, 4), true);
  assert.equal(libc.sameBytes(a, b, 5), false);
  assert.equal(libc.sameBytes(a, b, 0), true);
  assert.equal(libc.sameBytes(b, a, 5), false);
  assert.throws(() => libc.sameBytes(a, new Uint8Array(3), 4), RangeError);
  assert.throws(() => libc.sameBytes(a, b, -1), RangeError);
});

Deno.test("futimens and utimensat set millisecond times before and after 1970, and past 2038", () => {
  const { dir, cleanup } = tempDir("ffi-times");
  try {
    const path = `${dir}/f`;
    Deno.writeTextFileSync(path, "");
    Deno.symlinkSync("f", `${dir}/link`);
    const fd = libc.open(path, libc.O_RDONLY | libc.O_CLOEXEC);
    const dirfd = libc.open(dir, libc.O_RDONLY | libc.O_DIRECTORY | libc.O_CLOEXEC);
    try {
      for (const ms of [0, 1, 999, 1_000_000_123, -1, -86_400_000 * 400 + 7, 2 ** 32 * 1000 + 5]) {
        libc.futimens(fd, ms, ms + 1000);
        assert.equal(Deno.statSync(path).atime?.getTime(), ms, `atime ${ms}`);
        assert.equal(Deno.statSync(path).mtime?.getTime(), ms + 1000, `mtime ${ms}`);
        libc.utimensat(dirfd, "link", ms + 3, ms, libc.AT_SYMLINK_NOFOLLOW);
        assert.equal(Deno.lstatSync(`${dir}/link`).mtime?.getTime(), ms, `link mtime ${ms}`);
        assert.equal(Deno.statSync(path).mtime?.getTime(), ms + 1000, "the target is untouched");
      }
      assert.throws(() => libc.futimens(fd, NaN, 0), /not a valid date/);
      assert.throws(() => libc.futimens(fd, 0, 8.7e15), /not a valid date/);
    } finally {
      libc.close(fd);
      libc.close(dirfd);
    }
  } finally {
    cleanup();
  }
});
