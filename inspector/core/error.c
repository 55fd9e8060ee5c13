/* SPDX-License-Identifier: MIT */
#include "error.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct tli_error tli_enomem = {
	.code = TLI_E_NOMEM, .err_no = 12, .addr = 0, .msg = "out of memory",
};

static _Atomic uint64_t oom_count;

void tli_oom_note(void)
{
	atomic_fetch_add_explicit(&oom_count, 1, memory_order_relaxed);
}

uint64_t tli_oom_count(void)
{
	return atomic_load_explicit(&oom_count, memory_order_relaxed);
}

static struct tli_error *verror(enum tli_errcode code, int err_no, uint64_t addr,
				const char *fmt, va_list ap)
{
	struct tli_error *e = calloc(1, sizeof(*e));
	if (!e) {
		tli_oom_note(); /* the error becomes "out of memory" */
		return &tli_enomem;
	}
	e->code = code;
	e->err_no = err_no;
	e->addr = addr;
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	if (err_no) {
		size_t n = strlen(e->msg);
		snprintf(e->msg + n, sizeof(e->msg) - n, ": %s", strerror(err_no));
	}
	return e;
}

struct tli_error *tli_error_create(enum tli_errcode code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	struct tli_error *e = verror(code, 0, 0, fmt, ap);
	va_end(ap);
	return e;
}

struct tli_error *tli_error_errno(enum tli_errcode code, int err_no, const char *fmt, ...)
{
	if (err_no == ENOMEM) /* an mmap of a file, a read through a kernel buffer ... */
		code = TLI_E_NOMEM;
	va_list ap;
	va_start(ap, fmt);
	struct tli_error *e = verror(code, err_no, 0, fmt, ap);
	va_end(ap);
	return e;
}

struct tli_error *tli_error_fault(uint64_t addr, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	struct tli_error *e = verror(TLI_E_FAULT, 0, addr, fmt, ap);
	va_end(ap);
	return e;
}

struct tli_error *tli_error_wrap(struct tli_error *err, const char *fmt, ...)
{
	if (!err || err == &tli_enomem)
		return err;
	char prefix[384];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	char old[sizeof(err->msg)];
	memcpy(old, err->msg, sizeof(old));
	size_t plen = strlen(prefix);
	int room = (int)(sizeof(err->msg) > plen + 3 ? sizeof(err->msg) - plen - 3 : 0);
	snprintf(err->msg, sizeof(err->msg), "%s: %.*s", prefix, room, old);
	return err;
}

void tli_error_destroy(struct tli_error *err)
{
	if (err && err->code == TLI_E_NOMEM)
		tli_oom_note(); /* dropped or reported: either way the answer is not whole */
	if (err && err != &tli_enomem)
		free(err);
}

bool tli_error_catch(struct tli_error **err, enum tli_errcode code)
{
	if (!*err || (*err)->code != code)
		return false;
	tli_error_destroy(*err);
	*err = NULL;
	return true;
}

const char *tli_errcode_name(enum tli_errcode code)
{
	switch (code) {
	case TLI_OK: return "ok";
	case TLI_E_INTERNAL: return "internal error";
	case TLI_E_USAGE: return "usage error";
	case TLI_E_NO_TARGET: return "no such target";
	case TLI_E_PERM: return "permission denied";
	case TLI_E_NOT_GO: return "not a supported runtime";
	case TLI_E_BAD_FORMAT: return "malformed input";
	case TLI_E_MISMATCH: return "executable does not match";
	case TLI_E_NO_INFO: return "missing debug information";
	case TLI_E_FAULT: return "unreadable memory";
	case TLI_E_TIMEOUT: return "timeout";
	case TLI_E_UNSUPPORTED: return "unsupported";
	case TLI_E_CORRUPT: return "corrupt target data";
	case TLI_E_NOMEM: return "out of memory";
	case TLI_E_INTERRUPTED: return "interrupted";
	}
	return "unknown error";
}
