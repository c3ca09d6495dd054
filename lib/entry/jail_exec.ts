/**
 * The last step of the login entries (jk_chrootsh, jk_uchroot, jk_chrootlaunch,
 * jk_procmailwrapper): exec the program they decided on, and say why when that fails.
 */
import { execInJail, type ExecSpec } from "../login/privilege.ts";
import { log } from "./setuid.ts";

/** What an entry adds around the exec. */
export interface ExecSteps {
  /**
   * Runs first, with the same failure handling as the exec: returns a status to end with
   * instead of exec'ing, or undefined to go on (jk_chrootsh's in-process jk_lsh session).
   */
  before?: (exec: ExecSpec, context: string) => number | undefined;
  /** Shows the failure to the caller too (the entries that print errors on stderr). */
  tell?: (why: string) => void;
}

/**
 * Execs `exec`, which does not return when it works. When it (or `steps.before`) throws, logs
 * `CONTEXT: cannot execute PATH: WHY` and returns `failure`.
 */
export function execDecided(
  exec: ExecSpec,
  context: string,
  failure: number,
  steps: ExecSteps = {},
): number {
  try {
    const status = steps.before?.(exec, context);
    if (status !== undefined) return status;
    execInJail(exec);
  } catch (e) {
    const why = `${context}: cannot execute ${exec.path}: ${(e as Error).message}`;
    log("err", why);
    steps.tell?.(why);
    return failure;
  }
}
