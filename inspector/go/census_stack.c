/* SPDX-License-Identifier: MIT */
/*
 * Stack roots of the heap census, named by goroutine and function: the frames of
 * a goroutine's captured stack by pcsp unwinding from g.sched (pclntab, works on
 * stripped binaries; runtime/traceback.go does the same), each stack word
 * attributed to the frame holding it ("goroutine 7 main.worker"). Words of a
 * goroutine whose frames cannot be found are named by the goroutine alone.
 * The words themselves stay untyped (no stack maps are read). See census.h.
 */
#include "census_int.h"

#include <inttypes.h>
#include <stdio.h>

#include "core/bytes.h"
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
		uint64_t ra = sp + (uint64_t)d;
		if (ra < sp || ra + 8 > st->hi)
			break;
		pc = tli_rd64(st->mem + (ra - st->lo));
		sp = ra + 8;
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

void census_mark_stack(struct tli_go_census *c, const struct tli_goheap_range *st, const struct tli_go_gview *v)
{
	struct frame fr[MAX_FRAMES];
	size_t nf = c->retention ? unwind(c, v, st, fr) : 0, k = 0;
	char name[300];
	snprintf(name, sizeof(name), "goroutine %" PRIu64, v->goid);
	uint32_t whole = census_root(c, name), root = whole;
	for (uint64_t a = st->lo; a + 8 <= st->hi; a += 8) {
		/* the frame holding a: frames grow upwards from sp */
		bool moved = false;
		while (k < nf && a >= fr[k].sp) {
			k++;
			moved = true;
		}
		if (moved) {
			snprintf(name, sizeof(name), "goroutine %" PRIu64 " %s", v->goid, fr[k - 1].func);
			root = census_root(c, name);
		}
		uint64_t w = tli_rd64(st->mem + (a - st->lo));
		if (w >= c->h->lo && w < c->h->hi)
			census_reach(c, w, 0, k ? root : whole, c->lab_dots);
	}
}
