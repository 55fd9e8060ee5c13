/* SPDX-License-Identifier: MIT */
/** @file secrets_cmd.c  The `secrets` command's options and handler (logic: inspector/secrets/). */
#include "overtime_cmds.h"

#include "secrets/secrets.h"

const char tli_secrets_summary[] = "credentials left in memory: free chunks and Go slots, channel buffers, dead stack, live";
const char tli_secrets_help[] = "Scans every writable mapping for JWTs, PEM private keys, Bearer tokens, AWS access\n"
	"key ids and passwords in URLs and DSNs, and says where each lies: free (a free\n"
	"malloc chunk, a free Go heap slot, an unreachable Go object), chan-buffer, stack-dead\n"
	"(below a goroutine's or thread's SP) or live. Values are redacted (kind, first\n"
	"characters, length) unless --reveal. Exit 0 whether or not anything is found.";

const struct tli_option tli_secrets_options[] = {
	{ "reveal", 0, TLI_OPT_FLAG, NULL, "show each credential's value (default: kind, first characters, length)",
	  0, 0, false },
	{ "max", 0, TLI_OPT_INT, "N", "findings listed (default 10000; the counts are complete)", 1, 10000000,
	  false },
	{ NULL, 0, 0, NULL, NULL, 0, 0, false },
};

struct tli_error *tli_cmd_secrets(struct tli_cmd_ctx *ctx, json_t *result)
{
	const struct tli_optval *rv = tli_cmd_opt(ctx, "reveal"), *mx = tli_cmd_opt(ctx, "max");
	struct tli_secrets_opts o = {
		.reveal = rv && rv->set,
		.max = mx && mx->set ? (int)mx->num : 0,
	};
	return tli_secrets_cmd(ctx->session, &o, result);
}
