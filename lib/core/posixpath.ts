/**
 * The POSIX path operations the login path needs (normalize, join, resolve, dirname, basename),
 * with node:path's posix results. Not node:path itself: importing any node:* module makes Deno
 * set up its Node compatibility layer, about 25 ms of CPU at every start of jk_chrootsh and
 * jk_lsh (bench/sftp_bench.ts). tests/posixpath_test.ts compares every function with node:path.
 */

/** `path`'s names with "." and empty names dropped and ".." applied; a relative path keeps leading "..". */
function resolveNames(path: string, absolute: boolean): string {
  const out: string[] = [];
  for (const name of path.split("/")) {
    if (name === "" || name === ".") continue;
    if (name === "..") {
      if (out.length > 0 && out[out.length - 1] !== "..") out.pop();
      else if (!absolute) out.push("..");
      continue;
    }
    out.push(name);
  }
  return out.join("/");
}

export function normalize(path: string): string {
  if (path === "") return ".";
  const absolute = path.startsWith("/");
  let body = resolveNames(path, absolute);
  if (body === "" && !absolute) body = ".";
  if (body !== "" && path.endsWith("/")) body += "/";
  return absolute ? `/${body}` : body;
}

export function join(...parts: string[]): string {
  const joined = parts.filter((p) => p !== "").join("/");
  return joined === "" ? "." : normalize(joined);
}

/** The absolute path `parts` lead to from the working directory, without a trailing slash. */
export function resolve(...parts: string[]): string {
  let path = "";
  for (let i = parts.length - 1; i >= 0 && !path.startsWith("/"); i--) {
    if (parts[i] !== "") path = path === "" ? parts[i] : `${parts[i]}/${path}`;
  }
  if (!path.startsWith("/")) path = path === "" ? Deno.cwd() : `${Deno.cwd()}/${path}`;
  return `/${resolveNames(path, true)}`;
}

/** Everything before the last name, trailing slashes ignored; like node:path, "a//b" gives "a/". */
export function dirname(path: string): string {
  if (path === "") return ".";
  let end = path.length - 1;
  while (end >= 1 && path[end] === "/") end--;
  while (end >= 1 && path[end] !== "/") end--;
  if (end < 1) return path.startsWith("/") ? "/" : ".";
  return path.startsWith("/") && end === 1 ? "//" : path.slice(0, end);
}

export function basename(path: string): string {
  let end = path.length;
  while (end > 0 && path[end - 1] === "/") end--;
  return path.slice(path.lastIndexOf("/", end - 1) + 1, end);
}
