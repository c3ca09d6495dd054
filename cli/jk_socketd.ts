/**
 * jk_socketd — creates rate-limited syslog sockets (normally JAIL/dev/log) and forwards what
 * jailed programs log there to the host's /dev/log (spec §2.10). lib/socketd/rules.ts decides; this
 * file binds, forwards, sleeps and manages the processes.
 *
 * Three roles, one program. The role is the first argument, set only by jk_socketd itself:
 *
 *   jk_socketd [OPTIONS]            the command the admin runs. With -n it is the supervisor;
 *                                   without, it starts a detached supervisor (Deno cannot
 *                                   fork: it re-executes itself), prints what the supervisor
 *                                   reports during start-up and exits once the sockets are
 *                                   ready, with the supervisor's status if they never are.
 *   --role=daemon [OPTIONS]         the detached supervisor.
 *   --role=worker [OPTIONS]         the forwarder, started by the supervisor.
 *
 * The supervisor stays root and outside any chroot, and does nothing but manage: it writes
 * and removes the pid file, restarts the forwarder on SIGHUP (re-reading the configuration)
 * and whenever it ends. The forwarder connects to the host's /dev/log, binds the jail sockets,
 * then chroots into an empty directory and becomes nobody with no groups and
 * PR_SET_NO_NEW_PRIVS (lib/login/privilege.ts). When the host's syslog daemon goes away (restarted,
 * socket recreated), the forwarder cannot reach the new /dev/log from its chroot: it exits and
 * the supervisor starts a fresh one, which connects to the new socket. jailkit 2.23 needed a
 * manual restart there, could not remove its pid file and never re-read its configuration.
 *
 * The role argument confers nothing a caller could not already do: a hand-started worker
 * is an ordinary jk_socketd without pid file or restarts.
 */
import * as fs from "node:fs";
import { posix } from "node:path";
import { fileURLToPath } from "node:url";
import { isRoot, main, parseOptions, stdout } from "../lib/entry/admin.ts";
import { JailkitError } from "../lib/core/errors.ts";
import { MAX_INI_BYTES } from "../lib/config/ini.ts";
import { lstatOrUndefined } from "../lib/engine/jailpath.ts";
import { parsePasswd, readDbFile } from "../lib/config/passwd.ts";
import { configDir } from "../lib/core/paths.ts";
import { type Credentials, enterJail } from "../lib/login/privilege.ts";
import {
  commandLineSocket,
  type DaemonEvent,
  decodeEvent,
  emptyRootProblem,
  encodeEvent,
  initialRateState,
  listeningMessage,
  MAX_DATAGRAM,
  parseSocketdConfig,
  planSocket,
  rateStep,
  rateWarning,
  restartDelay,
  type SocketdConfig,
  type SocketSpec,
} from "../lib/socketd/rules.ts";
import {
  connectUnix,
  ErrnoError,
  LOG_CRIT,
  LOG_DAEMON,
  LOG_ERR,
  LOG_NDELAY,
  LOG_NOTICE,
  LOG_PID,
  LOG_WARNING,
  MSG_DONTWAIT,
  MSG_NOSIGNAL,
  openlog,
  send,
  SOCK_DGRAM,
  SOCK_STREAM,
  syslog,
} from "../ffi/libc.ts";

const IDENT = "jk_socketd";
const HOST_LOG = "/dev/log";
/**
 * Where the forwarder chroots: an empty directory nobody but root can write. jailkit chrooted
 * into /etc/jailkit, which holds every jailkit configuration file.
 */
const EMPTY_ROOT = "/var/lib/jailkit/empty";
const NOBODY = "nobody";

const DAEMON_ROLE = "--role=daemon";
const WORKER_ROLE = "--role=worker";

/** Exit codes: jailkit's 1 and 53, and the forwarder's request to be restarted. */
const EXIT_FAILURE = 1;
const EXIT_UNSAFE_ROOT = 53;
const EXIT_HOST_LOG_GONE = 75;

/** A forwarder that lived this long after start-up is restarted without back-off. */
const STEADY_MS = 10_000;
/** How long the supervisor waits for the forwarder to end on SIGTERM before SIGKILL. */
const STOP_GRACE_MS = 5_000;
/** Longest protocol line read from another jk_socketd process. */
const MAX_EVENT_LINE = 64 * 1024;

