/* SPDX-License-Identifier: MIT */
/*
 * Typed roots of the heap census: every global variable of the executable's
 * DWARF with the runtime descriptor of its type (DW_AT_go_runtime_type, which
 * Go's linker puts on type DIEs), read from the file before the stop. Without
 * DWARF (stripped) there are none and data/bss are scanned untyped. See census.h.
 */
#include "census_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dwarf/dwarf.h"
#include "go/gobin.h"

#define MAX_GLOBALS (1u << 22)

struct gather {
	struct tli_go_census *c;
	uint64_t bias;
};

/* Go's linker writes DW_AT_go_runtime_type as an offset into the types section */
static uint64_t runtime_type(const struct gather *g, uint64_t off)
{
	const struct tli_gomoduledata *md = g->c->src.md;
	if (!off || !md || off >= md->etypes - md->types)
		return 0;
	return md->types + off + g->bias;
}

static bool take(void *arg, const char *name, uint64_t addr, uint64_t size, uint64_t rtype, uint64_t slice_elem,
		 const char *type_name)
{
	struct gather *g = arg;
	struct tli_go_census *c = g->c;
	if (!size || !addr || size > (1ull << 32) || c->globals.n >= MAX_GLOBALS)
		return c->globals.n < MAX_GLOBALS;
	struct census_global v = { .addr = addr + g->bias, .size = size, .rtype = runtime_type(g, rtype),
				   .slice_elem = runtime_type(g, slice_elem), .name = strdup(name),
				   .type_name = type_name ? strdup(type_name) : NULL };
	if (!v.name || !tli_vec_push(&c->globals, v)) {
		free(v.name);
		free(v.type_name);
		return false;
	}
	return true;
}

static int cmp_global(const void *a, const void *b)
{
	const struct census_global *x = a, *y = b;
	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

void census_globals_load(struct tli_go_census *c)
{
	struct tli_session *s = c->s;
	const char *exe = s->target->exe_path;
	if (s->opts.no_dwarf || !exe) {
		snprintf(c->dwarf_problem, sizeof(c->dwarf_problem), "%s", exe ? "--no-dwarf" : "no executable");
		return;
	}
	struct tli_dwarf_opts o = { 0 };
	struct tli_dwarf *d = NULL;
	struct tli_error *err = tli_dwarf_open(exe, &o, &d);
	if (!err && !tli_dwarf_has_dwarf(d))
		snprintf(c->dwarf_problem, sizeof(c->dwarf_problem), "no DWARF: globals are untyped roots");
	struct gather g = { .c = c, .bias = tli_go_rt_bias(c->rt) };
	if (!err && tli_dwarf_has_dwarf(d))
		err = tli_dwarf_each_global(d, take, &g);
	if (err)
		snprintf(c->dwarf_problem, sizeof(c->dwarf_problem), "%.150s", err->msg);
	tli_error_destroy(err);
	tli_dwarf_close(d);
	qsort(c->globals.v, c->globals.n, sizeof(*c->globals.v), cmp_global);
	/* overlapping entries (aliases) would hide each other from the binary search: keep the first */
	size_t k = 0;
	for (size_t i = 0; i < c->globals.n; i++) {
		if (k && c->globals.v[i].addr < c->globals.v[k - 1].addr + c->globals.v[k - 1].size) {
			free(c->globals.v[i].name);
			free(c->globals.v[i].type_name);
			continue;
		}
		c->globals.v[k++] = c->globals.v[i];
	}
	c->globals.n = k;
}

/* ---- lifetime ---- */

bool census_init(struct tli_go_census *c)
{
	c->labidx = tli_strmap_new_borrowed();
	struct ctype zero = { 0 };
	char *empty = strdup("");
	if (!c->labidx || !empty || !tli_vec_push(&c->ct, zero) || !tli_vec_push(&c->labels, empty)) {
		free(empty);
		return false;
	}
	return tli_strmap_put(c->labidx, empty, 0);
}

struct tli_error *tli_go_census_prepare(struct tli_session *s, struct tli_go_rt *rt, struct tli_go_census **ret)
{
	struct tli_go_census *c = calloc(1, sizeof(*c));
	if (!c)
		return &tli_enomem;
	c->s = s;
	c->rt = rt;
	if (!census_init(c)) {
		tli_go_census_destroy(c);
		return &tli_enomem;
	}
	census_layout_resolve(c);
	struct tli_gobin *gb = NULL;
	if (tli_error_drop(tli_session_gobin(s, &gb)))
		gb = NULL;
	c->src = (struct tli_go_type_src){
		.t = s->target, .gb = gb, .md = gb ? tli_gobin_moduledata(gb) : NULL,
		.bias = tli_go_rt_bias(rt), .L = &c->L.T, .policy = TLI_GO_TYPE_MODULE_FILE,
	};
	census_globals_load(c);
	*ret = c;
	return NULL;
}

const struct tli_go_type_layout *tli_go_census_type_layout(const struct tli_go_census *c)
{
	return &c->L.T;
}

void tli_go_census_destroy(struct tli_go_census *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->ct.n; i++)
		free(c->ct.v[i].name);
	tli_vec_free(&c->ct);
	for (size_t i = 0; i < c->labels.n; i++)
		free(c->labels.v[i]);
	tli_vec_free(&c->labels);
	if (c->labidx)
		tli_strmap_free(c->labidx);
	for (size_t i = 0; i < c->globals.n; i++) {
		free(c->globals.v[i].name);
		free(c->globals.v[i].type_name);
	}
	tli_vec_free(&c->globals);
	tli_vec_free(&c->slots);
	tli_u64map_free(&c->ctidx);
	tli_u64map_free(&c->itabs);
	tli_vec_free(&c->tq);
	tli_vec_free(&c->uq);
	census_paths_free(c);
	tli_goheap_precise_destroy(c->precise);
	free(c->objoff);
	free(c->pages);
	free(c->state);
	free(c->otype);
	free(c->opath);
	free(c);
}
