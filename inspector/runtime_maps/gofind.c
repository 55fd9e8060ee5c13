/* SPDX-License-Identifier: MIT */
/*
 * Go runtime globals in stripped binaries: decode the instructions of known runtime
 * functions (found by name in pclntab) with capstone and take the targets of their
 * RIP-relative operands. Rules (checked against DWARF of unstripped twins, go1.19–1.27):
 *   runtime.allgs        forEachG: first RIP load; the second RIP load must be allgs+8 (len)
 *   runtime.allglen      forEachGRace: first RIP load
 *   runtime.allgptr      forEachGRace: second RIP load
 *   runtime.waitReasonStrings  waitReason.String / goroutineheader: the RIP lea whose target
 *                        holds, in the file image, exactly the map's string table
 *   runtime.gStatusStrings     goroutineheader: likewise
 *   runtime.memstats     readmemstats_m: first RIP lea into .bss/.noptrbss
 *   runtime.fingStatus / runtime.fingRunning  isSystemGoroutine: first RIP load
 *   runtime.semtable     semacquire1 / semrelease1 (runtime/sema.go): first RIP lea;
 *                        both must agree; 251 roots x 64 bytes in .bss
 *   runtime.mheap_       mallocinit: the RIP lea into RAX (the receiver, register ABI) right
 *                        before `call runtime.(*mheap).init` — `mheap_.init()`
 *   runtime.gcController mallocinit's sibling gcControllerCommit: the RIP lea into RAX (the
 *                        receiver) right before `call runtime.(*gcControllerState).commit`
 *   runtime.allp         flushmcache: the RIP loads of allp (ptr) and allp+8 (len), both there
 *   runtime.class_to_size / internal/runtime/gc.SizeClassToSize  readmemstats_m: the RIP lea
 *                        whose target holds, in the file image, a uint16 table starting
 *                        0, 8, 16, 24, 32, 48 (the size classes)
 * Every result is checked to lie in the data/bss sections of firstmoduledata (or the ELF
 * sections) with room for the object.
 * arm64 executables: the same rules over ADRP-based addressing (refs_arm64: ADRP+ADD is the lea,
 * ADRP+LDR or ADRP+ADD then a load at offset 0, as atomics do, the load; the receiver register is
 * X0), checked against DWARF by tests/unit/test_maps.c test_finder_arm64.
 */
#include "runtime_maps/maps.h"

#include <assert.h>
#include <capstone/capstone.h>
#include <stdlib.h>
#include <string.h>

#include "go/gobin.h"
#include "go/pclntab.h"

#define MAX_FUNC_BYTES (64u << 10)
#define MAX_REFS 512

enum refkind { REF_LOAD, REF_LEA, REF_OTHER };

struct ripref {
	enum refkind kind;
	uint64_t target;
	uint64_t insn_addr;
};

/* A function's code (from pclntab, in the file image) and a detailed decoder for it (x86-64 or arm64). */
struct fdec {
	const uint8_t *code;
	size_t len;
	uint64_t entry;
	csh h;
	cs_insn *insn;
	bool arm64;  /* ADRP-based addressing (arm64) instead of RIP-relative operands (x86-64) */
};

static struct tli_error *fdec_open(const struct tli_gobin *gb, const char *fname, struct fdec *d)
{
	memset(d, 0, sizeof(*d));
	const struct tli_pclntab *pt = tli_gobin_pclntab(gb);
	if (!pt)
		return tli_error_create(TLI_E_NO_INFO, "no pclntab");
	struct tli_gofunc f;
	struct tli_error *err = tli_pclntab_lookup(pt, fname, &f);
	if (err)
		return err;
	if (f.end <= f.entry || f.end - f.entry > MAX_FUNC_BYTES)
		return tli_error_create(TLI_E_BAD_FORMAT, "%s: implausible function bounds [0x%llx, 0x%llx)",
					fname, (unsigned long long)f.entry, (unsigned long long)f.end);
	d->len = (size_t)(f.end - f.entry);
	d->entry = f.entry;
	d->code = tli_gobin_view(gb, f.entry, d->len);
	if (!d->code)
		return tli_error_create(TLI_E_BAD_FORMAT, "%s: code at 0x%llx is not in the file", fname,
					(unsigned long long)f.entry);
	const struct tli_arch *arch = tli_gobin_arch(gb);
	d->arm64 = arch == &tli_arch_arm64;
	if (arch != &tli_arch_x86_64 && !d->arm64)
		return tli_error_create(TLI_E_UNSUPPORTED, "%s: no instruction patterns for this machine", fname);
	if (cs_open(d->arm64 ? CS_ARCH_ARM64 : CS_ARCH_X86, d->arm64 ? CS_MODE_ARM : CS_MODE_64, &d->h) !=
	    CS_ERR_OK)
		return tli_error_create(TLI_E_INTERNAL, "capstone: cannot open a %s decoder", arch->name);
	cs_option(d->h, CS_OPT_DETAIL, CS_OPT_ON);
	if (!(d->insn = cs_malloc(d->h))) {
		cs_close(&d->h);
		return &tli_enomem;
	}
	return NULL;
}

