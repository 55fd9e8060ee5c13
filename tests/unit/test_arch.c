/* SPDX-License-Identifier: MIT */
/*
 * The architecture seam (core/arch.h): which ELF files we read and how the others are named,
 * register sets decoded from NT_PRSTATUS bytes (x86-64 user_regs_struct, arm64 user_pt_regs),
 * registers by name, and Go's frame rule on both machines (runtime/traceback.go
 * resolveInternal: amd64 return pc pushed by CALL at the frame's top; arm64 LR saved at 0(SP)
 * of a frame once its prologue ran, LR itself in a frameless innermost frame).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <elf.h>
#include <string.h>

#include "core/arch.h"
#include "core/bytes.h"

static void header(unsigned char *h, unsigned cls, unsigned data, unsigned machine)
{
	memset(h, 0, 64);
	memcpy(h, ELFMAG, SELFMAG);
	h[EI_CLASS] = (unsigned char)cls;
	h[EI_DATA] = (unsigned char)data;
	h[EI_VERSION] = EV_CURRENT;
	h[16] = ET_CORE;
	if (data == ELFDATA2MSB) {
		h[18] = (unsigned char)(machine >> 8);
		h[19] = (unsigned char)machine;
	} else {
		h[18] = (unsigned char)machine;
		h[19] = (unsigned char)(machine >> 8);
	}
}

static void refused(unsigned cls, unsigned data, unsigned machine, const char *name)
{
	unsigned char h[64];
	header(h, cls, data, machine);
	const struct tli_arch *a = (const struct tli_arch *)1;
	struct tli_error *e = tli_arch_of_elf(h, sizeof(h), "core X", &a);
	assert_non_null(e);
	assert_null(a);
	assert_int_equal(e->code, TLI_E_UNSUPPORTED);
	if (!strstr(e->msg, name) || !strstr(e->msg, "core X"))
		fail_msg("message does not name %s: %s", name, e->msg);
	tli_error_destroy(e);
}

static void test_of_elf(void **state)
{
	(void)state;
	unsigned char h[64];
	const struct tli_arch *a = NULL;
	header(h, ELFCLASS64, ELFDATA2LSB, EM_X86_64);
	assert_null(tli_arch_of_elf(h, sizeof(h), "core X", &a));
	assert_ptr_equal(a, &tli_arch_x86_64);
	header(h, ELFCLASS64, ELFDATA2LSB, EM_AARCH64);
	assert_null(tli_arch_of_elf(h, sizeof(h), "core X", &a));
	assert_ptr_equal(a, &tli_arch_arm64);
	assert_string_equal(a->name, "arm64");
	refused(ELFCLASS32, ELFDATA2LSB, EM_ARM, "32-bit ARM");
	refused(ELFCLASS64, ELFDATA2LSB, EM_RISCV, "RISC-V");
	refused(ELFCLASS64, ELFDATA2LSB, EM_PPC64, "64-bit PowerPC (ELF machine 21, 64-bit little-endian)");
	refused(ELFCLASS64, ELFDATA2MSB, EM_PPC64, "64-bit PowerPC (ELF machine 21, 64-bit big-endian)");
	refused(ELFCLASS64, ELFDATA2MSB, EM_AARCH64, "big-endian"); /* aarch64_be */
	refused(ELFCLASS32, ELFDATA2LSB, EM_386, "i386");
	refused(ELFCLASS64, ELFDATA2LSB, 0x4242, "ELF machine 16962");
	/* not ELF at all, or too short to say: malformed, not unsupported */
	struct tli_error *e = tli_arch_of_elf((const unsigned char *)"#!/bin/sh\n echo hello there", 28, "f", &a);
	assert_int_equal(e->code, TLI_E_BAD_FORMAT);
	tli_error_destroy(e);
	e = tli_arch_of_elf(h, 10, "f", &a);
	assert_int_equal(e->code, TLI_E_BAD_FORMAT);
	tli_error_destroy(e);
}

static void put64(unsigned char *p, uint64_t v)
{
	memcpy(p, &v, 8);
}

