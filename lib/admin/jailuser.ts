/**
 * jk_jailuser: puts existing host accounts into a jail (man/jk_jailuser.8; the files it writes:
 * docs/design.md, Compatibility contract).
 *
 * Deciding (pure, given file texts and an lstat function): the jail passwd/group lines to add,
 * the host home with the `/./` marker, whether usermod must run, and what home directory would
 * be moved. Acting (`carryOut`): the jail files are written through the plan executor (atomic
 * temp + rename), then for each user the home is copied, verified and put in place, usermod runs
 * without a shell, and only then is the old home removed.
 *
 * Order, chosen so that stopping at any point leaves nobody locked out and nothing lost:
 *   1. JAIL/etc/group, then JAIL/etc/passwd (extra jail lines are harmless while the host
 *      account still points at its old home);
 *   2. the home is copied into a temp directory beside its destination, compared with the
 *      original, and renamed into place only when complete (no half-filled home ever appears);
 *   3. usermod switches the host account to `JAIL/./HOME` and jk_chrootsh (the old home is
 *      untouched; a failed move means usermod is not run, so the account keeps a working home);
 *   4. the old home is checked unchanged since it was copied, then removed.
 * A rerun resumes: a destination identical to the old home is accepted as already copied.
 *
 * Three modules: jailuser_plan.ts decides, jailuser_home.ts moves a home tree, and this one
 * reads the files and carries the plan out in the order above.
 *
 * Differences from jailkit 2.23 are listed in man/jk_jailuser.8 ("DIFFERENCES").
 */
import { posix } from "node:path";
import { JailkitError } from "../core/errors.ts";
import { JailView, lstatOrUndefined } from "../engine/jailpath.ts";
import type { Attrs, Op } from "../core/plan.ts";
import { applyPlan, type OpResult } from "../engine/apply.ts";
import {
  checkDestination,
  checkMoveSource,
  leftoverTemps,
  type Manifest,
  MoveError,
  owner,
  placeCopy,
  removeQuietly,
  unchangedSince,
} from "./jailuser_home.ts";
import { type JailuserPlan, msg, stripSlashes, warn } from "./jailuser_plan.ts";

// The plan and the home move, for the entry point and the tests.
export {
  CHROOTSH,
  DEFAULT_INJAIL_SHELL,
  homeLayout,
  jailProblem,
  moveQuestion,
  planJailUsers,
  shellProblem,
  userNameProblem,
} from "./jailuser_plan.ts";
export type { HomeLayout, JailuserInput, JailuserPlan, UserPlan } from "./jailuser_plan.ts";
export {
  checkDestination,
  checkMoveSource,
  compareTrees,
  copyTree,
  leftoverTemps,
  MoveError,
  placeCopy,
  TEMP_PREFIX,
  unchangedSince,
} from "./jailuser_home.ts";
export type { DestinationState, Manifest } from "./jailuser_home.ts";

// ---------------------------------------------------------------------------------------------
// Reading the files

const fatalUtf8 = new TextDecoder("utf-8", { fatal: true });

/** Reads a file we will rewrite: refuses bytes that are not UTF-8 (they would not survive). */
export function readRewritable(hostPath: string): string {
  const bytes = Deno.readFileSync(hostPath);
  try {
    return fatalUtf8.decode(bytes);
  } catch {
    throw new JailkitError(
      "config",
      `${hostPath} contains bytes that are not UTF-8; not rewriting it`,
    );
  }
}

/** Canonical in-jail path and host path of a jail file, resolved inside the jail. */
export function jailFile(
  jail: string,
  inJail: string,
): { path: string; host: string; exists: boolean } {
  const view = new JailView(jail);
  const path = view.resolve(inJail, true);
  const node = view.lookup(path);
  if (node !== undefined && node.kind !== "file") {
    throw new JailkitError("unsafe-jail", `${view.hostPath(path)} is not a regular file`);
  }
  return { path, host: view.hostPath(path), exists: node !== undefined };
}

// ---------------------------------------------------------------------------------------------
// Carrying out a plan

export interface CarryOutOptions {
  jail: string;
  dryRun: boolean;
  verbose: boolean;
  print?: (stream: "stdout" | "stderr", line: string) => void;
  /** Absolute path of usermod. */
  usermod: string;
}

export interface CarryOutResult {
  /** Every operation with its outcome, for --json. */
  results: OpResult[];
  /** Writing JAIL/etc/group or JAIL/etc/passwd failed: nothing was done on the host. */
  jailWriteFailed: boolean;
  /** Users whose host account or home could not be switched (their old home is intact). */
  failedUsers: string[];
  failed: number;
}

/** Attributes for a rewritten jail file: those of the file it replaces, else root 0644. */
export function fileAttrs(host: string): Attrs {
  const info = lstatOrUndefined(host);
  return info === undefined
    ? { mode: 0o644, uid: 0, gid: 0 }
    : { mode: (info.mode ?? 0o644) & 0o7777, uid: owner(info)[0], gid: owner(info)[1] };
}

/**
 * Plans the in-jail parent directories of `inJailHome` (root 0755, like a fresh /home) and
 * returns them with the canonical host path the home will have.
 */
export function homeParentOps(
  jail: string,
  inJailHome: string,
): { ops: Op[]; destination: string } {
  const view = new JailView(jail);
  const parentIn = posix.dirname(stripSlashes(inJailHome));
  const canonParent = view.resolve(parentIn, true);
  const ops: Op[] = [];
  let sofar = "";
  for (const comp of canonParent.split("/").filter((c) => c !== "")) {
    sofar += `/${comp}`;
    const node = view.lookup(sofar);
    if (node === undefined) {
      ops.push({
        op: "mkdir",
        path: sofar,
        attrs: { mode: 0o755, uid: 0, gid: 0 },
        msg: { text: `Creating directory ${view.hostPath(sofar)}`, verbose: true },
      });
      view.record(sofar, { kind: "dir" });
    } else if (node.kind !== "dir") {
      throw new JailkitError("unsafe-jail", `${view.hostPath(sofar)} is not a directory`);
    }
  }
  const base = posix.basename(stripSlashes(inJailHome));
  return { ops, destination: `${view.hostPath(canonParent)}/${base}` };
}

