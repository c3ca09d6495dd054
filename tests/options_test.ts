/**
 * lib/core/options.ts answers every command line as node:util parseArgs (strict, positionals
 * allowed) did for the administrative tools and the login tools: the same values, positionals
 * and options in order (parseArgs' option tokens), or the same error message, over hand-picked
 * cases and every short command line built from a set of awkward arguments. The same again with
 * positional arguments refused, as the developer scripts ask (tools/options.ts).
 */
import assert from "node:assert/strict";
import { parseArgs } from "node:util";
import { OptionError, parseCommandLine } from "../lib/core/options.ts";

const OPTIONS = {
  jail: { type: "string", short: "j" },
  verbose: { type: "boolean", short: "v" },
  skip: { type: "string", short: "s", multiple: true },
  "dry-run": { type: "boolean", short: "d" },
  json: { type: "boolean" },
  "delete-deprecated": { type: "boolean" },
  "sshd-config": { type: "string" },
  flag: { type: "boolean", short: "f", multiple: true },
  "?": { type: "boolean", short: "?" },
} as const;

type Outcome =
  | { values: Record<string, unknown>; positionals: string[]; given: unknown[] }
  | { error: string };

function theirs(args: string[], allowPositionals: boolean): Outcome {
  try {
    const r = parseArgs({
      args,
      options: OPTIONS,
      allowPositionals,
      strict: true,
      tokens: true,
    });
    const given = r.tokens.flatMap((t) =>
      t.kind === "option" ? [{ name: t.name, value: t.value ?? true }] : []
    );
    return { values: { ...r.values }, positionals: r.positionals, given };
  } catch (e) {
    return { error: (e as Error).message };
  }
}

function ours(args: string[], allowPositionals: boolean): Outcome {
  try {
    const r = parseCommandLine(args, OPTIONS, { allowPositionals });
    return { values: { ...r.values }, positionals: r.positionals, given: r.given };
  } catch (e) {
    assert.ok(e instanceof OptionError, String(e));
    return { error: e.message };
  }
}

const CASES: string[][] = [
  [],
  ["--bogus"],
  ["--bogus=1"],
  ["-Z"],
  ["-vZ"],
  ["-Zv"],
  ["-j"],
  ["--jail"],
  ["--jail", "-v"],
  ["-j", "-v"],
  ["-j", "-"],
  ["--jail", "-"],
  ["--jail", "--", "x"],
  ["--jail=-x"],
  ["-j-x"],
  ["-j=x"],
  ["-jx"],
  ["-vjx"],
  ["-vj", "x"],
  ["-vs"],
  ["-dv", "a", "-v", "b"],
  ["--verbose=yes"],
  ["--json=1"],
  ["--json="],
  ["--jail=", "a"],
  ["--jail=a", "--jail=b"],
  ["-s", "a", "-s", "b", "--skip=c", "-sd"],
  ["-f", "-ff"],
  ["--", "-v", "--jail"],
  ["-", "a"],
  ["---x"],
  ["--=x"],
  ["--no-verbose"],
  ["--j"],
  ["-?"],
  ["-v?"],
  ["--constructor"],
  ["--__proto__"],
  ["-5"],
  ["--sshd-config", "/etc/ssh/sshd_config", "/srv/jail"],
  ["--delete-deprecated", "/usr/", "-d"],
  ["/srv/jail", "-j"],
  ["é", "-é"],
  ["--"],
  ["--", "x"],
  ["x", "--bogus"],
  ["--bogus", "x"],
  ["-j", "x", "y"],
];

for (const allowPositionals of [true, false]) {
  const mode = allowPositionals ? "" : ", positionals refused";

  Deno.test(`options: hand-picked command lines parse as node:util parseArgs does${mode}`, () => {
    for (const args of CASES) {
      assert.deepEqual(
        ours(args, allowPositionals),
        theirs(args, allowPositionals),
        JSON.stringify(args),
      );
    }
  });

  Deno.test(`options: every command line of up to three awkward arguments${mode}`, () => {
    const atoms = [
      "-v",
      "-j",
      "-jx",
      "-vj",
      "--jail",
      "--jail=",
      "-s",
      "--",
      "-",
      "x",
      "-x",
      "-dvs",
    ];
    let n = 0;
    const walk = (args: string[]) => {
      assert.deepEqual(
        ours(args, allowPositionals),
        theirs(args, allowPositionals),
        JSON.stringify(args),
      );
      n++;
      if (args.length === 3) return;
      for (const a of atoms) walk([...args, a]);
    };
    walk([]);
    assert.equal(n, 1 + 12 + 144 + 1728);
  });
}

Deno.test("options: refused positionals name the first one; allowed is the default", () => {
  assert.throws(
    () => parseCommandLine(["-v", "a", "b"], OPTIONS, { allowPositionals: false }),
    new OptionError("Unexpected argument 'a'. This command does not take positional arguments"),
  );
  assert.deepEqual(parseCommandLine(["a"], OPTIONS).positionals, ["a"]);
});
