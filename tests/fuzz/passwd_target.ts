/**
 * Fuzz target for the passwd and group readers (lib/config/passwd.ts), mutated from this
 * machine's /etc/passwd and /etc/group, followed by the `/./` split of every home.
 */
import { JailkitError } from "../../lib/core/errors.ts";
import { parseGroup, parseJailHome, parsePasswd } from "../../lib/config/passwd.ts";
import type { FuzzTarget } from "./target.ts";
import { chance, expectOnly, int, mutateText, pick, seedText } from "./mutate.ts";

const PASSWD = seedText("/etc/passwd") ?? "root:x:0:0:root:/root:/bin/bash\n";
const GROUP = seedText("/etc/group") ?? "root:x:0:\n";
const TOKENS = [
  ":",
  "::",
  ",",
  "/./",
  "/srv/jail/./home/u",
  "+",
  "-",
  "+@netgroup",
  "4294967294",
  "4294967295",
  "-1",
  "00",
  " 1",
  "x",
  "*",
  "!",
  "",
];

export const passwdTarget: FuzzTarget = {
  name: "passwd",
  generate(rng) {
    const group = chance(rng, 0.4);
    const seed = group ? GROUP : PASSWD;
    const text = chance(rng, 0.9)
      ? mutateText(rng, seed, TOKENS)
      : Array.from({ length: int(rng, 10) }, () =>
        Array.from({ length: int(rng, 9) }, () => pick(rng, TOKENS)).join(":")).join("\n");
    return { text, group };
  },
  run(input) {
    const { text, group } = input as { text: string; group: boolean };
    try {
      if (group) parseGroup(text, "/fuzz/group");
      else {
        for (const e of parsePasswd(text, "/fuzz/passwd").entries) parseJailHome(e.home);
      }
    } catch (e) {
      expectOnly(e, [JailkitError]);
    }
  },
};