static void fdec_close(struct fdec *d)
{
	if (d->insn) {
		cs_free(d->insn, 1);
		cs_close(&d->h);
	}
	d->insn = NULL;
}

/* ---- arm64: globals are reached with ADRP Xn, page then ADD Xd, Xn, #lo12 (an address, as x86's
 * lea) or LDR Xd, [Xn, #lo12] (a load); atomics take the address first (ADD) and load through it
 * (LDAR). Registers holding a known address are tracked through the function; a call or any other
 * write forgets them. ---- */

/* Xn for Wn (a 32-bit write clears the register's top half), the register itself otherwise */
static unsigned xreg(unsigned r)
{
	if (r >= ARM64_REG_W0 && r <= ARM64_REG_W30) {
		unsigned n = r - ARM64_REG_W0;
		return n <= 28 ? ARM64_REG_X0 + n : n == 29 ? ARM64_REG_X29 : ARM64_REG_X30;
	}
	return r;
}

static bool arm64_is_load(unsigned id)
{
	switch (id) {
	case ARM64_INS_LDR: case ARM64_INS_LDRB: case ARM64_INS_LDRH: case ARM64_INS_LDRSB:
	case ARM64_INS_LDRSH: case ARM64_INS_LDRSW: case ARM64_INS_LDUR: case ARM64_INS_LDURB:
	case ARM64_INS_LDURH: case ARM64_INS_LDURSB: case ARM64_INS_LDURSH: case ARM64_INS_LDURSW:
	case ARM64_INS_LDAR: case ARM64_INS_LDARB: case ARM64_INS_LDARH: case ARM64_INS_LDAXR:
	case ARM64_INS_LDP:
		return true;
	}
	return false;
}

/* instructions whose first operand is read, not written */
static bool arm64_no_dest(unsigned id)
{
	switch (id) {
	case ARM64_INS_STR: case ARM64_INS_STRB: case ARM64_INS_STRH: case ARM64_INS_STUR:
	case ARM64_INS_STURB: case ARM64_INS_STURH: case ARM64_INS_STP: case ARM64_INS_STLR:
	case ARM64_INS_STLRB: case ARM64_INS_STLRH: case ARM64_INS_CMP: case ARM64_INS_CMN:
	case ARM64_INS_TST: case ARM64_INS_CBZ: case ARM64_INS_CBNZ: case ARM64_INS_TBZ:
	case ARM64_INS_TBNZ: case ARM64_INS_B: case ARM64_INS_BR: case ARM64_INS_RET:
	case ARM64_INS_CCMP: case ARM64_INS_PRFM:
		return true;
	}
	return false;
}

/* The next instruction; false (and skipped: every arm64 instruction is 4 bytes) when this
 * capstone cannot decode it (newer extensions such as LSE atomics, which Go uses when the CPU
 * has them) */
static bool arm64_next(struct fdec *d, const uint8_t **p, size_t *left, uint64_t *addr)
{
	if (cs_disasm_iter(d->h, p, left, addr, d->insn))
		return true;
	*p += 4;
	*left -= 4;
	*addr += 4;
	return false;
}

