/* SPDX-License-Identifier: MIT */
/**
 * @file heap.h
 * The Go heap of a stopped process or core, from outside: in-use spans and
 * their objects, the objects' types (malloc headers, large-object types and
 * their GC pointer bitmaps), finalizer/cleanup specials, the roots (data/bss
 * of the executable, every goroutine's used stack) and a marker that computes
 * what is reachable from roots chosen by the caller.
 *
 * Phases, as for the goroutine walker (goroutines.h):
 *   tli_goheap_new             resolve the layouts (files only, before the stop)
 *   tli_goheap_reserve         allocate and fault the copy of the heap (before the stop)
 *   tli_goheap_roots_capture   data/bss and the used part of every goroutine's
 *                              stack, in one vectored read (target stopped)
 *   tli_goheap_capture         span headers (mheap_.allspans), allocBits, the
 *                              memory of every scannable span, the specials,
 *                              each in one vectored read per pointer depth
 *   tli_goheap_prepare_types   pointer bitmaps of every object's type
 *   tli_target_release        end the pause; everything below works on the copy
 *   tli_goheap_marker_init ... mark roots, drain, ask what is marked
 *
 * Upstream references (go1.23): runtime/mheap.go (mheap, mspan, mSpanInUse,
 * special, addspecial), runtime/mbitmap.go (mspan.allocBits; the malloc header
 * and mspan.largeType read by typePointersOfUnchecked; minSizeForMallocHeader,
 * which later runtimes keep in internal/runtime/gc), runtime/mgcmark.go
 * (markroot, markrootBlock, scanstack, scanobject, scanblock).
 *
 * Precise where the runtime's own pointer bits can be had, in three ways:
 * small objects of go1.22+ by their span's heap bits (at the span's end),
 * objects with a malloc header and large objects of go1.22+ by their type's
 * pointer mask (tiled over the object), every object of go1.19-1.21 by the
 * arena heap bitmap (heapArena.bitmap: 2 bits per word on go1.19, 1 bit on
 * go1.20/1.21; heap_bitmap.c). Conservative otherwise: an object without
 * usable bits is scanned word by word (every aligned word that points into an
 * allocated object is an edge, counted in typed_fallbacks/bitmap_fallbacks),
 * an unreadable allocBits counts every object as allocated, unreadable specials
 * make every object of their span a root (specials_coarse).
 */
#ifndef TLI_GO_HEAP_H
#define TLI_GO_HEAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "core/hash.h"
#include "core/search.h"
#include "core/session.h"
#include "core/target.h"
#include "core/vec.h"
#include "go/goroutines.h"
#include "go/types.h"


/* ---- layout (resolved by name) ---- */

/** Bytes of a runtime.special record captured (its next, offset and kind lie inside). */
#define TLI_GOHEAP_SPECIAL_BYTES 64

/** Where the heap's facts live in this runtime. */
struct tli_goheap_layout {
	uint64_t mheap;            /**< &runtime.mheap_ */
	uint64_t allspans_off;     /**< mheap.allspans ([]*mspan) */
	uint32_t mspan_size;       /**< sizeof(runtime.mspan) */
	uint32_t sp_start, sp_freeindex, sp_freeindex_sz, sp_nelems, sp_nelems_sz, sp_allocbits, sp_state,
		sp_elemsize, sp_spanclass, sp_specials;
	int64_t span_inuse;        /**< runtime.mSpanInUse */
	bool has_largetype;        /**< mspan.largeType (go1.22+) */
	uint32_t sp_largetype;
	bool has_special;          /**< runtime.special next/offset/kind known */
	uint32_t sx_next, sx_offset, sx_offset_sz, sx_kind;
	bool has_kind_fin, has_kind_clean;
	int64_t kind_fin, kind_clean;  /**< runtime._KindSpecialFinalizer, _KindSpecialCleanup (go1.24+) */
	/** Typed scanning: objects larger than hdr_min start with a malloc header (a
	 *  *abi.Type of hdr_size bytes), a large object's type is mspan.largeType. */
	bool typed;
	int64_t hdr_min, hdr_size;
	/** Small objects (go1.22+: elemsize <= hdr_min, not noscan) have no header: their
	 *  pointer bits sit at the end of the span, one bit per word of the span
	 *  (runtime/mbitmap.go heapBits, spanHeapBitsRange). */
	bool hbits_small;
	uint32_t sp_npages, sp_npages_sz;  /**< mspan.npages */
	uint64_t page_size;                /**< runtime._PageSize */
	uint64_t inline_marks;             /**< sizeof(runtime.spanInlineMarkBits): the Green Tea GC's
					    *   per-span mark bits between the heap bits and the span's end
					    *   (spans with elemsize >= 16), 0 without it */
	struct tli_go_type_flags tflags;   /**< KindGCProg, TFlagGCMaskOnDemand */
	/** The arena heap bitmap of runtimes without malloc headers (heapArena.bitmap, go1.19-1.21):
	 *  its encoding, from the member's size per arena word and heapArena.noMorePtrs. */
	uint8_t abits_enc;                 /**< enum tli_goheap_abits_enc */
	uint64_t arenas_off;               /**< mheap.arenas: [1 << arenaL1Bits]*[1 << arenaL2Bits]*heapArena */
	uint64_t arenas_l1;                /**< entries of the L1 array */
	unsigned arena_l2_bits;            /**< runtime.arenaL2Bits (= arenaL1Shift) */
	uint64_t arena_bytes;              /**< runtime.heapArenaBytes */
	uint64_t arena_base;               /**< runtime.arenaBaseOffsetUintptr */
	uint64_t ha_bitmap_off, ha_bitmap_size;  /**< heapArena.bitmap */
};

