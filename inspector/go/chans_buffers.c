/* SPDX-License-Identifier: MIT */
/*
 * Channel ring buffers: hchan.buf holds dataqsiz slots of elemsize bytes, the
 * live ones recvx, recvx+1, ... (mod dataqsiz), qcount of them
 * (runtime/chan.go chanbuf, chansend, chanrecv, go1.19 … go1.27). Captured in
 * one vectored read (bounded per channel), then, with --values, the bytes of
 * string elements in a second one. Elements are decoded by their reflect.Kind.
 */
#include "chans_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/bytes.h"
#include "core/jsonstr.h"

#define MAX_BUF_CAPTURE  (1u << 20)  /* ring bytes captured per channel */
#define MAX_STR_BYTES    64          /* bytes of a string element shown with --values */

/* Every decodable channel's ring, in one vectored read. */
static struct tli_error *capture_rings(struct tli_go_snapctx *x)
{
	struct tli_go_chans *c = x->c;
	struct tli_read *rs = calloc(c->nchans + 1, sizeof(*rs));
	size_t *which = calloc(c->nchans + 1, sizeof(size_t));
	struct tli_error *err = NULL;
	size_t nr = 0;
	if (!rs || !which) {
		err = &tli_enomem;
		goto out;
	}
	for (size_t i = 0; i < c->nchans; i++) {
		struct tli_go_chan *ch = &c->chans[i];
		if (!ch->header_ok || ch->problem[0] || !ch->dataqsiz || !ch->elemsize)
			continue;
		uint64_t len = ch->dataqsiz * ch->elemsize;
		if (len / ch->elemsize != ch->dataqsiz || len > MAX_BUF_CAPTURE)
			len = MAX_BUF_CAPTURE - MAX_BUF_CAPTURE % ch->elemsize;
		if (!len)
			continue;
		if (!ch->buf || !tli_target_plausible(x->t, ch->buf, len)) {
			snprintf(ch->problem, sizeof(ch->problem), "ring buffer 0x%" PRIx64 " (%" PRIu64
				 " bytes) is not in mapped memory", ch->buf, len);
			continue;
		}
		ch->bufbytes = malloc(len);
		if (!ch->bufbytes) {
			err = &tli_enomem;
			goto out;
		}
		ch->buflen = len;
		rs[nr] = (struct tli_read){ .addr = ch->buf, .buf = ch->bufbytes, .len = len };
		which[nr++] = i;
	}
	if (nr && (err = tli_target_read_many(x->t, rs, nr)))
		goto out;
	for (size_t k = 0; k < nr; k++) {
		struct tli_go_chan *ch = &c->chans[which[k]];
		if (rs[k].got < rs[k].len) {
			snprintf(ch->problem, sizeof(ch->problem), "ring buffer 0x%" PRIx64 " is unreadable", ch->buf);
			free(ch->bufbytes);
			ch->bufbytes = NULL;
			ch->buflen = 0;
		}
	}
out:
	free(rs);
	free(which);
	return err;
}

/* The string elements to read: reads[i] (its bytes, allocated) for ring slot refs[i] of a channel. */
struct strreads {
	struct tli_read *rs;
	struct sref {
		size_t ci, slot;
	} *refs;
	size_t n, cap;
};

static struct tli_error *strreads_add(struct strreads *sr, uint64_t p, uint64_t len, size_t ci, uint64_t slot)
{
	if (sr->n == sr->cap) {
		sr->cap = sr->cap ? sr->cap * 2 : 64;
		void *a = realloc(sr->rs, sr->cap * sizeof(*sr->rs));
		void *b = realloc(sr->refs, sr->cap * sizeof(*sr->refs));
		if (a)
			sr->rs = a;
		if (b)
			sr->refs = b;
		if (!a || !b)
			return &tli_enomem;
	}
	sr->rs[sr->n] = (struct tli_read){ .addr = p, .buf = calloc(1, len + 1), .len = len };
	if (!sr->rs[sr->n].buf)
		return &tli_enomem;
	sr->refs[sr->n++] = (struct sref){ ci, slot };
	return NULL;
}

/* The live string elements of every captured ring (the first max_elems of each). */
static struct tli_error *plan_strings(struct tli_go_snapctx *x, size_t maxe, struct strreads *sr)
{
	struct tli_go_chans *c = x->c;
	for (size_t i = 0; i < c->nchans; i++) {
		struct tli_go_chan *ch = &c->chans[i];
		if (!ch->bufbytes || ch->kind != K_STRING || ch->elemsize != 16)
			continue;
		for (uint64_t k = 0; k < ch->qcount && k < maxe; k++) {
			uint64_t slot = (ch->recvx + k) % ch->dataqsiz;
			if ((slot + 1) * 16 > ch->buflen)
				break;
			uint64_t p = tli_rd64(ch->bufbytes + slot * 16), len = tli_rd64(ch->bufbytes + slot * 16 + 8);
			if (len > MAX_STR_BYTES)
				len = MAX_STR_BYTES;
			if (!len || !tli_target_plausible(x->t, p, len))
				continue;
			struct tli_error *err = strreads_add(sr, p, len, i, slot);
			if (err)
				return err;
		}
	}
	return NULL;
}

