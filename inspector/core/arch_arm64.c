/* SPDX-License-Identifier: MIT */
/*
 * arm64 / aarch64 (arch.h). pr_reg is the kernel's struct user_pt_regs (arch/arm64/include/
 * uapi/asm/ptrace.h): regs[31] (x0..x30), sp, pc, pstate. x29 is the frame pointer, x30 the
 * link register; the thread pointer TPIDR_EL0 is not in pr_reg but in its own regset
 * (NT_ARM_TLS, 0x401). Go keeps g in R28 and uses the link register (sys.MinFrameSize 8,
 * StackAlign 16): a non-leaf frame saves LR at 0(SP) in its prologue.
 */
#include "arch.h"

#include <elf.h>

#include "bytes.h"

#ifndef EM_AARCH64
#define EM_AARCH64 183
#endif
#define NT_ARM_TLS_NOTE 0x401

static const char *const gpr_names[] = {
	"x0",  "x1",  "x2",  "x3",  "x4",  "x5",  "x6",  "x7",  "x8",  "x9",  "x10",
	"x11", "x12", "x13", "x14", "x15", "x16", "x17", "x18", "x19", "x20", "x21",
	"x22", "x23", "x24", "x25", "x26", "x27", "x28", "x29", "x30", "sp",
};

static void decode(const unsigned char *g, struct tli_regs *r)
{
	for (unsigned i = 0; i < 32; i++) /* x0..x30, then sp */
		r->gpr[i] = tli_rd64(g + 8 * i);
	r->ngpr = 32;
	r->sp = r->gpr[31];
	r->pc = tli_rd64(g + 8 * 32);
	r->fp = r->gpr[29];
	r->lr = r->gpr[30];
}

static void wr64(unsigned char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

/* the kernel's syscall ABI: x8 = number, x0..x5 = arguments, result in x0. Nothing to switch
 * off: arm64's do_signal() sets up the restart of an interrupted call (x0 = orig_x0, pc back
 * to the svc) before get_signal(), where the stop holds the thread, and a pc other than the
 * restart address makes it leave the restart alone; the saved registers, put back, restart it. */
static void syscall_regs(unsigned char *g, uint64_t pc, uint64_t nr, const uint64_t args[6])
{
	wr64(g + 8 * 8, nr);
	for (int i = 0; i < 6; i++)
		wr64(g + 8 * i, args[i]);
	wr64(g + 8 * 32, pc);
}

static int64_t syscall_result(const unsigned char *g)
{
	return (int64_t)tli_rd64(g);
}

static const unsigned char syscall_insn[] = { 0x01, 0x00, 0x00, 0xd4 }; /* svc #0 */

const struct tli_arch tli_arch_arm64 = {
	.name = "arm64",
	.elf_machine = EM_AARCH64,
	.gregset_size = 8 * 34,
	.decode_gregset = decode,
	.gpr_names = gpr_names,
	.ngpr = sizeof(gpr_names) / sizeof(gpr_names[0]),
	.pc_name = "pc", .sp_name = "sp", .fp_name = "x29", .tp_name = "tpidr",
	.lr_name = "x30",
	.go_g_gpr = 28,
	.go_uses_lr = true,
	.go_min_frame = 8,
	.go_stack_align = 16,
	.pc_quantum = 4,
	.tls_note = NT_ARM_TLS_NOTE,
	.tls_tpoff_reloc = 1030 /* R_AARCH64_TLS_TPREL64 */,
	.red_zone = 0,
	.syscall_insn = syscall_insn,
	.syscall_insn_len = sizeof(syscall_insn),
	.sys_clone = 220,
	.syscall_regs = syscall_regs,
	.syscall_result = syscall_result,
};
