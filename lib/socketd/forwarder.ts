/**
 * jk_socketd's forwarder (`--role=worker`), started by the supervisor: connects to the host's
 * /dev/log, binds the jail sockets, then chroots into an empty directory and becomes one of
 * FORWARDER_USERS with no groups and PR_SET_NO_NEW_PRIVS (lib/login/privilege.ts, handed in by
 * the entry point). It forwards and rate-limits until the host's socket goes away, then exits
 * with EXIT_HOST_LOG_GONE so the supervisor starts a fresh one; it also exits when its stdin
 * (a pipe from the supervisor) ends, so it never outlives the supervisor.
 *
 * The sockets and the empty root are written here directly, not through lib/engine/apply.ts:
 * see the list of direct writers there.
 */
import { posix } from "node:path";
import { JailkitError } from "../core/errors.ts";
import { parsePasswd, readDbFile } from "../config/passwd.ts";
import { lstatOrUndefined } from "../engine/jailpath.ts";
import {
  LOG_CRIT,
  LOG_DAEMON,
  LOG_ERR,
  LOG_NDELAY,
  LOG_NOTICE,
  LOG_PID,
  LOG_WARNING,
  openlog,
  syslog,
} from "../../ffi/libc.ts";
import { HOST_LOG, HostLog, HostLogGone } from "./hostlog.ts";
import {
  delay,
  emit,
  EXIT_FAILURE,
  EXIT_HOST_LOG_GONE,
  EXIT_UNSAFE_ROOT,
  IDENT,
  loadConfig,
  messageOf,
  type SocketdHost,
  type SocketdOptions,
} from "./process.ts";
import {
  emptyRootProblem,
  initialRateState,
  listeningMessage,
  MAX_DATAGRAM,
  planSocket,
  rateStep,
  rateWarning,
  type SocketdConfig,
  type SocketSpec,
} from "./rules.ts";

/**
 * Where the forwarder chroots: an empty directory nobody but root can write. jailkit chrooted
 * into /etc/jailkit, which holds every jailkit configuration file.
 */
export const EMPTY_ROOT = "/var/lib/jailkit/empty";

/**
 * The host accounts the forwarder may run as after the chroot, in order of preference: the
 * system user the Debian package creates for it alone (debian/jailkit.postinst), so that no
 * other daemon's process can signal or trace it, else nobody (a checkout, `deno task install`).
 */
export const FORWARDER_USERS = ["jk_socketd", "nobody"] as const;

/**
 * The first of FORWARDER_USERS that `byName` knows, with its ids and no supplementary groups.
 * Throws when none exists or the chosen one has uid or gid 0 (no silent fall-through to the
 * next name: a root-mapped jk_socketd account is a misconfiguration to report).
 */
export function chooseForwarderUser(
  byName: (name: string) => { uid: number; gid: number } | undefined,
  path: string,
): { name: string; uid: number; gid: number; groups: number[] } {
  for (const name of FORWARDER_USERS) {
    const entry = byName(name);
    if (entry === undefined) continue;
    if (entry.uid === 0 || entry.gid === 0) {
      throw new JailkitError("config", `${path}: user ${name} has uid or gid 0`);
    }
    return { name, uid: entry.uid, gid: entry.gid, groups: [] };
  }
  throw new JailkitError("not-found", `${path}: none of the users ${FORWARDER_USERS.join(", ")}`);
}

/** The forwarder's account from the host's /etc/passwd (see chooseForwarderUser). */
function lookupForwarderUser(): { uid: number; gid: number; groups: number[] } {
  const path = "/etc/passwd";
  const text = readDbFile(path);
  if (text === undefined) throw new JailkitError("io", `${path}: cannot read`);
  const db = parsePasswd(text, path);
  const { uid, gid, groups } = chooseForwarderUser((n) => db.byName(n), path);
  return { uid, gid, groups };
}

type Say = (priority: number, text: string, always?: boolean) => void;

function createSocket(spec: SocketSpec, say: Say): Deno.DatagramConn | undefined {
  let conn: Deno.DatagramConn | undefined;
  try {
    const plan = planSocket(spec.path, lstatOrUndefined);
    if (!plan.ok) {
      say(LOG_CRIT, `refusing to create socket ${spec.path}: ${plan.reason}`);
      return undefined;
    }
    // Safe by the plan: nobody but root can change the directories on the way.
    if (plan.replaceSocket) Deno.removeSync(spec.path);
    conn = Deno.listenDatagram({ transport: "unixpacket", path: spec.path });
    Deno.chmodSync(spec.path, 0o666);
    say(LOG_NOTICE, listeningMessage(spec));
    return conn;
  } catch (e) {
    conn?.close();
    say(LOG_CRIT, `cannot create socket ${spec.path}: ${messageOf(e)}`);
    return undefined;
  }
}

