/* SPDX-License-Identifier: MIT */
/* The JSON printer: the result tree as it is. */
#include "render.h"

#include "core/progress.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * The writer: the bytes json_dumpf(doc, JSON_INDENT(2) | JSON_REAL_PRECISION(12))
 * writes (jansson 2.14 dump.c: "{"/"[" then a newline and two spaces a level,
 * ", " between members written as ",\n", ": " after keys, "{}" and "[]" when
 * empty, "%.12g" reals with ".0" added and the exponent's '+' and leading
 * zeros dropped, strings escaped with \" \\ \b \f \n \r \t or \u00XX), into one
 * large buffer. jansson calls its sink once per token, so 100k goroutines
 * (127 MB of JSON) took 0.6-1 s; this takes a fraction of that.
 * tests/unit/test_render_json.c checks it against json_dumps byte for byte.
 */
struct outbuf {
	FILE *f;
	size_t n;
	int failed;
	/* items given one at a time, written as the last member `items->as` of `items_in` */
	struct tli_render_stream *items;
	json_t *items_in;
	size_t items_depth, items_i;
	bool items_bad;
	char b[1 << 16];
};

static void ob_flush(struct outbuf *o)
{
	if (o->n && !o->failed && fwrite(o->b, 1, o->n, o->f) != o->n)
		o->failed = 1;
	o->n = 0;
}

static void ob_put(struct outbuf *o, const char *s, size_t len)
{
	while (len) {
		if (o->n == sizeof(o->b))
			ob_flush(o);
		size_t take = sizeof(o->b) - o->n;
		if (take > len)
			take = len;
		memcpy(o->b + o->n, s, take);
		o->n += take;
		s += take;
		len -= take;
	}
}

static void ob_indent(struct outbuf *o, size_t depth)
{
	static const char spaces[] = "                                                                ";
	ob_put(o, "\n", 1);
	size_t n = depth * 2;
	while (n) {
		size_t k = n < sizeof(spaces) - 1 ? n : sizeof(spaces) - 1;
		ob_put(o, spaces, k);
		n -= k;
	}
}

static void ob_string(struct outbuf *o, const char *s, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	ob_put(o, "\"", 1);
	size_t run = 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		ob_put(o, s + run, i - run);
		run = i + 1;
		char e[6] = { '\\', 0 };
		size_t el = 2;
		switch (c) {
		case '"': e[1] = '"'; break;
		case '\\': e[1] = '\\'; break;
		case '\b': e[1] = 'b'; break;
		case '\f': e[1] = 'f'; break;
		case '\n': e[1] = 'n'; break;
		case '\r': e[1] = 'r'; break;
		case '\t': e[1] = 't'; break;
		default:
			e[1] = 'u', e[2] = '0', e[3] = '0', e[4] = hex[c >> 4], e[5] = hex[c & 15];
			el = 6;
		}
		ob_put(o, e, el);
	}
	ob_put(o, s + run, len - run);
	ob_put(o, "\"", 1);
}

/* jansson's jsonp_dtostr with precision 12 (the C locale: the decimal point is '.'). */
static bool ob_real(struct outbuf *o, double v)
{
	if (isnan(v) || isinf(v))
		return false;
	char b[64];
	int n = snprintf(b, sizeof(b) - 3, "%.12g", v);
	if (n < 0 || (size_t)n >= sizeof(b) - 3)
		return false;
	size_t len = (size_t)n;
	if (!strchr(b, '.') && !strchr(b, 'e')) {
		b[len++] = '.';
		b[len++] = '0';
		b[len] = 0;
	}
	char *start = strchr(b, 'e');
	if (start) {
		start++;
		char *end = start + 1;
		if (*start == '-')
			start++;
		while (*end == '0')
			end++;
		if (end != start) {
			memmove(start, end, len - (size_t)(end - b) + 1);
			len -= (size_t)(end - start);
		}
	}
	ob_put(o, b, len);
	return true;
}

#define OB_MAX_DEPTH 2048 /* jansson's JSON_PARSER_DEFAULT_DEPTH is 2048 too */

static bool ob_value(struct outbuf *o, json_t *v, size_t depth);

static void ob_item(json_t *item, void *arg)
{
	struct outbuf *o = arg;
	if (o->items_bad)
		return;
	if (o->items_i++)
		ob_put(o, ",", 1);
	ob_indent(o, o->items_depth + 2);
	if (!ob_value(o, item, o->items_depth + 2))
		o->items_bad = true;
}

