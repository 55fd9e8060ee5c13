/* SPDX-License-Identifier: MIT */
/* Stand-alone driver of the runtime-map generator (same code as `tlinspect maps gen BINARY`),
 * used by mk/maps.mk: `build/tli-mapgen BINARY > runtime-maps/go/1.NN.map`. */
#include <stdio.h>

#include "core/error.h"
#include "runtime_maps/maps.h"

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s GO-BINARY-WITH-DWARF > MAP\n", argv[0]);
		return 2;
	}
	struct tli_error *err = tli_maps_gen(argv[1], stdout);
	if (err) {
		fprintf(stderr, "tli-mapgen: error: %s\n", err->msg);
		int code = (int)err->code;
		tli_error_destroy(err);
		return code;
	}
	return 0;
}
