/**
 * jk_list (man/jk_list.8): the processes whose root directory is not `/`, with their user, jail
 * and command, in jailkit's table. `/proc` comes in through `ProcFs`, so the scan is tested
 * with fake process tables; `systemProcFs` is the production wiring.
 *
 * Deliberately different from jailkit 2.23 (listed for admins in man/jk_list.8):
 * - a process that exits during the scan or whose /proc entry cannot be read is skipped and
 *   counted; jailkit's first error ended the scan;
 * - a uid without a passwd entry is shown as the number (jailkit crashed);
 * - `-j` filters (jailkit ignored it); long names keep the command column at least
 *   MIN_COMMAND wide instead of making the width negative (a format error in jailkit);
 * - names and arguments are escaped as lib/core/output.ts describes (`\xHH` for C0 controls,
 *   `\uHHHH` for C1 and the other terminal-affecting characters, `\\` for a backslash), so no
 *   line can break the table or send escape sequences to the terminal.
 */
import { escapeText } from "../core/output.ts";

/** One jailed process, as read from /proc. */
export interface JailedProcess {
  /** Process id on the host. */
  readonly pid: number;
  /** Owner of /proc/PID (the real uid), shown as `user`. */
  readonly uid: number;
  /** Login name, or the uid as a number when no passwd entry has it. */
  readonly user: string;
  /** Host path of the process's root directory (`/proc/PID/root`). */
  readonly jail: string;
  /** Host path of the executable (`/proc/PID/exe`), jail prefix included. */
  readonly exe: string;
  /** The raw `/proc/PID/cmdline` arguments, argv[0] included. */
  readonly argv: readonly string[];
  /** Whether cmdline ended with a NUL, as it does unless a process rewrote it. */
  readonly terminated: boolean;
}

/** Why a process could not be shown. */
export type SkipReason = "vanished" | "denied" | "error";

/** A process left out of the list, and why. */
export interface Skipped {
  /** Process id on the host. */
  readonly pid: number;
  /** `vanished` is normal (it exited); the others mean the list may be incomplete. */
  readonly reason: SkipReason;
  /** The system's error, shown with -v. */
  readonly message: string;
}

/** What one pass over /proc found. */
export interface ScanResult {
  /** Processes whose root is not `/`, by pid. */
  readonly processes: JailedProcess[];
  /** Processes that could not be inspected. */
  readonly skipped: Skipped[];
  /** Numeric /proc entries looked at. */
  readonly scanned: number;
}

/** What the scan reads from /proc. Methods throw the OS error when an entry cannot be read. */
export interface ProcFs {
  /** Names in /proc. */
  list(): string[];
  /** Link text of /proc/PID/root: `/` for a process that is not jailed. */
  root(pid: number): string;
  /** uid owning /proc/PID. */
  owner(pid: number): number;
  /** Link text of /proc/PID/exe. */
  exe(pid: number): string;
  /** The bytes of /proc/PID/cmdline, at most MAX_CMDLINE. */
  cmdline(pid: number): Uint8Array;
}

/** cmdline bytes read at most; jailkit read 4096. */
export const MAX_CMDLINE = 64 * 1024;

/** Splits `/proc/PID/cmdline` at NUL bytes; the final terminator does not start an argument. */
export function parseCmdline(bytes: Uint8Array): { argv: string[]; terminated: boolean } {
  const text = new TextDecoder().decode(bytes);
  if (text === "") return { argv: [], terminated: false };
  const terminated = text.endsWith("\0");
  const argv = (terminated ? text.slice(0, -1) : text).split("\0");
  return { argv, terminated };
}

function classify(e: unknown): SkipReason {
  if (e instanceof Deno.errors.NotFound) return "vanished";
  if (e instanceof Deno.errors.PermissionDenied) return "denied";
  // ESRCH: the process is gone but its directory was still listed.
  if (e instanceof Error && /\(os error 3\)/.test(e.message)) return "vanished";
  return "error";
}

/**
 * Every process whose root is not `/`, in pid order. A process that disappears or cannot be
 * inspected is recorded in `skipped` and the scan goes on.
 */
export function scanProcesses(
  proc: ProcFs,
  userName: (uid: number) => string | undefined,
): ScanResult {
  const processes: JailedProcess[] = [];
  const skipped: Skipped[] = [];
  const pids = proc.list()
    .filter((n) => /^[0-9]{1,10}$/.test(n))
    .map(Number)
    .sort((a, b) => a - b);
  for (const pid of pids) {
    try {
      const root = proc.root(pid);
      if (root === "/") continue;
      const uid = proc.owner(pid);
      const exe = proc.exe(pid);
      const { argv, terminated } = parseCmdline(proc.cmdline(pid));
      processes.push({
        pid,
        uid,
        user: userName(uid) ?? String(uid),
        jail: root,
        exe,
        argv,
        terminated,
      });
    } catch (e) {
      skipped.push({
        pid,
        reason: classify(e),
        message: e instanceof Error ? e.message : String(e),
      });
    }
  }
  return { processes, skipped, scanned: pids.length };
}

