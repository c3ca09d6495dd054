/**
 * Unix sockets (jk_socketd): a client connection to the host's syslog socket, made before the
 * daemon chroots, so it keeps working where no path outside the chroot can be opened any more.
 */
import { checkUint, cString, ErrnoError, fail, fixedBytes, lastErrno } from "./base.ts";
import { libc } from "./symbols.ts";

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
