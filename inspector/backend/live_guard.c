/* SPDX-License-Identifier: MIT */
/**
 * @file live_guard.c
 * The signal guard of the live backend: a registry of the threads we hold
 * stopped, so that signal handlers and atexit detach them all and a crash of
 * tlinspect never leaves the target stopped (the kernel also detaches tracees
 * when the tracer dies; the guard covers signals that would otherwise be
 * ignored or handled). The handlers use raw syscalls over a static table only.
 */
#include "live.h"
#include "live_int.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

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
	tli_live_fork_kill_all(); /* --snapshot=fork copies (they would die with us anyway: EXITKILL) */
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

void tli_live_release_all(void)
{
	guard_detach_all();
}

void tli_live_guard_block(sigset_t *old)
{
	sigset_t all;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, old);
}

void tli_live_guard_unblock(const sigset_t *old)
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

int tli_live_guard_register(void)
{
	sigset_t old;
	tli_live_guard_block(&old);
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
	tli_live_guard_unblock(&old);
	return slot;
}

void tli_live_guard_publish(int slot, int *tids, size_t n)
{
	if (slot < 0)
		return;
	sigset_t old;
	tli_live_guard_block(&old);
	g_slots[slot].tids = tids;
	g_slots[slot].n = n;
	tli_live_guard_unblock(&old);
}

void tli_live_guard_unregister(int slot)
{
	if (slot < 0)
		return;
	sigset_t old;
	tli_live_guard_block(&old);
	g_slots[slot].n = 0;
	g_slots[slot].tids = NULL;
	g_slots[slot].used = 0;
	tli_live_guard_unblock(&old);
}

/* ---- threads we trace but could not stop (a stop that timed out) ----
 * PTRACE_DETACH needs a stopped tracee: a thread seized and interrupted that never stopped
 * (blocked in vfork, in uninterruptible sleep) stays traced by us, and stops - frozen - the
 * moment it leaves the kernel. The one-shot CLI exits and the kernel detaches it; a process
 * that lives on (the shell) must detach it then: tli_live_reap_pending(). */

#define PENDING_MAX 256
static int g_pending[PENDING_MAX];
static size_t g_npending;

void tli_live_pending_add(int tid)
{
	for (size_t i = 0; i < g_npending; i++)
		if (g_pending[i] == tid)
			return;
	if (g_npending < PENDING_MAX)
		g_pending[g_npending++] = tid;
}

bool tli_live_pending_has(int tid)
{
	for (size_t i = 0; i < g_npending; i++)
		if (g_pending[i] == tid)
			return true;
	return false;
}

size_t tli_live_reap_pending(void)
{
	for (size_t i = 0; i < g_npending;) {
		int tid = g_pending[i], st = 0;
		pid_t w = waitpid(tid, &st, __WALL | WNOHANG);
		bool done = w < 0 && errno != EINTR; /* ECHILD: gone, or no longer ours */
		if (w == tid && (WIFEXITED(st) || WIFSIGNALED(st)))
			done = true;
		if (w == tid && WIFSTOPPED(st)) {
			int sig = WSTOPSIG(st), event = (unsigned)st >> 16;
			/* a signal-delivery-stop keeps its signal; our interrupt's stop delivers none */
			ptrace(PTRACE_DETACH, tid, 0L, (long)(event == 0 && sig != SIGTRAP ? sig : 0));
			done = true;
		}
		if (done)
			g_pending[i] = g_pending[--g_npending];
		else
			i++;
	}
	return g_npending;
}
