/* SPDX-License-Identifier: MIT */
/*
 * glibc malloc globals in a libc without debug info (the structures and initialisers of
 * glibc's malloc/malloc.c: main_arena, mp_, and the TLS variable tcache):
 *
 *   version     the banner in .rodata: "GNU C Library (...) stable release version 2.36."
 *   main_arena  every RIP-relative operand of the exported malloc functions (mallinfo2,
 *   mp_         mallinfo, malloc_trim, malloc_stats, malloc, free, calloc, realloc, mallopt,
 *               malloc_usable_size), decoded with capstone, minus each member offset of the
 *               struct (from the runtime map) gives candidates; a candidate is kept only if
 *               the libc FILE holds the struct's static initial image there:
 *                 main_arena: all zero except .next == &main_arena (in place, or 0 with an
 *                             R_X86_64_RELATIVE relocation whose addend is &main_arena)
 *                             and .attached_threads == 1;
 *                 mp_:        trim_threshold/top_pad/mmap_threshold 128 KiB, arena_test 8,
 *                             n_mmaps_max 65536, tcache_bins 64, tcache_max_bytes 1032,
 *                             tcache_count 7, counters and sbrk_base 0.
 *               The candidate referenced by the most functions wins; a tie is refused.
 *   tcache      malloc's first 64-bit `fs:[reg]` load whose register was loaded by
 *               `mov r64, [rip+GOT]`: that GOT slot must carry an R_X86_64_TPOFF64
 *               relocation (symbol 0), whose addend is tcache's offset in libc's TLS block
 *               (must lie in PT_TLS's zero-initialised part). A direct `mov r64, fs:[-disp]`
 *               (local-exec) gives the TP offset itself.
 *
 * arm64 (a libc for EM_AARCH64): globals are reached with `adrp Xn, page` then `add Xd, Xn,
 * #lo12` (the address) or `ldr/str [Xn, #lo12]` (a load or store): those are the references
 * that vote, relocations R_AARCH64_RELATIVE. tcache: malloc loads a GOT slot (`adrp; ldr Xg,
 * [Xg, #lo12]`, an R_AARCH64_TLS_TPREL64 slot: after loading, the variable's offset from
 * TPIDR_EL0), reads `mrs Xt, tpidr_el0`, and its first 64-bit TLS load is `ldr [Xt, Xg]` or,
 * through `add Xb, Xt, Xg`, `ldr [Xb, #disp]` (the slot names the first of malloc.c's TLS
 * variables; tcache is disp further): the slot plus disp.
 *
 * The image is untrusted: every address is range-checked against PT_LOAD file contents,
 * every loop is bounded; a malformed file gives an error, never a crash.
 */
#include "core/bytes.h"
#include "core/fileio.h"
#include "core/search.h"
#include "core/vec.h"
#include "runtime_maps/maps.h"

#include <capstone/capstone.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_IMAGE (512ull << 20)
#define MAX_FUNC_BYTES (64u << 10)
#define MAX_REFS 8192
#define MAX_LOADS 32
#define MAX_RELOCS 8000000u
#define MAX_SYMS 2000000u

#ifndef R_X86_64_RELATIVE
#define R_X86_64_RELATIVE 8
#endif
#ifndef R_X86_64_TPOFF64
#define R_X86_64_TPOFF64 18
#endif
#ifndef EM_AARCH64
#define EM_AARCH64 183
#endif
#define R_AARCH64_RELATIVE_ 1027
#define R_AARCH64_TLS_TPREL64_ 1030
/* the mrs operand of TPIDR_EL0 (S3_3_C13_C0_2) as capstone encodes system registers */
#define A64_TPIDR_EL0 ((3u << 14) | (3u << 11) | (13u << 7) | (0u << 3) | 2u)

/* the two relocation kinds the checks use, whatever the machine calls them */
enum { REL_RELATIVE = 1, REL_TPOFF = 2 };

struct seg { uint64_t vaddr, off, filesz; };
struct rel { uint64_t off; int64_t addend; uint32_t type; };
TLI_VEC(relvec, struct rel);

struct img {
	const char *name;
	const uint8_t *d;
	size_t len;
	Elf *e;
	struct seg load[MAX_LOADS];
	size_t nload;
	bool has_tls;
	bool arm64;        /* EM_AARCH64, else EM_X86_64 */
	uint64_t tls_filesz, tls_memsz;
	struct relvec rel; /* REL_RELATIVE and REL_TPOFF (symbol 0), sorted by offset */
};

/* ---------------------------------------------------------------- image */

static const uint8_t *view(const struct img *im, uint64_t va, uint64_t n)
{
	for (size_t i = 0; i < im->nload; i++) {
		const struct seg *s = &im->load[i];
		if (va < s->vaddr || va - s->vaddr > s->filesz || n > s->filesz - (va - s->vaddr))
			continue;
		return im->d + s->off + (va - s->vaddr);
	}
	return NULL;
}