/**
 * Carries out a JailuserPlan in the order described at the top of this file. In dry-run mode
 * every step is printed instead.
 */
export function carryOut(plan: JailuserPlan, opts: CarryOutOptions): CarryOutResult {
  const results: OpResult[] = [];
  const failedUsers: string[] = [];
  let failed = 0;
  const print = opts.print;
  const stage = (ops: Op[]): number => {
    const r = applyPlan({ jail: opts.jail, ops }, {
      mode: opts.dryRun ? "dry-run" : "apply",
      verbose: opts.verbose,
      print,
    });
    results.push(...r.results);
    failed += r.failed;
    return r.failed;
  };
  const record = (text: string, error?: string) => {
    results.push({
      op: { op: "note", msg: { text } },
      status: opts.dryRun ? "planned" : error === undefined ? "done" : "failed",
      ...(error === undefined ? {} : { error }),
    });
    if (error !== undefined) failed++;
  };

  const writes: Op[] = [...plan.notes];
  for (const [inJail, text] of [["/etc/group", plan.groupText], ["/etc/passwd", plan.passwdText]]) {
    if (text === undefined) continue;
    const file = jailFile(opts.jail, inJail!);
    writes.push({ op: "write", path: file.path, content: text, attrs: fileAttrs(file.host) });
  }
  if (stage(writes) > 0) {
    return { results, jailWriteFailed: true, failedUsers, failed };
  }

  for (const user of plan.users) {
    const { layout } = user;
    const ops: Op[] = [...user.notes];
    let manifest: Manifest | undefined;
    let same = false;
    const source = layout.source!;
    if (user.move) {
      const leftovers = leftoverTemps(layout.destination, user.name);
      if (leftovers.length > 0) {
        ops.push(
          warn(`left over by an interrupted run (remove after checking): ${leftovers.join(" ")}`),
        );
      }
      let parents: ReturnType<typeof homeParentOps>;
      try {
        parents = homeParentOps(opts.jail, layout.inJailHome);
      } catch (e) {
        if (!(e instanceof JailkitError)) throw e;
        ops.push(msg(`ERROR: ${e.message}`, { stream: "stderr" }));
        ops.push(
          msg(
            `Not everything was copied to ${layout.newHome}, keeping the old directory ${source}`,
          ),
        );
        stage(ops);
        failedUsers.push(user.name);
        continue;
      }
      ops.push(...parents.ops);
      ops.push(msg(`Moving files from ${source} to ${layout.newHome}`, { verbose: true }));
      if (stage(ops) > 0) {
        print?.(
          "stdout",
          `Not everything was copied to ${layout.newHome}, keeping the old directory ${source}`,
        );
        failedUsers.push(user.name);
        continue;
      }
      const what = `copy ${source} to ${parents.destination}, verify the copy`;
      try {
        const state = checkDestination(source, parents.destination);
        if (state === "same") {
          print?.(
            "stdout",
            `home directory ${source} is already inside the jail (it is ${parents.destination})`,
          );
          same = true;
        } else {
          checkMoveSource(source, parents.destination, opts.jail);
          if (opts.dryRun) {
            print?.(
              "stdout",
              state === "identical"
                ? `would keep ${parents.destination}, already identical to ${source}`
                : `would ${what}`,
            );
          } else {
            manifest = placeCopy(source, parents.destination, user.name, state);
          }
          record(what);
        }
      } catch (e) {
        if (!(e instanceof MoveError)) throw e;
        print?.("stderr", `ERROR: ${e.message}`);
        for (const p of e.problems) print?.("stderr", `ERROR: ${p}`);
        print?.(
          "stdout",
          `Not everything was copied to ${layout.newHome}, keeping the old directory ${source}`,
        );
        record(what, [e.message, ...e.problems].join("; "));
        failedUsers.push(user.name);
        continue;
      }
    } else if (stage(ops) > 0) {
      failedUsers.push(user.name);
      continue;
    }

    if (user.usermod !== undefined) {
      const run: Op = { op: "run", argv: [opts.usermod, ...user.usermod] };
      if (stage([run]) > 0) {
        print?.("stderr", `failed to modify user ${user.name}`);
        if (user.move) {
          print?.(
            "stdout",
            `the account still uses ${source}, which is kept; the copy in ` +
              `${layout.destination} can be removed`,
          );
        }
        failedUsers.push(user.name);
        continue;
      }
    }

    if (user.move && !same) {
      const what = `remove ${source} after checking it is unchanged since the copy`;
      if (opts.dryRun) {
        print?.("stdout", `would ${what}`);
        record(what);
        continue;
      }
      const changed = unchangedSince(source, manifest!);
      if (changed.length > 0) {
        for (const c of changed) print?.("stderr", `ERROR: ${c}`);
        print?.(
          "stdout",
          `${source} changed while it was being moved, keeping the old directory ${source}`,
        );
        record(what, changed.join("; "));
        failedUsers.push(user.name);
        continue;
      }
      if (opts.verbose) print?.("stdout", `Removing original home directory ${source}`);
      const left = removeQuietly(source);
      if (left !== undefined) {
        print?.("stderr", `ERROR: failed to remove ${source}: ${left}`);
        record(what, left);
      } else {
        record(what);
      }
    }
  }
  return { results, jailWriteFailed: false, failedUsers, failed };
}
