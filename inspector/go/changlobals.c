/* SPDX-License-Identifier: MIT */
/**
 * @file changlobals.c
 * Channels held by globals: every pointer word of the executable's data and bss
 * sections whose target is a plausible runtime.hchan.
 *
 * There is no list of channels in the runtime, and a stripped binary has no
 * DWARF types for its globals, so we recognise channels by what makechan
 * guarantees (go-runtime.md §1.1; runtime/chan.go, the same in 1.19 … 1.27):
 *   - elemtype points at a type descriptor inside the module's types section,
 *     and that descriptor's size equals hchan.elemsize;
 *   - qcount <= dataqsiz, sendx/recvx inside the ring (all 0 when unbuffered),
 *     closed is 0 or 1, each waitq has both ends set or both nil;
 *   - buf is &hchan.buf when the ring takes no memory (unbuffered or zero-size
 *     elements), hchan+hchanSize when the elements hold no pointers (one
 *     allocation), else a separate pointer.
 * Names come from the ELF symbol table when there is one ("main.jobs",
 * "main.pool+0x8"); a stripped binary gives addresses only.
 *
 * Must run while the target is stopped (it reads data/bss and the candidate
 * headers in two vectored reads). Hostile memory: every candidate is bounded
 * by the section sizes (at most TLI_CHAN_GLOBALS_MAX results), every read is
 * checked, nothing is followed further than one pointer.
 */
#include "changlobals.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/bytes.h"
#include "core/session.h"
#include "dwarf/elfsym.h"
#include "go/gobin.h"

#define SECTION_MAX (64u << 20)  /* data or bss larger than this is not scanned */

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

bool tli_go_hchan_plausible(const struct tli_go_chan_layout *L, uint32_t wq_last, uint64_t addr,
			    const uint8_t *raw, const struct tli_go_type_probe *tp, char *why, size_t whylen)
{
#define NO(...) do { if (why) snprintf(why, whylen, __VA_ARGS__); return false; } while (0)
	uint64_t qcount = tli_rd64(raw + L->h_qcount), dataqsiz = tli_rd64(raw + L->h_dataqsiz);
	uint64_t buf = tli_rd64(raw + L->h_buf), elemtype = tli_rd64(raw + L->h_elemtype);
	uint64_t elemsize = tli_rdn(raw + L->h_elemsize, L->h_elemsize_size);
	uint64_t closed = tli_rdn(raw + L->h_closed, L->h_closed_size);
	uint64_t sendx = tli_rd64(raw + L->h_sendx), recvx = tli_rd64(raw + L->h_recvx);
	if (qcount > dataqsiz || dataqsiz > (1ull << 40))
		NO("qcount %" PRIu64 " / dataqsiz %" PRIu64, qcount, dataqsiz);
	if (dataqsiz ? (sendx >= dataqsiz || recvx >= dataqsiz) : (sendx || recvx))
		NO("sendx/recvx outside the ring");
	if (closed > 1)
		NO("closed = %" PRIu64, closed);
	for (int q = 0; q < 2; q++) {
		uint32_t o = q ? L->h_sendq : L->h_recvq;
		uint64_t first = tli_rd64(raw + o + L->wq_first), last = tli_rd64(raw + o + wq_last);
		if ((first == 0) != (last == 0) || (first & 7) || (last & 7))
			NO("waitq ends disagree");
	}
	if (!elemtype || (elemtype & 7) || elemtype < tp->types_lo || elemtype >= tp->types_hi)
		NO("elemtype 0x%" PRIx64 " outside the types section", elemtype);
	uint64_t tsize = 0, ptrbytes = 0;
	int kind = -1;
	if (!tp->type_info || !tp->type_info(tp->ctx, elemtype, &tsize, &ptrbytes, &kind))
		NO("elemtype 0x%" PRIx64 " unreadable", elemtype);
	if (tsize != elemsize || kind <= 0 || kind > 26)
		NO("elemtype size %" PRIu64 " kind %d vs elemsize %" PRIu64, tsize, kind, elemsize);
	uint64_t hsize = (L->hchan_size + 7u) & ~7ull;
	if (elemsize == 0 || dataqsiz == 0) {
		if (buf != addr + L->h_buf)
			NO("buf 0x%" PRIx64 " is not &hchan.buf for an empty ring", buf);
	} else if (tp->have_ptrbytes && ptrbytes == 0) {
		if (buf != addr + hsize)
			NO("buf 0x%" PRIx64 " does not follow the header", buf);
	} else if (!buf || (buf & 7) || buf == addr + L->h_buf) {
		NO("buf 0x%" PRIx64 " for a ring of pointers", buf);
	}
	return true;
#undef NO
}

