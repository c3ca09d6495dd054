/**
 * Where things are: the admin tools' configuration, the installation prefix, programs in PATH.
 * Configuration: jailkit compiled in /etc/jailkit;
 * root may point the admin tools (jk_init, jk_check, jk_update, jk_jailuser) elsewhere with
 * JAILKIT_ETC for staging and tests. The privileged login tools never read this variable.
 */
import { join, normalize, resolve } from "./posixpath.ts";
import { callerVar } from "./environ.ts";
import { directoryNames, fileInfo } from "../../ffi/libc.ts";

export function configDir(): string {
  const dir = callerVar("JAILKIT_ETC");
  return dir && dir.startsWith("/") ? normalize(dir) : "/etc/jailkit";
}

/**
 * A login entry installed as one bundled file (PREFIX/lib/jailkit/cli/TOOL.js, see
 * tools/install.ts) carries this module inside it, so `import.meta.url` is the bundle's.
 */
const BUNDLE = /\/cli\/jk_[a-z_]+\.js$/;

/** The default ini files shipped with this checkout or installation. */
export function bundledDataFile(name: string, url = import.meta.url): string {
  return new URL(`${BUNDLE.test(url) ? ".." : "../.."}/data/${name}`, url).pathname;
}

export function fileExists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * The config file a tool reads: the one given with -c, else the admin's file in the config
 * directory, else the default bundled with the tools (so a fresh checkout works as is).
 */
export function locateConfig(name: string, given?: string): string {
  if (given !== undefined) return given;
  const admin = join(configDir(), name);
  return fileExists(admin) ? admin : bundledDataFile(name);
}

/**
 * The installation prefix when these sources run from an installed tree
 * (PREFIX/lib/jailkit/lib/core/paths.ts, or a bundled login entry PREFIX/lib/jailkit/cli/TOOL.js,
 * see tools/install.ts); undefined in a checkout.
 */
export function installPrefix(url = import.meta.url): string | undefined {
  const m = new URL(url).pathname.match(
    /^(.*)\/lib\/jailkit\/(?:lib\/core\/paths\.ts|cli\/jk_[a-z_]+\.js)$/,
  );
  return m ? m[1] : undefined;
}

/**
 * Where one of our tools is installed: PREFIX/sbin/NAME for an installed tree, jailkit's
 * /usr/sbin/NAME otherwise (the path other jailkit tools and panels expect).
 */
export function toolPath(name: "jk_chrootsh" | "jk_lsh", url = import.meta.url): string {
  return `${installPrefix(url) ?? "/usr"}/sbin/${name}`;
}

export const DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/**
 * Finds a program name the way jailkit's users expect: absolute paths as given, names with a
 * slash relative to the working directory, bare names in PATH. Undefined when not found.
 * `listings`, kept by a caller that looks up many names at once (jk_init), caches the names
 * in each PATH directory.
 */
export function locateProgram(
  name: string,
  path = callerVar("PATH") || DEFAULT_PATH,
  listings?: Map<string, ReadonlySet<string> | null>,
): string | undefined {
  if (name === "") return undefined;
  if (name.startsWith("/")) return exists(name) ? name : undefined;
  if (name.includes("/")) {
    const abs = resolve(Deno.cwd(), name);
    return exists(abs) ? abs : undefined;
  }
  for (const dir of path.split(":")) {
    if (!dir.startsWith("/")) continue; // relative PATH entries would depend on the cwd
    if (listings && !listed(listings, dir, name)) continue;
    const candidate = join(dir, name);
    try {
      if (fileInfo(candidate, true)?.isFile) return candidate;
    } catch { /* not searchable */ }
  }
  return undefined;
}

/**
 * Whether `dir`'s listing (read once into `listings`) has `name`; true when it cannot be read
 * (a search-only directory), so that stat decides. Skipping the names a directory lacks saves
 * a failed stat, and the exception Deno makes of it, per PATH directory and program.
 */
function listed(
  listings: Map<string, ReadonlySet<string> | null>,
  dir: string,
  name: string,
): boolean {
  let names = listings.get(dir);
  if (names === undefined) {
    try {
      names = new Set(directoryNames(dir));
    } catch {
      names = null;
    }
    listings.set(dir, names);
  }
  return names === null || names.has(name);
}

function exists(p: string): boolean {
  try {
    return fileInfo(p, false) !== undefined;
  } catch {
    return false;
  }
}

/** `p` without its trailing slashes; "/" (and "") stay as they are. */
export function stripTrailingSlash(p: string): string {
  return p.length > 1 ? p.replace(/\/+$/, "") || "/" : p;
}
