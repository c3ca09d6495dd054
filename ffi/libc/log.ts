/**
 * syslog(3), as jailkit's tools log.
 */
import { cString } from "./base.ts";
import { libc } from "./symbols.ts";

export const LOG_PID = 0x01;
export const LOG_CONS = 0x02;
export const LOG_NDELAY = 0x08;
export const LOG_PERROR = 0x20;

export const LOG_USER = 1 << 3;
export const LOG_DAEMON = 3 << 3;
export const LOG_AUTH = 4 << 3;
export const LOG_AUTHPRIV = 10 << 3;

export const LOG_EMERG = 0;
export const LOG_ALERT = 1;
export const LOG_CRIT = 2;
export const LOG_ERR = 3;
export const LOG_WARNING = 4;
export const LOG_NOTICE = 5;
export const LOG_INFO = 6;
export const LOG_DEBUG = 7;

/** glibc keeps the ident pointer, not a copy: the bytes must outlive every later syslog call. */
const pinned: { syslogIdent?: Uint8Array } = {};

export function openlog(ident: string, option: number, facility: number): void {
  const bytes = cString("openlog", "ident", ident);
  libc().openlog(bytes, option, facility);
  pinned.syslogIdent = bytes;
}

const PERCENT_S = cString("syslog", "format", "%s");

/** Logs `message` verbatim: it is only ever the argument of a "%s" format, never the format. */
export function syslog(priority: number, message: string): void {
  // A log line must not be lost over a NUL, so show it instead of refusing the message.
  libc().syslog(priority, PERCENT_S, cString("syslog", "message", message.replaceAll("\0", "\\0")));
}

/** The priorities the login tools log at, named as in syslog.conf(5). */
export type LogPriority = "err" | "warning" | "notice" | "info";

const PRIORITY: Record<LogPriority, number> = {
  err: LOG_ERR,
  warning: LOG_WARNING,
  notice: LOG_NOTICE,
  info: LOG_INFO,
};

/** syslog() at a priority given by name. */
export function logAt(priority: LogPriority, message: string): void {
  syslog(PRIORITY[priority], message);
}

export function closelog(): void {
  libc().closelog();
  // glibc's closelog forgets the ident pointer.
  delete pinned.syslogIdent;
}
