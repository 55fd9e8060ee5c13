/* SPDX-License-Identifier: MIT */
/* The layout resolver with fake providers: order, cache, optional members,
 * error text, hard errors, bias, tables. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/layout.h"

struct fentry {
	char kind; /* 'm' member, 's' size, 'g' global, 'c' constant, 'E' hard error on member */
	const char *a, *b;
	uint64_t x, y;
};

struct fake {
	const char *name;
	const struct fentry *e;
	size_t n;
	int calls;
	int *destroyed;
};

static const struct fentry *ffind(struct fake *f, char kind, const char *a, const char *b)
{
	f->calls++;
	for (size_t i = 0; i < f->n; i++)
		if ((f->e[i].kind == kind || (kind == 'm' && f->e[i].kind == 'E')) &&
		    strcmp(f->e[i].a, a) == 0 && (!b || strcmp(f->e[i].b, b) == 0))
			return &f->e[i];
	return NULL;
}

static struct tli_error *f_member(void *p, const char *type, const char *member,
				  struct tli_member *ret)
{
	struct fake *f = p;
	const struct fentry *e = ffind(f, 'm', type, member);
	if (!e)
		return tli_error_create(TLI_E_NO_INFO, "%s does not know %s.%s", f->name, type, member);
	if (e->kind == 'E')
		return tli_error_create(TLI_E_BAD_FORMAT, "%s: corrupt entry for %s.%s", f->name, type,
					member);
	ret->offset = e->x;
	ret->size = e->y;
	return NULL;
}
static struct tli_error *f_size(void *p, const char *type, uint64_t *ret)
{
	const struct fentry *e = ffind(p, 's', type, NULL);
	if (!e)
		return tli_error_create(TLI_E_NO_INFO, "unknown type");
	*ret = e->x;
	return NULL;
}
static struct tli_error *f_global(void *p, const char *name, struct tli_global *ret)
{
	const struct fentry *e = ffind(p, 'g', name, NULL);
	if (!e)
		return tli_error_create(TLI_E_NO_INFO, "unknown global");
	ret->addr = e->x;
	ret->size = e->y;
	return NULL;
}
static struct tli_error *f_const(void *p, const char *name, int64_t *ret)
{
	const struct fentry *e = ffind(p, 'c', name, NULL);
	if (!e)
		return tli_error_create(TLI_E_NO_INFO, "unknown constant");
	*ret = (int64_t)e->x;
	return NULL;
}
static void f_destroy(void *p)
{
	struct fake *f = p;
	if (f->destroyed)
		(*f->destroyed)++;
}

static const struct tli_layout_provider_ops ops_a = {
	.name = "fakeA", .member = f_member, .type_size = f_size, .global = f_global,
	.constant = f_const, .destroy = f_destroy,
};
static const struct tli_layout_provider_ops ops_b = {
	.name = "fakeB", .member = f_member, .type_size = f_size, .global = f_global,
	.constant = f_const, .destroy = f_destroy,
};
/* globals only, like the ELF symbol table */
static const struct tli_layout_provider_ops ops_globals = {
	.name = "syms", .global = f_global, .destroy = f_destroy,
};

static const struct fentry A[] = {
	{ 'm', "runtime.g", "goid", 152, 8 },
	{ 'm', "runtime.g", "sched.pc", 64, 8 },
	{ 's', "runtime.g", NULL, 392, 0 },
	{ 'g', "runtime.allgs", NULL, 0x52a490, 24 },
	{ 'c', "runtime._Gwaiting", NULL, 4, 0 },
	{ 'E', "runtime.m", "curg", 0, 0 },
};
static const struct fentry B[] = {
	{ 'm', "runtime.g", "goid", 999, 1 },      /* shadowed by A */
	{ 'm', "runtime.g", "waitsince", 160, 8 }, /* only B knows */
	{ 'm', "runtime.m", "curg", 192, 8 },      /* A fails hard first */
	{ 's', "runtime.sudog", NULL, 88, 0 },
	{ 'c', "runtime._Gdead", NULL, (uint64_t)-6, 0 },
};
static const struct fentry G[] = {
	{ 'g', "runtime.allglen", NULL, 0x5590a0, 8 },
	{ 'g', "runtime.allgs", NULL, 0x1111, 1 },
};

