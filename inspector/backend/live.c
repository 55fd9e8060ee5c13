/* SPDX-License-Identifier: MIT */
/**
 * @file live.c
 * Live process backend: /proc for mappings, exe, auxv and threads;
 * PTRACE_SEIZE + PTRACE_INTERRUPT to stop every thread; PTRACE_GETREGSET for
 * registers; procmem.c for memory. The threads we hold stopped are registered
 * with the signal guard (live_guard.c); /proc is read by live_proc.c.
 */
#include "live.h"
#include "live_int.h"
#include "procmem.h"

#include "core/memlimit.h"
#include "core/vec.h"

#include <elf.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_ATTACH_ROUNDS 64

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
	bool fork;        /**< --snapshot=fork asked */
	int child;        /**< the frozen copy read instead of the process (live_fork.c), 0 if none */
	struct tli_live_inplace *ip; /**< the copy read in place (live_inplace.c), NULL if none */
	uint64_t fork_window;        /**< --snapshot=fork: the most of the copy in memory (fork_window) */
	bool lost_warned; /**< the warning that the copy could not be read was given */
};


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
	tli_live_guard_unregister(L->slot);
	L->slot = -1;
	for (size_t i = 0; i < L->ntids; i++)
		if (ptrace(PTRACE_DETACH, L->tids[i], 0L, (long)L->sigs[i]) < 0 && errno == ESRCH &&
		    !L->stopped[i])
			tli_live_pending_add(L->tids[i]); /* never stopped: detached once it stops */
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
		/* the handler sees the new array before the old is freed */
		tli_live_guard_publish(L->slot, L->tids, L->ntids);
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
	tli_live_guard_publish(L->slot, L->tids, L->ntids);
	return true;
}

static void live_remove_tid(struct live *L, size_t i)
{
	sigset_t old;
	tli_live_guard_block(&old);
	L->tids[i] = L->tids[L->ntids - 1];
	L->sigs[i] = L->sigs[L->ntids - 1];
	L->stopped[i] = L->stopped[L->ntids - 1];
	L->ntids--;
	tli_live_guard_publish(L->slot, L->tids, L->ntids); /* blocked already: nests */
	tli_live_guard_unblock(&old);
}

static bool live_has_tid(const struct live *L, int tid)
{
	for (size_t i = 0; i < L->ntids; i++)
		if (L->tids[i] == tid)
			return true;
	return false;
}

/* The process is traced by tp: another tlinspect (busy for a moment: retry) or a debugger
 * (which holds it: --no-stop reads it as that debugger keeps it). Comparing the tracer's
 * executable with ours tells the two apart. */
static struct tli_error *traced_error(int pid, int tid, int tp)
{
	char a[64], b[PATH_MAX + 1] = "", c[PATH_MAX + 1] = "";
	snprintf(a, sizeof(a), "/proc/%d/exe", tp);
	ssize_t n = readlink(a, b, PATH_MAX), m = readlink("/proc/self/exe", c, PATH_MAX);
	if (n > 0 && m > 0 && n == m && !memcmp(b, c, (size_t)n))
		return tli_error_create(TLI_E_PERM, "process %d is busy: another tlinspect (pid %d) is "
					"inspecting it; retry in a moment", pid, tp);
	if (tid != pid)
		return tli_error_create(TLI_E_PERM, "cannot stop process %d: already traced: its thread %d is "
					"traced by pid %d (a debugger); use --no-stop to read it while that "
					"debugger holds it stopped", pid, tid, tp);
	return tli_error_create(TLI_E_PERM, "cannot stop process %d: already traced by pid %d (TracerPid): "
				"a debugger holds it; use --no-stop to read it while that debugger keeps it "
				"stopped", pid, tp);
}

static struct tli_error *perm_error(int pid, int tid, int e)
{
	char st[96];
	snprintf(st, sizeof(st), "/proc/%d/task/%d/status", pid, tid);
	int tp = tli_live_tracer_pid(st);
	if (tp > 0 && tp != getpid())
		return traced_error(pid, tid, tp);
	return tli_error_errno(TLI_E_PERM, e,
			       "ptrace(PTRACE_SEIZE) of process %d (thread %d) was refused; check %s and that "
			       "the target runs as your user and is dumpable",
			       pid, tid, tli_live_perm_checks());
}

