/**
 * The only module that calls libc. Each wrapper makes one synchronous call and, when it fails,
 * reads errno immediately (a `nonblocking` call would run on another thread and lose it) and
 * throws an ErrnoError. The library is opened on first use, so importing this module costs the
 * tools that never call it nothing.
 *
 * Target: glibc on 64-bit Linux (x86_64, aarch64 — the only targets Deno ships for). Errno
 * numbers are the asm-generic ones both use; struct layouts use POINTER_BYTES.
 */

/**
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
  read: {
    parameters: [
      "i32", /* int fd */
      "buffer", /* void *buf */
      "usize", /* size_t count */
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
  fsync: { parameters: ["i32" /* int fd */], result: "i32" /* int */ },
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
} as const satisfies Deno.ForeignLibraryInterface;

type Libc = Deno.DynamicLibrary<typeof symbols>["symbols"];

/**
 * Each function is bound on its first use, on its own: Deno builds a call trampoline for every
 * symbol handed to dlopen (about 0.15 ms each), and binding all of them at once cost every
 * login 8 to 16 ms although jk_lsh needs a handful. dlopen of the same library is refcounted.
 */
const bound = new Map<string, unknown>();
const handle = new Proxy({} as Libc, {
  get(_target, name) {
    if (typeof name !== "string" || !Object.hasOwn(symbols, name)) {
      throw new Error(`ffi/libc.ts: no libc symbol ${String(name)} is declared`);
    }
    let fn = bound.get(name);
    if (fn === undefined) {
      const one = { [name]: symbols[name as keyof typeof symbols] } as Deno.ForeignLibraryInterface;
      fn = Deno.dlopen("libc.so.6", one).symbols[name];
      bound.set(name, fn);
    }
    return fn;
  },
});

function libc(): Libc {
  return handle;
}

/** sizeof(void *) and sizeof(size_t) on every target Deno ships for; all are little-endian. */
const POINTER_BYTES = 8;

/**
 * Linux errno names indexed by number (asm-generic/errno-base.h and errno.h); "-" marks numbers
 * Linux leaves unused, and aliases (EWOULDBLOCK, EDEADLOCK, ENOTSUP) appear under the first name.
 */
const ERRNO_NAMES: readonly string[] = `
  - EPERM ENOENT ESRCH EINTR EIO ENXIO E2BIG ENOEXEC EBADF ECHILD EAGAIN ENOMEM EACCES EFAULT
  ENOTBLK EBUSY EEXIST EXDEV ENODEV ENOTDIR EISDIR EINVAL ENFILE EMFILE ENOTTY ETXTBSY EFBIG
  ENOSPC ESPIPE EROFS EMLINK EPIPE EDOM ERANGE EDEADLK ENAMETOOLONG ENOLCK ENOSYS ENOTEMPTY ELOOP
  - ENOMSG EIDRM ECHRNG EL2NSYNC EL3HLT EL3RST ELNRNG EUNATCH ENOCSI EL2HLT EBADE EBADR EXFULL
  ENOANO EBADRQC EBADSLT - EBFONT ENOSTR ENODATA ETIME ENOSR ENONET ENOPKG EREMOTE ENOLINK EADV
  ESRMNT ECOMM EPROTO EMULTIHOP EDOTDOT EBADMSG EOVERFLOW ENOTUNIQ EBADFD EREMCHG ELIBACC ELIBBAD
  ELIBSCN ELIBMAX ELIBEXEC EILSEQ ERESTART ESTRPIPE EUSERS ENOTSOCK EDESTADDRREQ EMSGSIZE
  EPROTOTYPE ENOPROTOOPT EPROTONOSUPPORT ESOCKTNOSUPPORT EOPNOTSUPP EPFNOSUPPORT EAFNOSUPPORT
  EADDRINUSE EADDRNOTAVAIL ENETDOWN ENETUNREACH ENETRESET ECONNABORTED ECONNRESET ENOBUFS EISCONN
  ENOTCONN ESHUTDOWN ETOOMANYREFS ETIMEDOUT ECONNREFUSED EHOSTDOWN EHOSTUNREACH EALREADY
  EINPROGRESS ESTALE EUCLEAN ENOTNAM ENAVAIL EISNAM EREMOTEIO EDQUOT ENOMEDIUM EMEDIUMTYPE
  ECANCELED ENOKEY EKEYEXPIRED EKEYREVOKED EKEYREJECTED EOWNERDEAD ENOTRECOVERABLE ERFKILL
  EHWPOISON
`.trim().split(/\s+/);