static int cmp_rel(const void *a, const void *b)
{
	const struct rel *x = a, *y = b;
	return x->off < y->off ? -1 : x->off > y->off;
}

static const struct rel *rel_at(const struct img *im, uint64_t off, uint32_t type)
{
	const struct relvec *r = &im->rel;
	for (size_t i = tli_lower_bound(r->n, k, r->v[k].off < off); i < r->n && r->v[i].off == off; i++)
		if (r->v[i].type == type)
			return &r->v[i];
	return NULL;
}

static void img_close(struct img *im)
{
	if (im->e)
		elf_end(im->e);
	tli_vec_free(&im->rel);
	memset(im, 0, sizeof(*im));
}

static struct tli_error *img_open(struct img *im, const void *d, size_t len, const char *name)
{
	memset(im, 0, sizeof(*im));
	im->name = name;
	im->d = d;
	im->len = len;
	elf_version(EV_CURRENT);
	im->e = elf_memory((char *)d, len);
	GElf_Ehdr eh;
	if (!im->e || elf_kind(im->e) != ELF_K_ELF || !gelf_getehdr(im->e, &eh))
		return tli_error_create(TLI_E_BAD_FORMAT, "%s is not an ELF file", name);
	if (gelf_getclass(im->e) != ELFCLASS64 || (eh.e_machine != EM_X86_64 && eh.e_machine != EM_AARCH64))
		return tli_error_create(TLI_E_UNSUPPORTED, "%s is not an x86-64 or arm64 ELF file (only those "
					"libcs are decoded without debug info)", name);
	im->arm64 = eh.e_machine == EM_AARCH64;
	const uint32_t t_rel = im->arm64 ? R_AARCH64_RELATIVE_ : R_X86_64_RELATIVE;
	const uint32_t t_tpoff = im->arm64 ? R_AARCH64_TLS_TPREL64_ : R_X86_64_TPOFF64;
	size_t phnum = 0;
	if (elf_getphdrnum(im->e, &phnum) != 0 || phnum > 4096)
		return tli_error_create(TLI_E_BAD_FORMAT, "%s: bad program header table", name);
	for (size_t i = 0; i < phnum; i++) {
		GElf_Phdr ph;
		if (!gelf_getphdr(im->e, (int)i, &ph))
			return tli_error_create(TLI_E_BAD_FORMAT, "%s: unreadable program header %zu", name, i);
		if (ph.p_type == PT_LOAD && im->nload < MAX_LOADS) {
			if (ph.p_offset > len || ph.p_filesz > len - ph.p_offset || ph.p_filesz > ph.p_memsz)
				return tli_error_create(TLI_E_BAD_FORMAT, "%s: PT_LOAD %zu (offset 0x%" PRIx64
							", %" PRIu64 " bytes) lies outside the file (%zu bytes)",
							name, i, (uint64_t)ph.p_offset, (uint64_t)ph.p_filesz, len);
			im->load[im->nload++] = (struct seg){ ph.p_vaddr, ph.p_offset, ph.p_filesz };
		} else if (ph.p_type == PT_TLS) {
			im->has_tls = true;
			im->tls_filesz = ph.p_filesz;
			im->tls_memsz = ph.p_memsz;
		}
	}
	if (!im->nload)
		return tli_error_create(TLI_E_BAD_FORMAT, "%s has no PT_LOAD segment", name);
	/* relocations: only the two kinds the checks use */
	Elf_Scn *scn = NULL;
	for (int guard = 0; guard < 65536 && (scn = elf_nextscn(im->e, scn)); guard++) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_RELA || sh.sh_entsize != sizeof(Elf64_Rela))
			continue;
		Elf_Data *data = elf_getdata(scn, NULL);
		if (!data)
			continue;
		size_t n = data->d_size / sizeof(Elf64_Rela);
		for (size_t i = 0; i < n && im->rel.n < MAX_RELOCS; i++) {
			GElf_Rela r;
			if (!gelf_getrela(data, (int)i, &r))
				break;
			uint32_t rt = (uint32_t)GELF_R_TYPE(r.r_info);
			uint32_t type = rt == t_rel ? REL_RELATIVE : rt == t_tpoff ? REL_TPOFF : 0;
			if (!type || GELF_R_SYM(r.r_info) != 0)
				continue;
			if (!tli_vec_push(&im->rel, ((struct rel){ r.r_offset, r.r_addend, type })))
				return &tli_enomem;
		}
	}
	if (im->rel.n)
		qsort(im->rel.v, im->rel.n, sizeof(*im->rel.v), cmp_rel);
	return NULL;
}

