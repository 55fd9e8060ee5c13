/* SPDX-License-Identifier: MIT */
/**
 * @file changlobals.c
 * Channels held by globals: every pointer word of the executable's data and bss
 * sections whose target is a plausible runtime.hchan.
 *
 * There is no list of channels in the runtime, and a stripped binary has no
 * DWARF types for its globals, so we recognise channels by what makechan
 * guarantees (runtime/chan.go makechan and the hchan invariants of chansend,
 * chanrecv and closechan, the same in go1.19 … go1.27):
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
#include "core/search.h"
#include "core/session.h"
#include "core/vec.h"
#include "dwarf/elfsym.h"
#include "go/gobin.h"
#include "go/types.h"

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

/* A candidate's element type, read from the executable file only (the descriptors of a
 * channel type made at compile time live there; memory of a half-made value is not trusted). */
static bool type_info_file(void *ctx, uint64_t addr, uint64_t *size, uint64_t *ptrbytes, int *kind)
{
	struct tctx *c = ctx;
	uint8_t tb[TLI_GO_TYPE_MAX_DESC];
	struct tli_go_type ty;
	if (!tli_go_type_layout_ok(&c->L->type) ||
	    tli_error_drop(tli_gobin_read(c->gb, addr - c->bias, tb, c->L->type.type_size)))
		return false;
	tli_go_type_decode(&c->L->type, tb, addr, &ty);
	*size = ty.size;
	*ptrbytes = ty.ptrbytes;
	*kind = tli_go_type_kind(&ty);
	return true;
}

static int cmp_global(const void *a, const void *b)
{
	const struct tli_go_chan_global *x = a, *y = b;
	if (x->chan != y->chan)
		return x->chan < y->chan ? -1 : 1;
	return x->slot < y->slot ? -1 : x->slot > y->slot;
}

/* What the scan needs from the layout: the channel layout and runtime.waitq.last. */
static struct tli_error *scan_layout(struct tli_layout *l, struct tli_go_chan_layout *L, uint32_t *wq_last)
{
	struct tli_error *err = tli_go_chan_layout_resolve(l, L);
	if (err)
		return err;
	struct tli_member wl;
	if ((err = tli_layout_member(l, "runtime.waitq", "last", &wl)))
		return tli_error_wrap(err, "channels held by globals");
	if (!L->type.has_type)
		return tli_error_create(TLI_E_NO_INFO, "channels held by globals: no type descriptor layout");
	if (wl.offset > 4096 || L->h_sendq + wl.offset + 8 > L->hchan_size ||
	    L->h_recvq + wl.offset + 8 > L->hchan_size)
		return tli_error_create(TLI_E_CORRUPT, "channels held by globals: runtime.waitq.last at offset %llu "
					"lies outside runtime.hchan", (unsigned long long)wl.offset);
	*wq_last = (uint32_t)wl.offset;
	return NULL;
}

/* The executable's data and bss, each a read of its own (rs[0..*nr), buffers mem[]). */
struct sections {
	uint8_t *mem[2];
	struct tli_read rs[2];
	size_t nr;
};

/* 1. data and bss, one vectored read */
static struct tli_error *read_sections(struct tli_session *s, const struct tli_gomoduledata *md, uint64_t bias,
				       struct sections *sc)
{
	uint64_t r[2][2] = { { md->data + bias, md->edata + bias }, { md->bss + bias, md->ebss + bias } };
	for (int i = 0; i < 2; i++) {
		uint64_t lo = r[i][0], hi = r[i][1];
		if (hi <= lo || hi - lo > SECTION_MAX || !tli_target_plausible(s->target, lo, hi - lo))
			continue;
		if (!(sc->mem[i] = malloc(hi - lo)))
			return &tli_enomem;
		sc->rs[sc->nr++] = (struct tli_read){ .addr = lo, .buf = sc->mem[i], .len = hi - lo };
	}
	return sc->nr ? tli_target_read_many(s->target, sc->rs, sc->nr) : NULL;
}

TLI_VEC(u64vec, uint64_t);

/* 2. candidate words: 8-aligned pointers into writable memory outside the image, sorted, distinct */
static struct tli_error *find_candidates(struct tli_session *s, const struct tli_gomoduledata *md, uint64_t bias,
					 uint32_t hchan_size, const struct sections *sc, struct u64vec *cand)
{
	const struct tli_mapping *lastm = NULL;
	for (size_t k = 0; k < sc->nr; k++) {
		const uint8_t *p = sc->rs[k].buf;
		for (size_t o = 0; o + 8 <= sc->rs[k].got; o += 8) {
			uint64_t v = tli_rd64(p + o);
			if (!v || (v & 7) || (v >= md->data + bias && v < md->enoptrbss + bias))
				continue;
			if (!lastm || v < lastm->start || v >= lastm->end)
				lastm = tli_target_find_mapping(s->target, v);
			if (!lastm || !(lastm->prot & TLI_PROT_W) || v + hchan_size > lastm->end)
				continue;
			if (!tli_vec_push(cand, v))
				return &tli_enomem;
		}
	}
	qsort(cand->v, cand->n, sizeof(*cand->v), cmp_u64);
	size_t nu = 0;
	for (size_t i = 0; i < cand->n; i++)
		if (!nu || cand->v[nu - 1] != cand->v[i])
			cand->v[nu++] = cand->v[i];
	cand->n = nu;
	return NULL;
}

