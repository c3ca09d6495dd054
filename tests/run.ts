/**
 * The project's test command (`deno task test [FILES…]`): runs `deno test -A`, then refuses a
 * run in which root-only tests were ignored while running as root or under CI=true. A jail tool
 * whose chroot/mknod/sshd tests silently did not run has not been tested.
 *
 * Ends with a plain `tests: N passed, N failed, N skipped` line.
 */
const root = Deno.uid() === 0;
const ci = Deno.env.get("CI") === "true";
const args = Deno.args.length > 0 ? Deno.args : ["tests/"];

if (ci && !root) {
  console.error("tests: CI must run as root (the chroot, mknod and sshd tests need it)");
  Deno.exit(1);
}

const child = new Deno.Command(Deno.execPath(), {
  args: ["test", "-A", "--unstable-net", ...args],
  env: { RUST_BACKTRACE: "0", NO_COLOR: "1" },
  stdout: "piped",
  stderr: "inherit",
}).spawn();

const decoder = new TextDecoder();
let captured = "";
for await (const chunk of child.stdout) {
  const text = decoder.decode(chunk, { stream: true });
  captured += text;
  await Deno.stdout.write(chunk);
}
const status = await child.status;

// "ok | 12 passed (3 steps) | 0 failed | 2 ignored (1s)" or "FAILED | …"
const summary = captured.match(
  /^(?:ok|FAILED) \| (\d+) passed(?: \(\d+ steps?\))? \| (\d+) failed(?: \(\d+ steps?\))?(?: \| (\d+) ignored)?/m,
);
const passed = Number(summary?.[1] ?? 0);
const failed = Number(summary?.[2] ?? 0);
const ignored = Number(summary?.[3] ?? 0);
const rootRan = (captured.match(/^\[root\] .* \.\.\. ok/gm) ?? []).length;

let code = status.code;
if (!summary) {
  console.error("tests: no summary line from deno test");
  code = code || 1;
}
if ((root || ci) && ignored > 0) {
  console.error(
    `tests: ${ignored} test(s) were ignored while running as root: every test must run here`,
  );
  code = code || 1;
}
if (root && args.length === 1 && args[0] === "tests/" && rootRan === 0) {
  console.error("tests: no root-only test ran");
  code = code || 1;
}
if (root) console.log(`tests: ${rootRan} root-only test(s) ran`);
console.log(`tests: ${passed} passed, ${failed} failed, ${ignored} skipped`);
Deno.exit(code);