static void refs_arm64(struct fdec *d, struct ripref *refs, size_t max, size_t *n)
{
	static_assert(ARM64_REG_ENDING < 1024, "register ids");
	uint64_t val[ARM64_REG_ENDING];
	bool known[ARM64_REG_ENDING];
	size_t lea_at[ARM64_REG_ENDING]; /* refs[] index + 1 of the ADD that made the register's address */
	memset(known, 0, sizeof(known));
	memset(lea_at, 0, sizeof(lea_at));
	const uint8_t *p = d->code;
	size_t left = d->len;
	uint64_t addr = d->entry;
	while (left >= 4 && *n < max) {
		if (!arm64_next(d, &p, &left, &addr))
			continue;
		const cs_insn *in = d->insn;
		const cs_arm64 *a = &in->detail->arm64;
		const cs_arm64_op *o = a->operands;
		if (in->id == ARM64_INS_BL || in->id == ARM64_INS_BLR) {
			memset(known, 0, sizeof(known)); /* Go's ABI: every register is clobbered by a call */
			memset(lea_at, 0, sizeof(lea_at));
			continue;
		}
		if (in->id == ARM64_INS_ADRP && a->op_count == 2 && o[0].type == ARM64_OP_REG &&
		    o[1].type == ARM64_OP_IMM) {
			val[xreg(o[0].reg)] = (uint64_t)o[1].imm;
			known[xreg(o[0].reg)] = true;
			lea_at[xreg(o[0].reg)] = 0;
			continue;
		}
		if (in->id == ARM64_INS_ADD && a->op_count == 3 && o[0].type == ARM64_OP_REG &&
		    o[1].type == ARM64_OP_REG && known[xreg(o[1].reg)] && o[2].type == ARM64_OP_IMM &&
		    o[2].shift.type == ARM64_SFT_INVALID) {
			uint64_t t = val[xreg(o[1].reg)] + (uint64_t)o[2].imm;
			refs[(*n)++] = (struct ripref){ REF_LEA, t, in->address };
			val[xreg(o[0].reg)] = t;
			known[xreg(o[0].reg)] = true;
			lea_at[xreg(o[0].reg)] = *n;
			continue;
		}
		bool load = arm64_is_load(in->id);
		for (uint8_t i = 0; i < a->op_count && *n < max; i++) {
			if (o[i].type != ARM64_OP_MEM || o[i].mem.index != ARM64_REG_INVALID ||
			    !known[xreg(o[i].mem.base)] || a->writeback)
				continue;
			unsigned b = xreg(o[i].mem.base);
			uint64_t t = val[b] + (uint64_t)(int64_t)o[i].mem.disp;
			/* ADD then a load through it at offset 0 (an atomic load: LDAR has no offset) is one
			 * load of the global, as x86's single mov; the address was not taken */
			if (load && in->id != ARM64_INS_LDP && o[i].mem.disp == 0 && lea_at[b]) {
				refs[lea_at[b] - 1].kind = REF_LOAD;
				lea_at[b] = 0;
				continue;
			}
			refs[(*n)++] = (struct ripref){ load ? REF_LOAD : REF_OTHER, t, in->address };
			if (in->id == ARM64_INS_LDP && *n < max) /* the pair's second word */
				refs[(*n)++] = (struct ripref){ REF_LOAD,
								t + (o[0].reg >= ARM64_REG_W0 && o[0].reg <= ARM64_REG_W30 ? 4 : 8),
								in->address };
		}
		if (a->op_count && o[0].type == ARM64_OP_REG && !arm64_no_dest(in->id))
			known[xreg(o[0].reg)] = false, lea_at[xreg(o[0].reg)] = 0;
		if (in->id == ARM64_INS_LDP && a->op_count > 1 && o[1].type == ARM64_OP_REG)
			known[xreg(o[1].reg)] = false, lea_at[xreg(o[1].reg)] = 0;
	}
}

