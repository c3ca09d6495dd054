/**
 * Directories and credentials: chroot, chdir, the ids and groups, umask, PR_SET_NO_NEW_PRIVS
 * (lib/login/privilege.ts's privilege sequence).
 */
import { checkUint, cString, fail, MAX_ID } from "./base.ts";
import { libc } from "./symbols.ts";

export function chroot(path: string): void {
  if (libc().chroot(cString("chroot", "path", path)) !== 0) fail("chroot", path);
}

export function chdir(path: string): void {
  if (libc().chdir(cString("chdir", "path", path)) !== 0) fail("chdir", path);
}

/** Replaces the supplementary groups of every thread of the process (glibc broadcasts). */
export function setgroups(gids: readonly number[]): void {
  for (const gid of gids) checkUint("setgroups", "gid", gid, MAX_ID);
  const list = Uint32Array.from(gids);
  if (libc().setgroups(BigInt(list.length), list) !== 0) fail("setgroups");
}

export function getgroups(): number[] {
  const count = libc().getgroups(0, null);
  if (count < 0) fail("getgroups");
  const list = new Uint32Array(count);
  const got = libc().getgroups(count, list);
  if (got < 0) fail("getgroups");
  return Array.from(list.subarray(0, got));
}

/** Sets real, effective and saved gid in every thread (glibc broadcasts; raw syscalls don't). */
export function setresgid(rgid: number, egid: number, sgid: number): void {
  checkUint("setresgid", "rgid", rgid, MAX_ID);
  checkUint("setresgid", "egid", egid, MAX_ID);
  checkUint("setresgid", "sgid", sgid, MAX_ID);
  if (libc().setresgid(rgid, egid, sgid) !== 0) fail("setresgid");
}

/** Sets real, effective and saved uid in every thread (glibc broadcasts; raw syscalls don't). */
export function setresuid(ruid: number, euid: number, suid: number): void {
  checkUint("setresuid", "ruid", ruid, MAX_ID);
  checkUint("setresuid", "euid", euid, MAX_ID);
  checkUint("setresuid", "suid", suid, MAX_ID);
  if (libc().setresuid(ruid, euid, suid) !== 0) fail("setresuid");
}

export interface ResIds {
  real: number;
  effective: number;
  saved: number;
}

function readResIds(
  syscall: string,
  call: (r: Uint32Array, e: Uint32Array, s: Uint32Array) => number,
): ResIds {
  const [r, e, s] = [new Uint32Array(1), new Uint32Array(1), new Uint32Array(1)];
  if (call(r, e, s) !== 0) fail(syscall);
  return { real: r[0], effective: e[0], saved: s[0] };
}

export function getresuid(): ResIds {
  return readResIds("getresuid", (r, e, s) => libc().getresuid(r, e, s));
}

export function getresgid(): ResIds {
  return readResIds("getresgid", (r, e, s) => libc().getresgid(r, e, s));
}

export function getuid(): number {
  return libc().getuid();
}

export function geteuid(): number {
  return libc().geteuid();
}

export function getgid(): number {
  return libc().getgid();
}

export function getegid(): number {
  return libc().getegid();
}

/** Sets the file mode creation mask; returns the previous one. */
export function umask(mask: number): number {
  checkUint("umask", "mask", mask, 0o777);
  return libc().umask(mask);
}

const PR_SET_NO_NEW_PRIVS = 38;

/** Irreversibly forbids this process and everything it execs from gaining privileges. */
export function setNoNewPrivs(): void {
  if (libc().prctl(PR_SET_NO_NEW_PRIVS, 1n, 0n, 0n, 0n) !== 0) fail("prctl(PR_SET_NO_NEW_PRIVS)");
}
