/**
 * Fuzz target for the ld.so.conf reader (lib/engine/ldconf.ts), which is documented never to
 * throw: small trees of configuration files written to a temporary root, mutated from this
 * machine's /etc/ld.so.conf and /etc/ld.so.conf.d, with includes under many spellings, cycles,
 * symlinks and hostile glob patterns.
 */
import { readLdSoConf } from "../../lib/engine/ldconf.ts";
import type { FuzzTarget } from "./target.ts";
import { chance, int, mutateText, pick, type Rng, seedText } from "./mutate.ts";

const FILES = [
  "/etc/ld.so.conf",
  "/etc/ld.so.conf.d/a.conf",
  "/etc/ld.so.conf.d/b.conf",
  "/etc/x.conf",
  "/etc/sub/y.conf",
];
const realConf: string[] = [seedText("/etc/ld.so.conf") ?? "include /etc/ld.so.conf.d/*.conf\n"];
try {
  for (const e of Deno.readDirSync("/etc/ld.so.conf.d")) {
    const t = seedText(`/etc/ld.so.conf.d/${e.name}`);
    if (t !== undefined) realConf.push(t);
  }
} catch {
  // no ld.so.conf.d on this machine
}
realConf.sort();

const SPELLINGS = [
  "/etc/ld.so.conf",
  "/./etc/ld.so.conf",
  "//etc/ld.so.conf",
  "/etc/../etc/ld.so.conf",
  "/etc/link.conf",
  "ld.so.conf",
  "../etc/x.conf",
  "x.conf",
  "sub/*.conf",
  "/etc/ld.so.conf.d/*.conf",
  "/etc/ld.so.conf.d/[z-a]*.conf",
  "/etc/*/*",
  "/e?c/[!.]*.conf",
  "/etc/ld.so.conf.d/[",
  "/etc/ld.so.conf.d/*a*a*a*a*a*a*a*a*ab",
  "/proc/self/fd/0",
  "/dev/zero",
];

function line(rng: Rng): string {
  switch (int(rng, 5)) {
    case 0:
    case 1:
      return "include " +
        Array.from({ length: 1 + int(rng, 3) }, () => pick(rng, SPELLINGS)).join(" ");
    case 2:
      return pick(rng, ["/usr/local/lib", "/opt/lib/", "/x=libc5", "rel/dir", "/a b"]);
    case 3:
      return pick(rng, ["hwcap 1 nosegneg", "# comment", "", "include", "include   "]);
    default:
      return pick(rng, realConf).split("\n")[0];
  }
}

/** tmpfs when there is one: each input is a few files written, read and removed. */
const TMP = (() => {
  try {
    return Deno.statSync("/dev/shm").isDirectory ? "/dev/shm" : undefined;
  } catch {
    return undefined;
  }
})();

interface Input {
  files: [string, string][];
  links: [string, string][];
}

export const ldconfTarget: FuzzTarget = {
  name: "ldconf",
  generate(rng): Input {
    const files: [string, string][] = [];
    for (const path of FILES) {
      if (path !== "/etc/ld.so.conf" && chance(rng, 0.3)) continue;
      const text = chance(rng, 0.5)
        ? Array.from({ length: int(rng, 12) }, () => line(rng)).join("\n")
        : mutateText(rng, pick(rng, realConf), SPELLINGS.map((s) => `include ${s}\n`));
      files.push([path, text]);
    }
    const links: [string, string][] = [];
    if (chance(rng, 0.5)) links.push(["/etc/link.conf", pick(rng, ["ld.so.conf", "/etc/x.conf"])]);
    if (chance(rng, 0.2)) links.push(["/etc/ld.so.conf.d/loop.conf", "loop.conf"]);
    if (chance(rng, 0.2)) links.push(["/etc/ld.so.conf.d/up.conf", "../ld.so.conf"]);
    return { files, links };
  },
  run(input) {
    const { files, links } = input as Input;
    const root = Deno.makeTempDirSync({ dir: TMP, prefix: "jk-fuzz-ldconf-" });
    try {
      for (const dir of ["/etc/ld.so.conf.d", "/etc/sub"]) {
        Deno.mkdirSync(root + dir, { recursive: true });
      }
      for (const [path, text] of files) Deno.writeTextFileSync(root + path, text);
      for (const [path, target] of links) Deno.symlinkSync(target, root + path);
      const r = readLdSoConf("/etc/ld.so.conf", { root });
      for (const d of r.dirs) {
        if (!d.startsWith("/")) throw new Error(`relative directory ${JSON.stringify(d)}`);
      }
    } finally {
      Deno.removeSync(root, { recursive: true });
    }
  },
};