/** The symbolic name of a Linux errno ("ENOENT"), or "EUNKNOWN" for a number Linux does not use. */
export function errnoName(errno: number): string {
  const name = Number.isInteger(errno) ? ERRNO_NAMES[errno] : undefined;
  return name === undefined || name === "-" ? "EUNKNOWN" : name;
}

/** A libc call failed; `code` is the errno name, `path` the file it was about (if any). */
export class ErrnoError extends Error {
  readonly errno: number;
  readonly code: string;
  readonly syscall: string;
  readonly path?: string;

  constructor(errno: number, syscall: string, path?: string) {
    const code = errnoName(errno);
    const subject = path === undefined ? syscall : `${syscall}(${path})`;
    super(`${subject}: ${code} (${strerror(errno)})`);
    this.name = "ErrnoError";
    this.errno = errno;
    this.code = code;
    this.syscall = syscall;
    if (path !== undefined) this.path = path;
  }
}

function strerror(errno: number): string {
  const text = libc().strerror(errno);
  return text === null ? `errno ${errno}` : Deno.UnsafePointerView.getCString(text);
}

function lastErrno(): number {
  const location = libc().__errno_location();
  if (location === null) throw new Error("__errno_location returned NULL");
  return new Deno.UnsafePointerView(location).getInt32();
}

/** Throws the ErrnoError for the call that just returned -1; must follow that call directly. */
function fail(syscall: string, path?: string): never {
  throw new ErrnoError(lastErrno(), syscall, path);
}

const encoder = new TextEncoder();

/**
 * Memory that libc may keep a pointer to. Always a separate ArrayBuffer: V8 keeps small typed
 * arrays created by length inside its heap, where the garbage collector moves them.
 */
function fixedBytes(length: number): Uint8Array<ArrayBuffer> {
  return new Uint8Array(new ArrayBuffer(length));
}

/** NUL-terminated bytes; a NUL inside would silently cut the string short in C, so refuse it. */
function cString(syscall: string, what: string, s: string): Uint8Array<ArrayBuffer> {
  if (s.includes("\0")) {
    throw new RangeError(`${syscall}: ${what} contains a NUL byte: ${JSON.stringify(s)}`);
  }
  const encoded = encoder.encode(s);
  const bytes = fixedBytes(encoded.length + 1);
  bytes.set(encoded);
  return bytes;
}

function checkUint(syscall: string, what: string, value: number, max: number): void {
  if (!Number.isInteger(value) || value < 0 || value > max) {
    throw new RangeError(`${syscall}: ${what} ${value} is not an integer in 0..${max}`);
  }
}

/** (uid_t)-1 means "leave unchanged" to the kernel, so an id of 2^32-1 could silently keep root. */
const MAX_ID = 0xfffffffe;

// ---------------------------------------------------------------------------------------------
// Device numbers

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
  checkUint("mknod", "mode", mode, 0o7777);
  const type = kind === "c" ? S_IFCHR : kind === "b" ? S_IFBLK : undefined;
  if (type === undefined) {
    throw new RangeError(`mknod: kind ${JSON.stringify(kind)} is not "c" or "b"`);
  }
  const dev = makedev(major, minor);
  if (libc().mknod(cString("mknod", "path", path), type | mode, dev) !== 0) fail("mknod", path);
}

// ---------------------------------------------------------------------------------------------
// Directories and credentials

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

// ---------------------------------------------------------------------------------------------
// Signals, descriptors, exec

export const SIGHUP = 1;
export const SIGINT = 2;
export const SIGQUIT = 3;
export const SIGILL = 4;
export const SIGFPE = 8;
export const SIGKILL = 9;
export const SIGSEGV = 11;
export const SIGPIPE = 13;
export const SIGTERM = 15;