/** Encodings of heapArena.bitmap (runtime/mbitmap.go of each runtime). */
enum tli_goheap_abits_enc {
	TLI_GOHEAP_ABITS_NONE = 0,
	/** 2 bits per word, 4 words per byte: bit k the pointer bit of word k, bit 4+k its
	 *  scan bit ("more pointers in this object from here on"; go1.19) */
	TLI_GOHEAP_ABITS_2BIT,
	/** 1 bit per word, little-endian uintptrs (go1.20, go1.21; noMorePtrs is a shortcut
	 *  the runtime may take, every word of an allocated object has its bit written) */
	TLI_GOHEAP_ABITS_1BIT,
};

/* ---- what a capture holds ---- */

/** One in-use span. */
struct tli_goheap_span {
	uint64_t start, end;       /**< its objects: [start, start + elemsize * nelems) */
	uint64_t elemsize, nelems;
	uint64_t freeindex;        /**< objects below it are allocated whatever allocBits says */
	uint64_t specials;         /**< mspan.specials: first special record, 0 if none */
	uint64_t largetype;        /**< type of its one large object (go1.22+), 0 if unknown */
	uint64_t allocbits_addr;   /**< mspan.allocBits in the target (0 if none) */
	unsigned sizeclass;        /**< 0: one large object */
	bool noscan;               /**< holds no pointers (spanClass & 1) */
	uint8_t *alloc;            /**< copy of allocBits (nelems bits; all set if unreadable) */
	uint8_t *data;             /**< copy of the object memory (scannable spans only), else NULL; with
				    *   --snapshot=fork a read-only view of the frozen copy (in place) */
	bool in_place_hbits;       /**< data is in place and holds the span's heap bits */
	uint64_t npages;           /**< mspan.npages (0 if unknown) */
	const uint8_t *hbits;      /**< small-object pointer bits (L.hbits_small), one per word from
				    *   start, inside the copy; NULL if none or implausible */
	const uint8_t *abits;      /**< the arena heap bitmap over [start, end) (L.abits_enc), its
				    *   first bits for the word at start; NULL if none or unreadable */
	uint64_t abits_len;        /**< its bytes */
};

/** A type's pointer bitmap, as typed scanning uses it. */
struct tli_goheap_tinfo {
	bool ok;                   /**< mask usable */
	uint64_t size, ptrbytes;   /**< abi.Type Size_, PtrBytes (also when not ok, if read) */
	uint8_t *mask;             /**< ptrbytes/8 bits, NULL if not ok */
};

TLI_VEC(tli_goheap_addrs, uint64_t);
TLI_VEC(tli_goheap_tinfos, struct tli_goheap_tinfo);

