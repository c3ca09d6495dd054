/**
 * `deno task deb [--out DIR]` — builds the Debian binary package offline, as root, from this
 * checkout (tools/deno must hold the pinned runtime: npm ci --prefix tools/deno):
 *
 *   dpkg-buildpackage -us -uc -b --post-clean
 *
 * dpkg-buildpackage writes its results next to the source tree; they are moved to DIR
 * (default out/deb/) and the path of the .deb is the last line printed. The work files under
 * debian/ are cleaned afterwards, so the tree is left as it was.
 */
import { join } from "node:path";
import { parseToolOptions } from "./options.ts";

const REPO = new URL("..", import.meta.url).pathname.replace(/\/$/, "");

async function query(cmd: string, args: string[]): Promise<string> {
  const r = await new Deno.Command(cmd, { args, cwd: REPO, stdout: "piped", stderr: "inherit" })
    .output();
  if (!r.success) throw new Error(`${cmd} ${args.join(" ")}: exit ${r.code}`);
  return new TextDecoder().decode(r.stdout).trim();
}

async function main(): Promise<number> {
  const { out } = parseToolOptions({
    command: "deno task deb",
    options: { out: { type: "string", arg: "DIR", default: join(REPO, "out", "deb") } },
    about: "Builds the Debian package as root into DIR (default out/deb).",
  });
  if (Deno.uid() !== 0) {
    console.error("deb: must run as root (the package's files are root-owned and set-uid)");
    return 1;
  }
  const version = await query("dpkg-parsechangelog", ["-S", "Version"]);
  const arch = await query("dpkg-architecture", ["-qDEB_HOST_ARCH"]);
  const build = await new Deno.Command("dpkg-buildpackage", {
    args: ["-us", "-uc", "-b", "--post-clean"],
    cwd: REPO,
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  if (!build.success) {
    console.error(`deb: dpkg-buildpackage failed (exit ${build.code})`);
    return 1;
  }
  Deno.mkdirSync(out, { recursive: true });
  const parent = join(REPO, "..");
  let deb = "";
  for (const ext of ["deb", "buildinfo", "changes"]) {
    const name = `jailkit_${version}_${arch}.${ext}`;
    const target = join(out, name);
    try {
      Deno.renameSync(join(parent, name), target);
    } catch (e) {
      if (!(e instanceof Error && "code" in e && e.code === "EXDEV")) throw e;
      Deno.copyFileSync(join(parent, name), target);
      Deno.removeSync(join(parent, name));
    }
    if (ext === "deb") deb = target;
  }
  console.log(deb);
  return 0;
}

if (import.meta.main) Deno.exit(await main());