/* Defined FUNC symbol `name` in .dynsym (or .symtab). */
static bool find_func(const struct img *im, const char *name, uint64_t *va, uint64_t *size)
{
	Elf_Scn *scn = NULL;
	for (int guard = 0; guard < 65536 && (scn = elf_nextscn(im->e, scn)); guard++) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh) || (sh.sh_type != SHT_DYNSYM && sh.sh_type != SHT_SYMTAB) ||
		    sh.sh_entsize != sizeof(Elf64_Sym))
			continue;
		Elf_Data *data = elf_getdata(scn, NULL);
		if (!data)
			continue;
		size_t n = data->d_size / sizeof(Elf64_Sym);
		for (size_t i = 0; i < n && i < MAX_SYMS; i++) {
			GElf_Sym s;
			if (!gelf_getsym(data, (int)i, &s))
				break;
			if (GELF_ST_TYPE(s.st_info) != STT_FUNC || s.st_shndx == SHN_UNDEF || !s.st_size)
				continue;
			const char *sn = elf_strptr(im->e, sh.sh_link, s.st_name);
			if (sn && !strcmp(sn, name)) {
				*va = s.st_value;
				*size = s.st_size;
				return true;
			}
		}
	}
	return false;
}

/* ---------------------------------------------------------------- decoding */

struct ref {
	uint64_t target;
	uint16_t func;   /* index into the function list */
};

struct tlsuse {
	bool found, direct;
	uint64_t got;    /* GOT slot (link-time) */
	int64_t tpoff;   /* direct form */
	uint64_t insn;
	int64_t disp;    /* arm64: the variable is this far past the slot's (0 on x86-64) */
};

static bool is_gpr64(x86_reg r)
{
	switch (r) {
	case X86_REG_RAX: case X86_REG_RBX: case X86_REG_RCX: case X86_REG_RDX: case X86_REG_RSI:
	case X86_REG_RDI: case X86_REG_RBP: case X86_REG_RSP: case X86_REG_R8: case X86_REG_R9:
	case X86_REG_R10: case X86_REG_R11: case X86_REG_R12: case X86_REG_R13: case X86_REG_R14:
	case X86_REG_R15:
		return true;
	default:
		return false;
	}
}

/* Xn for Wn (a 32-bit write clears the register's top half), the register itself otherwise */
static unsigned a64x(unsigned r)
{
	if (r >= ARM64_REG_W0 && r <= ARM64_REG_W30) {
		unsigned k = r - ARM64_REG_W0;
		return k <= 28 ? ARM64_REG_X0 + k : k == 29 ? ARM64_REG_X29 : ARM64_REG_X30;
	}
	return r < ARM64_REG_ENDING ? r : ARM64_REG_INVALID;
}

static bool a64_is_x(unsigned r)
{
	return (r >= ARM64_REG_X0 && r <= ARM64_REG_X28) || r == ARM64_REG_X29 || r == ARM64_REG_X30;
}

/* instructions whose first operand is read, not written */
static bool a64_no_dest(unsigned id)
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

/* What an arm64 register holds, as far as the decoder follows it. */
struct a64reg {
	uint64_t addr;  /* ADRP page (+ ADD lo12): an address */
	uint64_t got;   /* the value of this GOT slot (loaded by adrp + 64-bit ldr) */
	uint64_t tlsb;  /* TPIDR_EL0 + the value of this GOT slot */
	bool has_addr, tp;
};

/* The x86 decoder's job for arm64 (see the top): ADRP-based references into refs, and the
 * first TLS load. A call forgets the caller-saved registers (x0..x18, x30). */
