/* SPDX-License-Identifier: MIT */
/*
 * Go pclntab decoder (formats of Go 1.18 .. 1.27, linux/amd64).
 *
 * Layout (offsets relative to the header):
 *   pcHeader { u32 magic; u8 pad1, pad2, minLC, ptrSize; uintptr nfunc, nfiles, textStart,
 *              funcnameOffset, cuOffset, filetabOffset, pctabOffset, pclnOffset }
 *   funcnametab | cutab (u32[]) | filetab | pctab | pclntable
 *   pclntable starts with functab[nfunc+1] = {u32 entryoff, u32 funcoff}; funcoff is relative to
 *   pclntable and points to a _func, followed by npcdata u32 and nfuncdata u32 offsets.
 *
 * Everything read from the table is range-checked against the buffer given to
 * tli_pclntab_create; pc-value streams are decoded with bounded loops.
 */
#include "go/pclntab.h"

#include "core/search.h"

#include <stdlib.h>
#include <string.h>

#define PCHDR_SIZE 72u
#define MAX_NFUNC (1u << 24)      /* sanity bound: no real binary has 16M functions */
#define MAX_PCVALUE_STEPS (1u << 22)
#define MAX_INLINE_DEPTH 1024u

struct tli_pclntab {
	const uint8_t *data;      /* header */
	size_t size;              /* bytes available from data */
	uint64_t addr;            /* link-time address of header */
	uint32_t magic;
	uint8_t minlc;
	uint64_t nfunc, nfiles;
	uint64_t hdr_text, text;
	/* tables: [off, off+size) relative to data */
	size_t funcname_off, funcname_size;
	size_t cu_off, cu_size;
	size_t file_off, file_size;
	size_t pctab_off, pctab_size;
	size_t pcln_off, pcln_size;
	/* _func layout */
	size_t func_size, off_funcid, off_flag, off_nfuncdata, inl_size;
	uint32_t etext_off;       /* ftab[nfunc].entryoff */
	/* moduledata.gofunc */
	uint64_t gofunc;
	tli_pclntab_view_fn view;
	const void *view_ctx;
};

static inline uint32_t rd32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}

static inline uint64_t rd64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return v;
}

/* ftab entry i (i <= nfunc, validated at create). */
static inline uint32_t ftab_entry(const struct tli_pclntab *t, size_t i)
{
	return rd32(t->data + t->pcln_off + i * 8);
}

static inline uint32_t ftab_funcoff(const struct tli_pclntab *t, size_t i)
{
	return rd32(t->data + t->pcln_off + i * 8 + 4);
}

