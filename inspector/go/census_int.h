/* SPDX-License-Identifier: MIT */
/*
 * Private to the Go heap census: census_desc.c (descriptor layouts, census types
 * and their pointer-slot programs), census.c (the typed marking), census_path.c
 * (retention paths), census_out.c (the result tree). See census.h.
 */
#ifndef TLI_GO_CENSUS_INT_H
#define TLI_GO_CENSUS_INT_H

#include "core/hash.h"
#include "core/vec.h"
#include "go/census.h"
#include "go/heap_stack.h"

/* runtime._PageShift: spans start on 8 KiB pages (if two spans share one, the table is not used) */
#define CENSUS_PAGE_SHIFT 13

/* ---- descriptor layouts (by name) ---- */

struct census_layout {
	struct tli_go_type_layout T;
	uint8_t tflag_direct, kind_direct;   /* where "stored directly in an interface" is said */
	bool has_ptr, has_arr, has_slice, has_chan, has_map, has_struct, has_itab;
	uint32_t ptr_elem, arr_elem, arr_len, slice_elem, chan_elem;
	uint32_t map_key, map_elem, map_group;   /* map_group: Bucket (<= 1.23) or Group (swiss) */
	bool swiss;
	uint32_t st_fields, sf_name, sf_typ, sf_off, sf_size;
	uint32_t itab_type;
	/* runtime objects behind maps and channels */
	bool has_hchan_buf, has_hmap, has_smap;
	uint32_t hchan_buf, hmap_buckets, hmap_oldbuckets, smap_dirptr, smap_dirlen, stable_groups;
};

/* ---- census types: what the objects of one row are ---- */

enum ct_kind {
	CT_UNTYPED = 0,  /* desc = size class bytes */
	CT_PLAIN,        /* one T */
	CT_ARRAY,        /* a backing array of T ([]T) */
	CT_STRING,       /* string bytes */
	CT_HCHAN,        /* runtime.hchan of chan type desc */
	CT_HMAP,         /* runtime.hmap of map type desc (<= 1.23) */
	CT_SMAP,         /* internal/runtime/maps.Map of map type desc (swiss) */
	CT_SDIR,         /* a swiss map's directory ([]*table) */
	CT_STABLE,       /* a swiss map's table */
	CT_NKINDS
};

enum slot_kind { SL_UNTYPED, SL_PTR, SL_SLICE, SL_STRING, SL_EFACE, SL_IFACE, SL_MAP, SL_CHAN };

struct slot {
	uint32_t off;
	uint8_t kind;
	uint32_t target;   /* census type id (SL_PTR, SL_SLICE, SL_STRING, SL_MAP, SL_CHAN) */
	uint32_t label;    /* edge label id */
	uint32_t alabel;   /* the label inside an array of these ("[]" + label) */
};

struct ctype {
	uint64_t desc;      /* descriptor (run-time address), or size class for CT_UNTYPED */
	uint8_t kind;
	uint8_t tkind;      /* reflect.Kind of desc */
	bool direct;        /* stored directly in an interface */
	bool prog_done, prog_complete;
	uint64_t size;      /* element size (0 unknown) */
	uint32_t elem;      /* CT_ARRAY of PLAIN: census id of PLAIN T (for naming) */
	uint32_t prog, nprog;   /* slots[prog .. prog + nprog) */
	char *name;
	uint64_t objects, bytes;
};

TLI_VEC(census_ctypes, struct ctype);
TLI_VEC(census_slots, struct slot);
TLI_VEC(census_strs, char *);

/* a DWARF global with a runtime type */
struct census_global {
	uint64_t addr, size, rtype;   /* run-time addresses */
	uint64_t slice_elem;          /* a slice without rtype: its element's descriptor */
	char *name;
	char *type_name;              /* DWARF name of its type (NULL if none) */
	uint32_t root;                /* its root path node (0 until used) */
};
TLI_VEC(census_globals, struct census_global);

/* ---- retention path nodes ---- */

