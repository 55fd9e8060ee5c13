/* SPDX-License-Identifier: MIT */
/**
 * @file chans.h
 * Channels and the goroutine <-> channel wait-for graph, from outside.
 *
 * While the target is stopped (after tli_go_rt_capture), tli_go_chans_capture
 * reads, in pointer-depth rounds (one vectored read per round for ALL
 * goroutines/channels): every blocked g's g.waiting -> sudog.waitlink chain,
 * then every hchan those sudogs name (plus the caller's extra addresses), then
 * each channel's recvq/sendq lists, the element types and the ring buffers.
 * Everything afterwards works on the copy.
 *
 * Every member comes from the layout resolver by name (runtime.hchan,
 * runtime.sudog, runtime.waitq, runtime.g, internal/abi.Type or runtime._type);
 * 1.26+'s two-word sudog.c/sudog.elem are read through their "vu" member.
 * Facts: runtime/chan.go (hchan, waitq, makechan, chansend, chanrecv),
 * runtime/select.go selectgo, runtime/runtime2.go (sudog, g.waiting,
 * g.selectDone), runtime/sema.go (semtable, semacquire1), go1.19 … go1.27.
 * The files of the walker: chans_internal.h.
 *
 * Hostile memory: every list walk is bounded and cycle-checked, every count is
 * validated (qcount <= dataqsiz, sendx/recvx < dataqsiz), every pointer is
 * checked against the mappings; a channel that cannot be decoded carries
 * "unreadable: why" instead of failing the command.
 */
#ifndef TLI_GO_CHANS_H
#define TLI_GO_CHANS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "core/error.h"
#include "core/hash.h"
#include "core/layout.h"
#include "core/target.h"
#include "core/warnings.h"
#include "go/gfacts.h"
#include "go/goroutines.h"
#include "go/types.h"
#include "go/types.h"

struct tli_gobin;
struct tli_go_rt;
struct tli_session;

/* ---- layout (resolved by name) ---- */
struct tli_go_chan_layout {
	uint32_t hchan_size;
	uint32_t h_qcount, h_dataqsiz, h_buf, h_elemsize, h_elemsize_size, h_closed, h_closed_size;
	uint32_t h_elemtype, h_sendx, h_recvx, h_recvq, h_sendq, h_timer;
	bool has_timer;
	uint32_t wq_first;
	uint32_t sudog_size;
	uint32_t s_g, s_next, s_elem, s_isselect, s_waitlink, s_c;
	uint32_t g_waiting, g_selectdone, g_selectdone_size;
	bool has_selectdone;
	struct tli_go_type_layout type;  /**< the runtime type descriptor (go/types.h) */
};

/** Resolve the layout. Type-descriptor members are optional (type.has_type). */
struct tli_error *tli_go_chan_layout_resolve(struct tli_layout *l, struct tli_go_chan_layout *ret);

/* ---- what a snapshot holds ---- */
struct tli_go_sudog {
	uint64_t addr;
	uint64_t g;         /**< sudog.g */
	uint64_t elem;      /**< sudog.elem (vu in 1.26+) */
	uint64_t c;         /**< sudog.c (vu in 1.26+) */
	bool is_select;
	int64_t goid;       /**< goid of sudog.g, -1 if g unknown */
	bool stale;         /**< a select case that has already fired (g.selectDone != 0) */
	uint64_t next;      /**< sudog.next (queue link) as captured */
};

struct tli_go_chan {
	uint64_t addr;
	char problem[200];       /**< "" if fully decoded, else why not */
	bool header_ok;          /**< the hchan itself was read */
	uint64_t qcount, dataqsiz, buf, elemsize, sendx, recvx, elemtype, timer;
	uint32_t closed;
	uint64_t recvq_first, sendq_first;
	char *type_name;         /**< element type name, NULL if unknown */
	int kind;                /**< reflect.Kind of the element type, -1 unknown */
	struct tli_go_sudog *recvq, *sendq;
	size_t nrecvq, nsendq;
	char q_problem[160];     /**< queue walk problem (cycle, bound), "" if none */
	uint8_t *bufbytes;       /**< the ring buffer (dataqsiz*elemsize, bounded), NULL if none */
	uint8_t *header;         /**< the hchan bytes (L.hchan_size), kept only for channels asked for
	                              by address (`chan ADDR` checks them against makechan's rules) */
	size_t buflen;
	json_t *strings;         /**< decoded string elements (array, index = ring slot) or NULL */
	size_t waiters;          /**< live (non-stale) senders + receivers */
};

