/**
 * Fuzz target for the ini reader (lib/config/ini.ts) in both dialects, mutated from the bundled
 * data/*.ini files, followed by every typed accessor on every key, as the tools read them.
 */
import { JailkitError } from "../../lib/core/errors.ts";
import {
  iniBool,
  type IniDialect,
  iniEntries,
  iniFloat,
  iniInt,
  iniList,
  iniOctal,
  iniPlainSections,
  iniString,
  parseIni,
} from "../../lib/config/ini.ts";
import type { FuzzTarget } from "./target.ts";
import { chance, expectOnly, int, mutateText, pick, seedText } from "./mutate.ts";

const DATA = new URL("../../data/", import.meta.url).pathname;
const SEEDS: string[] = [...Deno.readDirSync(DATA)]
  .filter((e) => e.isFile && e.name.endsWith(".ini"))
  .map((e) => e.name)
  .sort()
  .map((n) => seedText(DATA + n) ?? "");

const TOKENS = [
  "[",
  "]",
  "[section]",
  "[DEFAULT]",
  "[user bob]",
  "[group staff]",
  "= ",
  ": ",
  "key = value",
  "paths = /usr/bin/*, /etc/[z-a]*",
  "  continued",
  "%(x)s",
  "%%",
  "${x}",
  "#",
  ";",
  "\n\n",
  "\ufeff",
  "yes",
  "0o777",
  "-0",
  "1e400",
  "\\",
];

export const iniTarget: FuzzTarget = {
  name: "ini",
  generate(rng) {
    const dialect: IniDialect = chance(rng, 0.5) ? "python" : "c";
    let text: string;
    if (chance(rng, 0.85)) text = mutateText(rng, pick(rng, SEEDS), TOKENS);
    else {
      text = Array.from(
        { length: int(rng, 30) },
        () => Array.from({ length: 1 + int(rng, 4) }, () => pick(rng, TOKENS)).join(""),
      ).join("\n");
    }
    return { text, dialect };
  },
  run(input) {
    const { text, dialect } = input as { text: string; dialect: IniDialect };
    try {
      const ini = parseIni(text, "fuzz.ini", dialect);
      for (const section of iniPlainSections(ini)) {
        for (const entry of iniEntries(section)) {
          const key = entry.key;
          for (
            const read of [
              () => iniString(section, key),
              () => iniList(section, key),
              () => iniInt(section, key, 0, { min: 0, max: 1000 }),
              () => iniOctal(section, key),
              () => iniFloat(section, key, 1),
              () => iniBool(section, key, false),
            ]
          ) {
            try {
              read();
            } catch (e) {
              expectOnly(e, [JailkitError]);
            }
          }
        }
      }
    } catch (e) {
      expectOnly(e, [JailkitError]);
    }
  },
};
