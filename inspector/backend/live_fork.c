/* SPDX-License-Identifier: MIT */
/**
 * @file live_fork.c
 * --snapshot=fork: while every thread of the target is held stopped, one of them executes a
 * fork-style clone(CLONE_PARENT | SIGCHLD) at a `syscall` instruction already in the target's
 * text; the child starts traced by us (PTRACE_O_TRACEFORK) and is never resumed, so it is a
 * frozen copy-on-write image of the process at the stop. The forking thread gets its registers
 * back exactly and the process is let go at once; the copy is read at leisure and killed at
 * release, its memory torn down while we analyse, reaped at destroy (PTRACE_O_EXITKILL on the
 * copy only, so it also dies with us).
 *
 * How the thread is made to run the syscall without disturbing it. Every thread sits in the
 * stop PTRACE_INTERRUPT put it in: PTRACE_EVENT_STOP inside the kernel's get_signal(). Its
 * registers (NT_PRSTATUS bytes) are saved; the architecture (core/arch.h syscall_regs) sets the
 * pc at a system-call instruction already in the target's text, the clone call and its
 * arguments, and switches off the restart of a call the stop interrupted where that happens
 * after get_signal() (x86-64: orig_rax = -1). We let it go with PTRACE_SYSCALL: syscall-enter
 * stop, the fork event (the child's pid), syscall-exit stop. There clone's result is in the
 * registers and the thread would return to user mode; instead we PTRACE_INTERRUPT it and
 * continue: it stops again in get_signal() (PTRACE_EVENT_STOP, the jobctl trap comes before any
 * pending signal), the very kind of stop it was in, and there the saved registers go back, so
 * the restart logic that follows sees what it would have seen.
 *
 * A thread that dequeues a pending signal before the clone runs (its signal-delivery-stop)
 * gets its registers back right there and stays in that stop, as if our stop had met it there:
 * its detach delivers the signal with its siginfo untouched; another thread is tried. A signal
 * that arrives during clone makes it fail with ERESTARTNOINTR: tried again the same way.
 *
 * The copy's parent is the target's parent (CLONE_PARENT): it reaps the copy once we have
 * (shells, init, supervisors reap any child). A child of the target itself would stay a zombie
 * of a program that never waits for it (Go).
 */
#include "live_int.h"

#include <elf.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef CLONE_PARENT
#define CLONE_PARENT 0x00008000
#endif
#define SCAN_CHUNK (64u << 10)
#define SCAN_MAX (64u << 20)   /* bytes of text searched for a syscall instruction at most */
#define MAX_STOPS 64           /* ptrace stops of the forking thread before we give up */
#define FORK_TRIES 4           /* threads tried: one that meets a signal first stays in its stop */
#define ERESTARTNOINTR_ 513

/* ---- the copies alive, for the signal guard (async-signal-safe kill) ---- */

#define CHILD_SLOTS 16
static volatile int g_children[CHILD_SLOTS];

static void child_register(int child)
{
	for (int i = 0; i < CHILD_SLOTS; i++)
		if (!g_children[i]) {
			g_children[i] = child;
			return;
		}
}

static void child_unregister(int child)
{
	for (int i = 0; i < CHILD_SLOTS; i++)
		if (g_children[i] == child)
			g_children[i] = 0;
}

void tli_live_fork_kill_all(void)
{
	for (int i = 0; i < CHILD_SLOTS; i++)
		if (g_children[i] > 0)
			syscall(SYS_kill, (long)g_children[i], (long)SIGKILL);
}

void tli_live_fork_kill(int child)
{
	if (child > 0)
		kill(child, SIGKILL);
}

void tli_live_fork_reap(int child)
{
	if (child <= 0)
		return;
	kill(child, SIGKILL);
	/* reap it as its tracer: it then goes to its real parent, which reaps it */
	for (int i = 0; i < 1000; i++) {
		int st = 0;
		pid_t w = waitpid(child, &st, __WALL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 || WIFEXITED(st) || WIFSIGNALED(st))
			break;
	}
	child_unregister(child);
}

/* ---- helpers ---- */

static int64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* waitpid(tid) until a state change or the deadline: 1 = *st set, 0 = timeout, -1 = error.
 * Called with every signal blocked (tli_live_guard_block): a tracee's stop sends us SIGCHLD,
 * which then stays pending, so sigtimedwait wakes the moment there is something to wait for. */
