/**
 * Fake ThinSystem (lib/login/thin_session.ts) for the decision tests: a file system of plain
 * data, descriptors as numbers, and every effect recorded in `events`. `noThinSystem()` is the
 * host without /etc/jailkit/jk_thin.ini, for the tools' own tests.
 */
import { parseIni } from "../lib/config/ini.ts";
import type { StatInfo } from "../lib/login/common.ts";
import { THIN_CONFIG_FILE, type ThinSystem } from "../lib/login/thin_session.ts";
import { statOf } from "./login_fixture.ts";

export class FakeRestart extends Error {}

export interface ThinWorld {
  /** jk_thin.ini's text; undefined: no file. */
  config?: string;
  configStat?: StatInfo;
  dirStat?: StatInfo;
  pid?: number;
  tid?: number;
  stageRequested?: boolean;
  /** lstat results of paths inside the jail ("usr", "usr/lib"), as the walk opens them. */
  inJail?: Record<string, StatInfo>;
  /** Effects that fail, by name: "unshare", "bind:/usr", "tmp", "proc", "restart". */
  failing?: readonly string[];
}

/** The fake, which also tells how many of its descriptors are open. */
export type FakeThinSystem = ThinSystem & { openCount(): number };

export function fakeThinSystem(w: ThinWorld, events: string[]): FakeThinSystem {
  const fds = new Map<number, string>();
  let next = 10;
  const failIf = (what: string) => {
    if (w.failing?.includes(what)) {
      throw Object.assign(new Error(`${what}: EPERM (Operation not permitted)`), { code: "EPERM" });
    }
  };
  return {
    lstat(path) {
      if (path === THIN_CONFIG_FILE) {
        return w.config === undefined ? undefined : w.configStat ?? statOf(0o100644);
      }
      if (path === "/etc/jailkit") return w.dirStat ?? statOf(0o040755);
      return undefined;
    },
    readConfig: () => parseIni(w.config ?? "", THIN_CONFIG_FILE, "c"),
    pid: () => w.pid ?? 4242,
    tid: () => w.tid ?? w.pid ?? 4242,
    stageRequested: w.stageRequested ?? false,
    restart() {
      events.push("restart");
      failIf("restart");
      throw new FakeRestart("exec'd");
    },
    unshareMounts(network) {
      events.push(`unshare${network ? "" : "+net"}`);
      failIf("unshare");
    },
    openPath(dirFd, name) {
      const path = dirFd === undefined ? name : `${fds.get(dirFd)}/${name}`;
      if (w.inJail?.[path] === undefined) {
        throw Object.assign(new Error(`openat(${name}): ENOENT`), { code: "ENOENT" });
      }
      const fd = next++;
      fds.set(fd, path);
      return fd;
    },
    fstat: (fd) => w.inJail![fds.get(fd)!],
    close(fd) {
      if (!fds.delete(fd)) throw new Error(`close(${fd}): not open`);
    },
    bindReadOnly(host, target) {
      events.push(`bind ${host} -> ${fds.get(target)}`);
      failIf(`bind:${host}`);
    },
    mountTmp(size, target) {
      events.push(`tmpfs ${size}m -> ${fds.get(target)}`);
      failIf("tmp");
    },
    mountProc(target) {
      events.push(`proc -> ${fds.get(target)}`);
      failIf("proc");
    },
    openCount: () => fds.size,
  };
}

/** The host without jk_thin.ini: every jail is an ordinary one. */
export function noThinSystem(): ThinSystem {
  return fakeThinSystem({}, []);
}
