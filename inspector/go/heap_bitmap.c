/* SPDX-License-Identifier: MIT */
/*
 * The arena heap bitmap of runtimes without malloc headers (go1.19-1.21): one
 * copy per heap arena (runtime.heapArena.bitmap) of the pointer/scalar state of
 * every word, written by heapBitsSetType when an object is allocated. This is
 * the third of the three precise ways the marker scans a heap object, as the
 * runtime's scanobject does:
 *   - small objects of go1.22+: their span's heap bits (mspan end, scan_hbits);
 *   - objects with a malloc header and large objects of go1.22+: their type's
 *     pointer mask tiled over the object (scan_typed);
 *   - every object of go1.19-1.21: this bitmap (scan_abits); go1.19 has 2 bits
 *     per word (pointer and "more pointers" bits), go1.20/1.21 one bit per word.
 * Only the slices covering the objects of scannable spans are copied, in the
 * vectored read of the spans' memory (noscan spans have no bits). An object
 * whose bits are unreadable or name no pointer at all (every object of a
 * scannable span has one) is scanned word by word and counted.
 *
 * Upstream: go1.19 runtime/mbitmap.go (heapBitsForAddr, heapBitsSetType,
 * initSpan), runtime/mgcmark.go (scanobject); go1.21 runtime/mbitmap.go
 * (heapBitsForAddr, writeHeapBits.flush), runtime/mheap.go (heapArena,
 * mheap.arenas, arenaIndex), runtime/malloc.go (arenaBaseOffset, arenaL2Bits).
 */
#include "go/heap.h"

#include <inttypes.h>
#include <stdlib.h>

#include "core/bytes.h"

/* L1 entries read at most (1 << arenaL1Bits: 1 on linux/amd64, 64 on windows/amd64) */
#define MAX_L1 4096u

static bool get_const(struct tli_layout *l, const char *name, int64_t *ret)
{
	return !tli_error_drop(tli_layout_constant(l, name, ret));
}

void tli_goheap_abits_resolve(struct tli_layout *l, struct tli_goheap_layout *L)
{
	struct tli_member bm, ar, nmp;
	int64_t ab = 0, base = 0, l2 = 0;
	L->abits_enc = TLI_GOHEAP_ABITS_NONE;
	if (!tli_layout_has_member(l, "runtime.heapArena", "bitmap", &bm) ||
	    !tli_layout_has_member(l, "runtime.mheap", "arenas", &ar) ||
	    !get_const(l, "runtime.heapArenaBytes", &ab) || !get_const(l, "runtime.arenaBaseOffsetUintptr", &base) ||
	    !get_const(l, "runtime.arenaL2Bits", &l2))
		return;
	if (ab < (1 << 16) || ab > (1ll << 36) || (ab & (ab - 1)) || l2 < 1 || l2 > 40 || !ar.size || ar.size % 8 ||
	    ar.size / 8 > MAX_L1 || ((uint64_t)base % (uint64_t)ab))
		return;
	/* the encoding from the member's size per arena word: 2 bits (go1.19) or 1 bit with
	 * the noMorePtrs shortcut beside it (go1.20+) */
	uint64_t words = (uint64_t)ab / 8;
	bool more = tli_layout_has_member(l, "runtime.heapArena", "noMorePtrs", &nmp);
	if (bm.size == words / 4 && !more)
		L->abits_enc = TLI_GOHEAP_ABITS_2BIT;
	else if (bm.size == words / 8 && more)
		L->abits_enc = TLI_GOHEAP_ABITS_1BIT;
	else
		return;
	L->arenas_off = ar.offset;
	L->arenas_l1 = ar.size / 8;
	L->arena_l2_bits = (unsigned)l2;
	L->arena_bytes = (uint64_t)ab;
	L->arena_base = (uint64_t)base;
	L->ha_bitmap_off = bm.offset;
	L->ha_bitmap_size = bm.size;
}

/* heap words one bitmap byte describes */
static uint64_t words_per_byte(const struct tli_goheap_layout *L)
{
	return L->abits_enc == TLI_GOHEAP_ABITS_2BIT ? 4 : 8;
}

uint64_t tli_goheap_abits_len(const struct tli_goheap_layout *L, const struct tli_goheap_span *sp)
{
	if (L->abits_enc == TLI_GOHEAP_ABITS_NONE || sp->noscan)
		return 0;
	/* spans start on a page, so on a bitmap byte (2-bit) or uintptr (1-bit) */
	uint64_t wpb = words_per_byte(L), gran = L->abits_enc == TLI_GOHEAP_ABITS_1BIT ? 64 * 8 : wpb * 8;
	if (sp->start % gran)
		return 0;
	uint64_t words = (sp->end - sp->start) / 8, n = (words + wpb - 1) / wpb;
	return L->abits_enc == TLI_GOHEAP_ABITS_1BIT ? (n + 7) & ~7ull : n;
}