/* With --values: the bytes of string elements, into ch->strings (index = ring slot). */
static struct tli_error *capture_strings(struct tli_go_snapctx *x, const struct tli_go_chans_opts *o)
{
	struct tli_go_chans *c = x->c;
	size_t maxe = o->max_elems ? o->max_elems : 64;
	struct strreads sr = { 0 };
	struct tli_error *err = plan_strings(x, maxe, &sr);
	if (!err && sr.n)
		err = tli_target_read_many(x->t, sr.rs, sr.n);
	for (size_t k = 0; !err && k < sr.n; k++) {
		struct tli_go_chan *ch = &c->chans[sr.refs[k].ci];
		if (!ch->strings) {
			ch->strings = json_array();
			for (uint64_t s = 0; s < ch->dataqsiz && s < maxe * 4 && s < 4096; s++)
				json_array_append_new(ch->strings, json_null());
		}
		if (sr.rs[k].got == sr.rs[k].len && sr.refs[k].slot < json_array_size(ch->strings))
			json_array_set_new(ch->strings, sr.refs[k].slot, tli_json_string_lossy(sr.rs[k].buf));
	}
	for (size_t k = 0; k < sr.n; k++)
		free(sr.rs[k].buf);
	free(sr.rs);
	free(sr.refs);
	return err;
}

struct tli_error *tli_go_capture_buffers(struct tli_go_snapctx *x, const struct tli_go_chans_opts *o)
{
	struct tli_error *err = capture_rings(x);
	if (!err && o->values)
		err = capture_strings(x, o);
	return err;
}

/* ---- the elements ---- */

json_t *tli_go_chan_elem_value(const struct tli_go_chans *c, const struct tli_go_chan *ch, uint64_t slot,
			       bool *ok)
{
	*ok = false;
	if (!ch->bufbytes || (slot + 1) * ch->elemsize > ch->buflen)
		return json_null();
	const uint8_t *p = ch->bufbytes + slot * ch->elemsize;
	*ok = true;
	uint64_t u = ch->elemsize <= 8 ? tli_rdn(p, (uint32_t)ch->elemsize) : 0;
	switch (ch->kind) {
	case K_BOOL:
		return json_boolean(p[0] != 0);
	case K_INT: case K_INT8: case K_INT16: case K_INT32: case K_INT64: {
		int64_t v;
		switch (ch->elemsize) {
		case 1: v = (int8_t)u; break;
		case 2: v = (int16_t)u; break;
		case 4: v = (int32_t)u; break;
		default: v = (int64_t)u; break;
		}
		return json_integer(v);
	}
	case K_UINT: case K_UINT8: case K_UINT16: case K_UINT32: case K_UINT64: case K_UINTPTR:
		if (u > INT64_MAX) {
			char b[32];
			snprintf(b, sizeof(b), "%" PRIu64, u);
			return json_string(b);
		}
		return json_integer((json_int_t)u);
	case K_FLOAT32: {
		float f;
		memcpy(&f, p, 4);
		return json_real(f);
	}
	case K_FLOAT64: {
		double d;
		memcpy(&d, p, 8);
		return json_real(d);
	}
	case K_CHAN: case K_FUNC: case K_MAP: case K_POINTER: case K_UNSAFEPOINTER:
		return tli_go_hex(u);
	case K_STRING: {
		uint64_t len = tli_rd64(p + 8);
		if (c->values && ch->strings) {
			json_t *s = json_array_get(ch->strings, slot);
			if (s && json_is_string(s))
				return json_incref(s);
		}
		char b[64];
		snprintf(b, sizeof(b), "<string, %" PRIu64 " bytes%s>", len, c->values ? "" : ", redacted");
		return json_string(b);
	}
	default: {
		char b[64];
		if (ch->elemsize == 0)
			return json_string("{}");
		snprintf(b, sizeof(b), "<%" PRIu64 " bytes>", ch->elemsize);
		return json_string(b);
	}
	}
}

static void short_value(json_t *v, char *out, size_t cap)
{
	if (json_is_integer(v))
		snprintf(out, cap, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
	else if (json_is_real(v))
		snprintf(out, cap, "%g", json_real_value(v));
	else if (json_is_true(v))
		snprintf(out, cap, "true");
	else if (json_is_false(v))
		snprintf(out, cap, "false");
	else if (json_is_string(v)) {
		const char *s = json_string_value(v);
		if (s[0] == '<')
			snprintf(out, cap, "%s", s[1] == 's' ? "\"…\"" : "?");
		else if (s[0] == '0' && s[1] == 'x')
			snprintf(out, cap, "%s", s);
		else
			snprintf(out, cap, "%.12s", s);
	} else
		snprintf(out, cap, "?");
}

void tli_go_chan_ring(const struct tli_go_chan *ch, const struct tli_go_chans *c, char *buf, size_t cap)
{
	size_t used = 0;
	buf[0] = 0;
	if (!ch->header_ok || ch->problem[0] || !ch->dataqsiz) {
		snprintf(buf, cap, "%s", ch->dataqsiz ? "" : "unbuffered");
		return;
	}
	used += (size_t)snprintf(buf + used, cap - used, "[");
	uint64_t shown = ch->dataqsiz > 16 ? 16 : ch->dataqsiz;
	for (uint64_t s = 0; s < shown && used < cap; s++) {
		bool live = (s + ch->dataqsiz - ch->recvx) % ch->dataqsiz < ch->qcount;
		char v[48] = "_";
		if (live) {
			bool ok;
			json_t *jv = tli_go_chan_elem_value(c, ch, s, &ok);
			if (ok)
				short_value(jv, v, sizeof(v));
			else
				snprintf(v, sizeof(v), "?");
			json_decref(jv);
		}
		used += (size_t)snprintf(buf + used, cap - used, " %s %s", v, s + 1 < shown ? "|" : "");
	}
	if (used < cap && shown < ch->dataqsiz)
		used += (size_t)snprintf(buf + used, cap - used, "... %" PRIu64 " more ", ch->dataqsiz - shown);
	if (used < cap)
		snprintf(buf + used, cap - used, "]  recvx=%" PRIu64 " sendx=%" PRIu64, ch->recvx, ch->sendx);
}
