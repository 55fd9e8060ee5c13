/* SPDX-License-Identifier: MIT */
/*
 * Private to `pools` (pools.h): the run every walker reads (pools_cmd.c) and
 * the database/sql walker (pools_sql.c).
 */
#ifndef TLI_GO_POOLS_INT_H
#define TLI_GO_POOLS_INT_H

#include "census_int.h"
#include "go/heap_stack.h"
#include "go/pools.h"

/* a string copied while the target was stopped (its bytes sit in a span the heap capture skips) */
struct pools_str {
	uint64_t addr, len;
	char *s;
};
TLI_VEC(pools_strs, struct pools_str);

struct pools_run {
	struct tli_session *s;
	struct tli_go_rt *rt;
	struct tli_goheap *h;
	struct tli_go_census *census;
	struct tli_goheap_roots roots;
	struct tli_goheap_precise *precise;   /* NULL: stacks scanned word by word */
	char problem[200];                    /* why there is no heap model, "" if there is */
	struct pools_strs keys;               /* sorted by addr: persistConn host keys (pools_http_capture) */
};

/* ---- database/sql ---- */

struct pools_sql_layout {
	bool ok;
	char problem[160];
	uint64_t db_size, dc_size;
	uint32_t db_maxopen, db_numopen, db_freeconn, db_waitcount, db_waitdur, db_closed;
	uint32_t db_maxidleclosed, db_maxidletimeclosed, db_maxlifetimeclosed;
	uint32_t db_dep, db_lastput, db_connreq, db_connreq_size;
	bool has_lastput, has_idletime;
	bool connreq_set;          /* connRequestSet (go1.23+): .s.len counts the requests; else a map */
	uint32_t connreq_len;      /* offset of connRequests.s.len */
	bool has_hmap_count;
	uint32_t hmap_count;       /* runtime.hmap.count (the map form, <= 1.22) */
	uint32_t dc_db, dc_inuse, dc_closed, dc_ci, dc_created;
};

/* Before the stop: the database/sql layouts (absent ones leave L->ok false with the reason). */
void pools_sql_layout(struct tli_layout *l, struct pools_sql_layout *L);
/* After the census: go.pools.sql_dbs. */
void pools_sql_run(struct pools_run *r, const struct pools_sql_layout *L, json_t *pools);

/* ---- Go maps ---- */

struct pools_maps_layout {
	bool ok, hmap, swiss;
	char problem[160];
	int64_t slots;             /* per bucket (<= 1.23) or group (swiss) */
	uint32_t h_count, h_b, h_buckets, h_old;
	uint32_t m_used, m_dirptr, m_dirlen, t_capacity, t_groups;
};

void pools_maps_layout(struct tli_layout *l, struct pools_maps_layout *L);
/* After the census: go.pools.maps (the largest by bytes), maps_total, maps_bytes. */
void pools_maps_run(struct pools_run *r, const struct pools_maps_layout *L, json_t *pools);

/* ---- sync.Map ---- */

struct pools_syncmap_layout {
	bool ok, trie, read_iface;
	char problem[160];
	uint64_t size;
	uint32_t read, dirty, misses, ro_m, ro_amended, e_p;              /* <= go1.23 */
	uint32_t h_count, h_b, h_buckets, h_old, bucket_cnt, min_tophash;
	uint32_t root, ind_isentry, ind_children, nchildren, ent_overflow; /* hash trie, go1.24+ */
	bool has_funcs;
	uint32_t keyhash, valequal;   /* the trie's hash and equal func words (a sync.Map's signature) */
};

void pools_syncmap_layout(struct tli_layout *l, struct pools_syncmap_layout *L);
/* After the census: go.pools.sync_maps. */
void pools_syncmap_run(struct pools_run *r, const struct pools_syncmap_layout *L, json_t *pools);

/* ---- net/http.Transport ---- */

struct pools_http_layout {
	bool ok, has_count;
	char problem[160];
	uint64_t t_size, pc_size;
	uint32_t t_idleconn, t_lru_ll;
	uint32_t pc_alt, pc_t, pc_proxy, pc_scheme, pc_addr, pc_onlyh1, pc_conn, pc_reqch, pc_writech, pc_closech,
		 pc_closed;
	uint32_t l_root, l_len, e_next, e_list, e_value;   /* container/list */
	uint32_t map_count;        /* idleConn's count of keys: maps.Map.used or hmap.count */
};

void pools_http_layout(struct tli_layout *l, struct pools_http_layout *L);
/* While stopped, after the heap capture: the host key strings of every object that may be a
 * persistConn (they sit in noscan spans, which the heap capture does not copy) into r->keys. */
void pools_http_capture(struct pools_run *r, const struct pools_http_layout *L);
void pools_http_free(struct pools_run *r);
/* After the census: go.pools.http_transports. */
void pools_http_run(struct pools_run *r, const struct pools_http_layout *L, json_t *pools);

/* ---- helpers (pools_cmd.c) ---- */

/* The live object holding addr (census state set), its number and span; false if none. */
bool pools_object(const struct pools_run *r, uint64_t addr, uint64_t *num, struct tli_goheap_object *o);
/* n bytes at addr of a captured object (inside one allocated object); false if not captured. */
bool pools_read(const struct pools_run *r, uint64_t addr, void *buf, size_t n);
/* Append a problem to a pool's "problems" array (at most 16 are kept). */
void pools_problem(json_t *problems, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The census typed object num as the plain type `name` of that size. */
bool pools_typed_as(const struct pools_run *r, uint64_t num, const char *name, uint64_t size);
/* A span of elemsize can hold an object of `size` (the size class it would be allocated in). */
bool pools_size_fits(uint64_t elemsize, uint64_t size);
/* The global variable whose root first reached object num ("main.db"), or NULL. */
const char *pools_root_name(const struct pools_run *r, uint64_t num, char *buf, size_t cap);

#endif
