/**
 * A plan is the complete, ordered list of changes a tool has decided to make. Deciding code
 * builds it without touching the disk; `lib/engine/apply.ts` is the only code that carries it out,
 * prints it (--dry-run) or emits it (--json). Paths of jail operations are canonical in-jail
 * paths (see lib/engine/jailpath.ts): their parents are real directories, created earlier in the plan
 * or already on disk, and the executor refuses to act if that is no longer true.
 */

/** Ownership and times copied from a host file. Times are milliseconds since the epoch. */
export interface Attrs {
  /** Permission bits (and set-id bits where kept), without the file type. */
  mode: number;
  /** Owner in the jail: root unless the tool keeps the host owner. */
  uid: number;
  /** Group in the jail: root unless the tool keeps the host group. */
  gid: number;
  /** Access time to set (with `mtime`); absent, the entry keeps the time it was created. */
  atime?: number;
  /** Modification time to set: copies keep the host's, so `-f` can tell them unchanged. */
  mtime?: number;
}

/** A line jailkit prints while working; `verbose` lines only appear with -v. */
export interface Message {
  /** The line as printed, without a newline. */
  text: string;
  /** Printed only with -v. */
  verbose?: boolean;
  /** Where the line goes; stdout unless said (scripts parse stdout). */
  stream?: "stdout" | "stderr";
}

/** One change to a jail or the host, in the order it must happen. */
export type Op =
  /**
   * Creates a directory in the jail; an existing directory is left as it is, unless `exact`:
   * then it is given `attrs`' owner and mode too (a thin jail's mount points, which the login
   * tools refuse unless root owns them and nobody else can write them).
   */
  | { op: "mkdir"; path: string; attrs: Attrs; exact?: boolean; msg?: Message }
  /** Copies a host regular file into the jail (temp file + rename: never through a link). */
  | { op: "copy"; src: string; path: string; attrs: Attrs; replace: boolean; msg?: Message }
  /**
   * Hard-links a host file into the jail; falls back to `copy` with `attrs` when linking fails
   * or the source gained a set-id bit or a non-root owner since planning.
   */
  | {
    op: "link";
    src: string;
    path: string;
    attrs: Attrs;
    replace: boolean;
    keepSetid: boolean;
    msg?: Message;
  }
  /** Creates (or with `replace`, re-creates) a symlink with exactly this link text. */
  | { op: "symlink"; path: string; target: string; replace: boolean; msg?: Message }
  /** Creates a device node. */
  | {
    op: "mknod";
    path: string;
    kind: "c" | "b";
    major: number;
    minor: number;
    attrs: Attrs;
    msg?: Message;
  }
  /** Writes a whole file atomically (temp file + rename). */
  | { op: "write"; path: string; content: string; attrs: Attrs; msg?: Message }
  /** Appends text to a HOST file atomically (e.g. /etc/jailkit/jk_socketd.ini). */
  | { op: "append-host"; hostPath: string; text: string; msg?: Message }
  /**
   * Replaces a whole HOST file (root:root 0644, temp file in the same directory, fsync,
   * rename), e.g. the jail's record in /etc/jailkit/jk_thin.ini. `expected` is the content it
   * was planned from (null: no file): a file changed since planning is left alone and the
   * operation fails, so two tools never overwrite each other's additions. With `whenAllDone`
   * it is not carried out after any earlier operation of the plan failed: it is the record
   * that declares the work complete.
   */
  | {
    op: "write-host";
    hostPath: string;
    content: string;
    expected: string | null;
    whenAllDone: boolean;
    /** What changes, in one line, for --dry-run (the whole file would be too long). */
    summary: string;
    msg?: Message;
  }
  /** Regenerates JAIL/etc/ld.so.cache so the jail's loader finds every copied library. */
  | { op: "ldconfig"; msg?: Message }
  /** Runs a host program without a shell (usermod, mount). */
  | { op: "run"; argv: string[]; msg?: Message }
  /**
   * Removes one jail entry: a non-directory (a symlink itself, never its target) or, with
   * `dir`, an empty directory. `what` names the entry in messages ("deprecated file").
   */
  | { op: "remove"; path: string; dir: boolean; what: string; msg?: Message }
  /** Only prints its message (notices, warnings, "already exists" lines). */
  | { op: "note"; msg: Message };

/** What a tool decided to do to one jail, ready for `applyPlan`. */
export interface Plan {
  /** Absolute, normalised jail directory on the host. */
  jail: string;
  /** The operations in the order they must be carried out. */
  ops: Op[];
}

/** Appends operations in order; a thin helper so deciding code reads as a list of intents. */
export class PlanBuilder {
  /** The operations added so far. */
  readonly ops: Op[] = [];
  /** `jail` is the absolute, normalised jail directory every path is inside. */
  constructor(readonly jail: string) {}

  /** Appends one operation. */
  add(op: Op): void {
    this.ops.push(op);
  }

  /** Appends a message that changes nothing (a notice, a warning, an "already there" line). */
  note(text: string, opts: { verbose?: boolean; stream?: "stdout" | "stderr" } = {}): void {
    this.ops.push({ op: "note", msg: { text, ...opts } });
  }

  /** True when the plan changes anything (notes alone change nothing). */
  get changes(): boolean {
    return this.ops.some((o) => o.op !== "note");
  }

  /** A snapshot of the operations so far; later additions do not change it. */
  build(): Plan {
    return { jail: this.jail, ops: [...this.ops] };
  }
}
