/* SPDX-License-Identifier: MIT */
/**
 * @file live.c
 * Live process backend: /proc for mappings, exe, auxv and threads;
 * PTRACE_SEIZE + PTRACE_INTERRUPT to stop every thread; PTRACE_GETREGSET for
 * registers; procmem.c for memory. A global registry of stopped targets lets
 * signal handlers and atexit detach everything, so a crash of tlinspect never
 * leaves the target stopped (the kernel also detaches tracees when the tracer
 * dies; the guard covers signals that would otherwise be ignored/handled).
 */
#include "live.h"
#include "procmem.h"

#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_ATTACH_ROUNDS 64
#define MAX_PROC_FILE (256u << 20)

struct old_maps {
	struct tli_mapping *maps;
	size_t n;
	struct old_maps *next;
};

struct live {
	struct tli_procmem pm;
	int *tids;        /**< attached (seized) threads */
	int *sigs;        /**< signal to deliver at detach (signal-delivery-stop), per tid */
	bool *stopped;    /**< per tid: stop observed */
	int timeout_ms;   /**< for a deferred stop */
	struct old_maps *old_maps; /**< maps replaced at the deferred stop */
	size_t ntids, cap;
	int slot;         /**< guard registry slot, -1 if none */
	bool detached;
};

/* ------------------------------------------------------------------ */
/* signal guard registry                                               */

#define GUARD_SLOTS 64
struct guard_slot {
	int *volatile tids;
	volatile size_t n;
	volatile int used;
};
static struct guard_slot g_slots[GUARD_SLOTS];
static int g_atexit_done;

static const int g_guard_signals[] = {
	SIGINT, SIGTERM, SIGHUP, SIGPIPE, SIGALRM, SIGQUIT,
	SIGSEGV, SIGBUS, SIGABRT, SIGFPE, SIGILL,
};

static void guard_detach_all(void)
{
	/* async-signal-safe: raw syscalls over a static table */
	for (int s = 0; s < GUARD_SLOTS; s++) {
		if (!g_slots[s].used)
			continue;
		int *tids = g_slots[s].tids;
		size_t n = g_slots[s].n;
		for (size_t i = 0; tids && i < n; i++)
			syscall(SYS_ptrace, PTRACE_DETACH, (long)tids[i], 0L, 0L);
		g_slots[s].n = 0;
		g_slots[s].used = 0;
	}
}

static void guard_handler(int sig)
{
	int saved = errno;
	guard_detach_all();
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	sigemptyset(&sa.sa_mask);
	sigaction(sig, &sa, NULL);
	raise(sig); /* delivered with the default action when the handler returns */
	errno = saved;
}

static void guard_atexit(void)
{
	guard_detach_all();
}

static void guard_block(sigset_t *old)
{
	sigset_t all;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, old);
}

static void guard_unblock(const sigset_t *old)
{
	pthread_sigmask(SIG_SETMASK, old, NULL);
}

void tli_live_install_signal_guard(void)
{
	static int installed;
	if (installed)
		return;
	installed = 1;
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = guard_handler;
	sigfillset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(g_guard_signals) / sizeof(g_guard_signals[0]); i++)
		sigaction(g_guard_signals[i], &sa, NULL);
	if (!g_atexit_done) {
		g_atexit_done = 1;
		atexit(guard_atexit);
	}
}

static int guard_register(void)
{
	sigset_t old;
	guard_block(&old);
	int slot = -1;
	for (int s = 0; s < GUARD_SLOTS; s++)
		if (!g_slots[s].used) {
			g_slots[s].tids = NULL;
			g_slots[s].n = 0;
			g_slots[s].used = 1;
			slot = s;
			break;
		}
	if (!g_atexit_done) {
		g_atexit_done = 1;
		atexit(guard_atexit);
	}
	guard_unblock(&old);
	return slot;
}

static void guard_publish(struct live *L)
{
	if (L->slot < 0)
		return;
	sigset_t old;
	guard_block(&old);
	g_slots[L->slot].tids = L->tids;
	g_slots[L->slot].n = L->ntids;
	guard_unblock(&old);
}