const SIG_ERR = 0xffff_ffff_ffff_ffffn;

/** Installs `handler` (null = SIG_DFL) and returns the previous disposition. */
function setDisposition(signo: number, handler: Deno.PointerValue): Deno.PointerValue {
  checkUint("signal", "signal number", signo, 64);
  const previous = libc().signal(signo, handler);
  if (Deno.UnsafePointer.value(previous) === SIG_ERR) fail(`signal(${signo})`);
  return previous;
}

/** Sets a signal's disposition back to SIG_DFL. */
export function resetSignal(signo: number): void {
  setDisposition(signo, null);
}

const CLOSE_RANGE_CLOEXEC = 4;

/**
 * Makes every descriptor above `fd` close on the next execve (CLOSE_RANGE_CLOEXEC, Linux 5.11+),
 * so the exec'd program inherits none of them. Closing them right away is not an option: Deno's
 * own event loop lives in some of them.
 */
export function closeFdsAbove(fd: number): void {
  checkUint("close_range", "fd", fd, 0x7ffffffe);
  if (libc().close_range(fd + 1, 0xffffffff, CLOSE_RANGE_CLOEXEC) !== 0) fail("close_range");
}

/**
 * Replaces the process image. Deno ignores SIGPIPE and an ignored disposition survives execve,
 * so SIGPIPE goes back to default first (and back to ignored if the exec fails). Returns only by
 * throwing an ErrnoError.
 */
export function execve(path: string, argv: readonly string[], env: readonly string[]): never {
  // One buffer holds the path, both NULL-terminated pointer arrays and every string, and it is an
  // argument of the call itself, so it stays alive until execve has copied everything.
  const pathBytes = cString("execve", "path", path);
  const strings = [
    ...argv.map((a) => cString("execve", "argument", a)),
    ...env.map((e) => cString("execve", "environment entry", e)),
  ];
  const argvOffset = Math.ceil(pathBytes.length / POINTER_BYTES) * POINTER_BYTES;
  const envOffset = argvOffset + (argv.length + 1) * POINTER_BYTES;
  const stringsOffset = envOffset + (env.length + 1) * POINTER_BYTES;
  const size = strings.reduce((total, s) => total + s.length, stringsOffset);
  const buffer = fixedBytes(size);
  buffer.set(pathBytes, 0);
  const base = Deno.UnsafePointer.value(Deno.UnsafePointer.of(buffer));
  const view = new DataView(buffer.buffer);
  let slot = argvOffset;
  let at = stringsOffset;
  strings.forEach((s, i) => {
    if (i === argv.length) slot += POINTER_BYTES; // skip argv's NULL terminator
    buffer.set(s, at);
    view.setBigUint64(slot, base + BigInt(at), true);
    slot += POINTER_BYTES;
    at += s.length;
  });
  const argvPointer = Deno.UnsafePointer.create(base + BigInt(argvOffset));
  const envPointer = Deno.UnsafePointer.create(base + BigInt(envOffset));

  const previous = setDisposition(SIGPIPE, null);
  libc().execve(buffer, argvPointer, envPointer);
  const errno = lastErrno();
  setDisposition(SIGPIPE, previous);
  throw new ErrnoError(errno, "execve", path);
}

// ---------------------------------------------------------------------------------------------
// syslog

export const LOG_PID = 0x01;
export const LOG_CONS = 0x02;
export const LOG_NDELAY = 0x08;
export const LOG_PERROR = 0x20;

export const LOG_USER = 1 << 3;
export const LOG_DAEMON = 3 << 3;
export const LOG_AUTH = 4 << 3;
export const LOG_AUTHPRIV = 10 << 3;

export const LOG_EMERG = 0;
export const LOG_ALERT = 1;
export const LOG_CRIT = 2;
export const LOG_ERR = 3;
export const LOG_WARNING = 4;
export const LOG_NOTICE = 5;
export const LOG_INFO = 6;
export const LOG_DEBUG = 7;

/** glibc keeps the ident pointer, not a copy: the bytes must outlive every later syslog call. */
const pinned: { syslogIdent?: Uint8Array } = {};

