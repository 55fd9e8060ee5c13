/* SPDX-License-Identifier: MIT */
/*
 * `pools` (pools.h): the pipeline and the helpers the pool walkers share.
 *
 *   prepare   goroutine layouts, the heap model, the census's descriptor layouts and
 *             DWARF globals, each pool's layouts                       (before the stop)
 *   capture   goroutines, data/bss and stacks, the Go heap and its types (stopped)
 *             and the host key strings of what may be a persistConn (noscan memory the heap
 *             capture skips; pools_http.c)
 *   release
 *   census    live objects typed and attributed to their first root (retention paths)
 *   walkers   read the pools from the copy (pools_sql.c, pools_maps.c, pools_syncmap.c, pools_http.c)
 */
#include "pools_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/jsonstr.h"
#include "go/gobin.h"

bool pools_object(const struct pools_run *r, uint64_t addr, uint64_t *num, struct tli_goheap_object *o)
{
	const struct tli_go_census *c = r->census;
	if (!c || !c->state || !tli_goheap_find_object(r->h, addr, o))
		return false;
	uint64_t n = c->objoff[o->span - r->h->spans] + o->index;
	if (n >= c->nobj || !c->state[n])
		return false;
	*num = n;
	return true;
}

bool pools_read(const struct pools_run *r, uint64_t addr, void *buf, size_t n)
{
	struct tli_goheap_object o;
	if (!tli_goheap_find_object(r->h, addr, &o) || !o.span->data || addr + n < addr ||
	    addr + n > o.base + o.span->elemsize)
		return false;
	memcpy(buf, o.span->data + (addr - o.span->start), n);
	return true;
}

const char *pools_root_name(const struct pools_run *r, uint64_t num, char *buf, size_t cap)
{
	const struct tli_go_census *c = r->census;
	if (!c->opath || num >= c->nobj)
		return NULL;
	uint32_t p = c->opath[num];
	for (int d = 0; p && p < c->nodes.n && d < 200; d++) {
		const struct pnode *x = &c->nodes.v[p];
		if (!x->parent) {
			const char *t = x->label < c->labels.n ? c->labels.v[x->label] : NULL;
			if (!t || strncmp(t, "global ", 7))
				return NULL;
			snprintf(buf, cap, "%s", t + 7);
			return buf;
		}
		p = x->parent;
	}
	return NULL;
}

static struct tli_error *prepare(struct pools_run *r)
{
	struct tli_error *err = tli_go_rt_open(r->s, &r->rt);
	if (err)
		return err;
	struct tli_error *he = tli_goheap_new(r->s, r->rt, &r->h);
	if (!he)
		he = tli_go_census_prepare(r->s, r->rt, &r->census);
	if (he) {
		if (he->code == TLI_E_NOMEM)
			return he;
		snprintf(r->problem, sizeof(r->problem), "%.190s", he->msg);
		tli_error_destroy(he);
		tli_goheap_destroy(r->h);
		r->h = NULL;
		return NULL;
	}
	struct tli_error *pe = tli_goheap_precise_new(r->s, r->rt, &r->precise);
	if (pe) {
		tli_session_warn(r->s, "goroutine stacks scanned word by word: %s", pe->msg);
		tli_error_destroy(pe);
	}
	tli_goheap_reserve(r->h);
	err = tli_goheap_afford(r->h);
	if (err)
		return err;
	return NULL;
}

static struct tli_error *capture(struct pools_run *r)
{
	struct tli_error *err = tli_go_rt_capture(r->rt);
	if (err || !r->h)
		return err;
	err = tli_goheap_roots_capture(r->s, r->rt, true, &r->roots);
	if (!err)
		err = tli_goheap_capture(r->h);
	if (err) {
		if (err->code == TLI_E_NOMEM)
			return err;
		snprintf(r->problem, sizeof(r->problem), "%.190s", err->msg);
		tli_error_destroy(err);
		tli_goheap_destroy(r->h);
		r->h = NULL;
		return NULL;
	}
	tli_goheap_prepare_types(r->h, tli_go_census_type_layout(r->census));
	return NULL;
}

/* Every pool kind's layouts (files only: before the stop or after the release alike). */
struct pools_layouts {
	struct pools_sql_layout sql;
	struct pools_maps_layout maps;
	struct pools_syncmap_layout syncmap;
	struct pools_http_layout http;
};

static void layouts(struct tli_layout *l, struct pools_layouts *P)
{
	pools_sql_layout(l, &P->sql);
	pools_maps_layout(l, &P->maps);
	pools_syncmap_layout(l, &P->syncmap);
	pools_http_layout(l, &P->http);
}