static struct tli_error *decode_arm64(const uint8_t *code, uint16_t fi, uint64_t va, uint64_t size,
				      struct ref *refs, size_t max, size_t *n, struct tlsuse *tls)
{
	csh h;
	if (cs_open(CS_ARCH_ARM64, CS_MODE_ARM, &h) != CS_ERR_OK)
		return tli_error_create(TLI_E_INTERNAL, "capstone: cannot open an arm64 decoder");
	cs_option(h, CS_OPT_DETAIL, CS_OPT_ON);
	cs_insn *insn = cs_malloc(h);
	if (!insn) {
		cs_close(&h);
		return &tli_enomem;
	}
	struct a64reg R[ARM64_REG_ENDING];
	memset(R, 0, sizeof(R));
	const uint8_t *p = code;
	size_t left = (size_t)size;
	uint64_t addr = va;
	while (left >= 4) {
		if (!cs_disasm_iter(h, &p, &left, &addr, insn)) {
			p += 4, left -= 4, addr += 4; /* an extension this capstone does not know */
			continue;
		}
		const cs_arm64 *a = &insn->detail->arm64;
		const cs_arm64_op *o = a->operands;
		unsigned d = a->op_count && o[0].type == ARM64_OP_REG ? a64x(o[0].reg) : ARM64_REG_INVALID;
		struct a64reg nd = { 0 };
		bool set = false;
		if (insn->id == ARM64_INS_BL || insn->id == ARM64_INS_BLR) {
			for (unsigned r = ARM64_REG_X0; r <= ARM64_REG_X18; r++)
				R[r] = (struct a64reg){ 0 };
			R[ARM64_REG_X30] = (struct a64reg){ 0 };
			continue;
		}
		if (insn->id == ARM64_INS_ADRP && a->op_count == 2 && o[1].type == ARM64_OP_IMM) {
			nd = (struct a64reg){ .addr = (uint64_t)o[1].imm, .has_addr = true };
			set = true;
		} else if (insn->id == ARM64_INS_MRS && a->op_count == 2 && o[1].type == ARM64_OP_REG_MRS &&
			   o[1].reg == A64_TPIDR_EL0) {
			nd.tp = set = true;
		} else if (insn->id == ARM64_INS_ADD && a->op_count == 3 && o[1].type == ARM64_OP_REG) {
			const struct a64reg *b = &R[a64x(o[1].reg)];
			if (o[2].type == ARM64_OP_IMM && o[2].shift.type == ARM64_SFT_INVALID && b->has_addr) {
				nd = (struct a64reg){ .addr = b->addr + (uint64_t)o[2].imm, .has_addr = true };
				if (*n < max)
					refs[(*n)++] = (struct ref){ nd.addr, fi };
				set = true;
			} else if (o[2].type == ARM64_OP_REG && o[2].shift.type == ARM64_SFT_INVALID) {
				const struct a64reg *c = &R[a64x(o[2].reg)];
				nd.tlsb = b->tp && c->got ? c->got : c->tp && b->got ? b->got : 0;
				set = nd.tlsb != 0;
			}
		}
		for (uint8_t i = 1; !set && i < a->op_count && i < 8; i++) {
			if (o[i].type != ARM64_OP_MEM)
				continue;
			const struct a64reg *b = &R[a64x(o[i].mem.base)];
			bool x_load = insn->id == ARM64_INS_LDR && i == 1 && a64_is_x(o[0].reg);
			if (o[i].mem.index == ARM64_REG_INVALID && b->has_addr && !a->writeback) {
				uint64_t t = b->addr + (uint64_t)(int64_t)o[i].mem.disp;
				if (*n < max)
					refs[(*n)++] = (struct ref){ t, fi };
				if (x_load) /* perhaps a GOT slot: the relocation is checked on the TLS use */
					nd.got = t, set = true;
			}
			if (!tls || tls->found || !x_load)
				continue;
			const struct a64reg *x = &R[a64x(o[i].mem.index)];
			uint64_t slot = 0;
			if (o[i].mem.index == ARM64_REG_INVALID && b->tlsb)
				slot = b->tlsb;
			else if (o[i].mem.index != ARM64_REG_INVALID && o[i].mem.disp == 0 && !o[i].shift.value)
				slot = b->tp && x->got ? x->got : x->tp && b->got ? b->got : 0;
			if (slot)
				*tls = (struct tlsuse){ true, false, slot, 0, insn->address, o[i].mem.disp };
		}
		/* any other write to a register forgets what it held */
		if (d != ARM64_REG_INVALID && (set || !a64_no_dest(insn->id)))
			R[d] = nd;
	}
	cs_free(insn, 1);
	cs_close(&h);
	return NULL;
}

/*
 * Decode [va, va+size): append RIP-relative targets to refs (tagged `fi`), and, if `tls`
 * is given, find the first TLS load as described at the top.
 */
