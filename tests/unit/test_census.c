/* SPDX-License-Identifier: MIT */
/*
 * The Go heap census (go/census) on synthetic images: types propagated through
 * hand-built descriptors (struct fields, pointers, a cyclic type graph: a struct
 * whose field points to itself), a cyclic object graph (retention paths stay
 * bounded), wild and interior pointers, garbage, and bogus descriptors (absurd
 * field counts, a struct containing itself, unmapped types): bounded, never a
 * crash, every live object counted once.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "go/census_int.h"

#include "fake_image.h"

/* internal/abi.Type as go1.22 lays it out; PtrType.Elem and StructType.Fields after it */
static const struct tli_go_type_layout TL = {
	.type_size = 48, .t_size = 0, .t_ptrbytes = 8, .t_tflag = 20, .t_kind = 23, .t_gcdata = 32, .t_str = 40,
	.has_type = true, .has_gcdata = true,
};

#define TYPES   (IMG + 0x1000)
#define T_NODE  (TYPES + 0x100)   /* struct { next *Node; val int }, 16 B */
#define T_PNODE (TYPES + 0x200)   /* *Node */
#define T_INT   (TYPES + 0x300)
#define T_SELF  (TYPES + 0x400)   /* bogus: struct { s SELF } containing itself */
#define T_HUGE  (TYPES + 0x500)   /* bogus: a struct claiming 2^40 fields */
#define T_PSELF (TYPES + 0x600)   /* *SELF */
#define T_WILD  (TYPES + 0x700)   /* *T where T is unmapped */
#define T_EMPTY (TYPES + 0x900)   /* bogus: a struct claiming pointers with no fields */
#define T_ARR   (TYPES + 0x980)   /* bogus: [2^40]EMPTY */
#define FIELDS  (TYPES + 0x800)
#define NAMES   (TYPES + 0xa00)

#define SA 0x10000ull   /* 8 objects of 16 bytes */

static void put_type(uint64_t at, uint64_t size, uint64_t ptrbytes, uint8_t kind, int32_t str)
{
	put64(at + TL.t_size, size);
	put64(at + TL.t_ptrbytes, ptrbytes);
	img[at + TL.t_kind - IMG] = kind;
	put(at + TL.t_str, &str, 4);
}

static void put_struct(uint64_t at, uint64_t size, uint64_t ptrbytes, int32_t str, uint64_t fields, uint64_t n)
{
	put_type(at, size, ptrbytes, 25, str);
	put64(at + 56, fields);   /* Fields: after Type (48) and PkgPath (8) */
	put64(at + 64, n);
}

static void put_field(uint64_t at, uint64_t name, uint64_t typ, uint64_t off)
{
	put64(at, name);
	put64(at + 8, typ);
	put64(at + 16, off);
}

static void images(void)
{
	memset(img, 0, sizeof(img));
	put(NAMES, "\x01\x09main.Node", 11);
	put(NAMES + 0x20, "\x01\x04next", 6);
	put(NAMES + 0x30, "\x01\x03val", 5);
	put(NAMES + 0x40, "\x01\x01s", 3);
	put_struct(T_NODE, 16, 8, (int32_t)(NAMES - TYPES), FIELDS, 2);
	put_field(FIELDS, NAMES + 0x20, T_PNODE, 0);
	put_field(FIELDS + 24, NAMES + 0x30, T_INT, 8);
	put_type(T_PNODE, 8, 8, 22, 0);
	put64(T_PNODE + 48, T_NODE);
	put_type(T_INT, 8, 0, 2, 0);
	put_struct(T_SELF, 16, 8, 0, FIELDS + 0x60, 1);
	put_field(FIELDS + 0x60, NAMES + 0x40, T_SELF, 0);
	put_struct(T_HUGE, 16, 8, 0, FIELDS, 1ull << 40);
	put_type(T_PSELF, 8, 8, 22, 0);
	put64(T_PSELF + 48, T_SELF);
	put_struct(T_EMPTY, 8, 8, 0, FIELDS, 0);
	put_type(T_ARR, 8, 8, 17, 0);
	put64(T_ARR + 48, T_EMPTY);
	put64(T_ARR + 64, 1ull << 40);
	put_type(T_WILD, 8, 8, 22, 0);
	put64(T_WILD + 48, 0xdead0000ull);
}

