/**
 * What the login tools' tests share. For the decision tests of the setuid tools (jk_chrootsh,
 * jk_uchroot, jk_chrootlaunch, jk_procmailwrapper): stat results, a fake CallerSystem
 * (lib/login/common.ts) that records every effect, the exit codes of the privilege steps and a
 * probe of lib/login/privilege.ts in a fresh process. For their end-to-end tests: the installed
 * tools in a private namespace, and the start of a hand-built jail. For jk_lsh's decision
 * (tests/lsh_test.ts and its fuzz target): the fake jail its commands resolve in.
 */
import assert from "node:assert/strict";
import { parseGroup, parsePasswd } from "../lib/config/passwd.ts";
import type { LogPriority, StatInfo } from "../lib/login/common.ts";
import type { LshFs } from "../lib/login/lsh.ts";
import { type Credentials, PrivilegeError, type PrivilegeStep } from "../lib/login/privilege.ts";
import { copyInto, DENO, librariesOf, REPO_ROOT, safeTestRoot } from "./helpers.ts";
import { syslogListener, TestNamespace } from "./namespace.ts";

// ---------------------------------------------------------------------------------------------
// Stat results

export const DIR = 0o040000;
export const REG = 0o100000;
export const LNK = 0o120000;

/** A StatInfo (mode with its file type bits); a symlink by its type unless told otherwise. */
export function statOf(
  mode: number,
  uid = 0,
  gid = 0,
  isSymlink = (mode & 0o170000) === LNK,
): StatInfo {
  return { mode, uid, gid, isSymlink };
}

// ---------------------------------------------------------------------------------------------
// The fake system of the decision tests

/** What a fake run recorded. */
export interface Recording {
  /** Effects and, where traced, lookups, in order: "chdir /srv/jail", "chroot", "drop 1001 …". */
  events: string[];
  logs: [string, string][];
  stdout: string;
  stderr: string;
}

/**
 * The effects of a fake run, recorded; `entered` (the jail, once changed into) and `dropped` tell
 * how far enterJail got, so that a fake can refuse what production only does after that point.
 */
export class FakeEffects implements Recording {
  readonly events: string[] = [];
  readonly logs: [string, string][] = [];
  stdout = "";
  stderr = "";
  entered: string | undefined;
  dropped = false;

  /** `failStep`: the privilege step that fails, as lib/login/privilege.ts reports it. */
  constructor(private readonly failStep?: PrivilegeStep) {}

  /** lib/login/privilege.ts enterJail: its steps in order, each of which may be the failing one. */
  readonly enterJail = (jail: string, creds: Credentials, beforeChroot: () => void): void => {
    this.events.push(`chdir ${jail}`);
    this.fail("chdir-jail");
    this.fail("getcwd");
    this.entered = jail;
    beforeChroot();
    this.fail("chroot");
    this.events.push("chroot");
    this.dropPrivileges(creds);
    this.dropped = true;
  };

  /** lib/login/privilege.ts dropPrivileges. */
  readonly dropPrivileges = (creds: Credentials): void => {
    this.fail("setgroups");
    this.fail("setresgid");
    this.fail("setresuid");
    this.fail("verify");
    this.events.push(`drop ${creds.uid} ${creds.gid} [${creds.groups}]`);
  };

  readonly log = (priority: LogPriority, message: string): void => {
    this.logs.push([priority, message]);
  };
  readonly writeStdout = (text: string): void => {
    this.stdout += text;
  };
  readonly writeStderr = (text: string): void => {
    this.stderr += text;
  };

  /** What was recorded, to hand back with the run's result. */
  recording(): Recording {
    return { events: this.events, logs: this.logs, stdout: this.stdout, stderr: this.stderr };
  }

  private fail(step: PrivilegeStep): void {
    if (this.failStep === step) throw new PrivilegeError(step, `${step} failed`);
  }
}

/** The caller, the host and the jail as a setuid login tool's fake sees them. */
export interface CallerWorld {
  argv0: string;
  args: string[];
  euid: number;
  uid: number;
  gid: number;
  /** The caller's supplementary groups; undefined when they cannot be read. */
  groups: number[] | undefined;
  env: Record<string, string>;
  umask: number;
  hostPasswd: string | undefined;
  hostGroup: string | undefined;
  /** lstat results by path ("." and relative paths are inside the jail once entered). */
  lstat: Record<string, StatInfo | undefined>;
  /** stat results (symlinks followed) for the checked jail directories. */
  stat: Record<string, StatInfo | undefined>;
  /** The jail's files as the user reads them, after the drop. */
  jailFiles: Record<string, string | undefined>;
  failStep?: PrivilegeStep;
  /** The user's home cannot be entered inside the jail. */
  chdirFails?: boolean;
}

