/**
 * jk_socketd's connection to the host's syslog socket, made before the forwarder chroots: a
 * datagram socket like glibc's syslog(), else a stream one (jailkit's fallback). Messages are
 * sent without blocking the other sockets; a host socket that went away ends the forwarder
 * (HostLogGone) so the supervisor starts one that connects again.
 */
import {
  connectUnix,
  ErrnoError,
  MSG_DONTWAIT,
  MSG_NOSIGNAL,
  send,
  SOCK_DGRAM,
  SOCK_STREAM,
} from "../../ffi/libc.ts";
import { delay } from "./process.ts";

export const HOST_LOG = "/dev/log";

/** The host's socket is gone: only a new connection, from outside the chroot, helps. */
export class HostLogGone extends Error {
  constructor(readonly code: string) {
    super(`the host's ${HOST_LOG} went away (${code})`);
    this.name = "HostLogGone";
  }
}

/** send(2) failures meaning the host's socket is gone: only a new connection helps. */
const GONE = new Set(["ECONNREFUSED", "ENOTCONN", "ECONNRESET", "EPIPE", "EDESTADDRREQ"]);
/** send(2) failures meaning the host's syslog daemon is busy: wait and try again. */
const BUSY = new Set(["EAGAIN", "ENOBUFS", "EINTR"]);

/** The connection to the host's /dev/log, made before the chroot. */
export class HostLog {
  #queue: Promise<unknown> = Promise.resolve();

  private constructor(readonly fd: number, readonly stream: boolean) {}

  /** A datagram socket like glibc's syslog(), else a stream one (jailkit's fallback). */
  static connect(): HostLog {
    let datagramError: ErrnoError;
    try {
      return new HostLog(connectUnix(HOST_LOG, SOCK_DGRAM), false);
    } catch (e) {
      if (!(e instanceof ErrnoError)) throw e;
      datagramError = e;
    }
    try {
      return new HostLog(connectUnix(HOST_LOG, SOCK_STREAM), true);
    } catch (e) {
      if (!(e instanceof ErrnoError)) throw e;
      throw datagramError.code === "EPROTOTYPE" ? e : datagramError;
    }
  }

  /**
   * Forwards one message; returns the bytes the host took. Waits (without blocking the other
   * sockets) while the host's queue is full. On a stream each message is NUL-terminated, as
   * glibc frames it, and messages are sent one after another, never interleaved.
   */
  forward(data: Uint8Array<ArrayBuffer>): Promise<number> {
    if (!this.stream) return this.#send(data);
    let framed = data;
    if (data.at(-1) !== 0) {
      framed = new Uint8Array(data.length + 1);
      framed.set(data);
    }
    const result = this.#queue.then(() => this.#send(framed));
    this.#queue = result.catch(() => undefined);
    return result;
  }

  async #send(data: Uint8Array<ArrayBuffer>): Promise<number> {
    let offset = 0;
    let waitMs = 1;
    while (offset < data.length) {
      let n: number;
      try {
        n = send(this.fd, data.subarray(offset), MSG_DONTWAIT | MSG_NOSIGNAL);
      } catch (e) {
        if (e instanceof ErrnoError && BUSY.has(e.code)) {
          await delay(waitMs);
          waitMs = Math.min(waitMs * 2, 100);
          continue;
        }
        if (e instanceof ErrnoError && GONE.has(e.code)) throw new HostLogGone(e.code);
        throw e;
      }
      if (!this.stream) return n;
      offset += n;
      waitMs = 1;
    }
    return offset;
  }
}