struct fix {
	struct tli_session s;
	struct tli_go_census c;
	struct tli_gomoduledata md;
	struct tli_goheap h;
	struct tli_goheap_span span;
	uint8_t alloc;
	uint64_t a[16];        /* the span's memory */
	uint64_t data[8];      /* a data segment */
	struct tli_goheap_roots r;
};

static void fix_init(struct fix *f)
{
	memset(f, 0, sizeof(*f));
	images();
	f->s.target = fake_target();
	f->md = (struct tli_gomoduledata){ .types = TYPES, .etypes = TYPES + 0x1000 };
	struct tli_go_census *c = &f->c;
	c->s = &f->s;
	assert_true(census_init(c));
	c->L.T = TL;
	c->L.has_ptr = true;
	c->L.ptr_elem = 48;
	c->L.has_arr = true;
	c->L.arr_elem = 48;
	c->L.arr_len = 64;
	c->L.has_struct = true;
	c->L.st_fields = 56;
	c->L.sf_size = 24;
	c->L.sf_name = 0;
	c->L.sf_typ = 8;
	c->L.sf_off = 16;
	c->src = (struct tli_go_type_src){ .t = f->s.target, .md = &f->md, .L = &c->L.T,
					   .policy = TLI_GO_TYPE_MODULE_FILE };
	f->alloc = 0x7f;   /* objects 0..6 allocated, 7 free */
	f->span = (struct tli_goheap_span){ .start = SA, .end = SA + 128, .elemsize = 16, .nelems = 8,
					    .sizeclass = 2, .alloc = &f->alloc, .data = (uint8_t *)f->a };
	f->h.spans = &f->span;
	f->h.nspans = 1;
	f->h.lo = SA;
	f->h.hi = SA + 128;
	f->r.globals[TLI_GOHEAP_DATA] = (struct tli_goheap_range){ 0x5000, 0x5040, (uint8_t *)f->data };
}

static void fix_free(struct fix *f)
{
	tli_target_destroy(f->s.target);
	struct tli_go_census *c = calloc(1, sizeof(*c));
	*c = f->c;
	tli_go_census_destroy(c);
}

static void add_global(struct fix *f, const char *name, uint64_t addr, uint64_t size, uint64_t rtype)
{
	struct census_global g = { .addr = addr, .size = size, .rtype = rtype, .name = strdup(name) };
	assert_true(tli_vec_push(&f->c.globals, g));
}

static json_t *row(json_t *go, const char *list, const char *type)
{
	size_t i;
	json_t *r;
	json_array_foreach(json_object_get(go, list), i, r)
		if (!strcmp(json_string_value(json_object_get(r, "type")), type))
			return r;
	return NULL;
}

static json_int_t objects(json_t *go, const char *type)
{
	json_t *r = row(go, "types", type);
	return r ? json_integer_value(json_object_get(r, "objects")) : 0;
}

