/* SPDX-License-Identifier: MIT */
/*
 * tests/unit/pprof_write.c: a test tool, never installed: `pprof_write [--force] IN.json OUT`
 * hands the profile description IN.json (render/pprof.h) to tli_pprof_write_file, so scripts
 * (tests/integration/pprof.sh) can check what `go tool pprof` reads from the file before any
 * command writes one. Exit status: the error's code (docs/exit-codes.md), its message on stderr.
 */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "render/pprof.h"

int main(int argc, char **argv)
{
	bool force = argc > 1 && !strcmp(argv[1], "--force");
	if (argc != 3 + force) {
		fprintf(stderr, "usage: %s [--force] IN.json OUT\n", argv[0]);
		return TLI_E_USAGE;
	}
	json_error_t jerr;
	json_t *d = json_load_file(argv[1 + force], 0, &jerr);
	if (!d) {
		fprintf(stderr, "pprof_write: %s:%d: %s\n", argv[1 + force], jerr.line, jerr.text);
		return TLI_E_USAGE;
	}
	struct tli_error *err = tli_pprof_write_file(d, argv[2 + force], force);
	json_decref(d);
	if (!err)
		return 0;
	int code = err->code;
	fprintf(stderr, "pprof_write: error: %s\n", err->msg);
	tli_error_destroy(err);
	return code;
}
