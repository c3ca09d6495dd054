/**
 * The only way into libc; everything else imports from here. Each wrapper makes one synchronous
 * call and, when it fails, reads errno immediately (a `nonblocking` call would run on another
 * thread and lose it) and throws an ErrnoError. Each function is bound on its first use, so
 * importing this module costs the tools that never call it nothing.
 *
 * The wrappers live in ffi/libc/ by area: symbols.ts (the C signatures and the lazy binding),
 * base.ts (errno, C strings), files.ts, dirs.ts, ids.ts, process.ts, devices.ts, log.ts,
 * wordexp.ts, sockets.ts, mounts.ts, memory.ts. This module re-exports what they offer.
 *
 * Target: glibc on 64-bit Linux (x86_64, aarch64 — the only targets Deno ships for). Errno
 * numbers are the asm-generic ones both use; struct layouts use POINTER_BYTES.
 */
export { ErrnoError, errnoName } from "./libc/base.ts";
export { deviceNumbers, makedev, mknod, mknodat, S_IFBLK, S_IFCHR } from "./libc/devices.ts";
export {
  chdir,
  chroot,
  getegid,
  geteuid,
  getgid,
  getgroups,
  getresgid,
  getresuid,
  getuid,
  setgroups,
  setNoNewPrivs,
  setresgid,
  setresuid,
  umask,
} from "./libc/ids.ts";
export type { ResIds } from "./libc/ids.ts";
export {
  closeFdsAbove,
  execve,
  resetSignal,
  SIGFPE,
  SIGHUP,
  SIGILL,
  SIGINT,
  SIGKILL,
  SIGPIPE,
  SIGQUIT,
  SIGSEGV,
  SIGTERM,
} from "./libc/process.ts";
export {
  closelog,
  LOG_ALERT,
  LOG_AUTH,
  LOG_AUTHPRIV,
  LOG_CONS,
  LOG_CRIT,
  LOG_DAEMON,
  LOG_DEBUG,
  LOG_EMERG,
  LOG_ERR,
  LOG_INFO,
  LOG_NDELAY,
  LOG_NOTICE,
  LOG_PERROR,
  LOG_PID,
  LOG_USER,
  LOG_WARNING,
  openlog,
  syslog,
} from "./libc/log.ts";
export { wordexp, WordexpError, WRDE_NOCMD, WRDE_SHOWERR, WRDE_UNDEF } from "./libc/wordexp.ts";
export type { WordexpCode } from "./libc/wordexp.ts";
export {
  AT_EMPTY_PATH,
  AT_FDCWD,
  AT_REMOVEDIR,
  AT_SYMLINK_NOFOLLOW,
  close,
  copyFileRange,
  Dir,
  fchmod,
  fchmodat,
  fchown,
  fchownat,
  fsync,
  ftruncate,
  futimens,
  linkat,
  mkdirat,
  O_CLOEXEC,
  O_CREAT,
  O_DIRECTORY,
  O_EXCL,
  O_NOCTTY,
  O_NOFOLLOW,
  O_NONBLOCK,
  O_PATH,
  O_RDONLY,
  O_WRONLY,
  open,
  openat,
  pread,
  read,
  readlinkat,
  RENAME_EXCHANGE,
  RENAME_NOREPLACE,
  renameat,
  S_IFDIR,
  S_IFLNK,
  S_IFMT,
  S_IFREG,
  sameBytes,
  sendfile,
  statx,
  symlinkat,
  unlinkat,
  utimensat,
  write,
} from "./libc/files.ts";
export type { FileStat } from "./libc/files.ts";
export {
  directoryNames,
  fileInfo,
  MAX_DIR_ENTRIES,
  statDirectory,
  statEntry,
} from "./libc/dirs.ts";
export type { EntryStat, StatedEntry } from "./libc/dirs.ts";
export {
  AT_RECURSIVE,
  CLONE_NEWNET,
  CLONE_NEWNS,
  CLONE_NEWPID,
  getpid,
  gettid,
  makeRootPrivate,
  MOUNT_ATTR_NODEV,
  MOUNT_ATTR_NOEXEC,
  MOUNT_ATTR_NOSUID,
  MOUNT_ATTR_RDONLY,
  mountSetattr,
  moveMount,
  newMount,
  OPEN_TREE_CLOEXEC,
  OPEN_TREE_CLONE,
  openTree,
  unshare,
} from "./libc/mounts.ts";
export {
  connectUnix,
  MSG_DONTWAIT,
  MSG_NOSIGNAL,
  send,
  SOCK_DGRAM,
  SOCK_STREAM,
} from "./libc/sockets.ts";
export { dropFilePages } from "./libc/memory.ts";
