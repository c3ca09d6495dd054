/*
 * jk_launcher.c - the native entry point of every jailkit-deno tool.
 *
 * Deno must never be setuid (it honours DENO_*, NODE_*, RUST_* and HOME whatever glibc's secure
 * mode says, see docs/design.md, The launcher), and a root-run Deno must never be steered by
 * the caller's environment either. So each installed tool is this small program, compiled once
 * per tool with its name and the install paths baked in. It trusts nothing it is given for
 * paths: not argv, not the environment, not the working directory. It
 *
 *   1. makes sure fds 0-2 are open (on /dev/null), so no file the runtime opens can land there
 *      (in a setuid build glibc has already done so, with /dev/full on fd 0);
 *   2. closes every other descriptor (close_range, Linux 5.9+; no fallback that could miss one).
 *      A KEEP_FD3 build (jk_procmailwrapper, which jailkit runs procmail with fd 3 still open)
 *      treats fd 3 like 0-2: kept, or opened on /dev/null when closed, so that fd 3 is always
 *      the caller's or /dev/null and never a descriptor the runtime opened as root;
 *   3. resets every signal disposition to default and unblocks all signals. glibc refuses to
 *      touch its own 32 and 33; it installs its SIGSETXID handler (33) at start-up, and 32 is
 *      only used by pthread_cancel;
 *   4. starts the runtime with an environment built from scratch: the caller's variables reach
 *      the tool only as data (JAILKIT_CALLER_ENV: base64 of the NAME=value entries joined by
 *      NUL bytes, see lib/core/environ.ts), its argv[0] likewise (JAILKIT_ARGV0, base64), and its
 *      umask as JAILKIT_CALLER_UMASK (octal). The runtime itself runs with that umask plus 022,
 *      so it never creates a group- or world-writable file (its cache under DENO_DIR included);
 *   5. setuid builds (SETUID_ENTRY=1) also chdir("/"), so no path resolves against a directory
 *      the caller picked; the others keep the caller's working directory, which relative
 *      arguments (jk_init -j ./jail) and the commands jk_lsh starts in a home directory need;
 *   6. execs  LIBDIR/deno run <fixed flags> LIBDIR/cli/TOOL_NAME.ts ARGS...
 *      (TOOL_NAME.js, built with SCRIPT_EXT=".js", for a login entry bundled by the installer)
 *      argv[0] of the runtime is always its absolute path: Deno changes behaviour with its
 *      argv[0] (invoked as "dx" it runs `deno x`), so the caller's argv[0] never gets there.
 *
 * A setuid build keeps the effective uid 0 and the real ids; the tool then checks and drops
 * them (lib/login/privilege.ts). The kernel marks that process non-dumpable because its effective
 * and real uids differ, so the caller cannot ptrace it; there is nothing to add here.
 *
 * jk_lsh's build (LSH_ENTRY=1) is also what `jk_init … jk_lsh` copies into a jail, where it
 * only marks the user's shell: jk_chrootsh recognises it by LSH_ENTRY_MARKER (together with its
 * path, owner and mode, see lib/login/chrootsh_lsh.ts) and runs the session from the host's
 * installation in its own process, so the jail needs no runtime. Started any other way inside
 * such a jail (sshd's ChrootDirectory, su), it finds no runtime and says which jk_init section
 * installs a self-contained jk_lsh ([jk_lsh_standalone], which copies LIBDIR into the jail).
 *
 * Thin jails (man/jk_thin.ini.5) whose session has its own PID namespace start in two stages.
 * The tool, still root and with every check passed, calls unshare(CLONE_NEWPID) and execs this
 * launcher again; the process that unshares does not enter the new namespace, only its next
 * child does, as PID 1. Deno cannot fork, so this launcher does: when /proc/self/ns/pid can be
 * stat'ed but /proc/self/ns/pid_for_children cannot (ENOENT: a PID namespace was made and its
 * first process is not born yet), it forks. The child goes on below and becomes PID 1 of the
 * session; the parent only relays SIGHUP, SIGTERM, SIGINT, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH
 * and SIGCONT to it, waits, and exits with the child's status (128 + the signal when it was
 * killed). A PID 1 ignores every signal it has no handler for (pid_namespaces(7)), so a
 * program such as sftp-server would outlive a hang-up: after relaying SIGHUP or SIGTERM the
 * parent sends SIGKILL when the child has not ended within RELAY_GRACE_SECONDS. The parent
 * keeps no descriptor but 0-2 and its ids as they were (a set-uid build keeps euid 0, so the
 * caller cannot ptrace it). A caller cannot use this path to gain anything: making a PID
 * namespace needs CAP_SYS_ADMIN, and inside a user namespace a set-uid root exec gains nothing.
 *
 * Exit codes of the launcher itself: 10 fds 0-2 (0-3 with KEEP_FD3) cannot be opened; 1 anything
 * else (environment too large, descriptors cannot be closed, runtime cannot be executed).
 * Messages go to stderr and syslog (LOG_AUTH, ident TOOL_NAME).
 *
 * Build (tools/install.ts does this):
 *   cc -O2 -Wall -Wextra -Werror -D_FORTIFY_SOURCE=2 -fstack-protector-strong -pie -fPIE \
 *      -DTOOL_NAME='"jk_lsh"' -DLIBDIR='"/usr/lib/jailkit"' -DSETUID_ENTRY=0 \
 *      -o jk_lsh ffi/jk_launcher.c
 * (plus -DKEEP_FD3=1 for jk_procmailwrapper and -DLSH_ENTRY=1 for jk_lsh; the defaults are 0).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <syslog.h>
#include <unistd.h>

#if !defined(TOOL_NAME) || !defined(LIBDIR) || !defined(SETUID_ENTRY)
#error "build with -DTOOL_NAME=\"jk_x\" -DLIBDIR=\"/usr/lib/jailkit\" -DSETUID_ENTRY=0|1"
#endif

#ifndef KEEP_FD3
#define KEEP_FD3 0
#endif
#ifndef LSH_ENTRY
#define LSH_ENTRY 0
#endif
/* The highest descriptor handed through to the runtime. */
#define LAST_KEPT_FD (KEEP_FD3 ? 3 : 2)

