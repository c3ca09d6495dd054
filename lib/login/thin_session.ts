/**
 * The session of a thin jail (man/jk_thin.ini.5): what jk_chrootsh, jk_uchroot,
 * jk_procmailwrapper and jk_chrootlaunch do between their jail checks and the chroot when
 * /etc/jailkit/jk_thin.ini has a section for the jail. The decisions (which stage, which mount
 * point is refused, which exit code) run here against a ThinSystem; the production one is
 * lib/entry/setuid.ts hostThinSystem.
 *
 *   prepareThin      jk_thin.ini checked like a tool's own ini (root:root regular file, not a
 *                    symlink, not group/world writable) and parsed; the jail's section
 *                    (exit 55 when unsafe or malformed, naming FILE:LINE)
 *   carryOutThin     stage 1 (a PID namespace is needed and this process is not its PID 1):
 *                    unshare(CLONE_NEWPID) and exec the tool's launcher again with the caller's
 *                    argv[0], arguments, environment (plus JAILKIT_THIN_STAGE=2) and umask; the
 *                    launcher forks the namespace's PID 1 (ffi/jk_launcher.c), which runs every
 *                    check again and comes here as stage 2.
 *                    stage 2, or the only stage without a PID namespace: on the main thread
 *                    only, unshare(CLONE_NEWNS [| CLONE_NEWNET]), make every mount private,
 *                    check every mount point (below), then the read-only binds, the tmpfs and
 *                    proc, each built detached and moved onto the checked descriptor.
 *
 * Mount points are opened from the jail directory (the working directory enterJail pinned) one
 * component at a time with O_PATH|O_NOFOLLOW, each fstat'ed: a directory owned by root and
 * writable by neither group nor others, else exit 57 naming the path and why. The mount then
 * goes onto that descriptor (move_mount with an empty path), so nothing can be swapped between
 * the check and the mount. O_DIRECTORY is left out of the open (deviating from a plain
 * O_DIRECTORY walk) only so that the log line can say "is a symlink" rather than "not a
 * directory"; the fstat refuses anything but a directory the same.
 *
 * unshare(CLONE_NEWNS) changes only the calling thread, and gives it its own root and working
 * directory, so the chroot that follows also applies to it alone; execve ends the runtime's
 * other threads. That is only right when our JavaScript runs on the process's main thread
 * (gettid() == getpid()): otherwise exit 59 before anything is mounted. Every failure of
 * unshare, mount or exec is exit 59 with the errno name logged. The new namespace's mounts are
 * private, so nothing of the session shows on the host, and they go with its last process.
 *
 * A caller may set JAILKIT_THIN_STAGE itself: for a jail with a PID namespace it is refused
 * (59) unless this process is PID 1 of a namespace, which a caller cannot arrange for a
 * set-uid program (see ffi/jk_launcher.c); for any other jail it means nothing. The entry
 * points take the variable out of the caller's environment (lib/entry/setuid.ts), so it never
 * reaches the session.
 */
import { type IniFile } from "../config/ini.ts";
import {
  mountPoints,
  needsPidNamespace,
  THIN_CONFIG_NAME,
  type ThinJail,
  thinJailFor,
} from "../config/thin.ts";
import { JailkitError } from "../core/errors.ts";
import {
  CONFIG_DIR,
  errorMessage,
  GROUPW,
  type LogPriority,
  Refusal,
  safePathProblems,
  type StatInfo,
} from "./common.ts";

export const THIN_CONFIG_FILE = `${CONFIG_DIR}/${THIN_CONFIG_NAME}`;

/** Set by stage 1 in the environment it hands the launcher (see the module doc). */
export const THIN_STAGE_VAR = "JAILKIT_THIN_STAGE";

/**
 * Exit codes of a thin login, the same in jk_chrootsh, jk_uchroot, jk_procmailwrapper and
 * jk_chrootlaunch.
 */
export const THIN_EXIT = {
  /** jk_thin.ini is unsafe, unreadable or malformed */
  config: 55,
  /** a mount point in the jail is missing, a symlink, not root's or writable */
  mountPoint: 57,
  /** a namespace, mount or the second start failed */
  setup: 59,
} as const;

/** THIN_EXIT under the names the tools' EXIT tables give them. */
export const THIN_TOOL_EXIT = {
  thinConfig: THIN_EXIT.config,
  thinMountPoint: THIN_EXIT.mountPoint,
  thinSetup: THIN_EXIT.setup,
} as const;

const S_IFMT = 0o170000;
const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;

