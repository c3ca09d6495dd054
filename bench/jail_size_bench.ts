/**
 * Jail sizes (run on demand, as root): the bytes (`du -sb`) and entries (`find | wc -l`) of a
 * jail made by `jk_init -j JAIL SECTIONS` for a few section lists, with our installed tools and
 * with Debian's jailkit 2.23 (when /opt/jailkit-ref or JAILKIT_REF holds the extracted
 * package; its Python jk_init runs with its own jk_init.ini, as tests/helpers.ts does, and its
 * jk_lsh is laid over /usr/sbin for the [jk_lsh] section). No hard links (-k) on either side.
 * Next to each copied jail, the thin jail `jk_init --thin` makes from the same sections
 * (jk_init(8), THIN JAILS): what it holds on disk, the host's /usr being bound at login.
 *
 * `deno run -A bench/jail_size_bench.ts`
 *
 * Everything happens in a private mount namespace (tests/namespace.ts): /etc is an overlay, so
 * the tools' edits of jk_socketd.ini, fstab and friends never reach the host.
 */
import { REPO, scratch } from "./reference.ts";
import { TestNamespace } from "../tests/namespace.ts";
import { parseToolOptions } from "../tools/options.ts";

const REF = Deno.env.get("JAILKIT_REF") ?? "/opt/jailkit-ref";

// No options: --help and stray arguments stop here, not after a full run.
parseToolOptions({ command: "deno run -A bench/jail_size_bench.ts", options: {} });

const CASES: readonly string[][] = [
  ["uidbasics", "logbasics"],
  ["jk_lsh"],
  ["jk_lsh", "sftp", "scp", "rsync"],
  ["jk_lsh", "sftp", "scp", "rsync", "basicshell"],
  ["basicshell"],
  ["jk_lsh_standalone"],
];

if (Deno.uid() !== 0) {
  console.error("bench: run as root");
  Deno.exit(1);
}

function hasReference(): boolean {
  try {
    return Deno.statSync(`${REF}/usr/sbin/jk_init`).isFile;
  } catch {
    return false;
  }
}

const dir = scratch("jailsize");
const ns = await TestNamespace.create(dir);
try {
  const prefix = `${dir}/usr`;
  await ns.must(`cd ${REPO} && ${Deno.execPath()} run -A tools/install.ts --prefix ${prefix}`);
  let refInit: string | undefined;
  if (hasReference()) {
    refInit = `${dir}/ref-jk_init`;
    Deno.writeTextFileSync(
      refInit,
      Deno.readTextFileSync(`${REF}/usr/sbin/jk_init`)
        .replace("LIBDIR='/usr/share/jailkit'", `LIBDIR='${REF}/usr/share/jailkit'`),
    );
    // jailkit's [jk_lsh] copies /usr/sbin/jk_lsh: its own, laid over the host's /usr/sbin.
    for (const d of ["sbin-up", "sbin-work"]) Deno.mkdirSync(`${dir}/${d}`, { mode: 0o755 });
    Deno.copyFileSync(`${REF}/usr/sbin/jk_lsh`, `${dir}/sbin-up/jk_lsh`);
    await ns.must(
      `mount -t overlay overlay -o lowerdir=/usr/sbin,upperdir=${dir}/sbin-up,` +
        `workdir=${dir}/sbin-work /usr/sbin`,
    );
  } else {
    console.log(`(Debian jailkit not found at ${REF}: our sizes only)`);
  }

  const measure = async (jail: string) => {
    const out = (await ns.must(`du -sbx ${jail} | cut -f1; find ${jail} -xdev | wc -l`)).stdout;
    const [bytes, files] = out.trim().split("\n").map(Number);
    return { bytes, files };
  };
  const rows: string[][] = [];
  for (const [i, sections] of CASES.entries()) {
    const ours = `${dir}/ours-${i}`;
    await ns.must(`${prefix}/sbin/jk_init -j ${ours} ${sections.join(" ")} > /dev/null`);
    const o = await measure(ours);
    const thin = `${dir}/thin-${i}`;
    await ns.must(`${prefix}/sbin/jk_init --thin -j ${thin} ${sections.join(" ")} > /dev/null`);
    const t = await measure(thin);
    let ref = "—";
    if (refInit && !sections.includes("jk_lsh_standalone")) {
      const jail = `${dir}/ref-${i}`;
      await ns.must(
        `python3 ${refInit} -c ${REF}/etc/jailkit/jk_init.ini -j ${jail} ${sections.join(" ")} ` +
          `> /dev/null 2>&1 || true`,
      );
      const r = await measure(jail);
      ref = `${(r.bytes / 1e6).toFixed(2)} MB, ${r.files} entries`;
    }
    rows.push([
      sections.join(" "),
      `${(o.bytes / 1e6).toFixed(2)} MB, ${o.files} entries`,
      `${(t.bytes / 1e6).toFixed(2)} MB, ${t.files} entries`,
      ref,
    ]);
  }
  const widths = [36, 24, 24, 24];
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(" | ")} |`;
  console.log(
    `\njk_init -j JAIL SECTIONS (du -sbx, find -xdev | wc -l: a mounted /proc not counted)\n`,
  );
  console.log(line(["sections", "jailkit-deno", "jailkit-deno --thin", "jailkit 2.23"]));
  console.log(line(widths.map((w) => "-".repeat(w))));
  for (const r of rows) console.log(line(r));
  console.log(
    `\n--thin: installed under ${prefix}, outside the bind roots, so the thin jails hold a copy ` +
      `of jk_lsh's entry point; installed under /usr it is seen through the bind.`,
  );
} finally {
  await ns.close();
  Deno.removeSync(dir, { recursive: true });
}