/* ",\n  \"as\": [...]" after the last member of items_in (written at depth) */
static bool ob_items(struct outbuf *o, size_t depth)
{
	ob_put(o, ",", 1);
	ob_indent(o, depth + 1);
	ob_string(o, o->items->as, strlen(o->items->as));
	ob_put(o, ": ", 2);
	if (!o->items->count) {
		ob_put(o, "[]", 2);
		return true;
	}
	ob_put(o, "[", 1);
	o->items_depth = depth;
	o->items->err = o->items->each(o->items, ob_item, o);
	if (o->items->err || o->items_bad)
		return false;
	ob_indent(o, depth + 1);
	ob_put(o, "]", 1);
	return true;
}

static bool ob_value(struct outbuf *o, json_t *v, size_t depth)
{
	char b[32];
	if (depth > OB_MAX_DEPTH)
		return false;
	switch (json_typeof(v)) {
	case JSON_OBJECT: {
		if (!json_object_size(v)) {
			ob_put(o, "{}", 2);
			return true;
		}
		ob_put(o, "{", 1);
		ob_indent(o, depth + 1);
		void *it = json_object_iter(v);
		while (it) {
			ob_string(o, json_object_iter_key(it), json_object_iter_key_len(it));
			ob_put(o, ": ", 2);
			if (!ob_value(o, json_object_iter_value(it), depth + 1))
				return false;
			it = json_object_iter_next(v, it);
			if (it) {
				ob_put(o, ",", 1);
				ob_indent(o, depth + 1);
			}
		}
		if (o->items && v == o->items_in && !ob_items(o, depth))
			return false;
		ob_indent(o, depth);
		ob_put(o, "}", 1);
		return true;
	}
	case JSON_ARRAY: {
		size_t n = json_array_size(v);
		if (!n) {
			ob_put(o, "[]", 2);
			return true;
		}
		ob_put(o, "[", 1);
		ob_indent(o, depth + 1);
		for (size_t i = 0; i < n; i++) {
			if (!ob_value(o, json_array_get(v, i), depth + 1))
				return false;
			if (i + 1 < n) {
				ob_put(o, ",", 1);
				ob_indent(o, depth + 1);
			}
		}
		ob_indent(o, depth);
		ob_put(o, "]", 1);
		return true;
	}
	case JSON_STRING:
		ob_string(o, json_string_value(v), json_string_length(v));
		return true;
	case JSON_INTEGER:
		ob_put(o, b, (size_t)snprintf(b, sizeof(b), "%" JSON_INTEGER_FORMAT, json_integer_value(v)));
		return true;
	case JSON_REAL:
		return ob_real(o, json_real_value(v));
	case JSON_TRUE:
		ob_put(o, "true", 4);
		return true;
	case JSON_FALSE:
		ob_put(o, "false", 5);
		return true;
	case JSON_NULL:
		ob_put(o, "null", 4);
		return true;
	}
	return false;
}

struct tli_error *tli_render_json(FILE *f, json_t *doc)
{
	return tli_render_json_items(f, doc, NULL);
}

struct tli_error *tli_render_json_items(FILE *f, json_t *doc, struct tli_render_stream *items)
{
	if (!doc)
		return tli_error_create(TLI_E_INTERNAL, "no result to print");
	/* Insertion order is kept (jansson >= 2.8 always preserves it). Reals use
	 * %.12g, so 12.3 prints as 12.3, and jansson keeps a ".0" on integral
	 * reals so they stay reals. No JSON_ENSURE_ASCII: strings are UTF-8. */
	struct outbuf *o = malloc(sizeof(*o));
	if (!o)
		return &tli_enomem;
	o->f = f;
	o->n = 0;
	o->failed = 0;
	o->items = items;
	o->items_in = items ? json_object_get(doc, items->in) : NULL;
	o->items_depth = o->items_i = 0;
	o->items_bad = false;
	if (items && (!json_object_size(o->items_in) || json_object_get(o->items_in, items->as))) {
		free(o);
		return tli_error_create(TLI_E_INTERNAL, "no place for the listing's items in the result");
	}
	tli_progress_begin("writing JSON", 0);
	int rc = ob_value(o, doc, 0) ? 0 : -1;
	ob_flush(o);
	tli_progress_end();
	if (o->failed)
		rc = -1;
	bool items_failed = items && (items->err || o->items_bad);
	free(o);
	if (items_failed) /* the CLI reports items->err; a value JSON cannot hold is ours */
		return items->err ? NULL : tli_error_create(TLI_E_INTERNAL, "a goroutine could not be written as JSON");
	if (rc == 0)
		rc = fputc('\n', f) == EOF ? -1 : 0;
	if (rc == 0)
		rc = fflush(f);
	if (rc != 0 || ferror(f))
		return tli_error_errno(errno == EPIPE ? TLI_E_INTERRUPTED : TLI_E_INTERNAL,
				       errno ? errno : EIO, "writing JSON output");
	return NULL;
}
