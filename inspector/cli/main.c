/* SPDX-License-Identifier: MIT */
/* tlinspect: parse the command line, run one command, exit with its status. */
#include <stdio.h>
#include <stdlib.h>

#include "cli/commands.h"

int main(int argc, char **argv)
{
	/* Large output buffer: a 100k-goroutine listing is tens of MB of text. */
	static char outbuf[1 << 16];
	setvbuf(stdout, outbuf, _IOFBF, sizeof(outbuf));

	struct tli_cli_opts o;
	struct tli_error *err = tli_cli_parse(argc, argv, &o);
	if (err) {
		int code = err->code;
		fprintf(stderr, "tlinspect: error: %s\n", err->msg);
		if (o.json)
			tli_cli_error_json(stdout, err);
		tli_error_destroy(err);
		tli_cli_opts_free(&o);
		fflush(stdout);
		return code;
	}
	int rc = tli_cli_run(&o, stdout, stderr);
	tli_cli_opts_free(&o);
	if (fflush(stdout) != 0 && rc == 0)
		rc = TLI_E_INTERNAL;
	return rc;
}