const USAGE = `Usage: jk_socketd [-n] [-p FILE]
       jk_socketd [-n] [-p FILE] --socket=PATH [--base=INT] [--peak=INT] [--interval=FLOAT]

Creates the syslog sockets listed in ${configDir()}/jk_socketd.ini (normally JAIL/dev/log),
forwards what jailed programs log there to the host's /dev/log and limits each socket's rate.

  -p, --pidfile=FILE    write the daemon's pid to FILE; it is removed when the daemon stops
  -n, --nodetach        stay in the foreground and print the messages on stdout
      --socket=PATH     create only this socket (the ini file is not read)
      --base=INT        bytes per interval normally allowed (10..1000000, default 511)
      --peak=INT        bytes per interval allowed in a burst (100..10000000, default 2048;
                        --peek is accepted too)
      --interval=FLOAT  length of the interval in seconds (0.01..60, default 10)
  -h, --help            this text

SIGHUP re-reads the configuration and re-creates the sockets; SIGTERM stops the daemon.
Exit codes: 0 ok, 1 bad option or configuration, or no socket could be created,
53 the chroot directory ${EMPTY_ROOT} is not safe.`;

const OPTIONS = {
  pidfile: { type: "string", short: "p" },
  nodetach: { type: "boolean", short: "n" },
  help: { type: "boolean", short: "h" },
  socket: { type: "string" },
  base: { type: "string" },
  peak: { type: "string" },
  peek: { type: "string" },
  interval: { type: "string" },
} as const;

interface Options {
  readonly pidfile?: string;
  readonly nodetach: boolean;
  readonly help: boolean;
  readonly socket?: string;
  readonly base?: string;
  readonly peak?: string;
  readonly interval?: string;
}

function parse(args: string[]): Options {
  const { values, positionals } = parseOptions(args, OPTIONS, USAGE);
  if (positionals.length > 0) {
    throw new JailkitError("usage", `unexpected argument: ${positionals[0]}`);
  }
  const str = (v: unknown) => typeof v === "string" ? v : undefined;
  const pidfile = str(values.pidfile);
  return {
    pidfile: pidfile === undefined ? undefined : posix.resolve(Deno.cwd(), pidfile),
    nodetach: values.nodetach === true,
    help: values.help === true,
    socket: str(values.socket),
    base: str(values.base),
    peak: str(values.peak) ?? str(values.peek),
    interval: str(values.interval),
  };
}

// ---------------------------------------------------------------------------------------------
// Shared plumbing

/**
 * How this program runs itself again. From sources, with the flags the installed launcher
 * uses plus --unstable-net, which only the forwarder's datagram sockets need.
 */
function selfCommand(args: string[]): { command: string; args: string[] } {
  if (Deno.build.standalone) return { command: Deno.execPath(), args };
  return {
    command: Deno.execPath(),
    args: [
      "run",
      "--no-config",
      "--no-lock",
      "--no-remote",
      "--no-npm",
      "--no-prompt",
      "--no-code-cache",
      "--quiet",
      "-A",
      "--unstable-net",
      fileURLToPath(Deno.mainModule),
      ...args,
    ],
  };
}

const encoder = new TextEncoder();

function writeAllStdout(text: string): void {
  const bytes = encoder.encode(text);
  let offset = 0;
  while (offset < bytes.length) offset += Deno.stdout.writeSync(bytes.subarray(offset));
}

function emit(event: DaemonEvent): void {
  writeAllStdout(encodeEvent(event));
}

