import assert from "node:assert/strict";
import { JailkitError } from "../lib/core/errors.ts";
import {
  commandLineSocket,
  emptyRootProblem,
  initialRateState,
  listeningMessage,
  type Lstat,
  MAX_SOCKETS,
  type NodeInfo,
  parsePhase,
  parseSocketdConfig,
  planSocket,
  type Rates,
  type RateState,
  rateStep,
  rateWarning,
  type SocketPlan,
  startupMappings,
  validateRates,
} from "../lib/socketd/rules.ts";

function assertThrowsJailkit(fn: () => unknown): JailkitError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof JailkitError, `expected a JailkitError, got ${e}`);
    return e;
  }
  assert.fail("expected a JailkitError, nothing was thrown");
}

/** The reason of a refused plan (fails the test when the plan was accepted). */
function refusal(plan: SocketPlan): string {
  if (plan.ok) assert.fail(`expected a refusal, got ${JSON.stringify(plan)}`);
  return plan.reason;
}

const INI = "/etc/jailkit/jk_socketd.ini";

Deno.test("validateRates: absent values take the defaults, silently", () => {
  const { rates, notices } = validateRates({}, (k) => k);
  assert.deepEqual(rates, { base: 511, peak: 2048, interval: 5 });
  assert.deepEqual(notices, []);
});

Deno.test("validateRates: jailkit's ranges, each replacement reported with its origin", () => {
  const origin = (k: string) => `--${k}`;
  // Observed with jailkit: --base=5 --peak=50 --interval=100 ran as [511:2048]/5.000000.
  const { rates, notices } = validateRates({ base: "5", peak: "50", interval: "100" }, origin, 10);
  assert.deepEqual(rates, { base: 511, peak: 2048, interval: 5 });
  assert.deepEqual(notices, [
    `--base: base "5" is outside 10..1000000; using 511`,
    `--peak: peak "50" is outside 100..10000000; using 2048`,
    `--interval: interval "100" is outside 0.01..60 seconds; using 5`,
  ]);
  assert.deepEqual(
    validateRates({ base: "10", peak: "10000000", interval: "0.01" }, origin).rates,
    { base: 10, peak: 10000000, interval: 0.01 },
  );
  assert.deepEqual(
    validateRates({ base: "1000000", peak: "100", interval: "60" }, origin).rates.peak,
    2048,
    "a peak below base is replaced",
  );
  assert.deepEqual(validateRates({ base: "1000001" }, origin).rates.base, 511);
  assert.deepEqual(validateRates({ peak: "99" }, origin).rates.peak, 2048);
  assert.deepEqual(validateRates({ interval: "0.009" }, origin).rates.interval, 5);
});

Deno.test("validateRates: values that are not numbers count as invalid", () => {
  const { rates, notices } = validateRates(
    { base: "-20", peak: "2k", interval: "fast" },
    (k) => k,
  );
  assert.deepEqual(rates, { base: 511, peak: 2048, interval: 5 });
  assert.deepEqual(notices.length, 3);
  assert.match(notices[0], /base "-20" is not a whole number; using 511/);
  assert.match(notices[2], /interval "fast" is not a decimal number; using 5/);
  assert.deepEqual(validateRates({ interval: "1e1" }, (k) => k).rates.interval, 10);
});

Deno.test("commandLineSocket: --interval defaults to 10 on the command line", () => {
  const { sockets, notices } = commandLineSocket("/srv/j/dev/log", {});
  assert.deepEqual(sockets, [{ path: "/srv/j/dev/log", base: 511, peak: 2048, interval: 10 }]);
  assert.deepEqual(notices, []);
  assertThrowsJailkit(() => commandLineSocket("", {}));
});

Deno.test("parseSocketdConfig: reads the block jk_init appends, in file order", () => {
  const text = "# sockets\n\n[/srv/a/dev/log]\nbase=512\npeak=2048\ninterval=10\n" +
    "\n[/srv/b/dev/log]\nbase = 100\npeak = 1000\ninterval = 2.5\n\n[/srv/c/dev/log]\n";
  const { sockets, notices } = parseSocketdConfig(text, INI);
  assert.deepEqual(sockets, [
    { path: "/srv/a/dev/log", base: 512, peak: 2048, interval: 10 },
    { path: "/srv/b/dev/log", base: 100, peak: 1000, interval: 2.5 },
    { path: "/srv/c/dev/log", base: 511, peak: 2048, interval: 5 },
  ]);
  assert.deepEqual(notices, []);
});