export function openlog(ident: string, option: number, facility: number): void {
  const bytes = cString("openlog", "ident", ident);
  libc().openlog(bytes, option, facility);
  pinned.syslogIdent = bytes;
}

const PERCENT_S = cString("syslog", "format", "%s");

/** Logs `message` verbatim: it is only ever the argument of a "%s" format, never the format. */
export function syslog(priority: number, message: string): void {
  // A log line must not be lost over a NUL, so show it instead of refusing the message.
  libc().syslog(priority, PERCENT_S, cString("syslog", "message", message.replaceAll("\0", "\\0")));
}

export function closelog(): void {
  libc().closelog();
  // glibc's closelog forgets the ident pointer.
  delete pinned.syslogIdent;
}

// ---------------------------------------------------------------------------------------------
// wordexp

/** wordexp flags (glibc wordexp.h). */
export const WRDE_NOCMD = 1 << 2;
export const WRDE_SHOWERR = 1 << 4;
export const WRDE_UNDEF = 1 << 5;

/** The flags this wrapper supports; DOOFFS/APPEND/REUSE need caller-managed wordexp_t state. */
const WRDE_SUPPORTED = WRDE_NOCMD | WRDE_SHOWERR | WRDE_UNDEF;

/** wordexp error returns (glibc wordexp.h). */
const WRDE_CODES = {
  1: "WRDE_NOSPACE",
  2: "WRDE_BADCHAR",
  3: "WRDE_BADVAL",
  4: "WRDE_CMDSUB",
  5: "WRDE_SYNTAX",
} as const;

export type WordexpCode = (typeof WRDE_CODES)[keyof typeof WRDE_CODES];

const WRDE_REASONS: Record<WordexpCode, string> = {
  WRDE_NOSPACE: "out of memory",
  WRDE_BADCHAR: "unquoted | & ; < > ( ) { } or newline",
  WRDE_BADVAL: "undefined shell variable",
  WRDE_CMDSUB: "command substitution is not allowed",
  WRDE_SYNTAX: "shell syntax error such as unbalanced quotes",
};

export class WordexpError extends Error {
  constructor(readonly code: WordexpCode, readonly status: number, readonly words: string) {
    super(`wordexp(${JSON.stringify(words)}): ${code} (${WRDE_REASONS[code]})`);
    this.name = "WordexpError";
  }
}

/**
 * Shell-style word expansion by glibc. `flags` combines WRDE_NOCMD, WRDE_UNDEF and WRDE_SHOWERR;
 * jk_lsh passes WRDE_NOCMD so that `$(...)` and backquotes fail with WRDE_CMDSUB.
 */
export function wordexp(words: string, flags: number): string[] {
  if (!Number.isInteger(flags) || (flags & ~WRDE_SUPPORTED) !== 0) {
    throw new RangeError(`wordexp: unsupported flags 0x${flags.toString(16)}`);
  }
  const input = cString("wordexp", "words", words);
  // wordexp_t { size_t we_wordc; char **we_wordv; size_t we_offs; }, zeroed.
  const result = fixedBytes(3 * POINTER_BYTES);
  const status = libc().wordexp(input, result, flags);
  try {
    if (status !== 0) {
      const code = WRDE_CODES[status as keyof typeof WRDE_CODES];
      if (code === undefined) {
        throw new Error(`wordexp(${JSON.stringify(words)}): unknown status ${status}`);
      }
      throw new WordexpError(code, status, words);
    }
    const view = new DataView(result.buffer);
    const count = Number(view.getBigUint64(0, true));
    const vector = Deno.UnsafePointer.create(view.getBigUint64(POINTER_BYTES, true));
    if (count === 0 || vector === null) return [];
    const pointers = new Deno.UnsafePointerView(vector);
    const out: string[] = [];
    for (let i = 0; i < count; i++) {
      const word = pointers.getPointer(i * POINTER_BYTES);
      if (word === null) throw new Error(`wordexp: word ${i} of ${count} is NULL`);
      out.push(Deno.UnsafePointerView.getCString(word));
    }
    return out;
  } finally {
    // Safe on every outcome: glibc leaves the struct zeroed on errors other than WRDE_NOSPACE,
    // and wordfree ignores a NULL we_wordv.
    libc().wordfree(result);
  }
}

