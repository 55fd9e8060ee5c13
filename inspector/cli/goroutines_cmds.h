/* SPDX-License-Identifier: MIT */
/** @file goroutines_cmds.h  Parts of the `goroutines` handler kept out of commands.c. */
#ifndef TLI_CLI_GOROUTINES_CMDS_H
#define TLI_CLI_GOROUTINES_CMDS_H

#include "commands.h"
#include "go/chans.h"

/** `goroutines --folded`: the listing with every stack, folded into go.folded (go/folded.c);
 *  the per-goroutine stacks stay only if o->stacks (--stacks) asked for them. */
struct tli_error *tli_cmd_goroutines_folded(struct tli_cmd_ctx *ctx, const struct tli_go_opts *o, json_t *result);

/** `--label KEY=VALUE` (repeatable) into o->labels/nlabels; a usage error if one is malformed. */
struct tli_error *tli_cmd_goroutines_labels(struct tli_cmd_ctx *ctx, struct tli_go_opts *o);

/** `goroutines` without --folded/--pprof: the listing, or on the first screen (no command named,
 *  no --stacks/--all-frames/--label) the triage of the three leaks (overtime.h tli_ot_triage). */
struct tli_error *tli_cmd_goroutines_plain(struct tli_cmd_ctx *ctx, const struct tli_go_opts *o, json_t *result);

#endif
