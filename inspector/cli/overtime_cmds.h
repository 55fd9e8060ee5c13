/* SPDX-License-Identifier: MIT */
/** @file overtime_cmds.h  The handlers of snapshot, diff, watch, metrics and goroutines --pprof
 *  (overtime_cmds.c); their logic is inspector/overtime/. */
#ifndef TLI_CLI_OVERTIME_CMDS_H
#define TLI_CLI_OVERTIME_CMDS_H

#include "commands.h"

struct tli_error *tli_cmd_snapshot(struct tli_cmd_ctx *ctx, json_t *result);
struct tli_error *tli_cmd_diff(struct tli_cmd_ctx *ctx, json_t *result);
struct tli_error *tli_cmd_watch(struct tli_cmd_ctx *ctx, json_t *result);
struct tli_error *tli_cmd_metrics(struct tli_cmd_ctx *ctx, json_t *result);
/** `secrets` (cli/secrets_cmd.c; its logic is inspector/secrets/) */
extern const struct tli_option tli_secrets_options[];
extern const char tli_secrets_summary[], tli_secrets_help[];
struct tli_error *tli_cmd_secrets(struct tli_cmd_ctx *ctx, json_t *result);
/** After `goroutines` built `result` with every frame: write the goroutine profile to `path`. */
struct tli_error *tli_goroutines_pprof(struct tli_cmd_ctx *ctx, json_t *result, const char *path, bool force);

#endif
