/* SPDX-License-Identifier: MIT */
/*
 * Go executable metadata: ELF parsing (own, bounds-checked), .go.buildinfo version,
 * .note.go.buildid, pclntab location, runtime.firstmoduledata.
 */
#include "core/arch.h"
#include "core/fileio.h"
#include "go/gobin.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/*
 * runtime.moduledata field offsets by Go minor (linux/amd64), with the two runtime.pcHeader
 * fields moduledata is checked against: the data comes from runtime-maps/go/1.NN.map, turned
 * into md_layouts[] at build time by scripts/gen-moduledata.sh ($(BUILD)/gen/go_moduledata.h),
 * so the binary needs no runtime map for this. Structs: runtime/symtab.go moduledata and
 * pcHeader, go1.18 .. go1.27.
 */
struct md_layout {
	int first_minor, last_minor; /* Go 1.<minor> whose maps give this layout */
	uint16_t pcheader, funcnametab, ftab, minpc, maxpc, text, etext, noptrdata, enoptrdata, data, edata,
		bss, ebss, noptrbss, enoptrbss, types, etypes, rodata, gofunc; /* runtime.moduledata */
	uint16_t pch_funcname, pch_pcln, pch_size; /* runtime.pcHeader funcnameOffset, pclnOffset, size */
};
#include "go_moduledata.h" /* md_layouts[], GO_MD_END */

#define MD_MAX_READ 512 /* bytes of moduledata read at a candidate address */
_Static_assert(GO_MD_END <= MD_MAX_READ, "a moduledata field lies beyond MD_MAX_READ");
#define MD_NLAYOUTS (sizeof(md_layouts) / sizeof(md_layouts[0]))
/* Go 1.18: the oldest pclntab this reader decodes (TLI_PCLNTAB_MAGIC_118) */
#define GO_OLDEST_MINOR 18

#define GO_BUILDINFO_MAGIC "\xff Go buildinf:"
#define MAX_SECTIONS 65536u
#define MAX_PHDRS 4096u

struct seg {
	uint64_t vaddr, memsz, offset, filesz;
	uint32_t flags;
};

struct sec {
	const char *name; /* into the map, "" if bad */
	uint64_t addr, size, offset;
	uint32_t type, link;
	uint64_t entsize;
};

struct tli_gobin {
	int fd;
	const uint8_t *map;
	size_t size;
	uint16_t etype;
	const struct tli_arch *arch; /* NULL: a machine core/arch.h does not know */
	uint64_t entry;
	struct seg *segs;
	size_t nsegs;
	struct sec *secs;
	size_t nsecs;
	uint64_t min_vaddr;
	char version[64];
	bool have_version;
	int minor;
	char *buildid;
	struct tli_pclntab *pcln;
	struct tli_gomoduledata md;
	bool have_md;
	const char *md_source;
};

static inline uint64_t rd64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return v;
}

static inline uint32_t rd32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}

/* File bytes [off, off+len) if inside the map. */
static const uint8_t *file_at(const struct tli_gobin *b, uint64_t off, uint64_t len)
{
	if (off > b->size || len > b->size - off)
		return NULL;
	return b->map + off;
}

const uint8_t *tli_gobin_view(const struct tli_gobin *b, uint64_t vaddr, size_t len)
{
	for (size_t i = 0; i < b->nsegs; i++) {
		const struct seg *s = &b->segs[i];
		if (vaddr < s->vaddr || vaddr - s->vaddr >= s->filesz)
			continue;
		uint64_t rel = vaddr - s->vaddr;
		if (len > s->filesz - rel)
			return NULL;
		return file_at(b, s->offset + rel, len);
	}
	return NULL;
}

static const uint8_t *view_cb(const void *ctx, uint64_t vaddr, size_t len)
{
	return tli_gobin_view(ctx, vaddr, len);
}

/* Bytes available (file-backed) from vaddr to the end of its segment. */
static const uint8_t *view_rest(const struct tli_gobin *b, uint64_t vaddr, size_t *avail)
{
	for (size_t i = 0; i < b->nsegs; i++) {
		const struct seg *s = &b->segs[i];
		if (vaddr < s->vaddr || vaddr - s->vaddr >= s->filesz)
			continue;
		uint64_t rel = vaddr - s->vaddr;
		*avail = s->filesz - rel;
		return file_at(b, s->offset + rel, *avail);
	}
	return NULL;
}

