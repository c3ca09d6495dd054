/**
 * jk_check and jk_update -d benchmark (run on demand, as root): builds an
 * extendedshell + netutils + editors jail with our jk_init, then times, in one run, on the same
 * jail with a warm page cache:
 * - `jk_update -d` (nothing to do), ours against Debian's jailkit 2.23;
 * - our `jk_check` (every byte of every compared file) against jailkit's `jk_update -d` (which
 *   also reads every byte) and jailkit's `jk_check` (one random KiB per file);
 * - the peak RSS of each (`/usr/bin/time -f %M`), then again with a 2 GiB sparse file in the
 *   jail and the same file on the host, so both tools stream it.
 * Medians of REPEAT runs. `deno run -A bench/check_bench.ts [REPEAT]`
 */
import {
  measureMedian,
  ratio,
  referenceTool,
  REPO,
  type Run,
  runRow as row,
  scratch,
} from "./reference.ts";
import { RUN_FLAGS } from "../lib/core/runtime.ts";
import { parseToolOptions } from "../tools/options.ts";

/** The 1, 5 and 15 minute load averages when the table is printed: the machine is shared. */
function loadAverage(): string {
  return Deno.loadavg().map((x) => x.toFixed(2)).join(" ");
}

const { repeat } = parseToolOptions({
  command: "deno run -A bench/check_bench.ts",
  options: {
    repeat: { type: "number", integer: true, positive: true, positional: true, default: 5 },
  },
});
const SECTIONS = ["extendedshell", "netutils", "editors"];
const BIG = 2 * 1024 * 1024 * 1024;

if (Deno.uid() !== 0) {
  console.error("bench: run as root (jails are made on a root-owned path)");
  Deno.exit(1);
}

function countEntries(dir: string): number {
  let n = 0;
  for (const e of Deno.readDirSync(dir)) {
    n++;
    if (e.isDirectory && !e.isSymlink) n += countEntries(`${dir}/${e.name}`);
  }
  return n;
}

const dir = scratch("check");
const jail = `${dir}/jail`;
const etc = `${dir}/etc`;
Deno.mkdirSync(etc);
const emptyIni = `${etc}/jk_check.ini`;
Deno.writeTextFileSync(emptyIni, "");
// The big file sits at the same path on the host and in the jail (/opt is scanned by both
// jk_update and jk_check); the host copy is removed at the end.
const bigDir = `/opt/jk-check-bench-${Deno.pid}`;
// As the installed tools run (tools/install.ts): the same runtime flags.
const ours = (tool: string) => [Deno.execPath(), "run", ...RUN_FLAGS, `${REPO}/cli/${tool}.ts`];
try {
  const init = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--no-config", `${REPO}/cli/jk_init.ts`, "-j", jail, ...SECTIONS],
    env: { PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", JAILKIT_ETC: etc },
    stdout: "null",
    stderr: "piped",
  }).outputSync();
  if (!init.success) throw new Error(`jk_init: ${new TextDecoder().decode(init.stderr)}`);
  console.log(`jail ${jail}: ${SECTIONS.join(" + ")}, ${countEntries(jail)} entries`);

  const refUpdate = referenceTool("jk_update", dir);
  const refCheck = referenceTool("jk_check", dir);
  if (!refUpdate || !refCheck) {
    console.log("Debian's jailkit 2.23 not found (/opt/jailkit-ref or JAILKIT_REF): ours only");
  }
  const refIni = `${dir}/ref-check.ini`;
  Deno.writeTextFileSync(refIni, `[${jail}]\n`);
  const ourEnv = { JAILKIT_ETC: etc };

  const table = (title: string) => {
    const measure = (argv: string[], ok: number[], env: Record<string, string> = {}): Run =>
      measureMedian(repeat, argv, { ok, env });
    const updOurs = measure([...ours("jk_update"), "-j", jail, "-d"], [0], ourEnv);
    const chkOurs = measure([...ours("jk_check"), "-c", emptyIni, jail], [0, 2], ourEnv);
    const updRef = refUpdate ? measure([...refUpdate, "-j", jail, "-d"], [0]) : undefined;
    const chkRef = refCheck ? measure([...refCheck, "-c", refIni], [0]) : undefined;
    console.log(`\n${title} (medians of ${repeat}, load average ${loadAverage()})\n`);
    console.log("| run | wall | CPU | peak RSS | speed-up over |\n|---|---|---|---|---|");
    console.log(row("jk_update -d, ours", updOurs, updRef && ratio(updRef, updOurs, "jailkit's")));
    if (updRef) console.log(row("jk_update -d, jailkit 2.23", updRef));
    console.log(row(
      "jk_check (whole files), ours",
      chkOurs,
      updRef && ratio(updRef, chkOurs, "jailkit's jk_update -d"),
    ));
    if (chkRef) console.log(row("jk_check (1 KiB per file), jailkit 2.23", chkRef));
  };

  table("Fresh jail");

  Deno.mkdirSync(bigDir, { mode: 0o755 });
  // Sparse on both sides: reading 2 GiB of holes costs memory bandwidth, not disk.
  for (const d of [`${bigDir}`, `${jail}${bigDir}`]) {
    Deno.mkdirSync(d, { recursive: true, mode: 0o755 });
    const f = Deno.openSync(`${d}/big.bin`, { create: true, write: true });
    f.truncateSync(BIG);
    f.close();
    Deno.utimeSync(`${d}/big.bin`, 1_700_000_000, 1_700_000_000);
  }
  table(`With a 2 GiB file at ${bigDir}/big.bin on the host and in the jail`);
} finally {
  for (const d of [bigDir, dir]) {
    try {
      Deno.removeSync(d, { recursive: true });
    } catch { /* never made */ }
  }
}
