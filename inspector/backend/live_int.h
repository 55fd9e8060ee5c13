/* SPDX-License-Identifier: MIT */
/**
 * @file live_int.h
 * Private to the live backend (live.c, live_guard.c, live_proc.c, live_fork.c).
 */
#ifndef TLI_BACKEND_LIVE_INT_H
#define TLI_BACKEND_LIVE_INT_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "core/target.h"

/* --- live_guard.c: the registry of stopped threads that signals and atexit detach --- */

/** A registry slot for one target (-1 if all are taken); installs the atexit hook. */
int tli_live_guard_register(void);
/** The threads of slot (no-op for -1). Safe to call with signals blocked (it nests). */
void tli_live_guard_publish(int slot, int *tids, size_t n);
/** Free slot (no-op for -1). */
void tli_live_guard_unregister(int slot);
/** Block every signal (*old = the previous mask) around a change the handlers may see. */
void tli_live_guard_block(sigset_t *old);
void tli_live_guard_unblock(const sigset_t *old);
/** Remember a thread we trace but could not stop (its detach must wait until it stops). */
void tli_live_pending_add(int tid);
/** True if tid is such a thread. */
bool tli_live_pending_has(int tid);

/* --- live_proc.c: /proc --- */

/** Read a whole /proc file (they report size 0), NUL-terminated. 0 or errno. */
int tli_live_read_proc_file(const char *path, char **ret, size_t *len);
/** State letter of /proc/PID/task/TID/stat, 0 if unreadable. */
char tli_live_thread_state(int pid, int tid);
/** What to check when ptrace or /proc is refused: "/proc/sys/kernel/yama/ptrace_scope, the
 *  CAP_SYS_PTRACE capability", naming Yama only on kernels that have it. */
const char *tli_live_perm_checks(void);
/** TracerPid of a process or thread status file, -1 if unknown. */
int tli_live_tracer_pid(const char *status_path);
/** qsort comparison of ints. */
int tli_live_int_cmp(const void *a, const void *b);
/** Thread ids of pid, sorted. 0 or errno. */
int tli_live_list_tasks(int pid, int **ret, size_t *n);
/** t->maps from /proc/PID/maps, sorted. */
struct tli_error *tli_live_parse_maps(struct tli_target *t);
/** AT_ENTRY / AT_PHDR from /proc/PID/auxv (left 0 if unreadable). */
void tli_live_read_auxv(struct tli_target *t);

/* --- live_ns.c: the target's files as it sees them (containers) --- */

/** t->exe_path from /proc/PID/exe: its path here if that is the same inode, else the link
 *  itself (then t->exe_name = the target's path); NULL if unknown. */
struct tli_error *tli_live_read_exe(struct tli_target *t);
/** pid is a kernel thread (PF_KTHREAD); its name into comm (live_proc.c) */
bool tli_live_is_kernel_thread(int pid, char *comm, size_t commsz);
/** t->root ("/proc/PID/root" when the target's root is not ours) and t->ns_pid (NSpid). */
void tli_live_read_ns(struct tli_target *t);
/** m->file for mapping m (being appended to t->maps) whose file is (major:minor, inode) per
 *  /proc/PID/maps, when m->path here is not that file. -1 on out of memory. */
int tli_live_map_file(struct tli_target *t, struct tli_mapping *m, unsigned dmaj, unsigned dmin, uint64_t ino);

/* --- live_fork.c: --snapshot=fork --- */

/**
 * While every thread of t->pid is stopped (tids[n]; sigs[n] the signals their detach
 * delivers): make one of them fork a frozen, traced copy of the process and give the thread
 * its registers back. Returns the copy's pid; 0 if it was not made (why says why; the process
 * is as it was, still stopped); -1 if a thread could not be given its registers back (why).
 * A signal the thread dequeued on the way is put back in sigs[].
 */
int tli_live_fork(struct tli_target *t, const int *tids, int *sigs, size_t n, int timeout_ms,
		  char *why, size_t whysz);
/** SIGKILL the copy (at release: it tears its memory down while we analyse). */
void tli_live_fork_kill(int child);
/** SIGKILL the copy and reap it (its parent, the target's parent, then reaps it). */
void tli_live_fork_reap(int child);
/** SIGKILL every copy alive (async-signal-safe; for the signal guard). */
void tli_live_fork_kill_all(void);

/* --- live_inplace.c: the frozen copy read in place (tli_target_mapped_ptr) --- */

struct tli_live_inplace;
/** Views of copy `child`, at most resident_max bytes of them resident. NULL: out of memory. */
struct tli_live_inplace *tli_live_inplace_new(int child, uint64_t resident_max);
/** [addr, addr+len) of the copy in place (read when touched), or NULL (no userfaultfd, not
 *  in one readable mapping of the copy). */
const void *tli_live_inplace_ptr(struct tli_live_inplace *ip, uint64_t addr, uint64_t len);
/** Give back the whole pages of [p, p+len) (read again when touched). */
void tli_live_inplace_drop(struct tli_live_inplace *ip, const void *p, uint64_t len);
/** True once a view exists (the copy must live until destroy). */
bool tli_live_inplace_used(const struct tli_live_inplace *ip);
/** errno of a read of the copy that failed (its bytes were given as zeros), 0 if none. */
int tli_live_inplace_lost(const struct tli_live_inplace *ip);
/** Blocks read so far, and their bytes (statistics). */
uint64_t tli_live_inplace_faults(const struct tli_live_inplace *ip);
uint64_t tli_live_inplace_bytes(const struct tli_live_inplace *ip);
/** Stop the server, unmap the views. Safe on NULL. */
void tli_live_inplace_free(struct tli_live_inplace *ip);

#endif
