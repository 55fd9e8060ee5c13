/* SPDX-License-Identifier: MIT */
/*
 * `pools`' database/sql walker (go/pools_sql.c) on synthetic heaps, as the census
 * leaves them (live objects, their census types): a sound DB (an idle, a global-held
 * and a leaked connection), then hostile ones: garbage counters, a freeConn naming
 * one connection three times (a cycle), a freeConn entry that is no connection, a
 * freeConn array out of the heap; map headers with a wild bucket count or directory
 * length. Bounded, never a crash, each problem named on its item.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "go/pools_int.h"

/* a layout of our own: DB 96 bytes, driverConn 48 */
static const struct pools_sql_layout L = {
	.ok = true, .db_size = 96, .dc_size = 48,
	.db_maxopen = 0, .db_numopen = 8, .db_freeconn = 16, .db_waitcount = 40, .db_waitdur = 48,
	.db_maxidleclosed = 56, .db_maxlifetimeclosed = 64, .db_dep = 72, .db_connreq = 80, .db_connreq_size = 8,
	.db_closed = 88,
	.dc_db = 0, .dc_created = 8, .dc_ci = 16, .dc_inuse = 32, .dc_closed = 33,
};

#define SDB 0x10000ull   /* 4 DBs of 96 bytes */
#define SDC 0x20000ull   /* 8 connections of 48 bytes */
#define SAR 0x30000ull   /* 8 objects of 32 bytes: freeConn arrays, the dep "map" */

enum { NDB = 4, NDC = 8, NAR = 8 };

struct fix {
	struct tli_session s;
	struct tli_go_census *c;
	struct tli_goheap h;
	struct tli_goheap_span sp[3];
	uint8_t alloc[3];
	uint64_t db[NDB][12], dc[NDC][6], ar[NAR][4];
	uint64_t data[4];
	struct pools_run r;
};

static void fix_init(struct fix *f)
{
	memset(f, 0, sizeof(*f));
	f->s.target = calloc(1, sizeof(*f->s.target));
	assert_non_null(f->s.target);
	f->c = calloc(1, sizeof(*f->c));
	assert_true(census_init(f->c));
	f->c->s = &f->s;
	memset(f->alloc, 0xff, sizeof(f->alloc));
	f->sp[0] = (struct tli_goheap_span){ .start = SDB, .end = SDB + 96 * NDB, .elemsize = 96, .nelems = NDB,
					     .sizeclass = 9, .alloc = &f->alloc[0], .data = (uint8_t *)f->db };
	f->sp[1] = (struct tli_goheap_span){ .start = SDC, .end = SDC + 48 * NDC, .elemsize = 48, .nelems = NDC,
					     .sizeclass = 4, .alloc = &f->alloc[1], .data = (uint8_t *)f->dc };
	f->sp[2] = (struct tli_goheap_span){ .start = SAR, .end = SAR + 32 * NAR, .elemsize = 32, .nelems = NAR,
					     .sizeclass = 3, .alloc = &f->alloc[2], .data = (uint8_t *)f->ar };
	f->h.spans = f->sp;
	f->h.nspans = 3;
	f->h.lo = SDB;
	f->h.hi = SAR + 32 * NAR;
	struct tli_go_census *c = f->c;
	c->h = &f->h;
	c->nobj = NDB + NDC + NAR;
	c->objoff = calloc(4, sizeof(*c->objoff));
	c->state = calloc(c->nobj, 1);
	c->otype = calloc(c->nobj, sizeof(uint32_t));
	assert_true(c->objoff && c->state && c->otype);
	c->objoff[1] = NDB;
	c->objoff[2] = NDB + NDC;
	struct ctype db = { .desc = 0x1234, .kind = CT_PLAIN, .size = 96, .name = strdup("sql.DB") };
	assert_true(tli_vec_push(&c->ct, db));
	f->r = (struct pools_run){ .s = &f->s, .h = &f->h, .census = c };
	f->r.roots.globals[TLI_GOHEAP_DATA] = (struct tli_goheap_range){ 0x5000, 0x5020, (uint8_t *)f->data };
}

static void fix_free(struct fix *f)
{
	tli_go_census_destroy(f->c);
	tli_warnings_free(&f->s.warnings);
	free(f->s.target);
}

/* DB i: live, typed sql.DB */
static uint64_t put_db(struct fix *f, int i, int64_t max_open, int64_t num_open)
{
	f->c->state[i] = 2;
	f->c->otype[i] = 1;
	f->db[i][L.db_maxopen / 8] = (uint64_t)max_open;
	f->db[i][L.db_numopen / 8] = (uint64_t)num_open;
	return SDB + 96 * (uint64_t)i;
}