Deno.test("parseSocketdConfig: a repeated section is skipped with a notice, keys and all", () => {
  const text = "[/srv/a/dev/log]\nbase=512\n" +
    "[/srv/a/dev/log]\nbase=1\nthis line is not a key\n" +
    "[/srv/b/dev/log]\npeak=5\n";
  const { sockets, notices } = parseSocketdConfig(text, INI);
  assert.deepEqual(sockets.map((s) => [s.path, s.base, s.peak]), [
    ["/srv/a/dev/log", 512, 2048],
    ["/srv/b/dev/log", 511, 2048],
  ]);
  assert.deepEqual(notices, [
    `${INI}:3: duplicate section [/srv/a/dev/log] (first at line 1); skipped`,
    `${INI}:7: [/srv/b/dev/log]: peak "5" is outside 100..10000000; using 2048`,
  ]);
});

Deno.test("parseSocketdConfig: syntax errors name the file and the right line", () => {
  const text = "[/srv/a/dev/log]\n[/srv/a/dev/log]\nbase=1\n[/srv/b/dev/log]\nbase 12\n";
  const e = assertThrowsJailkit(() => parseSocketdConfig(text, INI));
  assert.deepEqual(e.kind, "config");
  assert.match(e.message, new RegExp(`^${INI}:5: `));
});

Deno.test("parseSocketdConfig: unknown keys are reported, sockets past 128 ignored", () => {
  let text = "[/s/0]\nbsae=10\n";
  for (let i = 1; i <= MAX_SOCKETS; i++) text += `[/s/${i}]\n`;
  const { sockets, notices } = parseSocketdConfig(text, INI);
  assert.deepEqual(sockets.length, MAX_SOCKETS);
  assert.deepEqual(sockets.at(-1)?.path, `/s/${MAX_SOCKETS - 1}`);
  assert.deepEqual(notices, [
    `${INI}:2: unknown key "bsae" ignored`,
    `${INI}:${MAX_SOCKETS + 2}: more than ${MAX_SOCKETS} sockets; [/s/${MAX_SOCKETS}] ignored`,
  ]);
});

Deno.test("messages keep jailkit's shape", () => {
  const spec = { path: "/srv/j/dev/log", base: 512, peak: 2048, interval: 10 };
  assert.deepEqual(
    listeningMessage(spec),
    "version 2.23-deno, listening on socket /srv/j/dev/log with rates [512:2048]/10.000000",
  );
  // The numbers jailkit logged for these rates [observed]: 2048/10 and 512/10, truncated.
  assert.deepEqual(
    rateWarning("peak", spec),
    "device /srv/j/dev/log is over the peak limit (204 bytes/s)",
  );
  assert.deepEqual(
    rateWarning("normal", spec),
    "device /srv/j/dev/log is over the normal limit (51 bytes/s), directly after a peak",
  );
});

// ---------------------------------------------------------------------------------------------
// Rate limiter, on an injected clock

const RATES: Rates = { base: 512, peak: 2048, interval: 10 };

/** Feeds datagrams of `sizes` at `times`, honouring each pause, and records the outcomes. */
function drive(
  rates: Rates,
  sends: readonly { at: number; n: number }[],
  start = 0,
): { warnings: string[]; sleeps: number[]; state: RateState } {
  let state = initialRateState(start);
  const warnings: string[] = [];
  const sleeps: number[] = [];
  for (const { at, n } of sends) {
    const d = rateStep(rates, state, n, at);
    state = d.state;
    if (d.warning) warnings.push(`${d.warning}@${at}`);
    sleeps.push(d.sleep);
  }
  return { warnings, sleeps, state };
}

Deno.test("rateStep: under base nothing happens; an ended window starts over", () => {
  const { warnings, sleeps, state } = drive(RATES, [
    { at: 1, n: 200 },
    { at: 2, n: 200 },
    { at: 12, n: 100 }, // 500 <= base, window over: new window
  ]);
  assert.deepEqual(warnings, []);
  assert.deepEqual(sleeps, [0, 0, 0]);
  assert.deepEqual(state, { bytes: 0, reset: 12, afterPeak: false });
});

Deno.test("rateStep: a first burst over base is allowed; over peak pauses to the window end", () => {
  const { warnings, sleeps, state } = drive(RATES, [
    { at: 1, n: 1000 }, // over base, no peak before: allowed
    { at: 2, n: 1000 }, // 2000: still allowed
    { at: 3, n: 100 }, // 2100 > peak: warn, pause for the rest of the window (10 - 3)
  ]);
  assert.deepEqual(warnings, ["peak@3"]);
  assert.deepEqual(sleeps, [0, 0, 7]);
  // The new window starts at the datagram's time, as in jailkit, and is marked.
  assert.deepEqual(state, { bytes: 0, reset: 3, afterPeak: true });
});