static struct tli_error *decode(const struct img *im, const char *fname, uint16_t fi, uint64_t va,
				uint64_t size, struct ref *refs, size_t max, size_t *n, struct tlsuse *tls)
{
	if (size > MAX_FUNC_BYTES)
		return tli_error_create(TLI_E_BAD_FORMAT, "%s: %s at 0x%" PRIx64 " has an implausible size "
					"(%" PRIu64 " bytes)", im->name, fname, va, size);
	const uint8_t *code = view(im, va, size);
	if (!code)
		return tli_error_create(TLI_E_BAD_FORMAT, "%s: code of %s [0x%" PRIx64 ", +%" PRIu64 ") is not "
					"in the file", im->name, fname, va, size);
	if (im->arm64)
		return decode_arm64(code, fi, va, size, refs, max, n, tls);
	csh h;
	if (cs_open(CS_ARCH_X86, CS_MODE_64, &h) != CS_ERR_OK)
		return tli_error_create(TLI_E_INTERNAL, "capstone: cannot open an x86-64 decoder");
	cs_option(h, CS_OPT_DETAIL, CS_OPT_ON);
	cs_insn *insn = cs_malloc(h);
	if (!insn) {
		cs_close(&h);
		return &tli_enomem;
	}
	uint64_t gotreg[X86_REG_ENDING];   /* register -> TPOFF64 GOT slot it was loaded from */
	memset(gotreg, 0, sizeof(gotreg));
	const uint8_t *p = code;
	size_t left = (size_t)size;
	uint64_t addr = va;
	while (left && cs_disasm_iter(h, &p, &left, &addr, insn)) {
		cs_x86 *x = &insn->detail->x86;
		bool handled = false;
		for (uint8_t i = 0; i < x->op_count && i < 8; i++) {
			cs_x86_op *op = &x->operands[i];
			if (op->type != X86_OP_MEM)
				continue;
			if (op->mem.base == X86_REG_RIP && op->mem.index == X86_REG_INVALID && *n < max)
				refs[(*n)++] = (struct ref){ insn->address + insn->size + (uint64_t)op->mem.disp, fi };
			if (!tls || tls->found)
				continue;
			bool load64 = insn->id == X86_INS_MOV && x->op_count == 2 && i == 1 &&
				      x->operands[0].type == X86_OP_REG && is_gpr64(x->operands[0].reg) &&
				      op->size == 8;
			if (op->mem.base == X86_REG_RIP && op->mem.index == X86_REG_INVALID && load64) {
				/* any GOT-like load: the relocation is checked on the first fs: use */
				gotreg[x->operands[0].reg] = insn->address + insn->size + (uint64_t)op->mem.disp;
				handled = true;
			} else if (op->mem.segment == X86_REG_FS && load64) {
				if (op->mem.base != X86_REG_INVALID && op->mem.base < X86_REG_ENDING &&
				    op->mem.index == X86_REG_INVALID && op->mem.disp == 0 && gotreg[op->mem.base]) {
					*tls = (struct tlsuse){ true, false, gotreg[op->mem.base], 0, insn->address, 0 };
				} else if (op->mem.base == X86_REG_INVALID && op->mem.index == X86_REG_INVALID &&
					   op->mem.disp < 0) {
					*tls = (struct tlsuse){ true, true, 0, op->mem.disp, insn->address, 0 };
				}
			}
		}
		/* any other write to a register forgets where it came from */
		if (tls && !handled && x->op_count >= 1 && x->operands[0].type == X86_OP_REG &&
		    (x->operands[0].access & CS_AC_WRITE) && x->operands[0].reg < X86_REG_ENDING)
			gotreg[x->operands[0].reg] = 0;
	}
	cs_free(insn, 1);
	cs_close(&h);
	return NULL;
}

/* ---------------------------------------------------------------- image checks */

static bool member(const struct tli_map *m, const char *type, const char *name, struct tli_member *ret)
{
	struct tli_error *e = tli_map_member(m, type, name, ret);
	tli_error_destroy(e);
	return !e && ret->size >= 1 && ret->size <= 8;
}

/* Why `cand` is not main_arena's initial image (NULL: it is). */
static const char *check_arena(const struct img *im, const struct tli_map *m, uint64_t cand)
{
	uint64_t size;
	struct tli_member next, att;
	struct tli_error *e = tli_map_type_size(m, "malloc_state", &size);
	tli_error_destroy(e);
	if (e || !member(m, "malloc_state", "next", &next) || !member(m, "malloc_state", "attached_threads", &att) ||
	    size < 16 || size > 65536 || next.offset + 8 > size || att.offset + att.size > size)
		return "the runtime map lacks malloc_state (size, next, attached_threads)";
	if (cand & 7)
		return "misaligned";
	const uint8_t *w = view(im, cand, size);
	if (!w)
		return "not initialised data in the file";
	for (uint64_t i = 0; i < size; i++) {
		if (!w[i])
			continue;
		if ((i >= next.offset && i < next.offset + 8) || (i >= att.offset && i < att.offset + att.size))
			continue;
		return "nonzero bytes outside next/attached_threads";
	}
	if (tli_rdn(w + att.offset, (uint32_t)att.size) != 1)
		return "attached_threads is not 1";
	uint64_t nv = tli_rd64(w + next.offset);
	if (nv == cand)
		return NULL;
	const struct rel *r = nv == 0 ? rel_at(im, cand + next.offset, REL_RELATIVE) : NULL;
	if (r && (uint64_t)r->addend == cand)
		return NULL;
	return "next does not point to itself";
}

