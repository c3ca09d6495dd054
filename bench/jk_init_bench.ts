/**
 * jk_init benchmark (run on demand, as root): builds a jail of SECTION with our jk_init (run as
 * the installed tools run it, tools/install.ts's runtime flags) and the bundled profiles, with
 * Debian's jailkit 2.23 and its own profiles when available, and copies our finished on-disk
 * jail with `cp -a` (page cache warm, as jk_init's host files are). Each on disk (under
 * /var/lib) and on a tmpfs mounted for the run under a root-owned 0755 directory. Prints
 * medians of REPEAT runs (wall, CPU, peak RSS) and the ratios to `cp -a` and to jailkit.
 * `deno run -A bench/jk_init_bench.ts [SECTION] [REPEAT]`
 */
import {
  measureMedian,
  ratio,
  referenceTool,
  REPO,
  type Run,
  runRow,
  scratch,
} from "./reference.ts";
import { RUN_FLAGS } from "../lib/core/runtime.ts";

/** The 1, 5 and 15 minute load averages when the table is printed: the machine is shared. */
function loadAverage(): string {
  return Deno.loadavg().map((x) => x.toFixed(2)).join(" ");
}

const section = Deno.args[0] ?? "extendedshell";
const repeat = Number(Deno.args[1] ?? 5);

if (Deno.uid() !== 0) {
  console.error("bench: run as root (jails are made on a root-owned path)");
  Deno.exit(1);
}

function run(cmd: string, args: string[], env: Record<string, string> = {}): void {
  const out = new Deno.Command(cmd, { args, env, stdout: "null", stderr: "piped" }).outputSync();
  if (!out.success) {
    throw new Error(`${cmd} ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
  }
}

/**
 * A jail must not exist before jk_init (it creates it); its parent must. The previous run's tree
 * is moved aside (same filesystem), not removed: ext4 skips inodes freed in the last minute when
 * it allocates new ones, scanning past each, so a run right after deleting a 2,500-file tree
 * costs several times its CPU in the kernel (perf: recently_deleted under ext4_create), which
 * measures the bench, not the tool. The trees are removed after the table. The previous run's
 * writes are flushed first: the disk's writeback otherwise lands in whichever run comes next.
 */
function setAside(path: string, aside: string): () => void {
  let n = 0;
  return () => {
    try {
      Deno.mkdirSync(aside, { recursive: true, mode: 0o755 });
      Deno.renameSync(path, `${aside}/${n++}`);
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
    run("sync", []);
  };
}

const dir = scratch("jk_init");
const tmpfs = `${dir}/tmpfs`;
let mounted = false;
try {
  const env = { JAILKIT_ETC: `${dir}/etc` };
  const ours = (jail: string) => [
    Deno.execPath(),
    "run",
    ...RUN_FLAGS,
    `${REPO}/cli/jk_init.ts`,
    "-j",
    jail,
    section,
  ];
  const ref = referenceTool("jk_init", dir);
  if (!ref) console.log("(Debian's jailkit 2.23 not found at /opt/jailkit-ref: ours only)");
  // The source of every cp -a: our jail on disk, as the host files jk_init copies are.
  const source = `${dir}/source`;
  run(ours(source)[0], ours(source).slice(1), env);
  const du = new Deno.Command("du", { args: ["-sh", source], stdout: "piped" }).outputSync();
  console.log(`${section} jail: ${new TextDecoder().decode(du.stdout).trim()}`);

  Deno.mkdirSync(tmpfs, { mode: 0o755 });
  run("mount", ["-t", "tmpfs", "-o", "mode=0755", "jk_init_bench", tmpfs]);
  mounted = true;

  for (const [where, base] of [["on disk", `${dir}`], ["on tmpfs", tmpfs]]) {
    const mine = `${base}/ours`;
    const theirs = `${base}/theirs`;
    const copy = `${base}/cp-a`;
    const aside = (name: string) => setAside(`${base}/${name}`, `${base}/aside-${name}`);
    const oursRun = measureMedian(repeat, ours(mine), { env, setup: aside("ours") });
    const refRun: Run | undefined = ref
      ? measureMedian(repeat, [...ref, "-j", theirs, section], { env, setup: aside("theirs") })
      : undefined;
    const cpRun = measureMedian(repeat, ["cp", "-a", source, copy], { setup: aside("cp-a") });
    console.log(
      `\njk_init ${section} ${where} (medians of ${repeat}, load average ${loadAverage()})\n`,
    );
    console.log("| run | wall | CPU | peak RSS | ratio |\n|---|---|---|---|---|");
    console.log(runRow("cp -a of our jail", cpRun));
    console.log(runRow("jk_init, ours", oursRun, ratio(oursRun, cpRun, "cp -a's (target ≤ 2)")));
    if (refRun) {
      console.log(runRow("jk_init, jailkit 2.23", refRun, ratio(refRun, oursRun, "ours")));
    }
    for (const name of ["ours", "theirs", "cp-a"]) {
      for (const p of [`${base}/${name}`, `${base}/aside-${name}`]) {
        try {
          Deno.removeSync(p, { recursive: true });
        } catch (e) {
          if (!(e instanceof Deno.errors.NotFound)) throw e;
        }
      }
    }
  }
} finally {
  if (mounted) run("umount", [tmpfs]);
  Deno.removeSync(dir, { recursive: true });
}