/* Bounded retries of a thread's refused PTRACE_SEIZE (about 250 ms in all). */
#define SEIZE_RETRIES 25
#define SEIZE_RETRY_NS 10000000L

/* TracerPid of one thread (0: none, -1: unknown). */
static int thread_tracer(int pid, int tid)
{
	char st[96];
	snprintf(st, sizeof(st), "/proc/%d/task/%d/status", pid, tid);
	return tli_live_tracer_pid(st);
}

/*
 * PTRACE_SEIZE of tid, retried while the refusal may pass. The kernel answers EPERM for a
 * thread that is exiting (exit_state set) - and for one another tracer holds, such as a
 * second tlinspect still detaching. Only a thread that is gone or a zombie by now is
 * "exiting"; one traced by someone else after the retries is an error (busy), never
 * silently left out. Returns 1 seized, 0 gone, or -1 with the errno in *e.
 */
static int seize_retrying(int pid, int tid, int *e)
{
	for (int attempt = 0;; attempt++) {
		if (ptrace(PTRACE_SEIZE, tid, 0L, 0L) == 0)
			return 1;
		*e = errno;
		if (*e == ESRCH)
			return 0;
		if (*e != EPERM && *e != EACCES)
			return -1;
		char state = tli_live_thread_state(pid, tid);
		if (!state || state == 'Z' || state == 'X')
			return 0; /* it was exiting */
		if (tli_live_pending_has(tid) && (tli_live_reap_pending(), !tli_live_pending_has(tid)))
			continue; /* ours from an earlier stop: it stopped and is detached now, seize again */
		if (attempt >= SEIZE_RETRIES)
			return -1;
		struct timespec ts = { 0, SEIZE_RETRY_NS };
		nanosleep(&ts, NULL);
	}
}