struct tctx {
	const struct tli_gobin *gb;
	const struct tli_go_chan_layout *L;
	uint64_t bias;
};

static bool type_info_file(void *ctx, uint64_t addr, uint64_t *size, uint64_t *ptrbytes, int *kind)
{
	struct tctx *c = ctx;
	uint8_t tb[128];
	if (c->L->type_size > sizeof(tb) || !c->L->has_type)
		return false;
	struct tli_error *e = tli_gobin_read(c->gb, addr - c->bias, tb, c->L->type_size);
	if (e) {
		tli_error_destroy(e);
		return false;
	}
	*size = tli_rd64(tb + c->L->t_size);
	*ptrbytes = c->L->has_gcdata ? tli_rd64(tb + c->L->t_ptrbytes) : 0;
	*kind = tb[c->L->t_kind] & 0x1f;
	return true;
}

static int cmp_global(const void *a, const void *b)
{
	const struct tli_go_chan_global *x = a, *y = b;
	if (x->chan != y->chan)
		return x->chan < y->chan ? -1 : 1;
	return x->slot < y->slot ? -1 : x->slot > y->slot;
}

struct tli_error *tli_go_chan_globals_find(struct tli_session *s, struct tli_layout *l, uint64_t bias,
					   struct tli_go_chan_globals *ret)
{
	memset(ret, 0, sizeof(*ret));
	struct tli_gobin *gb = NULL;
	struct tli_error *err = tli_session_gobin(s, &gb);
	if (err)
		return tli_error_wrap(err, "channels held by globals");
	const struct tli_gomoduledata *md = tli_gobin_moduledata(gb);
	if (!md)
		return tli_error_create(TLI_E_NO_INFO, "channels held by globals: no moduledata (data/bss unknown)");
	struct tli_go_chan_layout L;
	if ((err = tli_go_chan_layout_resolve(l, &L)))
		return err;
	struct tli_member wl;
	if ((err = tli_layout_member(l, "runtime.waitq", "last", &wl)))
		return tli_error_wrap(err, "channels held by globals");
	if (!L.has_type)
		return tli_error_create(TLI_E_NO_INFO, "channels held by globals: no type descriptor layout");
	if (wl.offset > 4096 || L.h_sendq + wl.offset + 8 > L.hchan_size || L.h_recvq + wl.offset + 8 > L.hchan_size)
		return tli_error_create(TLI_E_CORRUPT, "channels held by globals: runtime.waitq.last at offset %llu "
					"lies outside runtime.hchan", (unsigned long long)wl.offset);

	/* 1. data and bss, one vectored read */
	uint64_t r[2][2] = { { md->data + bias, md->edata + bias }, { md->bss + bias, md->ebss + bias } };
	uint8_t *mem[2] = { NULL, NULL };
	struct tli_read rs[2];
	size_t nr = 0;
	for (int i = 0; i < 2; i++) {
		uint64_t lo = r[i][0], hi = r[i][1];
		if (hi <= lo || hi - lo > SECTION_MAX || !tli_target_plausible(s->target, lo, hi - lo))
			continue;
		if (!(mem[i] = malloc(hi - lo))) {
			err = &tli_enomem;
			goto out;
		}
		rs[nr++] = (struct tli_read){ .addr = lo, .buf = mem[i], .len = hi - lo };
	}
	if (nr && (err = tli_target_read_many(s->target, rs, nr)))
		goto out;

	/* 2. candidate words: 8-aligned pointers into writable memory outside the image */
	size_t ncand = 0, capc = 256;
	uint64_t *cand = malloc(capc * sizeof(*cand));
	if (!cand) {
		err = &tli_enomem;
		goto out;
	}
	const struct tli_mapping *lastm = NULL;
	for (size_t k = 0; k < nr; k++) {
		const uint8_t *p = rs[k].buf;
		for (size_t o = 0; o + 8 <= rs[k].got; o += 8) {
			uint64_t v = tli_rd64(p + o);
			if (!v || (v & 7) || (v >= md->data + bias && v < md->enoptrbss + bias))
				continue;
			if (!lastm || v < lastm->start || v >= lastm->end)
				lastm = tli_target_find_mapping(s->target, v);
			if (!lastm || !(lastm->prot & TLI_PROT_W) || v + L.hchan_size > lastm->end)
				continue;
			if (ncand == capc) {
				uint64_t *nc = realloc(cand, 2 * capc * sizeof(*cand));
				if (!nc) {
					free(cand);
					err = &tli_enomem;
					goto out;
				}
				cand = nc;
				capc *= 2;
			}
			cand[ncand++] = v;
		}
	}
	qsort(cand, ncand, sizeof(*cand), cmp_u64);
	size_t nu = 0;
	for (size_t i = 0; i < ncand; i++)
		if (!nu || cand[nu - 1] != cand[i])
			cand[nu++] = cand[i];