struct tli_error *tli_pclntab_create(const uint8_t *data, size_t size, uint64_t addr, struct tli_pclntab **ret)
{
	*ret = NULL;
	if (!data || size < PCHDR_SIZE)
		return tli_error_create(TLI_E_BAD_FORMAT, "pclntab at 0x%llx: truncated header (%zu bytes)",
					(unsigned long long)addr, size);
	uint32_t magic = rd32(data);
	if (magic == 0xfffffffbu || magic == 0xfffffffau)
		return tli_error_create(TLI_E_UNSUPPORTED, "pclntab at 0x%llx: magic 0x%x is Go <= 1.17, unsupported",
					(unsigned long long)addr, magic);
	if (magic != TLI_PCLNTAB_MAGIC_118 && magic != TLI_PCLNTAB_MAGIC_120)
		return tli_error_create(TLI_E_NOT_GO, "pclntab at 0x%llx: bad magic 0x%x", (unsigned long long)addr,
					magic);
	if (data[4] != 0 || data[5] != 0 || !(data[6] == 1 || data[6] == 2 || data[6] == 4) || data[7] != 8)
		return tli_error_create(TLI_E_BAD_FORMAT,
					"pclntab at 0x%llx: bad header pad/minLC/ptrSize %u/%u/%u/%u",
					(unsigned long long)addr, data[4], data[5], data[6], data[7]);
	struct tli_pclntab *t = calloc(1, sizeof(*t));
	if (!t)
		return &tli_enomem;
	t->data = data;
	t->size = size;
	t->addr = addr;
	t->magic = magic;
	t->minlc = data[6];
	t->nfunc = rd64(data + 8);
	t->nfiles = rd64(data + 16);
	t->hdr_text = t->text = rd64(data + 24);
	uint64_t offs[5];
	for (int i = 0; i < 5; i++)
		offs[i] = rd64(data + 32 + 8 * i);
	/* funcname, cu, filetab, pctab, pcln: must be in this order and inside the buffer */
	uint64_t prev = PCHDR_SIZE;
	for (int i = 0; i < 5; i++) {
		if (offs[i] < prev || offs[i] > size) {
			free(t);
			return tli_error_create(TLI_E_BAD_FORMAT,
						"pclntab at 0x%llx: table offset #%d 0x%llx out of order or beyond %zu",
						(unsigned long long)addr, i, (unsigned long long)offs[i], size);
		}
		prev = offs[i];
	}
	t->funcname_off = offs[0], t->funcname_size = offs[1] - offs[0];
	t->cu_off = offs[1], t->cu_size = offs[2] - offs[1];
	t->file_off = offs[2], t->file_size = offs[3] - offs[2];
	t->pctab_off = offs[3], t->pctab_size = offs[4] - offs[3];
	t->pcln_off = offs[4], t->pcln_size = size - offs[4];
	if (t->nfunc == 0 || t->nfunc > MAX_NFUNC || (t->nfunc + 1) * 8 > t->pcln_size) {
		uint64_t nf = t->nfunc;
		free(t);
		return tli_error_create(TLI_E_BAD_FORMAT, "pclntab at 0x%llx: nfunc %llu does not fit",
					(unsigned long long)addr, (unsigned long long)nf);
	}
	if (magic == TLI_PCLNTAB_MAGIC_118) {
		t->func_size = 40, t->off_funcid = 36, t->off_flag = 37, t->off_nfuncdata = 39, t->inl_size = 20;
	} else {
		t->func_size = 44, t->off_funcid = 40, t->off_flag = 41, t->off_nfuncdata = 43, t->inl_size = 16;
	}
	/* validate the functab once: sorted entries, every _func header inside the pclntable */
	uint32_t last = 0;
	for (size_t i = 0; i <= t->nfunc; i++) {
		uint32_t e = ftab_entry(t, i);
		if (e < last) {
			free(t);
			return tli_error_create(TLI_E_BAD_FORMAT, "pclntab at 0x%llx: functab not sorted at #%zu",
						(unsigned long long)addr, i);
		}
		last = e;
		if (i < t->nfunc) {
			uint64_t fo = ftab_funcoff(t, i);
			if (fo < (t->nfunc + 1) * 8 || fo + t->func_size > t->pcln_size) {
				free(t);
				return tli_error_create(TLI_E_BAD_FORMAT,
							"pclntab at 0x%llx: functab #%zu: _func offset 0x%llx out of range",
							(unsigned long long)addr, i, (unsigned long long)fo);
			}
		}
	}
	t->etext_off = last;
	*ret = t;
	return NULL;
}

void tli_pclntab_set_text(struct tli_pclntab *t, uint64_t text)
{
	if (t)
		t->text = text;
}

void tli_pclntab_set_gofunc(struct tli_pclntab *t, uint64_t gofunc, tli_pclntab_view_fn view, const void *ctx)
{
	if (!t)
		return;
	t->gofunc = gofunc;
	t->view = view;
	t->view_ctx = ctx;
}

void tli_pclntab_destroy(struct tli_pclntab *t)
{
	free(t);
}

size_t tli_pclntab_nfunc(const struct tli_pclntab *t) { return t ? (size_t)t->nfunc : 0; }
uint32_t tli_pclntab_magic(const struct tli_pclntab *t) { return t->magic; }
uint64_t tli_pclntab_addr(const struct tli_pclntab *t) { return t->addr; }
uint64_t tli_pclntab_text(const struct tli_pclntab *t) { return t->text; }
uint64_t tli_pclntab_header_text(const struct tli_pclntab *t) { return t->hdr_text; }
uint64_t tli_pclntab_etext(const struct tli_pclntab *t) { return t->text + t->etext_off; }

/* Name at nameoff in funcnametab, "?" when out of range or not terminated. */
static const char *funcname_at(const struct tli_pclntab *t, int64_t nameoff)
{
	if (nameoff < 0 || (uint64_t)nameoff >= t->funcname_size)
		return "?";
	const char *s = (const char *)t->data + t->funcname_off + nameoff;
	if (!memchr(s, 0, t->funcname_size - (size_t)nameoff))
		return "?";
	return s;
}

static inline const uint8_t *func_hdr(const struct tli_pclntab *t, const struct tli_gofunc *f)
{
	return t->data + t->pcln_off + f->priv_funcoff;
}