/* After the census: every pool kind's walker adds its list to go.pools. */
static void walkers(struct pools_run *r, const struct pools_layouts *P, json_t *pools)
{
	pools_sql_run(r, &P->sql, pools);
	pools_maps_run(r, &P->maps, pools);
	pools_syncmap_run(r, &P->syncmap, pools);
}

static struct tli_error *analyze(struct pools_run *r, const struct pools_layouts *P, json_t *go)
{
	json_t *pools = json_object();
	json_object_set_new(go, "pools", pools);
	if (!r->h) {
		json_object_set_new(pools, "sql_dbs", json_null());
		json_object_set_new(pools, "maps", json_null());
		json_object_set_new(pools, "sync_maps", json_null());
		json_object_set_new(pools, "http_transports", json_null());
		json_object_set_new(pools, "unreadable", json_string(r->problem[0] ? r->problem : "no Go heap"));
		return NULL;
	}
	if (r->roots.problem[0])
		tli_session_warn(r->s, "%s", r->roots.problem);
	/* the census types the objects and names the root reaching each; its tables are not output */
	json_t *scratch = json_object();
	struct tli_go_census_opts co = { .retention = true, .top = 1 };
	struct tli_error *err = tli_go_census_run(r->census, r->h, &r->roots, &co, scratch);
	json_t *cs = json_object_get(scratch, "typed_share");
	if (cs)
		json_object_set(pools, "typed_share", cs);
	json_decref(scratch);
	if (err)
		return err;
	walkers(r, P, pools);
	/* net/http.Transport needs its host keys copied during the stop (pools_http_capture): only here */
	pools_http_run(r, &P->http, pools);
	return NULL;
}

void tli_go_pools_after_census(struct tli_session *s, struct tli_go_rt *rt, struct tli_goheap *h,
			       struct tli_go_census *census, struct tli_goheap_roots *roots, json_t *go)
{
	struct pools_run r = { .s = s, .rt = rt, .h = h, .census = census };
	struct pools_layouts P = { 0 };
	json_t *pools = json_object();
	json_object_set_new(go, "pools", pools);
	if (!h || !census || !census->opath) {
		json_object_set_new(pools, "unreadable", json_string(!h ? "no Go heap" : "no census with retention"));
		return;
	}
	r.roots = *roots; /* borrowed: the caller frees them */
	struct tli_error *pe = tli_goheap_precise_new(s, rt, &r.precise); /* files only */
	if (pe) {
		tli_session_warn(s, "goroutine stacks scanned word by word: %s", pe->msg);
		tli_error_destroy(pe);
	}
	layouts(tli_go_rt_layout(rt), &P);
	json_t *cs = json_object_get(go, "typed_share");
	if (cs)
		json_object_set(pools, "typed_share", cs);
	walkers(&r, &P, pools);
	json_object_set_new(pools, "http_transports_note",
			    json_string("net/http.Transports are listed by `pools` only (their host names are copied during "
					"its stop)"));
	tli_goheap_precise_destroy(r.precise);
}

struct tli_error *tli_go_cmd_pools(struct tli_session *s, const struct tli_go_pools_opts *o, json_t *result)
{
	(void)o;
	struct pools_run r = { .s = s };
	struct pools_layouts P = { 0 };
	struct tli_gobin *gb = NULL;
	struct tli_error *err = tli_session_gobin(s, &gb);
	if (!err)
		err = prepare(&r);
	if (!err)
		layouts(tli_go_rt_layout(r.rt), &P);
	if (!err)
		err = capture(&r);
	if (!err && r.h && P.http.ok)
		pools_http_capture(&r, &P.http);
	tli_target_release(s->target);
	if (!err) {
		json_t *go = tli_json_child_object(result, "go");
		const char *ver = tli_gobin_version(gb);
		json_object_set_new(go, "go_version", ver ? json_string(ver) : json_null());
		err = analyze(&r, &P, go);
	}
	pools_http_free(&r);
	tli_goheap_precise_destroy(r.precise);
	tli_go_census_destroy(r.census);
	tli_goheap_roots_free(&r.roots);
	tli_goheap_destroy(r.h);
	if (r.rt)
		tli_go_rt_destroy(r.rt);
	return err;
}

void pools_problem(json_t *problems, const char *fmt, ...)
{
	char buf[240];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (json_array_size(problems) < 16)
		json_array_append_new(problems, json_string(buf));
}

bool pools_typed_as(const struct pools_run *r, uint64_t num, const char *name, uint64_t size)
{
	const struct tli_go_census *c = r->census;
	uint32_t id = c->otype[num];
	if (!id || id >= c->ct.n)
		return false;
	const struct ctype *t = &c->ct.v[id];
	return t->kind == CT_PLAIN && t->size == size && t->name && !strcmp(t->name, name);
}

bool pools_size_fits(uint64_t elemsize, uint64_t size)
{
	return elemsize >= size && elemsize <= size + size / 4 + 16;
}
