/**
 * Namespaces and the new mount API (open_tree, mount_setattr, move_mount, fsopen, fsconfig,
 * fsmount; glibc 2.36, Linux 5.12+) for the sessions of thin jails (lib/login/thin_session.ts).
 * Every mount is built detached and attached to a directory descriptor the caller opened and
 * checked, so no path is resolved between the check and the mount. The one old-style mount(2)
 * call only makes every mount of a fresh namespace private.
 */
import { checkDirFd, checkUint, cString, fail, fixedBytes } from "./base.ts";
import { libc } from "./symbols.ts";

export const CLONE_NEWNS = 0x00020000;
export const CLONE_NEWPID = 0x20000000;
export const CLONE_NEWNET = 0x40000000;

const MS_REC = 0x4000;
const MS_PRIVATE = 0x40000;

export const OPEN_TREE_CLONE = 1;
export const OPEN_TREE_CLOEXEC = 0o2000000;
export const AT_RECURSIVE = 0x8000;

const MOVE_MOUNT_F_EMPTY_PATH = 0x4;
const MOVE_MOUNT_T_EMPTY_PATH = 0x40;

export const MOUNT_ATTR_RDONLY = 0x1;
export const MOUNT_ATTR_NOSUID = 0x2;
export const MOUNT_ATTR_NODEV = 0x4;
export const MOUNT_ATTR_NOEXEC = 0x8;

const FSOPEN_CLOEXEC = 1;
const FSMOUNT_CLOEXEC = 1;
const FSCONFIG_SET_STRING = 1;
const FSCONFIG_CMD_CREATE = 6;

/** unshare(2): moves the calling thread into new namespaces of the kinds in `flags`. */
export function unshare(flags: number): void {
  checkUint("unshare", "flags", flags, 0x7fffffff);
  if (libc().unshare(flags) !== 0) fail("unshare");
}

/** mount(NULL, "/", NULL, MS_REC|MS_PRIVATE, NULL): nothing mounted here propagates out. */
export function makeRootPrivate(): void {
  if (
    libc().mount(null, cString("mount", "target", "/"), null, BigInt(MS_REC | MS_PRIVATE), null)
  ) {
    fail("mount(MS_REC|MS_PRIVATE)", "/");
  }
}

/** open_tree(2); returns a descriptor of the (cloned, detached) tree. */
export function openTree(dirfd: number, path: string, flags: number): number {
  checkDirFd("open_tree", dirfd);
  const fd = libc().open_tree(dirfd, cString("open_tree", "path", path), flags >>> 0);
  if (fd < 0) fail("open_tree", path);
  return fd;
}

/** struct mount_attr { __u64 attr_set, attr_clr, propagation, userns_fd; } */
const MOUNT_ATTR_SIZE_VER0 = 32;

/** mount_setattr(2) on the mount `fd` names (AT_EMPTY_PATH), setting `attrSet`. */
export function mountSetattr(fd: number, flags: number, attrSet: number): void {
  checkDirFd("mount_setattr", fd);
  const attr = fixedBytes(MOUNT_ATTR_SIZE_VER0);
  new DataView(attr.buffer).setBigUint64(0, BigInt(attrSet), true);
  if (
    libc().mount_setattr(
      fd,
      cString("mount_setattr", "path", ""),
      flags >>> 0,
      attr,
      BigInt(MOUNT_ATTR_SIZE_VER0),
    ) !== 0
  ) {
    fail("mount_setattr");
  }
}

/** move_mount(2) from descriptor to descriptor (both with empty paths). */
export function moveMount(fromFd: number, toFd: number): void {
  checkDirFd("move_mount", fromFd);
  checkDirFd("move_mount", toFd);
  const empty = cString("move_mount", "path", "");
  const flags = MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH;
  if (libc().move_mount(fromFd, empty, toFd, empty, flags) !== 0) fail("move_mount");
}

/**
 * A new detached mount of file system `fsType` configured with `options` (string values),
 * with MOUNT_ATTR_* `attrs`: fsopen, fsconfig, FSCONFIG_CMD_CREATE, fsmount. Returns the
 * mount's descriptor (close-on-exec).
 */
export function newMount(fsType: string, options: Record<string, string>, attrs: number): number {
  const fsFd = libc().fsopen(cString("fsopen", "fs_name", fsType), FSOPEN_CLOEXEC);
  if (fsFd < 0) fail("fsopen", fsType);
  try {
    for (const [key, value] of Object.entries(options)) {
      const k = cString("fsconfig", "key", key);
      const v = cString("fsconfig", "value", value);
      if (libc().fsconfig(fsFd, FSCONFIG_SET_STRING, k, v, 0) !== 0) {
        fail("fsconfig", `${fsType} ${key}=${value}`);
      }
    }
    if (libc().fsconfig(fsFd, FSCONFIG_CMD_CREATE, null, null, 0) !== 0) {
      fail("fsconfig(FSCONFIG_CMD_CREATE)", fsType);
    }
    const mountFd = libc().fsmount(fsFd, FSMOUNT_CLOEXEC, attrs >>> 0);
    if (mountFd < 0) fail("fsmount", fsType);
    return mountFd;
  } finally {
    libc().close(fsFd);
  }
}

/** The calling thread's id (gettid(2)). */
export function gettid(): number {
  return libc().gettid();
}

/** The process id as the kernel sees it now (not cached: 1 right after a PID namespace). */
export function getpid(): number {
  return libc().getpid();
}
