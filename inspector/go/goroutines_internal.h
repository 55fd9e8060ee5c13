/* SPDX-License-Identifier: MIT */
/**
 * @file goroutines_internal.h
 * What the files of the goroutine walker share (not a public API; other
 * walkers use goroutines.h). One job per file:
 *   goroutines_layout.c   runtime.g members, funcIDs and globals, by name
 *   goroutines_capture.c  what is read while the target is stopped: allgs,
 *                         every g, the Ms of running gs, stack windows,
 *                         the runtime's strings, "now"
 *   traceback.c           Go's traceback rules: unwinding (pcsp), symbolizing
 *                         (pclntab, inlined frames), which frames Go shows,
 *                         where a goroutine "is"
 *   goroutines_list.c     the listing: one JSON object per goroutine, the
 *                         groups and the summary
 *   goroutines.c          the public entry points and accessors
 *
 * Nothing in these files knows an offset or a Go version: every struct member,
 * global and constant comes from the layout resolver by name (DWARF today,
 * runtime-maps tables for stripped binaries), with alternate names where the
 * runtime renamed something between releases.
 */
#ifndef TLI_GO_GOROUTINES_INTERNAL_H
#define TLI_GO_GOROUTINES_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "core/error.h"
#include "core/hash.h"
#include "core/layout.h"
#include "core/session.h"
#include "core/target.h"
#include "go/gfacts.h"
#include "go/gobin.h"
#include "go/goroutines.h"
#include "go/pclntab.h"

#define TLI_GO_MAX_FRAMES  1024   /**< physical frames per goroutine */
#define TLI_GO_STACK_CAPTURE (256u * 1024) /**< bytes of stack captured per goroutine */
#define TLI_GO_MAX_LOGICAL 64     /**< logical (inlined) frames per physical frame */

/** The runtime's layout as the goroutine walker needs it: resolved once per run, from names. */
struct go_layout {
	uint32_t g_size;
	uint32_t g_stack_lo, g_stack_hi;
	uint32_t g_sched_sp, g_sched_pc, g_sched_bp, g_sched_lr;
	bool has_sched_lr;
	uint32_t g_syscallsp, g_syscallpc;
	uint32_t g_status, g_goid, g_waitsince, g_waitreason;
	uint32_t g_gopc, g_startpc, g_parentgoid, g_m, g_lockedm;
	uint32_t g_goid_size, g_status_size, g_waitreason_size;
	bool has_parentgoid;
	uint32_t g_gcscandone;   /* a GC's bookkeeping bit: flips on parked gs (not compared by precopied) */
	bool has_gcscandone;
	uint32_t m_procid;

	struct tli_go_gstatus st;            /* _G* status constants */

	/* funcIDs used by Go's traceback hiding rules */
	int64_t fid_normal, fid_wrapper, fid_gopanic, fid_sigpanic, fid_panicwrap, fid_goexit;
	bool has_fids;
	int64_t fid_runfin, fid_runclean;    /* always-shown frames (1.24+: runFinalizers/runCleanups) */
	bool has_fid_runfin, has_fid_runclean;
	uint32_t g_running_cleanups;         /* 1.25+: cleanup goroutine currently running user code */
	bool has_running_cleanups;
	uint64_t fing_status;                /* runtime.fingStatus (1.21+) or runtime.fingRunning (1.19) */
	bool has_fing_status, fing_is_bool;
	int64_t fing_running_finalizer;
	/* frame arguments as Go's traceback prints them (printArgs): FUNCDATA_ArgInfo/ArgLiveInfo,
	 * PCDATA_ArgLiveIndex; has_arginfo false when any is unknown (frames then print "...") */
	int64_t fd_arginfo, fd_arglive, pcd_arglive;
	bool has_arginfo;

	/* globals (biased addresses) */
	uint64_t allgs, allglen;
	struct tli_global wrs, gss;           /* waitReasonStrings, gStatusStrings */
	uint64_t memstats;
	uint32_t ms_last_gc_unix, ms_last_gc_nanotime;
	bool has_memstats;
};