/* Seize and interrupt one thread. 1 = attached, 0 = thread gone (skip). */
static int seize_one(struct live *L, int pid, int tid, struct tli_error **err)
{
	int e = 0;
	int r = tid != pid && L->ntids > 0 ? seize_retrying(pid, tid, &e)
					   : (ptrace(PTRACE_SEIZE, tid, 0L, 0L) == 0 ? 1 : (e = errno, e == ESRCH ? 0 : -1));
	if (r == 0)
		return 0;
	if (r < 0) {
		if ((e == EPERM || e == EACCES) && tli_live_pending_has(tid)) {
			char st = tli_live_thread_state(pid, tid);
			*err = tli_error_create(TLI_E_TIMEOUT,
						"thread %d of process %d is still blocked (state '%c') since an earlier "
						"stop timed out: it cannot be stopped", tid, pid, st ? st : '?');
		} else if (e == EPERM || e == EACCES) {
			int tp = tid != pid ? thread_tracer(pid, tid) : 0;
			if (tp > 0 && tp != getpid())
				*err = traced_error(pid, tid, tp);
			else
				*err = perm_error(pid, tid, e);
		} else {
			*err = tli_error_errno(TLI_E_INTERNAL, e, "ptrace(PTRACE_SEIZE, %d)", tid);
		}
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
				char s = L->stopped[i] ? 't' : tli_live_thread_state(pid, L->tids[i]);
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

/* A thread seen by the attach rounds, with its state before the stop. */
struct seen {
	int tid;
	char st;
};
TLI_VEC(seen_vec, struct seen);

struct attach {
	struct tli_target *t;
	struct live *L;
	int pid;
	struct seen_vec seen;  /* every thread listed so far (zombies and gone ones too) */
	bool first;            /* no thread seized yet */
};

static bool seen_before(const struct attach *A, int tid)
{
	for (size_t j = 0; j < A->seen.n; j++)
		if (A->seen.v[j].tid == tid)
			return true;
	return false;
}

/* One listing of /proc/PID/task: seize every thread not seen before. *added = threads seized. */
static struct tli_error *seize_round(struct attach *A, size_t *added)
{
	int *tasks;
	size_t ntasks;
	int e = tli_live_list_tasks(A->pid, &tasks, &ntasks);
	if (e)
		return (e == ENOENT || e == ESRCH)
			? tli_error_create(TLI_E_NO_TARGET, "no process with pid %d", A->pid)
			: tli_error_errno(TLI_E_INTERNAL, e, "listing /proc/%d/task", A->pid);
	struct tli_error *err = NULL;
	*added = 0;
	for (size_t i = 0; i < ntasks; i++) {
		int tid = tasks[i];
		if (live_has_tid(A->L, tid) || seen_before(A, tid))
			continue; /* a zombie leader or a thread that already went away */
		char s = tli_live_thread_state(A->pid, tid);
		if (!tli_vec_push(&A->seen, ((struct seen){ tid, s }))) {
			err = &tli_enomem;
			break;
		}
		if (!s || s == 'Z' || s == 'X')
			continue; /* zombie thread-group leader: cannot stop, nothing to read */
		if (A->first) {
			clock_gettime(CLOCK_MONOTONIC, &A->t->stop_begin);
			A->first = false;
		}
		int r = seize_one(A->L, A->pid, tid, &err);
		if (r < 0)
			break;
		*added += (size_t)r;
	}
	free(tasks);
	return err;
}

/* Registers through the regsets, decoded by the host's architecture (core/arch.h): NT_PRSTATUS,
 * and where the thread pointer has a regset of its own (arm64 NT_ARM_TLS), that one. */
static void regs_of(const struct tli_arch *a, int tid, struct tli_thread *th)
{
	unsigned char g[8 * TLI_ARCH_MAX_GPR + 64];
	struct iovec iov = { g, sizeof(g) };
	if (!a || a->gregset_size > sizeof(g))
		return;
	if (ptrace(PTRACE_GETREGSET, tid, (void *)(uintptr_t)NT_PRSTATUS, &iov) == 0 &&
	    iov.iov_len >= a->gregset_size) {
		th->regs_valid = true;
		th->regs = (struct tli_regs){ 0 };
		a->decode_gregset(g, &th->regs);
		if (a->tls_note) {
			uint64_t tp = 0;
			struct iovec tv = { &tp, sizeof(tp) };
			th->no_tp = ptrace(PTRACE_GETREGSET, tid, (void *)(uintptr_t)a->tls_note, &tv) != 0;
			th->regs.tp = tp;
		}
	}
}

/* t->threads: the stopped threads, main thread first, then by tid, with their registers
 * and their state before the stop. */
static struct tli_error *read_threads(struct attach *A)
{
	struct tli_target *t = A->t;
	struct live *L = A->L;
	t->threads = calloc(L->ntids, sizeof(*t->threads));
	if (!t->threads)
		return &tli_enomem;
	int *order = malloc(L->ntids * sizeof(int));
	if (!order)
		return &tli_enomem;
	memcpy(order, L->tids, L->ntids * sizeof(int));
	qsort(order, L->ntids, sizeof(int), tli_live_int_cmp);
	size_t k = 0;
	for (size_t pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < L->ntids; i++) {
			if ((pass == 0) != (order[i] == A->pid))
				continue;
			struct tli_thread *th = &t->threads[k++];
			th->tid = order[i];
			for (size_t j = 0; j < A->seen.n; j++)
				if (A->seen.v[j].tid == th->tid)
					th->state = A->seen.v[j].st;
			regs_of(t->arch, th->tid, th);
		}
	t->nthreads = k;
	free(order);
	return NULL;
}

/* Seize and stop every thread, again while new ones appear (bounded rounds). */
static struct tli_error *stop_all(struct attach *A, int64_t deadline)
{
	for (int round = 0;; round++) {
		size_t added = 0;
		struct tli_error *err = seize_round(A, &added);
		if (err)
			return err;
		if (!added && round > 0)
			break;
		if (round >= MAX_ATTACH_ROUNDS)
			return tli_error_create(TLI_E_TIMEOUT,
						"process %d keeps creating threads; gave up after %d rounds",
						A->pid, MAX_ATTACH_ROUNDS);
		if ((err = wait_stopped(A->L, A->pid, deadline)))
			return err;
		if (!added && round == 0 && !A->L->ntids)
			break;
	}
	if (!A->L->ntids)
		return tli_error_create(TLI_E_NO_TARGET, "no process with pid %d (it exited while attaching)",
					A->pid);
	return NULL;
}

static struct tli_error *attach_all(struct tli_target *t, struct live *L, int timeout_ms)
{
	int64_t deadline = now_ns(CLOCK_MONOTONIC) + (int64_t)timeout_ms * 1000000;
	struct attach A = { .t = t, .L = L, .pid = t->pid, .first = true };
	tli_live_reap_pending(); /* threads an earlier stop left traced: detach those stopped since */
	L->slot = tli_live_guard_register();
	struct tli_error *err = stop_all(&A, deadline);
	if (!err) {
		t->mono_now_ns = now_ns(CLOCK_MONOTONIC);
		t->wall_now_ns = now_ns(CLOCK_REALTIME);
		t->stopped = true;
		err = read_threads(&A);
	}
	tli_vec_free(&A.seen);
	if (err)
		live_detach(L);
	return err;
}

/* ------------------------------------------------------------------ */
/* ops                                                                 */

/* A read of the copy in place failed (its bytes were given as zeros): say so, once. */
static void inplace_check(struct tli_target *t, struct live *L)
{
	int e = tli_live_inplace_lost(L->ip);
	if (e && !L->lost_warned) {
		L->lost_warned = true;
		t->copy_lost = e;
		if (e == ENOMEM) /* no page for a view: the command exits 13, not with a smaller answer */
			tli_oom_note();
		tli_target_warn(t, "--snapshot=fork: the frozen copy (pid %d) could not be read any more (%s); "
			       "parts of the heap were read as zeros and the answer may be incomplete",
			       L->child, strerror(e));
	}
}

static struct tli_error *live_read_many(struct tli_target *t, struct tli_read *reads, size_t n)
{
	struct live *L = t->priv;
	if (L->ip)
		inplace_check(t, L);
	return tli_procmem_read_many(&L->pm, reads, n);
}

static void live_release(struct tli_target *t)
{
	struct live *L = t->priv;
	if (L)
		live_detach(L);
	/* a copy read in place lives until destroy; otherwise it tears its memory down now */
	if (L && L->child && !tli_live_inplace_used(L->ip))
		tli_live_fork_kill(L->child); /* reaped at destroy */
	t->stopped = false;
}

/* --snapshot=fork: the copy's bytes in place (live_inplace.c); NULL in copy mode */
static const void *live_mapped_ptr(struct tli_target *t, uint64_t addr, uint64_t len)
{
	struct live *L = t->priv;
	if (!L || !L->ip || !L->child)
		return NULL;
	if (t->released && !tli_live_inplace_used(L->ip))
		return NULL; /* killed at the release: nothing was read in place before it */
	inplace_check(t, L);
	return tli_live_inplace_ptr(L->ip, addr, len);
}

/* asked when the result is described, after the walks: a loss is said in time */
static uint64_t live_mapped_bytes(struct tli_target *t)
{
	struct live *L = t->priv;
	if (!L || !L->ip)
		return 0;
	inplace_check(t, L);
	return tli_live_inplace_bytes(L->ip);
}

static void live_mapped_drop(struct tli_target *t, const void *p, uint64_t len)
{
	struct live *L = t->priv;
	if (L && L->ip) {
		inplace_check(t, L);
		tli_live_inplace_drop(L->ip, p, len);
	}
}

/* The most of the frozen copy kept in memory (live_inplace.c): TLINSPECT_FORK_WINDOW MiB,
 * else a quarter of what tlinspect may still use (so that a heap that fits is read once,
 * and a limit - ulimit -d, the cgroup, MemAvailable - bounds it), never less than
 * TLI_TARGET_IN_PLACE_RESIDENT. Worked out before the stop. */
#define FORK_WINDOW_MAX (1ull << 40)
static uint64_t fork_window(struct tli_target *t)
{
	const char *e = getenv("TLINSPECT_FORK_WINDOW");
	uint64_t w = 0;
	if (e && *e) {
		char *end = NULL;
		errno = 0;
		unsigned long long mib = strtoull(e, &end, 10);
		if (errno || *end || e[0] == '-' || !mib || mib > (FORK_WINDOW_MAX >> 20))
			tli_target_warn(t, "TLINSPECT_FORK_WINDOW='%.40s' is not a number of MiB from 1 to %llu: "
					   "the default window is used", e, FORK_WINDOW_MAX >> 20);
		else
			w = (uint64_t)mib << 20;
	}
	if (!w) {
		w = tli_mem_headroom_of(TLI_MEM_RESIDENT, NULL, 0) / 4;
		w = w < FORK_WINDOW_MAX ? w : FORK_WINDOW_MAX; /* no limit found at all */
	}
	return w > TLI_TARGET_IN_PLACE_RESIDENT ? w : TLI_TARGET_IN_PLACE_RESIDENT;
}

/* --snapshot=fork, every thread stopped and the maps read: a frozen copy of the process is
 * read from now on and the process runs again at once (the pause ends here). When no copy
 * can be made, say why and go on in copy mode. */
static struct tli_error *fork_snapshot(struct tli_target *t, struct live *L)
{
	char why[256];
	int child = tli_live_fork(t, L->tids, L->sigs, L->ntids, L->timeout_ms, why, sizeof(why));
	if (child < 0)
		return tli_error_create(TLI_E_INTERNAL, "--snapshot=fork of process %d: %s", t->pid, why);
	if (!child) {
		tli_target_warn(t, "--snapshot=fork: %s; read in copy mode instead", why);
		t->fork_asked = false;
		return NULL;
	}
	L->child = child;
	L->ip = tli_live_inplace_new(child, L->fork_window);
	live_detach(L);
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	t->pause_ms = (double)(now.tv_sec - t->stop_begin.tv_sec) * 1e3 +
		      (double)(now.tv_nsec - t->stop_begin.tv_nsec) / 1e6;
	t->forked = true;
	tli_procmem_close(&L->pm);
	tli_procmem_init(&L->pm, child);
	L->pm.mode = TLI_PROCMEM_MEMFILE; /* no COW unsharing in the copy (live_inplace.c) */
	return NULL;
}

static void live_destroy(struct tli_target *t)
{
	struct live *L = t->priv;
	if (!L)
		return;
	while (L->old_maps) {
		struct old_maps *om = L->old_maps;
		for (size_t i = 0; i < om->n; i++) {
			free(om->maps[i].path);
			free(om->maps[i].file);
		}
		free(om->maps);
		L->old_maps = om->next;
		free(om);
	}
	live_detach(L);
	tli_live_inplace_free(L->ip); /* no view of the copy outlives it */
	L->ip = NULL;
	if (L->child)
		tli_live_fork_reap(L->child);
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
	err = tli_live_parse_maps(t);
	if (!err && L->fork)
		err = fork_snapshot(t, L);
	return err;
}

static const struct tli_target_ops live_ops = {
	.name = "live",
	.read_many = live_read_many,
	.release = live_release,
	.stop = live_stop,
	.destroy = live_destroy,
	.mapped_ptr = live_mapped_ptr,
	.mapped_drop = live_mapped_drop,
	.mapped_bytes = live_mapped_bytes,
};

static struct tli_error *threads_no_stop(struct tli_target *t)
{
	int *tasks;
	size_t n;
	int e = tli_live_list_tasks(t->pid, &tasks, &n);
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
			t->threads[k].state = tli_live_thread_state(t->pid, tasks[i]);
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
	t->arch = tli_arch_host();
	t->pid = pid;
	t->no_stop = o.no_stop;

	tli_live_read_ns(t);
	struct tli_error *err = tli_live_parse_maps(t);
	if (!err)
		err = tli_live_read_exe(t);
	if (err)
		goto fail;
	tli_live_read_auxv(t);

	if (o.no_stop) {
		err = threads_no_stop(t);
		if (err)
			goto fail;
		for (size_t i = 0; i < t->nthreads; i++)
			for (size_t j = 0; j < o.nregs; j++)
				if (o.regs[j].tid == t->threads[i].tid && o.regs[j].regs_valid) {
					t->threads[i].regs = o.regs[j].regs;
					t->threads[i].regs_valid = true;
					t->threads[i].no_tp = o.regs[j].no_tp;
					break;
				}
		t->mono_now_ns = now_ns(CLOCK_MONOTONIC);
		t->wall_now_ns = now_ns(CLOCK_REALTIME);
		*ret = t;
		return NULL;
	}

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	int tp = tli_live_tracer_pid(path);
	if (tp > 0 && tp != getpid()) {
		err = traced_error(pid, pid, tp);
		goto fail;
	}
	L->timeout_ms = o.timeout_ms;
	L->fork = o.snapshot_fork;
	t->fork_asked = o.snapshot_fork;
	if (L->fork)
		L->fork_window = fork_window(t);
	if (o.defer_stop) {
		t->stop_deferred = true;
		*ret = t;
		return NULL;
	}
	L->detached = false;
	err = attach_all(t, L, o.timeout_ms);
	if (!err && L->fork)
		err = fork_snapshot(t, L);
	if (err)
		goto fail;
	*ret = t;
	return NULL;
fail:
	t->released = true; /* nothing to release: attach_all detached already */
	tli_target_destroy(t);
	return err;
}
