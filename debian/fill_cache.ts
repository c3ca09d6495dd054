/**
 * Fills the module cache of the staged package (debian/jailkit/usr/lib/jailkit/deno-dir) for
 * the paths the files will have once installed. Run by debian/rules as root.
 *
 * The runtime keys its cache of transpiled sources by their absolute paths, so it must see the
 * staged tree at /usr/lib/jailkit while it fills the cache. This script therefore re-runs itself
 * in a private mount namespace (unshare --mount), lays an overlay on /usr/lib there (its upper
 * layer on a tmpfs, so the host's /usr/lib is never written, and /usr/lib/jailkit need not exist
 * on the build machine), binds the staged directory onto /usr/lib/jailkit and runs the same
 * `deno cache` and cache sealing that `deno task install` runs for a direct install. A package
 * that relied on filling the cache after installation would have the setuid tools write it.
 *
 *   deno run -A debian/fill_cache.ts STAGED_LIBDIR
 */
import { cacheCommand, layout, sealCommand, TOOLS } from "../tools/install.ts";

const FINAL = layout("/usr", "");

async function run(argv: string[], env?: Record<string, string>): Promise<void> {
  const r = await new Deno.Command(argv[0], {
    args: argv.slice(1),
    clearEnv: env !== undefined,
    env,
    cwd: "/",
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  if (!r.success) throw new Error(`${argv.join(" ")}: exit ${r.code}`);
}

async function inNamespace(staged: string, scratch: string): Promise<void> {
  await run(["mount", "-t", "tmpfs", "-o", "mode=0755", "tmpfs", scratch]);
  Deno.mkdirSync(`${scratch}/upper`);
  Deno.mkdirSync(`${scratch}/work`);
  const usrLib = FINAL.libdir.slice(0, FINAL.libdir.lastIndexOf("/"));
  await run([
    "mount",
    "-t",
    "overlay",
    "overlay",
    "-o",
    `lowerdir=${usrLib},upperdir=${scratch}/upper,workdir=${scratch}/work`,
    usrLib,
  ]);
  Deno.mkdirSync(FINAL.libdir, { recursive: true });
  await run(["mount", "--bind", staged, FINAL.libdir]);
  const scripts = TOOLS.map((t) => `${FINAL.libdir}/cli/${t.name}.ts`).filter((p) => {
    try {
      return Deno.statSync(p).isFile;
    } catch {
      return false;
    }
  });
  const [dir, home, noUpdate, noColor, runtime, ...args] = cacheCommand(FINAL, scripts);
  const env = Object.fromEntries(
    [dir, home, noUpdate, noColor].map((e) => e.split(/=(.*)/s, 2)),
  );
  await run([runtime, ...args], { ...env, PATH: "/usr/bin:/bin" });
  await run(["/bin/sh", "-c", sealCommand(FINAL)], { PATH: "/usr/bin:/bin" });
}

async function main(): Promise<number> {
  const [staged, inside, scratch] = Deno.args;
  if (staged === undefined || !staged.startsWith("/") || !Deno.statSync(staged).isDirectory) {
    console.error("usage: debian/fill_cache.ts ABSOLUTE_STAGED_LIBDIR");
    return 2;
  }
  if (Deno.uid() !== 0) {
    console.error("debian/fill_cache.ts: must run as root (it mounts in a private namespace)");
    return 1;
  }
  if (inside === "--in-namespace" && scratch !== undefined) {
    await inNamespace(staged, scratch);
    return 0;
  }
  // Only a mount point for the namespace's tmpfs: nothing is written into it on the host.
  const mountPoint = Deno.makeTempDirSync({ prefix: "jk-fill-cache-" });
  try {
    await run([
      "unshare",
      "--mount",
      "--propagation",
      "private",
      Deno.execPath(),
      "run",
      "-A",
      "--no-lock",
      new URL(import.meta.url).pathname,
      staged,
      "--in-namespace",
      mountPoint,
    ]);
  } finally {
    Deno.removeSync(mountPoint);
  }
  return 0;
}

if (import.meta.main) Deno.exit(await main());