struct tli_goheap {
	struct tli_session *s;
	struct tli_go_rt *rt;
	struct tli_goheap_layout L;
	struct tli_goheap_span *spans;     /**< in-use spans, sorted by start */
	size_t nspans;
	uint64_t lo, hi;                   /**< lowest span start, highest span end */
	uint8_t *allocbits;                /**< every span's alloc copy, one block */
	uint8_t *copy;                     /**< every scannable span's bytes, one mapping */
	uint64_t copy_len;
	uint8_t *resv;                     /**< copy memory reserved before the stop (tli_goheap_reserve) */
	uint64_t refused_need;             /**< the copy tli_goheap_reserve found no room for (0: none) */
	char refused_why[256];             /**< the limit that refused it (core/memlimit.h) */
	uint64_t resv_len;
	struct tli_goheap_addrs special_roots;  /**< objects kept alive by finalizers/cleanups */
	struct tli_goheap_addrs special_words;  /**< every word of those special records (fn closures ...) */
	bool specials_coarse;              /**< some specials unreadable: their spans' objects are roots */
	/* object types (tli_goheap_prepare_types) */
	struct tli_go_type_src types;
	struct tli_u64map tcache;          /**< type address -> index + 1 in tinfo */
	struct tli_goheap_tinfos tinfo;
	/* arena heap bitmap (L.abits_enc): where each arena's heapArena is, bytes copied */
	struct tli_u64map arenas;          /**< arena index + 1 -> heapArena address */
	uint64_t abits_bytes;              /**< bitmap bytes copied in the stop */
	uint64_t span_bytes;               /**< span memory bytes copied in the stop */
	size_t abits_missing;              /**< scannable spans without a readable bitmap */
	/** Set before the capture by callers that need only span headers and allocBits
	 *  (size classes, `heap`'s memstats): no object memory, no specials, no reserve. */
	bool spans_only;
};

/** Resolve the layouts (before the stop). *ret is freed with tli_goheap_destroy. */
struct tli_error *tli_goheap_new(struct tli_session *s, struct tli_go_rt *rt, struct tli_goheap **ret);
/**
 * Before the stop (a live target opened with a deferred stop, not stopped yet): size
 * the copy of the scannable spans from mheap_.allspans of the running process (peeked,
 * tli_target_peek_many: a hint, never a result), then allocate and fault it in now, so
 * that the stop is only the copy (a 2 GiB heap: 1.6 s of page faults were in the
 * pause). tli_goheap_capture uses it when the heap still fits, else allocates as before.
 * Best effort: returns the bytes reserved, 0 if none (not deferred, a core, out of memory).
 */
uint64_t tli_goheap_reserve(struct tli_goheap *h);
/**
 * Before the stop, after tli_goheap_reserve: TLI_E_NOMEM (exit 13) if the copy it measured
 * cannot fit in what tlinspect may still allocate (core/memlimit.h), naming the need and the
 * limit, while the process still runs (issue 15 item 2); NULL otherwise, and always for a
 * core, fork mode (read in place) or a command that copies no objects.
 */
struct tli_error *tli_goheap_afford(const struct tli_goheap *h);
/**
 * Capture while the target is stopped: span headers, allocBits, the memory of
 * scannable spans (with, on go1.19-1.21, the slices of the arena heap bitmap
 * covering their objects, in the same vectored read), specials. Unreadable or implausible spans are skipped with a
 * session warning.
 */
struct tli_error *tli_goheap_capture(struct tli_goheap *h);
/** With -v, after the release: what the capture copied (span memory, arena heap bitmap). */
void tli_goheap_capture_report(const struct tli_goheap *h);
/**
 * While still stopped: the pointer bitmap of every object's type (malloc
 * headers, large-object types). `types` gives the abi.Type offsets (the
 * channel layout resolves them); NULL leaves every object untyped.
 */
void tli_goheap_prepare_types(struct tli_goheap *h, const struct tli_go_type_layout *types);
void tli_goheap_destroy(struct tli_goheap *h);

/* ---- the arena heap bitmap (go1.19-1.21; heap_bitmap.c) ---- */

/** Resolve L.abits_enc and the arena layout by name (none: TLI_GOHEAP_ABITS_NONE). */
void tli_goheap_abits_resolve(struct tli_layout *l, struct tli_goheap_layout *L);
/** Bytes of bitmap covering a scannable span's objects (0: none to copy). */
uint64_t tli_goheap_abits_len(const struct tli_goheap_layout *L, const struct tli_goheap_span *sp);
/** While stopped: find the heapArena of every arena holding a scannable span (h->arenas). */
struct tli_error *tli_goheap_abits_arenas(struct tli_goheap *h);
/**
 * Reads of the bitmap slices of scannable spans into buf (tli_goheap_abits_len bytes per
 * span, in span order), adjacent slices of one arena merged into one read; sets each
 * span's abits. rs has room for tli_goheap_abits_nreads reads; span i's reads are
 * [first[i], last[i]) of rs. Returns the reads made.
 */
size_t tli_goheap_abits_nreads(const struct tli_goheap *h);
size_t tli_goheap_abits_plan(struct tli_goheap *h, uint8_t *buf, struct tli_read *rs, size_t *first, size_t *last);

/**
 * Word w (counted from the first word the bitmap bm[0, len) describes): 1 a pointer,
 * 0 a scalar, -1 no more pointers in its object from w on (2-bit scan bit clear),
 * -2 outside the bitmap.
 */