	/* 3. every distinct candidate's header, one vectored read, then validate */
	uint8_t *hdr = nu ? malloc(nu * (size_t)L.hchan_size) : NULL;
	struct tli_read *hr = nu ? calloc(nu, sizeof(*hr)) : NULL;
	uint8_t *okv = nu ? calloc(nu, 1) : NULL;
	if (nu && (!hdr || !hr || !okv)) {
		err = &tli_enomem;
		goto out2;
	}
	for (size_t i = 0; i < nu; i++)
		hr[i] = (struct tli_read){ .addr = cand[i], .buf = hdr + i * L.hchan_size, .len = L.hchan_size };
	if (nu && (err = tli_target_read_many(s->target, hr, nu)))
		goto out2;
	struct tctx tc = { .gb = gb, .L = &L, .bias = bias };
	struct tli_go_type_probe tp = {
		.types_lo = md->types + bias, .types_hi = md->etypes + bias,
		.type_info = type_info_file, .ctx = &tc, .have_ptrbytes = L.has_gcdata,
	};
	size_t nchan = 0;
	for (size_t i = 0; i < nu; i++)
		if (hr[i].got == L.hchan_size &&
		    tli_go_hchan_plausible(&L, (uint32_t)wl.offset, cand[i], hdr + i * L.hchan_size, &tp, NULL, 0))
			okv[i] = 1, nchan++;

	/* 4. the slots holding them, named from the symbol table when there is one */
	struct tli_elfsym *sym = NULL;
	if (nchan && s->target->exe_path) {
		struct tli_error *se = tli_elfsym_open(s->target->exe_path, &sym);
		tli_error_destroy(se);
		if (sym && strcmp(tli_elfsym_table(sym), ".symtab") != 0) {
			tli_elfsym_close(sym);
			sym = NULL;
		}
	}
	for (size_t k = 0; k < nr && nchan; k++) {
		const uint8_t *p = rs[k].buf;
		for (size_t o = 0; o + 8 <= rs[k].got; o += 8) {
			uint64_t v = tli_rd64(p + o);
			uint64_t *hit = nu ? bsearch(&v, cand, nu, sizeof(*cand), cmp_u64) : NULL;
			if (!hit || !okv[hit - cand])
				continue;
			if (ret->n >= TLI_CHAN_GLOBALS_MAX) {
				ret->truncated = true;
				break;
			}
			if (ret->n % 64 == 0) {
				struct tli_go_chan_global *ng = realloc(ret->v, (ret->n + 64) * sizeof(*ng));
				if (!ng) {
					err = &tli_enomem;
					goto out3;
				}
				ret->v = ng;
			}
			struct tli_go_chan_global *g = &ret->v[ret->n++];
			memset(g, 0, sizeof(*g));
			g->chan = v;
			g->slot = rs[k].addr + o;
			struct tli_sym sy;
			uint64_t off = 0;
			struct tli_error *le = sym ? tli_elfsym_lookup_addr(sym, g->slot - bias, &sy, &off)
						   : &tli_enomem;
			if (!le && sy.name) {
				if (off)
					snprintf(g->name, sizeof(g->name), "%s+0x%" PRIx64, sy.name, off);
				else
					snprintf(g->name, sizeof(g->name), "%s", sy.name);
			}
			if (sym)
				tli_error_destroy(le);
		}
	}
	qsort(ret->v, ret->n, sizeof(*ret->v), cmp_global);
out3:
	if (sym)
		tli_elfsym_close(sym);
out2:
	free(hdr);
	free(hr);
	free(okv);
	free(cand);
out:
	free(mem[0]);
	free(mem[1]);
	if (err)
		tli_go_chan_globals_free(ret);
	return err;
}

void tli_go_chan_globals_free(struct tli_go_chan_globals *g)
{
	if (!g)
		return;
	free(g->v);
	g->v = NULL;
	g->n = 0;
}

size_t tli_go_chan_globals_of(const struct tli_go_chan_globals *g, uint64_t chan, size_t *first)
{
	size_t lo = 0, hi = g->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (g->v[mid].chan < chan)
			lo = mid + 1;
		else
			hi = mid;
	}
	*first = lo;
	size_t n = 0;
	while (lo + n < g->n && g->v[lo + n].chan == chan)
		n++;
	return n;
}