static struct tli_error *fill_func(const struct tli_pclntab *t, size_t i, struct tli_gofunc *ret)
{
	uint32_t e = ftab_entry(t, i), fo = ftab_funcoff(t, i);
	const uint8_t *fp = t->data + t->pcln_off + fo; /* in range: validated at create */
	if (rd32(fp) != e)
		return tli_error_create(TLI_E_BAD_FORMAT,
					"pclntab: _func #%zu at pclntable+0x%x: entryoff 0x%x != functab 0x%x", i, fo,
					rd32(fp), e);
	ret->entry = t->text + e;
	ret->end = t->text + ftab_entry(t, i + 1);
	ret->name = funcname_at(t, (int32_t)rd32(fp + 4));
	ret->funcid = fp[t->off_funcid];
	ret->flag = fp[t->off_flag];
	ret->priv_funcoff = fo;
	return NULL;
}

struct tli_error *tli_pclntab_func_at(const struct tli_pclntab *t, size_t idx, struct tli_gofunc *ret)
{
	if (idx >= t->nfunc)
		return tli_error_create(TLI_E_NO_INFO, "pclntab: function index %zu >= nfunc %llu", idx,
					(unsigned long long)t->nfunc);
	return fill_func(t, idx, ret);
}

struct tli_error *tli_pclntab_find(const struct tli_pclntab *t, uint64_t pc, struct tli_gofunc *ret)
{
	if (pc < t->text || pc - t->text >= t->etext_off)
		return tli_error_create(TLI_E_NO_INFO, "pc 0x%llx is outside Go text", (unsigned long long)pc);
	uint32_t off = (uint32_t)(pc - t->text);
	/* the largest i in [0, nfunc) with entryoff(i) <= off */
	size_t i = tli_upper_bound(t->nfunc, k, ftab_entry(t, k) > off);
	if (i == 0)
		return tli_error_create(TLI_E_NO_INFO, "pc 0x%llx is outside Go text", (unsigned long long)pc);
	return fill_func(t, i - 1, ret);
}

/* Unsigned varint of at most 10 bytes within [*p, end). Returns false on truncation/overlong. */
static bool read_uvarint(const uint8_t **p, const uint8_t *end, uint64_t *ret)
{
	uint64_t v = 0;
	unsigned shift = 0;
	for (int i = 0; i < 10; i++) {
		if (*p >= end)
			return false;
		uint8_t b = *(*p)++;
		v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80)) {
			*ret = v;
			return true;
		}
		shift += 7;
	}
	return false;
}

/* Decode the pc-value stream at pctab+tab for function f, value at target. */
static struct tli_error *pcvalue(const struct tli_pclntab *t, const struct tli_gofunc *f, uint32_t tab,
				 uint64_t target, const char *what, int32_t *ret)
{
	if (tab == 0)
		return tli_error_create(TLI_E_NO_INFO, "%s: %s has no %s table", "pclntab", f->name, what);
	if (tab >= t->pctab_size)
		return tli_error_create(TLI_E_BAD_FORMAT, "pclntab: %s of %s: table offset 0x%x beyond pctab (0x%zx)",
					what, f->name, tab, t->pctab_size);
	if (target < f->entry || target >= f->end)
		return tli_error_create(TLI_E_NO_INFO, "pclntab: pc 0x%llx not in %s [0x%llx,0x%llx)",
					(unsigned long long)target, f->name, (unsigned long long)f->entry,
					(unsigned long long)f->end);
	const uint8_t *p = t->data + t->pctab_off + tab, *end = t->data + t->pctab_off + t->pctab_size;
	int32_t val = -1;
	uint64_t pc = f->entry;
	for (uint32_t step = 0; step < MAX_PCVALUE_STEPS; step++) {
		uint64_t uv, pcd;
		if (!read_uvarint(&p, end, &uv))
			break;
		if (uv == 0 && pc != f->entry) /* "first" is pc == entry, as in the runtime */
			break;
		uint32_t u = (uint32_t)uv;
		val += (int32_t)((u & 1) ? ~(u >> 1) : (u >> 1));
		if (!read_uvarint(&p, end, &pcd))
			break;
		pc += (uint64_t)(uint32_t)pcd * t->minlc;
		if (target < pc) {
			*ret = val;
			return NULL;
		}
		if (pc >= f->end)
			break;
	}
	return tli_error_create(TLI_E_BAD_FORMAT, "pclntab: %s of %s: no value for pc 0x%llx (table 0x%x)", what,
				f->name, (unsigned long long)target, tab);
}

struct tli_error *tli_pclntab_spdelta(const struct tli_pclntab *t, const struct tli_gofunc *f, uint64_t pc,
				      int32_t *ret)
{
	return pcvalue(t, f, rd32(func_hdr(t, f) + 16), pc, "pcsp", ret);
}

