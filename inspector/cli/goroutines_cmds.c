/* SPDX-License-Identifier: MIT */
/** @file goroutines_cmds.c  `goroutines --folded` (logic: go/folded.c) and `--label`. */
#include "goroutines_cmds.h"

#include <stdlib.h>
#include <string.h>

#include "go/chans.h"
#include "go/goroutines.h"
#include "render/render.h"
#include "overtime/overtime.h"

struct tli_error *tli_cmd_goroutines_labels(struct tli_cmd_ctx *ctx, struct tli_go_opts *o)
{
	const struct tli_optval *label = tli_cmd_opt(ctx, "label");
	if (!label || !label->set)
		return NULL;
	for (size_t i = 0; i < label->nstrs; i++)
		if (!strchr(label->strs[i], '=') || label->strs[i][0] == '=')
			return tli_error_create(TLI_E_USAGE, "invalid --label '%s': expected KEY=VALUE", label->strs[i]);
	o->labels = label->strs;
	o->nlabels = label->nstrs;
	return NULL;
}

struct tli_error *tli_cmd_goroutines_folded(struct tli_cmd_ctx *ctx, const struct tli_go_opts *o, json_t *result)
{
	struct tli_go_opts all = *o;
	all.stacks = true;
	struct tli_error *err = tli_go_cmd_goroutines(ctx->session, &all, result);
	json_t *go = json_object_get(result, "go");
	if (!err && go)
		err = tli_go_folded(go, o->system);
	size_t i;
	json_t *g;
	json_array_foreach(o->stacks ? NULL : json_object_get(go, "goroutines"), i, g) {
		json_object_del(g, "stack");
		json_object_del(g, "stack_truncated");
	}
	return err;
}

/* The listing printed as it is built (render/render.h struct tli_render_stream). */
struct gstream {
	struct tli_render_stream rs;
	struct tli_go_streamed *x;
};

static struct tli_error *gstream_each(struct tli_render_stream *st, tli_render_item_fn *fn, void *arg)
{
	struct gstream *gs = (struct gstream *)st;
	for (size_t k = 0; k < st->count; k++) {
		json_t *g = NULL;
		struct tli_error *err = tli_go_streamed_item(gs->x, k, &g);
		if (err)
			return err;
		if (g)
			fn(g, arg);
		json_decref(g);
	}
	return NULL;
}

static void gstream_destroy(struct tli_render_stream *st)
{
	struct gstream *gs = (struct gstream *)st;
	tli_go_streamed_free(gs->x);
	tli_error_destroy(st->err);
	free(gs);
}

/* TLINSPECT_STREAM=0 makes every listing a whole tree first (tests compare the two). */
static bool stream_wanted(const struct tli_cmd_ctx *ctx)
{
	const char *e = getenv("TLINSPECT_STREAM");
	return ctx->stream_ok && !(e && !strcmp(e, "0"));
}

struct tli_error *tli_cmd_goroutines_plain(struct tli_cmd_ctx *ctx, const struct tli_go_opts *o, json_t *result)
{
	if (ctx->cli && !ctx->cli->cmd_explicit && !o->stacks && !o->nlabels)
		return tli_ot_triage(ctx->session, o->top, result);
	if (!stream_wanted(ctx))
		return tli_go_cmd_goroutines(ctx->session, o, result);
	struct gstream *gs = calloc(1, sizeof(*gs));
	if (!gs)
		return &tli_enomem;
	struct tli_error *err = tli_go_cmd_goroutines_streamed(ctx->session, o, result, !ctx->stream_json, &gs->x);
	if (err) {
		free(gs);
		return err;
	}
	gs->rs = (struct tli_render_stream){ .each = gstream_each, .destroy = gstream_destroy,
					     .count = tli_go_streamed_count(gs->x), .in = "go", .as = "goroutines",
					     .system = tli_go_streamed_system(gs->x) };
	ctx->stream = &gs->rs;
	return NULL;
}
