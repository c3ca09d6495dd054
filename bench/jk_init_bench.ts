/**
 * jk_init benchmark (run on demand, as root): build an `extendedshell` jail with our jk_init
 * and the bundled profiles, with Debian's jailkit 2.23 and its own profiles when available,
 * and copy our finished tree with `cp -a`; prints times and ratios.
 * `deno run -A bench/jk_init_bench.ts [SECTION] [REPEAT]`
 */
import {
  freshDir,
  printRatios,
  referenceTool,
  REPO,
  scratch,
  timeBest,
  type Timing,
} from "./reference.ts";

const section = Deno.args[0] ?? "extendedshell";
const repeat = Number(Deno.args[1] ?? 3);

if (Deno.uid() !== 0) {
  console.error("bench: run as root (jails are made on a root-owned path)");
  Deno.exit(1);
}
const dir = scratch("jk_init");
// A jail must not exist before jk_init (it creates it); its parent must.
const fresh = (jail: string) => () => {
  freshDir(jail);
  Deno.removeSync(jail);
};
try {
  const timings: Timing[] = [];
  const ours = `${dir}/ours`;
  const env = {
    JAILKIT_ETC: `${dir}/etc`,
    PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
  };
  timings.push(timeBest("jk_init (ours)", repeat, fresh(ours), [
    Deno.execPath(),
    "run",
    "-A",
    "--no-config",
    `${REPO}/cli/jk_init.ts`,
    "-j",
    ours,
    section,
  ], env));
  const ref = referenceTool("jk_init", dir);
  if (ref) {
    const theirs = `${dir}/theirs`;
    timings.push(
      timeBest(
        "jk_init (jailkit 2.23)",
        repeat,
        fresh(theirs),
        [...ref, "-j", theirs, section],
        env,
      ),
    );
  } else {
    console.log(
      "(Debian jailkit not found: install it or extract it to /opt/jailkit-ref to compare)",
    );
  }
  const copy = `${dir}/cp-a`;
  timings.push(timeBest("cp -a of our jail", repeat, fresh(copy), ["cp", "-a", `${ours}/.`, copy]));
  const du = new Deno.Command("du", { args: ["-sh", ours], stdout: "piped" }).outputSync();
  console.log(`jail size: ${new TextDecoder().decode(du.stdout).trim()}`);
  printRatios(`jk_init ${section} (best of ${repeat})`, timings, "cp -a of our jail");
} finally {
  Deno.removeSync(dir, { recursive: true });
}
