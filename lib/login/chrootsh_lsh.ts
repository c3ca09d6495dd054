/**
 * Whether the in-jail shell jk_chrootsh is about to exec is jailkit-deno's jk_lsh, whose
 * session jk_chrootsh then runs itself (lib/login/lsh_session.ts, from the host's installed
 * code, already chrooted and with the user's ids), so the jail needs no runtime.
 *
 * The shell is jk_lsh when all of these hold, checked inside the jail as the user:
 *   - its path is exactly the installed jk_lsh's path (PREFIX/sbin/jk_lsh), as jk_init and
 *     jk_jailuser write it; no other spelling counts;
 *   - every directory from the jail's / down to it is root-owned, not group/other writable and
 *     no symlink (each opened with O_NOFOLLOW below the one before, so nothing is looked up
 *     twice);
 *   - the file itself, opened with O_NOFOLLOW and checked on that descriptor, is a regular
 *     root-owned file, not group/other writable, and holds LSH_ENTRY_MARKER (the in-jail entry
 *     ffi/jk_launcher.c builds with LSH_ENTRY=1) or, for jails made by builds before the
 *     marker, this installation's launcher path of the jk_lsh script (`LIBDIR/cli/jk_lsh.ts`).
 * A user cannot plant such a file, and cannot swap one in on the way.
 *
 * At the jk_lsh path anything else is refused ("unsafe": a symlink, a user-writable directory
 * or file): executing it would let whoever controls it bypass jk_lsh's rules. A safe root-owned
 * file without the marker (jailkit 2.23's C jk_lsh, say) is root's choice and is executed.
 */
import {
  AT_EMPTY_PATH,
  AT_FDCWD,
  close,
  ErrnoError,
  O_CLOEXEC,
  O_DIRECTORY,
  O_NOFOLLOW,
  O_NONBLOCK,
  O_PATH,
  O_RDONLY,
  openat,
  read,
  S_IFMT,
  S_IFREG,
  statx,
} from "../../ffi/libc.ts";

/** The marker compiled into ffi/jk_launcher.c with LSH_ENTRY=1 (same bytes). */
export const LSH_ENTRY_MARKER = "\n@(#)jailkit-deno jk_lsh entry, protocol 1\n";

/** Larger files are not read to the end: the entry and the old launcher are about 20 KB. */
export const MAX_ENTRY_BYTES = 4 * 1024 * 1024;

export type InJailShell =
  /** Run the jk_lsh session in this process. */
  | { readonly kind: "session"; readonly legacy: boolean }
  /** Not jk_lsh (or not checkable as the user): exec it as jailkit does. */
  | { readonly kind: "exec" }
  /** At the jk_lsh path, but someone other than root could have put it there. */
  | { readonly kind: "unsafe"; readonly reason: string };

function indexOf(haystack: Uint8Array, needle: Uint8Array): number {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

/** Which recognised content `bytes` holds, if any. */
export function entryKind(bytes: Uint8Array, libdir: string): "marker" | "legacy" | undefined {
  const enc = new TextEncoder();
  if (indexOf(bytes, enc.encode(LSH_ENTRY_MARKER)) >= 0) return "marker";
  if (indexOf(bytes, enc.encode(`${libdir}/cli/jk_lsh.ts\0`)) >= 0) return "legacy";
  return undefined;
}

/** Why a stat result may not be trusted as root's; undefined when it can. */
function notRoots(what: string, st: { uid: number; mode: number }): string | undefined {
  if (st.uid !== 0) return `${what} is owned by uid ${st.uid}, not root`;
  if (st.mode & 0o022) return `${what} is group or world writable`;
  return undefined;
}

function errnoOf(e: unknown): string | undefined {
  return e instanceof ErrnoError ? e.code : undefined;
}

/**
 * Classifies `shell` (a path inside the jail, whose root is `root`: "/" after the chroot).
 * `lshPath` is the installed jk_lsh's path and `libdir` the installation's LIBDIR.
 */
export function inspectInJailShell(
  root: string,
  shell: string,
  lshPath: string,
  libdir: string,
): InJailShell {
  if (shell !== lshPath) return { kind: "exec" };
  const parts = lshPath.split("/").filter((p) => p !== "");
  const name = parts.pop();
  if (name === undefined) return { kind: "exec" };
  const fds: number[] = [];
  try {
    let dir = openat(AT_FDCWD, root, O_PATH | O_DIRECTORY | O_CLOEXEC);
    fds.push(dir);
    let at = "/";
    for (const part of ["", ...parts]) {
      if (part !== "") {
        at = `${at}${part}/`;
        try {
          dir = openat(dir, part, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        } catch (e) {
          if (errnoOf(e) === "ENOENT") return { kind: "exec" };
          return { kind: "unsafe", reason: `${at} is a symlink or not a directory` };
        }
        fds.push(dir);
      }
      const bad = notRoots(`directory ${at}`, statx(dir, "", AT_EMPTY_PATH));
      if (bad) return { kind: "unsafe", reason: bad };
    }
    let fd: number;
    try {
      fd = openat(dir, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    } catch (e) {
      const code = errnoOf(e);
      if (code === "ELOOP") return { kind: "unsafe", reason: `${shell} is a symlink` };
      // Missing or unreadable for the user: the exec reports it, or the file runs as it is.
      return { kind: "exec" };
    }
    fds.push(fd);
    const st = statx(fd, "", AT_EMPTY_PATH);
    if ((st.mode & S_IFMT) !== S_IFREG) {
      return { kind: "unsafe", reason: `${shell} is not a regular file` };
    }
    const bad = notRoots(shell, st);
    if (bad) return { kind: "unsafe", reason: bad };
    const bytes = readBounded(fd, Math.min(st.size, MAX_ENTRY_BYTES));
    const kind = entryKind(bytes, libdir);
    return kind === undefined ? { kind: "exec" } : { kind: "session", legacy: kind === "legacy" };
  } finally {
    for (const fd of fds.reverse()) close(fd);
  }
}

function readBounded(fd: number, size: number): Uint8Array {
  const buf = new Uint8Array(size);
  let done = 0;
  while (done < size) {
    const n = read(fd, buf.subarray(done));
    if (n === 0) break;
    done += n;
  }
  return buf.subarray(0, done);
}