/** Resolve everything the walker reads (goroutines_layout.c). */
struct tli_error *tli_go_glayout_resolve(struct tli_layout *l, struct go_layout *gl);

/** A table of Go strings ([N]string) read from the target: waitReasonStrings, gStatusStrings. */
struct go_strtab {
	size_t n;
	char **s;   /**< NULL entries were unreadable */
};

/** One captured goroutine. */
struct gcap {
	uint64_t addr;
	uint8_t *raw;        /* g bytes (points into gbuf), NULL if unreadable */
	uint64_t status;     /* without the scan bit */
	bool scan;
	uint64_t sp, pc, bp; /* where the unwind starts */
	uint64_t lr;         /* the link register there (architectures with one; 0 = read it from the stack) */
	bool trap;           /* pc is an interrupted pc (thread registers) */
	int tid;             /* thread for running/syscall gs, 0 if none */
	uint64_t stk_lo, stk_hi;
	uint64_t cap_lo, cap_hi; /* captured stack window */
	const char *problem; /* reason the g could not be decoded */
	size_t run;          /* index of the read run that holds it */
	bool unchanged;      /* byte for byte the g peeked before the stop (goroutines_precopy.c) */
};

struct gord;

/** Where goroutine labels live (goroutines_labels.c): g.labels and runtime/pprof.labelMap. */
struct go_labels_layout {
	bool has_g_labels;
	bool slice, map;        /* labelMap is a sorted list (1.24+) / a map[string]string */
	char problem[160];      /* why labels cannot be decoded (neither form is known) */
	uint32_t g_labels;
	uint32_t list, key, value, esize;                 /* the list form */
	uint32_t h_count, h_b, h_buckets, h_old, h_span;  /* the map form: runtime.hmap */
	uint32_t bucket_cnt, min_tophash;
};

struct tli_go_rt {
	struct tli_session *s;
	struct tli_target *t;
	struct go_layout gl;
	const struct tli_pclntab *pcl;
	uint64_t bias;
	struct tli_gobin *gb;
	struct go_strtab wrs, gss;
	uint64_t ngs;
	struct gcap *gs;
	uint8_t *gbuf;           /* huge-page buffer, mirrors runs of gs */
	size_t gbuf_len;
	int64_t now_ns;          /* target's nanotime() now, 0 = unknown */
	const char *now_src;
	char goroot_src[512];    /* ".../src/" of the toolchain that built the binary */
	size_t goroot_len;
	const struct tli_go_opts *opts;
	bool fing_running;       /* the finalizer goroutine is running a finalizer */
	json_t *result;
	int minor;               /* Go minor version (for printFuncName), -1 unknown */
	int64_t only_id;         /* capture only this goroutine's stack (0 = all) */
	/* prepared before the stop (goroutines_capture.c prepare): what allgs held then,
	 * the gs in address order, and room for the gs already faulted in */
	uint64_t *pre_ptrs;
	struct gord *pre_ord;
	size_t pre_n, pre_nord;
	size_t gs_cap;           /* entries w->gs has room for */
	/* g address -> allgs index + 1 (the first at it), built from allgs before the stop;
	 * kept only if the stopped allgs is the one peeked (tli_go_rt_take_gindex) */
	struct tli_u64map pre_gindex;
	bool pre_gindex_ok;
	size_t gs_zeroed;        /* of which the first gs_zeroed are known to be zero */
	/* stacks copied before the stop (precopy_stacks): parked goroutines' windows, taken
	 * as captured if the stopped g is byte for byte the one peeked (see adopt_stacks) */
	struct tli_read *pc_reads;  /* the windows, ascending; buf in pc_mem */
	uint8_t *pc_graw;           /* the g peeked before each window (g_size bytes each) */
	uint64_t *pc_gaddr;         /* that g's address */
	uint32_t *pc_of;            /* allgs index -> window + 1 (0: none); pre_n entries */
	size_t pc_n, pc_adopted;
	void *pc_mem;
	size_t pc_mem_len;
	/* waiting chains copied before the stop (tli_go_rt_precopy_chains): window k's g's
	 * sudogs are pc_sud_*[pc_chain_first[k] .. + pc_chain_n[k]] (n = UINT32_MAX: unusable) */
	bool precopy_chains;
	uint32_t *pc_chain_first, *pc_chain_n;
	uint64_t *pc_sud_addr;
	uint8_t *pc_sud_raw;
	size_t pc_nsud;
	uint32_t pc_sud_size;
	bool prepared;              /* prepare() ran (tli_go_rt_prepare, or the capture) */
	double prep_total_ms;       /* what it took */
	double prep_ms[3];          /* before the stop (for -v): gs peeked, stacks/chains copied, prefault */
	struct go_labels_layout lab;
	struct go_pcinfo *pcinfo; /* unwinding's per-pc lookups, cached (traceback.c; NULL until used) */
};

