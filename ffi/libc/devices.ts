/**
 * Device numbers, mknod and mknodat (jk_init's and jk_cp's device nodes, jk_jailuser's copy).
 */
import { checkDirFd, checkUint, cString, fail, transientCString } from "./base.ts";
import { libc } from "./symbols.ts";

export const S_IFCHR = 0o020000;
export const S_IFBLK = 0o060000;

/** The dev_t glibc builds from a major/minor pair. */
export function makedev(major: number, minor: number): bigint {
  checkUint("makedev", "major", major, 0xffffffff);
  checkUint("makedev", "minor", minor, 0xffffffff);
  return libc().gnu_dev_makedev(major, minor);
}

/** Splits a dev_t (e.g. Deno.FileInfo.rdev) into major and minor, as glibc's major()/minor(). */
export function deviceNumbers(rdev: number | bigint): { major: number; minor: number } {
  if (typeof rdev === "number" && !Number.isSafeInteger(rdev)) {
    throw new RangeError(`deviceNumbers: ${rdev} is not a safe integer`);
  }
  const dev = BigInt(rdev);
  if (dev < 0n || dev > 0xffff_ffff_ffff_ffffn) {
    throw new RangeError(`deviceNumbers: ${rdev} is not a 64-bit dev_t`);
  }
  const major = ((dev >> 8n) & 0xfffn) | ((dev >> 32n) & 0xffff_f000n);
  const minor = (dev & 0xffn) | ((dev >> 12n) & 0xffff_ff00n);
  return { major: Number(major), minor: Number(minor) };
}

/**
 * Creates a character ("c") or block ("b") device node. `mode` holds only the permission bits;
 * the umask applies to them.
 */
export function mknod(
  path: string,
  kind: "c" | "b",
  mode: number,
  major: number,
  minor: number,
): void {
  const [fullMode, dev] = deviceArgs("mknod", kind, mode, major, minor);
  if (libc().mknod(cString("mknod", "path", path), fullMode, dev) !== 0) fail("mknod", path);
}

/** mknod relative to a directory descriptor; as `mknod`, the umask applies to `mode`. */
export function mknodat(
  dirfd: number,
  path: string,
  kind: "c" | "b",
  mode: number,
  major: number,
  minor: number,
): void {
  checkDirFd("mknodat", dirfd);
  const [fullMode, dev] = deviceArgs("mknodat", kind, mode, major, minor);
  const name = transientCString("mknodat", "path", path, 0);
  if (libc().mknodat(dirfd, name, fullMode, dev) !== 0) fail("mknodat", path);
}

/** The mode (file type included) and the dev_t that mknod(2) and mknodat(2) take, checked. */
function deviceArgs(
  syscall: string,
  kind: "c" | "b",
  mode: number,
  major: number,
  minor: number,
): [number, bigint] {
  checkUint(syscall, "mode", mode, 0o7777);
  const type = kind === "c" ? S_IFCHR : kind === "b" ? S_IFBLK : undefined;
  if (type === undefined) {
    throw new RangeError(`${syscall}: kind ${JSON.stringify(kind)} is not "c" or "b"`);
  }
  return [type | mode, makedev(major, minor)];
}