/** What a thin login needs from the system; production: lib/entry/setuid.ts hostThinSystem. */
export interface ThinSystem {
  lstat(path: string): StatInfo | undefined;
  /** THIN_CONFIG_FILE parsed with the C dialect; throws a JailkitError. */
  readConfig(): IniFile;
  /** getpid() as the kernel says it now, and the calling thread's id. */
  pid(): number;
  tid(): number;
  /** The caller's environment had JAILKIT_THIN_STAGE=2. */
  readonly stageRequested: boolean;
  /**
   * Stage 1: unshare(CLONE_NEWPID) and exec the tool's launcher again (module doc). Returns
   * only by throwing.
   */
  restart(): never;
  /** unshare(CLONE_NEWNS, plus CLONE_NEWNET with `network` false) and make "/" private. */
  unshareMounts(network: boolean): void;
  /** openat(dirFd or the working directory, name, O_PATH|O_NOFOLLOW|O_CLOEXEC); throws. */
  openPath(dirFd: number | undefined, name: string): number;
  /** fstat of a descriptor. */
  fstat(fd: number): StatInfo;
  close(fd: number): void;
  /** open_tree of `host` (recursive clone, no symlink followed), read-only, nosuid, nodev, moved onto `target`. */
  bindReadOnly(host: string, target: number): void;
  /** A tmpfs (mode 1777, size in MiB, nosuid, nodev) moved onto `target`. */
  mountTmp(sizeMiB: number, target: number): void;
  /** proc of this process's PID namespace (nosuid, nodev, noexec) moved onto `target`. */
  mountProc(target: number): void;
}

export type Report = (priority: LogPriority, message: string) => void;

/** What a login does for its jail. */
export type ThinPlan =
  | { readonly kind: "ordinary" }
  | { readonly kind: "restart"; readonly thin: ThinJail }
  /** `secondStage`: this process is PID 1 of the session's PID namespace. */
  | { readonly kind: "setup"; readonly thin: ThinJail; readonly secondStage: boolean };

/** Which stage this process is in, from the jail's settings, getpid() and the caller's variable. */
export function thinStage(
  thin: ThinJail | undefined,
  pid: number,
  stageRequested: boolean,
): ThinPlan | { readonly kind: "refuse"; readonly message: string } {
  if (thin === undefined) return { kind: "ordinary" };
  if (!needsPidNamespace(thin)) return { kind: "setup", thin, secondStage: false };
  if (pid === 1) return { kind: "setup", thin, secondStage: true };
  if (stageRequested) {
    return {
      kind: "refuse",
      message: `${THIN_STAGE_VAR} is set but this process (pid ${pid}) is not the first ` +
        `process of a PID namespace: the launcher did not start the second stage`,
    };
  }
  return { kind: "restart", thin };
}

/**
 * Why a mount point's component is refused, or undefined: it must be a directory owned by root
 * and writable by neither group nor others (`path` names it in the message).
 */
export function mountPointProblem(path: string, st: StatInfo): string | undefined {
  if (st.isSymlink || (st.mode & S_IFMT) === 0o120000) return `${path} is a symlink`;
  if ((st.mode & S_IFMT) !== S_IFDIR) return `${path} is not a directory`;
  if (st.uid !== 0) return `${path} is not owned by root (uid ${st.uid})`;
  if (st.mode & 0o022) return `${path} is group or world writable`;
  return undefined;
}

/**
 * Opens `point` (absolute, inside the jail; the working directory is the jail) one component
 * at a time, checking each with mountPointProblem. Returns the last descriptor (the caller
 * closes it), or the reason, naming the jail path.
 */
export function openMountPoint(
  sys: ThinSystem,
  jail: string,
  point: string,
): { readonly fd: number } | { readonly problem: string } {
  const parts = point.split("/").filter((p) => p !== "");
  let fd: number | undefined;
  let walked = jail;
  try {
    for (const part of parts) {
      walked = `${walked}/${part}`;
      let next: number;
      try {
        next = sys.openPath(fd, part);
      } catch (e) {
        const code = (e as { code?: string }).code;
        return {
          problem: code === "ENOENT" ? `${walked} is missing` : `${walked}: ${errorMessage(e)}`,
        };
      }
      if (fd !== undefined) sys.close(fd);
      fd = next;
      const problem = mountPointProblem(walked, sys.fstat(fd));
      if (problem !== undefined) return { problem };
    }
    if (fd === undefined) return { problem: `${point} is the jail itself` };
    const result = { fd };
    fd = undefined;
    return result;
  } finally {
    if (fd !== undefined) sys.close(fd);
  }
}

/**
 * The jail's section of jk_thin.ini, or undefined when the file or the section is absent.
 * Refuses (Refusal 55, logged) an unsafe /etc/jailkit or file, and any error in the file.
 */