/* Decode function `fname`; collect RIP-relative memory operands in order. */
static struct tli_error *func_refs(const struct tli_gobin *gb, const char *fname, struct ripref *refs,
				   size_t max, size_t *n)
{
	*n = 0;
	struct fdec d;
	struct tli_error *err = fdec_open(gb, fname, &d);
	if (err)
		return err;
	if (d.arm64) {
		refs_arm64(&d, refs, max, n);
		fdec_close(&d);
		return NULL;
	}
	csh h = d.h;
	cs_insn *insn = d.insn;
	const uint8_t *p = d.code;
	size_t left = d.len;
	uint64_t addr = d.entry;
	/* cs_disasm_iter stops at undecodable bytes (padding after the last ret is int3 = fine) */
	while (left && *n < max && cs_disasm_iter(h, &p, &left, &addr, insn)) {
		cs_x86 *x = &insn->detail->x86;
		for (uint8_t i = 0; i < x->op_count && *n < max; i++) {
			cs_x86_op *op = &x->operands[i];
			if (op->type != X86_OP_MEM || op->mem.base != X86_REG_RIP || op->mem.index != X86_REG_INVALID)
				continue;
			enum refkind k = REF_OTHER;
			if (insn->id == X86_INS_LEA)
				k = REF_LEA;
			else if ((insn->id == X86_INS_MOV || insn->id == X86_INS_MOVZX ||
				  insn->id == X86_INS_MOVSX || insn->id == X86_INS_MOVSXD ||
				  insn->id == X86_INS_CMP) && (op->access & CS_AC_READ) &&
				 !(op->access & CS_AC_WRITE))
				k = REF_LOAD;
			refs[(*n)++] = (struct ripref){ k, insn->address + insn->size + (uint64_t)op->mem.disp,
							insn->address };
		}
	}
	fdec_close(&d);
	return NULL;
}

/* Is [a, a+size) inside one of the writable data sections? */
static bool in_data(const struct tli_gobin *gb, uint64_t a, uint64_t size, bool bss_only)
{
	const struct tli_gomoduledata *md = tli_gobin_moduledata(gb);
	uint64_t r[4][2];
	int nr = 0;
	if (md) {
		if (!bss_only) {
			r[nr][0] = md->data, r[nr++][1] = md->edata;
			r[nr][0] = md->noptrdata, r[nr++][1] = md->enoptrdata;
		}
		r[nr][0] = md->bss, r[nr++][1] = md->ebss;
		r[nr][0] = md->noptrbss, r[nr++][1] = md->enoptrbss;
	} else {
		static const char *const secs[] = { ".data", ".noptrdata", ".bss", ".noptrbss" };
		for (int i = bss_only ? 2 : 0; i < 4; i++) {
			uint64_t sa, ss;
			if (tli_gobin_section(gb, secs[i], &sa, &ss))
				r[nr][0] = sa, r[nr++][1] = sa + ss;
		}
	}
	for (int i = 0; i < nr; i++)
		if (a >= r[i][0] && a < r[i][1] && size <= r[i][1] - a)
			return true;
	return false;
}

/* Does the file image at `a` hold the string table `want` (n Go string headers)? */
static bool strtab_matches(const struct tli_gobin *gb, uint64_t a, const char *const *want, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		uint64_t hdr[2];
		struct tli_error *e = tli_gobin_read(gb, a + i * 16, hdr, sizeof(hdr));
		if (tli_error_drop(e))
			return false;
		size_t wl = strlen(want[i]);
		if (hdr[1] != wl)
			return false;
		if (!wl)
			continue;
		const uint8_t *s = tli_gobin_view(gb, hdr[0], wl);
		if (!s || memcmp(s, want[i], wl) != 0)
			return false;
	}
	return true;
}

static struct tli_error *find_strtab(const struct tli_gobin *gb, const struct tli_map *m, const char *name,
				     const char *const *funcs, struct tli_global *ret)
{
	size_t n = 0;
	const char *const *want = NULL;
	struct tli_error *err = m ? tli_map_strings(m, name, &n, &want) : NULL;
	if (err)
		return err;
	struct ripref refs[MAX_REFS];
	char tried[300] = "";
	size_t tl = 0;
	for (const char *const *f = funcs; *f; f++) {
		size_t nr;
		struct tli_error *e = func_refs(gb, *f, refs, MAX_REFS, &nr);
		tl += (size_t)snprintf(tried + tl, tl < sizeof(tried) ? sizeof(tried) - tl : 0, "%s%s",
				       tl ? ", " : "", *f);
		if (tli_error_drop(e))
			continue;
		for (size_t i = 0; i < nr; i++) {
			if (refs[i].kind != REF_LEA || !in_data(gb, refs[i].target, n ? n * 16 : 16, false))
				continue;
			if (m && !strtab_matches(gb, refs[i].target, want, n))
				continue;
			ret->addr = refs[i].target;
			ret->size = n * 16;
			return NULL;
		}
	}
	return tli_error_create(TLI_E_NO_INFO, "%s not found: no RIP-relative lea in %s points to a "
				"table of the %zu strings of the runtime map", name, tried, n);
}

