/* SPDX-License-Identifier: MIT */
/**
 * @file elfcore_buildid.c
 * Build-ids (GNU NT_GNU_BUILD_ID and Go's "Go" note) of a file named in the core,
 * read from the file and from the core's own memory: the kernel
 * (fs/binfmt_elf.c vma_dump_size, coredump_filter bit 4 "ELF headers", on by
 * default) and gdb's gcore (linux-tdep.c, dump of the first page of ELF file
 * mappings) keep the first page of every ELF file mapping, which holds the ELF
 * header, the program headers and, as linkers place it, the build-id note.
 */
#include "elfcore_int.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef NT_GNU_BUILD_ID
#define NT_GNU_BUILD_ID 3
#endif
#define NT_GO_BUILDID 4 /* cmd/internal/buildid: the "Go" note's type */
#define MAX_PHNUM 4096
#define MAX_NOTE_BYTES (1u << 20) /* of one PT_NOTE */
#define MAX_CORE_NOTE_BYTES (64u << 10) /* of all PT_NOTEs of one file, read from the core */

static void scan_buildid_notes(const unsigned char *n, size_t len, struct buildids *b)
{
	size_t p = 0;
	for (unsigned count = 0; len - p >= 12 && count < 4096; count++) {
		uint32_t namesz = get_u32(n + p), descsz = get_u32(n + p + 4), type = get_u32(n + p + 8);
		uint64_t desc_off = p + 12 + (((uint64_t)namesz + 3) & ~3ull);
		uint64_t desc_end = desc_off + descsz;
		if (desc_off > len || desc_end > len)
			return;
		const unsigned char *name = n + p + 12;
		if (namesz == 4 && !memcmp(name, "GNU", 4) && type == NT_GNU_BUILD_ID &&
		    descsz <= MAX_BUILDID && descsz && !b->gnu_len) {
			memcpy(b->gnu, n + desc_off, descsz);
			b->gnu_len = descsz;
		}
		if (namesz == 4 && !memcmp(name, "Go\0\0", 4) && type == NT_GO_BUILDID &&
		    descsz <= MAX_BUILDID && descsz && !b->go_len) {
			memcpy(b->go, n + desc_off, descsz);
			b->go_len = descsz;
		}
		uint64_t next = desc_off + (((uint64_t)descsz + 3) & ~3ull);
		if (next > len)
			return;
		p = (size_t)next;
	}
}

static bool elf64_header_ok(const Elf64_Ehdr *eh)
{
	return !memcmp(eh->e_ident, ELFMAG, SELFMAG) && eh->e_ident[EI_CLASS] == ELFCLASS64 &&
	       eh->e_phentsize >= sizeof(Elf64_Phdr) && eh->e_phnum <= MAX_PHNUM &&
	       eh->e_phoff <= (uint64_t)INT64_MAX / 2;
}

bool tli_elfcore_file_buildids(int fd, struct buildids *b)
{
	Elf64_Ehdr eh;
	if (pread(fd, &eh, sizeof(eh), 0) != (ssize_t)sizeof(eh) || !elf64_header_ok(&eh))
		return false;
	for (unsigned i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph;
		if (pread(fd, &ph, sizeof(ph), (off_t)(eh.e_phoff + (uint64_t)i * eh.e_phentsize)) !=
		    (ssize_t)sizeof(ph))
			break;
		if (ph.p_type != PT_NOTE || !ph.p_filesz || ph.p_filesz > MAX_NOTE_BYTES ||
		    ph.p_offset > (uint64_t)INT64_MAX / 2)
			continue;
		unsigned char *n = malloc(ph.p_filesz);
		if (!n)
			break;
		if (pread(fd, n, ph.p_filesz, (off_t)ph.p_offset) == (ssize_t)ph.p_filesz)
			scan_buildid_notes(n, ph.p_filesz, b);
		free(n);
	}
	return true;
}

/* Bytes [off, off+len) of the file's header mapping, from the core's data only. */
static bool core_bytes(struct core *c, const struct bfile *f, uint64_t off, void *buf, uint64_t len)
{
	if (off > f->hdr_len || len > f->hdr_len - off)
		return false;
	return tli_elfcore_read_core_only(c, f->hdr + off, buf, (size_t)len) == len;
}

void tli_elfcore_core_buildids(struct core *c, size_t file, struct buildids *b)
{
	const struct bfile *f = &c->files[file];
	Elf64_Ehdr eh;
	if (!f->hdr_len || !core_bytes(c, f, 0, &eh, sizeof(eh)) || !elf64_header_ok(&eh))
		return;
	uint64_t note_bytes = 0;
	for (unsigned i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph;
		if (!core_bytes(c, f, eh.e_phoff + (uint64_t)i * eh.e_phentsize, &ph, sizeof(ph)))
			return;
		if (ph.p_type != PT_NOTE || !ph.p_filesz || ph.p_filesz > MAX_CORE_NOTE_BYTES - note_bytes)
			continue;
		note_bytes += ph.p_filesz;
		unsigned char *n = malloc(ph.p_filesz);
		if (!n)
			return;
		if (core_bytes(c, f, ph.p_offset, n, ph.p_filesz))
			scan_buildid_notes(n, ph.p_filesz, b);
		free(n);
	}
}

static void hex(const unsigned char *p, size_t n, char *out, size_t outsz)
{
	static const char digits[] = "0123456789abcdef";
	size_t k = 0;
	for (size_t i = 0; i < n && k + 2 < outsz; i++) {
		out[k++] = digits[p[i] >> 4];
		out[k++] = digits[p[i] & 15];
	}
	out[k] = 0;
}

enum bid_cmp tli_elfcore_compare_buildids(const struct buildids *fb, const struct buildids *cb,
					  const char **kind, char *fhex, char *chex)
{
	bool compared = false;
	if (fb->gnu_len && cb->gnu_len) {
		compared = true;
		if (fb->gnu_len != cb->gnu_len || memcmp(fb->gnu, cb->gnu, fb->gnu_len)) {
			*kind = "build-id";
			hex(fb->gnu, fb->gnu_len, fhex, 2 * MAX_BUILDID + 1);
			hex(cb->gnu, cb->gnu_len, chex, 2 * MAX_BUILDID + 1);
			return BID_MISMATCH;
		}
	}
	if (fb->go_len && cb->go_len) {
		compared = true;
		if (fb->go_len != cb->go_len || memcmp(fb->go, cb->go, fb->go_len)) {
			*kind = "Go build-id";
			snprintf(fhex, 2 * MAX_BUILDID + 1, "%.*s", (int)fb->go_len, (const char *)fb->go);
			snprintf(chex, 2 * MAX_BUILDID + 1, "%.*s", (int)cb->go_len, (const char *)cb->go);
			return BID_MISMATCH;
		}
	}
	return compared ? BID_MATCH : BID_UNKNOWN;
}

void tli_elfcore_buildid_text(const struct buildids *b, char *out, size_t outsz)
{
	if (b->gnu_len)
		hex(b->gnu, b->gnu_len, out, outsz);
	else if (b->go_len)
		snprintf(out, outsz, "Go %.*s", (int)b->go_len, (const char *)b->go);
	else if (outsz)
		out[0] = 0;
}