/** One goroutine as the channel walker needs it. */
struct tli_go_chan_g {
	uint64_t addr;
	const uint8_t *raw;      /**< g bytes (NULL = unreadable) */
	uint32_t size;
	int64_t goid;
	bool waiting;            /**< _Gwaiting / _Gleaked */
	bool dead;
	const char *reason;      /**< wait reason string (NULL if none) */
	/* filled by the capture */
	size_t first_sudog;      /**< index into snap->gsudogs */
	size_t nsudogs;
	char problem[120];       /**< waiting chain problem, "" if none */
	bool sema;               /**< its one sudog was found in runtime.semtable (Go <= 1.25
				      semaphore waits, where g.waiting is nil) */
	/* its waiting chain as copied before the stop (its g unchanged since: go/goroutines_precopy.c);
	 * pre_n = 0: read it while stopped */
	const uint64_t *pre_addr;
	const uint8_t *pre_raw;
	uint32_t pre_n, pre_size;
};

struct tli_go_chans {
	struct tli_go_chan_layout L;
	struct tli_go_chan_g *gs;
	size_t ngs;
	struct tli_go_sudog *gsudogs;   /**< every g's waiting chain, concatenated */
	size_t ngsudogs;
	struct tli_go_chan *chans;      /**< sorted by address */
	size_t nchans;
	bool values;                    /**< strings shown (not redacted) */
	struct tli_warnings warnings;   /**< what the capture found odd (tli_go_chans_report_warnings) */
	size_t warn_bytes;              /**< text added to warnings so far (bounded) */
	/* runtime.semtable walk (only when a semaphore waiter has no sudog on g.waiting) */
	bool sema_walked;               /**< the walk ran */
	size_t sema_nodes;              /**< sudogs found in the treaps */
	size_t sema_linked;             /**< goroutines linked to a semaphore through it */
	char sema_problem[200];         /**< why the walk failed or was partial, "" if fine */
	double ms[5];                   /**< time of the capture's steps (for -v): goroutines, waiting
					     chains, semtable, headers, queues+types+buffers */
	size_t pre_chains;              /**< waiting chains taken as copied before the stop */
};

/** Where a capture reads from (the unit tests build this by hand). */
struct tli_go_chans_src {
	struct tli_target *t;
	struct tli_layout *l;
	const struct tli_gobin *gb;     /**< for type names (NULL: read names from memory is skipped) */
	uint64_t bias;                  /**< load bias of the executable */
	const struct tli_go_chan_g *gs; /**< copied */
	size_t ngs;
	/** instead of gs: a malloc'd array of ngs the snapshot takes over (no copy while the
	 *  target is stopped; freed by the snapshot, also when it fails) */
	struct tli_go_chan_g *gs_given;
	/** if set: the index g address -> gs index + 1 (first at an address, every non-zero
	 *  address), taken over by the snapshot instead of being built while stopped */
	struct tli_u64map *gindex_given;
};

struct tli_go_chans_opts {
	bool values;           /**< decode strings (else redacted) */
	bool queues;           /**< walk recvq/sendq (default true in every command) */
	bool buffers;          /**< capture ring buffers */
	size_t max_elems;      /**< elements decoded per channel (0 = 64) */
	bool chan_waits_only;  /**< only what a listing's blocked_on needs: the waiting chains of
				    channel waits (chan send/receive, select); no semaphore table */
};

/**
 * Capture while the target is stopped: waiting chains of waiting gs, the hchans
 * they name plus `extra` channel addresses, queues, types, buffers.
 */
struct tli_error *tli_go_chans_snapshot(const struct tli_go_chans_src *src, const uint64_t *extra,
					size_t nextra, const struct tli_go_chans_opts *o,
					struct tli_go_chans **ret);
/** Same, taking everything from the runtime snapshot. */
struct tli_error *tli_go_chans_capture(struct tli_session *s, struct tli_go_rt *rt, const uint64_t *extra,
				       size_t nextra, const struct tli_go_chans_opts *o, struct tli_go_chans **ret);
void tli_go_chans_destroy(struct tli_go_chans *c);

/** Channel by address, or NULL. */
const struct tli_go_chan *tli_go_chans_find(const struct tli_go_chans *c, uint64_t addr);
/** Index of the goroutine at g address (SIZE_MAX if none). */
size_t tli_go_chans_g_index(const struct tli_go_chans *c, uint64_t gaddr);

/** One channel as JSON (the `chan ADDR` object). `gmap`: id -> goroutine JSON (may be NULL). */
json_t *tli_go_chan_json(const struct tli_go_chans *c, const struct tli_go_chan *ch, json_t *gmap);
/**
 * Pass the snapshot's warnings on to the session: the first 20, then (if
 * `count_rest`) "... N more channel warnings".
 */