/** idle/dead: not a goroutine to report. */
static inline bool tli_go_rt_dead(const struct tli_go_rt *w, uint64_t status)
{
	return tli_go_gstatus_is_dead(&w->gl.st, status);
}

void tli_go_strtab_free(struct go_strtab *t);
/* ---- goroutines_precopy.c: stacks and waiting chains copied before the stop ---- */

/** A g peeked before the stop: its address, allgs index, bytes (NULL: not read). */
struct go_peeked {
	uint64_t addr;
	size_t idx;
	const uint8_t *raw;
};
/** Before the stop: copy the parked gs' stack windows (and waiting chains, when asked),
 *  with the gs that vouch for them. Returns the bytes of stack copied. */
uint64_t tli_go_precopy_prepare(struct tli_go_rt *w, const struct go_peeked *p, size_t n, size_t alen);
/** While stopped: is g (allgs index i, window planned) the one peeked? (sets g->unchanged;
 *  its window then waits for tli_go_precopy_adopt) */
bool tli_go_precopied(struct tli_go_rt *w, size_t i, struct gcap *g);
/** Adopt the windows of the unchanged gs; the refused ones go to ranges[] (how many). */
size_t tli_go_precopy_adopt(struct tli_go_rt *w, struct tli_range *ranges);
/** The waiting chain of g (allgs index i) copied before the stop, if it is unchanged and
 *  its chain was whole: *n sudogs of *size bytes at *raw, addresses *addr. */
bool tli_go_precopy_chain(const struct tli_go_rt *w, size_t i, const struct gcap *g, const uint64_t **addr,
			  const uint8_t **raw, uint32_t *n, uint32_t *size);
/** Free what was prepared and not handed to the capture. */
void tli_go_rt_precopy_free(struct tli_go_rt *w);

/* ---- traceback.c ---- */

/** One logical frame (an inlined call or the physical function). */
struct go_lframe {
	const char *func, *file;
	int32_t line;
	uint8_t funcid;
	bool inlined;
	uint64_t pc;            /**< physical pc (biased, as in the target) */
	uint64_t entry;         /**< physical function entry (biased) */
	bool first_of_phys;
};

/** The logical frames of one physical pc, innermost first, and their JSON objects. */
struct go_pcframes {
	uint64_t key;           /**< pc | trap << 63 */
	json_t *frames;         /**< array of frame objects (shared by every goroutine at this pc) */
	struct go_lframe *lf;
	size_t nlf;
	/* how the physical frame's arguments print (runtime/traceback.go printArgs): FUNCDATA_ArgInfo's
	 * program (NULL: none, "..." is printed), slots at offsets >= live_start live iff their bit in
	 * livebits is set (live_start 0xff: always live) */
	uint8_t *arginfo;
	uint8_t live_start;
	uint8_t livebits[8];
};

