/* SPDX-License-Identifier: MIT */
/*
 * x86-64 (arch.h). pr_reg is the kernel's struct user_regs_struct (arch/x86/include/uapi/
 * asm/ptrace.h): r15 r14 r13 r12 rbp rbx r11 r10 r9 r8 rax rcx rdx rsi rdi orig_rax rip cs
 * eflags rsp ss fs_base gs_base ds es fs gs. Go keeps g in R14 (the register ABI, go1.17+);
 * CALL pushes the return pc at the top of the callee's frame.
 */
#include "arch.h"

#include <elf.h>

#include "bytes.h"

enum { UR_R15, UR_R14, UR_R13, UR_R12, UR_RBP, UR_RBX, UR_R11, UR_R10, UR_R9, UR_R8, UR_RAX, UR_RCX,
       UR_RDX, UR_RSI, UR_RDI, UR_ORIG_RAX, UR_RIP, UR_CS, UR_EFLAGS, UR_RSP, UR_SS, UR_FS_BASE,
       UR_GS_BASE, UR_DS, UR_ES, UR_FS, UR_GS, UR_COUNT };

static const char *const gpr_names[] = { "rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "rsp",
					 "r8",  "r9",  "r10", "r11", "r12", "r13", "r14", "r15" };
/* where each of gpr_names is in user_regs_struct */
static const unsigned char gpr_slot[] = { UR_RAX, UR_RBX, UR_RCX, UR_RDX, UR_RSI, UR_RDI, UR_RBP, UR_RSP,
					  UR_R8,  UR_R9,  UR_R10, UR_R11, UR_R12, UR_R13, UR_R14, UR_R15 };

static void decode(const unsigned char *g, struct tli_regs *r)
{
	for (unsigned i = 0; i < sizeof(gpr_slot); i++)
		r->gpr[i] = tli_rd64(g + 8 * gpr_slot[i]);
	r->ngpr = sizeof(gpr_slot);
	r->pc = tli_rd64(g + 8 * UR_RIP);
	r->sp = tli_rd64(g + 8 * UR_RSP);
	r->fp = tli_rd64(g + 8 * UR_RBP);
	r->lr = 0;
	r->tp = tli_rd64(g + 8 * UR_FS_BASE);
}

static void wr64(unsigned char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

/* the kernel's syscall ABI: rax = number, rdi rsi rdx r10 r8 r9; orig_rax = -1 so that the
 * restart of a call the stop interrupted (rax = orig_rax, rip -= 2 after get_signal) is off */
static void syscall_regs(unsigned char *g, uint64_t pc, uint64_t nr, const uint64_t args[6])
{
	static const unsigned char slot[6] = { UR_RDI, UR_RSI, UR_RDX, UR_R10, UR_R8, UR_R9 };
	wr64(g + 8 * UR_RAX, nr);
	wr64(g + 8 * UR_ORIG_RAX, UINT64_MAX);
	for (int i = 0; i < 6; i++)
		wr64(g + 8 * slot[i], args[i]);
	wr64(g + 8 * UR_RIP, pc);
}

static int64_t syscall_result(const unsigned char *g)
{
	return (int64_t)tli_rd64(g + 8 * UR_RAX);
}

static const unsigned char syscall_insn[] = { 0x0f, 0x05 };

const struct tli_arch tli_arch_x86_64 = {
	.name = "x86-64",
	.elf_machine = EM_X86_64,
	.gregset_size = 8 * UR_COUNT,
	.decode_gregset = decode,
	.gpr_names = gpr_names,
	.ngpr = sizeof(gpr_names) / sizeof(gpr_names[0]),
	.pc_name = "rip", .sp_name = "rsp", .fp_name = "rbp", .tp_name = "fs_base",
	.go_g_gpr = 14,
	.go_uses_lr = false,
	.go_min_frame = 0,
	.go_stack_align = 8,
	.pc_quantum = 1,
	.tls_note = 0,
	.tls_tpoff_reloc = 18 /* R_X86_64_TPOFF64 */,
	.red_zone = 128,
	.syscall_insn = syscall_insn,
	.syscall_insn_len = sizeof(syscall_insn),
	.sys_clone = 56,
	.syscall_regs = syscall_regs,
	.syscall_result = syscall_result,
};
