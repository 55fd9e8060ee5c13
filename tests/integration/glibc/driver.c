/* SPDX-License-Identifier: MIT */
/* Test driver for the glibc commands until they are in the CLI's command table:
 *   driver (--pid N | --core FILE [--exe BIN]) [--text] heap|arenas|bins|leaks|chunk ADDR */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "session/open.h"
#include "glibc/glibc.h"
#include "render/text_glibc.h"

int main(int argc, char **argv)
{
	struct tli_session_opts so = { 0 };
	struct tli_glibc_opts go = { 0 };
	bool text = false;
	int i = 1;
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "--pid") && i + 1 < argc)
			so.pid = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--core") && i + 1 < argc)
			so.core = argv[++i];
		else if (!strcmp(argv[i], "--exe") && i + 1 < argc)
			so.exe = argv[++i];
		else if (!strcmp(argv[i], "-v"))
			so.verbose = true;
		else if (!strcmp(argv[i], "--text"))
			text = true;
		else if (!strcmp(argv[i], "--chunks"))
			go.chunks = true;
		else if (!strcmp(argv[i], "--top") && i + 1 < argc)
			go.top = atoi(argv[++i]);
	}
	if (i >= argc) {
		fprintf(stderr, "usage: driver (--pid N|--core F [--exe B]) CMD [ADDR]\n");
		return 2;
	}
	const char *cmd = argv[i];
	struct tli_session *s = NULL;
	struct tli_error *err = NULL;
	err = tli_session_open(&so, &s);
	if (!err && so.pid && !getenv("TLI_NO_PREPARE")) { /* layout before the stop: short pause */
		struct tli_error *perr = tli_glibc_prepare(s, &go);
		if (perr) {
			fprintf(stderr, "note: %s\n", perr->msg);
			tli_error_destroy(perr);
		}
	}
	json_t *res = json_object();
	if (!err) {
		if (!strcmp(cmd, "heap"))
			err = tli_glibc_heap(s, &go, res);
		else if (!strcmp(cmd, "arenas"))
			err = tli_glibc_arenas(s, &go, res);
		else if (!strcmp(cmd, "bins"))
			err = tli_glibc_bins(s, &go, res);
		else if (!strcmp(cmd, "leaks"))
			err = tli_glibc_leaks(s, &go, res);
		else if (!strcmp(cmd, "chunk") && i + 1 < argc)
			err = tli_glibc_chunk(s, &go, strtoull(argv[i + 1], NULL, 0), res);
		else
			err = tli_error_create(TLI_E_USAGE, "unknown command %s", cmd);
	}
	if (s && !err)
		tli_session_describe(s, res);
	if (err) {
		fprintf(stderr, "error: %s\n", err->msg);
		tli_session_destroy(s);
		return err->code;
	}
	if (text)
		tli_glibc_render_text(stdout, cmd, res);
	else
		json_dumpf(res, stdout, JSON_INDENT(1)), fputc('\n', stdout);
	json_decref(res);
	tli_session_destroy(s);
	tli_glibc_unprepare();
	return 0;
}
