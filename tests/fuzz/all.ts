/** Every fuzz target, for tools/fuzz.ts; tests/fuzz_test.ts and tests/lsh_fuzz_test.ts pick theirs. */
import type { FuzzTarget } from "./target.ts";
import { elfTarget } from "./elf_target.ts";
import { globTarget } from "./glob_target.ts";
import { iniTarget } from "./ini_target.ts";
import { ldcacheTarget } from "./ldcache_target.ts";
import { ldconfTarget } from "./ldconf_target.ts";
import { lshTarget } from "./lsh_target.ts";
import { passwdTarget } from "./passwd_target.ts";
import { socketdTarget } from "./socketd_target.ts";

export const PARSER_TARGETS: readonly FuzzTarget[] = [
  iniTarget,
  elfTarget,
  ldcacheTarget,
  ldconfTarget,
  passwdTarget,
  socketdTarget,
  globTarget,
];

export const ALL_TARGETS: readonly FuzzTarget[] = [...PARSER_TARGETS, lshTarget];