Deno.test("rateStep: over base right after a peak warns and pauses", () => {
  const { warnings, sleeps } = drive(RATES, [
    { at: 1, n: 3000 }, // peak: pause 9 s, new window from 1
    { at: 10.5, n: 600 }, // > base within the window after a peak: pause to its end
    { at: 12, n: 100 }, // under base
  ]);
  assert.deepEqual(warnings, ["peak@1", "normal@10.5"]);
  assert.deepEqual(sleeps, [9, 0.5, 0]);
});

Deno.test("rateStep: the observed pattern, a peak then the normal limit every interval", () => {
  // jk_lsh logins in a burst, then a steady trickle above base.
  const sends = [{ at: 0.5, n: 2100 }];
  let t = 0.5;
  for (let i = 0; i < 4; i++) {
    t += 10;
    sends.push({ at: t, n: 600 });
  }
  const { warnings } = drive(RATES, sends);
  assert.deepEqual(warnings, [
    "peak@0.5",
    "normal@10.5",
    "normal@20.5",
    "normal@30.5",
    "normal@40.5",
  ]);
});

Deno.test("rateStep: a window that ended over base marks the next one as after a peak", () => {
  const { warnings, state } = drive(RATES, [
    { at: 1, n: 600 }, // allowed burst
    { at: 12, n: 10 }, // 610 > base, window over: new window marked
    { at: 13, n: 600 }, // > base right after a "peak"
  ]);
  assert.deepEqual(warnings, ["normal@13"]);
  assert.deepEqual(state.afterPeak, true);
});

Deno.test("rateStep: the peak flag starts cleared and a pause is never negative", () => {
  assert.deepEqual(initialRateState(5), { bytes: 0, reset: 5, afterPeak: false });
  const d = rateStep(RATES, { bytes: 100, reset: 0, afterPeak: false }, 8192, 3600);
  assert.deepEqual(d.warning, "peak");
  assert.deepEqual(d.sleep, 0);
});

// ---------------------------------------------------------------------------------------------
// Where sockets may be created

function fakeFs(nodes: Record<string, Partial<NodeInfo> & { kind: string }>): Lstat {
  return (path) => {
    const n = nodes[path];
    if (!n) return undefined;
    return {
      isDirectory: n.kind === "dir",
      isSymlink: n.kind === "symlink",
      isFile: n.kind === "file",
      isSocket: n.kind === "socket",
      uid: n.uid ?? 0,
      mode: n.mode ?? 0o755,
    };
  };
}

const JAIL_DIRS = {
  "/": { kind: "dir" },
  "/srv": { kind: "dir" },
  "/srv/jail": { kind: "dir" },
  "/srv/jail/dev": { kind: "dir" },
};

Deno.test("planSocket: a new socket in a root-owned, non-writable chain", () => {
  assert.deepEqual(planSocket("/srv/jail/dev/log", fakeFs(JAIL_DIRS)), {
    ok: true,
    replaceSocket: false,
  });
  assert.deepEqual(
    planSocket(
      "/srv/jail/dev/log",
      fakeFs({ ...JAIL_DIRS, "/srv/jail/dev/log": { kind: "socket", mode: 0o666 } }),
    ),
    { ok: true, replaceSocket: true },
  );
});

Deno.test("planSocket: anything but an old socket at the path is left alone", () => {
  for (const kind of ["file", "dir", "symlink", "fifo"]) {
    const plan = planSocket(
      "/srv/jail/dev/log",
      fakeFs({ ...JAIL_DIRS, "/srv/jail/dev/log": { kind } }),
    );
    assert.match(refusal(plan), /is in the way \(only an old socket is ever removed\)/);
  }
});

