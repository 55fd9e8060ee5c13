/* SPDX-License-Identifier: MIT */
/*
 * Stack roots of the heap census, named by goroutine and function: the frames of
 * a goroutine's captured stack by pcsp unwinding from g.sched (pclntab, works on
 * stripped binaries; runtime/traceback.go does the same), each stack word
 * attributed to the frame holding it ("goroutine 7 main.worker"). Words of a
 * goroutine whose frames cannot be found are named by the goroutine alone.
 * Which words are pointers is the collector's own answer where the stack maps can
 * be read (heap_stack_precise.c); the objects they reach stay untyped. See census.h.
 */
#include "census_int.h"

#include <inttypes.h>
#include <stdio.h>

#include "core/bytes.h"
#include "core/search.h"
#include "go/pclntab.h"

#define MAX_FRAMES 64

struct frame {
	uint64_t sp;        /* lowest address of the frame */
	const char *func;
};

/* g.sched.pc when g.sched.sp is where the capture starts (a goroutine not running) */
static uint64_t sched_pc(struct tli_go_census *c, const struct tli_go_gview *v)
{
	struct tli_layout *l = tli_go_rt_layout(c->rt);
	struct tli_member pcm, spm;
	if (!v->raw || !tli_layout_has_member(l, "runtime.g", "sched.pc", &pcm) ||
	    !tli_layout_has_member(l, "runtime.g", "sched.sp", &spm) || pcm.offset + 8 > v->size ||
	    spm.offset + 8 > v->size || tli_rd64(v->raw + spm.offset) != v->sp)
		return 0;
	return tli_rd64(v->raw + pcm.offset);
}

/* the frames of st, innermost first; their count */
static size_t unwind(struct tli_go_census *c, const struct tli_go_gview *v, const struct tli_goheap_range *st,
		     struct frame *fr)
{
	const struct tli_pclntab *t = tli_go_rt_pclntab(c->rt);
	uint64_t bias = tli_go_rt_bias(c->rt), pc = sched_pc(c, v), sp = v->sp;
	size_t n = 0;
	while (t && pc && n < MAX_FRAMES && sp >= st->lo && sp < st->hi) {
		struct tli_gofunc f;
		int32_t d = 0;
		if (tli_error_drop(tli_pclntab_find(t, pc - bias, &f)))
			break;
		fr[n++] = (struct frame){ .sp = sp, .func = f.name };
		if (tli_error_drop(tli_pclntab_spdelta(t, &f, pc - bias, &d)) || d < 0 || (uint64_t)d > (1u << 24))
			break;
		struct tli_arch_goframe af; /* a parked goroutine's LR is on its stack (mcall clears gobuf.lr) */
		tli_arch_go_frame(c->s->target->arch, sp, (uint64_t)d, n == 1, 0, &af);
		if (af.fp <= sp || af.ret_at < st->lo || af.ret_at + 8 > st->hi)
			break;
		pc = tli_rd64(st->mem + (af.ret_at - st->lo));
		sp = af.fp;
	}
	return n;
}

size_t census_unwind(struct tli_go_census *c, const struct tli_go_gview *v, const struct tli_goheap_range *st,
		     const char **funcs, uint64_t *sps, size_t max)
{
	struct frame fr[MAX_FRAMES];
	size_t n = st->mem ? unwind(c, v, st, fr) : 0;
	n = n < max ? n : max;
	for (size_t i = 0; i < n; i++) {
		funcs[i] = fr[i].func;
		sps[i] = fr[i].sp;
	}
	return n;
}

struct stack_ctx {
	struct tli_go_census *c;
	const struct frame *fr;
	size_t nf;
	uint32_t whole;           /* "goroutine N" */
	uint32_t *roots;          /* per frame, "goroutine N func" (0: not named yet) */
	uint64_t goid;
};

/* a word the collector would scan, held at address at: attributed to the frame holding it */
static void stack_word(void *ctx, uint64_t at, uint64_t v)
{
	struct stack_ctx *x = ctx;
	uint32_t root = x->whole;
	/* frames grow upwards from sp: the holder is the last frame starting at or below at */
	size_t k = at ? tli_upper_bound(x->nf, i, x->fr[i].sp > at) : 0;
	if (k) {
		if (!x->roots[k - 1]) {
			char name[300];
			snprintf(name, sizeof(name), "goroutine %" PRIu64 " %s", x->goid, x->fr[k - 1].func);
			x->roots[k - 1] = census_root(x->c, name);
		}
		root = x->roots[k - 1];
	}
	census_reach(x->c, v, 0, root, x->c->lab_dots);
}

void census_mark_stack(struct tli_go_census *c, const struct tli_goheap_range *st, const struct tli_go_gview *v)
{
	struct frame fr[MAX_FRAMES];
	uint32_t roots[MAX_FRAMES] = { 0 };
	char name[300];
	snprintf(name, sizeof(name), "goroutine %" PRIu64, v->goid);
	struct stack_ctx x = { .c = c, .fr = fr, .nf = c->retention ? unwind(c, v, st, fr) : 0,
			       .whole = census_root(c, name), .roots = roots, .goid = v->goid };
	tli_goheap_stack_words(c->precise, c->h, st, v, stack_word, &x);
}
