/**
 * jk_uchroot's and jk_chrootlaunch's command lines through lib/core/options.ts give what they
 * gave through node:util parseArgs (the expected values below are the old parser's answers):
 * the spellings where the two tools' shared table, "the last one wins" across -x and
 * --executable, grouped short options and parseArgs' messages could have drifted.
 */
import assert from "node:assert/strict";
import { parseUchrootArgs } from "../lib/login/uchroot.ts";
import { parseLaunchArgs } from "../lib/login/chrootlaunch.ts";

const unknown = (raw: string) =>
  `Unknown option '${raw}'. To specify a positional argument starting with a '-', place it at ` +
  `the end of the command after '--', as in '-- "${raw}"`;

const ambiguous = (raw: string) =>
  `Option '${raw}' argument is ambiguous.\nDid you forget to specify the option argument for ` +
  `'${raw}'?\nTo specify an option argument starting with a dash use '${raw}=-XYZ'.`;

Deno.test("parseUchrootArgs: the spellings parseArgs accepted and refused", () => {
  const cases: [string[], unknown][] = [
    [
      ["-j", "/a", "-x", "/b", "--executable=/e", "-x/c", "--executable", "/d"],
      { kind: "run", jail: "/a", executable: "/d", args: [] },
    ],
    [
      ["-vx/b", "-j/a", "-j", "/c", "--", "-j", "/x"],
      { kind: "run", jail: "/c", executable: "/b", args: ["-j", "/x"] },
    ],
    [["-jx", "/b"], { kind: "usage", error: "no executable given (-x EXECUTABLE)" }],
    [["-vhj"], { kind: "usage", error: "Option '-j, --jail <value>' argument missing" }],
    [["--exec", "-c"], { kind: "usage", error: ambiguous("--exec") }],
    [["--executable"], { kind: "usage", error: "Option '--executable <value>' argument missing" }],
    [["--version=1"], { kind: "usage", error: "Option '--version' does not take an argument" }],
    [
      ["--v", "-vvj/a", "-x", "/b", "-", "--help=x"],
      { kind: "usage", error: "Option '-h, --help' does not take an argument" },
    ],
    [["--jail=", "-j/a", "-x/b", "c", "-d"], { kind: "usage", error: unknown("-d") }],
    [
      ["-j", "/a", "-x", "/b", "c", "--", "-d"],
      { kind: "run", jail: "/a", executable: "/b", args: ["c", "-d"] },
    ],
    [["-pj"], { kind: "usage", error: unknown("-p") }],
  ];
  for (const [args, want] of cases) {
    assert.deepEqual(parseUchrootArgs(args), want, JSON.stringify(args));
  }
});

Deno.test("parseLaunchArgs: the spellings parseArgs accepted and refused", () => {
  const none = { jail: undefined, executable: undefined, user: undefined, group: undefined };
  const cases: [string[], unknown][] = [
    [["-pj", "/x"], { kind: "run", options: { ...none, pidfile: "j", args: ["/x"] } }],
    [["-u"], { kind: "usage", error: "Option '-u, --user <value>' argument missing" }],
    [["--executable=/e"], { kind: "usage", error: unknown("--executable") }],
    [
      ["-j/j", "-x/a", "-ua", "-ub", "--group=g", "-g1", "-p", "p", "--pidfile=q", "--", "-u"],
      {
        kind: "run",
        options: {
          jail: "/j",
          executable: "/a",
          user: "b",
          group: "1",
          pidfile: "q",
          args: ["-u"],
        },
      },
    ],
    [["-vhu", "x"], { kind: "help" }],
    [["--user", "-1"], { kind: "usage", error: ambiguous("--user") }],
    [
      ["--user=-1", "-j", "/j", "x", "-x", "/y"],
      {
        kind: "run",
        options: {
          ...none,
          jail: "/j",
          executable: "/y",
          user: "-1",
          pidfile: undefined,
          args: ["x"],
        },
      },
    ],
  ];
  for (const [args, want] of cases) {
    assert.deepEqual(parseLaunchArgs(args), want, JSON.stringify(args));
  }
});