struct tli_error *tli_gobin_read(const struct tli_gobin *b, uint64_t vaddr, void *buf, size_t len)
{
	uint8_t *out = buf;
	uint64_t a = vaddr;
	while (len) {
		const struct seg *s = NULL;
		for (size_t i = 0; i < b->nsegs; i++)
			if (a >= b->segs[i].vaddr && a - b->segs[i].vaddr < b->segs[i].memsz) {
				s = &b->segs[i];
				break;
			}
		if (!s)
			return tli_error_fault(a, "read of %zu bytes at 0x%llx: address 0x%llx is not in any PT_LOAD", len,
					       (unsigned long long)vaddr, (unsigned long long)a);
		uint64_t rel = a - s->vaddr;
		size_t chunk = s->memsz - rel < len ? (size_t)(s->memsz - rel) : len;
		for (size_t done = 0; done < chunk;) {
			uint64_t r = rel + done;
			if (r < s->filesz) {
				size_t c = s->filesz - r < chunk - done ? (size_t)(s->filesz - r) : chunk - done;
				const uint8_t *p = file_at(b, s->offset + r, c);
				if (!p)
					return tli_error_fault(a + done, "read at 0x%llx: segment data beyond end of file",
							       (unsigned long long)(a + done));
				memcpy(out + done, p, c);
				done += c;
			} else {
				memset(out + done, 0, chunk - done);
				done = chunk;
			}
		}
		out += chunk;
		a += chunk;
		len -= chunk;
	}
	return NULL;
}

static const struct sec *find_sec(const struct tli_gobin *b, const char *name)
{
	for (size_t i = 0; i < b->nsecs; i++)
		if (strcmp(b->secs[i].name, name) == 0)
			return &b->secs[i];
	return NULL;
}

bool tli_gobin_section(const struct tli_gobin *b, const char *name, uint64_t *addr, uint64_t *size)
{
	const struct sec *s = find_sec(b, name);
	if (!s)
		return false;
	if (addr)
		*addr = s->addr;
	if (size)
		*size = s->size;
	return true;
}

bool tli_gobin_symbol(const struct tli_gobin *b, const char *name, uint64_t *addr, uint64_t *size)
{
	for (size_t i = 0; i < b->nsecs; i++) {
		const struct sec *st = &b->secs[i];
		if (st->type != SHT_SYMTAB || st->link >= b->nsecs)
			continue;
		const struct sec *str = &b->secs[st->link];
		const uint8_t *syms = file_at(b, st->offset, st->size);
		const uint8_t *strs = file_at(b, str->offset, str->size);
		if (!syms || !strs)
			continue;
		size_t n = st->size / sizeof(Elf64_Sym), nlen = strlen(name);
		for (size_t k = 0; k < n; k++) {
			Elf64_Sym sym;
			memcpy(&sym, syms + k * sizeof(sym), sizeof(sym));
			if (sym.st_name >= str->size || str->size - sym.st_name <= nlen)
				continue;
			if (memcmp(strs + sym.st_name, name, nlen + 1) == 0) {
				if (addr)
					*addr = sym.st_value;
				if (size)
					*size = sym.st_size;
				return true;
			}
		}
	}
	return false;
}

