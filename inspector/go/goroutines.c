/* SPDX-License-Identifier: MIT */
/*
 * The goroutine walker's entry points (see goroutines.h for the phases and
 * goroutines_internal.h for the files that do the work): open, the listing,
 * and the accessors through which other walkers see the capture.
 */
#include "goroutines_internal.h"

#include <stdlib.h>

#include "core/bigbuf.h"
#include "core/bytes.h"

struct tli_error *tli_go_rt_open(struct tli_session *s, struct tli_go_rt **ret)
{
	struct tli_go_rt *w = calloc(1, sizeof(*w));
	if (!w)
		return &tli_enomem;
	w->s = s;
	w->t = s->target;
	w->bias = s->exe_bias;
	struct tli_error *err = tli_session_gobin(s, &w->gb);
	if (err)
		goto fail;
	w->pcl = tli_gobin_pclntab(w->gb);
	if (!w->pcl) {
		err = tli_error_create(TLI_E_NOT_GO, "%s has no usable pclntab", s->target->exe_path);
		goto fail;
	}
	w->minor = tli_gobin_minor(w->gb);
	err = tli_go_glayout_resolve(s->layout, &w->gl);
	if (err) {
		err = tli_error_wrap(err, "Go runtime layout of %s", s->target->exe_path);
		goto fail;
	}
	tli_go_labels_resolve(s->layout, &w->lab);
	*ret = w;
	return NULL;
fail:
	free(w);
	return err;
}

/* result["target"].go_version, and result["go"] (made if missing) */
static json_t *analyze_prelude(struct tli_go_rt *rt, const struct tli_go_opts *opts, json_t *result)
{
	rt->opts = opts;
	rt->result = result;
	json_t *tg = json_object_get(result, "target");
	if (!tg) {
		tg = json_object();
		json_object_set_new_nocheck(result, "target", tg);
	}
	const char *ver = tli_gobin_version(rt->gb);
	json_object_set_new_nocheck(tg, "go_version", ver ? json_string(ver) : json_null());
	json_t *go = json_object_get(result, "go");
	if (!go) {
		go = json_object();
		json_object_set_new_nocheck(result, "go", go);
	}
	return go;
}

struct tli_error *tli_go_rt_analyze(struct tli_go_rt *rt, const struct tli_go_opts *opts, json_t *result)
{
	return tli_go_list_build(rt, analyze_prelude(rt, opts, result));
}

struct tli_error *tli_go_rt_analyze_stream(struct tli_go_rt *rt, const struct tli_go_opts *opts, json_t *result,
					   bool text_order, struct tli_go_listing **ret)
{
	return tli_go_list_stream(rt, analyze_prelude(rt, opts, result), text_order, ret);
}

void tli_go_rt_destroy(struct tli_go_rt *rt)
{
	if (!rt)
		return;
	tli_go_strtab_free(&rt->wrs);
	tli_go_strtab_free(&rt->gss);
	free(rt->gs);
	free(rt->pre_ptrs);
	free(rt->pre_ord);
	tli_big_free(rt->gbuf, rt->gbuf_len);
	free(rt->pcinfo);
	tli_u64map_free(&rt->pre_gindex);
	tli_go_rt_precopy_free(rt);
	free(rt);
}

void tli_go_rt_only(struct tli_go_rt *rt, int64_t goid)
{
	if (rt)
		rt->only_id = goid;
}

struct tli_error *tli_go_goroutines(struct tli_session *s, const struct tli_go_opts *opts,
				    json_t *result)
{
	struct tli_go_rt *rt = NULL;
	struct tli_error *err = tli_go_rt_open(s, &rt);
	if (!err) {
		rt->only_id = opts->only_id;
		err = tli_go_rt_capture(rt);
	}
	/* the pause ends here, whatever happened */
	tli_target_release(s->target);
	if (!err)
		err = tli_go_rt_analyze(rt, opts, result);
	tli_go_rt_destroy(rt);
	return err;
}

/* --- accessors for other walkers (channels, leaks, explain) --- */

size_t tli_go_rt_count(const struct tli_go_rt *rt)
{
	return rt->ngs;
}

bool tli_go_rt_take_gindex(struct tli_go_rt *rt, struct tli_u64map *ret)
{
	if (!rt->pre_gindex_ok)
		return false;
	*ret = rt->pre_gindex;
	rt->pre_gindex = (struct tli_u64map){ 0 };
	rt->pre_gindex_ok = false;
	return true;
}

bool tli_go_rt_g(const struct tli_go_rt *rt, size_t i, struct tli_go_gview *ret)
{
	if (i >= rt->ngs)
		return false;
	const struct gcap *g = &rt->gs[i];
	const struct go_layout *gl = &rt->gl;
	*ret = (struct tli_go_gview){
		.addr = g->addr, .raw = g->raw, .size = gl->g_size, .status = g->status,
		.dead = !g->raw || tli_go_rt_dead(rt, g->status),
		.goid = g->raw ? tli_rdn(g->raw + gl->g_goid, gl->g_goid_size) : 0,
		.waitreason = g->raw ? tli_rdn(g->raw + gl->g_waitreason, gl->g_waitreason_size) : 0,
		.waiting = g->raw && tli_go_gstatus_is_waiting(&gl->st, g->status),
		.sp = g->sp, .stk_lo = g->stk_lo, .stk_hi = g->stk_hi, .problem = g->problem,
		.pc = g->pc, .trap = g->trap,
	};
	if (!tli_go_precopy_chain(rt, i, g, &ret->pre_addr, &ret->pre_raw, &ret->pre_n, &ret->pre_size))
		ret->pre_n = 0;
	return true;
}

const char *tli_go_rt_wait_reason(const struct tli_go_rt *rt, uint64_t wr)
{
	return wr < rt->wrs.n ? rt->wrs.s[wr] : NULL;
}

struct tli_layout *tli_go_rt_layout(const struct tli_go_rt *rt)
{
	return rt->s->layout;
}

const struct tli_pclntab *tli_go_rt_pclntab(const struct tli_go_rt *rt)
{
	return rt->pcl;
}

uint64_t tli_go_rt_bias(const struct tli_go_rt *rt)
{
	return rt->bias;
}

int tli_go_rt_minor(const struct tli_go_rt *rt)
{
	return rt->minor;
}

int64_t tli_go_rt_now(const struct tli_go_rt *rt, const char **src)
{
	if (src)
		*src = rt->now_src ? rt->now_src : "unknown";
	return rt->now_ns;
}