/** The protocol events on a stream; over-long lines (never written by us) are dropped. */
async function* readEvents(stream: ReadableStream<Uint8Array>): AsyncGenerator<DaemonEvent> {
  const decoder = new TextDecoder();
  let pending = "";
  let overlong = false;
  for await (const chunk of stream) {
    pending += decoder.decode(chunk, { stream: true });
    let newline: number;
    while ((newline = pending.indexOf("\n")) >= 0) {
      const line = pending.slice(0, newline);
      pending = pending.slice(newline + 1);
      if (!overlong) {
        const event = decodeEvent(line);
        if (event) yield event;
      }
      overlong = false;
    }
    if (pending.length > MAX_EVENT_LINE) {
      pending = "";
      overlong = true;
    }
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

function loadConfig(opts: Options): SocketdConfig {
  if (opts.socket !== undefined) {
    return commandLineSocket(opts.socket, {
      base: opts.base,
      peak: opts.peak,
      interval: opts.interval,
    });
  }
  const path = posix.join(configDir(), "jk_socketd.ini");
  return parseSocketdConfig(readConfigText(path), path);
}

function readConfigText(path: string): string {
  let file: Deno.FsFile;
  try {
    file = Deno.openSync(path, { read: true });
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new JailkitError("not-found", `${path}: configuration file not found`);
    }
    throw new JailkitError("io", `${path}: cannot open: ${messageOf(e)}`);
  }
  try {
    const info = file.statSync();
    if (!info.isFile) throw new JailkitError("config", `${path}: not a regular file`);
    const buf = new Uint8Array(MAX_INI_BYTES + 1);
    let used = 0;
    while (used < buf.length) {
      const n = file.readSync(buf.subarray(used));
      if (n === null) break;
      used += n;
    }
    if (used > MAX_INI_BYTES) {
      throw new JailkitError("config", `${path}: larger than ${MAX_INI_BYTES} bytes`);
    }
    return new TextDecoder("utf-8", { fatal: true }).decode(buf.subarray(0, used));
  } catch (e) {
    if (e instanceof JailkitError) throw e;
    throw new JailkitError("config", `${path}: cannot read: ${messageOf(e)}`);
  } finally {
    file.close();
  }
}

// ---------------------------------------------------------------------------------------------
// Pid file

/**
 * Writes "PID\n". The file is opened without following a symlink and without truncating, and
 * is only written when it is a regular file of ours with no other hard link: a planted link
 * must not turn the root-run daemon into a tool that overwrites some other file.
 */
function writePidFile(path: string, pid: number): void {
  const c = fs.constants;
  let fd: number;
  try {
    fd = fs.openSync(path, c.O_WRONLY | c.O_CREAT | c.O_NOFOLLOW | c.O_NONBLOCK, 0o644);
  } catch (e) {
    throw new JailkitError("io", `pid file ${path}: cannot open: ${messageOf(e)}`);
  }
  try {
    const info = fs.fstatSync(fd);
    if (!info.isFile()) throw new JailkitError("io", `pid file ${path}: not a regular file`);
    if (info.nlink !== 1) {
      throw new JailkitError("io", `pid file ${path}: has ${info.nlink} hard links`);
    }
    if (info.uid !== Deno.uid()) {
      throw new JailkitError("io", `pid file ${path}: owned by uid ${info.uid}, not by us`);
    }
    fs.fchmodSync(fd, 0o644);
    fs.ftruncateSync(fd, 0);
    fs.writeSync(fd, `${pid}\n`);
  } catch (e) {
    if (e instanceof JailkitError) throw e;
    throw new JailkitError("io", `pid file ${path}: ${messageOf(e)}`);
  } finally {
    fs.closeSync(fd);
  }
}

/** Removes the pid file if it is still ours (a later instance may have taken it over). */
function removePidFile(path: string, pid: number): void {
  try {
    if (!lstatOrUndefined(path)?.isFile) return;
    if (Deno.readTextFileSync(path) !== `${pid}\n`) return;
    Deno.removeSync(path);
  } catch (e) {
    syslog(LOG_WARNING, `cannot remove pid file ${path}: ${messageOf(e)}`);
  }
}

// ---------------------------------------------------------------------------------------------
// The command the admin runs, without -n

async function launchDaemon(args: string[]): Promise<number> {
  const self = selfCommand([DAEMON_ROLE, ...args]);
  const child = new Deno.Command(self.command, {
    args: self.args,
    detached: true,
    stdin: "null",
    stdout: "piped",
    stderr: "null",
  }).spawn();
  for await (const event of readEvents(child.stdout)) {
    if ("out" in event) stdout(event.out);
    else return 0;
  }
  const status = await child.status;
  return status.code === 0 ? EXIT_FAILURE : status.code;
}

// ---------------------------------------------------------------------------------------------
// Supervisor

async function supervise(opts: Options, args: string[], detached: boolean): Promise<number> {
  openlog(IDENT, LOG_PID, LOG_DAEMON);
  // Until the first forwarder is ready, start-up messages go to whoever started us; then only
  // -n keeps printing (a detached daemon's starter has exited).
  let attached = true;
  const show = (text: string) => {
    if (!attached) return;
    if (detached) emit({ out: text });
    else stdout(text);
  };
  const say = (priority: number, text: string) => {
    syslog(priority, text);
    if (opts.nodetach) show(text);
  };

  if (opts.pidfile !== undefined) {
    try {
      writePidFile(opts.pidfile, Deno.pid);
    } catch (e) {
      syslog(LOG_ERR, messageOf(e));
      show(messageOf(e));
      return EXIT_FAILURE;
    }
  }

  let worker: Deno.ChildProcess | undefined;
  let stopping = false;
  let reloading = false;
  let wake: (() => void) | undefined;
  const signalWorker = (signal: Deno.Signal) => {
    try {
      worker?.kill(signal);
    } catch {
      // It has just exited.
    }
  };
  const stop = (signal: Deno.Signal) => {
    if (stopping) return;
    stopping = true;
    say(LOG_NOTICE, `${signal}: stopping`);
    signalWorker("SIGTERM");
    Deno.unrefTimer(setTimeout(() => signalWorker("SIGKILL"), STOP_GRACE_MS));
    wake?.();
  };
  Deno.addSignalListener("SIGTERM", () => stop("SIGTERM"));
  Deno.addSignalListener("SIGINT", () => stop("SIGINT"));
  Deno.addSignalListener("SIGHUP", () => {
    if (stopping) return;
    try {
      loadConfig(opts);
    } catch (e) {
      say(LOG_ERR, `SIGHUP: configuration not reloaded, keeping the sockets: ${messageOf(e)}`);
      return;
    }
    say(LOG_NOTICE, "SIGHUP: re-reading the configuration and re-creating the sockets");
    reloading = true;
    signalWorker("SIGTERM");
    wake?.();
  });

  let everReady = false;
  let failures = 0;
  try {
    while (!stopping) {
      reloading = false;
      let readyAt: number | undefined;
      const self = selfCommand([WORKER_ROLE, ...args]);
      let code: number;
      try {
        // stdin stays an open pipe the worker never gets data from: when this process ends,
        // however it ends, the worker sees end-of-file and exits.
        worker = new Deno.Command(self.command, {
          args: self.args,
          stdin: "piped",
          stdout: "piped",
          stderr: "inherit",
        }).spawn();
        for await (const event of readEvents(worker.stdout)) {
          if ("out" in event) show(event.out);
          else if (readyAt === undefined) {
            readyAt = performance.now();
            if (!everReady && detached) {
              emit({ ready: true });
              attached = false;
            }
            everReady = true;
          }
        }
        code = (await worker.status).code;
      } catch (e) {
        say(LOG_ERR, `cannot run the forwarder: ${messageOf(e)}`);
        code = EXIT_FAILURE;
      }
      worker = undefined;
      if (stopping) break;
      if (reloading) {
        failures = 0;
        continue;
      }
      if (!everReady) return code === 0 ? EXIT_FAILURE : code;
      const steady = readyAt !== undefined && performance.now() - readyAt >= STEADY_MS;
      if (steady) failures = 0;
      const seconds = restartDelay(failures);
      failures++;
      say(LOG_NOTICE, `forwarder ended with status ${code}; starting a new one in ${seconds} s`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, seconds * 1000);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wake = undefined;
    }
    return 0;
  } finally {
    if (opts.pidfile !== undefined) removePidFile(opts.pidfile, Deno.pid);
  }
}

// ---------------------------------------------------------------------------------------------
// Forwarder

class HostLogGone extends Error {
  constructor(readonly code: string) {
    super(`the host's ${HOST_LOG} went away (${code})`);
    this.name = "HostLogGone";
  }
}

/** send(2) failures meaning the host's socket is gone: only a new connection helps. */
const GONE = new Set(["ECONNREFUSED", "ENOTCONN", "ECONNRESET", "EPIPE", "EDESTADDRREQ"]);
/** send(2) failures meaning the host's syslog daemon is busy: wait and try again. */
const BUSY = new Set(["EAGAIN", "ENOBUFS", "EINTR"]);

/** The connection to the host's /dev/log, made before the chroot. */
class HostLog {
  #queue: Promise<unknown> = Promise.resolve();

  private constructor(readonly fd: number, readonly stream: boolean) {}

  /** A datagram socket like glibc's syslog(), else a stream one (jailkit's fallback). */
  static connect(): HostLog {
    let datagramError: ErrnoError;
    try {
      return new HostLog(connectUnix(HOST_LOG, SOCK_DGRAM), false);
    } catch (e) {
      if (!(e instanceof ErrnoError)) throw e;
      datagramError = e;
    }
    try {
      return new HostLog(connectUnix(HOST_LOG, SOCK_STREAM), true);
    } catch (e) {
      if (!(e instanceof ErrnoError)) throw e;
      throw datagramError.code === "EPROTOTYPE" ? e : datagramError;
    }
  }

  /**
   * Forwards one message; returns the bytes the host took. Waits (without blocking the other
   * sockets) while the host's queue is full. On a stream each message is NUL-terminated, as
   * glibc frames it, and messages are sent one after another, never interleaved.
   */
  forward(data: Uint8Array<ArrayBuffer>): Promise<number> {
    if (!this.stream) return this.#send(data);
    let framed = data;
    if (data.at(-1) !== 0) {
      framed = new Uint8Array(data.length + 1);
      framed.set(data);
    }
    const result = this.#queue.then(() => this.#send(framed));
    this.#queue = result.catch(() => undefined);
    return result;
  }

  async #send(data: Uint8Array<ArrayBuffer>): Promise<number> {
    let offset = 0;
    let waitMs = 1;
    while (offset < data.length) {
      let n: number;
      try {
        n = send(this.fd, data.subarray(offset), MSG_DONTWAIT | MSG_NOSIGNAL);
      } catch (e) {
        if (e instanceof ErrnoError && BUSY.has(e.code)) {
          await delay(waitMs);
          waitMs = Math.min(waitMs * 2, 100);
          continue;
        }
        if (e instanceof ErrnoError && GONE.has(e.code)) throw new HostLogGone(e.code);
        throw e;
      }
      if (!this.stream) return n;
      offset += n;
      waitMs = 1;
    }
    return offset;
  }
}