static int wait_until(int tid, int *st, int64_t deadline)
{
	sigset_t chld;
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	for (;;) {
		pid_t w = waitpid(tid, st, __WALL | WNOHANG);
		if (w == tid)
			return 1;
		if (w < 0 && errno != EINTR)
			return -1;
		int64_t left = deadline - mono_ns();
		if (left <= 0)
			return 0;
		struct timespec ts = { 0, left < 10000000 ? (long)left : 10000000L };
		sigtimedwait(&chld, NULL, &ts);
	}
}

/* "Seccomp:" of the thread's status: 0 none, 1 strict, 2 filter, -1 unknown. */
static int seccomp_mode(int pid, int tid)
{
	char path[96], *buf;
	size_t len;
	snprintf(path, sizeof(path), "/proc/%d/task/%d/status", pid, tid);
	if (tli_live_read_proc_file(path, &buf, &len))
		return -1;
	const char *p = strstr(buf, "\nSeccomp:");
	int mode = p ? atoi(p + 9) : -1;
	free(buf);
	return mode;
}

/* Address of a system-call instruction (arch->syscall_insn, at an address aligned to the pc
 * quantum) in the target's executable mappings, 0 if none. */
static uint64_t find_syscall_insn(const struct tli_target *t)
{
	const struct tli_arch *A = t->arch;
	const size_t il = A->syscall_insn_len, q = A->pc_quantum ? A->pc_quantum : 1;
	unsigned char *buf = malloc(SCAN_CHUNK + il);
	if (!buf)
		return 0;
	uint64_t found = 0, scanned = 0;
	for (size_t m = 0; m < t->nmaps && !found && scanned < SCAN_MAX; m++) {
		const struct tli_mapping *mp = &t->maps[m];
		if ((mp->prot & (TLI_PROT_R | TLI_PROT_X)) != (TLI_PROT_R | TLI_PROT_X))
			continue;
		if (mp->path && (!strcmp(mp->path, "[vsyscall]") || !strcmp(mp->path, "[vdso]")))
			continue;
		/* chunks overlap so an instruction across their border is seen */
		for (uint64_t a = mp->start; a + il <= mp->end && !found && scanned < SCAN_MAX; a += SCAN_CHUNK) {
			size_t len = (size_t)(mp->end - a < SCAN_CHUNK + il ? mp->end - a : SCAN_CHUNK + il);
			struct iovec l = { buf, len }, r = { (void *)(uintptr_t)a, len };
			ssize_t got = process_vm_readv(t->pid, &l, 1, &r, 1, 0);
			if (got < (ssize_t)il)
				break;
			scanned += (uint64_t)got;
			for (size_t i = 0; i + il <= (size_t)got; i++)
				if ((a + i) % q == 0 && !memcmp(buf + i, A->syscall_insn, il)) {
					found = a + (uint64_t)i;
					break;
				}
		}
	}
	free(buf);
	return found;
}

/* The thread to fork from: one whose stop holds no signal, not job-control stopped, alive. */
static int choose_thread(const struct tli_target *t, const int *tids, const int *sigs, size_t n)
{
	for (size_t pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < n; i++) {
			if (sigs[i])
				continue;
			char st = 0;
			for (size_t k = 0; k < t->nthreads; k++)
				if (t->threads[k].tid == tids[i])
					st = t->threads[k].state;
			if (st == 'T' || st == 't' || st == 'Z' || st == 'X' || st == 'D')
				continue;
			/* the main thread last: a process-directed signal prefers it */
			if (pass == 0 && tids[i] == t->pid)
				continue;
			return (int)i;
		}
	return -1;
}

/* ---- the clone ---- */

struct dance {
	int pid, tid;
	int64_t deadline;
	const struct tli_arch *arch;
	unsigned char saved[8 * TLI_ARCH_MAX_GPR + 64]; /* pr_reg (NT_PRSTATUS) */
	int child;
	int sig;          /* a signal the thread dequeued before the clone (EAGAIN) */
	long result;      /* clone's return value, 1 if never seen */
};

static bool set_regs(const struct dance *D, const unsigned char *g)
{
	struct iovec v = { (void *)g, D->arch->gregset_size };
	return ptrace(PTRACE_SETREGSET, D->tid, (void *)(uintptr_t)NT_PRSTATUS, &v) == 0;
}

static bool get_regs(const struct dance *D, unsigned char *g)
{
	struct iovec v = { g, D->arch->gregset_size };
	return ptrace(PTRACE_GETREGSET, D->tid, (void *)(uintptr_t)NT_PRSTATUS, &v) == 0 &&
	       v.iov_len == D->arch->gregset_size;
}

/*
 * One clone: from the thread's PTRACE_EVENT_STOP to the same kind of stop with its saved
 * registers back. 0 = done (D->result, D->child); EAGAIN = the thread dequeued a signal first
 * (D->sig): it has its registers back and stays in that signal-delivery-stop, as if our stop
 * had met it there (its detach delivers the signal, siginfo untouched); another errno with
 * *why = not done, registers back; EFAULT = registers not restored (the thread is lost to us).
 */