static void test_gregsets(void **state)
{
	(void)state;
	unsigned char g[8 * 34];
	/* arm64 user_pt_regs: x0..x30, sp, pc, pstate */
	for (unsigned i = 0; i < 34; i++)
		put64(g + 8 * i, 0x1000 + i);
	struct tli_regs r = { 0 };
	assert_int_equal(tli_arch_arm64.gregset_size, sizeof(g));
	tli_arch_arm64.decode_gregset(g, &r);
	assert_int_equal(r.ngpr, 32);
	assert_int_equal(r.gpr[0], 0x1000);
	assert_int_equal(r.fp, 0x1000 + 29);
	assert_int_equal(r.lr, 0x1000 + 30);
	assert_int_equal(r.sp, 0x1000 + 31);
	assert_int_equal(r.pc, 0x1000 + 32);
	assert_int_equal(tli_arch_go_g(&tli_arch_arm64, &r), 0x1000 + 28); /* R28 */
	uint64_t v;
	assert_true(tli_arch_reg(&tli_arch_arm64, &r, "x28", &v));
	assert_int_equal(v, 0x1000 + 28);
	assert_true(tli_arch_set_reg(&tli_arch_arm64, &r, "tpidr", 0x7777));
	assert_int_equal(r.tp, 0x7777);
	assert_false(tli_arch_set_reg(&tli_arch_arm64, &r, "rip", 1));

	/* x86-64 user_regs_struct: r15 r14 ... rip(16) cs eflags rsp(19) ss fs_base(21) */
	unsigned char x[8 * 27];
	for (unsigned i = 0; i < 27; i++)
		put64(x + 8 * i, 0x2000 + i);
	assert_int_equal(tli_arch_x86_64.gregset_size, sizeof(x));
	memset(&r, 0, sizeof(r));
	tli_arch_x86_64.decode_gregset(x, &r);
	assert_int_equal(r.pc, 0x2000 + 16);
	assert_int_equal(r.sp, 0x2000 + 19);
	assert_int_equal(r.fp, 0x2000 + 4);
	assert_int_equal(r.tp, 0x2000 + 21);
	assert_int_equal(r.lr, 0);
	assert_int_equal(tli_arch_go_g(&tli_arch_x86_64, &r), 0x2000 + 1); /* R14 */
	assert_true(tli_arch_reg(&tli_arch_x86_64, &r, "rax", &v));
	assert_int_equal(v, 0x2000 + 10);
	assert_true(tli_arch_set_reg(&tli_arch_x86_64, &r, "rsp", 0x99));
	assert_int_equal(r.sp, 0x99);
	assert_int_equal(r.gpr[7], 0x99); /* rsp is also a general register (scanned as a root) */
	assert_ptr_equal(tli_arch_by_machine(EM_AARCH64), &tli_arch_arm64);
	assert_null(tli_arch_by_machine(EM_RISCV));
}