struct fixture {
	struct tli_layout *l;
	struct fake a, b, g;
	int destroyed;
};

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	assert_non_null(fx);
	fx->a = (struct fake){ .name = "fakeA", .e = A, .n = sizeof(A) / sizeof(A[0]),
			       .destroyed = &fx->destroyed };
	fx->b = (struct fake){ .name = "fakeB", .e = B, .n = sizeof(B) / sizeof(B[0]),
			       .destroyed = &fx->destroyed };
	fx->g = (struct fake){ .name = "syms", .e = G, .n = sizeof(G) / sizeof(G[0]),
			       .destroyed = &fx->destroyed };
	assert_null(tli_layout_create(&fx->l));
	assert_null(tli_layout_add_provider_labeled(fx->l, &ops_a, &fx->a, "fakeA /path/exe"));
	assert_null(tli_layout_add_provider(fx->l, &ops_b, &fx->b));
	assert_null(tli_layout_add_provider(fx->l, &ops_globals, &fx->g));
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;
	tli_layout_destroy(fx->l);
	assert_int_equal(fx->destroyed, 3); /* every provider destroyed exactly once */
	free(fx);
	return 0;
}

/* Saved answers: a second layout of the same providers, loaded with the first's answers,
 * gives the same answers (found, not found, with bias) without calling any provider; a
 * stamp mismatch or damaged file is refused, never crashes. */
static void test_saved_answers(void **state)
{
	struct fixture *fx = *state;
	struct tli_member m;
	uint64_t sz;
	struct tli_global g;
	int64_t c;
	assert_null(tli_layout_member(fx->l, "runtime.g", "goid", &m));
	assert_null(tli_layout_member(fx->l, "runtime.g", "waitsince", &m));
	assert_false(tli_layout_has_member(fx->l, "runtime.g", "nosuch\tfield\\x", NULL));
	assert_null(tli_layout_type_size(fx->l, "runtime.sudog", &sz));
	assert_null(tli_layout_global(fx->l, "runtime.allglen", &g));
	assert_null(tli_layout_constant(fx->l, "runtime._Gdead", &c));
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	assert_non_null(f);
	assert_null(tli_layout_save_answers(fx->l, "stamp one", f));
	fclose(f);

	struct fake a2 = fx->a, b2 = fx->b, g2 = fx->g;
	int destroyed = 0;
	a2.calls = b2.calls = g2.calls = 0;
	a2.destroyed = b2.destroyed = g2.destroyed = &destroyed;
	struct tli_layout *l2;
	assert_null(tli_layout_create(&l2));
	assert_null(tli_layout_add_provider_labeled(l2, &ops_a, &a2, "fakeA /path/exe"));
	assert_null(tli_layout_add_provider(l2, &ops_b, &b2));
	assert_null(tli_layout_add_provider(l2, &ops_globals, &g2));
	struct tli_error *e = tli_layout_load_answers(l2, "stamp two", buf, len);
	assert_non_null(e);
	assert_int_equal(e->code, TLI_E_NO_INFO);
	tli_error_destroy(e);
	assert_null(tli_layout_load_answers(l2, "stamp one", buf, len));
	assert_int_equal(tli_layout_answer_count(l2), tli_layout_answer_count(fx->l));
	tli_layout_set_bias(l2, 0x1000);
	assert_null(tli_layout_member(l2, "runtime.g", "goid", &m));
	assert_int_equal(m.offset, 152);
	assert_null(tli_layout_member(l2, "runtime.g", "waitsince", &m));
	assert_int_equal(m.offset, 160);
	assert_false(tli_layout_has_member(l2, "runtime.g", "nosuch\tfield\\x", NULL));
	assert_null(tli_layout_type_size(l2, "runtime.sudog", &sz));
	assert_int_equal(sz, 88);
	assert_null(tli_layout_global(l2, "runtime.allglen", &g));
	assert_int_equal(g.addr, 0x5590a0 + 0x1000);
	assert_null(tli_layout_constant(l2, "runtime._Gdead", &c));
	assert_int_equal(c, -6);
	assert_string_equal(tli_layout_last_source(l2), "fakeB");
	assert_int_equal(a2.calls + b2.calls + g2.calls, 0); /* nothing reached a provider */
	/* a query not among the answers still reaches the providers */
	assert_null(tli_layout_member(l2, "runtime.g", "sched.pc", &m));
	assert_true(a2.calls == 1);

	/* damaged copies: every truncation and 2,000 random byte flips are refused or loaded,
	 * never crash */
	srand(11);
	char *mut = malloc(len + 1);
	assert_non_null(mut);
	for (size_t cut = 0; cut < len; cut += 7) {
		struct tli_layout *l3;
		assert_null(tli_layout_create(&l3));
		struct tli_error *le = tli_layout_load_answers(l3, "stamp one", buf, cut);
		if (le) /* all or nothing: a refused file leaves no answer behind */
			assert_int_equal(tli_layout_answer_count(l3), 0);
		tli_error_destroy(le);
		tli_layout_destroy(l3);
	}
	for (int k = 0; k < 2000; k++) {
		memcpy(mut, buf, len);
		for (int j = 0; j < 4; j++)
			mut[rand() % len] = (char)rand();
		struct tli_layout *l3;
		assert_null(tli_layout_create(&l3));
		struct tli_error *le = tli_layout_load_answers(l3, "stamp one", mut, len);
		if (le)
			assert_int_equal(tli_layout_answer_count(l3), 0);
		tli_error_destroy(le);
		tli_layout_destroy(l3);
	}
	free(mut);
	free(buf);
	tli_layout_destroy(l2);
	assert_int_equal(destroyed, 3);
}

