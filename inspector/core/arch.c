/* SPDX-License-Identifier: MIT */
/*
 * The architecture seam's common part (arch.h): finding an architecture by ELF machine,
 * naming the ones we do not read, registers by name, and Go's frame rule.
 */
#include "arch.h"

#include <elf.h>
#include <stdio.h>
#include <string.h>

static const struct tli_arch *const archs[] = { &tli_arch_x86_64, &tli_arch_arm64 };

const struct tli_arch *tli_arch_by_machine(unsigned m)
{
	for (size_t i = 0; i < sizeof(archs) / sizeof(archs[0]); i++)
		if (archs[i]->elf_machine == m)
			return archs[i];
	return NULL;
}

/* The only place that asks which machine we were built for. */
const struct tli_arch *tli_arch_host(void)
{
#if defined(__x86_64__)
	return &tli_arch_x86_64;
#elif defined(__aarch64__)
	return &tli_arch_arm64;
#else
	return NULL;
#endif
}

const char *tli_arch_machine_name(unsigned m)
{
	switch (m) {
	case EM_X86_64: return "x86-64";
	case EM_AARCH64: return "arm64 (aarch64)";
	case EM_386: return "32-bit x86 (i386)";
	case EM_ARM: return "32-bit ARM";
	case EM_RISCV: return "RISC-V";
	case EM_PPC64: return "64-bit PowerPC";
	case EM_PPC: return "32-bit PowerPC";
	case EM_S390: return "IBM S/390";
	case EM_MIPS: return "MIPS";
	case EM_SPARCV9: return "SPARC v9";
#ifdef EM_LOONGARCH
	case EM_LOONGARCH: return "LoongArch";
#endif
	}
	return NULL;
}

struct tli_error *tli_arch_of_elf(const unsigned char *hdr, size_t len, const char *what,
				  const struct tli_arch **ret)
{
	*ret = NULL;
	if (len < 20 || memcmp(hdr, ELFMAG, SELFMAG))
		return tli_error_create(TLI_E_BAD_FORMAT, "%s is not an ELF file", what);
	unsigned cls = hdr[EI_CLASS], data = hdr[EI_DATA];
	bool big = data == ELFDATA2MSB;
	unsigned m = big ? (unsigned)hdr[18] << 8 | hdr[19] : (unsigned)hdr[19] << 8 | hdr[18];
	const char *bits = cls == ELFCLASS64 ? "64-bit" : cls == ELFCLASS32 ? "32-bit" : "unknown class";
	const char *order = big ? "big-endian" : data == ELFDATA2LSB ? "little-endian" : "unknown byte order";
	const struct tli_arch *a = cls == ELFCLASS64 && data == ELFDATA2LSB ? tli_arch_by_machine(m) : NULL;
	if (a) {
		*ret = a;
		return NULL;
	}
	const char *name = tli_arch_machine_name(m);
	char num[32];
	snprintf(num, sizeof(num), "ELF machine %u", m);
	return tli_error_create(TLI_E_UNSUPPORTED,
				"%s is for %s (ELF machine %u, %s %s); tlinspect reads 64-bit little-endian "
				"x86-64 and arm64 only", what, name ? name : num, m, bits, order);
}

bool tli_arch_reg(const struct tli_arch *a, const struct tli_regs *r, const char *name, uint64_t *v)
{
	if (!strcmp(name, a->pc_name))
		return *v = r->pc, true;
	if (!strcmp(name, a->tp_name))
		return *v = r->tp, true;
	for (unsigned i = 0; i < a->ngpr && i < r->ngpr; i++)
		if (!strcmp(name, a->gpr_names[i]))
			return *v = r->gpr[i], true;
	return false;
}

bool tli_arch_set_reg(const struct tli_arch *a, struct tli_regs *r, const char *name, uint64_t v)
{
	bool known = false;
	if (!strcmp(name, a->pc_name))
		r->pc = v, known = true;
	if (!strcmp(name, a->sp_name))
		r->sp = v, known = true;
	if (!strcmp(name, a->fp_name))
		r->fp = v, known = true;
	if (!strcmp(name, a->tp_name))
		r->tp = v, known = true;
	if (a->lr_name && !strcmp(name, a->lr_name))
		r->lr = v, known = true;
	for (unsigned i = 0; i < a->ngpr; i++) {
		if (!strcmp(name, a->gpr_names[i])) {
			r->gpr[i] = v;
			known = true;
		}
	}
	if (r->ngpr < a->ngpr)
		r->ngpr = a->ngpr;
	return known;
}

uint64_t tli_arch_go_g(const struct tli_arch *a, const struct tli_regs *r)
{
	return a->go_g_gpr >= 0 && (unsigned)a->go_g_gpr < r->ngpr ? r->gpr[a->go_g_gpr] : 0;
}

/*
 * runtime/traceback.go resolveInternal: fp = sp + spdelta (+ the pushed return pc where CALL
 * pushes one); the return pc is at fp-8 (x86), or on link-register machines at 0(SP) once the
 * frame exists, else in LR itself ("innermost && frame.sp < frame.fp || frame.lr == 0").
 */
void tli_arch_go_frame(const struct tli_arch *a, uint64_t sp, uint64_t spdelta, bool innermost, uint64_t lr,
		       struct tli_arch_goframe *out)
{
	*out = (struct tli_arch_goframe){ .fp = sp + spdelta };
	if (!a->go_uses_lr) {
		out->fp += 8;
		out->ret_at = out->fp - 8;
		out->varp = out->fp - 8;
		return;
	}
	out->varp = out->fp;
	if ((innermost && sp < out->fp) || lr == 0)
		out->ret_at = sp;
	else
		out->ret_in_lr = true;
}