struct tli_error *tli_pclntab_fileline(const struct tli_pclntab *t, const struct tli_gofunc *f, uint64_t pc,
				       const char **file, int32_t *line)
{
	const uint8_t *fp = func_hdr(t, f);
	int32_t fileno, ln;
	struct tli_error *err = pcvalue(t, f, rd32(fp + 20), pc, "pcfile", &fileno);
	if (err)
		return err;
	if ((err = pcvalue(t, f, rd32(fp + 24), pc, "pcln", &ln)))
		return err;
	uint64_t cuidx = (uint64_t)rd32(fp + 32) + (uint64_t)(uint32_t)fileno;
	if (fileno < 0 || cuidx >= t->cu_size / 4)
		return tli_error_create(TLI_E_BAD_FORMAT, "pclntab: %s: file index %d (cu 0x%x) beyond cutab", f->name,
					fileno, rd32(fp + 32));
	uint32_t fo = rd32(t->data + t->cu_off + cuidx * 4);
	if (fo == 0xffffffffu) {
		*file = "?";
	} else {
		if (fo >= t->file_size || !memchr(t->data + t->file_off + fo, 0, t->file_size - fo))
			return tli_error_create(TLI_E_BAD_FORMAT, "pclntab: %s: file offset 0x%x beyond filetab",
						f->name, fo);
		*file = (const char *)t->data + t->file_off + fo;
	}
	*line = ln;
	return NULL;
}

/* npcdata / nfuncdata / offset of the trailing u32 arrays, checked against the pclntable. */
static bool func_tables(const struct tli_pclntab *t, const struct tli_gofunc *f, uint32_t *npcdata,
			uint32_t *nfuncdata)
{
	const uint8_t *fp = func_hdr(t, f);
	*npcdata = rd32(fp + 28);
	*nfuncdata = fp[t->off_nfuncdata];
	uint64_t need = (uint64_t)f->priv_funcoff + t->func_size + 4ull * ((uint64_t)*npcdata + *nfuncdata);
	return *npcdata <= 1024 && need <= t->pcln_size;
}

struct tli_error *tli_pclntab_pcdata(const struct tli_pclntab *t, const struct tli_gofunc *f, uint32_t table,
				     uint64_t pc, int32_t *ret)
{
	uint32_t np, nf;
	if (!func_tables(t, f, &np, &nf))
		return tli_error_create(TLI_E_BAD_FORMAT, "pclntab: %s: pcdata/funcdata arrays out of range", f->name);
	*ret = -1;
	if (table >= np)
		return NULL;
	uint32_t off = rd32(func_hdr(t, f) + t->func_size + 4 * table);
	if (off == 0)
		return NULL;
	return pcvalue(t, f, off, pc, "pcdata", ret);
}

uint64_t tli_pclntab_funcdata(const struct tli_pclntab *t, const struct tli_gofunc *f, uint32_t idx)
{
	uint32_t np, nf;
	if (!t->gofunc || !func_tables(t, f, &np, &nf) || idx >= nf)
		return 0;
	uint32_t off = rd32(func_hdr(t, f) + t->func_size + 4 * np + 4 * idx);
	if (off == 0xffffffffu)
		return 0;
	return t->gofunc + off;
}

uint32_t tli_pclntab_func_u32(const struct tli_pclntab *t, const struct tli_gofunc *f, uint32_t off, bool *ok)
{
	*ok = off + 4 <= t->func_size;
	return *ok ? rd32(func_hdr(t, f) + off) : 0;
}

static void frame_fileline(const struct tli_pclntab *t, const struct tli_gofunc *f, uint64_t pc,
			   struct tli_goframe *fr)
{
	struct tli_error *err = tli_pclntab_fileline(t, f, pc, &fr->file, &fr->line);
	if (err) {
		tli_error_destroy(err);
		fr->file = "?";
		fr->line = 0;
	}
}

