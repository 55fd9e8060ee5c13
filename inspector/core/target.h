/* SPDX-License-Identifier: MIT */
/**
 * @file target.h
 * A target is a stopped process or a core file seen as: memory (read in bulk),
 * mappings, threads with registers, and the executable's path.
 *
 * Backends (inspector/backend/) only implement `read_many` (and `release` for
 * live targets); each declares its own constructor (backend/live.h,
 * backend/elfcore.h, backend/pages.h). This layer adds the snapshot
 * discipline: while a live target is stopped, walkers *capture* the ranges
 * they need in bulk
 * (tli_target_capture coalesces neighbours into large vectored reads); after
 * tli_target_release() the target runs again and every read is served from the
 * captured copy. A read of memory that was not captured fails with a clear
 * error instead of returning torn data.
 *
 * We never write to a target: there is no write operation.
 */
#ifndef TLI_CORE_TARGET_H
#define TLI_CORE_TARGET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "arch.h"
#include "error.h"
#include "warnings.h"

struct tli_thread {
	int tid;
	bool regs_valid;
	bool no_tp;      /**< regs_valid, but regs.tp (the thread pointer) is unknown: a debugger that
			  *   does not give it (LLDB 14), an arm64 core without NT_ARM_TLS (qemu-user) */
	struct tli_regs regs; /**< in the target's architecture (tli_target.arch) */
	char state;      /**< 'S','R','t',... from /proc or NT_PRPSINFO, 0 if unknown */
};

enum { TLI_PROT_R = 4, TLI_PROT_W = 2, TLI_PROT_X = 1 };

struct tli_mapping {
	uint64_t start, end;  /**< [start, end) */
	uint64_t offset;      /**< file offset of start */
	unsigned prot;        /**< TLI_PROT_* */
	char *path;           /**< file path as the target sees it, or NULL / "[heap]" etc. for anonymous */
	char *file;           /**< where that file is opened here when `path` on this host is another
	                           file (a live target in another mount namespace: /proc/PID/root/PATH
	                           or /proc/PID/map_files/START-END); NULL = `path` itself */
};

/** One range of a vectored read. `got` and `err` are filled by the read. */
struct tli_read {
	uint64_t addr;
	void *buf;
	size_t len;
	size_t got; /**< bytes read from the start of the range */
	int err;    /**< errno when got < len (EFAULT/EIO for unmapped) */
};

enum tli_target_kind { TLI_TARGET_LIVE, TLI_TARGET_CORE };

struct tli_target;

struct tli_target_ops {
	const char *name;
	/** Read every range; per-range result in got/err. Return an error only
	 *  when nothing can be read at all (target vanished). */
	struct tli_error *(*read_many)(struct tli_target *t, struct tli_read *reads, size_t n);
	/** Resume a stopped live target (detach). Idempotent. May be NULL. */
	void (*release)(struct tli_target *t);
	/** Stop a live target opened with defer_stop. May be NULL (cores). */
	struct tli_error *(*stop)(struct tli_target *t);
	void (*destroy)(struct tli_target *t);
	/** [addr, addr+len) in place in the backend's own read-only mapping (a core's PT_LOAD
	 *  data), or NULL. May be NULL. */
	const void *(*mapped_ptr)(struct tli_target *t, uint64_t addr, uint64_t len);
	/** Give back the pages of [p, p+len) from mapped_ptr (they are read again from the file
	 *  when touched). May be NULL. */
	void (*mapped_drop)(struct tli_target *t, const void *p, uint64_t len);
	/** Bytes read into mapped_ptr's views so far (--snapshot=fork), for bytes_read. May be NULL. */
	uint64_t (*mapped_bytes)(struct tli_target *t);
};

struct tli_capture; /* private: captured extents */

/** --snapshot=fork: bytes of the frozen copy's views (tli_target_mapped_ptr) resident at least,
 *  however large the heap read in place (the window a core walk keeps, TLI_GL_WINDOW); more
 *  (up to a quarter of the memory tlinspect may still use) when there is room, so that a heap
 *  that fits is read once (backend/live_inplace.c). */
#define TLI_TARGET_IN_PLACE_RESIDENT (64ull << 20)

