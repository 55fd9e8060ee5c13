/* SPDX-License-Identifier: MIT */
/** @file pools_cmds.h  The handlers and help of `pools` and `timers` (pools_cmds.c); their logic is
 *  inspector/go/pools*.c and inspector/go/timers.c. */
#ifndef TLI_CLI_POOLS_CMDS_H
#define TLI_CLI_POOLS_CMDS_H

#include "commands.h"

extern const char tli_pools_summary[], tli_pools_help[], tli_timers_summary[], tli_timers_help[];
struct tli_error *tli_cmd_pools(struct tli_cmd_ctx *ctx, json_t *result);
struct tli_error *tli_cmd_timers(struct tli_cmd_ctx *ctx, json_t *result);

#endif
