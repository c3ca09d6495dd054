/**
 * jk_lsh — the restricted in-jail shell (man/jk_lsh.8). Runs as the jailed user inside the jail,
 * so "/" is the jail: the user comes from the jail's own /etc/passwd and /etc/group, the config
 * is always /etc/jailkit/jk_lsh.ini (no option or variable can point it elsewhere), and every
 * message goes to syslog (ident jk_lsh, LOG_PID, LOG_AUTH) through the jail's /dev/log.
 * Refusals also print one short line on stderr that names no configuration detail.
 *
 * The session itself is lib/login/lsh_session.ts; lib/login/lsh.ts decides. On the login path, so it imports
 * nothing beyond what that needs.
 */
import { callerEnv, callerUmask } from "../lib/core/environ.ts";
import { LOG_AUTH, LOG_PID, openlog } from "../ffi/libc.ts";
import { runLshSession } from "../lib/login/lsh_session.ts";
import { USAGE } from "../lib/login/lsh.ts";
import { answerLoginInfo } from "../lib/entry/login_info.ts";

answerLoginInfo("jk_lsh", USAGE);
openlog("jk_lsh", LOG_PID, LOG_AUTH);
// Through the launcher the runtime's own variables are not the caller's: the caller's
// environment (already filtered by jk_chrootsh) arrives as data.
runLshSession({
  args: Deno.args,
  env: Object.fromEntries(callerEnv()),
  callerUmask: callerUmask(),
});