/**
 * The CallerSystem of `w` with its effects recorded in `fx`, plus the jail's files and the chdir
 * to the home. The lookups (lstat, stat, jail files) are recorded too unless `traceLookups` is
 * false; a jail file read before the drop fails the test.
 */
export function fakeCallerSystem(w: CallerWorld, fx: FakeEffects, traceLookups = true) {
  const trace = (event: string) => {
    if (traceLookups) fx.events.push(event);
  };
  return {
    argv0: w.argv0,
    args: w.args,
    euid: w.euid,
    uid: w.uid,
    gid: w.gid,
    groups: () => {
      if (w.groups === undefined) throw new Error("getgroups: EINVAL");
      return w.groups;
    },
    callerEnv: new Map(Object.entries(w.env)),
    callerUmask: w.umask,
    hostPasswd: () => w.hostPasswd === undefined ? undefined : parsePasswd(w.hostPasswd, "p"),
    hostGroup: () => w.hostGroup === undefined ? undefined : parseGroup(w.hostGroup, "g"),
    lstat: (path: string) => {
      trace(`lstat ${path}`);
      return w.lstat[path];
    },
    stat: (path: string) => {
      trace(`stat ${path}`);
      return w.stat[path];
    },
    enterJail: fx.enterJail,
    log: fx.log,
    readJailFile: (path: string) => {
      assert.ok(fx.dropped, `${path} read before the drop`);
      trace(`read ${path}`);
      return w.jailFiles[path];
    },
    chdir: (path: string) => {
      fx.events.push(`chdir ${path}`);
      if (w.chdirFails) throw new Error("ENOENT");
    },
  };
}

/**
 * The world maker of a decision test: each call builds fresh `defaults` (tests change them in
 * place), then applies the test's `change`.
 */
export function worldsFrom<W>(defaults: () => W): (change?: (w: W) => void) => W {
  return (change = () => {}) => {
    const w = defaults();
    change(w);
    return w;
  };
}

/** stat results of a jail's system directories (dev, etc, lib, usr, bin, sbin), all safe. */
export function systemDirs(): Record<string, StatInfo | undefined> {
  return Object.fromEntries(
    ["dev", "etc", "lib", "usr", "bin", "sbin"].map((d) => [d, statOf(DIR | 0o755)]),
  );
}

/** A run's exit status: 0 when it execs, its refusal's code otherwise. */
export function exitOf(result: { exec?: unknown; exitCode?: number }): number {
  return result.exec ? 0 : result.exitCode!;
}

/**
 * The exit status of each failed privilege step when a user is taken into a jail (jk_chrootsh,
 * jk_uchroot and jk_procmailwrapper; their man pages, EXIT STATUS).
 */
export const JAIL_STEP_EXITS: readonly (readonly [PrivilegeStep, number])[] = [
  ["chdir-jail", 19],
  ["getcwd", 21],
  ["chroot", 33],
  ["setgroups", 35],
  ["setresgid", 34],
  ["setresuid", 36],
  ["verify", 36],
];

/**
 * Runs `code` against lib/login/privilege.ts (imported as `p`) in a fresh process, since the
 * module keeps its stage; "no error", or the PrivilegeError as "step: message".
 */
export async function privilegeProbe(code: string): Promise<string> {
  const script = `import * as p from "${REPO_ROOT}/lib/login/privilege.ts";\n` +
    `try { ${code}; console.log("no error"); } ` +
    `catch (e) { console.log(e instanceof p.PrivilegeError ? e.step + ": " + e.message : e); }`;
  const out = await new Deno.Command(DENO, {
    args: ["eval", "--no-config", script],
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "inherit",
  }).output();
  return new TextDecoder().decode(out.stdout).trim();
}

// ---------------------------------------------------------------------------------------------
// End to end

/** Where an end-to-end test runs: ROOT/usr holds the installed tools. */
export interface InstalledTools {
  root: string;
  ns: TestNamespace;
  log: ReturnType<typeof syslogListener>;
}

/**
 * Installs the tools under a fresh safe ROOT/usr and runs `fn` with a namespace whose /etc and
 * /dev/log are its own (tests/namespace.ts), the syslog lines collected; then removes it all.
 */