void tli_go_chans_report_warnings(struct tli_session *s, const struct tli_go_chans *c, bool count_rest);
/**
 * A channel asked for by address (`chan ADDR`, `explain chan ADDR`): TLI_E_CORRUPT naming the rule
 * if its hchan could not have been made by makechan (runtime/chan.go) - the address of a variable
 * holding a channel, a goroutine's g, ... - instead of decoding garbage. NULL if it could, or if
 * nothing is known to check it with.
 */
struct tli_error *tli_go_chan_check_made(struct tli_session *s, struct tli_go_rt *rt,
					 const struct tli_go_chan_layout *L, const struct tli_go_chan *ch);
/** Add "blocked_on": ["0x..."] to every goroutine object of result.go.goroutines. */
void tli_go_chans_annotate(const struct tli_go_chans *c, json_t *result);
/** The same, one goroutine object at a time (a listing printed as it is built). */
struct tli_go_chans_annot {
	const struct tli_go_chans *c;
	struct tli_u64map idx, by;  /* goid -> g index + 1; channel address -> string index + 1 */
	json_t **strs;              /* one address string per channel, shared */
	size_t nstrs;
};
void tli_go_chans_annot_init(struct tli_go_chans_annot *a, const struct tli_go_chans *c);
void tli_go_chans_annot_one(struct tli_go_chans_annot *a, json_t *g);
void tli_go_chans_annot_free(struct tli_go_chans_annot *a);
/** The ring, drawn: `[ 3 | 4 | _ | _ ]`. */
void tli_go_chan_ring(const struct tli_go_chan *ch, const struct tli_go_chans *c, char *buf, size_t cap);

/* ---- commands (capture, release, analyze, build the result) ---- */
struct tli_error *tli_go_cmd_chans(struct tli_session *s, const struct tli_go_chans_opts *o, json_t *result);
struct tli_error *tli_go_cmd_chan(struct tli_session *s, uint64_t addr, const struct tli_go_chans_opts *o,
				  json_t *result);
/** `goroutines` with "blocked_on" per goroutine. */
struct tli_error *tli_go_cmd_goroutines(struct tli_session *s, const struct tli_go_opts *go_opts,
				       json_t *result);
/*
 * `goroutines` printed as it is built: the same capture, result["go"] with the count and
 * the summary but no "goroutines" array; then each goroutine object, with its blocked_on,
 * made when asked for, in go.goroutines' order or the text printer's (text_order;
 * goroutines.h tli_go_rt_analyze_stream).
 */
struct tli_go_streamed;
struct tli_error *tli_go_cmd_goroutines_streamed(struct tli_session *s, const struct tli_go_opts *opts,
						 json_t *result, bool text_order, struct tli_go_streamed **ret);
size_t tli_go_streamed_count(const struct tli_go_streamed *x);
size_t tli_go_streamed_system(const struct tli_go_streamed *x);
/** Item k (new reference; NULL past the end), in the order asked for. */
struct tli_error *tli_go_streamed_item(struct tli_go_streamed *x, size_t k, json_t **ret);
void tli_go_streamed_free(struct tli_go_streamed *x);
struct tli_go_graph_opts {
	bool dot;              /**< render as graphviz DOT */
	bool leaks;            /**< judge leaks by reachability (scans the Go heap, as `leaks`) */
	const char *focus;     /**< goroutine id or channel address: only what lies within two edges */
};
struct tli_error *tli_go_cmd_graph(struct tli_session *s, const struct tli_go_graph_opts *o, json_t *result);

/** Open the runtime, capture goroutines and channels (+extra), release the target. */
struct tli_error *tli_go_chans_run(struct tli_session *s, const uint64_t *extra, size_t nextra,
				   const struct tli_go_chans_opts *co, struct tli_go_rt **rt_ret,
				   struct tli_go_chans **c_ret);
/** id (decimal string) -> goroutine object of result.go.goroutines (new reference). */
json_t *tli_go_gmap(json_t *result);

/* ---- leaks (leaks.c) ---- */
struct tli_go_leak_opts {
	int top;               /**< groups shown (0 = default 10, <0 = all) */
	bool no_heap;          /**< only the cheap certain part (nil chan, select {}) */
	int64_t explain_id;    /**< > 0: add go.explain for this goroutine (leaks_explain.c) */
};
/**
 * Go leak finder. If `keep_stopped`, the target is not released at the end of
 * the capture (the caller runs more captures and releases it).
 * Fills result.go.leaked_goroutines, result.go.leak_groups, result.go.deadlocks,
 * result.go.leak_stats.
 */
struct tli_error *tli_go_cmd_leaks(struct tli_session *s, const struct tli_go_leak_opts *o,
				   bool (*between)(void *arg), void *arg, json_t *result);

#endif