static struct tli_error *parse_elf(struct tli_gobin *b, const char *path)
{
	if (b->size < sizeof(Elf64_Ehdr))
		return tli_error_create(TLI_E_BAD_FORMAT, "%s: too small for an ELF header", path);
	Elf64_Ehdr eh;
	memcpy(&eh, b->map, sizeof(eh));
	if (memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0)
		return tli_error_create(TLI_E_BAD_FORMAT, "%s: not an ELF file", path);
	if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_ident[EI_DATA] != ELFDATA2LSB)
		return tli_error_create(TLI_E_UNSUPPORTED, "%s: only 64-bit little-endian ELF is supported", path);
	if (eh.e_type != ET_EXEC && eh.e_type != ET_DYN)
		return tli_error_create(TLI_E_BAD_FORMAT, "%s: ELF type %u is not an executable", path, eh.e_type);
	b->etype = eh.e_type;
	b->arch = tli_arch_by_machine(eh.e_machine);
	b->entry = eh.e_entry;
	/* program headers */
	if (eh.e_phnum == 0 || eh.e_phnum > MAX_PHDRS || eh.e_phentsize != sizeof(Elf64_Phdr) ||
	    !file_at(b, eh.e_phoff, (uint64_t)eh.e_phnum * sizeof(Elf64_Phdr)))
		return tli_error_create(TLI_E_BAD_FORMAT, "%s: bad program header table (off 0x%llx, %u entries)", path,
					(unsigned long long)eh.e_phoff, eh.e_phnum);
	b->segs = calloc(eh.e_phnum, sizeof(*b->segs));
	if (!b->segs)
		return &tli_enomem;
	b->min_vaddr = UINT64_MAX;
	for (unsigned i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph;
		memcpy(&ph, b->map + eh.e_phoff + i * sizeof(ph), sizeof(ph));
		if (ph.p_type != PT_LOAD)
			continue;
		if (ph.p_filesz > ph.p_memsz || ph.p_vaddr + ph.p_memsz < ph.p_vaddr)
			return tli_error_create(TLI_E_BAD_FORMAT, "%s: PT_LOAD #%u: bad sizes", path, i);
		struct seg *s = &b->segs[b->nsegs++];
		s->vaddr = ph.p_vaddr;
		s->memsz = ph.p_memsz;
		s->offset = ph.p_offset;
		s->filesz = ph.p_filesz;
		/* clamp file data to what the file really has (truncated files) */
		if (s->offset > b->size)
			s->filesz = 0;
		else if (s->filesz > b->size - s->offset)
			s->filesz = b->size - s->offset;
		s->flags = ph.p_flags;
		if (ph.p_vaddr < b->min_vaddr)
			b->min_vaddr = ph.p_vaddr;
	}
	if (!b->nsegs)
		return tli_error_create(TLI_E_BAD_FORMAT, "%s: no PT_LOAD segments", path);
	/* section headers: optional */
	uint64_t shnum = eh.e_shnum, shstrndx = eh.e_shstrndx;
	if (eh.e_shoff && eh.e_shentsize == sizeof(Elf64_Shdr) && file_at(b, eh.e_shoff, sizeof(Elf64_Shdr))) {
		Elf64_Shdr sh0;
		memcpy(&sh0, b->map + eh.e_shoff, sizeof(sh0));
		if (shnum == 0)
			shnum = sh0.sh_size;
		if (shstrndx == SHN_XINDEX)
			shstrndx = sh0.sh_link;
		if (shnum > MAX_SECTIONS || !file_at(b, eh.e_shoff, shnum * sizeof(Elf64_Shdr)))
			shnum = 0;
	} else {
		shnum = 0;
	}
	if (shnum) {
		const uint8_t *names = NULL;
		uint64_t names_size = 0;
		if (shstrndx < shnum) {
			Elf64_Shdr ss;
			memcpy(&ss, b->map + eh.e_shoff + shstrndx * sizeof(ss), sizeof(ss));
			names = file_at(b, ss.sh_offset, ss.sh_size);
			names_size = ss.sh_size;
		}
		b->secs = calloc(shnum, sizeof(*b->secs));
		if (!b->secs)
			return &tli_enomem;
		for (uint64_t i = 0; i < shnum; i++) {
			Elf64_Shdr sh;
			memcpy(&sh, b->map + eh.e_shoff + i * sizeof(sh), sizeof(sh));
			struct sec *s = &b->secs[b->nsecs++];
			s->name = "";
			if (names && sh.sh_name < names_size &&
			    memchr(names + sh.sh_name, 0, names_size - sh.sh_name))
				s->name = (const char *)names + sh.sh_name;
			s->addr = sh.sh_addr;
			s->size = sh.sh_size;
			s->offset = sh.sh_offset;
			s->type = sh.sh_type;
			s->link = sh.sh_link;
			s->entsize = sh.sh_entsize;
			if (s->type == SHT_NOBITS)
				s->offset = 0;
		}
	}
	return NULL;
}