/* ".js" for a login entry that tools/install.ts bundled into one file (it starts faster). */
#ifndef SCRIPT_EXT
#define SCRIPT_EXT ".ts"
#endif

#define RUNTIME LIBDIR "/deno"
#define SCRIPT LIBDIR "/cli/" TOOL_NAME SCRIPT_EXT
#define DENO_DIR LIBDIR "/deno-dir"

#if LSH_ENTRY
/*
 * What jk_chrootsh looks for in an in-jail jk_lsh (lib/login/chrootsh_lsh.ts LSH_ENTRY_MARKER):
 * "this is jailkit-deno's jk_lsh; its session may run in jk_chrootsh's process under protocol 1"
 * (arguments after argv[0], the environment jk_chrootsh filtered, the caller's umask). A later
 * protocol gets a new number, so an older jk_chrootsh execs the entry instead of guessing.
 */
__attribute__((used)) static const char lsh_entry_marker[] =
	"\n@(#)jailkit-deno jk_lsh entry, protocol 1\n";
#endif

/* Largest JAILKIT_CALLER_ENV value; the kernel's limit for one string is 128 KiB. */
#define MAX_ENCODED_ENV (96 * 1024)

static const char *const runtime_flags[] = {
	"run",
	"--no-config",    /* no deno.json / package.json discovery */
	"--no-lock",
	"--no-remote",
	"--no-npm",
	"--cached-only",
	"--no-code-cache", /* no V8 code cache: nothing compiled is ever read back from disk */
	"--no-prompt",
	"--quiet",
	"-A",
};
#define N_RUNTIME_FLAGS (sizeof runtime_flags / sizeof runtime_flags[0])

static void fail(int status, const char *what, int errnum)
{
	openlog(TOOL_NAME, LOG_PID, LOG_AUTH);
	if (errnum != 0) {
		syslog(LOG_ERR, "launcher: %s: %s", what, strerror(errnum));
		dprintf(2, "%s: %s: %s\n", TOOL_NAME, what, strerror(errnum));
	} else {
		syslog(LOG_ERR, "launcher: %s", what);
		dprintf(2, "%s: %s\n", TOOL_NAME, what);
	}
	_exit(status);
}

static void open_standard_fds(void)
{
	for (int fd = 0; fd <= LAST_KEPT_FD; fd++) {
		if (fcntl(fd, F_GETFD) != -1 || errno != EBADF)
			continue;
		/* The lowest free descriptor is `fd`, as every lower one is open. */
		int got = open("/dev/null", O_RDWR | O_NOCTTY);
		if (got != fd)
			_exit(10); /* nowhere to report to */
	}
}