// ---------------------------------------------------------------------------------------------
// Descriptor-relative file operations
//
// Writes into a jail walk the jail one directory descriptor at a time (openat with O_NOFOLLOW)
// and act relative to the last one, so a directory swapped for a symlink after it was checked
// cannot redirect them. Paths given to the *at wrappers are single names or relative paths;
// `AT_FDCWD` as the directory makes them ordinary path calls.

/** x86_64 numbers these flags like most architectures; aarch64 uses the asm-generic ones. */
const ARM64 = Deno.build.arch === "aarch64";

export const O_RDONLY = 0;
export const O_WRONLY = 0o1;
export const O_CREAT = 0o100;
export const O_EXCL = 0o200;
export const O_NONBLOCK = 0o4000;
export const O_DIRECTORY = ARM64 ? 0o40000 : 0o200000;
export const O_NOFOLLOW = ARM64 ? 0o100000 : 0o400000;
export const O_CLOEXEC = 0o2000000;
/** A descriptor that only names a file: usable as a directory for *at calls, never read. */
export const O_PATH = 0o10000000;

export const AT_FDCWD = -100;
export const AT_SYMLINK_NOFOLLOW = 0x100;
export const AT_REMOVEDIR = 0x200;
export const AT_EMPTY_PATH = 0x1000;

/** renameat2 flags: fail with EEXIST instead of replacing; swap two entries atomically. */
export const RENAME_NOREPLACE = 1;
export const RENAME_EXCHANGE = 2;

export const S_IFMT = 0o170000;
export const S_IFDIR = 0o040000;
export const S_IFREG = 0o100000;
export const S_IFLNK = 0o120000;

const MAX_FD = 0x7fffffff;

function checkDirFd(syscall: string, fd: number): void {
  if (fd !== AT_FDCWD) checkUint(syscall, "descriptor", fd, MAX_FD);
}

function checkFd(syscall: string, fd: number): void {
  checkUint(syscall, "descriptor", fd, MAX_FD);
}

export function open(path: string, flags: number, mode = 0): number {
  return openat(AT_FDCWD, path, flags, mode);
}

export function openat(dirfd: number, path: string, flags: number, mode = 0): number {
  checkDirFd("openat", dirfd);
  checkUint("openat", "mode", mode, 0o7777);
  const fd = libc().openat(dirfd, cString("openat", "path", path), flags, mode);
  if (fd < 0) fail("openat", path);
  return fd;
}

/** Linux releases the descriptor even when close reports an error (EIO on NFS, say). */
export function close(fd: number): void {
  checkFd("close", fd);
  if (libc().close(fd) !== 0) fail("close");
}

export function mkdirat(dirfd: number, path: string, mode: number): void {
  checkDirFd("mkdirat", dirfd);
  checkUint("mkdirat", "mode", mode, 0o7777);
  if (libc().mkdirat(dirfd, cString("mkdirat", "path", path), mode) !== 0) fail("mkdirat", path);
}

export function symlinkat(target: string, dirfd: number, path: string): void {
  checkDirFd("symlinkat", dirfd);
  const text = cString("symlinkat", "target", target);
  if (libc().symlinkat(text, dirfd, cString("symlinkat", "path", path)) !== 0) {
    fail("symlinkat", path);
  }
}

/** renameat2; `flags` is 0, RENAME_NOREPLACE or RENAME_EXCHANGE. */
export function renameat(
  olddirfd: number,
  oldpath: string,
  newdirfd: number,
  newpath: string,
  flags = 0,
): void {
  checkDirFd("renameat2", olddirfd);
  checkDirFd("renameat2", newdirfd);
  const from = cString("renameat2", "old path", oldpath);
  const to = cString("renameat2", "new path", newpath);
  if (libc().renameat2(olddirfd, from, newdirfd, to, flags) !== 0) fail("renameat2", newpath);
}