static struct tli_error *nth_load(const struct tli_gobin *gb, const char *func, size_t nth,
				  struct ripref *ret, struct ripref *next)
{
	struct ripref refs[MAX_REFS];
	size_t nr;
	struct tli_error *err = func_refs(gb, func, refs, MAX_REFS, &nr);
	if (err)
		return err;
	size_t k = 0;
	for (size_t i = 0; i < nr; i++) {
		if (refs[i].kind != REF_LOAD)
			continue;
		if (k == nth) {
			*ret = refs[i];
			if (next) {
				memset(next, 0, sizeof(*next));
				for (size_t j = i + 1; j < nr; j++)
					if (refs[j].kind == REF_LOAD) {
						*next = refs[j];
						break;
					}
			}
			return NULL;
		}
		k++;
	}
	return tli_error_create(TLI_E_NO_INFO, "%s has fewer than %zu RIP-relative loads", func, nth + 1);
}

/* arm64: the address in X0 (the first argument, register ABI) at the first BL to `entry`. */
static void lea_arg_arm64(struct fdec *d, uint64_t entry, uint64_t *lea, bool *found)
{
	uint64_t val[ARM64_REG_ENDING];
	bool known[ARM64_REG_ENDING];
	memset(known, 0, sizeof(known));
	const uint8_t *p = d->code;
	size_t left = d->len;
	uint64_t addr = d->entry;
	*lea = 0;
	while (left >= 4 && !*found) {
		if (!arm64_next(d, &p, &left, &addr))
			continue;
		const cs_arm64 *a = &d->insn->detail->arm64;
		const cs_arm64_op *o = a->operands;
		unsigned id = d->insn->id;
		if (id == ARM64_INS_BL && a->op_count == 1 && o[0].type == ARM64_OP_IMM) {
			if ((uint64_t)o[0].imm == entry)
				*found = true;
			else
				memset(known, 0, sizeof(known)), *lea = 0;
		} else if (id == ARM64_INS_ADRP && a->op_count == 2 && o[1].type == ARM64_OP_IMM) {
			val[xreg(o[0].reg)] = (uint64_t)o[1].imm;
			known[xreg(o[0].reg)] = true;
			if (xreg(o[0].reg) == ARM64_REG_X0)
				*lea = 0;
		} else if (id == ARM64_INS_ADD && a->op_count == 3 && o[1].type == ARM64_OP_REG &&
			   known[xreg(o[1].reg)] && o[2].type == ARM64_OP_IMM && o[2].shift.type == ARM64_SFT_INVALID) {
			uint64_t t = val[xreg(o[1].reg)] + (uint64_t)o[2].imm;
			val[xreg(o[0].reg)] = t;
			known[xreg(o[0].reg)] = true;
			if (xreg(o[0].reg) == ARM64_REG_X0)
				*lea = t;
		} else if (a->op_count && o[0].type == ARM64_OP_REG && !arm64_no_dest(id)) {
			known[xreg(o[0].reg)] = false;
			if (xreg(o[0].reg) == ARM64_REG_X0)
				*lea = 0;
		}
	}
}

/* The RIP-relative lea into `reg` that is live at the first direct call to `callee` inside
 * `func` (the argument passed in that register, register ABI; arm64: ADRP+ADD into X0). */