static int clone_once(struct dance *D, uint64_t insn, char *why, size_t whysz)
{
	unsigned char r[sizeof(D->saved)];
	memcpy(r, D->saved, sizeof(r));
	/* fork: no CLONE_VM, the copy's parent is ours; no new stack, no tid pointers, no tls */
	const uint64_t args[6] = { CLONE_PARENT | SIGCHLD };
	D->arch->syscall_regs(r, insn, D->arch->sys_clone, args);
	D->result = 1;
	if (!set_regs(D, r)) {
		snprintf(why, whysz, "PTRACE_SETREGSET of thread %d: %s", D->tid, strerror(errno));
		return errno == ESRCH ? ESRCH : EIO;
	}
	enum { ENTER, EXIT, FINAL } phase = ENTER;
	if (ptrace(PTRACE_SYSCALL, D->tid, 0L, 0L) < 0)
		goto lost;
	for (int stops = 0; stops < MAX_STOPS; stops++) {
		int st = 0, w = wait_until(D->tid, &st, D->deadline);
		if (w <= 0) {
			snprintf(why, whysz, "thread %d did not come back from clone in time", D->tid);
			goto stuck;
		}
		if (!WIFSTOPPED(st)) {
			snprintf(why, whysz, "thread %d ended during the clone", D->tid);
			return EFAULT;
		}
		int sig = WSTOPSIG(st), ev = (unsigned)st >> 16;
		enum __ptrace_request next = phase == FINAL ? PTRACE_CONT : PTRACE_SYSCALL;
		if (ev == PTRACE_EVENT_FORK || ev == PTRACE_EVENT_CLONE || ev == PTRACE_EVENT_VFORK) {
			unsigned long msg = 0;
			if (ptrace(PTRACE_GETEVENTMSG, D->tid, 0L, &msg) == 0)
				D->child = (int)msg;
		} else if (ev == PTRACE_EVENT_STOP && phase == FINAL) {
			if (!set_regs(D, D->saved))
				goto lost;
			return 0;
		} else if (ev == 0 && sig == (SIGTRAP | 0x80)) {
			if (phase == ENTER) {
				phase = EXIT;
			} else if (phase == EXIT) {
				unsigned char x[sizeof(D->saved)];
				if (get_regs(D, x))
					D->result = (long)D->arch->syscall_result(x);
				/* back to a stop in get_signal() before user mode */
				if (ptrace(PTRACE_INTERRUPT, D->tid, 0L, 0L) < 0)
					goto lost;
				phase = FINAL;
				next = PTRACE_CONT;
			}
		} else if (ev == 0 && phase == ENTER) {
			/* a signal-delivery-stop before the clone ran: keep the thread here */
			if (!set_regs(D, D->saved))
				goto lost;
			D->sig = sig;
			return EAGAIN;
		}
		/* any other stop (a group stop from outside) is passed by */
		if (ptrace(next, D->tid, 0L, 0L) < 0)
			goto lost;
	}
	snprintf(why, whysz, "thread %d stopped too often during the clone", D->tid);
stuck:
	/* bring it to a stop and put its registers back */
	ptrace(PTRACE_INTERRUPT, D->tid, 0L, 0L);
	for (int i = 0; i < 8; i++) {
		int st = 0;
		if (wait_until(D->tid, &st, mono_ns() + 1000000000) <= 0 || !WIFSTOPPED(st))
			break;
		if (set_regs(D, D->saved)) {
			int sig = WSTOPSIG(st), ev = (unsigned)st >> 16;
			if (ev == 0 && sig != (SIGTRAP | 0x80))
				D->sig = sig; /* a signal-delivery-stop: its detach delivers it */
			return ETIMEDOUT;
		}
		ptrace(PTRACE_INTERRUPT, D->tid, 0L, 0L);
	}
	snprintf(why + strlen(why), whysz - strlen(why), "; its registers could not be restored");
	return EFAULT;
lost:
	snprintf(why, whysz, "ptrace of thread %d failed during the clone: %s", D->tid, strerror(errno));
	return EFAULT;
}

/* The copy's first stop; then it dies with us. */
static bool adopt_child(int child, int64_t deadline)
{
	int st = 0;
	if (wait_until(child, &st, deadline) <= 0 || !WIFSTOPPED(st)) {
		kill(child, SIGKILL);
		return false;
	}
	child_register(child);
	ptrace(PTRACE_SETOPTIONS, child, 0L, (long)PTRACE_O_EXITKILL);
	return true;
}

