/* SPDX-License-Identifier: MIT */
/**
 * @file warnings.h
 * The one warnings sink: an ordered, bounded list of lines. Backends, walkers
 * and the session add to one; the session puts them in result["warnings"].
 * Zero-initialize; free with tli_warnings_free.
 */
#ifndef TLI_CORE_WARNINGS_H
#define TLI_CORE_WARNINGS_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

/** At most this many lines are kept (a hostile core must not make the list grow forever). */
#define TLI_WARNINGS_MAX 4096
/** A line is cut after this many bytes. */
#define TLI_WARNING_LINE_MAX 1023

struct tli_warnings {
	char **v;
	size_t n, cap;
	size_t dropped;   /**< lines not kept (bound reached or out of memory) */
};

void tli_warnings_add(struct tli_warnings *w, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void tli_warnings_vadd(struct tli_warnings *w, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));
/** True if w holds exactly this line. */
bool tli_warnings_has(const struct tli_warnings *w, const char *line);
/** Append every line of src to w (src unchanged). */
void tli_warnings_extend(struct tli_warnings *w, const struct tli_warnings *src);
void tli_warnings_free(struct tli_warnings *w);

#endif