struct pnode {
	uint32_t parent, label, ctype;
	uint16_t depth;
	uint64_t objects, bytes;
};
TLI_VEC(census_pnodes, struct pnode);

struct pent {   /* open addressing: (parent, label, ctype) -> node */
	uint32_t parent, label, ctype, node;
};

struct tli_go_census {
	struct tli_session *s;
	struct tli_go_rt *rt;
	struct census_layout L;
	struct tli_go_type_src src;
	struct census_globals globals;   /* sorted by address */
	char dwarf_problem[160];
	struct tli_goheap_precise *precise;  /* stack maps (NULL: stacks word by word, stack_problem says why) */
	char stack_problem[160];
	bool precise_tried;
	/* census types */
	struct census_ctypes ct;         /* [0] unused */
	struct tli_u64map ctidx;         /* desc | kind -> id */
	struct tli_u64map itabs;         /* itab -> desc + 1 (0 cached as 1) */
	struct census_slots slots;
	struct census_strs labels;       /* label id -> text ([0] = "") */
	struct tli_strmap *labidx;
	/* per run */
	struct tli_goheap *h;
	uint64_t nobj;
	uint64_t *objoff;                /* span i's objects at objoff[i] */
	uint32_t *pages;                 /* 8 KiB page of the heap range -> span index + 1 */
	uint8_t *state;                  /* 0 unreached, 1 untyped, 2 typed */
	uint32_t *otype, *opath;
	struct tli_goheap_addrs tq, uq;  /* typed / untyped work (FIFO: tqh, uqh heads) */
	size_t tqh, uqh;
	bool retention, oom;
	/* paths */
	struct census_pnodes nodes;      /* [0] = no node */
	struct pent *ptab;
	size_t pcap, pused;
	uint32_t lab_arr, lab_dots;      /* "[]", "…" */
	uint64_t retyped, interior, typed_edges, untyped_edges;
};

/* census.c: an edge to addr of census type cid (0: untyped) from path node parent */
void census_reach(struct tli_go_census *c, uint64_t addr, uint32_t cid, uint32_t parent, uint32_t label);

/* census_stack.c: goroutine stack st (goroutine v), its words attributed to their frames */
void census_mark_stack(struct tli_go_census *c, const struct tli_goheap_range *st, const struct tli_go_gview *v);
/** The frames of goroutine v's captured stack st, innermost first (function names from the pclntab, frame
 *  sps), at most max; their count (0 if it cannot be unwound). */
size_t census_unwind(struct tli_go_census *c, const struct tli_go_gview *v, const struct tli_goheap_range *st,
		     const char **funcs, uint64_t *sps, size_t max);

/* census_desc.c */
void census_layout_resolve(struct tli_go_census *c);
uint32_t census_label(struct tli_go_census *c, const char *text);
/** The census type (desc, kind), created on first use; 0 if out of memory. */
uint32_t census_ctype(struct tli_go_census *c, uint64_t desc, enum ct_kind kind);
/** Build the slot program of census type id (once). */
void census_prog(struct tli_go_census *c, uint32_t id);
/** The type an interface's first word names (eface: a type; iface: an itab); 0 if unknown. */
uint64_t census_iface_type(struct tli_go_census *c, uint64_t word, bool itab);
/** Read descriptor-side bytes (executable file first, then target/capture). */
bool census_read(struct tli_go_census *c, uint64_t addr, void *buf, uint32_t len);
void census_name_all(struct tli_go_census *c);

/* census_path.c */
bool census_paths_init(struct tli_go_census *c);
uint32_t census_root(struct tli_go_census *c, const char *text);
uint32_t census_child(struct tli_go_census *c, uint32_t parent, uint32_t label, uint32_t ctype);
void census_paths_free(struct tli_go_census *c);

/* census_out.c */
void census_output(struct tli_go_census *c, const struct tli_go_census_opts *o, json_t *go);

/* census_globals.c */
void census_globals_load(struct tli_go_census *c);
/** The empty tables every census starts with (ct[0], label "" = 0); false if out of memory. */
bool census_init(struct tli_go_census *c);

#endif
