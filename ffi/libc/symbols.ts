/**
 * The libc functions the wrappers call: the one `symbols` object, with each C signature in a
 * comment beside its parameters, and `libc()`, which binds each function on its first use.
 *
 * prctl, syslog, open and openat are variadic in C. They are bound with fixed arity: on the x86_64 and aarch64
 * Linux ABIs integer and pointer variadic arguments travel in the same registers as fixed ones.
 */
const symbols = {
  __errno_location: { parameters: [], result: "pointer" /* int * */ },
  strerror: { parameters: ["i32" /* int errnum */], result: "pointer" /* char * */ },
  gnu_dev_makedev: {
    parameters: [
      "u32", /* unsigned int major */
      "u32", /* unsigned int minor */
    ],
    result: "u64", /* dev_t */
  },
  mknod: {
    parameters: [
      "buffer", /* const char *pathname */
      "u32", /* mode_t mode */
      "u64", /* dev_t dev */
    ],
    result: "i32", /* int */
  },
  chroot: { parameters: ["buffer" /* const char *path */], result: "i32" /* int */ },
  chdir: { parameters: ["buffer" /* const char *path */], result: "i32" /* int */ },
  setgroups: {
    parameters: [
      "usize", /* size_t size */
      "buffer", /* const gid_t *list */
    ],
    result: "i32", /* int */
  },
  getgroups: {
    parameters: [
      "i32", /* int size */
      "buffer", /* gid_t list[] */
    ],
    result: "i32", /* int */
  },
  setresgid: {
    parameters: [
      "u32", /* gid_t rgid */
      "u32", /* gid_t egid */
      "u32", /* gid_t sgid */
    ],
    result: "i32", /* int */
  },
  setresuid: {
    parameters: [
      "u32", /* uid_t ruid */
      "u32", /* uid_t euid */
      "u32", /* uid_t suid */
    ],
    result: "i32", /* int */
  },
  getresgid: {
    parameters: [
      "buffer", /* gid_t *rgid */
      "buffer", /* gid_t *egid */
      "buffer", /* gid_t *sgid */
    ],
    result: "i32", /* int */
  },
  getresuid: {
    parameters: [
      "buffer", /* uid_t *ruid */
      "buffer", /* uid_t *euid */
      "buffer", /* uid_t *suid */
    ],
    result: "i32", /* int */
  },
  getuid: { parameters: [], result: "u32" /* uid_t */ },
  geteuid: { parameters: [], result: "u32" /* uid_t */ },
  getgid: { parameters: [], result: "u32" /* gid_t */ },
  getegid: { parameters: [], result: "u32" /* gid_t */ },
  execve: {
    parameters: [
      "buffer", /* const char *pathname */
      "pointer", /* char *const argv[] */
      "pointer", /* char *const envp[] */
    ],
    result: "i32", /* int */
  },
  signal: {
    parameters: [
      "i32", /* int signum */
      "pointer", /* sighandler_t handler */
    ],
    result: "pointer", /* sighandler_t */
  },
  prctl: {
    parameters: [
      "i32", /* int option */
      "u64", /* unsigned long arg2 */
      "u64", /* unsigned long arg3 */
      "u64", /* unsigned long arg4 */
      "u64", /* unsigned long arg5 */
    ],
    result: "i32", /* int */
  },
  umask: { parameters: ["u32" /* mode_t mask */], result: "u32" /* mode_t */ },
  openlog: {
    parameters: [
      "buffer", /* const char *ident */
      "i32", /* int option */
      "i32", /* int facility */
    ],
    result: "void",
  },
  syslog: {
    parameters: [
      "i32", /* int priority */
      "buffer", /* const char *format — always "%s" */
      "buffer", /* ... the one char * that "%s" consumes */
    ],
    result: "void",
  },
  closelog: { parameters: [], result: "void" },
  wordexp: {
    parameters: [
      "buffer", /* const char *words */
      "buffer", /* wordexp_t *pwordexp */
      "i32", /* int flags */
    ],
    result: "i32", /* int */
  },
  wordfree: { parameters: ["buffer" /* wordexp_t *pwordexp */], result: "void" },
  close_range: {
    parameters: [
      "u32", /* unsigned int first */
      "u32", /* unsigned int last */
      "i32", /* int flags */
    ],
    result: "i32", /* int */
  },
  open: {
    parameters: [
      "buffer", /* const char *pathname */
      "i32", /* int flags */
      "u32", /* ... mode_t mode (variadic, read only with O_CREAT) */
    ],
    result: "i32", /* int */
  },
  openat: {
    parameters: [
      "i32", /* int dirfd */
      "buffer", /* const char *pathname */
      "i32", /* int flags */
      "u32", /* ... mode_t mode (variadic, read only with O_CREAT) */
    ],
    result: "i32", /* int */
  },
  close: { parameters: ["i32" /* int fd */], result: "i32" /* int */ },
  mkdirat: {
    parameters: [
      "i32", /* int dirfd */
      "buffer", /* const char *pathname */
      "u32", /* mode_t mode */
    ],
    result: "i32", /* int */
  },
  symlinkat: {
    parameters: [
      "buffer", /* const char *target */
      "i32", /* int newdirfd */
      "buffer", /* const char *linkpath */
    ],
    result: "i32", /* int */
  },
  renameat2: {
    parameters: [
      "i32", /* int olddirfd */
      "buffer", /* const char *oldpath */
      "i32", /* int newdirfd */
      "buffer", /* const char *newpath */
      "u32", /* unsigned int flags */
    ],
    result: "i32", /* int */
  },
  unlinkat: {
    parameters: [
      "i32", /* int dirfd */
      "buffer", /* const char *pathname */
      "i32", /* int flags */
    ],
    result: "i32", /* int */
  },
  mknodat: {
    parameters: [
      "i32", /* int dirfd */
      "buffer", /* const char *pathname */
      "u32", /* mode_t mode */
      "u64", /* dev_t dev */
    ],
    result: "i32", /* int */
  },
  fchownat: {
    parameters: [
      "i32", /* int dirfd */
      "buffer", /* const char *pathname */
      "u32", /* uid_t owner */
      "u32", /* gid_t group */
      "i32", /* int flags */
    ],
    result: "i32", /* int */
  },
  fchown: {
    parameters: [
      "i32", /* int fd */
      "u32", /* uid_t owner */
      "u32", /* gid_t group */
    ],
    result: "i32", /* int */
  },
  fchmod: {
    parameters: [
      "i32", /* int fd */
      "u32", /* mode_t mode */
    ],
    result: "i32", /* int */
  },
  fchmodat: {
    parameters: [
      "i32", /* int dirfd */
      "buffer", /* const char *pathname */
      "u32", /* mode_t mode */
      "i32", /* int flags */
    ],
    result: "i32", /* int */
  },
  futimens: {
    parameters: [
      "i32", /* int fd */
      "buffer", /* const struct timespec times[2] */
    ],
    result: "i32", /* int */
  },
  utimensat: {
    parameters: [
      "i32", /* int dirfd */
      "buffer", /* const char *pathname */
      "buffer", /* const struct timespec times[2] */
      "i32", /* int flags */
    ],
    result: "i32", /* int */
  },
  linkat: {
    parameters: [
      "i32", /* int olddirfd */
      "buffer", /* const char *oldpath */
      "i32", /* int newdirfd */
      "buffer", /* const char *newpath */
      "i32", /* int flags */
    ],
    result: "i32", /* int */
  },
  readlinkat: {
    parameters: [
      "i32", /* int dirfd */
      "buffer", /* const char *pathname */
      "buffer", /* char *buf */
      "usize", /* size_t bufsiz */
    ],
    result: "isize", /* ssize_t */
  },
  statx: {
    parameters: [
      "i32", /* int dirfd */
      "buffer", /* const char *pathname */
      "i32", /* int flags */
      "u32", /* unsigned int mask */
      "buffer", /* struct statx *statxbuf */
    ],
    result: "i32", /* int */
  },
  getdents64: {
    parameters: [
      "i32", /* int fd */
      "buffer", /* void *dirp */
      "usize", /* size_t count */
    ],
    result: "isize", /* ssize_t */
  },
  read: {
    parameters: [
      "i32", /* int fd */
      "buffer", /* void *buf */
      "usize", /* size_t count */
    ],
    result: "isize", /* ssize_t */
  },
  pread: {
    parameters: [
      "i32", /* int fd */
      "buffer", /* void *buf */
      "usize", /* size_t count */
      "i64", /* off_t offset */
    ],
    result: "isize", /* ssize_t */
  },
  write: {
    parameters: [
      "i32", /* int fd */
      "buffer", /* const void *buf */
      "usize", /* size_t count */
    ],
    result: "isize", /* ssize_t */
  },
  memcmp: {
    parameters: [
      "buffer", /* const void *s1 */
      "buffer", /* const void *s2 */
      "usize", /* size_t n */
    ],
    result: "i32", /* int */
  },
  fsync: { parameters: ["i32" /* int fd */], result: "i32" /* int */ },
  ftruncate: {
    parameters: [
      "i32", /* int fd */
      "i64", /* off_t length */
    ],
    result: "i32", /* int */
  },
  copy_file_range: {
    parameters: [
      "i32", /* int fd_in */
      "pointer", /* off64_t *off_in — always NULL: use and advance the file offset */
      "i32", /* int fd_out */
      "pointer", /* off64_t *off_out — always NULL */
      "usize", /* size_t len */
      "u32", /* unsigned int flags */
    ],
    result: "isize", /* ssize_t */
  },
  sendfile: {
    parameters: [
      "i32", /* int out_fd */
      "i32", /* int in_fd */
      "pointer", /* off_t *offset — always NULL: use and advance the file offset */
      "usize", /* size_t count */
    ],
    result: "isize", /* ssize_t */
  },
  // --- Unix sockets (jk_socketd) ------------------------------------------------------------
  socket: {
    parameters: [
      "i32", /* int domain */
      "i32", /* int type */
      "i32", /* int protocol */
    ],
    result: "i32", /* int */
  },
  connect: {
    parameters: [
      "i32", /* int sockfd */
      "buffer", /* const struct sockaddr *addr */
      "u32", /* socklen_t addrlen */
    ],
    result: "i32", /* int */
  },
  send: {
    parameters: [
      "i32", /* int sockfd */
      "buffer", /* const void *buf */
      "usize", /* size_t len */
      "i32", /* int flags */
    ],
    result: "isize", /* ssize_t */
  },
  // --- end of Unix sockets (jk_socketd) -----------------------------------------------------
  // --- namespaces and mounts (thin jails, lib/login/thin_session.ts) ------------------------
  unshare: { parameters: ["i32" /* int flags */], result: "i32" /* int */ },
  mount: {
    parameters: [
      "pointer", /* const char *source — always NULL */
      "buffer", /* const char *target */
      "pointer", /* const char *filesystemtype — always NULL */
      "u64", /* unsigned long mountflags */
      "pointer", /* const void *data — always NULL */
    ],
    result: "i32", /* int */
  },
  open_tree: {
    parameters: [
      "i32", /* int dfd */
      "buffer", /* const char *filename */
      "u32", /* unsigned int flags */
    ],
    result: "i32", /* int */
  },
  mount_setattr: {
    parameters: [
      "i32", /* int dfd */
      "buffer", /* const char *path */
      "u32", /* unsigned int flags */
      "buffer", /* struct mount_attr *attr */
      "usize", /* size_t size */
    ],
    result: "i32", /* int */
  },
  move_mount: {
    parameters: [
      "i32", /* int from_dfd */
      "buffer", /* const char *from_path */
      "i32", /* int to_dfd */
      "buffer", /* const char *to_path */
      "u32", /* unsigned int flags */
    ],
    result: "i32", /* int */
  },
  fsopen: {
    parameters: [
      "buffer", /* const char *fs_name */
      "u32", /* unsigned int flags */
    ],
    result: "i32", /* int */
  },
  fsconfig: {
    parameters: [
      "i32", /* int fd */
      "u32", /* unsigned int cmd */
      "buffer", /* const char *key — NULL for FSCONFIG_CMD_CREATE */
      "buffer", /* const void *value — NULL for FSCONFIG_CMD_CREATE */
      "i32", /* int aux */
    ],
    result: "i32", /* int */
  },
  fsmount: {
    parameters: [
      "i32", /* int fd */
      "u32", /* unsigned int flags */
      "u32", /* unsigned int attr_flags */
    ],
    result: "i32", /* int */
  },
  gettid: { parameters: [], result: "i32" /* pid_t */ },
  getpid: { parameters: [], result: "i32" /* pid_t */ },
  // --- end of namespaces and mounts ---------------------------------------------------------
  // --- memory (jk_socketd) ------------------------------------------------------------------
  madvise: {
    parameters: [
      "usize", /* void *addr */
      "usize", /* size_t length */
      "i32", /* int advice */
    ],
    result: "i32", /* int */
  },
  // --- end of memory ------------------------------------------------------------------------
} as const satisfies Deno.ForeignLibraryInterface;

type Libc = Deno.DynamicLibrary<typeof symbols>["symbols"];

/**
 * Each function is bound on its first use, on its own: Deno builds a call trampoline for every
 * symbol handed to dlopen (about 0.15 ms each), and binding all of them at once cost every
 * login 8 to 16 ms although jk_lsh needs a handful. dlopen of the same library is refcounted.
 * The first use replaces the property's getter with the bound function, so later calls are a
 * plain property load (a Proxy trap on every call cost jk_init about a microsecond per call).
 */
const handle = {} as Libc;
for (const name of Object.keys(symbols) as (keyof typeof symbols)[]) {
  Object.defineProperty(handle, name, {
    configurable: true,
    enumerable: true,
    get() {
      const one = { [name]: symbols[name] } as Deno.ForeignLibraryInterface;
      const fn = Deno.dlopen("libc.so.6", one).symbols[name];
      Object.defineProperty(handle, name, { value: fn, enumerable: true });
      return fn;
    },
  });
}

export function libc(): Libc {
  return handle;
}
