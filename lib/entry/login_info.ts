/**
 * The first step of the login entries that answer a lone --help or --version (jk_chrootsh,
 * jk_lsh, jk_procmailwrapper). On the login path: imports only what jk_lsh already loads.
 */
import { loginInfo } from "../core/runtime.ts";
import { writeOwnText } from "../core/output.ts";

/**
 * Prints the usage or the version and ends with 0 when the arguments ask for one (see
 * loginInfo); otherwise returns, before any privilege, configuration or log is touched.
 */
export function answerLoginInfo(tool: string, usage: string): void {
  const info = loginInfo(tool, Deno.args, usage);
  if (info === undefined) return;
  writeOwnText("stdout", info);
  Deno.exit(0);
}
