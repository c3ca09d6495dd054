/**
 * tools/options.ts, the developer scripts' command lines: typed values and defaults, numbers
 * refused with the option and the value named, unknown options and stray arguments refused,
 * the usage line. Then every script that uses it, run as a process with a bad option (exit 2,
 * `ERROR:` and the usage line, nothing done) and with --help (exit 0), and tools/fuzz.ts's
 * other refusals.
 */
import assert from "node:assert/strict";
import { OptionError } from "../lib/core/options.ts";
import { readToolOptions, usageLine } from "../tools/options.ts";
import { DENO, REPO_ROOT } from "./helpers.ts";

const SOCKETD_BENCH = {
  command: "deno run -A bench/x_bench.ts",
  options: {
    repeat: { type: "number", integer: true, positive: true, default: 3 },
    checkout: { type: "string", arg: "DIR" },
    target: { type: "string", arg: "NAME", multiple: true },
    seconds: { type: "number", positive: true, default: 60 },
    seed: { type: "number", arg: "S", integer: true },
    offset: { type: "number" },
    dry: { type: "boolean" },
  },
} as const;

const INIT_BENCH = {
  command: "deno run -A bench/y_bench.ts",
  options: {
    section: { type: "string", positional: true, default: "extendedshell" },
    repeat: { type: "number", integer: true, positive: true, positional: true, default: 5 },
  },
} as const;

function refusal(args: string[], command: Parameters<typeof readToolOptions>[1]): string {
  try {
    readToolOptions(args, command);
  } catch (e) {
    assert.ok(e instanceof OptionError, String(e));
    return e.message;
  }
  assert.fail(`${JSON.stringify(args)} was accepted`);
}

Deno.test("tool options: defaults when nothing is given", () => {
  assert.deepEqual(readToolOptions([], SOCKETD_BENCH), {
    repeat: 3,
    checkout: undefined,
    target: undefined,
    seconds: 60,
    seed: undefined,
    offset: undefined,
    dry: false,
  });
  assert.deepEqual(readToolOptions([], INIT_BENCH), { section: "extendedshell", repeat: 5 });
});

Deno.test("tool options: given values, typed", () => {
  assert.deepEqual(
    readToolOptions(
      [
        "--repeat",
        "7",
        "--checkout=/srv/old",
        "--target",
        "ini",
        "--target=elf",
        "--seconds",
        "0.5",
        "--seed=-12",
        "--offset",
        "1e3",
        "--dry",
      ],
      SOCKETD_BENCH,
    ),
    {
      repeat: 7,
      checkout: "/srv/old",
      target: ["ini", "elf"],
      seconds: 0.5,
      seed: -12,
      offset: 1000,
      dry: true,
    },
  );
  assert.deepEqual(readToolOptions(["basicshell"], INIT_BENCH), {
    section: "basicshell",
    repeat: 5,
  });
  assert.deepEqual(readToolOptions(["basicshell", "2"], INIT_BENCH), {
    section: "basicshell",
    repeat: 2,
  });
});

Deno.test("tool options: a bad number names the option and the value", () => {
  const cases: [string[], string][] = [
    [["--repeat", "abc"], `--repeat expects a positive integer, not "abc"`],
    [["--repeat="], `--repeat expects a positive integer, not ""`],
    [["--repeat", "2.5"], `--repeat expects a positive integer, not "2.5"`],
    [["--repeat", "0"], `--repeat expects a positive integer, not "0"`],
    [["--repeat", " 4"], `--repeat expects a positive integer, not " 4"`],
    [["--repeat", "0x10"], `--repeat expects a positive integer, not "0x10"`],
    [["--repeat", "1e400"], `--repeat expects a positive integer, not "1e400"`],
    [["--seconds=-1"], `--seconds expects a positive number, not "-1"`],
    [["--seconds", "Infinity"], `--seconds expects a positive number, not "Infinity"`],
    [["--seed", "1.5"], `--seed expects an integer, not "1.5"`],
    [["--seed", "9007199254740993"], `--seed expects an integer, not "9007199254740993"`],
    [["--offset", "NaN"], `--offset expects a number, not "NaN"`],
  ];
  for (const [args, message] of cases) assert.equal(refusal(args, SOCKETD_BENCH), message);
  assert.equal(
    refusal(["basicshell", "abc"], INIT_BENCH),
    `REPEAT expects a positive integer, not "abc"`,
  );
});

Deno.test("tool options: unknown options and missing values are refused", () => {
  assert.equal(refusal(["--bogus"], SOCKETD_BENCH), "Unknown option '--bogus'");
  assert.equal(refusal(["-r", "3"], SOCKETD_BENCH), "Unknown option '-r'");
  assert.equal(refusal(["--repeat"], SOCKETD_BENCH), "Option '--repeat <value>' argument missing");
  assert.equal(
    refusal(["--dry=yes"], SOCKETD_BENCH),
    "Option '--dry' does not take an argument",
  );
  // A positional option is an argument only, not an option as well.
  assert.match(refusal(["--repeat", "3"], INIT_BENCH), /^Unknown option '--repeat'/);
});