static void guard_unregister(struct live *L)
{
	if (L->slot < 0)
		return;
	sigset_t old;
	guard_block(&old);
	g_slots[L->slot].n = 0;
	g_slots[L->slot].tids = NULL;
	g_slots[L->slot].used = 0;
	guard_unblock(&old);
	L->slot = -1;
}

/* ------------------------------------------------------------------ */
/* /proc helpers                                                       */

/* Read a whole /proc file (they report size 0). Returns 0 or errno. */
static int read_proc_file(const char *path, char **ret, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno;
	size_t cap = 8192, n = 0;
	char *buf = malloc(cap + 1);
	if (!buf) {
		close(fd);
		return ENOMEM;
	}
	for (;;) {
		if (n == cap) {
			if (cap >= MAX_PROC_FILE)
				break;
			cap *= 2;
			char *nb = realloc(buf, cap + 1);
			if (!nb) {
				free(buf);
				close(fd);
				return ENOMEM;
			}
			buf = nb;
		}
		ssize_t k = read(fd, buf + n, cap - n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			int e = errno;
			free(buf);
			close(fd);
			return e;
		}
		if (k == 0)
			break;
		n += (size_t)k;
	}
	close(fd);
	buf[n] = 0;
	*ret = buf;
	*len = n;
	return 0;
}

/* State letter of /proc/PID/task/TID/stat, 0 if unreadable. */
static char thread_state(int pid, int tid)
{
	char path[96], *buf;
	size_t len;
	snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", pid, tid);
	if (read_proc_file(path, &buf, &len))
		return 0;
	char *p = strrchr(buf, ')');
	char st = (p && p[1] == ' ' && p[2]) ? p[2] : 0;
	free(buf);
	return st;
}

/* TracerPid of a process or thread status file, -1 if unknown. */
static int tracer_pid(const char *status_path)
{
	char *buf;
	size_t len;
	if (read_proc_file(status_path, &buf, &len))
		return -1;
	int tp = -1;
	char *p = strstr(buf, "\nTracerPid:");
	if (p)
		tp = atoi(p + 11);
	free(buf);
	return tp;
}

static int int_cmp(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;
	return (x > y) - (x < y);
}

/* Thread ids of pid, sorted. Returns 0 or errno. */
static int list_tasks(int pid, int **ret, size_t *n)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	DIR *d = opendir(path);
	if (!d)
		return errno;
	size_t cap = 16, k = 0;
	int *v = malloc(cap * sizeof(*v));
	if (!v) {
		closedir(d);
		return ENOMEM;
	}
	struct dirent *de;
	while ((de = readdir(d))) {
		char *end;
		long tid = strtol(de->d_name, &end, 10);
		if (*end || tid <= 0 || tid > INT_MAX)
			continue;
		if (k == cap) {
			if (cap > (1u << 22))
				break;
			cap *= 2;
			int *nv = realloc(v, cap * sizeof(*nv));
			if (!nv) {
				free(v);
				closedir(d);
				return ENOMEM;
			}
			v = nv;
		}
		v[k++] = (int)tid;
	}
	closedir(d);
	qsort(v, k, sizeof(*v), int_cmp);
	*ret = v;
	*n = k;
	return 0;
}

static int map_cmp(const void *a, const void *b)
{
	const struct tli_mapping *x = a, *y = b;
	return x->start < y->start ? -1 : x->start > y->start;
}