static struct tli_error *lea_arg_of_call(const struct tli_gobin *gb, const char *func, const char *callee,
					 x86_reg reg, uint64_t *ret)
{
	const struct tli_pclntab *pt = tli_gobin_pclntab(gb);
	struct tli_gofunc c;
	struct tli_error *err = pt ? tli_pclntab_lookup(pt, callee, &c) : tli_error_create(TLI_E_NO_INFO, "no pclntab");
	if (err)
		return err;
	struct fdec d;
	if ((err = fdec_open(gb, func, &d)))
		return err;
	csh h = d.h;
	cs_insn *insn = d.insn;
	const uint8_t *p = d.code;
	size_t left = d.len;
	uint64_t addr = d.entry, lea = 0;
	bool found = false;
	if (d.arm64)
		lea_arg_arm64(&d, c.entry, &lea, &found);
	while (!d.arm64 && left && !found && cs_disasm_iter(h, &p, &left, &addr, insn)) {
		cs_x86 *x = &insn->detail->x86;
		if (insn->id == X86_INS_LEA && x->op_count == 2 && x->operands[0].type == X86_OP_REG &&
		    x->operands[1].type == X86_OP_MEM && x->operands[1].mem.base == X86_REG_RIP &&
		    x->operands[1].mem.index == X86_REG_INVALID) {
			if (x->operands[0].reg == reg)
				lea = insn->address + insn->size + (uint64_t)x->operands[1].mem.disp;
		} else if (insn->id == X86_INS_CALL && x->op_count == 1 && x->operands[0].type == X86_OP_IMM) {
			if ((uint64_t)x->operands[0].imm == c.entry)
				found = true;
			else
				lea = 0; /* the register does not survive another call */
		} else {
			/* any other write to the register kills the lea */
			for (uint8_t i = 0; i < x->op_count; i++)
				if (x->operands[i].type == X86_OP_REG && x->operands[i].reg == reg &&
				    (x->operands[i].access & CS_AC_WRITE))
					lea = 0;
		}
	}
	fdec_close(&d);
	if (!found)
		return tli_error_create(TLI_E_NO_INFO, "%s: no direct call to %s", func, callee);
	if (!lea)
		return tli_error_create(TLI_E_NO_INFO, "%s: the argument of its call to %s is not a "
					"RIP-relative lea", func, callee);
	*ret = lea;
	return NULL;
}

static struct tli_error *implausible(const char *name, const char *func, uint64_t a)
{
	return tli_error_create(TLI_E_NO_INFO, "%s found through %s at 0x%llx, which is outside the "
				"data/bss sections: pattern not valid for this binary", name, func,
				(unsigned long long)a);
}

/* runtime.allp: flushmcache reads allp[i] — allp's length (bounds check) and pointer */
/* the first two RIP loads of fn are a slice's pointer and length */
static bool slice_loads(const struct tli_gobin *gb, const char *fn, struct tli_global *ret)
{
	struct ripref refs[MAX_REFS];
	size_t nr;
	if (tli_error_drop(func_refs(gb, fn, refs, MAX_REFS, &nr)))
		return false;
	for (size_t i = 0; i < nr; i++) {
		if (refs[i].kind != REF_LOAD)
			continue;
		for (size_t j = i + 1; j < nr; j++) {
			if (refs[j].kind != REF_LOAD)
				continue;
			uint64_t lo = refs[i].target < refs[j].target ? refs[i].target : refs[j].target;
			uint64_t hi = refs[i].target ^ refs[j].target ^ lo;
			if (hi != lo + 8 || !in_data(gb, lo, 24, false))
				return false;
			*ret = (struct tli_global){ lo, 24 };
			return true;
		}
		return false; /* only the first two loads */
	}
	return false;
}

/* `for _, p := range allp` opens both: flushmcache is inlined into its one caller in small
 * programs, gcMarkTinyAllocs stays a function */
static struct tli_error *find_allp(const struct tli_gobin *gb, struct tli_global *ret)
{
	if (slice_loads(gb, "runtime.flushmcache", ret) || slice_loads(gb, "runtime.gcMarkTinyAllocs", ret))
		return NULL;
	return tli_error_create(TLI_E_NO_INFO, "runtime.allp: the first two RIP loads in runtime.flushmcache "
				"or runtime.gcMarkTinyAllocs are not a slice's pointer and length");
}