static void test_go_frame(void **state)
{
	(void)state;
	struct tli_arch_goframe f;
	/* amd64: a 0x28-byte frame; the return pc sits above it, the caller's sp above that */
	tli_arch_go_frame(&tli_arch_x86_64, 0x1000, 0x28, true, 0, &f);
	assert_int_equal(f.fp, 0x1030);
	assert_false(f.ret_in_lr);
	assert_int_equal(f.ret_at, 0x1028);
	assert_int_equal(f.varp, 0x1028);
	/* amd64 frameless: the return pc at sp */
	tli_arch_go_frame(&tli_arch_x86_64, 0x1000, 0, true, 0, &f);
	assert_int_equal(f.ret_at, 0x1000);
	assert_int_equal(f.fp, 0x1008);
	/* arm64 with a frame: LR saved at 0(SP), the caller's sp is sp + spdelta, even when the
	 * thread's LR is known (the innermost frame after its prologue) */
	tli_arch_go_frame(&tli_arch_arm64, 0x1000, 0x30, true, 0xdead, &f);
	assert_int_equal(f.fp, 0x1030);
	assert_false(f.ret_in_lr);
	assert_int_equal(f.ret_at, 0x1000);
	assert_int_equal(f.varp, 0x1030);
	/* arm64 frameless innermost (a leaf, or before the prologue): the return pc is LR itself */
	tli_arch_go_frame(&tli_arch_arm64, 0x1000, 0, true, 0xdead, &f);
	assert_true(f.ret_in_lr);
	assert_int_equal(f.fp, 0x1000);
	/* ... unless LR is unknown (gobuf.lr 0: mcall parks with it cleared): then 0(SP) */
	tli_arch_go_frame(&tli_arch_arm64, 0x1000, 0, true, 0, &f);
	assert_false(f.ret_in_lr);
	assert_int_equal(f.ret_at, 0x1000);
	/* above the innermost frame LR is never carried: always 0(SP) */
	tli_arch_go_frame(&tli_arch_arm64, 0x2000, 0x40, false, 0, &f);
	assert_false(f.ret_in_lr);
	assert_int_equal(f.ret_at, 0x2000);
	assert_int_equal(f.fp, 0x2040);
}

/* syscall_regs/syscall_result (live --snapshot=fork): the kernel's ABI per machine, on pr_reg bytes */
static void test_syscall_regs(void **state)
{
	(void)state;
	const uint64_t args[6] = { 0x11, 0x22, 0x33, 0x44, 0x55, 0x66 };
	unsigned char g[8 * 34];
	struct tli_regs r;

	/* x86-64: rax = nr, orig_rax = -1, rdi rsi rdx r10 r8 r9, rip */
	memset(g, 0xee, sizeof(g));
	tli_arch_x86_64.syscall_regs(g, 0x401000, 56, args);
	r = (struct tli_regs){ 0 };
	tli_arch_x86_64.decode_gregset(g, &r);
	assert_int_equal(r.pc, 0x401000);
	uint64_t v;
	assert_true(tli_arch_reg(&tli_arch_x86_64, &r, "rax", &v));
	assert_int_equal(v, 56);
	assert_true(tli_arch_reg(&tli_arch_x86_64, &r, "rdi", &v));
	assert_int_equal(v, 0x11);
	assert_true(tli_arch_reg(&tli_arch_x86_64, &r, "r10", &v));
	assert_int_equal(v, 0x44);
	assert_true(tli_arch_reg(&tli_arch_x86_64, &r, "r9", &v));
	assert_int_equal(v, 0x66);
	assert_int_equal(tli_rd64(g + 8 * 15), UINT64_MAX); /* orig_rax */
	assert_int_equal(tli_arch_x86_64.syscall_result(g), 56);
	assert_int_equal(tli_arch_x86_64.syscall_insn_len, 2);

	/* arm64: x8 = nr, x0..x5, pc; result in x0 */
	memset(g, 0xee, sizeof(g));
	tli_arch_arm64.syscall_regs(g, 0x400000, 220, args);
	r = (struct tli_regs){ 0 };
	tli_arch_arm64.decode_gregset(g, &r);
	assert_int_equal(r.pc, 0x400000);
	assert_int_equal(r.gpr[8], 220);
	assert_int_equal(r.gpr[0], 0x11);
	assert_int_equal(r.gpr[5], 0x66);
	assert_int_equal(r.gpr[6], 0xeeeeeeeeeeeeeeeeull); /* untouched */
	assert_int_equal(tli_arch_arm64.syscall_result(g), 0x11);
	assert_int_equal(tli_arch_arm64.syscall_insn_len, 4);
	assert_int_equal(tli_arch_arm64.syscall_insn[3], 0xd4); /* svc #0 = 0xd4000001 */
	assert_int_equal(tli_arch_arm64.red_zone, 0);
	assert_int_equal(tli_arch_x86_64.red_zone, 128);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_of_elf),
		cmocka_unit_test(test_gregsets),
		cmocka_unit_test(test_go_frame),
		cmocka_unit_test(test_syscall_regs),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