static struct tli_error *parse_maps(struct tli_target *t)
{
	char path[64], *buf;
	size_t len;
	snprintf(path, sizeof(path), "/proc/%d/maps", t->pid);
	int e = read_proc_file(path, &buf, &len);
	if (e == EACCES || e == EPERM)
		return tli_error_errno(TLI_E_PERM, e,
				       "may not inspect process %d (reading %s); check "
				       "/proc/sys/kernel/yama/ptrace_scope, the CAP_SYS_PTRACE capability "
				       "and that the target runs as your user", t->pid, path);
	if (e == ENOENT || e == ESRCH)
		return tli_error_create(TLI_E_NO_TARGET, "no process with pid %d", t->pid);
	if (e)
		return tli_error_errno(TLI_E_INTERNAL, e, "cannot read %s", path);
	size_t lines = 0;
	for (size_t i = 0; i < len; i++)
		lines += buf[i] == '\n';
	t->maps = calloc(lines + 1, sizeof(*t->maps));
	if (!t->maps) {
		free(buf);
		return &tli_enomem;
	}
	char *save = NULL;
	for (char *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *p = line, *end;
		uint64_t start = strtoull(p, &end, 16);
		if (*end != '-')
			continue;
		uint64_t stop = strtoull(end + 1, &end, 16);
		if (*end != ' ' || stop <= start)
			continue;
		p = end + 1;
		char perms[5] = { 0 };
		for (int i = 0; i < 4 && *p && *p != ' '; i++)
			perms[i] = *p++;
		uint64_t off = strtoull(p, &end, 16);
		p = end;
		/* dev and inode */
		for (int field = 0; field < 2; field++) {
			while (*p == ' ')
				p++;
			while (*p && *p != ' ')
				p++;
		}
		while (*p == ' ')
			p++;
		struct tli_mapping *m = &t->maps[t->nmaps];
		m->start = start;
		m->end = stop;
		m->offset = off;
		m->prot = (perms[0] == 'r' ? TLI_PROT_R : 0) | (perms[1] == 'w' ? TLI_PROT_W : 0) |
			  (perms[2] == 'x' ? TLI_PROT_X : 0);
		if (*p) {
			m->path = strdup(p);
			if (!m->path) {
				free(buf);
				return &tli_enomem;
			}
		}
		t->nmaps++;
	}
	free(buf);
	qsort(t->maps, t->nmaps, sizeof(*t->maps), map_cmp);
	return NULL;
}

static void read_auxv(struct tli_target *t)
{
	char path[64], *buf;
	size_t len;
	snprintf(path, sizeof(path), "/proc/%d/auxv", t->pid);
	if (read_proc_file(path, &buf, &len))
		return;
	for (size_t off = 0; off + 16 <= len; off += 16) {
		uint64_t k, v;
		memcpy(&k, buf + off, 8);
		memcpy(&v, buf + off + 8, 8);
		if (k == AT_NULL)
			break;
		if (k == AT_ENTRY)
			t->at_entry = v;
		else if (k == AT_PHDR)
			t->at_phdr = v;
	}
	free(buf);
}

static struct tli_error *read_exe(struct tli_target *t)
{
	char link[64], target[PATH_MAX + 1];
	snprintf(link, sizeof(link), "/proc/%d/exe", t->pid);
	ssize_t k = readlink(link, target, PATH_MAX);
	if (k <= 0)
		return NULL; /* kernel thread or no permission: unknown */
	target[k] = 0;
	static const char deleted[] = " (deleted)";
	size_t dl = sizeof(deleted) - 1;
	bool gone = ((size_t)k > dl && !strcmp(target + k - dl, deleted)) || access(target, R_OK);
	t->exe_path = strdup(gone ? link : target);
	return t->exe_path ? NULL : &tli_enomem;
}

/* ------------------------------------------------------------------ */
/* attach / detach                                                     */