/** Ensures the empty chroot directory exists; returns why it is unfit, if it is. */
function prepareEmptyRoot(): string | undefined {
  for (const dir of [posix.dirname(EMPTY_ROOT), EMPTY_ROOT]) {
    if (lstatOrUndefined(dir) !== undefined) continue;
    Deno.mkdirSync(dir, { mode: 0o755 });
    Deno.chmodSync(dir, 0o755);
  }
  let entries = 0;
  for (const _ of Deno.readDirSync(EMPTY_ROOT)) {
    entries++;
    break;
  }
  return emptyRootProblem(EMPTY_ROOT, lstatOrUndefined, entries);
}

/** Receives, forwards and rate-limits one socket until the host's /dev/log is gone. */
async function serve(
  conn: Deno.DatagramConn,
  spec: SocketSpec,
  host: HostLog,
  say: Say,
): Promise<void> {
  const clock = () => performance.now() / 1000;
  const buf = new Uint8Array(MAX_DATAGRAM);
  let state = initialRateState(clock());
  for (;;) {
    const [data] = await conn.receive(buf);
    const message = buf.subarray(0, data.length);
    if (message.length > 0) {
      try {
        const sent = await host.forward(message);
        if (sent < message.length) {
          say(LOG_WARNING, `forwarded only ${sent} of ${message.length} bytes from ${spec.path}`);
        }
      } catch (e) {
        if (e instanceof HostLogGone) throw e;
        say(LOG_CRIT, `cannot forward a message from ${spec.path}: ${messageOf(e)}`);
      }
    }
    const decision = rateStep(spec, state, message.length, clock());
    state = decision.state;
    if (decision.warning) say(LOG_WARNING, rateWarning(decision.warning, spec));
    if (decision.sleep > 0) await delay(decision.sleep * 1000);
  }
}

/** The forwarder's life; returns its exit code. */
export async function runForwarder(opts: SocketdOptions, sys: SocketdHost): Promise<number> {
  // LOG_NDELAY: connect now, while the host's /dev/log can still be reached.
  openlog(IDENT, LOG_PID | LOG_NDELAY, LOG_DAEMON);
  const say: Say = (priority, text, always = false) => {
    syslog(priority, text);
    if (opts.nodetach || always) emit({ out: text });
  };
  Deno.addSignalListener("SIGTERM", () => Deno.exit(0));
  // The supervisor decides what SIGHUP and SIGINT mean; one sent to every jk_socketd process
  // (a terminal's ^C, killall -HUP) must not end the forwarder behind its back.
  Deno.addSignalListener("SIGHUP", () => {});
  Deno.addSignalListener("SIGINT", () => {});

  let config: SocketdConfig;
  try {
    config = loadConfig(opts);
  } catch (e) {
    say(LOG_ERR, messageOf(e), true);
    return EXIT_FAILURE;
  }
  for (const notice of config.notices) say(LOG_NOTICE, notice);

  let host: HostLog;
  try {
    host = HostLog.connect();
  } catch (e) {
    say(LOG_ERR, `cannot connect to ${HOST_LOG}: ${messageOf(e)}`, true);
    return EXIT_FAILURE;
  }
  if (opts.nodetach) emit({ out: `opened ${HOST_LOG}` });

  let creds: { uid: number; gid: number; groups: number[] };
  try {
    creds = lookupForwarderUser();
  } catch (e) {
    say(LOG_ERR, messageOf(e), true);
    return EXIT_FAILURE;
  }

  const served: [Deno.DatagramConn, SocketSpec][] = [];
  for (const spec of config.sockets) {
    const conn = createSocket(spec, say);
    if (conn) served.push([conn, spec]);
  }
  if (served.length === 0) {
    say(LOG_ERR, "no socket could be created, nothing to do; exiting", true);
    if (Deno.uid() !== 0) say(LOG_ERR, "jk_socketd runs as root: you are not root", true);
    return EXIT_FAILURE;
  }

  let problem: string | undefined;
  try {
    problem = prepareEmptyRoot();
  } catch (e) {
    problem = messageOf(e);
  }
  if (problem !== undefined) {
    say(LOG_ERR, `cannot chroot into ${EMPTY_ROOT}: ${problem}`, true);
    return EXIT_UNSAFE_ROOT;
  }
  try {
    sys.enterJail(EMPTY_ROOT, creds);
  } catch (e) {
    say(LOG_ERR, `cannot drop privileges: ${messageOf(e)}`, true);
    return EXIT_FAILURE;
  }
  emit({ ready: true });

  (async () => {
    try {
      for await (const _ of Deno.stdin.readable) {
        // The supervisor never writes; only the end of the pipe matters.
      }
    } finally {
      Deno.exit(0);
    }
  })();

  const loops = served.map(([conn, spec]) =>
    serve(conn, spec, host, say).catch((e) => {
      if (e instanceof HostLogGone) throw e;
      say(LOG_CRIT, `stopped serving ${spec.path}: ${messageOf(e)}`);
    })
  );
  try {
    await Promise.all(loops);
  } catch (e) {
    say(LOG_ERR, `${messageOf(e)}; restarting to connect again`);
    return EXIT_HOST_LOG_GONE;
  }
  return EXIT_FAILURE;
}
