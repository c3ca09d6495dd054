/**
 * The output sanitiser (lib/core/output.ts): its escape form, and as root the attack it stops —
 * a jailed user's directory whose name carries terminal escapes and a newline followed by a
 * forged `ERROR:` line, printed by root's jk_check and jk_update.
 */
import assert from "node:assert/strict";
import { escapeText, jsonText } from "../lib/core/output.ts";
import {
  DENO,
  REPO_ROOT,
  rootTest,
  runCommand,
  runTool,
  safeTestRoot,
  SYSTEM_PATH,
} from "./helpers.ts";

Deno.test("escapeText: C0, DEL, C1, backslash, bidi, separators, U+FFFD, lone surrogates", () => {
  assert.equal(escapeText("plain /srv/jail é 😀 ok"), "plain /srv/jail é 😀 ok");
  assert.equal(escapeText("a\nb\tc\rd\x00e\x1b[0m\x7f"), "a\\x0ab\\x09c\\x0dd\\x00e\\x1b[0m\\x7f");
  assert.equal(escapeText("\u0080\u009b\u009f\u00a0"), "\\u0080\\u009b\\u009f\u00a0");
  assert.equal(escapeText("back\\slash \\x1b"), "back\\\\slash \\\\x1b");
  assert.equal(
    escapeText("\u202eevil\u2066\u2028\u2029\u200f"),
    "\\u202eevil\\u2066\\u2028\\u2029\\u200f",
  );
  assert.equal(escapeText("bad\ufffdbyte"), "bad\\ufffdbyte");
  assert.equal(escapeText("lone\ud800x\udfff"), "lone\\ud800x\\udfff");
  // Whatever the input, the output is one line of printable characters.
  let all = "";
  for (let c = 0; c < 0x3000; c++) all += String.fromCharCode(c);
  // deno-lint-ignore no-control-regex
  assert.ok(!/[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e]/.test(escapeText(all)));
});

Deno.test("jsonText: exact names survive a round trip, no raw C1 or bidi characters", () => {
  const value = { name: "d_\x1b]2;T\x07\nERROR: forged\u009b\u202e\\", n: 1 };
  const text = jsonText(value);
  assert.deepEqual(JSON.parse(text), value);
  // deno-lint-ignore no-control-regex
  assert.ok(!/[\x00-\x09\x0b-\x1f\x7f-\x9f\u202e]/.test(text), text);
});

/** Raw terminal controls a hostile name could smuggle into root's terminal. */
// deno-lint-ignore no-control-regex
const RAW_CONTROL = /[\x00-\x09\x0b-\x1f\x7f-\x9f]/;

rootTest(
  "jk_check and jk_update print hostile jail names escaped, never a forged line",
  async () => {
    const { dir, cleanup } = safeTestRoot("output-inject");
    try {
      const etc = `${dir}/etc-jailkit`;
      const jail = `${dir}/jail`;
      Deno.mkdirSync(etc, { mode: 0o755 });
      const init = await runTool("jk_init", ["-j", jail, "basicshell"], {
        env: { JAILKIT_ETC: etc },
      });
      assert.equal(init.code, 0, init.stderr);
      Deno.mkdirSync(`${jail}/home/u`, { recursive: true, mode: 0o755 });
      Deno.mkdirSync(`${jail}/tmp`, { recursive: true, mode: 0o755 });
      const names = [
        `${jail}/home/u/d_\x1b]2;T\x07\nERROR: forged`,
        `${jail}/tmp/e_\u009b31m\nWARNING: forged`,
      ];
      for (const n of names) {
        Deno.mkdirSync(n);
        Deno.chmodSync(n, 0o777);
      }
      // A name that is not UTF-8 (bytes ff fe): Deno reads it as U+FFFD U+FFFD.
      const mk = new Deno.Command("/bin/sh", {
        args: ["-c", 'mkdir -m 777 "$1/f_$(printf "\\377\\376")"', "sh", `${jail}/tmp`],
      }).outputSync();
      assert.equal(mk.code, 0, new TextDecoder().decode(mk.stderr));
      const lines = (out: string) => out.split("\n").filter((l) => l !== "");
      const forged = (l: string) => /^(ERROR|WARNING): forged/.test(l);

      Deno.writeTextFileSync(`${etc}/check.ini`, `[${jail}]\n`);
      const check = await runTool("jk_check", ["-c", `${etc}/check.ini`, jail], {
        env: { JAILKIT_ETC: etc },
      });
      const out = check.stdout + check.stderr;
      assert.ok(!RAW_CONTROL.test(out), JSON.stringify(out));
      assert.deepEqual(lines(out).filter(forged), []);
      assert.ok(
        lines(check.stdout).includes(
          `WARNING: ${jail}/home/u/d_\\x1b]2;T\\x07\\x0aERROR: forged/ is writable for others!`,
        ),
        check.stdout,
      );
      assert.ok(
        lines(check.stdout).includes(
          `WARNING: ${jail}/tmp/e_\\u009b31m\\x0aWARNING: forged/ is writable for others!`,
        ),
        check.stdout,
      );
      assert.ok(
        lines(check.stdout).includes(
          `WARNING: ${jail}/tmp/f_\\ufffd\\ufffd has a name that is not valid UTF-8; it was not inspected`,
        ),
        check.stdout,
      );
      const json = await runTool("jk_check", ["--json", "-c", `${etc}/check.ini`, jail], {
        env: { JAILKIT_ETC: etc },
      });
      const doc = JSON.parse(json.stdout) as { findings: { message: string }[] };
      for (const n of names) {
        assert.ok(doc.findings.some((f) => f.message.includes(n)), "JSON keeps the exact name");
      }

      const update = await runTool("jk_update", ["-j", jail, "-d", "/home/", "/tmp/"], {
        env: { JAILKIT_ETC: etc },
      });
      const upd = update.stdout + update.stderr;
      assert.ok(!RAW_CONTROL.test(upd), JSON.stringify(upd));
      assert.deepEqual(lines(upd).filter(forged), []);
      assert.ok(lines(upd).some((l) => l.includes("e_\\u009b31m\\x0aWARNING: forged/")), upd);
    } finally {
      cleanup();
    }
  },
);