/* runtime.arenaIndex */
static uint64_t arena_index(const struct tli_goheap_layout *L, uint64_t a)
{
	return (a - L->arena_base) / L->arena_bytes;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* arena indexes of the scannable spans' bitmaps, sorted, without repeats */
static size_t span_arenas(const struct tli_goheap *h, uint64_t *out, size_t cap)
{
	const struct tli_goheap_layout *L = &h->L;
	size_t n = 0;
	for (size_t i = 0; i < h->nspans; i++) {
		const struct tli_goheap_span *sp = &h->spans[i];
		uint64_t len = tli_goheap_abits_len(L, sp);
		if (!len)
			continue;
		uint64_t last = arena_index(L, sp->start + len * words_per_byte(L) * 8 - 1);
		for (uint64_t ai = arena_index(L, sp->start); ai <= last && n < cap; ai++)
			if (!n || out[n - 1] != ai)
				out[n++] = ai;
	}
	qsort(out, n, 8, cmp_u64);
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (!k || out[k - 1] != out[i])
			out[k++] = out[i];
	return k;
}

static size_t count_pieces(const struct tli_goheap *h)
{
	const struct tli_goheap_layout *L = &h->L;
	size_t n = 0;
	for (size_t i = 0; i < h->nspans; i++) {
		uint64_t len = tli_goheap_abits_len(L, &h->spans[i]);
		if (len)
			n += (size_t)(arena_index(L, h->spans[i].start + len * words_per_byte(L) * 8 - 1) -
				      arena_index(L, h->spans[i].start) + 1);
	}
	return n;
}

struct tli_error *tli_goheap_abits_arenas(struct tli_goheap *h)
{
	const struct tli_goheap_layout *L = &h->L;
	if (L->abits_enc == TLI_GOHEAP_ABITS_NONE)
		return NULL;
	struct tli_target *t = h->s->target;
	size_t cap = count_pieces(h), n1 = (size_t)L->arenas_l1;
	uint64_t *ais = malloc((cap ? cap : 1) * 8), *l2p = malloc((cap ? cap : 1) * 8), l1[MAX_L1];
	struct tli_read *rs = calloc(cap ? cap : 1, sizeof(*rs));
	struct tli_error *err = NULL;
	if (!ais || !l2p || !rs) {
		err = &tli_enomem;
		goto out;
	}
	size_t na = span_arenas(h, ais, cap);
	if (!na)
		goto out;
	if ((err = tli_target_read(t, L->mheap + L->arenas_off, l1, n1 * 8))) {
		err = tli_error_wrap(err, "reading mheap_.arenas");
		goto out;
	}
	size_t nr = 0;
	uint64_t l2n = 1ull << L->arena_l2_bits;
	for (size_t i = 0; i < na; i++) {
		uint64_t hi = ais[i] >> L->arena_l2_bits, lo = ais[i] & (l2n - 1);
		if (hi >= n1 || !l1[hi] || !tli_target_plausible(t, l1[hi] + lo * 8, 8))
			continue;
		rs[nr] = (struct tli_read){ .addr = l1[hi] + lo * 8, .buf = &l2p[nr], .len = 8 };
		ais[nr++] = ais[i];
	}
	if (nr && (err = tli_target_read_many(t, rs, nr)))
		goto out;
	for (size_t i = 0; i < nr; i++)
		if (rs[i].got == 8 && l2p[i] && tli_target_plausible(t, l2p[i] + L->ha_bitmap_off, L->ha_bitmap_size) &&
		    !tli_u64map_put(&h->arenas, ais[i] + 1, l2p[i])) {
			err = &tli_enomem;
			break;
		}
out:
	free(ais);
	free(l2p);
	free(rs);
	return err;
}

size_t tli_goheap_abits_nreads(const struct tli_goheap *h)
{
	return h->L.abits_enc == TLI_GOHEAP_ABITS_NONE ? 0 : count_pieces(h);
}

size_t tli_goheap_abits_plan(struct tli_goheap *h, uint8_t *buf, struct tli_read *rs, size_t *first, size_t *last)
{
	const struct tli_goheap_layout *L = &h->L;
	uint64_t off = 0, wb = words_per_byte(L) * 8; /* heap bytes per bitmap byte */
	size_t n = 0;
	for (size_t i = 0; i < h->nspans; i++) {
		struct tli_goheap_span *sp = &h->spans[i];
		uint64_t len = tli_goheap_abits_len(L, sp);
		first[i] = last[i] = 0;
		sp->abits = NULL;
		sp->abits_len = 0;
		if (!len)
			continue;
		uint8_t *dst = buf + off;
		off += len;
		size_t f = n;
		bool ok = true;
		for (uint64_t lo = sp->start, hi = sp->start + len * wb; lo < hi && ok;) {
			uint64_t ai = arena_index(L, lo), astart = L->arena_base + ai * L->arena_bytes;
			uint64_t pe = hi - astart > L->arena_bytes ? astart + L->arena_bytes : hi;
			uint64_t ha = tli_u64map_get(&h->arenas, ai + 1);
			ok = ha != 0;
			if (!ok)
				break;
			uint64_t ba = ha + L->ha_bitmap_off + (lo - astart) / wb, bl = (pe - lo) / wb;
			uint8_t *d = dst + (lo - sp->start) / wb;
			if (n && rs[n - 1].addr + rs[n - 1].len == ba && (uint8_t *)rs[n - 1].buf + rs[n - 1].len == d) {
				rs[n - 1].len += (size_t)bl;   /* the previous span's slice ends where this one starts */
				f = f == n ? n - 1 : f;
			} else {
				rs[n++] = (struct tli_read){ .addr = ba, .buf = d, .len = (size_t)bl };
			}
			lo = pe;
		}
		if (!ok) {
			h->abits_missing++;
			continue;
		}
		sp->abits = dst;
		sp->abits_len = len;
		first[i] = f;
		last[i] = n;
	}
	return n;
}
