/**
 * jk_check's look at sshd: what the OpenSSH server lets a jailed user do outside the jail.
 * jk_chrootsh confines the session's programs, but forwarding, tunnels, ~/.ssh/rc and
 * ~/.ssh/environment are handled by sshd itself, before or beside the jailed shell, on the
 * host: with sshd's defaults a jailed user reaches every host-local TCP service and Unix socket
 * with `ssh -L`. The effective settings per user come from `sshd -T -C user=NAME,…`; deciding
 * which of them undermine a jail is a pure function of that output.
 */
import type { Finding, JailedHostUser } from "./check.ts";
import { JailkitError } from "../core/errors.ts";
import { DEFAULT_PATH } from "../core/paths.ts";

/** Keyword (lower case, as `sshd -T` prints it) → the value of each line with it. */
export type SshdSettings = ReadonlyMap<string, readonly string[]>;

/** Bounds on `sshd -T` output; a real one is a few KiB and about 100 lines. */
const MAX_OUTPUT_BYTES = 1024 * 1024;
const MAX_LINES = 10_000;

/** Parses `sshd -T` output ("keyword value" per line). Throws a JailkitError "parse". */
export function parseSshdT(text: string): SshdSettings {
  if (text.length > MAX_OUTPUT_BYTES) {
    throw new JailkitError("parse", `sshd -T output is larger than ${MAX_OUTPUT_BYTES} bytes`);
  }
  const lines = text.split("\n");
  if (lines.length > MAX_LINES) {
    throw new JailkitError("parse", `sshd -T output has more than ${MAX_LINES} lines`);
  }
  const settings = new Map<string, string[]>();
  lines.forEach((line, i) => {
    if (line.trim() === "") return;
    const m = line.match(/^([a-z0-9]+)(?: (.*))?$/);
    if (!m) {
      throw new JailkitError(
        "parse",
        `sshd -T output line ${i + 1}: expected "keyword value", got ${JSON.stringify(line)}`,
      );
    }
    const values = settings.get(m[1]) ?? [];
    values.push((m[2] ?? "").trim());
    settings.set(m[1], values);
  });
  return settings;
}

/** sshd's compiled-in defaults (sshd_config(5)) for a keyword `sshd -T` did not print. */
const DEFAULTS: Readonly<Record<string, string>> = {
  disableforwarding: "no",
  allowtcpforwarding: "yes",
  permitopen: "any",
  permitlisten: "any",
  gatewayports: "no",
  allowstreamlocalforwarding: "yes",
  allowagentforwarding: "yes",
  x11forwarding: "no",
  permittunnel: "no",
  permituserrc: "yes",
  permituserenvironment: "no",
};

/** One way out of the jail that sshd leaves open, with the settings that open it. */
export interface SshdLoophole {
  /** What the user can do, in words. */
  readonly what: string;
  /** The sshd_config settings responsible, as `Keyword value`. */
  readonly settings: readonly string[];
}

/**
 * The effective settings that undermine a jail: TCP forwarding (local unless PermitOpen is
 * none, remote unless PermitListen is none), stream-local (Unix socket), agent and X11
 * forwarding — all off with DisableForwarding yes — tunnels, PermitUserRC and
 * PermitUserEnvironment.
 */
export function sshdLoopholes(s: SshdSettings): SshdLoophole[] {
  const raw = (k: string) => s.get(k)?.join(" ") ?? DEFAULTS[k];
  const get = (k: string) => raw(k).toLowerCase();
  const out: SshdLoophole[] = [];
  const add = (what: string, ...keys: [string, string][]) =>
    out.push({ what, settings: keys.map(([name, key]) => `${name} ${raw(key)}`) });
  const lets = (value: string, side: "local" | "remote") =>
    value === "yes" || value === "all" || value === side;

  if (get("disableforwarding") !== "yes") {
    const tcp = get("allowtcpforwarding");
    if (lets(tcp, "local") && get("permitopen") !== "none") {
      add(
        "ssh -L/-D to the server's local services and network",
        ["AllowTcpForwarding", "allowtcpforwarding"],
        ["PermitOpen", "permitopen"],
      );
    }
    if (lets(tcp, "remote") && get("permitlisten") !== "none") {
      add(
        "ssh -R ports listening on the server",
        ["AllowTcpForwarding", "allowtcpforwarding"],
        ["PermitListen", "permitlisten"],
        ["GatewayPorts", "gatewayports"],
      );
    }
    const unix = get("allowstreamlocalforwarding");
    if (lets(unix, "local") || lets(unix, "remote")) {
      add(
        "Unix socket forwarding to and from the server",
        ["AllowStreamLocalForwarding", "allowstreamlocalforwarding"],
      );
    }
    if (get("allowagentforwarding") === "yes") {
      add("agent forwarding", ["AllowAgentForwarding", "allowagentforwarding"]);
    }
    if (get("x11forwarding") === "yes") add("X11 forwarding", ["X11Forwarding", "x11forwarding"]);
  }
  if (get("permittunnel") !== "no") {
    add("tun/tap tunnels into the server's network", ["PermitTunnel", "permittunnel"]);
  }
  if (get("permituserrc") === "yes") {
    add("~/.ssh/rc run at login", ["PermitUserRC", "permituserrc"]);
  }
  if (get("permituserenvironment") !== "no") {
    add(
      "variables from ~/.ssh/environment and authorized_keys",
      ["PermitUserEnvironment", "permituserenvironment"],
    );
  }
  return out;
}