static void test_order(void **state)
{
	struct fixture *fx = *state;
	struct tli_member m;
	assert_null(tli_layout_member(fx->l, "runtime.g", "goid", &m));
	assert_int_equal(m.offset, 152); /* first provider wins */
	assert_int_equal(m.size, 8);
	assert_string_equal(tli_layout_last_source(fx->l), "fakeA");
	assert_string_equal(tli_layout_last_source_label(fx->l), "fakeA /path/exe");
	assert_int_equal(fx->b.calls, 0); /* B not asked when A knows */

	assert_null(tli_layout_member(fx->l, "runtime.g", "waitsince", &m));
	assert_int_equal(m.offset, 160);
	assert_string_equal(tli_layout_last_source(fx->l), "fakeB");
	assert_int_equal(fx->a.calls, 2);
	assert_int_equal(fx->b.calls, 1);

	uint64_t sz;
	assert_null(tli_layout_type_size(fx->l, "runtime.sudog", &sz));
	assert_int_equal(sz, 88);
	int64_t c;
	assert_null(tli_layout_constant(fx->l, "runtime._Gdead", &c));
	assert_int_equal(c, -6);
	assert_null(tli_layout_constant(fx->l, "runtime._Gwaiting", &c));
	assert_int_equal(c, 4);

	/* globals: providers without a global callback are skipped; first wins */
	struct tli_global g;
	assert_null(tli_layout_global(fx->l, "runtime.allgs", &g));
	assert_int_equal(g.addr, 0x52a490);
	assert_int_equal(g.size, 24);
	assert_null(tli_layout_global(fx->l, "runtime.allglen", &g));
	assert_int_equal(g.addr, 0x5590a0);
	assert_string_equal(tli_layout_last_source(fx->l), "syms");
}