/* ---- .note.go.buildid ---- */
static void parse_notes(struct tli_gobin *b, const uint8_t *p, uint64_t len)
{
	uint64_t off = 0;
	for (int guard = 0; guard < 256 && off + 12 <= len; guard++) {
		uint32_t namesz = rd32(p + off), descsz = rd32(p + off + 4), type = rd32(p + off + 8);
		uint64_t name_off = off + 12, desc_off = name_off + (((uint64_t)namesz + 3) & ~3ull);
		uint64_t next = desc_off + (((uint64_t)descsz + 3) & ~3ull);
		if (desc_off > len || descsz > len - desc_off)
			return;
		if (type == 4 && namesz == 4 && memcmp(p + name_off, "Go\0\0", 4) == 0 && descsz < 4096) {
			b->buildid = malloc(descsz + 1);
			if (!b->buildid)
				return;
			memcpy(b->buildid, p + desc_off, descsz);
			b->buildid[descsz] = 0;
			return;
		}
		off = next;
	}
}

static void find_buildid(struct tli_gobin *b)
{
	const struct sec *s = find_sec(b, ".note.go.buildid");
	if (s && s->type == SHT_NOTE) {
		const uint8_t *p = file_at(b, s->offset, s->size);
		if (p)
			parse_notes(b, p, s->size);
		if (b->buildid)
			return;
	}
	/* without sections: walk PT_NOTE headers */
	Elf64_Ehdr eh;
	memcpy(&eh, b->map, sizeof(eh));
	for (unsigned i = 0; i < eh.e_phnum && !b->buildid; i++) {
		Elf64_Phdr ph;
		memcpy(&ph, b->map + eh.e_phoff + i * sizeof(ph), sizeof(ph));
		if (ph.p_type != PT_NOTE)
			continue;
		const uint8_t *p = file_at(b, ph.p_offset, ph.p_filesz);
		if (p)
			parse_notes(b, p, ph.p_filesz);
	}
}

/* ---- .go.buildinfo ---- */
static bool read_uvarint(const uint8_t **p, const uint8_t *end, uint64_t *ret)
{
	uint64_t v = 0;
	for (int i = 0; i < 10; i++) {
		if (*p >= end)
			return false;
		uint8_t c = *(*p)++;
		v |= (uint64_t)(c & 0x7f) << (7 * i);
		if (!(c & 0x80)) {
			*ret = v;
			return true;
		}
	}
	return false;
}

static bool set_version(struct tli_gobin *b, const uint8_t *s, uint64_t len)
{
	if (len == 0 || len >= sizeof(b->version))
		return false;
	for (uint64_t i = 0; i < len; i++)
		if (s[i] < 0x20 || s[i] > 0x7e)
			return false;
	memcpy(b->version, s, len);
	b->version[len] = 0;
	b->have_version = true;
	const char *g = strstr(b->version, "go1.");
	if (g) {
		char *end;
		long m = strtol(g + 4, &end, 10);
		if (end != g + 4 && m >= 0 && m < 1000)
			b->minor = (int)m;
	}
	return true;
}

/* p: the buildinfo header in the file, avail bytes from there. */
static bool parse_buildinfo(struct tli_gobin *b, const uint8_t *p, size_t avail)
{
	if (avail < 32 || memcmp(p, GO_BUILDINFO_MAGIC, 14) != 0)
		return false;
	uint8_t ptrsize = p[14], flags = p[15];
	if (flags & 1) /* big endian */
		return false;
	if (flags & 2) {
		const uint8_t *q = p + 32, *end = p + avail;
		uint64_t len;
		if (!read_uvarint(&q, end, &len) || len > (uint64_t)(end - q))
			return false;
		return set_version(b, q, len);
	}
	/* pre-1.18: pointers to string headers {ptr, len} */
	if (ptrsize != 8)
		return false;
	const uint8_t *hdr = tli_gobin_view(b, rd64(p + 16), 16);
	if (!hdr)
		return false;
	uint64_t sp = rd64(hdr), sl = rd64(hdr + 8);
	if (sl == 0 || sl >= sizeof(b->version))
		return false;
	const uint8_t *str = tli_gobin_view(b, sp, sl);
	return str && set_version(b, str, sl);
}

