/* SPDX-License-Identifier: MIT */
/* The Go metadata of a session's executable, opened on first use (go/gobin.h). */
#include "go/gobin.h"

#include "core/session.h"

struct tli_error *tli_session_gobin(struct tli_session *s, struct tli_gobin **ret)
{
	const char *exe = s->target && s->target->exe_path ? s->target->exe_path : s->exe_path_pre;
	if (!s->gobin_tried) {
		s->gobin_tried = true;
		if (!exe)
			return tli_error_create(TLI_E_NO_INFO, "executable unknown; pass --exe");
		struct tli_error *err = tli_gobin_open(exe, &s->gobin);
		if (err && err->code == TLI_E_NOMEM)
			s->gobin_tried = false; /* not "not a Go program" next time: try again */
		if (err)
			return err;
	}
	if (!s->gobin)
		return tli_error_create(TLI_E_NOT_GO, "%s is not a Go program (no Go build info or pclntab); "
					"for the glibc malloc heap of a C or C++ program: heap, bins, leaks",
					exe ? exe : "the target");
	*ret = s->gobin;
	return NULL;
}
