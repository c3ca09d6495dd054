/**
 * jk_socketd's worker (`--role=worker`), the one Deno runtime of a running jk_socketd, started
 * by the native supervisor (ffi/jk_socketd_supervisor.c, which decides nothing). As root it
 * reads the configuration, writes the pid file (the first worker; lib/core/safeio.ts), connects
 * to the host's /dev/log and binds the jail sockets; then it chroots into an empty directory
 * and becomes one of FORWARDER_USERS with no groups and PR_SET_NO_NEW_PRIVS
 * (lib/login/privilege.ts, handed in by the entry point), tells the supervisor it is ready and
 * relays, rate-limited. Jail data is only ever read after that drop.
 *
 * The host's syslog restarting: the connection made before the chroot cannot be made again
 * inside it, so the worker exits with EXIT_HOST_LOG_GONE and the supervisor starts a new one,
 * which connects and binds as root again. (Having the supervisor connect and pass a descriptor
 * over SCM_RIGHTS would put the choice of socket type and the retry rules into C; a restart
 * costs one runtime start, only when the host's syslog restarts.)
 *
 * SIGHUP reaches the supervisor, which starts a new worker next to this one and sends this one
 * SIGTERM once the new one is ready: this one relays what is still queued in its (now unlinked)
 * sockets until they have been quiet for DRAIN_IDLE_MS, then exits, so a reload loses no
 * message. Its stdin is a pipe from the supervisor: at end-of-file it exits, so it never
 * outlives the supervisor.
 *
 * Memory: the worker is the one runtime that stays, so it loads only its own modules (see
 * cli/jk_socketd.ts), and once ready it gives back the mappings of the runtime's executable
 * that only start-up touched (rules.ts startupMappings): ~32 MB resident instead of ~44.
 *
 * The sockets and the empty root are written here directly, not through lib/engine/apply.ts:
 * see the list of direct writers there.
 */
