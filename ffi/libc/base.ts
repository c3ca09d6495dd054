/**
 * What every wrapper shares: errno and ErrnoError, C strings and memory libc may keep a pointer
 * to, argument checks, dev_t arithmetic. Internal to ffi/libc/: ffi/libc.ts gives out only the
 * error type.
 */
import { libc } from "./symbols.ts";

/** sizeof(void *) and sizeof(size_t) on every target Deno ships for; all are little-endian. */
export const POINTER_BYTES = 8;

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

export function lastErrno(): number {
  const location = libc().__errno_location();
  if (location === null) throw new Error("__errno_location returned NULL");
  return new Deno.UnsafePointerView(location).getInt32();
}

/** Throws the ErrnoError for the call that just returned -1; must follow that call directly. */
export function fail(syscall: string, path?: string): never {
  throw new ErrnoError(lastErrno(), syscall, path);
}

const encoder = new TextEncoder();

/**
 * Memory that libc may keep a pointer to. Always a separate ArrayBuffer: V8 keeps small typed
 * arrays created by length inside its heap, where the garbage collector moves them.
 */
export function fixedBytes(length: number): Uint8Array<ArrayBuffer> {
  return new Uint8Array(new ArrayBuffer(length));
}

/** NUL-terminated bytes; a NUL inside would silently cut the string short in C, so refuse it. */
export function cString(syscall: string, what: string, s: string): Uint8Array<ArrayBuffer> {
  if (s.includes("\0")) {
    throw new RangeError(`${syscall}: ${what} contains a NUL byte: ${JSON.stringify(s)}`);
  }
  const encoded = encoder.encode(s);
  const bytes = fixedBytes(encoded.length + 1);
  bytes.set(encoded);
  return bytes;
}

/** Length of each `transientCString` buffer: PATH_MAX, the longest path the kernel takes. */
const TRANSIENT_BYTES = 4096;
const transient: (Uint8Array<ArrayBuffer> | undefined)[] = [undefined, undefined];

/**
 * `cString` into one of two buffers reused from call to call (`slot` 0 or 1, for the calls that
 * take two strings): only for arguments libc reads during the call and never keeps, such as
 * the paths of the *at calls. A fresh buffer per call cost jk_init one ArrayBuffer per system
 * call. A string that does not fit (longer than the kernel accepts anyway) gets its own.
 */
export function transientCString(
  syscall: string,
  what: string,
  s: string,
  slot: 0 | 1,
): Uint8Array<ArrayBuffer> {
  if (s.includes("\0")) {
    throw new RangeError(`${syscall}: ${what} contains a NUL byte: ${JSON.stringify(s)}`);
  }
  const buf = transient[slot] ??= fixedBytes(TRANSIENT_BYTES);
  const { read, written } = encoder.encodeInto(s, buf);
  if (read < s.length || written >= buf.length) return cString(syscall, what, s);
  buf[written] = 0;
  return buf;
}

export function checkUint(syscall: string, what: string, value: number, max: number): void {
  if (!Number.isInteger(value) || value < 0 || value > max) {
    throw new RangeError(`${syscall}: ${what} ${value} is not an integer in 0..${max}`);
  }
}

/** The directory argument of the *at calls that stands for the working directory. */
export const AT_FDCWD = -100;

const MAX_FD = 0x7fffffff;

export function checkFd(syscall: string, fd: number): void {
  checkUint(syscall, "descriptor", fd, MAX_FD);
}

/** A descriptor, or AT_FDCWD, as the directory of an *at call. */
export function checkDirFd(syscall: string, fd: number): void {
  if (fd !== AT_FDCWD) checkFd(syscall, fd);
}

export const TWO_32 = 2 ** 32;

/**
 * glibc's makedev() in arithmetic, so a stat needs no second call into libc; in doubles, not
 * BigInt, which cost each stat several microseconds (jk_init stats every file it copies).
 */
export function devT(major: number, minor: number): number {
  return ((major & 0xfffff000) >>> 0) * TWO_32 + (major & 0xfff) * 2 ** 8 +
    ((minor & 0xffffff00) >>> 0) * 2 ** 12 + (minor & 0xff);
}

/** (uid_t)-1 means "leave unchanged" to the kernel, so an id of 2^32-1 could silently keep root. */
export const MAX_ID = 0xfffffffe;
