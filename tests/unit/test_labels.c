/* SPDX-License-Identifier: MIT */
/*
 * Goroutine labels (go/goroutines_labels.c) over a synthetic image: both
 * representations of runtime/pprof.labelMap decode, the --label filter, and
 * hostile memory (wild lengths, a wild bucket count, an overflow cycle,
 * unmapped pointers) gives a per-goroutine "labels_unreadable", never a crash.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "fake_image.h"
#include "go/goroutines_internal.h"

#define G_LABELS 8        /* offset of g.labels in the fake g */
#define LM   (IMG + 0x100) /* the labelMap */
#define ARR  (IMG + 0x200) /* list array / hmap */
#define STR  (IMG + 0x800) /* string bytes */
#define BK   (IMG + 0x1000) /* buckets */

static uint8_t graw[64];

struct fixture {
	struct tli_target *t;
	struct tli_go_rt w;
	struct tli_go_opts opts;
	struct gcap g;
};

static void setup_rt(struct fixture *f, bool slice)
{
	memset(img, 0, sizeof(img));
	memset(f, 0, sizeof(*f));
	f->t = fake_target();
	assert_non_null(f->t);
	f->w.t = f->t;
	f->w.opts = &f->opts;
	f->w.gl.st.dead = 6;
	f->w.gl.st.idle = 0;
	struct go_labels_layout *L = &f->w.lab;
	L->has_g_labels = true;
	L->g_labels = G_LABELS;
	if (slice) {
		L->slice = true;
		L->list = 0;
		L->key = 0;
		L->value = 16;
		L->esize = 32;
	} else {
		L->map = true;
		L->h_count = 0;
		L->h_b = 9;
		L->h_buckets = 16;
		L->h_old = 24;
		L->h_span = 32;
		L->bucket_cnt = 8;
		L->min_tophash = 5;
	}
	memset(graw, 0, sizeof(graw));
	uint64_t lm = LM;
	memcpy(graw + G_LABELS, &lm, 8);
	f->g.raw = graw;
	f->g.status = 4; /* waiting */
}

/* a Go string header at hdr for s, its bytes at *sp */
static void gostr(uint64_t hdr, const char *s, uint64_t *sp)
{
	size_t n = strlen(s);
	put(*sp, s, n);
	put64(hdr, *sp);
	put64(hdr + 8, n);
	*sp += n + 8;
}

static json_t *run(struct fixture *f, bool *match)
{
	json_t *o = json_object();
	*match = tli_go_labels_set(&f->w, &f->g, o);
	return o;
}

static const char *unreadable(json_t *o)
{
	return json_string_value(json_object_get(o, "labels_unreadable"));
}

static void test_slice_form(void **state)
{
	(void)state;
	struct fixture f;
	setup_rt(&f, true);
	uint64_t sp = STR;
	put64(LM, ARR);
	put64(LM + 8, 2);
	put64(LM + 16, 2);
	gostr(ARR, "tenant", &sp);
	gostr(ARR + 16, "acme", &sp);
	gostr(ARR + 32, "worker", &sp);
	gostr(ARR + 48, "b", &sp);
	bool match;
	json_t *o = run(&f, &match);
	json_t *l = json_object_get(o, "labels");
	assert_true(match);
	assert_int_equal(json_object_size(l), 2);
	assert_string_equal(json_string_value(json_object_get(l, "worker")), "b");
	assert_string_equal(json_string_value(json_object_get(l, "tenant")), "acme");
	json_decref(o);
	/* the filter: all must match */
	const char *const f1[] = { "worker=b", "tenant=acme" }, *const f2[] = { "worker=b", "tenant=x" };
	f.opts.labels = f1;
	f.opts.nlabels = 2;
	json_decref(run(&f, &match));
	assert_true(match);
	f.opts.labels = f2;
	json_decref(run(&f, &match));
	assert_false(match);
	/* hostile: a wild length, an unmapped array, an unmapped string */
	f.opts.nlabels = 0;
	put64(LM + 8, 1ull << 40);
	o = run(&f, &match);
	assert_non_null(strstr(unreadable(o), "implausible"));
	assert_null(json_object_get(o, "labels"));
	json_decref(o);
	put64(LM, 0xdead0000);
	put64(LM + 8, 2);
	o = run(&f, &match);
	assert_non_null(strstr(unreadable(o), "unreadable"));
	json_decref(o);
	put64(LM, ARR);
	put64(ARR + 8, 0x7fffffff0000ull);  /* a key's bytes unmapped */
	o = run(&f, &match);
	assert_non_null(unreadable(o));
	json_decref(o);
	/* a goroutine without labels: no key at all */
	memset(graw + G_LABELS, 0, 8);
	o = run(&f, &match);
	assert_true(match);
	assert_int_equal(json_object_size(o), 0);
	json_decref(o);
	tli_target_destroy(f.t);
}