/* connection i of db: live, untyped (found through its db field) */
static uint64_t put_dc(struct fix *f, int i, uint64_t db, bool in_use)
{
	f->c->state[NDB + i] = 1;
	f->dc[i][L.dc_db / 8] = db;
	f->dc[i][L.dc_created / 8] = 0x8000000000001234ull;
	f->dc[i][L.dc_ci / 8] = 0x7000;
	f->dc[i][L.dc_ci / 8 + 1] = 0x7008;
	((uint8_t *)f->dc[i])[L.dc_inuse] = in_use;
	return SDC + 48 * (uint64_t)i;
}

static void free_conn(struct fix *f, int db, int arr, const uint64_t *v, int64_t len, int64_t cap)
{
	f->c->state[NDB + NDC + arr] = 1;
	for (int64_t k = 0; v && k < len && k < 4; k++)
		f->ar[arr][k] = v[k];
	f->db[db][L.db_freeconn / 8] = SAR + 32 * (uint64_t)arr;
	f->db[db][L.db_freeconn / 8 + 1] = (uint64_t)len;
	f->db[db][L.db_freeconn / 8 + 2] = (uint64_t)cap;
}

static json_t *run(struct fix *f)
{
	json_t *pools = json_object();
	pools_sql_run(&f->r, &L, pools);
	return pools;
}

static json_int_t ival(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);
	assert_true(json_is_integer(v));
	return json_integer_value(v);
}

static bool has_problem(json_t *d, const char *needle)
{
	size_t i;
	json_t *p;
	json_array_foreach(json_object_get(d, "problems"), i, p)
		if (strstr(json_string_value(p), needle))
			return true;
	return false;
}

/* idle, held by a global, leaked: the DB's bookkeeping (freeConn, dep) is not a holder */
static void test_pools_sound(void **state)
{
	(void)state;
	struct fix f;
	fix_init(&f);
	uint64_t db = put_db(&f, 0, 3, 3);
	uint64_t idle = put_dc(&f, 0, db, false), held = put_dc(&f, 1, db, true), lost = put_dc(&f, 2, db, true);
	free_conn(&f, 0, 0, &idle, 1, 2);
	f.c->state[NDB + NDC + 1] = 1;          /* the dep "map": an object naming every connection */
	f.ar[1][0] = idle;
	f.ar[1][1] = held;
	f.ar[1][2] = lost;
	f.db[0][L.db_dep / 8] = SAR + 32;
	f.db[0][L.db_waitcount / 8] = 7;
	f.db[0][L.db_waitdur / 8] = 1500000000;
	f.data[0] = db;                          /* var db *sql.DB */
	f.data[1] = held;                        /* a global holding the connection */
	json_t *p = run(&f);
	json_t *dbs = json_object_get(p, "sql_dbs");
	assert_int_equal(json_array_size(dbs), 1);
	json_t *d = json_array_get(dbs, 0);
	assert_string_equal(json_string_value(json_object_get(d, "found_by")), "type");
	assert_int_equal(ival(d, "max_open"), 3);
	assert_int_equal(ival(d, "open"), 3);
	assert_int_equal(ival(d, "idle"), 1);
	assert_int_equal(ival(d, "in_use"), 2);
	assert_int_equal(ival(d, "wait_count"), 7);
	assert_true(json_real_value(json_object_get(d, "wait_duration_seconds")) == 1.5);
	assert_int_equal(ival(d, "connections_found"), 3);
	assert_int_equal(ival(d, "in_use_found"), 2);
	assert_int_equal(ival(d, "leaked"), 1);
	assert_int_equal(ival(d, "held_by_globals"), 1);
	char want[32];
	snprintf(want, sizeof(want), "0x%llx", (unsigned long long)lost);
	assert_string_equal(json_string_value(json_array_get(json_object_get(d, "leaked_connections"), 0)), want);
	assert_int_equal(json_array_size(json_object_get(d, "problems")), 0);
	json_decref(p);
	fix_free(&f);
}