struct tli_target {
	const struct tli_target_ops *ops;
	void *priv;                 /**< backend state */
	enum tli_target_kind kind;
	const struct tli_arch *arch; /**< the target's architecture (core/arch.h); set by the backend */
	int pid;                    /**< live pid, or the core's pid (0 if unknown) */
	char *exe_path;             /**< main executable, openable here (NULL if unknown) */
	char *core_path;            /**< core file (NULL for live) */
	struct tli_mapping *maps;
	size_t nmaps;
	struct tli_thread *threads; /**< known once stopped: call tli_target_stop() first */
	size_t nthreads;
	uint64_t at_entry;          /**< AT_ENTRY from auxv (0 if unknown) */
	uint64_t at_phdr;           /**< AT_PHDR */
	bool stopped;               /**< live target currently held stopped by us */
	bool no_stop;               /**< live target read without stopping (--no-stop) */
	bool stop_deferred;         /**< opened with defer_stop and not stopped yet */
	struct tli_error *stop_error; /**< why the deferred stop failed (a timeout, ...): every later
	                                   stop or capture returns a copy of it, never "released" */
	struct timespec stop_begin; /**< CLOCK_MONOTONIC when the stop began */
	double pause_ms;            /**< measured stop duration (after release) */
	bool forked;                /**< --snapshot=fork: the process ran again once a frozen copy of
	                                 it was made (pause_ms set then); reads come from the copy */
	int copy_lost;              /**< --snapshot=fork: errno of a read of the copy in place that
	                                 failed (its bytes were read as zeros, the copy was killed
	                                 by someone else): the answer is incomplete, the CLI fails */
	bool fork_asked;            /**< --snapshot=fork was asked (known before the stop): large
	                                 ranges will be read in place from the copy, not copied */
	int64_t mono_now_ns;        /**< target's CLOCK_MONOTONIC "now" (0 = unknown) */
	int64_t wall_now_ns;        /**< CLOCK_REALTIME "now" (core: capture time/mtime; 0 = unknown) */
	struct tli_capture *capture;
	bool released;              /**< reads must come from the capture */
	uint64_t bytes_read;        /**< statistics: bytes read from the backend */
	uint64_t read_calls;        /**< statistics: backend read_many calls */
	uint64_t bytes_adopted;     /**< statistics: bytes copied before the stop, proven unchanged (tli_target_adopt) */
	/* added by the target-layer owner: */
	struct tli_warnings warnings; /**< about the target (core damage, unverified --exe, ...) */
	/* containers (live targets; backend/live_ns.c): */
	char *exe_name;             /**< the executable's path as the target sees it, when exe_path is
	                                 another name for it (/proc/PID/exe); NULL = exe_path */
	char *root;                 /**< "/proc/PID/root" when the target's root directory is not ours
	                                 (another mount namespace or chroot); NULL otherwise */
	int ns_pid;                 /**< the pid as the target sees itself (last NSpid), 0 if unknown */
};

/* --- generic layer (core/target.c) --- */

/** Read exactly len bytes; TLI_E_FAULT naming the address otherwise. */
struct tli_error *tli_target_read(struct tli_target *t, uint64_t addr, void *buf, size_t len);
/** Read a little-endian u64 / u32 (helpers). */
struct tli_error *tli_target_read_u64(struct tli_target *t, uint64_t addr, uint64_t *ret);
struct tli_error *tli_target_read_u32(struct tli_target *t, uint64_t addr, uint32_t *ret);
/** Vectored read (served from the capture where possible, else the backend). */
struct tli_error *tli_target_read_many(struct tli_target *t, struct tli_read *reads, size_t n);

/**
 * Read from a live target opened with defer_stop WITHOUT stopping it (a running
 * process: the bytes may be changing). Only for hints that decide what to prepare
 * before the stop (e.g. which mappings hold malloc heaps, to reserve capture memory);
 * never for results. Not counted in bytes_read. On a stopped, released or core
 * target it is tli_target_read_many.
 */
struct tli_error *tli_target_peek_many(struct tli_target *t, struct tli_read *reads, size_t n);

/** A range to capture. */
struct tli_range {
	uint64_t addr;
	uint64_t len;
};
/**
 * Copy ranges into the target's capture while it is stopped. Ranges are sorted,
 * merged when closer than `gap` bytes (0 = default 4 KiB) and read with large
 * vectored reads. Ranges that are partly unreadable are captured as far as
 * possible; *nfailed (may be NULL) counts ranges not fully readable.
 * On core targets this is a no-op (the core is already a snapshot).
 */
struct tli_error *tli_target_capture(struct tli_target *t, const struct tli_range *ranges,
				     size_t n, uint64_t gap, size_t *nfailed);
/**
 * Bytes copied before the stop (tli_target_peek_many, after what proves them) that the
 * caller has shown, while the target is stopped, to be unchanged since: they join the
 * capture as if read now, without a read. v[i].buf points into `mem` (tli_big_alloc'd,
 * mem_len bytes), which passes to the capture and is freed with it whatever is adopted
 * (NULL: the caller keeps it). Only entries in ascending address order that overlap
 * neither an earlier entry nor bytes already captured, fully peeked (got == len), are
 * adopted: adopted[i] says which; capture the others. Live, stopped, not released
 * targets only (else nothing is adopted). Returns how many were adopted.
 */
size_t tli_target_adopt(struct tli_target *t, const struct tli_read *v, size_t n, void *mem, size_t mem_len,
			bool *adopted);
