/**
 * jk_list — lists the processes running in a chroot jail: pid, user, jail and command, in
 * jailkit 2.23's table (man/jk_list.8), optionally only those of some jails, or as JSON.
 */
import { main, parseOptions, stderr, stdoutText } from "../lib/entry/admin.ts";
import { JailkitError } from "../lib/core/errors.ts";
import { jsonText } from "../lib/core/output.ts";
import { normalizeJail } from "../lib/engine/jailpath.ts";
import { parsePasswd } from "../lib/config/passwd.ts";
import {
  filterByJail,
  formatTable,
  listToJson,
  scanProcesses,
  systemProcFs,
} from "../lib/admin/list.ts";

const USAGE = `Usage: jk_list [OPTIONS] [JAIL...]

Lists the processes running in a chroot jail: pid, user, jail and command.

  -j, --jail=DIR   only processes in this jail (or below it); may be repeated,
                   and jails may also be given as arguments
  -w, --wide       do not cut the command to fit 80 columns
  -v, --verbose    report processes that exited or could not be inspected
      --json       print the processes as one JSON document
  -h, --help       this text

Exit codes: 0 success (also when no jailed process is found), 1 bad option,
2 /proc cannot be read.`;

/** Exit codes: jailkit 2.23's 0 and 1; 2 is ours (jailkit printed the error and ended with 0). */
const EXIT = {
  /** also when no jailed process is found */
  ok: 0,
  usage: 1,
  procUnreadable: 2,
} as const;

const OPTIONS = {
  jail: { type: "string", short: "j", multiple: true },
  wide: { type: "boolean", short: "w" },
  verbose: { type: "boolean", short: "v" },
  help: { type: "boolean", short: "h" },
  json: { type: "boolean" },
} as const;

/** A jail as /proc shows roots: absolute, symlinks resolved when it exists. */
function jailFilter(arg: string): string {
  const jail = normalizeJail(arg);
  try {
    return Deno.realPathSync(jail);
  } catch {
    return jail;
  }
}

/** uid → name from /etc/passwd; an unreadable file just leaves every uid a number. */
function userNames(): (uid: number) => string | undefined {
  try {
    const passwd = parsePasswd(Deno.readTextFileSync("/etc/passwd"), "/etc/passwd");
    return (uid) => passwd.byUid(uid)?.name;
  } catch {
    return () => undefined;
  }
}

function plural(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

function run(): number {
  const { values, positionals } = parseOptions(Deno.args, OPTIONS, USAGE);
  if (values.help) {
    stdoutText(USAGE);
    return EXIT.ok;
  }
  const jails = [...(values.jail ?? []), ...positionals]
    .map(jailFilter);
  const verbose = values.verbose === true;

  let scan;
  try {
    scan = scanProcesses(systemProcFs(), userNames());
  } catch (e) {
    throw new JailkitError("io", `cannot list /proc: ${(e as Error).message}`);
  }
  const processes = jails.length > 0 ? filterByJail(scan.processes, jails) : scan.processes;

  if (values.json) stdoutText(jsonText(listToJson(processes, scan.skipped)));
  // The table's columns are escaped (and measured) by formatTable.
  else for (const line of formatTable(processes, values.wide === true)) stdoutText(line);

  const denied = scan.skipped.filter((s) => s.reason !== "vanished");
  if (verbose) {
    stderr(
      `scanned ${plural(scan.scanned, "process", "processes")}: ` +
        `${scan.processes.length} jailed` +
        (jails.length > 0 ? `, ${processes.length} in ${jails.join(", ")}` : ""),
    );
    const vanished = scan.skipped.length - denied.length;
    if (vanished > 0) {
      stderr(`${plural(vanished, "process", "processes")} exited during the scan`);
    }
    for (const s of denied) stderr(`could not inspect process ${s.pid}: ${s.message}`);
  } else if (denied.length > 0) {
    stderr(
      `jk_list: could not inspect ${plural(denied.length, "process", "processes")} ` +
        `(-v lists them); the list may be incomplete`,
    );
  }
  return EXIT.ok;
}

if (import.meta.main) {
  main(run, {
    usage: EXIT.usage,
    io: EXIT.procUnreadable,
    permission: EXIT.procUnreadable,
    "not-found": EXIT.procUnreadable,
  });
}
