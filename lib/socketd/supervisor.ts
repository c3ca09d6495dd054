/**
 * The start of jk_socketd's supervisor: the command the admin runs parses its options
 * (cli/jk_socketd.ts) and then becomes the native supervisor (ffi/jk_socketd_supervisor.c) by
 * execve, keeping its pid, its stdout and its environment (the launcher's clean one when
 * installed). The supervisor starts the worker, the one Deno runtime that stays (forwarder.ts).
 */
import { fileURLToPath } from "node:url";
import { JailkitError } from "../core/errors.ts";
import { installPrefix } from "../core/paths.ts";
import { RUN_FLAGS } from "../core/runtime.ts";
import { execve } from "../../ffi/libc.ts";
import { WORKER_ROLE } from "./process.ts";

/** The supervisor's file name: in LIBDIR when installed (tools/install.ts), else in out/. */
export const SUPERVISOR_NAME = "jk_socketd_supervisor";

/**
 * Where the supervisor is: LIBDIR/jk_socketd_supervisor in an installed tree, else
 * REPO/out/jk_socketd_supervisor of a checkout (tools/install.ts --supervisor builds it there).
 */
export function supervisorPath(): string {
  const prefix = installPrefix();
  if (prefix !== undefined) return `${prefix}/lib/jailkit/${SUPERVISOR_NAME}`;
  return fileURLToPath(new URL(`../../out/${SUPERVISOR_NAME}`, import.meta.url));
}

/**
 * The worker's command line: this runtime running this program with the role argument, with
 * the flags the installed launcher uses plus --unstable-net, which the datagram sockets need,
 * and V8's lite mode.
 */
export function workerCommand(args: readonly string[]): string[] {
  return [
    Deno.execPath(),
    "run",
    ...RUN_FLAGS,
    "--unstable-net",
    // No optimizing compiler: the worker stays ~6 MB smaller once it has relayed thousands of
    // messages, for ~25% more CPU per message (bench/socketd_bench.ts: 0.30 s instead of
    // 0.23 s for 10,000). A daemon that mostly waits is judged by its memory.
    "--v8-flags=--lite-mode",
    fileURLToPath(Deno.mainModule),
    WORKER_ROLE,
    ...args,
  ];
}

/** Replaces this process by the supervisor, which runs the worker with `args`. */
export function execSupervisor(args: readonly string[], nodetach: boolean): never {
  const path = supervisorPath();
  try {
    Deno.statSync(path);
  } catch {
    throw new JailkitError(
      "not-found",
      installPrefix() === undefined
        ? `${path} is missing: build it with deno run -A tools/install.ts --supervisor`
        : `${path} is missing: reinstall jailkit`,
    );
  }
  const env = Object.entries(Deno.env.toObject()).map(([k, v]) => `${k}=${v}`);
  try {
    return execve(path, [path, nodetach ? "--nodetach" : "--detach", ...workerCommand(args)], env);
  } catch (e) {
    throw new JailkitError("io", `cannot run ${path}: ${e instanceof Error ? e.message : e}`);
  }
}