/** `flags` is 0 or AT_REMOVEDIR. */
export function unlinkat(dirfd: number, path: string, flags = 0): void {
  checkDirFd("unlinkat", dirfd);
  if (libc().unlinkat(dirfd, cString("unlinkat", "path", path), flags) !== 0) {
    fail("unlinkat", path);
  }
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
  checkUint("mknodat", "mode", mode, 0o7777);
  const type = kind === "c" ? S_IFCHR : kind === "b" ? S_IFBLK : undefined;
  if (type === undefined) {
    throw new RangeError(`mknodat: kind ${JSON.stringify(kind)} is not "c" or "b"`);
  }
  const dev = makedev(major, minor);
  if (libc().mknodat(dirfd, cString("mknodat", "path", path), type | mode, dev) !== 0) {
    fail("mknodat", path);
  }
}

/** `flags` is 0, AT_SYMLINK_NOFOLLOW and/or AT_EMPTY_PATH (with path ""). */
export function fchownat(
  dirfd: number,
  path: string,
  uid: number,
  gid: number,
  flags: number,
): void {
  checkDirFd("fchownat", dirfd);
  checkUint("fchownat", "uid", uid, MAX_ID);
  checkUint("fchownat", "gid", gid, MAX_ID);
  if (libc().fchownat(dirfd, cString("fchownat", "path", path), uid, gid, flags) !== 0) {
    fail("fchownat", path);
  }
}

export function fchown(fd: number, uid: number, gid: number): void {
  checkFd("fchown", fd);
  checkUint("fchown", "uid", uid, MAX_ID);
  checkUint("fchown", "gid", gid, MAX_ID);
  if (libc().fchown(fd, uid, gid) !== 0) fail("fchown");
}

export function fchmod(fd: number, mode: number): void {
  checkFd("fchmod", fd);
  checkUint("fchmod", "mode", mode, 0o7777);
  if (libc().fchmod(fd, mode) !== 0) fail("fchmod");
}

/**
 * chmod relative to a directory; follows a symlink at `path`. (glibc before 2.39 emulates
 * AT_SYMLINK_NOFOLLOW through /proc, so this wrapper does not offer it: call it only where
 * nobody else can change the entry.)
 */
export function fchmodat(dirfd: number, path: string, mode: number): void {
  checkDirFd("fchmodat", dirfd);
  checkUint("fchmodat", "mode", mode, 0o7777);
  if (libc().fchmodat(dirfd, cString("fchmodat", "path", path), mode, 0) !== 0) {
    fail("fchmodat", path);
  }
}

/** struct timespec[2] { atime, mtime } from milliseconds since the epoch (as Date, FileInfo). */
function timespecs(syscall: string, atimeMs: number, mtimeMs: number): Uint8Array<ArrayBuffer> {
  const bytes = fixedBytes(32);
  const view = new DataView(bytes.buffer);
  [atimeMs, mtimeMs].forEach((ms, i) => {
    if (!Number.isFinite(ms) || Math.abs(ms) > 8.64e15) {
      throw new RangeError(`${syscall}: time ${ms} is not a valid date in milliseconds`);
    }
    const seconds = Math.floor(ms / 1000);
    const nanoseconds = Math.round((ms - seconds * 1000) * 1e6);
    view.setBigInt64(i * 16, BigInt(seconds), true);
    view.setBigInt64(i * 16 + 8, BigInt(Math.min(nanoseconds, 999_999_999)), true);
  });
  return bytes;
}

/** Sets access and modification times (milliseconds since the epoch) of an open file. */
export function futimens(fd: number, atimeMs: number, mtimeMs: number): void {
  checkFd("futimens", fd);
  if (libc().futimens(fd, timespecs("futimens", atimeMs, mtimeMs)) !== 0) fail("futimens");
}

/** utimensat; `flags` is 0 or AT_SYMLINK_NOFOLLOW. Times in milliseconds since the epoch. */
export function utimensat(
  dirfd: number,
  path: string,
  atimeMs: number,
  mtimeMs: number,
  flags: number,
): void {
  checkDirFd("utimensat", dirfd);
  const times = timespecs("utimensat", atimeMs, mtimeMs);
  if (libc().utimensat(dirfd, cString("utimensat", "path", path), times, flags) !== 0) {
    fail("utimensat", path);
  }
}