/* the size class table: a RIP lea in readmemstats_m to uint16s 0, 8, 16, 24, 32, 48, ... */
static struct tli_error *find_size_table(const struct tli_gobin *gb, const char *name, struct tli_global *ret)
{
	static const uint16_t head[] = { 0, 8, 16, 24, 32, 48 };
	struct ripref refs[MAX_REFS];
	size_t nr;
	struct tli_error *err = func_refs(gb, "runtime.readmemstats_m", refs, MAX_REFS, &nr);
	if (err)
		return err;
	for (size_t i = 0; i < nr; i++) {
		uint16_t v[6];
		if (refs[i].kind != REF_LEA || !in_data(gb, refs[i].target, sizeof(v), false) ||
		    tli_error_drop(tli_gobin_read(gb, refs[i].target, v, sizeof(v))) || memcmp(v, head, sizeof(v)))
			continue;
		*ret = (struct tli_global){ refs[i].target, 0 };
		return NULL;
	}
	return tli_error_create(TLI_E_NO_INFO, "%s: no RIP-relative lea in runtime.readmemstats_m points to "
				"the size class table", name);
}

struct tli_error *tli_gofind_global(const struct tli_gobin *gb, const struct tli_map *m,
				    const char *name, struct tli_global *ret)
{
	struct ripref r, nx;
	struct tli_error *err;
	if (!strcmp(name, "runtime.allgs")) {
		/* forEachG: lock(&allglock); for _, gp := range allgs — ptr then len */
		if ((err = nth_load(gb, "runtime.forEachG", 0, &r, &nx)))
			return err;
		if (nx.target != r.target + 8)
			return tli_error_create(TLI_E_NO_INFO, "runtime.allgs: the loads in runtime.forEachG "
						"(0x%llx, 0x%llx) are not a slice pointer and length",
						(unsigned long long)r.target, (unsigned long long)nx.target);
		if (!in_data(gb, r.target, 24, true))
			return implausible(name, "runtime.forEachG", r.target);
		*ret = (struct tli_global){ r.target, 24 };
		return NULL;
	}
	if (!strcmp(name, "runtime.allglen") || !strcmp(name, "runtime.allgptr")) {
		bool len = !strcmp(name, "runtime.allglen");
		if ((err = nth_load(gb, "runtime.forEachGRace", len ? 0 : 1, &r, NULL)))
			return err;
		if (!in_data(gb, r.target, 8, true))
			return implausible(name, "runtime.forEachGRace", r.target);
		*ret = (struct tli_global){ r.target, 8 };
		return NULL;
	}
	if (!strcmp(name, "runtime.waitReasonStrings")) {
		static const char *const f[] = { "runtime.waitReason.String", "runtime.goroutineheader",
						 "runtime.(*waitReason).String", NULL };
		return find_strtab(gb, m, name, f, ret);
	}
	if (!strcmp(name, "runtime.gStatusStrings")) {
		static const char *const f[] = { "runtime.goroutineheader", "runtime.traceStack", NULL };
		return find_strtab(gb, m, name, f, ret);
	}
	if (!strcmp(name, "runtime.memstats")) {
		uint64_t size = 0;
		if (m) {
			struct tli_error *e = tli_map_type_size(m, "runtime.mstats", &size);
			tli_error_destroy(e);
		}
		struct ripref refs[MAX_REFS];
		size_t nr;
		if ((err = func_refs(gb, "runtime.readmemstats_m", refs, MAX_REFS, &nr)))
			return err;
		for (size_t i = 0; i < nr; i++) {
			if (refs[i].kind != REF_LEA || !in_data(gb, refs[i].target, size ? size : 8, true))
				continue;
			*ret = (struct tli_global){ refs[i].target, size };
			return NULL;
		}
		return tli_error_create(TLI_E_NO_INFO, "runtime.memstats: no RIP-relative lea into .bss in "
					"runtime.readmemstats_m");
	}
	if (!strcmp(name, "runtime.fingStatus") || !strcmp(name, "runtime.fingRunning")) {
		/* 1.21+: fingStatus atomic.Uint32 (constants fing*); ≤1.20: fingRunning bool */
		bool want_status = !strcmp(name, "runtime.fingStatus");
		if (m) {
			int64_t v;
			struct tli_error *e = tli_map_constant(m, "runtime.fingRunningFinalizer", &v);
			bool has_status = !e;
			tli_error_destroy(e);
			if (has_status != want_status)
				return tli_error_create(TLI_E_NO_INFO, "%s does not exist in %s", name,
							tli_map_version(m));
		}
		if ((err = nth_load(gb, "runtime.isSystemGoroutine", 0, &r, NULL)))
			return err;
		uint64_t size = want_status ? 4 : 1;
		if (!in_data(gb, r.target, size, true))
			return implausible(name, "runtime.isSystemGoroutine", r.target);
		*ret = (struct tli_global){ r.target, size };
		return NULL;
	}
	if (!strcmp(name, "runtime.semtable")) {
		/* semacquire1 / semrelease1: the first RIP lea is &semtable (root = semtable.rootFor(addr));
		 * both functions must agree when both decode */
		static const char *const f[] = { "runtime.semacquire1", "runtime.semrelease1" };
		uint64_t got[2] = { 0, 0 };
		char why[300] = "";
		for (int i = 0; i < 2; i++) {
			struct ripref refs[MAX_REFS];
			size_t nr;
			struct tli_error *e = func_refs(gb, f[i], refs, MAX_REFS, &nr);
			if (e) {
				snprintf(why, sizeof(why), "%s: %.200s", f[i], e->msg);
				tli_error_destroy(e);
				continue;
			}
			for (size_t j = 0; j < nr && !got[i]; j++)
				if (refs[j].kind == REF_LEA)
					got[i] = refs[j].target;
		}
		if (got[0] && got[1] && got[0] != got[1])
			return tli_error_create(TLI_E_NO_INFO, "runtime.semtable: semacquire1 and semrelease1 "
						"disagree (0x%llx vs 0x%llx): pattern not valid for this binary",
						(unsigned long long)got[0], (unsigned long long)got[1]);
		uint64_t a = got[0] ? got[0] : got[1];
		if (!a)
			return tli_error_create(TLI_E_NO_INFO, "runtime.semtable: no RIP-relative lea in "
						"runtime.semacquire1 or runtime.semrelease1%s%s", why[0] ? ": " : "", why);
		/* 251 roots of one cache line each (amd64), in .bss */
		if (!in_data(gb, a, 251 * 64, true))
			return implausible(name, "runtime.semacquire1", a);
		ret->addr = a;
		ret->size = 251 * 64;
		return NULL;
	}
	if (!strcmp(name, "runtime.mheap_")) {
		uint64_t size = 0;
		if (m) {
			struct tli_error *e = tli_map_type_size(m, "runtime.mheap", &size);
			tli_error_destroy(e);
		}
		uint64_t a = 0;
		if ((err = lea_arg_of_call(gb, "runtime.mallocinit", "runtime.(*mheap).init", X86_REG_RAX, &a)))
			return tli_error_wrap(err, "runtime.mheap_");
		if (!in_data(gb, a, size ? size : 8, true))
			return implausible(name, "runtime.mallocinit", a);
		*ret = (struct tli_global){ a, size };
		return NULL;
	}
	if (!strcmp(name, "runtime.gcController")) {
		uint64_t size = 0, a;
		if (m)
			tli_error_drop(tli_map_type_size(m, "runtime.gcControllerState", &size));
		if ((err = lea_arg_of_call(gb, "runtime.gcControllerCommit", "runtime.(*gcControllerState).commit",
					   X86_REG_RAX, &a)))
			return tli_error_wrap(err, "runtime.gcController");
		if (!in_data(gb, a, size ? size : 8, false))
			return implausible(name, "runtime.gcControllerCommit", a);
		*ret = (struct tli_global){ a, size };
		return NULL;
	}
	if (!strcmp(name, "runtime.allp"))
		return find_allp(gb, ret);
	if (!strcmp(name, "runtime.class_to_size") || !strcmp(name, "internal/runtime/gc.SizeClassToSize"))
		return find_size_table(gb, name, ret);
	return tli_error_create(TLI_E_NO_INFO, "no rule to find %s without symbols", name);
}