static void reset_signals(void)
{
	struct sigaction dfl;
	memset(&dfl, 0, sizeof dfl);
	dfl.sa_handler = SIG_DFL;
	sigemptyset(&dfl.sa_mask);
	/* SIGKILL, SIGSTOP and the two glibc reserves for threads refuse; nothing to do there. */
	for (int sig = 1; sig < NSIG; sig++)
		(void)sigaction(sig, &dfl, NULL);
	sigset_t none;
	sigemptyset(&none);
	if (sigprocmask(SIG_SETMASK, &none, NULL) != 0)
		fail(1, "cannot unblock signals", errno);
}

/* How long a PID 1 may take to end after a relayed SIGHUP or SIGTERM before it is killed. */
#define RELAY_GRACE_SECONDS 2

/*
 * True in a process that made a PID namespace its children will enter (unshare(CLONE_NEWPID))
 * before any of them was born: pid_for_children is then absent while pid is there.
 */
static int pid_namespace_unborn(void)
{
	struct stat st;
	if (stat("/proc/self/ns/pid_for_children", &st) == 0 || errno != ENOENT)
		return 0;
	return stat("/proc/self/ns/pid", &st) == 0;
}

/*
 * Forks the first process of the new PID namespace, which returns and starts the runtime; this
 * process stays outside, relays signals to it and exits with its status. The relayed signals
 * are blocked before the fork, so none can end the parent before it waits for them.
 */
static void fork_pid_namespace_init(void)
{
	static const int relayed[] = { SIGHUP, SIGTERM, SIGINT, SIGQUIT,
				       SIGUSR1, SIGUSR2, SIGWINCH, SIGCONT };
	sigset_t waited, none;
	sigemptyset(&waited);
	for (size_t i = 0; i < sizeof relayed / sizeof relayed[0]; i++)
		sigaddset(&waited, relayed[i]);
	sigaddset(&waited, SIGCHLD);
	sigaddset(&waited, SIGALRM);
	sigemptyset(&none);
	if (sigprocmask(SIG_BLOCK, &waited, NULL) != 0)
		fail(1, "cannot block signals", errno);
	pid_t child = fork();
	if (child < 0)
		fail(1, "cannot fork the first process of the PID namespace", errno);
	if (child == 0) {
		if (sigprocmask(SIG_SETMASK, &none, NULL) != 0)
			fail(1, "cannot unblock signals", errno);
		return;
	}
	for (;;) {
		int status;
		pid_t done = waitpid(child, &status, WNOHANG);
		if (done == child) {
			if (WIFEXITED(status))
				_exit(WEXITSTATUS(status));
			_exit(128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0));
		}
		if (done < 0 && errno != EINTR)
			fail(1, "cannot wait for the first process of the PID namespace", errno);
		int sig = sigwaitinfo(&waited, NULL);
		if (sig < 0 || sig == SIGCHLD)
			continue;
		if (sig == SIGALRM) {
			(void)kill(child, SIGKILL);
			continue;
		}
		(void)kill(child, sig);
		if (sig == SIGHUP || sig == SIGTERM)
			alarm(RELAY_GRACE_SECONDS);
	}
}

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Writes base64 of in[0..n) to out (room for 4*ceil(n/3) bytes); returns the end. */
static char *base64(char *out, const unsigned char *in, size_t n)
{
	size_t i = 0;
	for (; i + 3 <= n; i += 3) {
		unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8 | in[i + 2];
		*out++ = b64[v >> 18 & 63];
		*out++ = b64[v >> 12 & 63];
		*out++ = b64[v >> 6 & 63];
		*out++ = b64[v & 63];
	}
	if (n - i == 1) {
		unsigned v = (unsigned)in[i] << 16;
		*out++ = b64[v >> 18 & 63];
		*out++ = b64[v >> 12 & 63];
		*out++ = '=';
		*out++ = '=';
	} else if (n - i == 2) {
		unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8;
		*out++ = b64[v >> 18 & 63];
		*out++ = b64[v >> 12 & 63];
		*out++ = b64[v >> 6 & 63];
		*out++ = '=';
	}
	return out;
}

