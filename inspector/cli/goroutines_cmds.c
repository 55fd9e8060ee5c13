/* SPDX-License-Identifier: MIT */
/** @file goroutines_cmds.c  `goroutines --folded` (logic: go/folded.c). */
#include "goroutines_cmds.h"

#include "go/goroutines.h"

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