/** True if [addr,addr+len) is entirely inside the capture. */
bool tli_target_captured(struct tli_target *t, uint64_t addr, uint64_t len);
/**
 * The captured bytes [addr, addr+len) in place (no copy), when they are captured and
 * contiguous in memory; NULL otherwise (not captured, split over separate buffers, core
 * targets). Valid until tli_target_destroy(); read only.
 */
const void *tli_target_captured_ptr(struct tli_target *t, uint64_t addr, uint64_t len);
/**
 * A core's bytes [addr, addr+len) in place in its file mapping (no copy; file pages, not
 * anonymous memory), when they lie in one PT_LOAD's data; NULL otherwise (copy-mode live
 * targets, cores held in memory, bytes split, lost or backed by another file). Valid until
 * tli_target_destroy(); read only.
 *
 * --snapshot=fork: the frozen copy's bytes, when they lie in one readable mapping of it, in
 * a view that reads them from the copy as they are touched (backend/live_inplace.c), with a
 * bounded part of them resident; the copy then lives until destroy, and reads after the
 * release of bytes not captured are served from the view. Ask before the release: a copy
 * nothing was read from in place is killed at the release (then NULL). So a walker that asks
 * for a large range during the stop and gets a pointer need not capture it: this is what
 * keeps fork mode's memory bounded (issue 15 item 2).
 */
const void *tli_target_mapped_ptr(struct tli_target *t, uint64_t addr, uint64_t len);
/**
 * Drop the resident pages of [p, p+len) (from tli_target_mapped_ptr) so that a walk over
 * a large core keeps only a window resident: they are read again from the file if
 * touched. Whole pages inside the range only; no-op otherwise.
 */
void tli_target_mapped_drop(struct tli_target *t, const void *p, uint64_t len);
/**
 * Pre-allocate and pre-fault capture memory for ranges a later tli_target_capture() will
 * read, so that no page is allocated or zeroed while the target is stopped: call it
 * before the stop (a deferred-stop target: before its first memory access). Ranges are
 * clipped to readable mappings, merged, and each merged span gets one buffer, so a span
 * captured later is also contiguous for tli_target_captured_ptr(). Best effort, bounded
 * by half of MemAvailable; live targets only (no-op otherwise). Returns bytes reserved.
 */
uint64_t tli_target_reserve(struct tli_target *t, const struct tli_range *ranges, size_t n);
/**
 * Pre-fault, before the stop, `bytes` of memory for the next tli_target_capture() whose
 * ranges are not known yet (many small ones, e.g. goroutine stack windows: they will be
 * read into one slab): that capture takes this memory instead of faulting a fresh slab
 * in while the target is stopped, if its bytes fit. For a deferred-stop live target
 * before its stop; bounded by half of MemAvailable. Returns bytes pre-faulted (0: none).
 */
uint64_t tli_target_reserve_slab(struct tli_target *t, uint64_t bytes);
/**
 * Stop a live target opened with defer_stop (no-op if stopped, released, not live or
 * --no-stop). Memory access through this layer calls it implicitly, so a walker can
 * never read a running process by accident.
 */
struct tli_error *tli_target_stop(struct tli_target *t);
/** Bytes read from the target: by the reads (t->bytes_read) and into in-place views. */
uint64_t tli_target_bytes_read(struct tli_target *t);
/** Resume the target (live): from now on reads are served from the capture only. */
void tli_target_release(struct tli_target *t);
/** Release (if needed) and free everything. Safe on NULL. */
void tli_target_destroy(struct tli_target *t);

/** Mapping containing addr, or NULL. */
const struct tli_mapping *tli_target_find_mapping(const struct tli_target *t, uint64_t addr);
/** True if [addr, addr+len) lies inside readable mappings (or no maps are known). */
bool tli_target_plausible(const struct tli_target *t, uint64_t addr, uint64_t len);

/**
 * Threads whose registers are unknown (a live target read with --no-stop and no registers
 * from the debugger holding it, a core without NT_PRSTATUS for a thread). Whatever rests on
 * registers (roots, each thread's tcache, running goroutines' stacks) is then uncertain:
 * callers say so in their result rather than give a silently different answer.
 */
size_t tli_target_threads_without_regs(const struct tli_target *t);
/** Where mapping m's file is opened here (m->file, else m->path). */
const char *tli_mapping_file(const struct tli_mapping *m);
/** Thread by tid, or NULL. */
const struct tli_thread *tli_target_thread(const struct tli_target *t, int tid);
/** Add one line to t->warnings (backends use it; the session puts them in every result). */
void tli_target_warn(struct tli_target *t, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/*
 * Ownership: tli_target_destroy() frees maps (and their paths), threads,
 * exe_path, core_path, warnings, the capture and the target itself;
 * ops->destroy frees only the backend's priv.
 */

#endif