/** Symbolized pcs, shared by every goroutine: many goroutines stand at the same pcs. */
struct go_frame_cache {
	struct tli_u64map idx;  /**< key -> index + 1 into v */
	struct go_pcframes *v;
	size_t n, cap;
};

/**
 * The logical frames at `pc` (`trap`: an interrupted pc, not a return address).
 * The pointer is valid until the next call; the JSON objects stay valid as
 * long as the cache. NULL and *errp set when out of memory.
 */
const struct go_pcframes *tli_go_tb_symbolize(struct tli_go_rt *w, struct go_frame_cache *fc, uint64_t pc,
					      bool trap, struct tli_error **errp);
void tli_go_tb_cache_free(struct go_frame_cache *fc);

/** Unwinding scratch: each physical frame's pc and argument pointer (frame.argp; 0 = unknown). */
struct go_unwind_scratch {
	uint64_t pc[TLI_GO_MAX_FRAMES];
	uint64_t argp[TLI_GO_MAX_FRAMES];
	/** only current and user (frames NULL, no arguments read): the first pass of a
	 * listing printed as it is built (goroutines_list.c) */
	bool light;
	/** out: what the last unwinding found (n pcs above, truncated, problem); in, if
	 *  preset: that result, kept from the first pass, is used instead of unwinding again */
	bool preset, truncated;
	size_t n;
	const char *problem;
};

/** A goroutine's stack as Go's traceback shows it. */
struct go_stack {
	json_t *frames;         /**< the shown frames (new reference) */
	json_t *current;        /**< first shown frame: where it is (borrowed, or NULL) */
	json_t *user;           /**< innermost frame outside the runtime and the standard library (borrowed) */
	bool truncated;
	const char *problem;    /**< why the stack could not be walked to its end, or NULL */
};
/**
 * Unwind and symbolize goroutine `g` (`system`: show every frame of a system
 * goroutine). Frames whose arguments could be read carry `args` as Go prints them.
 */
struct tli_error *tli_go_tb_stack(struct tli_go_rt *w, struct go_frame_cache *fc, const struct gcap *g,
				  bool system, struct go_unwind_scratch *sc, struct go_stack *ret);
/** Go's showframe rule for one frame (runtime/traceback.go showfuncinfo). */
bool tli_go_tb_show_frame(const struct go_layout *gl, const char *name, int64_t funcid, bool first,
			  int64_t child);
/** runtime.isSystemGoroutine, from the start function's name. */
bool tli_go_tb_is_system(const struct tli_go_rt *w, const struct gcap *g, const char *startfn);
/** A function name as Go's traceback prints it (printFuncName). */
void tli_go_tb_display_name(const struct tli_go_rt *w, const char *name, char *out, size_t cap);
/** Find GOROOT/src of the toolchain from runtime.main's file (for is-standard-library tests). */
void tli_go_tb_find_goroot(struct tli_go_rt *w);

/* ---- goroutines_labels.c ---- */

/** Resolve the labels layout (never fails: lab->problem says what is unknown). */
void tli_go_labels_resolve(struct tli_layout *l, struct go_labels_layout *lab);
/** While stopped, after the gs: capture the label memory of every labelled g. */
struct tli_error *tli_go_labels_capture(struct tli_go_rt *w);
/** Set o's "labels" (or "labels_unreadable"); true if g matches the --label filter. */
bool tli_go_labels_set(struct tli_go_rt *w, const struct gcap *g, json_t *o);

/* ---- goroutines_list.c ---- */

/** Build result["go"] for the goroutine listing from the capture. */
struct tli_error *tli_go_list_build(struct tli_go_rt *w, json_t *go);
/** The listing's first pass only (goroutines.h tli_go_rt_analyze_stream). */
struct tli_error *tli_go_list_stream(struct tli_go_rt *w, json_t *go, bool text_order, struct tli_go_listing **ret);

#endif