/** The finding for one jailed user, undefined when sshd leaves nothing open. */
export function sshdFinding(
  user: string,
  jail: string,
  loopholes: readonly SshdLoophole[],
): Finding | undefined {
  if (loopholes.length === 0) return undefined;
  const settings = [...new Set(loopholes.flatMap((l) => l.settings))];
  return {
    severity: "warning",
    kind: "sshd",
    jail,
    user,
    sshd: settings,
    message: `sshd lets jailed user ${user} of jail ${jail} reach past the jail: ` +
      `${loopholes.map((l) => l.what).join("; ")} (${settings.join(", ")}); ` +
      `switch them off in a Match block for jailed users (see jk_check(8))`,
  };
}

/**
 * The `-C` connection spec for `user`, or undefined when the name cannot be passed safely
 * (a comma or `=` would add criteria of its own).
 */
export function sshdCriteria(user: string): string | undefined {
  if (!/^[A-Za-z0-9_.][A-Za-z0-9_.@-]*\$?$/.test(user)) return undefined;
  return `user=${user},host=localhost,addr=127.0.0.1`;
}

/** The host accounts of `jail` whose login shell is one of `shells` (jk_chrootsh), once each. */
export function jailedShellUsers(
  hostUsers: readonly JailedHostUser[],
  jail: string,
  shells: readonly string[],
): string[] {
  const names = hostUsers
    .filter((u) => u.jail === jail && u.shell !== undefined && shells.includes(u.shell))
    .map((u) => u.name);
  return [...new Set(names)];
}

/** What checkSshdUsers needs: the users to look at and how to ask sshd about one. */
export interface SshdCheckInput {
  readonly jail: string;
  /** Host accounts of this jail whose login shell is jk_chrootsh. */
  readonly users: readonly string[];
  /** sshd's effective settings for the connection spec, or why they cannot be had. */
  readonly query: (criteria: string) => SshdSettings | string;
  readonly report: (f: Finding) => void;
  readonly note: (text: string) => void;
}

/** Asks sshd about each user and reports what undermines the jail. */
export function checkSshdUsers(i: SshdCheckInput): void {
  for (const user of i.users) {
    const criteria = sshdCriteria(user);
    if (criteria === undefined) {
      i.note(`not asking sshd about user ${JSON.stringify(user)}: the name cannot be passed`);
      continue;
    }
    i.note(`asking sshd about jailed user ${user}`);
    const settings = i.query(criteria);
    if (typeof settings === "string") {
      i.note(`cannot read sshd's settings for user ${user}: ${settings}`);
      continue;
    }
    const f = sshdFinding(user, i.jail, sshdLoopholes(settings));
    if (f) i.report(f);
  }
}

// ---------------------------------------------------------------------------------------------
// Production wiring

/**
 * Runs `sshd -T [-f configFile] -C criteria` with a clean environment and parses its output;
 * returns the reason when sshd fails (a broken config, no host keys) or prints nonsense.
 */
export function querySshd(
  sshd: string,
  criteria: string,
  configFile?: string,
): SshdSettings | string {
  const args = ["-T", ...(configFile === undefined ? [] : ["-f", configFile]), "-C", criteria];
  let out: Deno.CommandOutput;
  try {
    out = new Deno.Command(sshd, {
      args,
      clearEnv: true,
      env: { PATH: DEFAULT_PATH },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).outputSync();
  } catch (e) {
    return `${sshd}: ${e instanceof Error ? e.message : String(e)}`;
  }
  const text = new TextDecoder().decode(out.stdout);
  if (!out.success) {
    const why = new TextDecoder().decode(out.stderr).trim().split("\n")[0] ?? "";
    return `${sshd} ${args.join(" ")} exited with status ${out.code}${why ? `: ${why}` : ""}`;
  }
  try {
    return parseSshdT(text);
  } catch (e) {
    if (e instanceof JailkitError) return e.message;
    throw e;
  }
}