export async function withInstalledTools(
  label: string,
  fn: (tools: InstalledTools) => Promise<void>,
): Promise<void> {
  const { dir: root, cleanup } = safeTestRoot(label);
  const log = syslogListener(`${root}/log.sock`);
  let ns: TestNamespace | undefined;
  try {
    ns = await TestNamespace.create(root, { devLog: `${root}/log.sock` });
    const inst = await ns.sh(
      `cd ${REPO_ROOT} && ${DENO} run -A tools/install.ts --prefix ${root}/usr`,
    );
    assert.equal(inst.code, 0, inst.stderr + inst.stdout);
    await fn({ root, ns, log });
  } finally {
    await log.close();
    if (ns) await ns.close();
    cleanup();
  }
}

/**
 * The start of a hand-built jail: `programs` and their libraries under /usr/bin, /bin a link to
 * it, sh to dash, and the accounts of writeJailAccounts.
 */
export function buildLoginJail(
  jail: string,
  programs: readonly string[],
  users: string,
  groups: string,
): void {
  Deno.mkdirSync(`${jail}/usr/bin`, { recursive: true, mode: 0o755 });
  for (const p of programs) {
    copyInto(jail, p);
    for (const lib of librariesOf(p)) copyInto(jail, lib);
  }
  Deno.symlinkSync("usr/bin", `${jail}/bin`);
  Deno.symlinkSync("dash", `${jail}/usr/bin/sh`);
  Deno.mkdirSync(`${jail}/etc`, { mode: 0o755 });
  writeJailAccounts(jail, users, groups);
}

/**
 * The jail's /etc/passwd and /etc/group, read through files: root, then `users` and `groups`
 * (lines of those files). /etc must exist.
 */
export function writeJailAccounts(jail: string, users: string, groups: string): void {
  Deno.writeTextFileSync(`${jail}/etc/nsswitch.conf`, "passwd: files\ngroup: files\n");
  Deno.writeTextFileSync(`${jail}/etc/passwd`, `root:x:0:0:root:/root:/bin/sh\n${users}`);
  Deno.writeTextFileSync(`${jail}/etc/group`, `root:x:0:\n${groups}`);
}

/** `words` single-quoted for sh -c (the tests' words hold no quote). */
export function quoted(words: readonly string[]): string {
  return words.map((w) => `'${w}'`).join(" ");
}

// ---------------------------------------------------------------------------------------------
// jk_lsh's fake jail

/** Regular files of jk_lsh's fake jail. */
const LSH_FILES = new Set([
  "/bin/ls",
  "/bin/echo",
  "/bin/sh",
  "/bin/cat",
  "/usr/bin/id",
  "/usr/bin/rsync",
  "/usr/bin/scp",
  "/usr/bin/sftp",
  "/usr/bin/ssh",
  "/usr/bin/git",
  "/usr/bin/git-shell",
  "/usr/bin/cvs",
  "/usr/bin/svnserve",
  "/usr/lib/openssh/sftp-server",
]);
/** Its symlinks, each to what realpath gives. */
const LSH_LINKS: Record<string, string> = {
  "/usr/bin/git-upload-pack": "/usr/bin/git",
  "/usr/bin/git-receive-pack": "/usr/bin/git",
  "/usr/bin/git-upload-archive": "/usr/bin/git",
  "/usr/local/bin/backup": "/usr/bin/rsync",
  "/home/jktest/rsync": "/usr/bin/rsync",
  "/home/jktest/upload": "/bin/sh",
};

/** The fake jail's programs that a config allowing them all lists. */
export const LSH_PROGRAMS: readonly string[] = [
  "/bin/ls",
  "/bin/echo",
  "/usr/bin/rsync",
  "/usr/bin/scp",
  "/usr/bin/git",
  "/usr/bin/git-upload-pack",
  "/usr/bin/git-receive-pack",
  "/usr/bin/git-upload-archive",
  "/usr/bin/git-shell",
  "/usr/bin/cvs",
  "/usr/bin/svnserve",
  "/usr/lib/openssh/sftp-server",
  "/usr/local/bin/backup",
];

/** The file system jk_lsh's decision sees in the fake jail; any string is a safe path to ask. */
export const lshFs: LshFs = {
  isRegularFile: (p) =>
    LSH_FILES.has(p) || (Object.hasOwn(LSH_LINKS, p) && LSH_FILES.has(LSH_LINKS[p])),
  realPath: (p) => Object.hasOwn(LSH_LINKS, p) ? LSH_LINKS[p] : LSH_FILES.has(p) ? p : undefined,
};