Deno.test("tool options: positional arguments are refused unless declared", () => {
  const none = "This command does not take positional arguments";
  assert.equal(refusal(["5"], SOCKETD_BENCH), `Unexpected argument '5'. ${none}`);
  assert.equal(refusal(["--", "x"], SOCKETD_BENCH), `Unexpected argument 'x'. ${none}`);
  assert.equal(
    refusal(["--repeat", "5", "extra"], SOCKETD_BENCH),
    `Unexpected argument 'extra'. ${none}`,
  );
  assert.equal(
    refusal(["basicshell", "2", "3"], INIT_BENCH),
    "Unexpected argument '3'. This command takes no arguments but SECTION REPEAT",
  );
});

Deno.test("tool options: --help and -h, whatever else is given", () => {
  assert.equal(readToolOptions(["--help"], SOCKETD_BENCH), "help");
  assert.equal(readToolOptions(["--repeat", "abc", "-h"], SOCKETD_BENCH), "help");
  assert.equal(readToolOptions(["x", "--help"], INIT_BENCH), "help");
});

Deno.test("tool options: the usage line lists every option", () => {
  assert.equal(
    usageLine(SOCKETD_BENCH),
    "Usage: deno run -A bench/x_bench.ts [--repeat N] [--checkout DIR] [--target NAME]... " +
      "[--seconds N] [--seed S] [--offset N] [--dry]",
  );
  assert.equal(usageLine(INIT_BENCH), "Usage: deno run -A bench/y_bench.ts [SECTION] [REPEAT]");
});

// ---------------------------------------------------------------------------------------------
// The scripts themselves

function run(script: string, args: string[]) {
  const r = new Deno.Command(DENO, {
    args: ["run", "-A", "--unstable-net", script, ...args],
    cwd: REPO_ROOT,
    stdout: "piped",
    stderr: "piped",
  }).outputSync();
  const decoder = new TextDecoder();
  return { code: r.code, stdout: decoder.decode(r.stdout), stderr: decoder.decode(r.stderr) };
}

/**
 * Every bench/*_bench.ts and the tools that take options. A bench must call parseToolOptions:
 * one that did not would run in full here, as root.
 */
function scripts(): string[] {
  const benches = [...Deno.readDirSync(`${REPO_ROOT}/bench`)]
    .map((e) => e.name)
    .filter((n) => n.endsWith("_bench.ts"))
    .sort()
    .map((n) => `bench/${n}`);
  for (const b of benches) {
    assert.match(Deno.readTextFileSync(`${REPO_ROOT}/${b}`), /\bparseToolOptions\(/, b);
  }
  return [
    "tools/install.ts",
    "tools/deb.ts",
    "tools/fuzz.ts",
    "tools/check_imports.ts",
    ...benches,
  ];
}

Deno.test("tool options: every script refuses a bad option with exit 2, before doing anything", () => {
  for (const script of scripts()) {
    const r = run(script, ["--bogus"]);
    assert.equal(r.code, 2, `${script}: ${r.stderr}`);
    assert.equal(r.stdout, "", script);
    assert.match(r.stderr, /^ERROR: Unknown option '--bogus'.*\nUsage: \S/, script);
  }
});

Deno.test("tool options: every script prints its usage on --help and exits 0", () => {
  for (const script of scripts()) {
    const r = run(script, ["--help"]);
    assert.equal(r.code, 0, `${script}: ${r.stderr}`);
    assert.match(r.stdout, /^Usage: deno /, script);
    assert.equal(r.stderr, "", script);
  }
});

Deno.test("tool options: a bench's bad number and extra argument are refused", () => {
  const socketd = run("bench/socketd_bench.ts", ["--repeat", "abc"]);
  assert.equal(socketd.code, 2, socketd.stderr);
  assert.equal(
    socketd.stderr,
    `ERROR: --repeat expects a positive integer, not "abc"\n` +
      "Usage: deno run -A --unstable-net bench/socketd_bench.ts [--repeat N] [--burst N] " +
      "[--checkout DIR]\n",
  );
  const init = run("bench/jk_init_bench.ts", ["extendedshell", "5", "6"]);
  assert.equal(init.code, 2, init.stderr);
  assert.match(init.stderr, /^ERROR: Unexpected argument '6'\. .* SECTION REPEAT\n/);
});

Deno.test("tool options: tools/fuzz.ts refuses an unknown target and a bad number with ERROR:", () => {
  const target = run("tools/fuzz.ts", ["--target", "nosuch", "--seconds", "1"]);
  assert.equal(target.code, 2, target.stderr);
  assert.match(target.stderr, /^ERROR: unknown target nosuch; targets: \S/);
  const bound = run("tools/fuzz.ts", ["--bound", "0"]);
  assert.equal(bound.code, 2, bound.stderr);
  assert.match(bound.stderr, /^ERROR: --bound expects a positive number, not "0"\n/);
});
