/**
 * Fuzz target for the ELF reader (lib/engine/elf.ts): real programs and libraries of this
 * machine and synthetic objects of other classes, byte orders and machines (tests/elf_fixture.ts),
 * mutated mostly in their headers, program headers and dynamic section.
 */
import { JailkitError } from "../../lib/core/errors.ts";
import { bytesReader, parseElf } from "../../lib/engine/elf.ts";
import { buildElf, EM_386, EM_AARCH64, EM_PPC, EM_X86_64 } from "../elf_fixture.ts";
import type { FuzzTarget } from "./target.ts";
import { chance, expectOnly, mutateBytes, pick, randomBytes, seedFile } from "./mutate.ts";

const REAL = [
  "/usr/bin/true",
  "/usr/lib/x86_64-linux-gnu/libdl.so.2",
  "/usr/lib/x86_64-linux-gnu/libutil.so.1",
  "/usr/bin/ls",
].map((p) => seedFile(p, 512 * 1024)).filter((b): b is Uint8Array => b !== undefined);

const SYNTHETIC = [
  buildElf({ needed: ["libc.so.6"], interp: "/lib64/ld-linux-x86-64.so.2", machine: EM_X86_64 }),
  buildElf({
    elfClass: 32,
    machine: EM_386,
    needed: ["libm.so.6", "libc.so.6"],
    rpath: "$ORIGIN/../lib:/opt/x",
    splitLoad: true,
  }),
  buildElf({
    elfClass: 32,
    endian: "big",
    machine: EM_PPC,
    soname: "libx.so.1",
    filters: ["liby.so"],
    auxiliary: ["libz.so"],
  }),
  buildElf({ machine: EM_AARCH64, runpath: "/a:/b", flags1: 0x800, splitLoad: true }),
  buildElf({ noDynamic: true }),
].map((b) => b.bytes);

const SEEDS = [...REAL, ...SYNTHETIC];
const MAGIC = new Uint8Array([0x7f, 0x45, 0x4c, 0x46]);

export const elfTarget: FuzzTarget = {
  name: "elf",
  generate(rng) {
    if (chance(rng, 0.05)) return randomBytes(rng, 256, MAGIC);
    const seed = pick(rng, SEEDS);
    // Most mutations in the first 4 KiB: ELF header, program headers, and for the synthetic
    // objects everything.
    return mutateBytes(rng, seed, 4096);
  },
  run(input) {
    try {
      parseElf(bytesReader(input as Uint8Array), "/fuzz/elf");
    } catch (e) {
      expectOnly(e, [JailkitError]);
    }
  },
};
