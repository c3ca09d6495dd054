/**
 * Signals, descriptors and exec (the setuid entries' last steps).
 */
import {
  checkUint,
  cString,
  ErrnoError,
  fail,
  fixedBytes,
  lastErrno,
  POINTER_BYTES,
} from "./base.ts";
import { libc } from "./symbols.ts";

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