Deno.test("planSocket: refuses a chain someone other than root could change", () => {
  const cases: [Record<string, Partial<NodeInfo> & { kind: string }>, RegExp][] = [
    [{ "/srv/jail/dev": { kind: "dir", uid: 1000 } }, /\/srv\/jail\/dev is not owned by root/],
    [{ "/srv/jail/dev": { kind: "dir", mode: 0o775 } }, /writable by group or others \(0775/],
    [{ "/srv/jail": { kind: "dir", mode: 0o1777 } }, /\/srv\/jail is writable/],
    [{ "/srv": { kind: "symlink" } }, /\/srv is a symlink/],
    [{ "/srv/jail/dev": { kind: "symlink" } }, /\/srv\/jail\/dev is a symlink/],
    [{ "/srv/jail/dev": { kind: "file" } }, /\/srv\/jail\/dev is not a directory/],
  ];
  for (const [override, reason] of cases) {
    const plan = planSocket("/srv/jail/dev/log", fakeFs({ ...JAIL_DIRS, ...override }));
    assert.match(refusal(plan), reason);
  }
  const missing = planSocket("/srv/other/dev/log", fakeFs(JAIL_DIRS));
  assert.match(refusal(missing), /directory \/srv\/other does not exist/);
});

Deno.test("planSocket: the path itself must be absolute, plain and short enough", () => {
  const lstat = fakeFs(JAIL_DIRS);
  for (
    const [path, reason] of [
      ["srv/jail/dev/log", /not an absolute path/],
      ["/srv/jail/../jail/dev/log", /contains "\." or "\.\."/],
      ["/srv/jail/dev/", /does not name a file/],
      ["/", /does not name a file/],
      [`/srv/jail/dev/${"x".repeat(100)}`, /longer than 107 bytes/],
    ] as const
  ) {
    assert.match(refusal(planSocket(path, lstat)), reason);
  }
});

Deno.test("emptyRootProblem: root-owned, not writable, real and empty", () => {
  const dirs = {
    "/": { kind: "dir" },
    "/var": { kind: "dir" },
    "/var/lib": { kind: "dir" },
    "/var/lib/jailkit": { kind: "dir" },
    "/var/lib/jailkit/empty": { kind: "dir" },
  };
  const root = "/var/lib/jailkit/empty";
  assert.deepEqual(emptyRootProblem(root, fakeFs(dirs), 0), undefined);
  assert.deepEqual(emptyRootProblem(root, fakeFs(dirs), 1), `${root} is not empty`);
  assert.match(
    emptyRootProblem(root, fakeFs({ ...dirs, [root]: { kind: "dir", mode: 0o777 } }), 0) ?? "",
    /writable by group or others/,
  );
  assert.match(
    emptyRootProblem(root, fakeFs({ ...dirs, "/var/lib": { kind: "symlink" } }), 0) ?? "",
    /\/var\/lib is a symlink/,
  );
  assert.match(
    emptyRootProblem(root, fakeFs({ ...dirs, [root]: { kind: "dir", uid: 65534 } }), 0) ?? "",
    /not owned by root/,
  );
});

Deno.test("parsePhase: the supervisor's phases; anything else is a hand-started worker", () => {
  for (const kind of ["start", "reload", "restart"] as const) {
    assert.deepEqual(parsePhase(kind), { kind });
  }
  assert.deepEqual(parsePhase("stop:SIGTERM"), { kind: "stop", signal: "SIGTERM" });
  assert.deepEqual(parsePhase("stop:SIGINT"), { kind: "stop", signal: "SIGINT" });
  for (const other of [undefined, "", "stop", "stop:SIGHUP", "START", " start"]) {
    assert.deepEqual(parsePhase(other), { kind: "alone" }, String(other));
  }
});

Deno.test("startupMappings: only the executable's private, read-only, never written mappings", () => {
  const exe = "/usr/lib/jailkit/deno";
  const vma = (range: string, perms: string, path: string, anon: number) =>
    `${range} ${perms} 00000000 08:01 1234                       ${path}\n` +
    `Size:               4096 kB\nRss:                1024 kB\nAnonymous:          ${anon} kB\n` +
    "VmFlags: rd mr mw me\n";
  const smaps = vma("55d000000000-55d000400000", "r--p", exe, 0) +
    vma("55d000400000-55d002000000", "r-xp", exe, 0) +
    vma("55d002000000-55d002100000", "r--p", exe, 8) + // written once: kept
    vma("55d002100000-55d002200000", "rw-p", exe, 0) + // writable: kept
    vma("7f0000000000-7f0000100000", "r-xp", "/usr/lib/x86_64-linux-gnu/libc.so.6", 0) +
    vma("7f0000100000-7f0000200000", "r--s", exe, 0) + // shared: kept
    vma("7f0000200000-7f0000300000", "r-xp", `${exe} (deleted)`, 0) +
    vma("7f0000300000-7f0000400000", "rw-p", "", 0);
  assert.deepEqual(startupMappings(smaps, exe), [
    { start: 0x55d000000000n, end: 0x55d000400000n },
    { start: 0x55d000400000n, end: 0x55d002000000n },
  ]);
  // A mapping whose Anonymous line is missing or garbled is kept.
  const garbled = vma("55d000000000-55d000400000", "r--p", exe, 0).replace("Anonymous:", "Anon:");
  assert.deepEqual(startupMappings(garbled, exe), []);
  assert.deepEqual(startupMappings("", exe), []);
});