import { JailkitError } from "../core/errors.ts";
import { dirname } from "../core/posixpath.ts";
import { lstatOrUndefined } from "../engine/jailpath.ts";
import { parsePasswd, readDbFile } from "../config/passwd.ts";
import { removePidFile, writePidFile } from "../core/safeio.ts";
import {
  close,
  dropFilePages,
  LOG_CRIT,
  LOG_DAEMON,
  LOG_ERR,
  LOG_NDELAY,
  LOG_NOTICE,
  LOG_PID,
  LOG_WARNING,
  openlog,
  syslog,
  write,
} from "../../ffi/libc.ts";
import { HOST_LOG, HostLog, HostLogGone } from "./hostlog.ts";
import {
  EXIT_FAILURE,
  EXIT_HOST_LOG_GONE,
  EXIT_KEEP,
  EXIT_UNSAFE_ROOT,
  IDENT,
  loadConfig,
  messageOf,
  READY_FD,
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
  startupMappings,
  type WorkerPhase,
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

/** After SIGTERM, how long the sockets must have been quiet before the worker exits… */
const DRAIN_IDLE_MS = 100;
/** …and how long it relays at most. */
const DRAIN_MAX_MS = 2000;

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
  for (const dir of [dirname(EMPTY_ROOT), EMPTY_ROOT]) {
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

/**
 * The end of a worker told to stop (SIGTERM, after a reload's new worker is ready or on stop):
 * it goes on relaying what is queued in its sockets, paused ones included (their pause ends;
 * the queue is bounded by the kernel's), and exits once they have been quiet for DRAIN_IDLE_MS,
 * or after DRAIN_MAX_MS.
 */
class Drain {
  #since: number | undefined;
  #last = 0;
  readonly #wakers = new Set<() => void>();

  /** A message was read. */
  activity(): void {
    this.#last = performance.now();
  }

  /** A rate-limit pause of `ms`, cut short when draining starts; none while draining. */
  pause(ms: number): Promise<void> {
    if (this.#since !== undefined) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#wakers.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.#wakers.add(done);
    });
  }

  start(): void {
    if (this.#since !== undefined) return;
    this.#since = this.#last = performance.now();
    for (const wake of [...this.#wakers]) wake();
    setInterval(() => {
      const now = performance.now();
      if (now - this.#last >= DRAIN_IDLE_MS || now - this.#since! >= DRAIN_MAX_MS) Deno.exit(0);
    }, DRAIN_IDLE_MS / 4);
  }
}

/** Receives, forwards and rate-limits one socket until the host's /dev/log is gone. */
async function serve(
  conn: Deno.DatagramConn,
  spec: SocketSpec,
  host: HostLog,
  say: Say,
  drain: Drain,
): Promise<void> {
  const clock = () => performance.now() / 1000;
  const buf = new Uint8Array(MAX_DATAGRAM);
  let state = initialRateState(clock());
  for (;;) {
    const [data] = await conn.receive(buf);
    drain.activity();
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
    if (decision.sleep > 0) await drain.pause(decision.sleep * 1000);
  }
}

/** The last worker, after the others ended: logs the stop and removes the pid file as root. */
function stopWorker(opts: SocketdOptions, signal: string, say: Say): number {
  say(LOG_NOTICE, `${signal}: stopping`);
  if (opts.pidfile === undefined) return 0;
  try {
    removePidFile(opts.pidfile, Deno.ppid);
  } catch (e) {
    syslog(LOG_WARNING, `cannot remove pid file ${opts.pidfile}: ${messageOf(e)}`);
  }
  return 0;
}

/** The worker's life in `phase`; returns its exit code. */
export async function runWorker(
  opts: SocketdOptions,
  sys: SocketdHost,
  phase: WorkerPhase,
): Promise<number> {
  // LOG_NDELAY: connect now, while the host's /dev/log can still be reached.
  openlog(IDENT, LOG_PID | LOG_NDELAY, LOG_DAEMON);
  const say: Say = (priority, text, always = false) => {
    syslog(priority, text);
    if (opts.nodetach || always) sys.stdout(text);
  };
  if (phase.kind === "stop") return stopWorker(opts, phase.signal, say);

  // The first worker writes the pid file, naming the supervisor, and removes it itself when it
  // fails: it is still root then. Later workers leave it to the stop worker.
  const supervised = phase.kind !== "alone";
  let pidWritten = false;
  const fail = (code: number): number => {
    if (pidWritten && opts.pidfile !== undefined) {
      try {
        removePidFile(opts.pidfile, Deno.ppid);
      } catch (e) {
        syslog(LOG_WARNING, `cannot remove pid file ${opts.pidfile}: ${messageOf(e)}`);
      }
    }
    return code;
  };

  let ready = false;
  const drain = new Drain();
  Deno.addSignalListener("SIGTERM", () => {
    if (!ready) Deno.exit(fail(0));
    drain.start();
  });
  // The supervisor decides what SIGHUP and SIGINT mean; one sent to every jk_socketd process
  // (a terminal's ^C, killall -HUP) must not end the worker behind its back.
  Deno.addSignalListener("SIGHUP", () => {});
  Deno.addSignalListener("SIGINT", () => {});

  let config: SocketdConfig;
  try {
    config = loadConfig(opts);
  } catch (e) {
    if (phase.kind === "reload") {
      say(LOG_ERR, `SIGHUP: configuration not reloaded, keeping the sockets: ${messageOf(e)}`);
      return EXIT_KEEP;
    }
    say(LOG_ERR, messageOf(e), true);
    return EXIT_FAILURE;
  }
  if (phase.kind === "reload") {
    say(LOG_NOTICE, "SIGHUP: re-reading the configuration and re-creating the sockets");
  }
  for (const notice of config.notices) say(LOG_NOTICE, notice);

  if (phase.kind === "start" && opts.pidfile !== undefined) {
    try {
      writePidFile(opts.pidfile, Deno.ppid);
      pidWritten = true;
    } catch (e) {
      say(LOG_ERR, messageOf(e), true);
      return EXIT_FAILURE;
    }
  }

  let host: HostLog;
  try {
    host = HostLog.connect();
  } catch (e) {
    say(LOG_ERR, `cannot connect to ${HOST_LOG}: ${messageOf(e)}`, true);
    return fail(EXIT_FAILURE);
  }
  if (opts.nodetach) sys.stdout(`opened ${HOST_LOG}`);

  let creds: { uid: number; gid: number; groups: number[] };
  try {
    creds = lookupForwarderUser();
  } catch (e) {
    say(LOG_ERR, messageOf(e), true);
    return fail(EXIT_FAILURE);
  }

  const served: [Deno.DatagramConn, SocketSpec][] = [];
  for (const spec of config.sockets) {
    const conn = createSocket(spec, say);
    if (conn) served.push([conn, spec]);
  }
  if (served.length === 0) {
    say(LOG_ERR, "no socket could be created, nothing to do; exiting", true);
    if (Deno.uid() !== 0) say(LOG_ERR, "jk_socketd runs as root: you are not root", true);
    return fail(EXIT_FAILURE);
  }

  let problem: string | undefined;
  try {
    problem = prepareEmptyRoot();
  } catch (e) {
    problem = messageOf(e);
  }
  if (problem !== undefined) {
    say(LOG_ERR, `cannot chroot into ${EMPTY_ROOT}: ${problem}`, true);
    return fail(EXIT_UNSAFE_ROOT);
  }
  // Read while /proc is still reachable; given back once ready (see startupMappings).
  let mappings: ReturnType<typeof startupMappings> = [];
  try {
    const exe = Deno.realPathSync(Deno.execPath());
    mappings = startupMappings(Deno.readTextFileSync("/proc/self/smaps"), exe);
  } catch (e) {
    syslog(LOG_NOTICE, `start-up memory kept: ${messageOf(e)}`);
  }
  try {
    sys.enterJail(EMPTY_ROOT, creds);
  } catch (e) {
    say(LOG_ERR, `cannot drop privileges: ${messageOf(e)}`, true);
    return fail(EXIT_FAILURE);
  }
  ready = true;
  for (const { start, end } of mappings) {
    try {
      dropFilePages(start, end);
    } catch (e) {
      syslog(LOG_NOTICE, `start-up memory kept: ${messageOf(e)}`);
      break;
    }
  }

  if (supervised) {
    write(READY_FD, new Uint8Array([1]));
    close(READY_FD);
    (async () => {
      try {
        for await (const _ of Deno.stdin.readable) {
          // The supervisor never writes; only the end of the pipe matters.
        }
      } finally {
        Deno.exit(0);
      }
    })();
  }

  const loops = served.map(([conn, spec]) =>
    serve(conn, spec, host, say, drain).catch((e) => {
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
