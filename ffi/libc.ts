/**
 * The only way into libc; everything else imports from here. Each wrapper makes one synchronous
 * call and, when it fails, reads errno immediately (a `nonblocking` call would run on another
 * thread and lose it) and throws an ErrnoError. Each function is bound on its first use, so
 * importing this module costs the tools that never call it nothing.
 *
 * The wrappers live in ffi/libc/ by area: symbols.ts (the C signatures and the lazy binding),
 * base.ts (errno, C strings), files.ts, dirs.ts, ids.ts, process.ts, devices.ts, log.ts,
 * wordexp.ts, sockets.ts, mounts.ts, memory.ts. This module re-exports all that an area
 * module exports, so an area module exports nothing the tools are not to call; of base.ts
 * only the error type, of symbols.ts (the raw symbols) nothing.
 *
 * Target: glibc on 64-bit Linux (x86_64, aarch64 — the only targets Deno ships for). Errno
 * numbers are the asm-generic ones both use; struct layouts use POINTER_BYTES.
 */
export { ErrnoError, errnoName } from "./libc/base.ts";
export * from "./libc/devices.ts";
export * from "./libc/dirs.ts";
export * from "./libc/files.ts";
export * from "./libc/ids.ts";
export * from "./libc/log.ts";
export * from "./libc/memory.ts";
export * from "./libc/mounts.ts";
export * from "./libc/process.ts";
export * from "./libc/sockets.ts";
export * from "./libc/wordexp.ts";
