/* SPDX-License-Identifier: MIT */
/*
 * Teaching mode: a runtime structure drawn field by field (see explain.h).
 * This file dispatches on the kind and holds the pieces every drawing is made
 * of; explain_internal.h names the file of each kind.
 */
#include "explain.h"
#include "explain_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/jsonstr.h"

/* ---- the pieces of a drawing ---- */

json_t *tli_ex_hex(uint64_t v)
{
	char b[32];
	snprintf(b, sizeof(b), "0x%" PRIx64, v);
	return json_string(b);
}

json_t *tli_ex_dec(uint64_t v)
{
	char b[32];
	snprintf(b, sizeof(b), "%" PRIu64, v);
	return json_string(b);
}

void tli_ex_field_insert(json_t *fields, json_t *f)
{
	uint64_t off = (uint64_t)json_integer_value(json_object_get(f, "offset"));
	size_t at = json_array_size(fields);
	for (size_t k = 0; k < json_array_size(fields); k++)
		if ((uint64_t)json_integer_value(json_object_get(json_array_get(fields, k), "offset")) > off) {
			at = k;
			break;
		}
	json_array_insert_new(fields, at, f);
}

void tli_ex_field_add(struct tli_layout *l, const char *type, const char *path, json_t *value, const char *decoded,
		      const char *meaning, json_t *fields)
{
	struct tli_member m;
	if (!tli_layout_has_member(l, type, path, &m)) {
		json_decref(value);
		return;
	}
	json_t *f = json_object();
	json_object_set_new(f, "name", json_string(path));
	json_object_set_new(f, "offset", json_integer((json_int_t)m.offset));
	json_object_set_new(f, "size", json_integer((json_int_t)m.size));
	json_object_set_new(f, "value", value ? value : json_null());
	json_object_set_new(f, "decoded", decoded && *decoded ? tli_json_string_lossy(decoded) : json_null());
	json_object_set_new(f, "meaning", json_string(meaning));
	tli_ex_field_insert(fields, f);
}

void tli_ex_header(struct tli_layout *l, json_t *ex, const char *type, uint64_t addr, uint64_t size)
{
	json_object_set_new(ex, "type", json_string(type));
	json_object_set_new(ex, "address", tli_ex_hex(addr));
	json_object_set_new(ex, "size", json_integer((json_int_t)size));
	const char *src = tli_layout_last_source_label(l);
	json_object_set_new(ex, "layout_source", src ? json_string(src) : json_null());
}

json_t *tli_ex_section(json_t *ex, const char *title)
{
	json_t *secs = json_object_get(ex, "sections");
	if (!secs) {
		secs = json_array();
		json_object_set_new(ex, "sections", secs);
	}
	json_t *sec = json_object();
	json_object_set_new(sec, "title", json_string(title));
	json_t *lines = json_array();
	json_object_set_new(sec, "lines", lines);
	json_array_append_new(secs, sec);
	return lines;
}

void tli_ex_linef(json_t *lines, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	json_array_append_new(lines, tli_json_string_lossy(buf));
}

void tli_ex_note(json_t *ex, const char *text)
{
	json_t *n = json_object_get(ex, "notes");
	if (!n) {
		n = json_array();
		json_object_set_new(ex, "notes", n);
	}
	json_array_append_new(n, json_string(text));
}

struct tli_error *tli_ex_parse_addr(const char *what, const char *s, uint64_t *ret)
{
	char *e;
	errno = 0;
	unsigned long long v = s ? strtoull(s, &e, 0) : 0;
	if (!s || !*s || *e || errno || v == 0)
		return tli_error_create(TLI_E_USAGE, "explain %s: invalid address '%s' (hex 0x... or decimal)", what,
					s ? s : "");
	*ret = v;
	return NULL;
}

/* ---- the kinds ---- */

struct tli_error *tli_explain(struct tli_session *s, const char *what, const char *arg, json_t *result)
{
	json_t *ex = json_object();
	json_object_set_new(result, "explain", ex);
	json_object_set_new(ex, "kind", json_string(what));
	if (!strcmp(what, "g")) {
		if (!arg)
			return tli_error_create(TLI_E_USAGE, "explain g needs a goroutine id: explain g ID");
		return tli_explain_g(s, arg, ex);
	}
	if (!strcmp(what, "chan")) {
		if (!arg)
			return tli_error_create(TLI_E_USAGE, "explain chan needs a channel address: explain chan ADDR");
		return tli_explain_chan(s, arg, ex);
	}
	if (!strcmp(what, "chunk")) {
		if (!arg)
			return tli_error_create(TLI_E_USAGE, "explain chunk needs an address: explain chunk ADDR");
		return tli_explain_chunk(s, arg, ex);
	}
	if (!strcmp(what, "arena"))
		return tli_explain_arena(s, arg, ex);
	return tli_error_create(TLI_E_USAGE, "explain: unknown kind '%s' (g, chan, chunk, arena)", what);
}