/** Processes in one of `jails` (host paths without trailing slash) or below one. */
export function filterByJail(
  processes: readonly JailedProcess[],
  jails: readonly string[],
): JailedProcess[] {
  return processes.filter((p) =>
    jails.some((j) => p.jail === j || p.jail.startsWith(j === "/" ? "/" : `${j}/`))
  );
}

/**
 * The command column as jailkit built it: the executable, a blank, then the arguments after
 * argv[0] joined by blanks, with a trailing blank when cmdline ended in a NUL.
 */
export function commandText(p: JailedProcess): string {
  const rest = p.argv.slice(1);
  if (p.terminated && p.argv.length > 0) rest.push("");
  return `${p.exe} ${rest.join(" ")}`;
}

/** Narrowest command column when long users or jails crowd it out of 80 columns. */
export const MIN_COMMAND = 20;

/** Lengths and cuts in code points, like Python's len() and slicing. */
function width(s: string): number {
  return Array.from(s).length;
}

function pad(s: string, n: number): string {
  return s + " ".repeat(Math.max(0, n - width(s)));
}

function cut(s: string, n: number): string {
  const chars = Array.from(s);
  return chars.length <= n ? s : chars.slice(0, n).join("");
}

/**
 * jailkit's table (man/jk_list.8, OUTPUT): sorted by jail (stable), `Pid` 6 wide, user and jail as
 * wide as their longest value (at least 4), the command cut to fit 80 columns (at least
 * MIN_COMMAND), or in full with `wide`. Lines keep their padding, as jailkit's did.
 */
export function formatTable(processes: readonly JailedProcess[], wide: boolean): string[] {
  if (processes.length === 0) return ["No jailed processes found"];
  const rows = [...processes]
    .sort((a, b) => a.jail < b.jail ? -1 : a.jail > b.jail ? 1 : 0)
    .map((p) => ({
      pid: String(p.pid),
      user: escapeText(p.user),
      jail: escapeText(p.jail),
      cmd: escapeText(commandText(p)),
    }));
  const userW = Math.max(4, ...rows.map((r) => width(r.user)));
  const jailW = Math.max(4, ...rows.map((r) => width(r.jail)));
  const longest = Math.max(7, ...rows.map((r) => width(r.cmd)));
  const cmdW = Math.min(longest, Math.max(80 - 5 - userW - jailW - 4, MIN_COMMAND));
  const line = (pid: string, user: string, jail: string, cmd: string) =>
    `${pad(pid, 6)} ${pad(user, userW)} ${pad(jail, jailW)} ${cmd}`;
  const out = [line("Pid", "User", "Jail", pad("Command", cmdW))];
  for (const r of rows) {
    const cmd = wide ? r.cmd : pad(cut(r.cmd, cmdW), cmdW);
    out.push(line(r.pid, r.user, r.jail, cmd));
  }
  return out;
}

/** The --json document. */
export function listToJson(processes: readonly JailedProcess[], skipped: readonly Skipped[]) {
  return {
    processes: processes.map((p) => ({
      pid: p.pid,
      uid: p.uid,
      user: p.user,
      jail: p.jail,
      exe: p.exe,
      argv: p.argv,
    })),
    skipped,
  };
}

/** The real /proc (or another mount of procfs at `dir`). */
export function systemProcFs(dir = "/proc"): ProcFs {
  return {
    list: () => [...Deno.readDirSync(dir)].map((e) => e.name),
    root: (pid) => Deno.readLinkSync(`${dir}/${pid}/root`),
    owner: (pid) => Deno.statSync(`${dir}/${pid}`).uid ?? -1,
    exe: (pid) => Deno.readLinkSync(`${dir}/${pid}/exe`),
    cmdline: (pid) => {
      const f = Deno.openSync(`${dir}/${pid}/cmdline`, { read: true });
      try {
        const buf = new Uint8Array(MAX_CMDLINE);
        let used = 0;
        while (used < buf.length) {
          const n = f.readSync(buf.subarray(used));
          if (n === null || n === 0) break;
          used += n;
        }
        return buf.subarray(0, used);
      } finally {
        f.close();
      }
    },
  };
}