function lookupNobody(): Credentials {
  const path = "/etc/passwd";
  const text = readDbFile(path);
  if (text === undefined) throw new JailkitError("io", `${path}: cannot read`);
  const entry = parsePasswd(text, path).byName(NOBODY);
  if (entry === undefined) throw new JailkitError("not-found", `${path}: no user ${NOBODY}`);
  if (entry.uid === 0 || entry.gid === 0) {
    throw new JailkitError("config", `${path}: user ${NOBODY} has uid or gid 0`);
  }
  return { uid: entry.uid, gid: entry.gid, groups: [] };
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

async function work(opts: Options): Promise<number> {
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

  let creds: Credentials;
  try {
    creds = lookupNobody();
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
    if (!isRoot()) say(LOG_ERR, "jk_socketd runs as root: you are not root", true);
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
    enterJail(EMPTY_ROOT, creds);
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

// ---------------------------------------------------------------------------------------------

async function run(): Promise<number> {
  const role = Deno.args[0] === DAEMON_ROLE || Deno.args[0] === WORKER_ROLE
    ? Deno.args[0]
    : undefined;
  const args = role === undefined ? Deno.args : Deno.args.slice(1);
  const opts = parse(args);
  if (opts.help) {
    stdout(USAGE);
    return 0;
  }
  if (role === WORKER_ROLE) return await work(opts);
  if (role === DAEMON_ROLE) {
    // Keeps no mount busy; every path the daemon uses is absolute.
    Deno.chdir("/");
    try {
      return await supervise(opts, args, true);
    } catch (e) {
      // A detached daemon's stderr goes nowhere.
      syslog(LOG_ERR, `internal error: ${e instanceof Error ? e.stack ?? e.message : e}`);
      throw e;
    }
  }
  if (opts.nodetach) return await supervise(opts, args, false);
  return await launchDaemon(args);
}

if (import.meta.main) await main(run, { usage: 1, config: 1, "not-found": 1, io: 1 });
