/* SPDX-License-Identifier: MIT */
/* The warnings sink (core/warnings.h). */
#include "warnings.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vec.h"

static void add_owned(struct tli_warnings *w, char *line)
{
	if (!line || w->n >= TLI_WARNINGS_MAX ||
	    !tli_vec_grow_((void **)&w->v, &w->cap, w->n + 1, sizeof(*w->v))) {
		free(line);
		w->dropped++;
		return;
	}
	w->v[w->n++] = line;
}

void tli_warnings_vadd(struct tli_warnings *w, const char *fmt, va_list ap)
{
	if (!w)
		return;
	char line[TLI_WARNING_LINE_MAX + 1];
	vsnprintf(line, sizeof(line), fmt, ap);
	add_owned(w, strdup(line));
}

void tli_warnings_add(struct tli_warnings *w, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	tli_warnings_vadd(w, fmt, ap);
	va_end(ap);
}

bool tli_warnings_has(const struct tli_warnings *w, const char *line)
{
	for (size_t i = 0; w && i < w->n; i++)
		if (!strcmp(w->v[i], line))
			return true;
	return false;
}

void tli_warnings_extend(struct tli_warnings *w, const struct tli_warnings *src)
{
	if (!w || !src)
		return;
	for (size_t i = 0; i < src->n; i++)
		add_owned(w, strdup(src->v[i]));
}

void tli_warnings_free(struct tli_warnings *w)
{
	if (!w)
		return;
	for (size_t i = 0; i < w->n; i++)
		free(w->v[i]);
	free(w->v);
	w->v = NULL;
	w->n = w->cap = w->dropped = 0;
}