struct tli_error *tli_pclntab_frames(const struct tli_pclntab *t, uint64_t pc, struct tli_goframe *out, size_t max,
				     size_t *n)
{
	*n = 0;
	struct tli_gofunc f;
	struct tli_error *err = tli_pclntab_find(t, pc, &f);
	if (err)
		return err;
	size_t k = 0;
	uint64_t tracepc = pc;
	uint64_t inl = t->view ? tli_pclntab_funcdata(t, &f, TLI_FUNCDATA_INLTREE) : 0;
	for (unsigned depth = 0; inl && depth < MAX_INLINE_DEPTH && k < max; depth++) {
		int32_t ix;
		if ((err = tli_pclntab_pcdata(t, &f, TLI_PCDATA_INLTREEINDEX, tracepc, &ix))) {
			tli_error_destroy(err);
			break; /* treat as not inlined */
		}
		if (ix < 0)
			break;
		const uint8_t *ic = t->view(t->view_ctx, inl + (uint64_t)ix * t->inl_size, t->inl_size);
		if (!ic)
			return tli_error_create(TLI_E_BAD_FORMAT,
						"pclntab: %s: inline tree entry %d at 0x%llx is not in the file",
						f.name, ix, (unsigned long long)(inl + (uint64_t)ix * t->inl_size));
		uint8_t funcid;
		int32_t nameoff, parentpc;
		if (t->inl_size == 20) { /* Go 1.18/1.19: parent i16, funcID u8, _, file, line, func_, parentPc */
			funcid = ic[2];
			nameoff = (int32_t)rd32(ic + 12);
			parentpc = (int32_t)rd32(ic + 16);
		} else { /* Go 1.20+: funcID u8, _[3], nameOff, parentPc, startLine */
			funcid = ic[0];
			nameoff = (int32_t)rd32(ic + 4);
			parentpc = (int32_t)rd32(ic + 8);
		}
		struct tli_goframe *fr = &out[k++];
		fr->func = funcname_at(t, nameoff);
		fr->funcid = funcid;
		fr->inlined = true;
		fr->entry = f.entry;
		frame_fileline(t, &f, tracepc, fr);
		if (parentpc < 0 || f.entry + (uint64_t)parentpc >= f.end)
			return tli_error_create(TLI_E_BAD_FORMAT, "pclntab: %s: inline tree entry %d: parentPc %d out of range",
						f.name, ix, parentpc);
		tracepc = f.entry + (uint64_t)parentpc;
	}
	if (k < max) {
		struct tli_goframe *fr = &out[k++];
		fr->func = f.name;
		fr->funcid = f.funcid;
		fr->inlined = false;
		fr->entry = f.entry;
		frame_fileline(t, &f, tracepc, fr);
	}
	*n = k;
	return NULL;
}

struct tli_error *tli_pclntab_lookup(const struct tli_pclntab *t, const char *name, struct tli_gofunc *ret)
{
	for (size_t i = 0; i < t->nfunc; i++) {
		const char *s = funcname_at(t, (int32_t)rd32(t->data + t->pcln_off + ftab_funcoff(t, i) + 4));
		if (strcmp(s, name) == 0)
			return fill_func(t, i, ret);
	}
	return tli_error_create(TLI_E_NO_INFO, "pclntab: no function named %s", name);
}

/* Append src[0..len) to buf at *pos (bounded). */
static void put(char *buf, size_t n, size_t *pos, const char *src, size_t len)
{
	while (len-- && *pos + 1 < n)
		buf[(*pos)++] = *src++;
	buf[*pos] = 0;
}

char *tli_go_funcname_print(const char *name, int minor, char *buf, size_t n)
{
	size_t pos = 0, len = strlen(name);
	if (!n)
		return buf;
	buf[0] = 0;
	const char *lb = strchr(name, '[');
	const char *rb = strrchr(name, ']');
	if (!lb || !rb || rb <= lb) {
		put(buf, n, &pos, name, len);
		return buf;
	}
	size_t i = (size_t)(lb - name), j = (size_t)(rb - name);
	const char *in = name + i + 1;
	size_t inlen = j - i - 1;
	if (!memchr(in, '[', inlen) || (minor >= 0 && minor < 27)) {
		put(buf, n, &pos, name, i);
		put(buf, n, &pos, "[...]", 5);
		put(buf, n, &pos, name + j + 1, len - j - 1);
		return buf;
	}
	/* Go 1.27+: generic method of a generic type, "pkg.T[...].M[...]" */
	int depth = 1;
	long rbr = -1, lbr = -1;
	for (size_t k = 0; k < inlen; k++) {
		char c = in[k];
		if (c == '[') {
			depth++;
			if (depth != 1)
				continue;
			lbr = (long)k;
			break;
		}
		if (c == ']') {
			depth--;
			if (depth < 0)
				break;
			if (depth != 0)
				continue;
			rbr = (long)k;
		}
	}
	if (depth == 1 && rbr >= 0 && lbr > rbr) {
		put(buf, n, &pos, name, i);
		put(buf, n, &pos, "[...]", 5);
		put(buf, n, &pos, in + rbr + 1, (size_t)(lbr - rbr - 1));
		put(buf, n, &pos, "[...]", 5);
		put(buf, n, &pos, name + j + 1, len - j - 1);
	} else if (depth == 1 && rbr == -1 && lbr == -1) {
		put(buf, n, &pos, name, i);
		put(buf, n, &pos, "[...]", 5);
		put(buf, n, &pos, name + j + 1, len - j - 1);
	} else {
		put(buf, n, &pos, name, len);
	}
	return buf;
}