/* "NAME=" followed by base64 of `data`; NULL when the encoding would exceed `limit`. */
static char *encoded_var(const char *name, const unsigned char *data, size_t n, size_t limit)
{
	size_t encoded = (n + 2) / 3 * 4;
	if (encoded > limit)
		return NULL;
	size_t name_len = strlen(name);
	char *var = malloc(name_len + 1 + encoded + 1);
	if (var == NULL)
		fail(1, "out of memory", 0);
	memcpy(var, name, name_len);
	var[name_len] = '=';
	*base64(var + name_len + 1, data, n) = '\0';
	return var;
}

/* The caller's environ entries joined by NUL bytes, base64-encoded, as JAILKIT_CALLER_ENV. */
static char *caller_env(char **envp)
{
	size_t total = 0;
	for (char **e = envp; *e != NULL; e++) {
		total += strlen(*e) + 1;
		if (total > MAX_ENCODED_ENV)
			return NULL;
	}
	unsigned char *joined = malloc(total + 1);
	if (joined == NULL)
		fail(1, "out of memory", 0);
	size_t at = 0;
	for (char **e = envp; *e != NULL; e++) {
		size_t len = strlen(*e);
		if (at != 0)
			joined[at++] = '\0';
		memcpy(joined + at, *e, len);
		at += len;
	}
	char *var = encoded_var("JAILKIT_CALLER_ENV", joined, at, MAX_ENCODED_ENV);
	free(joined);
	return var;
}

int main(int argc, char **argv, char **envp)
{
	open_standard_fds();
	if (close_range(LAST_KEPT_FD + 1, ~0U, 0) != 0)
		fail(1, "cannot close inherited file descriptors", errno);
	reset_signals();
	if (pid_namespace_unborn())
		fork_pid_namespace_init();

	char *env_var = caller_env(envp);
	if (env_var == NULL)
		fail(1, "environment too large (more than 96 KiB encoded); refusing to start", 0);

	/* With argc == 0, argv[0] is NULL and argv[1] would be the first environment entry. */
	const char *argv0 = argc > 0 && argv[0] != NULL ? argv[0] : "";
	char *argv0_var = encoded_var("JAILKIT_ARGV0", (const unsigned char *)argv0,
				      strlen(argv0), 8192);
	if (argv0_var == NULL)
		fail(1, "argv[0] too long", 0);

	mode_t caller_umask = umask(022);
	umask(caller_umask | 022);
	char umask_var[32];
	snprintf(umask_var, sizeof umask_var, "JAILKIT_CALLER_UMASK=%04o", (unsigned)caller_umask);

	char *envv[] = {
		"PATH=/usr/sbin:/usr/bin:/sbin:/bin",
		/* Deno reads $HOME/.npmrc; without HOME it asks NSS for the real user's home. */
		"HOME=" DENO_DIR,
		"DENO_DIR=" DENO_DIR,
		"DENO_NO_UPDATE_CHECK=1",
		"NO_COLOR=1",
		env_var,
		argv0_var,
		umask_var,
		NULL,
	};

	size_t nargs = argc > 1 ? (size_t)argc - 1 : 0;
	char **newargv = calloc(1 + N_RUNTIME_FLAGS + 1 + nargs + 1, sizeof *newargv);
	if (newargv == NULL)
		fail(1, "out of memory", 0);
	size_t n = 0;
	newargv[n++] = RUNTIME;
	for (size_t i = 0; i < N_RUNTIME_FLAGS; i++)
		newargv[n++] = (char *)runtime_flags[i];
	newargv[n++] = SCRIPT;
	for (size_t i = 0; i < nargs; i++)
		newargv[n++] = argv[i + 1];
	newargv[n] = NULL;

	if (SETUID_ENTRY && chdir("/") != 0)
		fail(1, "chdir(/)", errno);

	execve(RUNTIME, newargv, envv);
#if LSH_ENTRY
	if (errno == ENOENT)
		fail(1, "this jail has no jailkit-deno runtime (" RUNTIME "): jk_lsh here only marks "
			"the shell of users who log in through jk_chrootsh. Where sshd's ChrootDirectory, "
			"su or anything else starts jk_lsh inside the jail, install the self-contained "
			"jk_lsh: jk_init -j JAIL jk_lsh_standalone", 0);
#endif
	fail(1, "cannot execute " RUNTIME, errno);
}