/* Why clone's result (a negative errno) gave no copy. */
static void result_why(long result, int pid, char *why, size_t whysz)
{
	long e = result < 0 ? -result : 0;
	if (e == EINVAL)
		snprintf(why, whysz, "clone was refused (EINVAL): process %d is the init of its pid "
			 "namespace, whose copy could have no other parent", pid);
	else if (e == EPERM || e == ENOSYS)
		snprintf(why, whysz, "clone was refused (%s): a seccomp filter or a security module "
			 "forbids it", strerror((int)e));
	else if (e == ERESTARTNOINTR_)
		snprintf(why, whysz, "clone was interrupted by signals again and again");
	else if (e)
		snprintf(why, whysz, "clone failed: %s (process or memory limits)", strerror((int)e));
	else
		snprintf(why, whysz, "clone gave no copy");
}

/* One attempt from thread i: 0 done (*child, 0 if clone failed: why), else clone_once's code. */
static int attempt(struct tli_target *t, const int *tids, int *sigs, size_t i, uint64_t insn,
		   int64_t deadline, int *child, char *why, size_t whysz)
{
	struct dance D = { .pid = t->pid, .tid = tids[i], .deadline = deadline, .arch = t->arch };
	*child = 0;
	int sc = seccomp_mode(t->pid, D.tid);
	if (sc != 0) {
		snprintf(why, whysz, sc < 0 ? "the seccomp state of thread %d is unknown"
			 : "thread %d runs under seccomp (mode %d in /proc/PID/task/TID/status): a filter "
			   "that forbids clone could kill the process", D.tid, sc);
		return EPERM;
	}
	if (!get_regs(&D, D.saved)) {
		snprintf(why, whysz, "PTRACE_GETREGSET of thread %d: %s", D.tid, strerror(errno));
		return EIO;
	}
	if (ptrace(PTRACE_SETOPTIONS, D.tid, 0L,
		   (long)(PTRACE_O_TRACESYSGOOD | PTRACE_O_TRACEFORK | PTRACE_O_TRACECLONE)) < 0) {
		snprintf(why, whysz, "PTRACE_SETOPTIONS of thread %d: %s", D.tid, strerror(errno));
		return EIO;
	}
	int rc = clone_once(&D, insn, why, whysz);
	ptrace(PTRACE_SETOPTIONS, D.tid, 0L, 0L);
	if (D.sig)
		sigs[i] = D.sig; /* held at its signal-delivery-stop: delivered at detach */
	if (rc == EAGAIN)
		snprintf(why, whysz, "thread %d took signal %d instead of cloning", D.tid, D.sig);
	if (!rc && D.result > 0 && D.child == D.result) {
		if (adopt_child(D.child, deadline))
			*child = D.child;
		else
			snprintf(why, whysz, "the copy (pid %d) did not stop", D.child);
		return 0;
	}
	if (D.child > 0)
		tli_live_fork_reap(D.child);
	if (!rc) {
		result_why(D.result, t->pid, why, whysz);
		if (D.result == -ERESTARTNOINTR_)
			return EAGAIN; /* a signal came: the next attempt meets it */
	}
	return rc;
}

int tli_live_fork(struct tli_target *t, const int *tids, int *sigs, size_t n, int timeout_ms,
		  char *why, size_t whysz)
{
	why[0] = 0;
	if (!t->arch || !t->arch->syscall_regs || t->arch->gregset_size > sizeof(((struct dance *)0)->saved)) {
		snprintf(why, whysz, "making a copy of a process is not done on %s",
			 t->arch ? t->arch->name : "this machine");
		return 0;
	}
	uint64_t insn = find_syscall_insn(t);
	if (!insn) {
		snprintf(why, whysz, "no system-call instruction found in the executable mappings");
		return 0;
	}
	int64_t deadline = mono_ns() + (int64_t)(timeout_ms > 0 ? timeout_ms : 2000) * 1000000;
	/* signals of ours wait: the guard must not detach a thread with borrowed registers */
	sigset_t old;
	tli_live_guard_block(&old);
	int child = 0, rc = EAGAIN;
	for (int k = 0; k < FORK_TRIES && rc == EAGAIN; k++) {
		int i = choose_thread(t, tids, sigs, n);
		if (i < 0) {
			snprintf(why, whysz, "no thread of process %d is in a stop it can fork from", t->pid);
			break;
		}
		rc = attempt(t, tids, sigs, (size_t)i, insn, deadline, &child, why, whysz);
	}
	tli_live_guard_unblock(&old);
	if (rc == EFAULT)
		return -1;
	return child;
}
