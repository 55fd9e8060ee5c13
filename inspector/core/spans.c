/* SPDX-License-Identifier: MIT */
/* Address spans for the capture (core/target.c): built from requested ranges, sorted, merged. */
#include "spans.h"

#include <stdlib.h>

bool tli_spans_push(struct tli_spans *s, uint64_t a, uint64_t b)
{
	if (a >= b)
		return true;
	if (s->n && s->v[s->n - 1].b == a) { /* coalesce touching */
		s->v[s->n - 1].b = b;
		return true;
	}
	return tli_vec_push(s, ((struct tli_span){ a, b }));
}

int tli_span_cmp(const void *x, const void *y)
{
	const struct tli_span *p = x, *q = y;
	if (p->a != q->a)
		return p->a < q->a ? -1 : 1;
	if (p->b != q->b)
		return p->b < q->b ? -1 : 1;
	return 0;
}

/* The non-empty ranges as spans [addr, end) (end saturated at UINT64_MAX), sorted. */
bool tli_spans_from_ranges(const struct tli_range *ranges, size_t n, struct tli_spans *req)
{
	req->v = malloc((n ? n : 1) * sizeof(*req->v));
	if (!req->v)
		return false;
	req->cap = n ? n : 1;
	req->n = 0;
	bool sorted = true;
	for (size_t i = 0; i < n; i++) {
		if (!ranges[i].len)
			continue;
		uint64_t a = ranges[i].addr;
		uint64_t b = a + ranges[i].len < a ? UINT64_MAX : a + ranges[i].len;
		req->v[req->n++] = (struct tli_span){ a, b };
		sorted = sorted && (req->n == 1 || tli_span_cmp(&req->v[req->n - 2], &req->v[req->n - 1]) <= 0);
	}
	if (!sorted) /* callers often ask in address order already */
		qsort(req->v, req->n, sizeof(*req->v), tli_span_cmp);
	return true;
}


/* Sort and merge spans whose distance is < gap (gap 0: merge overlapping/touching). */
bool tli_spans_merge(const struct tli_spans *in, uint64_t gap, struct tli_spans *out)
{
	for (size_t i = 0; i < in->n; i++) {
		struct tli_span s = in->v[i];
		if (out->n) {
			struct tli_span *last = &out->v[out->n - 1];
			if (s.a <= last->b || s.a - last->b < gap) {
				if (s.b > last->b)
					last->b = s.b;
				continue;
			}
		}
		if (!tli_vec_push(out, s))
			return false;
	}
	return true;
}