/**
 * linkat; `flags` 0 links a symlink itself rather than its target, AT_EMPTY_PATH (with
 * oldpath "") links the very inode `olddirfd` refers to (needs CAP_DAC_READ_SEARCH).
 */
export function linkat(
  olddirfd: number,
  oldpath: string,
  newdirfd: number,
  newpath: string,
  flags: number,
): void {
  checkDirFd("linkat", olddirfd);
  checkDirFd("linkat", newdirfd);
  const from = cString("linkat", "old path", oldpath);
  const to = cString("linkat", "new path", newpath);
  if (libc().linkat(olddirfd, from, newdirfd, to, flags) !== 0) fail("linkat", newpath);
}

/** PATH_MAX: the kernel refuses to create longer link texts. */
const LINK_MAX = 4096;

export function readlinkat(dirfd: number, path: string): string {
  checkDirFd("readlinkat", dirfd);
  const buf = fixedBytes(LINK_MAX + 1);
  const n = Number(
    libc().readlinkat(dirfd, cString("readlinkat", "path", path), buf, BigInt(LINK_MAX + 1)),
  );
  if (n < 0) fail("readlinkat", path);
  if (n > LINK_MAX) throw new RangeError(`readlinkat(${path}): link text longer than ${LINK_MAX}`);
  return new TextDecoder().decode(buf.subarray(0, n));
}

/** What the executor needs from struct statx (the same layout on every architecture). */
export interface FileStat {
  /** File type and permission bits (S_IFMT | 07777). */
  mode: number;
  uid: number;
  gid: number;
  nlink: number;
  ino: bigint;
  size: number;
  rdevMajor: number;
  rdevMinor: number;
}

const STATX_BASIC_STATS = 0x7ff;
const STATX_SIZE = 256;

/** statx; `flags` combines AT_SYMLINK_NOFOLLOW and AT_EMPTY_PATH (with path "" for an fd). */
export function statx(dirfd: number, path: string, flags: number): FileStat {
  checkDirFd("statx", dirfd);
  const buf = fixedBytes(STATX_SIZE);
  if (libc().statx(dirfd, cString("statx", "path", path), flags, STATX_BASIC_STATS, buf) !== 0) {
    fail("statx", path);
  }
  const view = new DataView(buf.buffer);
  return {
    nlink: view.getUint32(16, true),
    uid: view.getUint32(20, true),
    gid: view.getUint32(24, true),
    mode: view.getUint16(28, true),
    ino: view.getBigUint64(32, true),
    size: Number(view.getBigUint64(40, true)),
    rdevMajor: view.getUint32(128, true),
    rdevMinor: view.getUint32(132, true),
  };
}

/** One read(2); returns the byte count (0 at end of file). */
export function read(fd: number, buf: Uint8Array<ArrayBuffer>): number {
  checkFd("read", fd);
  const n = Number(libc().read(fd, buf, BigInt(buf.length)));
  if (n < 0) fail("read");
  return n;
}

/** One write(2); returns the byte count, which may be short. */
export function write(fd: number, buf: Uint8Array<ArrayBuffer>): number {
  checkFd("write", fd);
  const n = Number(libc().write(fd, buf, BigInt(buf.length)));
  if (n < 0) fail("write");
  return n;
}

export function fsync(fd: number): void {
  checkFd("fsync", fd);
  if (libc().fsync(fd) !== 0) fail("fsync");
}

/** One copy_file_range(2) at both files' offsets; returns the byte count (0 at end of file). */
export function copyFileRange(fdIn: number, fdOut: number, length: number): number {
  checkFd("copy_file_range", fdIn);
  checkFd("copy_file_range", fdOut);
  checkUint("copy_file_range", "length", length, Number.MAX_SAFE_INTEGER);
  const n = Number(libc().copy_file_range(fdIn, null, fdOut, null, BigInt(length), 0));
  if (n < 0) fail("copy_file_range");
  return n;
}

/** One sendfile(2) from `fdIn`'s offset; returns the byte count (0 at end of file). */
export function sendfile(fdOut: number, fdIn: number, count: number): number {
  checkFd("sendfile", fdOut);
  checkFd("sendfile", fdIn);
  checkUint("sendfile", "count", count, Number.MAX_SAFE_INTEGER);
  const n = Number(libc().sendfile(fdOut, fdIn, null, BigInt(count)));
  if (n < 0) fail("sendfile");
  return n;
}