static void test_cache(void **state)
{
	struct fixture *fx = *state;
	struct tli_member m;
	uint64_t hits, calls, hits0, calls0;
	assert_null(tli_layout_member(fx->l, "runtime.g", "waitsince", &m));
	tli_layout_stats(fx->l, &hits0, &calls0);
	int a0 = fx->a.calls, b0 = fx->b.calls;
	for (int i = 0; i < 1000; i++) {
		assert_null(tli_layout_member(fx->l, "runtime.g", "waitsince", &m));
		assert_int_equal(m.offset, 160);
	}
	assert_int_equal(fx->a.calls, a0); /* never asked again */
	assert_int_equal(fx->b.calls, b0);
	assert_string_equal(tli_layout_last_source(fx->l), "fakeB"); /* source kept in cache */
	tli_layout_stats(fx->l, &hits, &calls);
	assert_int_equal(hits - hits0, 1000);
	assert_int_equal(calls, calls0);

	/* negative answers are cached too */
	assert_false(tli_layout_has_member(fx->l, "runtime.g", "coroarg", &m));
	a0 = fx->a.calls;
	b0 = fx->b.calls;
	for (int i = 0; i < 100; i++)
		assert_false(tli_layout_has_member(fx->l, "runtime.g", "coroarg", NULL));
	assert_int_equal(fx->a.calls, a0);
	assert_int_equal(fx->b.calls, b0);

	/* the cache grows: many distinct keys, each asked once */
	char name[64];
	for (int i = 0; i < 3000; i++) {
		snprintf(name, sizeof(name), "f%d", i);
		assert_false(tli_layout_has_member(fx->l, "T", name, NULL));
	}
	a0 = fx->a.calls;
	for (int i = 0; i < 3000; i++) {
		snprintf(name, sizeof(name), "f%d", i);
		assert_false(tli_layout_has_member(fx->l, "T", name, NULL));
	}
	assert_int_equal(fx->a.calls, a0);
	/* different kinds with the same name do not collide */
	uint64_t sz;
	assert_null(tli_layout_type_size(fx->l, "runtime.g", &sz));
	assert_int_equal(sz, 392);
	/* "a.b"+"c" vs "a"+"b.c" are different queries */
	assert_false(tli_layout_has_member(fx->l, "runtime.g.sched", "pc", NULL));
	assert_true(tli_layout_has_member(fx->l, "runtime.g", "sched.pc", &m));
	assert_int_equal(m.offset, 64);
}

static void test_error_text(void **state)
{
	struct fixture *fx = *state;
	struct tli_member m;
	for (int round = 0; round < 2; round++) { /* uncached, then cached */
		struct tli_error *err = tli_layout_member(fx->l, "runtime.g", "waitreason", &m);
		assert_non_null(err);
		assert_int_equal(err->code, TLI_E_NO_INFO);
		assert_non_null(strstr(err->msg, "no layout for runtime.g.waitreason"));
		assert_non_null(strstr(err->msg, "(asked: fakeA /path/exe, fakeB)"));
		/* the providers' own reasons are kept */
		assert_non_null(strstr(err->msg, "fakeB does not know runtime.g.waitreason"));
		tli_error_destroy(err);
	}
	struct tli_global g;
	struct tli_error *err = tli_layout_global(fx->l, "runtime.nosuch", &g);
	assert_non_null(err);
	assert_int_equal(err->code, TLI_E_NO_INFO);
	assert_non_null(strstr(err->msg, "runtime.nosuch"));
	assert_non_null(strstr(err->msg, "asked: fakeA /path/exe, fakeB, syms"));
	tli_error_destroy(err);
	uint64_t sz;
	err = tli_layout_type_size(fx->l, "runtime.nosuch", &sz);
	assert_non_null(err);
	assert_non_null(strstr(err->msg, "runtime.nosuch"));
	tli_error_destroy(err);
	int64_t c;
	err = tli_layout_constant(fx->l, "runtime._Gnosuch", &c);
	assert_non_null(err);
	assert_non_null(strstr(err->msg, "runtime._Gnosuch"));
	tli_error_destroy(err);
}

static void test_hard_error(void **state)
{
	struct fixture *fx = *state;
	struct tli_member m;
	for (int i = 0; i < 2; i++) {
		int b0 = fx->b.calls;
		struct tli_error *err = tli_layout_member(fx->l, "runtime.m", "curg", &m);
		assert_non_null(err);
		assert_int_equal(err->code, TLI_E_BAD_FORMAT); /* returned as is */
		assert_string_equal(err->msg, "fakeA: corrupt entry for runtime.m.curg");
		assert_int_equal(fx->b.calls, b0); /* chain stops */
		tli_error_destroy(err);
	}
	/* hard errors are not cached: A was asked both times */
	assert_int_equal(fx->a.calls, 2);
	assert_false(tli_layout_has_member(fx->l, "runtime.m", "curg", NULL));
}

