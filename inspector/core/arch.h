/* SPDX-License-Identifier: MIT */
/**
 * @file arch.h
 * The architecture seam: everything that differs between the machines a target may run on,
 * in one place. A target (core/target.h) carries its architecture; walkers ask it instead of
 * assuming x86-64. One file per architecture (arch_x86_64.c, arch_arm64.c) fills a
 * `struct tli_arch`; arch.c finds one by ELF machine and names the ones we do not read.
 *
 * Host and target architecture are independent: the register sets are decoded from the
 * bytes of NT_PRSTATUS (a core's note, or PTRACE_GETREGSET), never from the host's
 * <sys/user.h>, so an x86-64 build reads arm64 cores and the other way round.
 */
#ifndef TLI_CORE_ARCH_H
#define TLI_CORE_ARCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

/** The most general registers any architecture has (arm64: x0..x30, sp). */
#define TLI_ARCH_MAX_GPR 32

/** One thread's registers, architecture-neutral. */
struct tli_regs {
	uint64_t pc, sp;
	uint64_t fp;                   /**< frame pointer (x86-64 rbp, arm64 x29) */
	uint64_t lr;                   /**< link register (arm64 x30); 0 where there is none */
	uint64_t tp;                   /**< thread pointer (x86-64 fs_base, arm64 TPIDR_EL0) */
	uint64_t gpr[TLI_ARCH_MAX_GPR]; /**< general registers in the order of tli_arch.gpr_names */
	unsigned ngpr;
};

/* The 64-bit Linux struct elf_prstatus (every LP64 architecture): where pr_pid and pr_reg are. */
#define TLI_PRSTATUS_PID_OFF 32
#define TLI_PRSTATUS_REG_OFF 112

struct tli_arch {
	const char *name;            /**< "x86-64", "arm64": what output and errors say */
	uint16_t elf_machine;        /**< EM_X86_64, EM_AARCH64 */
	size_t gregset_size;         /**< bytes of NT_PRSTATUS's pr_reg (user_regs_struct / user_pt_regs) */
	/** Decode pr_reg (gregset_size bytes, little-endian) into r (tp left as it is). */
	void (*decode_gregset)(const unsigned char *g, struct tli_regs *r);
	const char *const *gpr_names; /**< names of gpr[0..ngpr) */
	unsigned ngpr;
	const char *pc_name, *sp_name, *fp_name, *tp_name; /**< as debuggers name them */
	const char *lr_name;         /**< the link register's name, NULL where there is none */
	int go_g_gpr;                /**< gpr index of Go's g register (amd64 R14, arm64 R28) */
	/* Go's frame rule (runtime/traceback.go): */
	bool go_uses_lr;             /**< usesLR: the return pc is in a link register, saved at 0(SP) of a
	                                  frame once its prologue ran; false: pushed by CALL at the frame's top */
	unsigned go_min_frame;       /**< sys.MinFrameSize (0 amd64, 8 arm64) */
	unsigned go_stack_align;     /**< sys.StackAlign */
	unsigned pc_quantum;         /**< instruction size unit (pclntab's minLC) */
	uint32_t tls_note;           /**< the core note holding the thread pointer (NT_ARM_TLS), 0 = in pr_reg */
	uint32_t tls_tpoff_reloc;    /**< the relocation that puts a TLS variable's TP offset in a GOT slot */
	unsigned red_zone;           /**< bytes below SP a function may still use (x86-64 SysV 128, arm64 0) */
	/* Making a stopped thread run one system call (live --snapshot=fork), on pr_reg bytes as
	 * PTRACE_GETREGSET/SETREGSET(NT_PRSTATUS) give them; syscall_regs NULL = not done here. */
	const unsigned char *syscall_insn; /**< the instruction (x86-64 `syscall`, arm64 `svc #0`) */
	unsigned syscall_insn_len;   /**< its length; it is aligned to pc_quantum */
	unsigned sys_clone;          /**< clone's system call number */
	/** Make pr_reg g run system call nr with args[0..6) at pc, restarting nothing the stop
	 *  interrupted (x86-64: orig_rax = -1; arm64 has set up any restart before the stop). */
	void (*syscall_regs)(unsigned char *g, uint64_t pc, uint64_t nr, const uint64_t args[6]);
	/** The system call's result in pr_reg g at its syscall-exit stop. */
	int64_t (*syscall_result)(const unsigned char *g);
};

extern const struct tli_arch tli_arch_x86_64;
extern const struct tli_arch tli_arch_arm64;

/** The architecture of ELF machine m (64-bit little-endian), or NULL if we do not read it. */
const struct tli_arch *tli_arch_by_machine(unsigned m);
/** The architecture tlinspect itself runs on (live targets), or NULL. */
const struct tli_arch *tli_arch_host(void);
/** A human name for any ELF machine ("32-bit ARM", "RISC-V", ...); NULL if unknown. */
const char *tli_arch_machine_name(unsigned m);

/**
 * Check an ELF header (the first len bytes of the file, len >= 20) by class, byte order and
 * machine against what we read: NULL when it is one of ours (*ret set), else a TLI_E_UNSUPPORTED
 * error naming what it is. `what` names the file in the message ("core X", "--exe Y").
 */
struct tli_error *tli_arch_of_elf(const unsigned char *hdr, size_t len, const char *what,
				  const struct tli_arch **ret);

/** A register by the debugger's name (gpr names, pc/sp/fp/tp names); false if unknown. */
bool tli_arch_reg(const struct tli_arch *a, const struct tli_regs *r, const char *name, uint64_t *v);
/** Set a register by name (keeping pc/sp/fp and gpr[] consistent); false if unknown. */
bool tli_arch_set_reg(const struct tli_arch *a, struct tli_regs *r, const char *name, uint64_t v);
/** Go's g register (0 if the architecture has none). */
uint64_t tli_arch_go_g(const struct tli_arch *a, const struct tli_regs *r);

/**
 * Go's frame rule (runtime/traceback.go unwinder.resolveInternal) for a frame at sp whose
 * pcsp delta is spdelta: its fp (= the caller's sp), and where its return pc is.
 * `lr` is the link register value the unwinder carries for this frame (the thread's LR or
 * gobuf.lr for the innermost frame, 0 above it); ignored where there is none.
 */
struct tli_arch_goframe {
	uint64_t fp;       /**< the frame's top: the caller's sp */
	uint64_t ret_at;   /**< address of the saved return pc (valid when !ret_in_lr) */
	bool ret_in_lr;    /**< the return pc is `lr` itself (a leaf, or before the prologue) */
	uint64_t varp;     /**< the frame's locals end here (runtime's frame.varp before the saved-fp step) */
};
void tli_arch_go_frame(const struct tli_arch *a, uint64_t sp, uint64_t spdelta, bool innermost, uint64_t lr,
		       struct tli_arch_goframe *out);

#endif
