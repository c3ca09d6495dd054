/*
 * jk_socketd_supervisor.c - the process that stays of a running jk_socketd (man/jk_socketd.8).
 *
 * jk_socketd runs ONE Deno runtime, its worker (lib/socketd/forwarder.ts), which decides
 * everything: it reads the configuration, writes the pid file, binds the jail sockets, connects
 * to the host's /dev/log, then chroots into an empty directory and becomes an unprivileged user
 * to relay. This program is the mechanism around it, as small as jailkit's own daemon: it starts
 * the worker, restarts it when it ends (with back-off), replaces it on SIGHUP and stops it on
 * SIGTERM. It reads no configuration and decides nothing about jails; a second runtime in its
 * place (jk_socketd up to 2.23-deno) cost ~47 MB of RSS where this costs ~1.5 MB.
 *
 * Only cli/jk_socketd.ts runs it, by execve() after checking the command line, so it keeps the
 * pid of the command the admin ran:
 *
 *   jk_socketd_supervisor --nodetach|--detach PROGRAM ARG...
 *
 * PROGRAM ARG... is the worker's command line (the runtime, its flags, cli/jk_socketd.ts
 * --role=worker and the options). Each worker gets
 *   fd 0  a pipe this process never writes to: it reads end-of-file when the supervisor is
 *         gone, however it went, so a worker never outlives it;
 *   fd 1  a pipe this process copies to its own stdout (with --nodetach always, with --detach
 *         until the first worker is ready; later it is read and dropped);
 *   fd 2  this process's stderr (/dev/null once detached);
 *   fd 3  the readiness pipe: the worker writes one byte once its sockets are bound and its
 *         privileges dropped;
 *   JK_SOCKETD_PHASE in its environment: "start" (the first worker), "reload" (SIGHUP while
 *         a worker runs), "restart" (after a worker ended) or "stop:SIGTERM" / "stop:SIGINT"
 *         (the last one, which only logs the stop and removes the pid file as root: the
 *         relaying worker cannot, it is chrooted and unprivileged by then).
 *
 * Life cycle:
 *   - --detach forks first: the parent waits until the first worker is ready (exit 0) or the
 *     child ends (its status, 1 for 0), so `jk_socketd` returns once the sockets exist
 *     (systemd Type=forking); the child calls setsid() and supervises.
 *   - The first worker ending before it is ready ends the supervisor with its status.
 *   - SIGHUP starts a "reload" worker next to the running one; once it is ready the old one
 *     gets SIGTERM (it relays what is still queued in its sockets, then exits), so a worker is
 *     always on the sockets. A reload worker that exits with EXIT_KEEP (its configuration was
 *     unreadable, it touched nothing) leaves the old one running; one that failed otherwise may
 *     have replaced some sockets, so the old one is ended and a new worker started as after a
 *     crash.
 *   - A worker that ends (a crash, or the host's syslog went away: only a process outside the
 *     chroot can connect again) is started again: at once if it had run STEADY_MS, else after
 *     1, 2, 4... up to 60 seconds while they keep failing.
 *   - SIGTERM or SIGINT: every worker gets SIGTERM (SIGKILL after STOP_GRACE_MS), then the
 *     stop worker runs; this process exits with its status.
 *
 * Messages (stdout while shown, and syslog as jk_socketd, LOG_DAEMON): only what this process
 * alone knows: that a worker ended and when the next one starts, or that none could be started.
 *
 * Build (tools/install.ts does this, installing it as LIBDIR/jk_socketd_supervisor):
 *   cc -O2 -Wall -Wextra -Werror -D_FORTIFY_SOURCE=2 -fstack-protector-strong -pie -fPIE \
 *      -o jk_socketd_supervisor ffi/jk_socketd_supervisor.c
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

/* lib/socketd/process.ts EXIT_FAILURE and EXIT_KEEP. */
#define EXIT_FAILURE_STATUS 1
#define EXIT_KEEP 76
/* A worker that ran this long after it was ready is restarted without back-off. */
#define STEADY_MS 10000
/* How long workers may take to end on SIGTERM before SIGKILL. */
#define STOP_GRACE_MS 5000
#define MAX_DELAY_S 60
/* The current worker, one starting, a few retiring, the stop worker. */
#define MAX_WORKERS 6
#define PHASE_VAR "JK_SOCKETD_PHASE="

