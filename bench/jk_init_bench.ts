/**
 * jk_init benchmark (run on demand, as root): builds a jail of SECTION with our jk_init (run as
 * the installed tools run it, tools/install.ts's runtime flags) and the bundled profiles, with
 * Debian's jailkit 2.23 and its own profiles when available, and copies our finished on-disk
 * jail with `cp -a` (page cache warm, as jk_init's host files are). Three places: the disk
 * under /var/lib, a fresh ext4 file system made for the run (a loop-mounted sparse image:
 * nothing deleted on it yet, where `cp -a` is at its fastest), and a tmpfs; each under a
 * root-owned 0755 directory. The commands take turns, REPEAT rounds after a warm-up; prints
 * medians (wall, CPU, peak RSS) and the ratios to `cp -a` and to jailkit.
 * `deno run -A bench/jk_init_bench.ts [SECTION] [REPEAT]`
 */
import {
  type Contender,
  measureInterleaved,
  ratio,
  referenceTool,
  REPO,
  runRow,
  scratch,
} from "./reference.ts";
import { RUN_FLAGS } from "../lib/core/runtime.ts";
import { parseToolOptions } from "../tools/options.ts";

/** The 1, 5 and 15 minute load averages when the table is printed: the machine is shared. */
function loadAverage(): string {
  return Deno.loadavg().map((x) => x.toFixed(2)).join(" ");
}

const { section, repeat } = parseToolOptions({
  command: "deno run -A bench/jk_init_bench.ts",
  options: {
    section: { type: "string", positional: true, default: "extendedshell" },
    repeat: { type: "number", integer: true, positive: true, positional: true, default: 5 },
  },
});

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
const mounts: string[] = [];
/** A mount for the run at `dir/name` (made 0755, root's). */
function mountFor(name: string, args: string[]): string {
  const at = `${dir}/${name}`;
  Deno.mkdirSync(at, { mode: 0o755 });
  run("mount", [...args, at]);
  mounts.push(at);
  Deno.chmodSync(at, 0o755);
  return at;
}
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

  // Inode tables and journal written at mkfs, not by a kernel thread during the runs.
  const image = `${dir}/ext4.img`;
  run("truncate", ["-s", "8G", image]);
  run("mkfs.ext4", ["-q", "-F", "-E", "lazy_itable_init=0,lazy_journal_init=0", image]);
  const places: [string, string][] = [
    ["on disk", dir],
    ["on a fresh ext4", mountFor("ext4", ["-o", "loop", image])],
    ["on tmpfs", mountFor("tmpfs", ["-t", "tmpfs", "-o", "mode=0755", "jk_init_bench"])],
  ];

  for (const [where, base] of places) {
    const aside = (name: string) => setAside(`${base}/${name}`, `${base}/aside-${name}`);
    const contenders: Contender[] = [
      { argv: ours(`${base}/ours`), env, setup: aside("ours") },
      { argv: ["cp", "-a", source, `${base}/cp-a`], setup: aside("cp-a") },
    ];
    if (ref) {
      contenders.push({
        argv: [...ref, "-j", `${base}/theirs`, section],
        env,
        setup: aside("theirs"),
      });
    }
    const [oursRun, cpRun, refRun] = measureInterleaved(repeat, contenders);
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
  for (const m of mounts.reverse()) run("umount", [m]);
  Deno.removeSync(dir, { recursive: true });
}