static inline int tli_goheap_abits_word(uint8_t enc, const uint8_t *bm, uint64_t len, uint64_t w)
{
	if (enc == TLI_GOHEAP_ABITS_2BIT) {
		if (w / 4 >= len)
			return -2;
		uint8_t b = bm[w / 4];
		if (!(b >> (4 + w % 4) & 1))
			return -1;
		return b >> (w % 4) & 1;
	}
	if (enc == TLI_GOHEAP_ABITS_1BIT)
		return w / 8 < len ? bm[w / 8] >> (w % 8) & 1 : -2;
	return -2;
}

/** The first pointer word (index in the object) at or after word w of the allocated
 *  object at obj of sp, by its arena bitmap; UINT64_MAX if none (or no bitmap). */
static inline uint64_t tli_goheap_abits_next(const struct tli_goheap *h, const struct tli_goheap_span *sp,
					     uint64_t obj, uint64_t w)
{
	if (!sp->abits || obj < sp->start)
		return UINT64_MAX;
	uint64_t w0 = (obj - sp->start) / 8, n = sp->elemsize / 8;
	for (; w < n; w++) {
		int r = tli_goheap_abits_word(h->L.abits_enc, sp->abits, sp->abits_len, w0 + w);
		if (r < 0)
			return UINT64_MAX;
		if (r)
			return w;
	}
	return UINT64_MAX;
}

/** Bytes of object space in the captured spans. */
uint64_t tli_goheap_bytes(const struct tli_goheap *h);

/* ---- objects ---- */

/** The span whose object space holds addr, or NULL. */
static inline struct tli_goheap_span *tli_goheap_find_span(const struct tli_goheap *h, uint64_t addr)
{
	if (!h || addr < h->lo || addr >= h->hi)
		return NULL;
	size_t i = tli_upper_bound(h->nspans, k, h->spans[k].start > addr);
	return i && addr < h->spans[i - 1].end ? &h->spans[i - 1] : NULL;
}

/** Object idx of sp is allocated (below freeindex or its allocBits bit set). */
static inline bool tli_goheap_allocated(const struct tli_goheap_span *sp, uint64_t idx)
{
	return idx < sp->freeindex || (sp->alloc[idx / 8] >> (idx % 8) & 1);
}

/** An allocated object. */
struct tli_goheap_object {
	struct tli_goheap_span *span;
	uint64_t index;   /**< in its span */
	uint64_t base;    /**< its first byte */
};

/** The allocated object holding addr (false: not inside one). */
static inline bool tli_goheap_find_object(const struct tli_goheap *h, uint64_t addr, struct tli_goheap_object *ret)
{
	struct tli_goheap_span *sp = tli_goheap_find_span(h, addr);
	if (!sp)
		return false;
	uint64_t idx = (addr - sp->start) / sp->elemsize;
	if (!tli_goheap_allocated(sp, idx))
		return false;
	*ret = (struct tli_goheap_object){ .span = sp, .index = idx, .base = sp->start + idx * sp->elemsize };
	return true;
}

/**
 * The runtime type of the object at base in a scannable span (mspan.largeType
 * of a large object, else its malloc header) and where its payload starts;
 * 0 if not recorded (small objects keep heap bits in the span instead, older
 * runtimes have no malloc headers).
 */
uint64_t tli_goheap_object_type(const struct tli_goheap *h, const struct tli_goheap_span *sp, uint64_t base,
				uint64_t *payload);

/**
 * The pointer bitmap of type tp, cached. After a live target is released only
 * cached types are known (NULL otherwise).
 */
const struct tli_goheap_tinfo *tli_goheap_type_info(struct tli_goheap *h, uint64_t tp);

/* ---- roots ---- */

/** A captured range of target memory. */
struct tli_goheap_range {
	uint64_t lo, hi;
	uint8_t *mem;     /**< hi - lo bytes, NULL if not captured */
	uint8_t *mask;    /**< data/bss: the runtime's pointer mask (moduledata.gcdatamask/gcbssmask,
			   *   one bit per word from lo), NULL: scanned word by word */
	bool running;     /**< stacks: the goroutine runs on a thread, stopped at no safe point: that
			   *   thread's registers are roots (not for one parked or in a system call,
			   *   whose registers hold nothing the runtime would scan) */
};

enum { TLI_GOHEAP_DATA, TLI_GOHEAP_BSS };

