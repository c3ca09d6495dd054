/**
 * The one wiring of the host system for the privileged entry points (jk_chrootsh, jk_uchroot,
 * jk_procmailwrapper, jk_chrootlaunch): the caller and the host as lib/login/common.ts
 * CallerSystem describes them (hostCallerSystem), syslog by priority name, quiet writes to a
 * caller's stream, and the last-resort handler that logs an internal error and exits with the
 * tool's status. Each cli/ entry adds only what its own tool needs.
 */
import {
  AT_EMPTY_PATH,
  AT_FDCWD,
  AT_RECURSIVE,
  AT_SYMLINK_NOFOLLOW,
  CLONE_NEWNET,
  CLONE_NEWNS,
  CLONE_NEWPID,
  close,
  execve,
  geteuid,
  getgroups,
  getpid,
  gettid,
  LOG_NDELAY,
  LOG_PID,
  logAt,
  makeRootPrivate,
  MOUNT_ATTR_NODEV,
  MOUNT_ATTR_NOEXEC,
  MOUNT_ATTR_NOSUID,
  MOUNT_ATTR_RDONLY,
  mountSetattr,
  moveMount,
  newMount,
  O_CLOEXEC,
  O_NOFOLLOW,
  O_PATH,
  OPEN_TREE_CLOEXEC,
  OPEN_TREE_CLONE,
  openat,
  openlog,
  openTree,
  S_IFDIR,
  S_IFLNK,
  S_IFMT,
  statEntry,
  statx,
  umask,
  unshare,
} from "../../ffi/libc.ts";
import type { CallerSystem, LogPriority, StatInfo } from "../login/common.ts";
import { enterJail } from "../login/privilege.ts";
import { THIN_CONFIG_FILE, THIN_STAGE_VAR, type ThinSystem } from "../login/thin_session.ts";
import { readIni } from "../config/ini.ts";
import { installPrefix } from "../core/paths.ts";
import { callerEnv, callerUmask, launcherArgv0 } from "../core/environ.ts";
import {
  type GroupFile,
  loadDbFile,
  parseGroup,
  parsePasswd,
  type PasswdFile,
} from "../config/passwd.ts";

/**
 * Opens syslog with NDELAY: the connection to the host's /dev/log is made now, so lines logged
 * after the chroot still arrive.
 */
export function openToolLog(ident: string, facility: number): void {
  openlog(ident, LOG_PID | LOG_NDELAY, facility);
}

export function log(priority: LogPriority, message: string): void {
  logAt(priority, message);
}

export function statInfo(get: () => Deno.FileInfo): StatInfo | undefined {
  try {
    const st = get();
    if (st.mode === null || st.uid === null || st.gid === null) return undefined;
    return { isSymlink: st.isSymlink, mode: st.mode, uid: st.uid, gid: st.gid };
  } catch {
    return undefined;
  }
}

/**
 * lstat(2) through libc, where a missing path is an answer rather than the exception
 * Deno.lstatSync makes of it (about 1.5 ms each on the login path: jk_chrootsh checks the
 * jail's bin/ and sbin/, which an sftp-only jail lacks, and looks for jk_thin.ini). Undefined
 * when the path cannot be stat'ed.
 */
export function lstatPath(path: string): StatInfo | undefined {
  let st;
  try {
    st = statEntry(AT_FDCWD, path);
  } catch {
    return undefined;
  }
  if (st === undefined) return undefined;
  return { isSymlink: (st.mode & S_IFMT) === S_IFLNK, mode: st.mode, uid: st.uid, gid: st.gid };
}

/** stat(2): lstatPath, followed through Deno.statSync only when the path is a symlink. */
export function statPath(path: string): StatInfo | undefined {
  const st = lstatPath(path);
  return st?.isSymlink ? statInfo(() => Deno.statSync(path)) : st;
}

export function hostPasswd(): PasswdFile | undefined {
  return loadDbFile("/etc/passwd", parsePasswd);
}

export function hostGroup(): GroupFile | undefined {
  return loadDbFile("/etc/group", parseGroup);
}

/** Canonical absolute path, or undefined when it does not resolve. */
export function realpath(path: string): string | undefined {
  try {
    return Deno.realPathSync(path);
  } catch {
    return undefined;
  }
}

/**
 * The caller and the host, as the launcher handed them over: argv[0] (empty when the launcher
 * gave none), arguments, ids, the caller's groups, environment and umask, the host's passwd
 * and group, stat, the privilege sequence and syslog.
 */