static int64_t now_ns(clockid_t c)
{
	struct timespec ts;
	clock_gettime(c, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void live_detach(struct live *L)
{
	if (L->detached)
		return;
	/* unregister first so that a signal now does not detach twice (harmless anyway) */
	guard_unregister(L);
	for (size_t i = 0; i < L->ntids; i++)
		ptrace(PTRACE_DETACH, L->tids[i], 0L, (long)L->sigs[i]);
	L->ntids = 0;
	L->detached = true;
}

static bool live_add_tid(struct live *L, int tid)
{
	if (L->ntids == L->cap) {
		size_t nc = L->cap ? L->cap * 2 : 32;
		int *nt = malloc(nc * sizeof(*nt));
		int *ns = malloc(nc * sizeof(*ns));
		bool *nb = malloc(nc * sizeof(*nb));
		if (!nt || !ns || !nb) {
			free(nt);
			free(ns);
			free(nb);
			return false;
		}
		if (L->ntids) {
			memcpy(nt, L->tids, L->ntids * sizeof(*nt));
			memcpy(ns, L->sigs, L->ntids * sizeof(*ns));
			memcpy(nb, L->stopped, L->ntids * sizeof(*nb));
		}
		int *old = L->tids;
		L->tids = nt;
		guard_publish(L); /* the handler sees the new array before the old is freed */
		free(old);
		free(L->sigs);
		free(L->stopped);
		L->sigs = ns;
		L->stopped = nb;
		L->cap = nc;
	}
	L->tids[L->ntids] = tid;
	L->sigs[L->ntids] = 0;
	L->stopped[L->ntids] = false;
	L->ntids++;
	guard_publish(L);
	return true;
}

static void live_remove_tid(struct live *L, size_t i)
{
	sigset_t old;
	guard_block(&old);
	L->tids[i] = L->tids[L->ntids - 1];
	L->sigs[i] = L->sigs[L->ntids - 1];
	L->stopped[i] = L->stopped[L->ntids - 1];
	L->ntids--;
	if (L->slot >= 0)
		g_slots[L->slot].n = L->ntids;
	guard_unblock(&old);
}

static bool live_has_tid(const struct live *L, int tid)
{
	for (size_t i = 0; i < L->ntids; i++)
		if (L->tids[i] == tid)
			return true;
	return false;
}

static struct tli_error *perm_error(int pid, int tid, int e)
{
	char st[96];
	snprintf(st, sizeof(st), "/proc/%d/task/%d/status", pid, tid);
	int tp = tracer_pid(st);
	if (tp > 0 && tp != getpid())
		return tli_error_create(TLI_E_PERM,
					"cannot stop process %d: already traced by pid %d (TracerPid); "
					"use --no-stop to read it while the other tracer holds it",
					pid, tp);
	return tli_error_errno(TLI_E_PERM, e,
			       "ptrace(PTRACE_SEIZE) of process %d (thread %d) was refused; check "
			       "/proc/sys/kernel/yama/ptrace_scope, the CAP_SYS_PTRACE capability and "
			       "that the target runs as your user and is dumpable",
			       pid, tid);
}

/* Seize and interrupt one thread. 1 = attached, 0 = thread gone (skip). */
static int seize_one(struct live *L, int pid, int tid, struct tli_error **err)
{
	if (ptrace(PTRACE_SEIZE, tid, 0L, 0L) < 0) {
		int e = errno;
		if (e == ESRCH)
			return 0;
		/* The kernel answers EPERM for a thread that is exiting (exit_state set).
		 * Permission is per process: once another thread of it has been seized,
		 * a refusal means this thread is on its way out; the rescan rounds
		 * confirm the final thread list. */
		if ((e == EPERM || e == EACCES) && tid != pid && L->ntids > 0)
			return 0;
		if (e == EPERM || e == EACCES) {
			*err = perm_error(pid, tid, e);
			return -1;
		}
		*err = tli_error_errno(TLI_E_INTERNAL, e, "ptrace(PTRACE_SEIZE, %d)", tid);
		return -1;
	}
	if (!live_add_tid(L, tid)) {
		ptrace(PTRACE_DETACH, tid, 0L, 0L);
		*err = &tli_enomem;
		return -1;
	}
	if (ptrace(PTRACE_INTERRUPT, tid, 0L, 0L) < 0) {
		/* ESRCH: the thread is exiting; waitpid will report it */
		if (errno != ESRCH) {
			*err = tli_error_errno(TLI_E_INTERNAL, errno, "ptrace(PTRACE_INTERRUPT, %d)", tid);
			return -1;
		}
	}
	return 1;
}

/* Wait until every attached thread has stopped (or exited). */
static struct tli_error *wait_stopped(struct live *L, int pid, int64_t deadline)
{
	long sleep_ns = 50000;
	for (;;) {
		size_t waiting = 0;
		for (size_t i = 0; i < L->ntids;) {
			if (L->stopped[i]) {
				i++;
				continue;
			}
			int st = 0;
			pid_t w = waitpid(L->tids[i], &st, __WALL | WNOHANG);
			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0 || (w == L->tids[i] && (WIFEXITED(st) || WIFSIGNALED(st)))) {
				live_remove_tid(L, i); /* exited during attach: skip */
				continue;
			}
			if (w == L->tids[i] && WIFSTOPPED(st)) {
				L->stopped[i] = true;
				int sig = WSTOPSIG(st);
				int event = (unsigned)st >> 16;
				if (event == 0 && sig != SIGTRAP)
					L->sigs[i] = sig; /* signal-delivery-stop: deliver it at detach */
				i++;
				continue;
			}
			waiting++;
			i++;
		}
		if (!waiting)
			return NULL;
		if (now_ns(CLOCK_MONOTONIC) > deadline) {
			/* drop zombies (they never stop); anything else is a timeout */
			for (size_t i = 0; i < L->ntids;) {
				char s = L->stopped[i] ? 't' : thread_state(pid, L->tids[i]);
				if (!s || s == 'Z' || s == 'X') {
					ptrace(PTRACE_DETACH, L->tids[i], 0L, 0L);
					live_remove_tid(L, i);
					continue;
				}
				if (!L->stopped[i])
					return tli_error_create(TLI_E_TIMEOUT,
								"thread %d of process %d did not stop within "
								"the timeout (state '%c')",
								L->tids[i], pid, s);
				i++;
			}
			return NULL;
		}
		struct timespec ts = { 0, sleep_ns };
		nanosleep(&ts, NULL);
		if (sleep_ns < 2000000)
			sleep_ns *= 2;
	}
}

static struct tli_error *attach_all(struct tli_target *t, struct live *L, int timeout_ms)
{
	int pid = t->pid;
	int64_t deadline = now_ns(CLOCK_MONOTONIC) + (int64_t)timeout_ms * 1000000;
	struct tli_error *err = NULL;
	L->slot = guard_register();
	/* pre-stop states, to report what each thread was doing */
	struct { int tid; char st; } *pre = NULL;
	size_t npre = 0, precap = 0;
	bool first = true;

	for (int round = 0;; round++) {
		int *tasks;
		size_t ntasks;
		int e = list_tasks(pid, &tasks, &ntasks);
		if (e) {
			err = (e == ENOENT || e == ESRCH)
				? tli_error_create(TLI_E_NO_TARGET, "no process with pid %d", pid)
				: tli_error_errno(TLI_E_INTERNAL, e, "listing /proc/%d/task", pid);
			goto fail;
		}
		size_t added = 0;
		for (size_t i = 0; i < ntasks; i++) {
			int tid = tasks[i];
			if (live_has_tid(L, tid))
				continue;
			bool known = false;
			for (size_t j = 0; j < npre; j++)
				if (pre[j].tid == tid)
					known = true;
			if (known)
				continue; /* a zombie leader or a thread that already went away */
			char s = thread_state(pid, tid);
			if (npre == precap) {
				precap = precap ? precap * 2 : 32;
				void *np = realloc(pre, precap * sizeof(*pre));
				if (!np) {
					free(tasks);
					err = &tli_enomem;
					goto fail;
				}
				pre = np;
			}
			pre[npre].tid = tid;
			pre[npre].st = s;
			npre++;
			if (!s || s == 'Z' || s == 'X')
				continue; /* zombie thread-group leader: cannot stop, nothing to read */
			if (first) {
				clock_gettime(CLOCK_MONOTONIC, &t->stop_begin);
				first = false;
			}
			int r = seize_one(L, pid, tid, &err);
			if (r < 0) {
				free(tasks);
				goto fail;
			}
			added += (size_t)r;
		}
		free(tasks);
		if (!added && round > 0)
			break;
		if (round >= MAX_ATTACH_ROUNDS) {
			err = tli_error_create(TLI_E_TIMEOUT,
					       "process %d keeps creating threads; gave up after %d rounds",
					       pid, MAX_ATTACH_ROUNDS);
			goto fail;
		}
		err = wait_stopped(L, pid, deadline);
		if (err)
			goto fail;
		if (!added && round == 0 && !L->ntids)
			break;
	}
	if (!L->ntids) {
		err = tli_error_create(TLI_E_NO_TARGET, "no process with pid %d (it exited while attaching)", pid);
		goto fail;
	}
	t->mono_now_ns = now_ns(CLOCK_MONOTONIC);
	t->wall_now_ns = now_ns(CLOCK_REALTIME);
	t->stopped = true;

	/* threads: main thread first, then by tid */
	t->threads = calloc(L->ntids, sizeof(*t->threads));
	if (!t->threads) {
		err = &tli_enomem;
		goto fail;
	}
	int *order = malloc(L->ntids * sizeof(int));
	if (!order) {
		err = &tli_enomem;
		goto fail;
	}
	memcpy(order, L->tids, L->ntids * sizeof(int));
	qsort(order, L->ntids, sizeof(int), int_cmp);
	size_t k = 0;
	for (size_t pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < L->ntids; i++) {
			if ((pass == 0) != (order[i] == pid))
				continue;
			struct tli_thread *th = &t->threads[k++];
			th->tid = order[i];
			for (size_t j = 0; j < npre; j++)
				if (pre[j].tid == th->tid)
					th->state = pre[j].st;
			struct user_regs_struct u;
			struct iovec iov = { &u, sizeof(u) };
			if (ptrace(PTRACE_GETREGSET, th->tid, (void *)(uintptr_t)NT_PRSTATUS, &iov) == 0 &&
			    iov.iov_len >= sizeof(u)) {
				th->regs_valid = true;
				th->regs = (struct tli_regs){
					.rip = u.rip, .rsp = u.rsp, .rbp = u.rbp,
					.rax = u.rax, .rbx = u.rbx, .rcx = u.rcx, .rdx = u.rdx,
					.rsi = u.rsi, .rdi = u.rdi,
					.r8 = u.r8, .r9 = u.r9, .r10 = u.r10, .r11 = u.r11,
					.r12 = u.r12, .r13 = u.r13, .r14 = u.r14, .r15 = u.r15,
					.eflags = u.eflags, .fs_base = u.fs_base, .gs_base = u.gs_base,
				};
			}
		}
	t->nthreads = k;
	free(order);
	free(pre);
	return NULL;
fail:
	free(pre);
	live_detach(L);
	return err;
}

/* ------------------------------------------------------------------ */
/* ops                                                                 */

static struct tli_error *live_read_many(struct tli_target *t, struct tli_read *reads, size_t n)
{
	struct live *L = t->priv;
	return tli_procmem_read_many(&L->pm, reads, n);
}

static void live_release(struct tli_target *t)
{
	struct live *L = t->priv;
	if (L)
		live_detach(L);
	t->stopped = false;
}

static void live_destroy(struct tli_target *t)
{
	struct live *L = t->priv;
	if (!L)
		return;
	while (L->old_maps) {
		struct old_maps *om = L->old_maps;
		for (size_t i = 0; i < om->n; i++)
			free(om->maps[i].path);
		free(om->maps);
		L->old_maps = om->next;
		free(om);
	}
	live_detach(L);
	tli_procmem_close(&L->pm);
	free(L->tids);
	free(L->sigs);
	free(L->stopped);
	free(L);
	t->priv = NULL;
}

/* The deferred stop: attach now, and re-read the maps the process has at the stop. */
static struct tli_error *live_stop(struct tli_target *t)
{
	struct live *L = t->priv;
	L->detached = false;
	struct tli_error *err = attach_all(t, L, L->timeout_ms);
	if (err) {
		t->released = true; /* attach_all detached already */
		return err;
	}
	/* Keep the maps read at open alive until destroy: callers may hold
	 * pointers into them (paths) across the stop. */
	struct old_maps *om = calloc(1, sizeof(*om));
	if (!om)
		return &tli_enomem;
	*om = (struct old_maps){ t->maps, t->nmaps, L->old_maps };
	L->old_maps = om;
	t->maps = NULL;
	t->nmaps = 0;
	return parse_maps(t);
}

static const struct tli_target_ops live_ops = {
	.name = "live",
	.read_many = live_read_many,
	.release = live_release,
	.stop = live_stop,
	.destroy = live_destroy,
};

static struct tli_error *threads_no_stop(struct tli_target *t)
{
	int *tasks;
	size_t n;
	int e = list_tasks(t->pid, &tasks, &n);
	if (e)
		return tli_error_errno(e == ENOENT ? TLI_E_NO_TARGET : TLI_E_INTERNAL, e,
				       "listing /proc/%d/task", t->pid);
	t->threads = calloc(n ? n : 1, sizeof(*t->threads));
	if (!t->threads) {
		free(tasks);
		return &tli_enomem;
	}
	size_t k = 0;
	for (size_t pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < n; i++) {
			if ((pass == 0) != (tasks[i] == t->pid))
				continue;
			t->threads[k].tid = tasks[i];
			t->threads[k].state = thread_state(t->pid, tasks[i]);
			k++;
		}
	t->nthreads = k;
	free(tasks);
	return NULL;
}

struct tli_error *tli_live_open(int pid, const struct tli_live_opts *opts, struct tli_target **ret)
{
	*ret = NULL;
	struct tli_live_opts o = { 0 };
	if (opts)
		o = *opts;
	if (o.timeout_ms <= 0)
		o.timeout_ms = 2000;
	if (pid <= 0)
		return tli_error_create(TLI_E_NO_TARGET, "no process with pid %d", pid);
	char path[64];
	struct stat sb;
	snprintf(path, sizeof(path), "/proc/%d", pid);
	if (stat(path, &sb) < 0)
		return tli_error_create(TLI_E_NO_TARGET, "no process with pid %d", pid);
	if (pid == getpid() && !o.no_stop)
		return tli_error_create(TLI_E_USAGE, "cannot stop myself (pid %d); use --no-stop", pid);

	struct tli_target *t = calloc(1, sizeof(*t));
	struct live *L = calloc(1, sizeof(*L));
	if (!t || !L) {
		free(t);
		free(L);
		return &tli_enomem;
	}
	L->slot = -1;
	L->detached = true; /* nothing attached yet */
	tli_procmem_init(&L->pm, pid);
	t->ops = &live_ops;
	t->priv = L;
	t->kind = TLI_TARGET_LIVE;
	t->pid = pid;
	t->no_stop = o.no_stop;

	struct tli_error *err = parse_maps(t);
	if (!err)
		err = read_exe(t);
	if (err)
		goto fail;
	read_auxv(t);

	if (o.no_stop) {
		err = threads_no_stop(t);
		if (err)
			goto fail;
		t->mono_now_ns = now_ns(CLOCK_MONOTONIC);
		t->wall_now_ns = now_ns(CLOCK_REALTIME);
		*ret = t;
		return NULL;
	}

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	int tp = tracer_pid(path);
	if (tp > 0 && tp != getpid()) {
		err = tli_error_create(TLI_E_PERM,
				       "cannot stop process %d: already traced by pid %d (TracerPid); "
				       "use --no-stop to read it while the other tracer holds it",
				       pid, tp);
		goto fail;
	}
	L->timeout_ms = o.timeout_ms;
	if (o.defer_stop) {
		t->stop_deferred = true;
		*ret = t;
		return NULL;
	}
	L->detached = false;
	err = attach_all(t, L, o.timeout_ms);
	if (err)
		goto fail;
	*ret = t;
	return NULL;
fail:
	t->released = true; /* nothing to release: attach_all detached already */
	tli_target_destroy(t);
	return err;
}