/* garbage counters, a cyclic freeConn, a freeConn entry that is no connection, an array out of the heap */
static void test_pools_hostile(void **state)
{
	(void)state;
	struct fix f;
	fix_init(&f);
	uint64_t g = put_db(&f, 0, 1ll << 40, -5);           /* garbage counts */
	free_conn(&f, 0, 0, NULL, 1000, 10);                   /* len > cap */
	f.db[0][L.db_waitcount / 8] = (uint64_t)-1;
	uint64_t cyc = put_db(&f, 1, 4, 3);
	uint64_t c0 = put_dc(&f, 0, cyc, false);
	const uint64_t loop[] = { c0, c0, c0 };
	free_conn(&f, 1, 1, loop, 3, 4);                       /* one connection three times */
	uint64_t odd = put_db(&f, 2, 2, 1);
	const uint64_t wild[] = { 0xdeadbeef };
	free_conn(&f, 2, 2, wild, 1, 1);                       /* not a connection */
	uint64_t far = put_db(&f, 3, 2, 2);
	f.db[3][L.db_freeconn / 8] = 0x7fff00000000ull;        /* an array out of the heap */
	f.db[3][L.db_freeconn / 8 + 1] = 2;
	f.db[3][L.db_freeconn / 8 + 2] = 2;
	f.data[0] = g;
	f.data[1] = cyc;
	f.data[2] = odd;
	f.data[3] = far;
	json_t *p = run(&f);
	json_t *dbs = json_object_get(p, "sql_dbs");
	assert_int_equal(json_array_size(dbs), 4);
	json_t *d = json_array_get(dbs, 0);
	assert_true(json_is_null(json_object_get(d, "open")));
	assert_true(json_is_null(json_object_get(d, "idle")));
	assert_true(has_problem(d, "implausible maxOpen"));
	assert_true(has_problem(d, "implausible numOpen"));
	assert_true(has_problem(d, "implausible freeConn"));
	assert_true(has_problem(d, "implausible waitCount"));
	d = json_array_get(dbs, 1);
	assert_true(has_problem(d, "twice (a cycle)"));
	assert_true(has_problem(d, "found 1 open connections, numOpen says 3"));
	d = json_array_get(dbs, 2);
	assert_true(has_problem(d, "is not an idle connection of this DB"));
	d = json_array_get(dbs, 3);
	assert_true(has_problem(d, "freeConn[0] unreadable"));
	json_decref(p);
	fix_free(&f);
}

/* no layout: null with the reason, not an empty list */
static void test_pools_no_layout(void **state)
{
	(void)state;
	struct fix f;
	fix_init(&f);
	struct pools_sql_layout none = { .ok = false };
	snprintf(none.problem, sizeof(none.problem), "no database/sql.DB");
	json_t *p = json_object();
	pools_sql_run(&f.r, &none, p);
	assert_true(json_is_null(json_object_get(p, "sql_dbs")));
	assert_string_equal(json_string_value(json_object_get(p, "sql_unreadable")), "no database/sql.DB");
	json_decref(p);
	fix_free(&f);
}

/* map headers: a wild bucket count, a wild directory length, a sound small map */
static void test_pools_maps_hostile(void **state)
{
	(void)state;
	struct fix f;
	fix_init(&f);
	const struct pools_maps_layout ML = {
		.ok = true, .hmap = true, .swiss = true, .slots = 8,
		.h_count = 0, .h_b = 9, .h_buckets = 16, .h_old = 24,
		.m_used = 0, .m_dirptr = 16, .m_dirlen = 24, .t_capacity = 2, .t_groups = 16,
	};
	struct ctype hm = { .desc = 0x2000, .kind = CT_HMAP, .name = strdup("map[int]int") };
	struct ctype sm = { .desc = 0x3000, .kind = CT_SMAP, .name = strdup("map[string]int") };
	assert_true(tli_vec_push(&f.c->ct, hm) && tli_vec_push(&f.c->ct, sm));
	f.c->state[0] = f.c->state[1] = f.c->state[2] = 2;
	f.c->otype[0] = 2;                               /* hmap: 2^200 buckets */
	f.db[0][0] = 5;
	((uint8_t *)f.db[0])[9] = 200;
	f.c->otype[1] = 3;                               /* swiss: a directory of -7 tables */
	f.db[1][3] = (uint64_t)-7;
	f.c->otype[2] = 2;                               /* hmap: 3 entries in 2^1 buckets at SAR */
	f.db[2][0] = 3;
	((uint8_t *)f.db[2])[9] = 1;
	f.db[2][2] = SAR;
	f.c->state[NDB + NDC] = 1;
	json_t *p = json_object();
	pools_maps_run(&f.r, &ML, p);
	json_t *a = json_object_get(p, "maps");
	assert_int_equal(json_array_size(a), 3);
	assert_int_equal(ival(p, "maps_total"), 3);
	size_t i;
	json_t *m;
	int wild = 0, sound = 0;
	json_array_foreach(a, i, m) {
		const char *why = json_string_value(json_object_get(m, "unreadable"));
		if (why) {
			wild++;
			assert_true(strstr(why, "implausible bucket count 2^200") || strstr(why, "implausible directory length -7"));
			continue;
		}
		sound++;
		assert_int_equal(ival(m, "len"), 3);
		assert_int_equal(ival(m, "capacity_slots"), 16);
		assert_int_equal(ival(m, "bytes"), 96 + 32);
		assert_false(json_is_true(json_object_get(m, "oversized")));
	}
	assert_int_equal(wild, 2);
	assert_int_equal(sound, 1);
	json_decref(p);
	fix_free(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pools_sound),
		cmocka_unit_test(test_pools_hostile),
		cmocka_unit_test(test_pools_no_layout),
		cmocka_unit_test(test_pools_maps_hostile),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