function readThinJail(sys: ThinSystem, jail: string, report: Report): ThinJail | undefined {
  const fileStat = sys.lstat(THIN_CONFIG_FILE);
  if (fileStat === undefined) return undefined;
  const refuse = (message: string): never => {
    report("err", `${message}; refusing the login to thin jail candidate ${jail}`);
    throw new Refusal(THIN_EXIT.config);
  };
  const dir = safePathProblems(CONFIG_DIR, sys.lstat(CONFIG_DIR), 0, 0);
  for (const l of dir.logs) report(l.priority, l.message);
  if (dir.bits & ~GROUPW) refuse(`${CONFIG_DIR} is missing or unsafe`);
  const file = safePathProblems(THIN_CONFIG_FILE, fileStat, 0, 0);
  for (const l of file.logs) report(l.priority, l.message);
  if (file.bits !== 0 || (fileStat.mode & S_IFMT) !== S_IFREG) {
    refuse(
      `${THIN_CONFIG_FILE} is unsafe (must be a root:root regular file, not a symlink, ` +
        `not group/world writable)`,
    );
  }
  try {
    return thinJailFor(sys.readConfig(), jail);
  } catch (e) {
    if (!(e instanceof JailkitError)) throw e;
    return refuse(e.message);
  }
}

/**
 * The plan for `jail` (canonical; the working directory is the jail, still root): runs in the
 * tool's beforeChroot after its own checks. Throws a Refusal (logged) for exit 55 or 59.
 */
export function prepareThin(sys: ThinSystem, jail: string, report: Report): ThinPlan {
  const plan = thinStage(readThinJail(sys, jail, report), sys.pid(), sys.stageRequested);
  if (plan.kind === "refuse") {
    report("err", `thin jail ${jail}: ${plan.message}`);
    throw new Refusal(THIN_EXIT.setup);
  }
  return plan;
}

/**
 * Carries out `plan`: nothing for an ordinary jail; the second start (never returns) or the
 * session's namespaces and mounts. Throws a Refusal (logged) for exit 57 or 59.
 */
export function carryOutThin(sys: ThinSystem, plan: ThinPlan, report: Report): void {
  if (plan.kind === "ordinary") return;
  const { thin } = plan;
  const fail = (message: string, e?: unknown): never => {
    report(
      "err",
      `thin jail ${thin.jail}: ${message}${e === undefined ? "" : `: ${errorMessage(e)}`}`,
    );
    throw new Refusal(THIN_EXIT.setup);
  };
  if (plan.kind === "restart") {
    report(
      "info",
      `thin jail ${thin.jail}: new PID namespace; starting again as its first process`,
    );
    try {
      sys.restart();
    } catch (e) {
      return fail("cannot start the second stage", e);
    }
  }
  const pid = sys.pid();
  const tid = sys.tid();
  if (tid !== pid) {
    fail(`runs on thread ${tid}, not on the main thread ${pid}: refusing to mount`);
  }
  try {
    sys.unshareMounts(!thin.noNetwork);
  } catch (e) {
    fail("cannot make the session's namespaces", e);
  }
  const points = mountPoints(thin);
  const fds: number[] = [];
  try {
    for (const point of points) {
      const opened = openMountPoint(sys, thin.jail, point);
      if ("problem" in opened) {
        report("err", `thin jail ${thin.jail}: mount point refused: ${opened.problem}`);
        throw new Refusal(THIN_EXIT.mountPoint);
      }
      fds.push(opened.fd);
    }
    thin.readonlyBinds.forEach((host, i) => {
      try {
        sys.bindReadOnly(host, fds[i]);
      } catch (e) {
        fail(`cannot bind ${host} read-only`, e);
      }
    });
    let next = thin.readonlyBinds.length;
    if (thin.privateTmp) {
      try {
        sys.mountTmp(thin.tmpSizeMiB, fds[next++]);
      } catch (e) {
        fail("cannot mount the private /tmp", e);
      }
    }
    if (thin.privateProc) {
      try {
        sys.mountProc(fds[next]);
      } catch (e) {
        fail("cannot mount the session's /proc", e);
      }
    }
  } finally {
    for (const fd of fds) sys.close(fd);
  }
}

/**
 * prepareThin then carryOutThin: the whole thin step of jk_chrootsh, jk_uchroot and
 * jk_procmailwrapper, with the tool's `entering` line ("now entering jail ...", info) in
 * between. With a PID namespace only the first stage logs it, with the caller's pid: the
 * second stage (the namespace's PID 1) checks everything again but the login is the same one.
 * A refused jk_thin.ini or stage marker comes before the line.
 */
export function enterThinSession(
  sys: ThinSystem,
  jail: string,
  report: Report,
  entering: string,
): void {
  const plan = prepareThin(sys, jail, report);
  if (plan.kind !== "setup" || !plan.secondStage) report("info", entering);
  carryOutThin(sys, plan, report);
}