Deno.test("LineBatch: stdout lines in blocks, stderr in order between them, escaped alike", () => {
  const script = `
    import { LineBatch } from ${
    JSON.stringify(new URL("../lib/core/output.ts", import.meta.url).href)
  };
    const batch = new LineBatch();
    for (let i = 0; i < 3000; i++) {
      batch.print("stdout", "line " + i + " \\x1b[2J");
      if (i % 1000 === 999) batch.print("stderr", "ERROR: after " + i);
    }
    batch.print("stdout", "last");
    batch.flush();
  `;
  const out = new Deno.Command("sh", {
    args: ["-c", `"$0" run --no-config -A - 2>&1 | cat`, Deno.execPath()],
    stdin: "piped",
    stdout: "piped",
  });
  const child = out.spawn();
  const writer = child.stdin.getWriter();
  writer.write(new TextEncoder().encode(script)).then(() => writer.close());
  return child.output().then(({ success, stdout }) => {
    assert.ok(success);
    const lines = new TextDecoder().decode(stdout).trimEnd().split("\n");
    const expected: string[] = [];
    for (let i = 0; i < 3000; i++) {
      expected.push(`line ${i} \\x1b[2J`);
      if (i % 1000 === 999) expected.push(`ERROR: after ${i}`);
    }
    expected.push("last");
    assert.deepEqual(lines, expected);
  });
});

Deno.test("LineBatch: fewer writes than lines when stdout is not a terminal", () => {
  const dir = Deno.makeTempDirSync();
  try {
    const script = `${dir}/p.ts`;
    Deno.writeTextFileSync(
      script,
      `import { LineBatch } from ${
        JSON.stringify(new URL("../lib/core/output.ts", import.meta.url).href)
      };
      const batch = new LineBatch();
      for (let i = 0; i < 2000; i++) batch.print("stdout", "Copying /usr/lib/x" + i);
      batch.flush();`,
    );
    const strace = new Deno.Command("strace", {
      args: ["-f", "-e", "trace=write", "-o", `${dir}/trace`, Deno.execPath(), "run", "-A", script],
      stdout: "null",
      stderr: "piped",
    }).outputSync();
    assert.ok(strace.success, new TextDecoder().decode(strace.stderr));
    const writes = Deno.readTextFileSync(`${dir}/trace`).split("\n")
      .filter((l) => /write\(1, "Copying/.test(l)).length;
    assert.ok(writes > 0 && writes <= 5, `${writes} writes for 2000 lines`);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

rootTest("a reader that goes away mid-run: jk_init still finishes the jail, exit 0", async () => {
  const { dir, cleanup } = safeTestRoot("output-gone");
  try {
    const jail = `${dir}/jail`;
    // head keeps the first line and closes the pipe; bash reports jk_init's own status.
    const r = await runCommand("bash", {
      args: [
        "-c",
        '"$0" run -A --no-config --quiet "$1" -v -j "$2" extendedshell | head -n 1; ' +
        'exit "${PIPESTATUS[0]}"',
        DENO,
        `${REPO_ROOT}/cli/jk_init.ts`,
        jail,
      ],
      env: { PATH: SYSTEM_PATH, NO_COLOR: "1" },
    });
    assert.equal(r.stdout, `Creating jail ${jail}\n`);
    assert.equal(r.stderr, "");
    assert.equal(r.code, 0);
    const again = await runTool("jk_init", ["-j", jail, "extendedshell"]);
    assert.match(again.stdout, /^Nothing to do: /m, again.stdout + again.stderr);
  } finally {
    cleanup();
  }
});