/* 3. every distinct candidate's header, one vectored read, then validate: okv[i] (*nchan of them) */
static struct tli_error *validate(struct tli_session *s, struct tli_gobin *gb, const struct tli_gomoduledata *md,
				  uint64_t bias, const struct tli_go_chan_layout *L, uint32_t wq_last,
				  const struct u64vec *cand, uint8_t *okv, size_t *nchan)
{
	size_t nu = cand->n;
	uint8_t *hdr = malloc(nu * (size_t)L->hchan_size);
	struct tli_read *hr = calloc(nu, sizeof(*hr));
	struct tli_error *err = NULL;
	if (!hdr || !hr) {
		err = &tli_enomem;
		goto out;
	}
	for (size_t i = 0; i < nu; i++)
		hr[i] = (struct tli_read){ .addr = cand->v[i], .buf = hdr + i * L->hchan_size, .len = L->hchan_size };
	if ((err = tli_target_read_many(s->target, hr, nu)))
		goto out;
	struct tctx tc = { .gb = gb, .L = L, .bias = bias };
	struct tli_go_type_probe tp = {
		.types_lo = md->types + bias, .types_hi = md->etypes + bias,
		.type_info = type_info_file, .ctx = &tc, .have_ptrbytes = L->type.has_gcdata,
	};
	for (size_t i = 0; i < nu; i++)
		if (hr[i].got == L->hchan_size &&
		    tli_go_hchan_plausible(L, wq_last, cand->v[i], hdr + i * L->hchan_size, &tp, NULL, 0))
			okv[i] = 1, (*nchan)++;
out:
	free(hdr);
	free(hr);
	return err;
}

/* The ELF symbol table of the executable, or NULL (no .symtab: names stay ""). */
static struct tli_elfsym *open_symtab(struct tli_session *s)
{
	struct tli_elfsym *sym = NULL;
	if (!s->target->exe_path)
		return NULL;
	tli_error_drop(tli_elfsym_open(s->target->exe_path, &sym));
	if (sym && strcmp(tli_elfsym_table(sym), ".symtab") != 0) {
		tli_elfsym_close(sym);
		sym = NULL;
	}
	return sym;
}

/* "main.jobs" or "main.pool+0x8" for the slot, from the symbol table. */
static void name_slot(struct tli_elfsym *sym, uint64_t bias, struct tli_go_chan_global *g)
{
	struct tli_sym sy;
	uint64_t off = 0;
	if (!sym || tli_error_drop(tli_elfsym_lookup_addr(sym, g->slot - bias, &sy, &off)) || !sy.name)
		return;
	if (off)
		snprintf(g->name, sizeof(g->name), "%s+0x%" PRIx64, sy.name, off);
	else
		snprintf(g->name, sizeof(g->name), "%s", sy.name);
}

/* 4. the slots holding them, named from the symbol table when there is one */
static struct tli_error *collect_slots(struct tli_session *s, uint64_t bias, const struct sections *sc,
				       const struct u64vec *cand, const uint8_t *okv,
				       struct tli_go_chan_globals *ret)
{
	struct tli_elfsym *sym = open_symtab(s);
	struct tli_error *err = NULL;
	for (size_t k = 0; k < sc->nr && !err; k++) {
		const uint8_t *p = sc->rs[k].buf;
		for (size_t o = 0; o + 8 <= sc->rs[k].got; o += 8) {
			uint64_t v = tli_rd64(p + o);
			size_t i = tli_lower_bound(cand->n, j, cand->v[j] < v);
			if (i == cand->n || cand->v[i] != v || !okv[i])
				continue;
			if (ret->n >= TLI_CHAN_GLOBALS_MAX) {
				ret->truncated = true;
				break;
			}
			if (ret->n % 64 == 0) {
				struct tli_go_chan_global *ng = realloc(ret->v, (ret->n + 64) * sizeof(*ng));
				if (!ng) {
					err = &tli_enomem;
					break;
				}
				ret->v = ng;
			}
			struct tli_go_chan_global *g = &ret->v[ret->n++];
			memset(g, 0, sizeof(*g));
			g->chan = v;
			g->slot = sc->rs[k].addr + o;
			name_slot(sym, bias, g);
		}
	}
	if (!err)
		qsort(ret->v, ret->n, sizeof(*ret->v), cmp_global);
	if (sym)
		tli_elfsym_close(sym);
	return err;
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
	uint32_t wq_last = 0;
	if ((err = scan_layout(l, &L, &wq_last)))
		return err;
	struct sections sc = { 0 };
	struct u64vec cand = { 0 };
	uint8_t *okv = NULL;
	size_t nchan = 0;
	if ((err = read_sections(s, md, bias, &sc)) ||
	    (err = find_candidates(s, md, bias, L.hchan_size, &sc, &cand)))
		goto out;
	if (cand.n) {
		if (!(okv = calloc(cand.n, 1)))
			err = &tli_enomem;
		else
			err = validate(s, gb, md, bias, &L, wq_last, &cand, okv, &nchan);
	}
	if (!err && nchan)
		err = collect_slots(s, bias, &sc, &cand, okv, ret);
out:
	free(okv);
	tli_vec_free(&cand);
	free(sc.mem[0]);
	free(sc.mem[1]);
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
	size_t lo = tli_lower_bound(g->n, i, g->v[i].chan < chan);
	*first = lo;
	size_t n = 0;
	while (lo + n < g->n && g->v[lo + n].chan == chan)
		n++;
	return n;
}