static const char *check_mp(const struct img *im, const struct tli_map *m, uint64_t cand)
{
	static const struct { const char *name; uint64_t v; } want[] = {
		{ "trim_threshold", 128 * 1024 }, { "top_pad", 128 * 1024 }, { "mmap_threshold", 128 * 1024 },
		{ "arena_test", 8 }, { "n_mmaps_max", 65536 }, { "tcache_bins", 64 }, { "tcache_small_bins", 64 },
		{ "tcache_max_bytes", 1032 }, { "tcache_count", 7 }, { "arena_max", 0 }, { "n_mmaps", 0 },
		{ "max_n_mmaps", 0 }, { "no_dyn_threshold", 0 }, { "mmapped_mem", 0 }, { "max_mmapped_mem", 0 },
		{ "sbrk_base", 0 }, { "hp_pagesize", 0 }, { "thp_pagesize", 0 }, { "hp_flags", 0 },
	};
	uint64_t size;
	struct tli_error *e = tli_map_type_size(m, "malloc_par", &size);
	tli_error_destroy(e);
	if (e || size < 16 || size > 4096)
		return "the runtime map lacks malloc_par";
	if (cand & 7)
		return "misaligned";
	const uint8_t *w = view(im, cand, size);
	if (!w)
		return "not initialised data in the file";
	int checked = 0;
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		struct tli_member mb;
		if (!member(m, "malloc_par", want[i].name, &mb) || mb.offset + mb.size > size)
			continue;
		if (tli_rdn(w + mb.offset, (uint32_t)mb.size) != want[i].v)
			return "a field differs from glibc's static initialiser";
		checked++;
	}
	return checked >= 8 ? NULL : "the runtime map names too few malloc_par fields to check";
}

/* ---------------------------------------------------------------- candidates */

static const char *const funcs[] = {
	"mallinfo2", "mallinfo", "malloc_trim", "malloc_stats", "malloc", "__libc_malloc", "free",
	"calloc", "realloc", "mallopt", "malloc_usable_size",
};
#define NFUNCS (sizeof(funcs) / sizeof(funcs[0]))

struct cand { uint64_t addr; uint32_t funcs; /* bitmask */ };

static struct tli_error *vote(const struct img *im, const struct tli_map *m, const char *what,
			      const char *type, const struct ref *refs, size_t nrefs, const char *tried,
			      uint64_t *ret, unsigned *votes_ret)
{
	/* distinct member offsets of the struct (0 included) */
	uint64_t offs[256];
	size_t noffs = 0;
	offs[noffs++] = 0;
	for (size_t i = 0; i < tli_map_nmembers(m) && noffs < 256; i++) {
		const char *t, *pth;
		struct tli_member mb;
		tli_map_member_at(m, i, &t, &pth, &mb);
		if (!t || strcmp(t, type))
			continue;
		bool dup = false;
		for (size_t j = 0; j < noffs && !dup; j++)
			dup = offs[j] == mb.offset;
		if (!dup)
			offs[noffs++] = mb.offset;
	}
	struct cand c[64];
	size_t nc = 0;
	const char *why_first = NULL;
	for (size_t i = 0; i < nrefs; i++) {
		for (size_t k = 0; k < noffs; k++) {
			if (refs[i].target < offs[k])
				continue;
			uint64_t a = refs[i].target - offs[k];
			size_t j;
			for (j = 0; j < nc && c[j].addr != a; j++)
				;
			if (j < nc) {
				c[j].funcs |= 1u << refs[i].func;
				continue;
			}
			const char *why = !strcmp(type, "malloc_state") ? check_arena(im, m, a) : check_mp(im, m, a);
			if (why) {
				if (k == 0 && !why_first && strstr(why, "map"))
					why_first = why;
				continue;
			}
			if (nc < 64)
				c[nc++] = (struct cand){ a, 1u << refs[i].func };
		}
	}
	if (why_first && !nc)
		return tli_error_create(TLI_E_NO_INFO, "%s: %s not found: %s", im->name, what, why_first);
	size_t best = SIZE_MAX;
	unsigned bv = 0, second = 0;
	for (size_t j = 0; j < nc; j++) {
		unsigned v = (unsigned)__builtin_popcount(c[j].funcs);
		if (v > bv) {
			second = bv;
			bv = v;
			best = j;
		} else if (v > second) {
			second = v;
		}
	}
	if (best == SIZE_MAX)
		return tli_error_create(TLI_E_NO_INFO, "%s: %s not found: no RIP-relative operand of %s points "
					"at its static initial image in the file", im->name, what, tried);
	if (second == bv)
		return tli_error_create(TLI_E_NO_INFO, "%s: %s is ambiguous: %zu places hold its initial image "
					"and are referenced equally often", im->name, what, nc);
	*ret = c[best].addr;
	*votes_ret = bv;
	return NULL;
}

/* ---------------------------------------------------------------- API */

/* What decoding the exported malloc functions found. */
struct decoded {
	struct ref *refs;        /* RIP-relative targets, tagged with their function */
	size_t nrefs, ndone;     /* ndone: functions decoded */
	char tried[400];         /* their names, for messages */
	struct tlsuse tls;       /* malloc's first TLS load (when asked for) */
	const char *tls_func;
};