static void find_buildinfo(struct tli_gobin *b)
{
	const struct sec *s = find_sec(b, ".go.buildinfo");
	if (s && s->type != SHT_NOBITS) {
		size_t avail;
		const uint8_t *p = view_rest(b, s->addr, &avail);
		if (p && parse_buildinfo(b, p, avail))
			return;
	}
	/* scan writable segments, 16-byte aligned */
	for (size_t i = 0; i < b->nsegs; i++) {
		const struct seg *g = &b->segs[i];
		if (!(g->flags & PF_W))
			continue;
		const uint8_t *base = file_at(b, g->offset, g->filesz);
		if (!base)
			continue;
		for (uint64_t o = (16 - (g->vaddr & 15)) & 15; o + 32 <= g->filesz; o += 16)
			if (base[o] == 0xff && memcmp(base + o, GO_BUILDINFO_MAGIC, 14) == 0 &&
			    parse_buildinfo(b, base + o, g->filesz - o))
				return;
	}
}

/* ---- pclntab ---- */
static struct tli_error *pclntab_at(struct tli_gobin *b, uint64_t addr, uint64_t size_hint)
{
	size_t avail;
	const uint8_t *p = view_rest(b, addr, &avail);
	if (!p)
		return tli_error_create(TLI_E_BAD_FORMAT, "pclntab at 0x%llx is not file-backed",
					(unsigned long long)addr);
	if (size_hint && size_hint < avail)
		avail = size_hint;
	return tli_pclntab_create(p, avail, addr, &b->pcln);
}

static struct tli_error *find_pclntab(struct tli_gobin *b)
{
	static const char *const names[] = { ".gopclntab", ".data.rel.ro.gopclntab" };
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		const struct sec *s = find_sec(b, names[i]);
		if (s && s->type != SHT_NOBITS && s->size)
			return pclntab_at(b, s->addr, s->size);
	}
	/* no section: scan non-executable segments for the header */
	for (size_t i = 0; i < b->nsegs; i++) {
		const struct seg *g = &b->segs[i];
		if (g->flags & PF_X)
			continue;
		const uint8_t *base = file_at(b, g->offset, g->filesz);
		if (!base)
			continue;
		for (uint64_t o = (4 - (g->vaddr & 3)) & 3; o + 72 <= g->filesz; o += 4) {
			if (base[o] != 0xf0 && base[o] != 0xf1)
				continue;
			if (rd32(base + o + 4) != 0x08010000u || (rd32(base + o) | 1) != 0xfffffff1u)
				continue;
			struct tli_error *err = tli_pclntab_create(base + o, g->filesz - o, g->vaddr + o, &b->pcln);
			if (!err)
				return NULL;
			tli_error_destroy(err);
		}
	}
	return tli_error_create(TLI_E_NOT_GO, "no pclntab (no .gopclntab section and no valid header found)");
}

/* ---- moduledata ---- */
/*
 * The layout of Go 1.<minor>: the row of its map, or for a minor without a map of its own the
 * row of the next newer map (go1.18 has go1.19's layout; go1.20 added covctrs/ecovctrs and has
 * go1.21's). NULL: older than GO_OLDEST_MINOR or newer than every map.
 */
static const struct md_layout *layout_for(int minor)
{
	if (minor < GO_OLDEST_MINOR)
		return NULL;
	for (size_t i = 0; i < MD_NLAYOUTS; i++)
		if (minor <= md_layouts[i].last_minor)
			return &md_layouts[i];
	return NULL;
}

static bool in_load(const struct tli_gobin *b, uint64_t a)
{
	for (size_t i = 0; i < b->nsegs; i++)
		if (a >= b->segs[i].vaddr && a - b->segs[i].vaddr < b->segs[i].memsz)
			return true;
	return false;
}

