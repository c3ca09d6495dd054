/**
 * The jailkit-deno runtime copy (the installation's LIBDIR: runtime, sources, module cache) that
 * builds before the small-jail layout put into every jail that got jk_lsh. jk_chrootsh now runs
 * the jk_lsh session from the host's installation, so jk_update and `jk_init -f` remove that
 * copy. A jail whose LIBDIR copy holds STANDALONE_MARKER got it from [jk_lsh_standalone] on
 * purpose (sshd's ChrootDirectory, su inside the jail) and keeps it.
 */
import { JailkitError } from "../core/errors.ts";
import type { PlanBuilder } from "../core/plan.ts";
import { type JailView, lstatOrUndefined } from "./jailpath.ts";
import { installPrefix } from "../core/paths.ts";

/** File of LIBDIR (tools/install.ts writes it) that marks a deliberate runtime copy. */
export const STANDALONE_MARKER = "jk_lsh_standalone";

/** No runtime copy holds more entries than this; a larger tree is left for the admin. */
const MAX_ENTRIES = 100_000;

/** LIBDIR of the installation these sources run from (/usr/lib/jailkit in a checkout). */
export function installedLibdir(): string {
  return `${installPrefix() ?? "/usr"}/lib/jailkit`;
}

/**
 * Plans the removal of the jail's runtime copy at `libdir` (children before their directory)
 * and returns its in-jail path; undefined when the jail has none there or it is standalone.
 * The directory must be a real directory reached without symlinks: a link there is the
 * admin's doing and is left alone. The removals go through the executor, which opens every
 * directory with O_NOFOLLOW, so a tree changed meanwhile fails safely.
 */
export function planRuntimeCopyRemoval(
  view: JailView,
  plan: PlanBuilder,
  libdir = installedLibdir(),
): string | undefined {
  const inJail = view.resolve(libdir, false);
  if (inJail !== libdir || view.lookup(inJail)?.kind !== "dir") return undefined;
  const top = view.hostPath(inJail);
  if (lstatOrUndefined(`${top}/${STANDALONE_MARKER}`) !== undefined) return undefined;
  const entries: { path: string; dir: boolean }[] = [];
  const walk = (dir: string) => {
    for (const e of Deno.readDirSync(view.hostPath(dir))) {
      if (entries.length >= MAX_ENTRIES) {
        throw new JailkitError("io", `${top} holds more than ${MAX_ENTRIES} entries; not removed`);
      }
      const path = `${dir}/${e.name}`;
      if (e.isDirectory && !e.isSymlink) walk(path);
      entries.push({ path, dir: e.isDirectory && !e.isSymlink });
    }
  };
  walk(inJail);
  entries.push({ path: inJail, dir: true });
  plan.note(
    `${top} is the runtime copy of an older jailkit-deno: jk_chrootsh runs jk_lsh from the ` +
      `host's installation now (jk_init's [jk_lsh_standalone] installs one on purpose)`,
  );
  for (const { path, dir } of entries) {
    plan.add({
      op: "remove",
      path,
      dir,
      what: "runtime copy",
      msg: path === inJail ? { text: `removed the runtime copy ${top}` } : undefined,
    });
  }
  return inJail;
}