enum state { FREE, STARTING, ACTIVE, RETIRING, STOPPER };

struct worker {
	enum state state;
	pid_t pid;
	int out;    /* its stdout, or -1 */
	int ready;  /* its readiness pipe, or -1 */
	int reload; /* started by SIGHUP next to an active worker */
	long long ready_at;
};

static struct worker workers[MAX_WORKERS];
static char **worker_argv;
static char **worker_env; /* environ without PHASE_VAR, then the phase, then NULL */
static size_t phase_slot;
static int life_read = -1; /* every worker's stdin */
static int nodetach;
static int attached = 1;   /* copying worker output to our stdout */
static int status_fd = -1; /* --detach: the waiting parent */
static int ever_ready;
static int failures;
static const char *stopping; /* "SIGTERM" or "SIGINT" once asked to stop */
static int hup_pending;
static long long restart_at = -1;
static long long kill_at = -1;

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void write_all(int fd, const char *buf, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, buf, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return; /* a reader that went away must not stop the daemon */
		buf += w;
		n -= (size_t)w;
	}
}

static void say(int priority, const char *fmt, ...)
{
	char text[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(text, sizeof text, fmt, ap);
	va_end(ap);
	syslog(priority, "%s", text);
	if (nodetach || attached) {
		write_all(1, text, strlen(text));
		write_all(1, "\n", 1);
	}
}

static void set_flags(int fd)
{
	fcntl(fd, F_SETFD, FD_CLOEXEC);
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

/* Starts a worker in `phase`; returns its slot, or NULL (reported) when that failed. */
static struct worker *spawn(enum state state, const char *phase)
{
	struct worker *w = NULL;
	for (int i = 0; i < MAX_WORKERS && w == NULL; i++)
		if (workers[i].state == FREE)
			w = &workers[i];
	if (w == NULL) {
		say(LOG_ERR, "cannot run the forwarder: too many workers still ending");
		return NULL;
	}
	int out[2], ready[2];
	if (pipe(out) != 0) {
		say(LOG_ERR, "cannot run the forwarder: pipe: %s", strerror(errno));
		return NULL;
	}
	if (pipe(ready) != 0) {
		say(LOG_ERR, "cannot run the forwarder: pipe: %s", strerror(errno));
		close(out[0]);
		close(out[1]);
		return NULL;
	}
	static char phase_var[64];
	snprintf(phase_var, sizeof phase_var, PHASE_VAR "%s", phase);
	worker_env[phase_slot] = phase_var;
	pid_t pid = fork();
	if (pid == 0) {
		/* fds 0-2 are open (main), so the pipes are above 2; fd 3 may be one of them. */
		if (dup2(life_read, 0) < 0 || dup2(out[1], 1) < 0 || dup2(ready[1], 3) < 0)
			_exit(EXIT_FAILURE_STATUS);
		if (close_range(4, ~0U, 0) != 0)
			_exit(EXIT_FAILURE_STATUS);
		signal(SIGPIPE, SIG_DFL);
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		execve(worker_argv[0], worker_argv, worker_env);
		int e = errno;
		dprintf(2, "jk_socketd: cannot run the forwarder %s: %s\n", worker_argv[0],
			strerror(e));
		syslog(LOG_ERR, "cannot run the forwarder %s: %s", worker_argv[0], strerror(e));
		_exit(EXIT_FAILURE_STATUS);
	}
	int fork_errno = errno;
	close(out[1]);
	close(ready[1]);
	if (pid < 0) {
		close(out[0]);
		close(ready[0]);
		say(LOG_ERR, "cannot run the forwarder: fork: %s", strerror(fork_errno));
		return NULL;
	}
	set_flags(out[0]);
	set_flags(ready[0]);
	*w = (struct worker){ .state = state, .pid = pid, .out = out[0], .ready = ready[0] };
	return w;
}

static struct worker *find(enum state state)
{
	for (int i = 0; i < MAX_WORKERS; i++)
		if (workers[i].state == state)
			return &workers[i];
	return NULL;
}

static int any_worker(void)
{
	for (int i = 0; i < MAX_WORKERS; i++)
		if (workers[i].state != FREE)
			return 1;
	return 0;
}

/* Copies (or drops) what a worker printed; closes the pipe at end-of-file. */
static void relay(struct worker *w)
{
	char buf[4096];
	while (w->out >= 0) {
		ssize_t n = read(w->out, buf, sizeof buf);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) {
			close(w->out);
			w->out = -1;
			return;
		}
		if (nodetach || attached)
			write_all(1, buf, (size_t)n);
	}
}

/* --detach: the first worker is ready; the waiting parent returns 0. */
static void detach_done(void)
{
	if (status_fd < 0)
		return;
	/* Nobody reads our stdout any more: it goes where stdin and stderr went. */
	int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (null >= 0) {
		dup2(null, 1);
		close(null);
	}
	attached = 0;
	write_all(status_fd, "", 1);
	close(status_fd);
	status_fd = -1;
}

static void on_ready(struct worker *w)
{
	w->ready_at = now_ms();
	for (int i = 0; i < MAX_WORKERS; i++) {
		if (workers[i].state == ACTIVE) {
			workers[i].state = RETIRING;
			kill(workers[i].pid, SIGTERM);
		}
	}
	w->state = ACTIVE;
	ever_ready = 1;
	detach_done();
}

/* Reads the readiness byte, if any; closes the pipe at end-of-file. */
static void check_ready(struct worker *w)
{
	while (w->ready >= 0) {
		char b;
		ssize_t n = read(w->ready, &b, 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		close(w->ready);
		w->ready = -1;
		if (n == 1 && w->state == STARTING && !stopping)
			on_ready(w);
	}
}

static int backoff(int n)
{
	if (n <= 0)
		return 0;
	int d = 1 << (n - 1 < 6 ? n - 1 : 6);
	return d < MAX_DELAY_S ? d : MAX_DELAY_S;
}

static void schedule_restart(int status, int steady)
{
	if (steady)
		failures = 0;
	int seconds = backoff(failures);
	failures++;
	say(LOG_NOTICE, "forwarder ended with status %d; starting a new one in %d s", status,
	    seconds);
	restart_at = now_ms() + (long long)seconds * 1000;
}

static void start_reload(void)
{
	hup_pending = 0;
	if (find(ACTIVE) != NULL) {
		struct worker *w = spawn(STARTING, "reload");
		if (w != NULL)
			w->reload = 1;
		return;
	}
	/* Waiting to restart after failures: the admin asks for it now. */
	restart_at = -1;
	failures = 0;
	spawn(STARTING, "restart");
}

static void begin_stop(const char *signame)
{
	if (stopping)
		return;
	stopping = signame;
	restart_at = -1;
	hup_pending = 0;
	for (int i = 0; i < MAX_WORKERS; i++)
		if (workers[i].state != FREE)
			kill(workers[i].pid, SIGTERM);
	kill_at = now_ms() + STOP_GRACE_MS;
}

/* A worker ended with `status`; returns the supervisor's exit status when it ends too, else -1. */
static int on_worker_exit(struct worker *w, int status)
{
	check_ready(w); /* ready, then ended at once: it was active */
	enum state state = w->state;
	int reload = w->reload;
	long long ready_at = w->ready_at;
	relay(w);
	if (w->out >= 0)
		close(w->out);
	if (w->ready >= 0)
		close(w->ready);
	*w = (struct worker){ .state = FREE, .out = -1, .ready = -1 };

	if (state == STOPPER)
		return status;
	if (stopping || state == RETIRING)
		return -1;
	if (state == STARTING) {
		if (!ever_ready)
			return status == 0 ? EXIT_FAILURE_STATUS : status;
		struct worker *active = find(ACTIVE);
		if (reload && status == EXIT_KEEP && active != NULL)
			return -1;
		if (active != NULL) {
			/* The failed worker may have replaced some of its sockets. */
			active->state = RETIRING;
			kill(active->pid, SIGTERM);
		}
		schedule_restart(status, 0);
		return -1;
	}
	if (find(STARTING) != NULL)
		return -1; /* a reload worker is on its way and takes over */
	schedule_restart(status, now_ms() - ready_at >= STEADY_MS);
	return -1;
}

static int wait_status(int raw)
{
	if (WIFEXITED(raw))
		return WEXITSTATUS(raw);
	if (WIFSIGNALED(raw))
		return 128 + WTERMSIG(raw);
	return EXIT_FAILURE_STATUS;
}

/* --detach: the parent returns once the first worker is ready, or with the daemon's status. */
static void detach(void)
{
	int st[2];
	if (pipe2(st, O_CLOEXEC) != 0) {
		dprintf(2, "jk_socketd: pipe: %s\n", strerror(errno));
		exit(EXIT_FAILURE_STATUS);
	}
	pid_t pid = fork();
	if (pid < 0) {
		dprintf(2, "jk_socketd: fork: %s\n", strerror(errno));
		exit(EXIT_FAILURE_STATUS);
	}
	if (pid > 0) {
		close(st[1]);
		char b;
		ssize_t n;
		do
			n = read(st[0], &b, 1);
		while (n < 0 && errno == EINTR);
		if (n == 1)
			_exit(0);
		int raw;
		while (waitpid(pid, &raw, 0) < 0 && errno == EINTR)
			;
		int status = wait_status(raw);
		_exit(status == 0 ? EXIT_FAILURE_STATUS : status);
	}
	close(st[0]);
	status_fd = st[1];
	setsid();
	if (chdir("/") != 0)
		exit(EXIT_FAILURE_STATUS);
	int null = open("/dev/null", O_RDWR);
	if (null >= 0) {
		dup2(null, 0);
		dup2(null, 2);
		if (null > 2)
			close(null);
	}
}

int main(int argc, char **argv, char **envp)
{
	if (argc < 3 || (strcmp(argv[1], "--nodetach") != 0 && strcmp(argv[1], "--detach") != 0)) {
		dprintf(2, "usage: jk_socketd_supervisor --nodetach|--detach PROGRAM ARG...\n"
			   "(jk_socketd runs it; run jk_socketd instead)\n");
		return 2;
	}
	/* fds 0-2 stay open (on /dev/null if need be), so no pipe of ours lands there. */
	for (int fd = 0; fd <= 2; fd++)
		if (fcntl(fd, F_GETFD) < 0 && open("/dev/null", O_RDWR) != fd)
			return EXIT_FAILURE_STATUS;
	nodetach = strcmp(argv[1], "--nodetach") == 0;
	worker_argv = argv + 2;

	size_t n = 0;
	for (char **e = envp; *e != NULL; e++)
		n++;
	worker_env = calloc(n + 2, sizeof *worker_env);
	if (worker_env == NULL)
		return EXIT_FAILURE_STATUS;
	for (char **e = envp; *e != NULL; e++)
		if (strncmp(*e, PHASE_VAR, strlen(PHASE_VAR)) != 0)
			worker_env[phase_slot++] = *e;

	openlog("jk_socketd", LOG_PID, LOG_DAEMON);
	signal(SIGPIPE, SIG_IGN);
	if (!nodetach)
		detach();

	int life[2];
	if (pipe2(life, O_CLOEXEC) != 0) {
		say(LOG_ERR, "cannot run the forwarder: pipe: %s", strerror(errno));
		return EXIT_FAILURE_STATUS;
	}
	life_read = life[0]; /* life[1] stays open, unused, until this process ends */

	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGCHLD);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	int sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd < 0) {
		say(LOG_ERR, "signalfd: %s", strerror(errno));
		return EXIT_FAILURE_STATUS;
	}

	for (int i = 0; i < MAX_WORKERS; i++)
		workers[i] = (struct worker){ .state = FREE, .out = -1, .ready = -1 };
	if (spawn(STARTING, "start") == NULL)
		return EXIT_FAILURE_STATUS;

	for (;;) {
		struct pollfd pfd[1 + 2 * MAX_WORKERS];
		struct worker *owner[1 + 2 * MAX_WORKERS];
		int np = 0;
		pfd[np++] = (struct pollfd){ .fd = sfd, .events = POLLIN };
		for (int i = 0; i < MAX_WORKERS; i++) {
			if (workers[i].out >= 0) {
				owner[np] = &workers[i];
				pfd[np++] = (struct pollfd){ .fd = workers[i].out, .events = POLLIN };
			}
			if (workers[i].ready >= 0) {
				owner[np] = &workers[i];
				pfd[np++] = (struct pollfd){ .fd = workers[i].ready, .events = POLLIN };
			}
		}
		long long now = now_ms();
		long long due = restart_at;
		if (kill_at >= 0 && (due < 0 || kill_at < due))
			due = kill_at;
		int timeout = due < 0 ? -1 : due <= now ? 0 : (int)(due - now);
		if (poll(pfd, (nfds_t)np, timeout) < 0 && errno != EINTR) {
			say(LOG_ERR, "poll: %s", strerror(errno));
			return EXIT_FAILURE_STATUS;
		}
		for (int i = 1; i < np; i++) {
			if (pfd[i].revents == 0)
				continue;
			if (pfd[i].fd == owner[i]->out)
				relay(owner[i]);
			else if (pfd[i].fd == owner[i]->ready)
				check_ready(owner[i]);
		}

		struct signalfd_siginfo si;
		while (read(sfd, &si, sizeof si) == sizeof si) {
			if (si.ssi_signo == SIGTERM)
				begin_stop("SIGTERM");
			else if (si.ssi_signo == SIGINT)
				begin_stop("SIGINT");
			else if (si.ssi_signo == SIGHUP && !stopping)
				hup_pending = 1;
		}
		int raw;
		pid_t pid;
		while ((pid = waitpid(-1, &raw, WNOHANG)) > 0) {
			for (int i = 0; i < MAX_WORKERS; i++) {
				if (workers[i].state == FREE || workers[i].pid != pid)
					continue;
				int code = on_worker_exit(&workers[i], wait_status(raw));
				if (code >= 0)
					return code;
				break;
			}
		}
		/* One reload at a time: a SIGHUP during one starts another after it. */
		if (hup_pending && !stopping && find(STARTING) == NULL)
			start_reload();

		now = now_ms();
		if (restart_at >= 0 && now >= restart_at && !stopping) {
			restart_at = -1;
			if (find(STARTING) == NULL)
				spawn(STARTING, "restart");
		}
		if (kill_at >= 0 && now >= kill_at) {
			kill_at = -1;
			for (int i = 0; i < MAX_WORKERS; i++)
				if (workers[i].state != FREE && workers[i].state != STOPPER)
					kill(workers[i].pid, SIGKILL);
		}
		if (stopping && !any_worker()) {
			char phase[32];
			snprintf(phase, sizeof phase, "stop:%s", stopping);
			if (spawn(STOPPER, phase) == NULL)
				return EXIT_FAILURE_STATUS;
		}
	}
}