/* Decode + validate moduledata at addr with layout L. */
static bool md_decode(const struct tli_gobin *b, uint64_t addr, const struct md_layout *L, struct tli_gomoduledata *md)
{
	uint8_t buf[MD_MAX_READ];
	if (tli_error_drop(tli_gobin_read(b, addr, buf, sizeof(buf))))
		return false;
	const struct tli_pclntab *t = b->pcln;
	uint64_t pch = tli_pclntab_addr(t);
	if (rd64(buf + L->pcheader) != pch)
		return false;
	/* funcnametab.ptr = pcheader + funcnameOffset; ftab.ptr = pcheader + pclnOffset */
	const uint8_t *hdr = tli_gobin_view(b, pch, L->pch_size);
	if (!hdr || rd64(buf + L->funcnametab) != pch + rd64(hdr + L->pch_funcname) ||
	    rd64(buf + L->ftab) != pch + rd64(hdr + L->pch_pcln))
		return false;
	md->addr = addr;
	md->text = rd64(buf + L->text);
	md->etext = rd64(buf + L->etext);
	md->noptrdata = rd64(buf + L->noptrdata);
	md->enoptrdata = rd64(buf + L->enoptrdata);
	md->data = rd64(buf + L->data);
	md->edata = rd64(buf + L->edata);
	md->bss = rd64(buf + L->bss);
	md->ebss = rd64(buf + L->ebss);
	md->noptrbss = rd64(buf + L->noptrbss);
	md->enoptrbss = rd64(buf + L->enoptrbss);
	uint64_t minpc = rd64(buf + L->minpc), maxpc = rd64(buf + L->maxpc);
	if (!(md->text <= minpc && minpc < maxpc && maxpc <= md->etext) || md->noptrdata > md->enoptrdata ||
	    md->data > md->edata || md->bss > md->ebss || md->noptrbss > md->enoptrbss)
		return false;
	md->types = rd64(buf + L->types);
	md->etypes = rd64(buf + L->etypes);
	md->rodata = rd64(buf + L->rodata);
	md->gofunc = rd64(buf + L->gofunc);
	return md->types < md->etypes && in_load(b, md->types) && in_load(b, md->etypes - 1) &&
	       in_load(b, md->rodata) && in_load(b, md->gofunc) && md->gofunc >= md->rodata;
}

static bool md_try(struct tli_gobin *b, uint64_t addr)
{
	const struct md_layout *L = layout_for(b->minor);
	if (L)
		return md_decode(b, addr, L, &b->md);
	if (b->minor >= 0 && b->minor < GO_OLDEST_MINOR)
		return false;
	/* unknown version: accept the only layout (newest first) whose values are consistent */
	if (b->minor < 0 && tli_pclntab_magic(b->pcln) == TLI_PCLNTAB_MAGIC_118)
		return md_decode(b, addr, &md_layouts[0], &b->md);
	for (size_t i = MD_NLAYOUTS; i-- > 0;)
		if (md_decode(b, addr, &md_layouts[i], &b->md))
			return true;
	return false;
}

static void find_moduledata(struct tli_gobin *b)
{
	uint64_t addr;
	if (tli_gobin_symbol(b, "runtime.firstmoduledata", &addr, NULL) && md_try(b, addr)) {
		b->have_md = true, b->md_source = "symtab";
		return;
	}
	const struct sec *s = find_sec(b, ".go.module");
	if (s && md_try(b, s->addr)) {
		b->have_md = true, b->md_source = ".go.module";
		return;
	}
	/* scan .noptrdata (or, without sections, every writable segment) for the pclntab address */
	uint64_t pch = tli_pclntab_addr(b->pcln);
	const struct sec *nd = find_sec(b, ".noptrdata");
	for (size_t i = 0; i < b->nsegs; i++) {
		const struct seg *g = &b->segs[i];
		uint64_t lo = g->vaddr, hi = g->vaddr + g->filesz;
		if (nd) {
			if (nd->addr < lo || nd->addr >= hi)
				continue;
			lo = nd->addr;
			if (nd->size < hi - lo)
				hi = lo + nd->size;
		} else if (!(g->flags & PF_W)) {
			continue;
		}
		const uint8_t *base = tli_gobin_view(b, lo, hi - lo);
		if (!base)
			continue;
		for (uint64_t o = (8 - (lo & 7)) & 7; o + 8 <= hi - lo; o += 8)
			if (rd64(base + o) == pch && md_try(b, lo + o)) {
				b->have_md = true, b->md_source = "scan";
				return;
			}
	}
}