/* Decode each exported malloc function once (aliases share an address). */
static void decode_funcs(const struct img *im, unsigned what, struct decoded *dc)
{
	uint64_t done_va[NFUNCS];
	size_t tl = 0;
	for (size_t i = 0; i < NFUNCS; i++) {
		uint64_t va, size;
		if (!find_func(im, funcs[i], &va, &size))
			continue;
		bool dup = false;
		for (size_t j = 0; j < dc->ndone && !dup; j++)
			dup = done_va[j] == va;
		if (dup)
			continue; /* __libc_malloc == malloc */
		done_va[dc->ndone++] = va;
		bool want_tls = (what & TLI_LIBCFIND_TCACHE) && !dc->tls.found &&
				(!strcmp(funcs[i], "malloc") || !strcmp(funcs[i], "__libc_malloc"));
		struct tli_error *e = decode(im, funcs[i], (uint16_t)i, va, size, dc->refs, MAX_REFS, &dc->nrefs,
					     want_tls ? &dc->tls : NULL);
		if (e) {
			/* one bad function body is not fatal: the others may still vote */
			tli_error_destroy(e);
			continue;
		}
		if (want_tls && dc->tls.found)
			dc->tls_func = funcs[i];
		tl += (size_t)snprintf(dc->tried + tl, tl < sizeof(dc->tried) ? sizeof(dc->tried) - tl : 0, "%s%s",
				       tl ? ", " : "", funcs[i]);
	}
}

/* tcache's TLS slot from malloc's first TLS load: the offset itself (local-exec), or a GOT
 * slot whose TPOFF64 relocation names an 8-byte zero-initialised variable of PT_TLS. */
static struct tli_error *tcache_slot(const struct img *im, const char *name, const struct decoded *dc,
				     struct tli_libcfind *ret)
{
	const struct tlsuse *tls = &dc->tls;
	const char *fn = dc->tls_func ? dc->tls_func : "malloc";
	if (!tls->found)
		return tli_error_create(TLI_E_NO_INFO, "%s: tcache's TLS slot not found: malloc has no %s", name,
					im->arm64 ? "`adrp; ldr Xg, [Xg, #lo12]` (R_AARCH64_TLS_TPREL64 slot) "
						    "followed by a 64-bit load from tpidr_el0 + Xg"
						  : "`mov r64, [rip+GOT]` (R_X86_64_TPOFF64 slot) followed by a "
						    "64-bit fs:[r64] load");
	if (tls->direct) {
		ret->tcache_direct = true;
		ret->tcache_tpoff = tls->tpoff;
		ret->has_tcache = true;
		return NULL;
	}
	const struct rel *r = rel_at(im, tls->got, REL_TPOFF);
	uint64_t a = r ? (uint64_t)r->addend + (uint64_t)tls->disp : 0;
	if (!r)
		return tli_error_create(TLI_E_NO_INFO, "%s: tcache's TLS slot: the GOT slot 0x%" PRIx64
					" that %s loads at 0x%" PRIx64 " before its first thread-pointer access "
					"has no %s relocation", name, tls->got, fn, tls->insn,
					im->arm64 ? "R_AARCH64_TLS_TPREL64" : "R_X86_64_TPOFF64");
	if (!im->has_tls || (a & 7) || a < im->tls_filesz || a > im->tls_memsz || im->tls_memsz - a < 8)
		return tli_error_create(TLI_E_NO_INFO, "%s: tcache's TLS slot: the GOT slot 0x%" PRIx64
					" loaded by %s at 0x%" PRIx64 " has TLS offset 0x%" PRIx64
					", not an 8-byte zero-initialised variable of PT_TLS "
					"(file %" PRIu64 ", memory %" PRIu64 " bytes)", name, tls->got,
					fn, tls->insn, a, im->tls_filesz, im->tls_memsz);
	ret->tcache_got = tls->got;
	ret->tcache_tls_offset = a;
	ret->tcache_disp = tls->disp;
	ret->has_tcache = true;
	return NULL;
}

struct tli_error *tli_libcfind_mem(const void *image, size_t len, const char *name, const struct tli_map *m,
				   unsigned what, struct tli_libcfind *ret)
{
	memset(ret, 0, sizeof(*ret));
	if ((what & (TLI_LIBCFIND_ARENA | TLI_LIBCFIND_MP)) && !m)
		return tli_error_create(TLI_E_INTERNAL, "libc finder: main_arena/mp_ need a runtime map");
	struct img im;
	struct decoded dc = { 0 };
	struct tli_error *err = img_open(&im, image, len, name);
	if (err)
		goto out;
	if (!(dc.refs = malloc(MAX_REFS * sizeof(*dc.refs)))) {
		err = &tli_enomem;
		goto out;
	}
	decode_funcs(&im, what, &dc);
	if (!dc.ndone) {
		err = tli_error_create(TLI_E_NO_INFO, "%s exports none of the malloc functions (malloc, free, "
				       "mallinfo2, malloc_trim, ...) in its dynamic symbol table", name);
		goto out;
	}
	if ((what & TLI_LIBCFIND_ARENA) &&
	    (err = vote(&im, m, "main_arena", "malloc_state", dc.refs, dc.nrefs, dc.tried, &ret->main_arena,
			&ret->main_arena_votes)))
		goto out;
	if ((what & TLI_LIBCFIND_MP) &&
	    (err = vote(&im, m, "mp_", "malloc_par", dc.refs, dc.nrefs, dc.tried, &ret->mp, &ret->mp_votes)))
		goto out;
	if (what & TLI_LIBCFIND_TCACHE)
		err = tcache_slot(&im, name, &dc, ret);
out:
	free(dc.refs);
	img_close(&im);
	return err;
}

