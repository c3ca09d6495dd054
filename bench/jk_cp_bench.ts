/**
 * jk_cp benchmark (run on demand, as root): copy the same program set into a fresh jail with
 * our jk_cp, with Debian's jailkit jk_cp when available, and with `cp -a` of the finished
 * tree; prints times and ratios. `deno run -A bench/jk_cp_bench.ts [REPEAT]`
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
import { parseToolOptions } from "../tools/options.ts";

const PROGRAMS = ["ssh", "scp", "rsync", "bash", "perl", "python3", "git"];
const { repeat } = parseToolOptions({
  command: "deno run -A bench/jk_cp_bench.ts",
  options: {
    repeat: { type: "number", integer: true, positive: true, positional: true, default: 3 },
  },
});

if (Deno.uid() !== 0) {
  console.error("bench: run as root (jails are made on a root-owned path)");
  Deno.exit(1);
}
const dir = scratch("jk_cp");
try {
  const ours = `${dir}/ours`;
  const timings: Timing[] = [];
  timings.push(timeBest("jk_cp (ours)", repeat, () => freshDir(ours), [
    Deno.execPath(),
    "run",
    "-A",
    "--no-config",
    `${REPO}/cli/jk_cp.ts`,
    "-j",
    ours,
    ...PROGRAMS,
  ]));
  const ref = referenceTool("jk_cp", dir);
  if (ref) {
    const theirs = `${dir}/theirs`;
    timings.push(
      timeBest("jk_cp (jailkit 2.23)", repeat, () => freshDir(theirs), [
        ...ref,
        "-j",
        theirs,
        ...PROGRAMS,
      ]),
    );
  } else {
    console.log(
      "(Debian jailkit not found: install it or extract it to /opt/jailkit-ref to compare)",
    );
  }
  const copy = `${dir}/cp-a`;
  timings.push(timeBest("cp -a of our jail", repeat, () => {
    try {
      Deno.removeSync(copy, { recursive: true });
    } catch { /* first run */ }
  }, ["cp", "-a", ours, copy]));
  const du = new Deno.Command("du", { args: ["-sh", ours], stdout: "piped" }).outputSync();
  console.log(`jail size: ${new TextDecoder().decode(du.stdout).trim()}`);
  printRatios(`jk_cp ${PROGRAMS.join(" ")} (best of ${repeat})`, timings, "cp -a of our jail");
} finally {
  Deno.removeSync(dir, { recursive: true });
}
