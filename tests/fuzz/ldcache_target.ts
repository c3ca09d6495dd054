/**
 * Fuzz target for the ld.so.cache reader (lib/engine/ldcache.ts): this machine's cache and
 * synthetic caches in the old, new and combined formats of both byte orders, mutated; every
 * parsed cache is also indexed and looked up, as the resolver uses it.
 */
import { JailkitError } from "../../lib/core/errors.ts";
import { LdCacheIndex, parseLdCache } from "../../lib/engine/ldcache.ts";
import { buildLdCache } from "../elf_fixture.ts";
import type { FuzzTarget } from "./target.ts";
import { chance, expectOnly, mutateBytes, pick, randomBytes, seedFile } from "./mutate.ts";

const entries = [
  { flags: 0x0303, name: "libc.so.6", path: "/lib/x86_64-linux-gnu/libc.so.6" },
  { flags: 0x0303, name: "libm.so.6", path: "/lib/x86_64-linux-gnu/libm.so.6", hwcapsIndex: 0 },
  { flags: 0x0003, name: "libx.so", path: "/usr/lib/libx.so" },
];
const SEEDS = [
  seedFile("/etc/ld.so.cache"),
  buildLdCache(entries, { format: "new", hwcaps: ["x86-64-v3"] }),
  buildLdCache(entries, { format: "old" }),
  buildLdCache(entries, { format: "old+new", endian: "big", align: 4 }),
].filter((b): b is Uint8Array => b !== undefined);

const MAGIC = new TextEncoder().encode("glibc-ld.so.cache1.1");
const ABIS = [
  { elfClass: 64, endian: "little", machine: 62, flags: 0 },
  { elfClass: 32, endian: "little", machine: 3, flags: 0 },
  { elfClass: 64, endian: "big", machine: 21, flags: 0 },
] as const;

export const ldcacheTarget: FuzzTarget = {
  name: "ldcache",
  generate(rng) {
    if (chance(rng, 0.05)) return randomBytes(rng, 512, MAGIC);
    const seed = pick(rng, SEEDS);
    // Headers and the first table entries carry the counts and offsets.
    return mutateBytes(rng, seed, 1024);
  },
  run(input) {
    try {
      const cache = parseLdCache(input as Uint8Array, "/fuzz/ld.so.cache");
      const index = new LdCacheIndex(cache);
      for (const name of ["libc.so.6", "libm.so.6", "libx.so", ""]) {
        for (const abi of ABIS) index.lookup(name, abi);
      }
    } catch (e) {
      expectOnly(e, [JailkitError]);
    }
  },
};