/* Read a whole regular file (bounded). */
static struct tli_error *slurp(const char *path, uint8_t **buf, size_t *len)
{
	*buf = NULL;
	*len = 0;
	int fd = tli_open_regular(path);
	if (fd < 0)
		return tli_error_errno(errno == ENOENT ? TLI_E_NO_TARGET : TLI_E_PERM, errno, "cannot open %s", path);
	struct stat st;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size <= 0 || (uint64_t)st.st_size > MAX_IMAGE) {
		close(fd);
		return tli_error_create(TLI_E_BAD_FORMAT, "%s is not a regular file of 1 byte to %llu MiB", path,
					MAX_IMAGE >> 20);
	}
	size_t n = (size_t)st.st_size, got = 0;
	uint8_t *b = malloc(n);
	if (!b) {
		close(fd);
		return &tli_enomem;
	}
	while (got < n) {
		ssize_t r = read(fd, b + got, n - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	close(fd);
	*buf = b;
	*len = got;
	return NULL;
}

struct tli_error *tli_libcfind_file(const char *path, const struct tli_map *m, unsigned what,
				    struct tli_libcfind *ret)
{
	uint8_t *buf;
	size_t len;
	struct tli_error *err = slurp(path, &buf, &len);
	if (err)
		return err;
	err = tli_libcfind_mem(buf, len, path, m, what, ret);
	free(buf);
	return err;
}

struct tli_error *tli_libc_version_mem(const void *image, size_t len, const char *name, char *key, size_t keycap,
				       char *banner, size_t bannercap)
{
	static const char pat[] = "release version ";
	const uint8_t *d = image;
	if (keycap)
		key[0] = 0;
	if (bannercap)
		banner[0] = 0;
	const uint8_t *p = d;
	size_t left = len;
	for (int guard = 0; guard < 100000; guard++) {
		const uint8_t *hit = memmem(p, left, pat, sizeof(pat) - 1);
		if (!hit)
			break;
		size_t at = (size_t)(hit - d) + sizeof(pat) - 1;
		left = len - at;
		p = d + at;
		/* "2.36" (MAJOR.MINOR, digits only) */
		size_t i = 0;
		unsigned long maj = 0, min = 0;
		int nd1 = 0, nd2 = 0;
		while (i < left && d[at + i] >= '0' && d[at + i] <= '9' && nd1 < 4)
			maj = maj * 10 + (unsigned long)(d[at + i++] - '0'), nd1++;
		if (!nd1 || i >= left || d[at + i] != '.')
			continue;
		i++;
		while (i < left && d[at + i] >= '0' && d[at + i] <= '9' && nd2 < 4)
			min = min * 10 + (unsigned long)(d[at + i++] - '0'), nd2++;
		if (!nd2)
			continue;
		/* the banner line starts with "GNU C Library" shortly before, printable in between */
		size_t hs = (size_t)(hit - d), start = SIZE_MAX;
		for (size_t st = hs; st > 0 && hs - st < 200; st--) {
			uint8_t ch = d[st - 1];
			if (ch < 0x20 || ch >= 0x7f)
				break;
			if (hs - (st - 1) >= 13 && !memcmp(d + st - 1, "GNU C Library", 13)) {
				start = st - 1;
				break;
			}
		}
		if (start == SIZE_MAX)
			continue;
		size_t end = at + i;
		if (keycap)
			snprintf(key, keycap, "%lu.%lu", maj, min);
		if (bannercap) {
			size_t bl = end - start;
			if (bl >= bannercap)
				bl = bannercap - 1;
			memcpy(banner, d + start, bl);
			banner[bl] = 0;
		}
		return NULL;
	}
	return tli_error_create(TLI_E_NO_INFO, "%s has no glibc version banner (\"GNU C Library ... release "
				"version 2.NN\")", name);
}

struct tli_error *tli_libc_version(const char *path, char *key, size_t keycap, char *banner, size_t bannercap)
{
	uint8_t *buf;
	size_t len;
	struct tli_error *err = slurp(path, &buf, &len);
	if (err)
		return err;
	err = tli_libc_version_mem(buf, len, path, key, keycap, banner, bannercap);
	free(buf);
	return err;
}