struct tli_goheap_roots {
	struct tli_goheap_range globals[2];  /**< [TLI_GOHEAP_DATA], [TLI_GOHEAP_BSS] of the executable */
	struct tli_goheap_range *stacks;     /**< per goroutine index (tli_go_rt_g): [sp, stack.hi) */
	size_t nstacks;
	char problem[64];                    /**< why data/bss are unknown, "" if captured or not asked */
	struct tli_goheap_addrs tiny;        /**< each P's mcache.tiny block (gcMarkTinyAllocs), with globals */
	char tiny_problem[64];               /**< why those are unknown, "" if read or not asked */
	struct tli_goheap_addrs ps;          /**< the Ps of runtime.allp (read with the tiny blocks) */
};

/**
 * While stopped: the used part of every live goroutine's stack and, if
 * `globals`, the data and bss of the executable (moduledata). Free with
 * tli_goheap_roots_free (also after an error).
 */
struct tli_error *tli_goheap_roots_capture(struct tli_session *s, struct tli_go_rt *rt, bool globals,
					   struct tli_goheap_roots *ret);
void tli_goheap_roots_free(struct tli_goheap_roots *r);

/* ---- marking ---- */

/**
 * Words the marker must not trace (pointers the runtime itself does not follow).
 * Every set may be NULL.
 */
struct tli_goheap_untraced {
	const struct tli_u64set *objs;      /**< objects whose `words` are not traced, ... */
	uint64_t obj_min, obj_max;          /**< ... looked up only for sizes in [obj_min, obj_max) */
	const struct tli_u64set *words;     /**< word addresses inside those objects */
	const struct tli_u64set *hi_words;  /**< word addresses whose value, when 2 KiB aligned, is never
						 traced by a word-by-word scan (g.stack.hi: one past a stack) */
};

/** Origins recorded by a tracing marker (tli_goheap_marker.parent values below 0x1000). */
enum tli_goheap_root_tag {
	TLI_GOHEAP_ROOT_DATA = 1,
	TLI_GOHEAP_ROOT_BSS = 2,
	TLI_GOHEAP_ROOT_REGISTERS = 3,
	TLI_GOHEAP_ROOT_SPECIALS = 4,
	TLI_GOHEAP_ROOT_TINY = 5,           /**< a P's current tiny-allocator block */
	TLI_GOHEAP_ROOT_STACK = 0x100,      /**< + (goroutine index & 0xeff) */
	TLI_GOHEAP_ROOT_TAG_END = 0x1000,   /**< parent values below this are tags, not objects */
};

struct tli_goheap_marker {
	struct tli_goheap *h;
	uint8_t *bits;                      /**< mark bits, span i's at bits + bitoff[i] */
	size_t *bitoff;
	struct tli_goheap_addrs work;       /**< marked objects not scanned yet */
	struct tli_goheap_untraced untraced;
	uint64_t scanned_bytes, marked_objects;
	uint64_t typed_objects;             /**< scanned with their type's bitmap */
	uint64_t typed_fallbacks;           /**< had a type slot but were scanned word by word */
	uint64_t bitmap_objects;            /**< scanned with the arena heap bitmap (go1.19-1.21) */
	uint64_t bitmap_fallbacks;          /**< that bitmap unreadable or implausible: word by word */
	bool oom;                           /**< out of memory while marking: some objects were not scanned */
	/** Debugging aid: with `trace`, parent maps each marked object to the object that
	 *  marked it, or to a tli_goheap_root_tag. */
	bool trace;
	struct tli_u64map parent;
	uint64_t src;
};

/** Start marking h (no object marked). `untraced` is copied (the sets are not). */
struct tli_error *tli_goheap_marker_init(struct tli_goheap_marker *m, struct tli_goheap *h,
					 const struct tli_goheap_untraced *untraced, bool trace);
void tli_goheap_marker_free(struct tli_goheap_marker *m);
/** Mark the object holding p (if any) and queue it for scanning. */
void tli_goheap_mark_ptr(struct tli_goheap_marker *m, uint64_t p);
/** Every root but the goroutine stacks: data, bss, the registers of threads running
 *  on a captured stack, objects and records of finalizer/cleanup specials, the Ps'
 *  tiny-allocator blocks. */
void tli_goheap_mark_from_roots(struct tli_goheap_marker *m, const struct tli_goheap_roots *r,
				const struct tli_target *t);
/** Goroutine i's stack (word by word) is a root. */
void tli_goheap_mark_stack(struct tli_goheap_marker *m, const struct tli_goheap_roots *r, size_t i);
/** Scan queued objects until none is left (typed where possible). */
void tli_goheap_drain(struct tli_goheap_marker *m);
/** p is inside a marked object; *in_heap: inside an allocated object at all. */
bool tli_goheap_is_marked(const struct tli_goheap_marker *m, uint64_t p, bool *in_heap);

#endif
