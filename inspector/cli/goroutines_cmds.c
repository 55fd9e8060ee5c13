/* SPDX-License-Identifier: MIT */
/** @file goroutines_cmds.c  `goroutines --folded` (logic: go/folded.c) and `--label`. */
#include "goroutines_cmds.h"

#include <string.h>

#include "go/goroutines.h"
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

struct tli_error *tli_cmd_goroutines_plain(struct tli_cmd_ctx *ctx, const struct tli_go_opts *o, json_t *result)
{
	if (ctx->cli && !ctx->cli->cmd_explicit && !o->stacks && !o->nlabels)
		return tli_ot_triage(ctx->session, o->top, result);
	return tli_go_cmd_goroutines(ctx->session, o, result);
}