/* ---- open ---- */
struct tli_error *tli_gobin_open(const char *path, struct tli_gobin **ret)
{
	*ret = NULL;
	int fd = tli_open_regular(path);
	if (fd < 0)
		return tli_error_errno(errno == EACCES ? TLI_E_PERM : TLI_E_NO_TARGET, errno, "open %s", path);
	struct stat st;
	if (fstat(fd, &st) < 0) {
		int e = errno;
		close(fd);
		return tli_error_errno(TLI_E_NO_TARGET, e, "stat %s", path);
	}
	if (!S_ISREG(st.st_mode) || st.st_size <= 0) {
		close(fd);
		return tli_error_create(TLI_E_BAD_FORMAT, "%s: not a regular non-empty file", path);
	}
	void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (m == MAP_FAILED) {
		int e = errno;
		close(fd);
		return tli_error_errno(TLI_E_NO_TARGET, e, "mmap %s", path);
	}
	struct tli_gobin *b = calloc(1, sizeof(*b));
	if (!b) {
		munmap(m, (size_t)st.st_size);
		close(fd);
		return &tli_enomem;
	}
	b->fd = fd;
	b->map = m;
	b->size = (size_t)st.st_size;
	b->minor = -1;
	struct tli_error *err = parse_elf(b, path);
	if (err)
		goto fail;
	find_buildid(b);
	find_buildinfo(b);
	if ((err = find_pclntab(b))) {
		if (err->code == TLI_E_NOT_GO && b->have_version)
			err->code = TLI_E_BAD_FORMAT;
		tli_error_wrap(err, "%s", path);
		goto fail;
	}
	find_moduledata(b);
	if (b->have_md)
		tli_pclntab_set_gofunc(b->pcln, b->md.gofunc, view_cb, b);
	if (tli_pclntab_header_text(b->pcln) == 0) { /* Go 1.26+: textStart is not stored */
		uint64_t text = 0, sz;
		if (b->have_md)
			text = b->md.text;
		else if (!tli_gobin_section(b, ".text", &text, &sz))
			text = 0;
		if (!text) {
			err = tli_error_create(TLI_E_NO_INFO, "%s: pclntab has no textStart and neither moduledata nor "
						"a .text section was found", path);
			goto fail;
		}
		tli_pclntab_set_text(b->pcln, text);
	}
	*ret = b;
	return NULL;
fail:
	tli_gobin_destroy(b);
	return err;
}

void tli_gobin_destroy(struct tli_gobin *b)
{
	if (!b)
		return;
	tli_pclntab_destroy(b->pcln);
	free(b->buildid);
	free(b->segs);
	free(b->secs);
	if (b->map)
		munmap((void *)b->map, b->size);
	if (b->fd >= 0)
		close(b->fd);
	free(b);
}

const char *tli_gobin_version(const struct tli_gobin *b) { return b->have_version ? b->version : NULL; }
int tli_gobin_minor(const struct tli_gobin *b) { return b->minor; }
const struct tli_arch *tli_gobin_arch(const struct tli_gobin *b) { return b->arch; }
bool tli_gobin_is_pie(const struct tli_gobin *b) { return b->etype == ET_DYN; }
uint64_t tli_gobin_min_vaddr(const struct tli_gobin *b) { return b->min_vaddr; }
uint64_t tli_gobin_entry(const struct tli_gobin *b) { return b->entry; }
const struct tli_pclntab *tli_gobin_pclntab(const struct tli_gobin *b) { return b->pcln; }
const char *tli_gobin_buildid(const struct tli_gobin *b) { return b->buildid; }
const struct tli_gomoduledata *tli_gobin_moduledata(const struct tli_gobin *b) { return b->have_md ? &b->md : NULL; }
const char *tli_gobin_moduledata_source(const struct tli_gobin *b) { return b->md_source; }