export function hostCallerSystem(): CallerSystem {
  return {
    argv0: launcherArgv0() ?? "",
    args: Deno.args,
    euid: geteuid(),
    uid: Deno.uid() ?? -1,
    gid: Deno.gid() ?? -1,
    groups: getgroups,
    callerEnv: sessionEnv(),
    callerUmask: callerUmask(),
    hostPasswd,
    hostGroup,
    lstat: lstatPath,
    stat: statPath,
    enterJail,
    log,
  };
}

/** The caller's environment without the thin jails' stage marker (never the session's). */
function sessionEnv(): Map<string, string> {
  const env = new Map(callerEnv());
  env.delete(THIN_STAGE_VAR);
  return env;
}

/** The entry points that set up thin sessions, and where tools/install.ts puts each launcher. */
const LAUNCHER_DIR = {
  jk_chrootsh: "sbin",
  jk_uchroot: "bin",
  jk_procmailwrapper: "bin",
  jk_chrootlaunch: "sbin",
} as const;

function fdStat(fd: number): StatInfo {
  const st = statx(fd, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW);
  return { isSymlink: (st.mode & S_IFMT) === S_IFLNK, mode: st.mode, uid: st.uid, gid: st.gid };
}

/**
 * The thin-jail steps of lib/login/thin_session.ts on the host: the second start through the
 * tool's installed launcher, and the namespaces and mounts through the new mount API.
 */
export function hostThinSystem(tool: keyof typeof LAUNCHER_DIR): ThinSystem {
  return {
    lstat: lstatPath,
    readConfig: () => readIni(THIN_CONFIG_FILE, "c"),
    pid: getpid,
    tid: gettid,
    stageRequested: callerEnv().has(THIN_STAGE_VAR),
    restart() {
      const prefix = installPrefix();
      if (prefix === undefined) {
        throw new Error(`${tool} does not run from an installed tree: no launcher to start`);
      }
      const env = [...sessionEnv()].map(([k, v]) => `${k}=${v}`);
      env.push(`${THIN_STAGE_VAR}=2`);
      unshare(CLONE_NEWPID);
      const mask = callerUmask();
      if (mask !== undefined) umask(mask);
      return execve(
        `${prefix}/${LAUNCHER_DIR[tool]}/${tool}`,
        [launcherArgv0() ?? tool, ...Deno.args],
        env,
      );
    },
    unshareMounts(network) {
      unshare(CLONE_NEWNS | (network ? 0 : CLONE_NEWNET));
      makeRootPrivate();
    },
    openPath: (dirFd, name) => openat(dirFd ?? AT_FDCWD, name, O_PATH | O_NOFOLLOW | O_CLOEXEC),
    fstat: fdStat,
    close,
    bindReadOnly(host, target) {
      const tree = openTree(
        AT_FDCWD,
        host,
        OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE | AT_SYMLINK_NOFOLLOW,
      );
      try {
        if ((fdStat(tree).mode & S_IFMT) !== S_IFDIR) throw new Error(`${host} is not a directory`);
        mountSetattr(
          tree,
          AT_EMPTY_PATH | AT_RECURSIVE,
          MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV,
        );
        moveMount(tree, target);
      } finally {
        close(tree);
      }
    },
    mountTmp(sizeMiB, target) {
      const fs = newMount(
        "tmpfs",
        // uid and gid: the creator's fsgid would be the caller's gid (set-uid, not set-gid).
        { size: `${sizeMiB}m`, mode: "1777", uid: "0", gid: "0" },
        MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV,
      );
      try {
        moveMount(fs, target);
      } finally {
        close(fs);
      }
    },
    mountProc(target) {
      const fs = newMount("proc", {}, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC);
      try {
        moveMount(fs, target);
      } finally {
        close(fs);
      }
    },
  };
}

/** Writes all of `text`; a stream the caller closed is not an error (syslog has the story). */
export function writeQuietly(stream: typeof Deno.stdout | typeof Deno.stderr, text: string): void {
  const bytes = new TextEncoder().encode(text);
  let done = 0;
  try {
    while (done < bytes.length) done += stream.writeSync(bytes.subarray(done));
  } catch {
    // closed by the caller
  }
}

/**
 * Runs a tool's main function and exits with its status; an unexpected exception is logged
 * (and shown on stderr when `tell` is given) and ends with `internalStatus`.
 */
export function runPrivileged(
  main: () => number,
  internalStatus: number,
  tell?: (message: string) => void,
): never {
  let status: number;
  try {
    status = main();
  } catch (e) {
    const why = `internal error: ${(e as Error)?.stack ?? e}`;
    try {
      log("err", why);
    } catch {
      // syslog itself failed; stderr (if any) is all that is left.
    }
    tell?.(why);
    status = internalStatus;
  }
  Deno.exit(status);
}