static void test_map_form(void **state)
{
	(void)state;
	struct fixture f;
	setup_rt(&f, false);
	const uint64_t bsize = 8 + 8 * 32 + 8;
	uint64_t sp = STR;
	put64(LM, ARR);              /* *labelMap -> hmap */
	put64(ARR, 2);               /* count */
	img[ARR + 9 - IMG] = 1;      /* B = 1: two buckets */
	put64(ARR + 16, BK);
	img[BK - IMG + 3] = 77;      /* bucket 0, slot 3 */
	gostr(BK + 8 + 3 * 16, "worker", &sp);
	gostr(BK + 8 + 128 + 3 * 16, "a", &sp);
	img[BK + bsize - IMG] = 2;   /* bucket 1, slot 0: evacuated marker, not an entry */
	img[BK + bsize - IMG + 7] = 200;
	gostr(BK + bsize + 8 + 7 * 16, "shard", &sp);
	gostr(BK + bsize + 8 + 128 + 7 * 16, "3", &sp);
	bool match;
	json_t *o = run(&f, &match);
	json_t *l = json_object_get(o, "labels");
	assert_null(unreadable(o));
	assert_int_equal(json_object_size(l), 2);
	assert_string_equal(json_string_value(json_object_get(l, "shard")), "3");
	json_decref(o);
	/* the count disagrees with the slots found */
	put64(ARR, 3);
	o = run(&f, &match);
	assert_non_null(strstr(unreadable(o), "counts 3"));
	json_decref(o);
	/* a wild bucket count */
	img[ARR + 9 - IMG] = 200;
	o = run(&f, &match);
	assert_non_null(strstr(unreadable(o), "bucket count"));
	json_decref(o);
	/* an overflow cycle: bucket 0 chains to itself */
	img[ARR + 9 - IMG] = 0;
	put64(BK + bsize - 8, BK);
	o = run(&f, &match);
	assert_non_null(unreadable(o));
	json_decref(o);
	/* buckets unmapped */
	put64(ARR + 16, 0x7fff00000000ull);
	o = run(&f, &match);
	assert_non_null(strstr(unreadable(o), "unreadable"));
	json_decref(o);
	tli_target_destroy(f.t);
}

static void test_unknown_layout(void **state)
{
	(void)state;
	struct fixture f;
	setup_rt(&f, true);
	f.w.lab.slice = false;
	snprintf(f.w.lab.problem, sizeof(f.w.lab.problem), "layout unknown");
	bool match;
	json_t *o = run(&f, &match);
	assert_string_equal(unreadable(o), "layout unknown");
	json_decref(o);
	tli_target_destroy(f.t);
}

int main(void)
{
	(void)fl_member;   /* fake_image.h's layout provider: not needed here */
	(void)fl_size;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_slice_form),
		cmocka_unit_test(test_map_form),
		cmocka_unit_test(test_unknown_layout),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
