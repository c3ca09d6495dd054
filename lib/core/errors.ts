/**
 * Typed errors shared by every tool. Deciding code throws these; each cli/ entry maps the
 * kind to the exit code its jailkit 2.23 counterpart used, in one table per tool.
 */

/** What went wrong, independent of which tool noticed it. */
export type ErrorKind =
  | "usage" // bad command line
  | "config" // an ini/passwd/profile file is malformed
  | "unsafe-jail" // ownership/permission/symlink rule violated
  | "not-found" // a named file, user, section or program does not exist
  | "permission" // not root, or the OS said EPERM/EACCES
  | "parse" // hostile or malformed binary input (ELF, ld.so.cache)
  | "io"; // any other operating-system failure

/** An expected failure: its message is meant for the user and its `kind` selects the exit code. */
export class JailkitError extends Error {
  /** `kind` decides the exit code; `message` is printed after `ERROR: `. */
  constructor(readonly kind: ErrorKind, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "JailkitError";
  }
}

/** A configuration error pinned to a file and line ("FILE:LINE: message"). */
export function configError(file: string, line: number, message: string): JailkitError {
  return new JailkitError("config", `${file}:${line}: ${message}`);
}