static void test_bias(void **state)
{
	struct fixture *fx = *state;
	struct tli_global g;
	assert_null(tli_layout_global(fx->l, "runtime.allgs", &g));
	assert_int_equal(g.addr, 0x52a490);
	tli_layout_set_bias(fx->l, 0x7f0000000000ULL);
	assert_null(tli_layout_global(fx->l, "runtime.allgs", &g)); /* cached, bias still applied */
	assert_int_equal(g.addr, 0x7f000052a490ULL);
	assert_int_equal(g.size, 24);
	tli_layout_set_bias(fx->l, 0x1000);
	assert_null(tli_layout_global(fx->l, "runtime.allglen", &g));
	assert_int_equal(g.addr, 0x5590a0 + 0x1000);
}

static void test_resolve(void **state)
{
	struct fixture *fx = *state;
	uint32_t goid = 0, goid_sz = 0, pc = 0, ws = 0, wr = 7, wr_sz = 7;
	bool ws_present = false, wr_present = true;
	struct tli_field_spec specs[] = {
		{ "runtime.g", "goid", &goid, &goid_sz, false, NULL },
		{ "runtime.g", "sched.pc", &pc, NULL, false, NULL },
		{ "runtime.g", "waitsince", &ws, NULL, true, &ws_present },
		{ "runtime.g", "waitreason", &wr, &wr_sz, true, &wr_present },
	};
	assert_null(tli_layout_resolve(fx->l, specs, 4));
	assert_int_equal(goid, 152);
	assert_int_equal(goid_sz, 8);
	assert_int_equal(pc, 64);
	assert_int_equal(ws, 160);
	assert_true(ws_present);
	assert_false(wr_present);
	assert_int_equal(wr, UINT32_MAX);
	assert_int_equal(wr_sz, 0);

	struct tli_field_spec bad[] = {
		{ "runtime.g", "goid", &goid, NULL, false, NULL },
		{ "runtime.g", "waitreason", &wr, NULL, false, NULL },
	};
	struct tli_error *err = tli_layout_resolve(fx->l, bad, 2);
	assert_non_null(err);
	assert_int_equal(err->code, TLI_E_NO_INFO);
	assert_non_null(strstr(err->msg, "runtime.g.waitreason"));
	tli_error_destroy(err);

	/* an optional member whose provider fails hard is an error, not "absent" */
	uint32_t curg;
	struct tli_field_spec hard[] = { { "runtime.m", "curg", &curg, NULL, true, NULL } };
	err = tli_layout_resolve(fx->l, hard, 1);
	assert_non_null(err);
	assert_int_equal(err->code, TLI_E_BAD_FORMAT);
	tli_error_destroy(err);
}

static void test_out_of_range(void **state)
{
	(void)state;
	static const struct fentry H[] = { { 'm', "T", "huge", 0x100000000ULL, 8 } };
	int destroyed = 0;
	struct fake h = { .name = "h", .e = H, .n = 1, .destroyed = &destroyed };
	struct tli_layout *l;
	assert_null(tli_layout_create(&l));
	assert_null(tli_layout_add_provider(l, &ops_a, &h));
	uint32_t off;
	struct tli_field_spec s[] = { { "T", "huge", &off, NULL, false, NULL } };
	struct tli_error *err = tli_layout_resolve(l, s, 1);
	assert_non_null(err);
	assert_int_equal(err->code, TLI_E_BAD_FORMAT);
	tli_error_destroy(err);
	/* no provider at all */
	struct tli_layout *empty;
	assert_null(tli_layout_create(&empty));
	struct tli_member m;
	err = tli_layout_member(empty, "T", "x", &m);
	assert_non_null(err);
	assert_int_equal(err->code, TLI_E_NO_INFO);
	assert_non_null(strstr(err->msg, "no layout for T.x"));
	assert_null(tli_layout_last_source(empty));
	tli_error_destroy(err);
	tli_layout_destroy(empty);
	tli_layout_destroy(l);
	assert_int_equal(destroyed, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cache, setup, teardown),
		cmocka_unit_test_setup_teardown(test_error_text, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hard_error, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bias, setup, teardown),
		cmocka_unit_test_setup_teardown(test_resolve, setup, teardown),
		cmocka_unit_test_setup_teardown(test_saved_answers, setup, teardown),
		cmocka_unit_test(test_out_of_range),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