/* a cyclic list from a typed global: both nodes typed, the cycle one path node */
static void test_census_cycle(void **state)
{
	(void)state;
	struct fix f;
	fix_init(&f);
	f.a[0] = SA + 16;        /* node 0 -> node 1 */
	f.a[2] = SA;             /* node 1 -> node 0 */
	f.a[4] = SA + 40;        /* node 2 (garbage) -> inside node 2: interior */
	f.a[6] = 0xdeadbeefull;  /* node 3 (garbage): a wild pointer */
	f.data[0] = SA;          /* global main.head *Node */
	add_global(&f, "main.head", 0x5000, 8, T_PNODE);
	struct tli_go_census_opts o = { .retention = true, .top = -1 };
	json_t *go = json_object();
	assert_null(tli_go_census_run(&f.c, &f.h, &f.r, &o, go));
	assert_int_equal(objects(go, "main.Node"), 2);
	json_t *st = json_object_get(go, "census");
	assert_int_equal(json_integer_value(json_object_get(st, "live_objects")), 2);
	assert_int_equal(json_integer_value(json_object_get(st, "live_bytes")), 32);
	/* root, node, node.next (collapsed on itself): two samples, one per path */
	json_t *samples = json_object_get(json_object_get(go, "retention"), "samples");
	assert_int_equal(json_array_size(samples), 2);
	json_t *s1 = json_array_get(samples, 1), *stack = json_object_get(s1, "stack");
	assert_string_equal(json_string_value(json_array_get(stack, 0)), "main.Node");
	assert_string_equal(json_string_value(json_array_get(stack, 1)), ".next");
	assert_string_equal(json_string_value(json_array_get(stack, json_array_size(stack) - 1)), "global main.head");
	json_decref(go);
	fix_free(&f);
}

/* untyped roots: objects grouped by size class, the share reported */
static void test_census_untyped(void **state)
{
	(void)state;
	struct fix f;
	fix_init(&f);
	f.data[1] = SA + 32;     /* a data word -> node 2, no type known */
	f.data[2] = SA + 100;    /* -> inside node 6 */
	f.data[3] = SA + 112;    /* -> free slot 7 */
	json_t *go = json_object();
	struct tli_go_census_opts o = { .top = -1 };
	assert_null(tli_go_census_run(&f.c, &f.h, &f.r, &o, go));
	json_t *u = row(go, "untyped", "untyped (size class 16 B)");
	assert_non_null(u);
	assert_int_equal(json_integer_value(json_object_get(u, "objects")), 2);
	assert_true(json_real_value(json_object_get(go, "typed_share")) == 0.0);
	assert_null(json_object_get(go, "retention"));
	json_decref(go);
	fix_free(&f);
}

/* bogus descriptors: a struct containing itself, 2^40 fields, an unmapped elem type */
static void test_census_bogus_types(void **state)
{
	(void)state;
	struct fix f;
	fix_init(&f);
	f.data[0] = SA;          /* *SELF */
	f.data[1] = SA + 16;     /* *WILD */
	f.data[2] = SA + 32;     /* HUGE (by value: its pointer word) */
	f.data[4] = SA + 48;     /* a global whose type is unmapped */
	f.a[0] = SA + 64;        /* SELF's pointer word -> node 4 */
	add_global(&f, "main.self", 0x5000, 8, T_PSELF);
	add_global(&f, "main.wild", 0x5008, 8, T_WILD);
	add_global(&f, "main.huge", 0x5010, 16, T_HUGE);
	add_global(&f, "main.gone", 0x5020, 8, 0xdead0000ull);
	f.data[5] = SA + 80;     /* [2^40]EMPTY: bounded, scanned word by word */
	add_global(&f, "main.arr", 0x5028, 8, T_ARR);
	json_t *go = json_object();
	struct tli_go_census_opts o = { .retention = true, .top = -1 };
	assert_null(tli_go_census_run(&f.c, &f.h, &f.r, &o, go));
	json_t *st = json_object_get(go, "census");
	/* every object the data reaches is live and counted once, typed or not */
	assert_int_equal(json_integer_value(json_object_get(st, "live_objects")), 6);
	json_decref(go);
	fix_free(&f);
}

int main(void)
{
	(void)fl_size;   /* fake_image.h's layout helpers are not used here */
	(void)fl_member;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_census_cycle),
		cmocka_unit_test(test_census_untyped),
		cmocka_unit_test(test_census_bogus_types),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