/**
 * An open directory descriptor with the path it was reached by (for messages). Closing is the
 * owner's job and is explicit; `close` is idempotent, and a closed handle refuses to be used,
 * so a stale number can never name some other file opened later.
 */
export class Dir {
  #fd: number;

  constructor(fd: number, readonly path: string) {
    checkFd("Dir", fd);
    this.#fd = fd;
  }

  get fd(): number {
    if (this.#fd < 0) throw new Error(`directory handle of ${this.path} used after close`);
    return this.#fd;
  }

  get closed(): boolean {
    return this.#fd < 0;
  }

  /**
   * Opens a directory by path; a symlink or non-directory at its last component fails (ENOTDIR
   * or ELOOP). `extra` adds O_PATH or O_RDONLY-style access flags.
   */
  static open(path: string, extra = O_RDONLY): Dir {
    return new Dir(open(path, O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC | extra), path);
  }

  /** Opens the directory `name` inside this one without following a symlink there. */
  openDir(name: string, extra = O_PATH): Dir {
    const fd = openat(this.fd, name, O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC | extra);
    return new Dir(fd, this.path === "/" ? `/${name}` : `${this.path}/${name}`);
  }

  close(): void {
    if (this.#fd < 0) return;
    const fd = this.#fd;
    this.#fd = -1;
    close(fd);
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

// ---------------------------------------------------------------------------------------------
// Unix sockets (jk_socketd): a client connection to the host's syslog socket, made before the
// daemon chroots, so it keeps working where no path outside the chroot can be opened any more.

export const SOCK_STREAM = 1;
export const SOCK_DGRAM = 2;
/** send(2) flags: never block the event loop; report a vanished stream peer as EPIPE, no signal. */
export const MSG_DONTWAIT = 0x40;
export const MSG_NOSIGNAL = 0x4000;

const AF_UNIX = 1;
const SOCK_NONBLOCK = 0o4000;
const SOCK_CLOEXEC = 0o2000000;
/** sizeof(struct sockaddr_un): sa_family_t, then sun_path[108]. */
const SOCKADDR_UN_BYTES = 110;
const SUN_PATH_BYTES = 108;

/**
 * A connected, non-blocking, close-on-exec AF_UNIX socket of `type` (SOCK_DGRAM or SOCK_STREAM).
 * The path must fit sun_path with its NUL (107 bytes); a longer one would be cut by the kernel
 * and name another socket. The descriptor stays open for the life of the process.
 */
export function connectUnix(path: string, type: number): number {
  if (type !== SOCK_DGRAM && type !== SOCK_STREAM) {
    throw new RangeError(`socket: type ${type} is not SOCK_DGRAM or SOCK_STREAM`);
  }
  const name = cString("connect", "path", path);
  if (name.length > SUN_PATH_BYTES) {
    throw new RangeError(`connect: path is longer than ${SUN_PATH_BYTES - 1} bytes: ${path}`);
  }
  const address = fixedBytes(SOCKADDR_UN_BYTES);
  new DataView(address.buffer).setUint16(0, AF_UNIX, true);
  address.set(name, 2);
  const fd = libc().socket(AF_UNIX, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) fail("socket");
  if (libc().connect(fd, address, 2 + name.length) !== 0) {
    const errno = lastErrno();
    // close_range over this one descriptor is close(fd); its result cannot change the outcome.
    libc().close_range(fd, fd, 0);
    throw new ErrnoError(errno, "connect", path);
  }
  return fd;
}

/**
 * One send(2) on a connected socket; returns the byte count (short only on a stream socket).
 * EAGAIN and the other failures are thrown as ErrnoError for the caller to tell apart.
 */
export function send(fd: number, data: Uint8Array<ArrayBuffer>, flags: number): number {
  checkUint("send", "descriptor", fd, 0x7fffffff);
  const n = Number(libc().send(fd, data, BigInt(data.length), flags));
  if (n < 0) fail("send");
  return n;
}
