/* SPDX-License-Identifier: MIT */
/*
 * Writes a small synthetic x86_64 core (about 2 KiB) used as the fuzzing
 * seed: PT_NOTE with NT_PRPSINFO, two NT_PRSTATUS, NT_AUXV and NT_FILE; an
 * executable header page that carries a PT_NOTE with a GNU build-id; an
 * anonymous segment with p_filesz < p_memsz; a stack segment.
 * Usage: mkseed OUTFILE
 */
#include <elf.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/procfs.h>
#include <sys/user.h>

static unsigned char img[8192];
static size_t pos;

static size_t put(const void *p, size_t n)
{
	size_t at = pos;
	memcpy(img + pos, p, n);
	pos += n;
	return at;
}

static void align4(void)
{
	pos = (pos + 3) & ~(size_t)3;
}

static void note(const char *name, uint32_t type, const void *desc, uint32_t descsz)
{
	uint32_t h[3] = { (uint32_t)strlen(name) + 1, descsz, type };
	put(h, 12);
	put(name, h[0]);
	align4();
	put(desc, descsz);
	align4();
}

int main(int argc, char **argv)
{
	if (argc != 2)
		return 2;
	const int nph = 4;
	Elf64_Ehdr eh = { 0 };
	memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = ELFCLASS64;
	eh.e_ident[EI_DATA] = ELFDATA2LSB;
	eh.e_ident[EI_VERSION] = EV_CURRENT;
	eh.e_type = ET_CORE;
	eh.e_machine = EM_X86_64;
	eh.e_version = EV_CURRENT;
	eh.e_phoff = sizeof(eh);
	eh.e_ehsize = sizeof(eh);
	eh.e_phentsize = sizeof(Elf64_Phdr);
	eh.e_phnum = nph;
	put(&eh, sizeof(eh));
	size_t ph_at = pos;
	pos += nph * sizeof(Elf64_Phdr);

	size_t notes_at = pos;
	struct elf_prpsinfo ps = { 0 };
	ps.pr_sname = 'S';
	ps.pr_pid = 4242;
	strcpy(ps.pr_fname, "seed");
	note("CORE", NT_PRPSINFO, &ps, sizeof(ps));
	for (int i = 0; i < 2; i++) {
		struct elf_prstatus st = { 0 };
		st.pr_pid = 4242 + i;
		struct user_regs_struct *u = (struct user_regs_struct *)&st.pr_reg;
		u->rip = 0x400100;
		u->rsp = 0x7ffff080;
		u->rbp = 0x7ffff0c0;
		u->fs_base = 0x7ff000000100;
		note("CORE", NT_PRSTATUS, &st, sizeof(st));
	}
	uint64_t auxv[] = { AT_PHDR, 0x400040, AT_ENTRY, 0x400100, AT_PAGESZ, 4096, AT_NULL, 0 };
	note("CORE", NT_AUXV, auxv, sizeof(auxv));
	unsigned char nf[256];
	size_t k = 0;
	uint64_t hdr[2] = { 2, 4096 };
	uint64_t ent[6] = { 0x400000, 0x401000, 0, 0x401000, 0x403000, 1 };
	memcpy(nf, hdr, 16);
	k = 16;
	memcpy(nf + k, ent, 48);
	k += 48;
	memcpy(nf + k, "/bin/exe\0/bin/exe\0", 18);
	k += 18;
	note("CORE", 0x46494c45, nf, (uint32_t)k);
	size_t notes_len = pos - notes_at;

	/* segment 1: executable header page with a PT_NOTE holding a GNU build-id */
	pos = (pos + 15) & ~(size_t)15;
	size_t exe_at = pos;
	Elf64_Ehdr xe = eh;
	xe.e_type = ET_DYN;
	xe.e_phoff = sizeof(xe);
	xe.e_phnum = 1;
	put(&xe, sizeof(xe));
	Elf64_Phdr xp = { .p_type = PT_NOTE, .p_offset = 0x100, .p_vaddr = 0x100, .p_filesz = 36, .p_flags = PF_R };
	put(&xp, sizeof(xp));
	pos = exe_at + 0x100;
	unsigned char id[20];
	for (int i = 0; i < 20; i++)
		id[i] = (unsigned char)(i * 11 + 1);
	note("GNU", NT_GNU_BUILD_ID, id, 20);
	size_t exe_len = 0x200;
	pos = exe_at + exe_len;

	/* segment 2: anonymous, 0x100 bytes present, 0x2000 in memory */
	size_t anon_at = pos;
	for (int i = 0; i < 0x100; i++)
		img[pos++] = (unsigned char)i;
	/* segment 3: stack */
	size_t stack_at = pos;
	for (int i = 0; i < 0x100; i++)
		img[pos++] = (unsigned char)(0xff - i);

	Elf64_Phdr ph[4] = {
		{ .p_type = PT_NOTE, .p_offset = notes_at, .p_filesz = notes_len, .p_align = 1 },
		{ .p_type = PT_LOAD, .p_flags = PF_R, .p_offset = exe_at, .p_vaddr = 0x400000,
		  .p_filesz = exe_len, .p_memsz = 0x1000, .p_align = 1 },
		{ .p_type = PT_LOAD, .p_flags = PF_R | PF_W, .p_offset = anon_at, .p_vaddr = 0x7ff000000000,
		  .p_filesz = 0x100, .p_memsz = 0x2000, .p_align = 1 },
		{ .p_type = PT_LOAD, .p_flags = PF_R | PF_W, .p_offset = stack_at, .p_vaddr = 0x7ffff000,
		  .p_filesz = 0x100, .p_memsz = 0x100, .p_align = 1 },
	};
	memcpy(img + ph_at, ph, sizeof(ph));
	FILE *f = fopen(argv[1], "wb");
	if (!f || fwrite(img, 1, pos, f) != pos)
		return 1;
	fclose(f);
	return 0;
}
