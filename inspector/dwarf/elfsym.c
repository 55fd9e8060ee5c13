/* SPDX-License-Identifier: MIT */
/*
 * ELF facts and symbol tables via libelf. libelf bounds-checks section data
 * against the file size, string offsets (elf_strptr) and symbol indices
 * (gelf_getsym); on top of that we check section types, entry sizes, links
 * and NULL data before touching anything, and bound every loop.
 */
#include "core/hash.h"
#include "core/fileio.h"
#include "core/search.h"
#include "elfsym.h"
#include "dwarf.h"

#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <lzma.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_SYMS (64u * 1024 * 1024)
#define MAX_NOTES 4096
#define MAX_MINI_BYTES (256u << 20) /* a decompressed .gnu_debugdata */

void tli_build_id_hex(const uint8_t *id, size_t len, char *buf, size_t cap)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;
	if (!cap)
		return;
	for (size_t i = 0; i < len && o + 2 < cap; i++) {
		buf[o++] = hex[id[i] >> 4];
		buf[o++] = hex[id[i] & 15];
	}
	buf[o] = 0;
}

/* Open `path` read-only with libelf; the caller ends both. */
static struct tli_error *open_elf(const char *path, int *fdp, Elf **elfp)
{
	*fdp = -1;
	*elfp = NULL;
	if (elf_version(EV_CURRENT) == EV_NONE)
		return tli_error_create(TLI_E_INTERNAL, "libelf: version mismatch");
	int fd = tli_open_regular(path);
	if (fd < 0 && errno == EINVAL) /* tli_open_regular's answer for a FIFO, device, directory */
		return tli_error_create(TLI_E_BAD_FORMAT, "cannot open %s: not a regular file", path);
	if (fd < 0)
		return tli_error_errno(errno == EACCES ? TLI_E_PERM : TLI_E_NO_TARGET, errno,
				       "cannot open %s", path);
	Elf *elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!elf) {
		struct tli_error *e = tli_error_create(TLI_E_BAD_FORMAT, "%s: not readable as ELF: %s",
						       path, elf_errmsg(-1));
		close(fd);
		return e;
	}
	if (elf_kind(elf) != ELF_K_ELF) {
		elf_end(elf);
		close(fd);
		return tli_error_create(TLI_E_BAD_FORMAT, "%s: not an ELF file", path);
	}
	*fdp = fd;
	*elfp = elf;
	return NULL;
}

/* Scan one block of notes for NT_GNU_BUILD_ID. */
static bool notes_build_id(Elf_Data *data, struct tli_elfinfo *info)
{
	if (!data || !data->d_buf || data->d_size == 0)
		return false;
	size_t off = 0;
	for (int n = 0; n < MAX_NOTES && off < data->d_size; n++) {
		GElf_Nhdr nh;
		size_t name_off, desc_off;
		size_t next = gelf_getnote(data, off, &nh, &name_off, &desc_off);
		if (next == 0 || next <= off)
			break;
		if (nh.n_type == NT_GNU_BUILD_ID && nh.n_namesz == 4 &&
		    name_off + 4 <= data->d_size && desc_off <= data->d_size &&
		    nh.n_descsz <= data->d_size - desc_off &&
		    memcmp((const char *)data->d_buf + name_off, "GNU", 4) == 0 &&
		    nh.n_descsz > 0 && nh.n_descsz <= TLI_BUILD_ID_MAX) {
			memcpy(info->build_id, (const char *)data->d_buf + desc_off, nh.n_descsz);
			info->build_id_len = nh.n_descsz;
			return true;
		}
		off = next;
	}
	return false;
}

struct tli_error *tli_elf_info_from_elf(struct Elf *elf, const char *path,
					struct tli_elfinfo *ret)
{
	memset(ret, 0, sizeof(*ret));
	GElf_Ehdr eh;
	if (!gelf_getehdr(elf, &eh))
		return tli_error_create(TLI_E_BAD_FORMAT, "%s: bad ELF header: %s", path,
					elf_errmsg(-1));
	ret->elfclass = eh.e_ident[EI_CLASS];
	ret->type = eh.e_type;
	ret->machine = eh.e_machine;
	ret->entry = eh.e_entry;

	size_t phnum = 0;
	if (elf_getphdrnum(elf, &phnum) != 0)
		return tli_error_create(TLI_E_BAD_FORMAT, "%s: bad program header count: %s", path,
					elf_errmsg(-1));
	if (phnum > 65536)
		return tli_error_create(TLI_E_BAD_FORMAT, "%s: %zu program headers", path, phnum);
	for (size_t i = 0; i < phnum; i++) {
		GElf_Phdr ph;
		if (!gelf_getphdr(elf, (int)i, &ph))
			return tli_error_create(TLI_E_BAD_FORMAT, "%s: program header %zu unreadable: %s",
						path, i, elf_errmsg(-1));
		if (ph.p_type == PT_LOAD) {
			uint64_t v = ph.p_vaddr;
			if (ph.p_align > 1 && (ph.p_align & (ph.p_align - 1)) == 0)
				v &= ~(ph.p_align - 1);
			if (!ret->has_load || v < ret->min_load_vaddr)
				ret->min_load_vaddr = v;
			ret->has_load = true;
		}
	}

	size_t shnum = 0, shstrndx = 0;
	if (elf_getshdrnum(elf, &shnum) != 0)
		return tli_error_create(TLI_E_BAD_FORMAT, "%s: bad section count: %s", path,
					elf_errmsg(-1));
	bool have_strndx = elf_getshdrstrndx(elf, &shstrndx) == 0 && shstrndx < shnum;
	Elf_Scn *scn = NULL;
	for (size_t n = 0; n < shnum && (scn = elf_nextscn(elf, scn)) != NULL; n++) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh))
			return tli_error_create(TLI_E_BAD_FORMAT, "%s: section header %zu unreadable: %s",
						path, n + 1, elf_errmsg(-1));
		const char *name = have_strndx ? elf_strptr(elf, shstrndx, sh.sh_name) : NULL;
		if (sh.sh_type == SHT_NOTE && !ret->build_id_len)
			notes_build_id(elf_getdata(scn, NULL), ret);
		if (sh.sh_type == SHT_SYMTAB && sh.sh_size > 0)
			ret->has_symtab = true;
		if (sh.sh_type == SHT_DYNSYM && sh.sh_size > 0)
			ret->has_dynsym = true;
		if (!name)
			continue;
		if ((strcmp(name, ".debug_info") == 0 || strcmp(name, ".zdebug_info") == 0) &&
		    sh.sh_type != SHT_NOBITS && sh.sh_size > 0)
			ret->has_debug_info = true;
		if (strcmp(name, ".gnu_debuglink") == 0 && sh.sh_type != SHT_NOBITS) {
			Elf_Data *d = elf_getdata(scn, NULL);
			if (!d || !d->d_buf || d->d_size < 8)
				continue;
			const char *s = d->d_buf;
			size_t len = strnlen(s, d->d_size);
			size_t crc_off = (len + 1 + 3) & ~(size_t)3;
			if (len == 0 || len >= sizeof(ret->debuglink) || crc_off + 4 > d->d_size)
				continue;
			memcpy(ret->debuglink, s, len);
			ret->debuglink[len] = 0;
			uint8_t c[4];
			memcpy(c, s + crc_off, 4);
			if (eh.e_ident[EI_DATA] == ELFDATA2MSB)
				ret->debuglink_crc = (uint32_t)c[0] << 24 | (uint32_t)c[1] << 16 |
						     (uint32_t)c[2] << 8 | c[3];
			else
				ret->debuglink_crc = (uint32_t)c[3] << 24 | (uint32_t)c[2] << 16 |
						     (uint32_t)c[1] << 8 | c[0];
			ret->has_debuglink = true;
		}
	}
	/* No note section (e.g. section headers stripped): try PT_NOTE segments. */
	for (size_t i = 0; i < phnum && !ret->build_id_len; i++) {
		GElf_Phdr ph;
		if (!gelf_getphdr(elf, (int)i, &ph) || ph.p_type != PT_NOTE || ph.p_filesz == 0)
			continue;
		Elf_Data *d = elf_getdata_rawchunk(elf, (int64_t)ph.p_offset, ph.p_filesz, ELF_T_NHDR);
		notes_build_id(d, ret);
	}
	return NULL;
}

struct tli_error *tli_elf_read_info(const char *path, struct tli_elfinfo *ret)
{
	int fd;
	Elf *elf;
	memset(ret, 0, sizeof(*ret));
	struct tli_error *err = open_elf(path, &fd, &elf);
	if (err)
		return err;
	err = tli_elf_info_from_elf(elf, path, ret);
	elf_end(elf);
	close(fd);
	return err;
}

/* ---- symbols ---- */

struct esym {
	size_t name_off; /* into names */
	uint64_t value, size;
	uint8_t type, bind;
};

struct tli_elfsym {
	char *path;
	const char *table;
	struct esym *syms;
	size_t n;
	char *names;
	size_t names_len, names_cap;
	struct tli_strmap *by_name; /* name -> index */
	size_t *by_addr;            /* indices sorted by value (no TLS) */
	size_t n_addr;
};

void tli_elfsym_close(struct tli_elfsym *s)
{
	if (!s)
		return;
	free(s->path);
	free(s->syms);
	free(s->names);
	free(s->by_addr);
	tli_strmap_free(s->by_name);
	free(s);
}

const char *tli_elfsym_table(const struct tli_elfsym *s) { return s->table; }
const char *tli_elfsym_path(const struct tli_elfsym *s) { return s->path; }
size_t tli_elfsym_count(const struct tli_elfsym *s) { return s->n; }

static int bind_rank(uint8_t b)
{
	return b == STB_GLOBAL ? 0 : b == STB_WEAK ? 1 : 2;
}

/* by_addr order: value, then size, then symbol index (total: the sort is deterministic) */
static int cmp_addr(const void *a, const void *b, void *arg)
{
	const struct tli_elfsym *s = arg;
	const struct esym *x = &s->syms[*(const size_t *)a];
	const struct esym *y = &s->syms[*(const size_t *)b];
	if (x->value != y->value)
		return x->value < y->value ? -1 : 1;
	if (x->size != y->size)
		return x->size < y->size ? -1 : 1;
	return *(const size_t *)a < *(const size_t *)b ? -1 : 1;
}

/* Append the kept symbols of table `scn` (of `elf`, which has shnum sections) to s. */
static struct tli_error *collect_table(struct tli_elfsym *s, Elf *elf, Elf_Scn *scn,
				       const GElf_Shdr *sh, size_t shnum)
{
	const char *path = s->path;
	int cls = gelf_getclass(elf);
	size_t want = cls == ELFCLASS32 ? sizeof(Elf32_Sym) : sizeof(Elf64_Sym);
	if (sh->sh_entsize != want)
		return tli_error_create(TLI_E_BAD_FORMAT, "%s: %s has entry size %llu (expected %zu)",
					path, s->table, (unsigned long long)sh->sh_entsize, want);
	if (sh->sh_link == 0 || sh->sh_link >= shnum)
		return tli_error_create(TLI_E_BAD_FORMAT, "%s: %s links to bad string table %u",
					path, s->table, (unsigned)sh->sh_link);
	Elf_Scn *strscn = elf_getscn(elf, sh->sh_link);
	GElf_Shdr strsh;
	if (!strscn || !gelf_getshdr(strscn, &strsh) || strsh.sh_type != SHT_STRTAB)
		return tli_error_create(TLI_E_BAD_FORMAT, "%s: %s string table %u is not SHT_STRTAB",
					path, s->table, (unsigned)sh->sh_link);
	Elf_Data *data = elf_getdata(scn, NULL);
	if (!data || (!data->d_buf && data->d_size))
		return tli_error_create(TLI_E_BAD_FORMAT, "%s: %s data unreadable: %s", path, s->table,
					elf_errmsg(-1));
	size_t nsyms = data->d_size / want;
	if (nsyms > MAX_SYMS)
		return tli_error_create(TLI_E_BAD_FORMAT, "%s: %s has %zu symbols", path, s->table, nsyms);
	if (nsyms > MAX_SYMS - s->n)
		return tli_error_create(TLI_E_BAD_FORMAT, "%s: %s has %zu symbols", path, s->table, s->n + nsyms);
	struct esym *ns = realloc(s->syms, (s->n + nsyms + 1) * sizeof(*s->syms));
	if (!ns)
		return &tli_enomem;
	s->syms = ns;
	for (size_t i = 1; i < nsyms; i++) {
		GElf_Sym sym;
		if (!gelf_getsym(data, (int)i, &sym))
			return tli_error_create(TLI_E_BAD_FORMAT, "%s: %s symbol %zu unreadable: %s", path,
						s->table, i, elf_errmsg(-1));
		uint8_t type = GELF_ST_TYPE(sym.st_info);
		if (type != STT_OBJECT && type != STT_FUNC && type != STT_TLS)
			continue;
		if (sym.st_shndx == SHN_UNDEF)
			continue;
		const char *name = elf_strptr(elf, sh->sh_link, sym.st_name);
		if (!name || !*name)
			continue;
		size_t len = strlen(name) + 1;
		if (s->names_len + len > s->names_cap) {
			size_t nc = s->names_cap ? s->names_cap * 2 : 65536;
			while (nc < s->names_len + len)
				nc *= 2;
			char *nn = realloc(s->names, nc);
			if (!nn)
				return &tli_enomem;
			s->names = nn;
			s->names_cap = nc;
		}
		memcpy(s->names + s->names_len, name, len);
		s->syms[s->n] = (struct esym){ .name_off = s->names_len, .value = sym.st_value,
					       .size = sym.st_size, .type = type,
					       .bind = GELF_ST_BIND(sym.st_info) };
		s->names_len += len;
		s->n++;
	}
	return NULL;
}

/* The indexes by name and by address over every collected symbol. */
static struct tli_error *index_syms(struct tli_elfsym *s)
{
	s->by_name = tli_strmap_new();
	s->by_addr = calloc(s->n ? s->n : 1, sizeof(*s->by_addr));
	if (!s->by_name || !s->by_addr)
		return &tli_enomem;
	for (size_t i = 0; i < s->n; i++) {
		const char *name = s->names + s->syms[i].name_off;
		uint64_t prev;
		if (!tli_strmap_get(s->by_name, name, &prev) ||
		    bind_rank(s->syms[i].bind) < bind_rank(s->syms[prev].bind)) {
			if (!tli_strmap_put(s->by_name, name, i))
				return &tli_enomem;
		}
		if (s->syms[i].type != STT_TLS)
			s->by_addr[s->n_addr++] = i;
	}
	qsort_r(s->by_addr, s->n_addr, sizeof(*s->by_addr), cmp_addr, s);
	return NULL;
}

/* MiniDebugInfo (.gnu_debugdata): an xz-compressed ELF whose .symtab holds the symbols a
 * stripped library's .dynsym lacks (its local functions), as gdb and elfutils read it.
 * Decompressed into memory, bounded; false if there is none or it is unusable. */
static bool add_minidebuginfo(struct tli_elfsym *s, Elf *elf, size_t shnum)
{
	size_t shstrndx;
	if (elf_getshdrstrndx(elf, &shstrndx) != 0)
		return false;
	Elf_Scn *scn = NULL;
	Elf_Data *in = NULL;
	for (size_t n = 0; n < shnum && (scn = elf_nextscn(elf, scn)) != NULL; n++) {
		GElf_Shdr sh;
		const char *name;
		if (gelf_getshdr(scn, &sh) && sh.sh_type == SHT_PROGBITS &&
		    (name = elf_strptr(elf, shstrndx, sh.sh_name)) && !strcmp(name, ".gnu_debugdata")) {
			in = elf_rawdata(scn, NULL);
			break;
		}
	}
	if (!in || !in->d_buf || !in->d_size)
		return false;
	size_t cap = 0, len = 0;
	unsigned char *out = NULL;
	lzma_stream z = LZMA_STREAM_INIT;
	if (lzma_stream_decoder(&z, MAX_MINI_BYTES, 0) != LZMA_OK)
		return false;
	z.next_in = in->d_buf;
	z.avail_in = in->d_size;
	lzma_ret r = LZMA_OK;
	while (r == LZMA_OK) {
		if (len == cap) {
			size_t nc = cap ? cap * 2 : 1 << 20;
			unsigned char *nb = nc <= MAX_MINI_BYTES ? realloc(out, nc) : NULL;
			if (!nb)
				break;
			out = nb;
			cap = nc;
		}
		z.next_out = out + len;
		z.avail_out = cap - len;
		r = lzma_code(&z, LZMA_FINISH);
		len = cap - z.avail_out;
	}
	lzma_end(&z);
	bool ok = false;
	Elf *mini = r == LZMA_STREAM_END ? elf_memory((char *)out, len) : NULL;
	size_t mshnum;
	if (mini && elf_kind(mini) == ELF_K_ELF && gelf_getclass(mini) == gelf_getclass(elf) &&
	    elf_getshdrnum(mini, &mshnum) == 0) {
		scn = NULL;
		for (size_t n = 0; n < mshnum && (scn = elf_nextscn(mini, scn)) != NULL; n++) {
			GElf_Shdr sh;
			if (gelf_getshdr(scn, &sh) && sh.sh_type == SHT_SYMTAB) {
				const char *was = s->table;
				s->table = ".gnu_debugdata";
				struct tli_error *e = collect_table(s, mini, scn, &sh, mshnum);
				s->table = was;
				ok = !e;
				tli_error_destroy(e);
				break;
			}
		}
	}
	if (mini)
		elf_end(mini);
	free(out);
	return ok;
}

struct tli_error *tli_elfsym_open(const char *path, struct tli_elfsym **ret)
{
	*ret = NULL;
	int fd;
	Elf *elf;
	struct tli_error *err = open_elf(path, &fd, &elf);
	if (err)
		return err;
	struct tli_elfsym *s = calloc(1, sizeof(*s));
	if (!s || !(s->path = strdup(path))) {
		free(s);
		err = &tli_enomem;
		goto out;
	}
	size_t shnum = 0;
	if (elf_getshdrnum(elf, &shnum) != 0) {
		err = tli_error_create(TLI_E_BAD_FORMAT, "%s: bad section count: %s", path,
				       elf_errmsg(-1));
		goto out;
	}
	Elf_Scn *symtab = NULL, *dynsym = NULL, *scn = NULL;
	GElf_Shdr symsh, dynsh;
	for (size_t n = 0; n < shnum && (scn = elf_nextscn(elf, scn)) != NULL; n++) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh)) {
			err = tli_error_create(TLI_E_BAD_FORMAT, "%s: section header %zu unreadable: %s",
					       path, n + 1, elf_errmsg(-1));
			goto out;
		}
		if (sh.sh_type == SHT_SYMTAB && !symtab) {
			symtab = scn;
			symsh = sh;
		} else if (sh.sh_type == SHT_DYNSYM && !dynsym) {
			dynsym = scn;
			dynsh = sh;
		}
	}
	if (symtab) {
		s->table = ".symtab";
		err = collect_table(s, elf, symtab, &symsh, shnum);
	} else if (dynsym) {
		s->table = ".dynsym";
		err = collect_table(s, elf, dynsym, &dynsh, shnum);
		/* a stripped library's MiniDebugInfo adds the symbols .dynsym lacks (a bad one
		 * only costs those symbols) */
		if (!err && add_minidebuginfo(s, elf, shnum))
			s->table = ".dynsym+.gnu_debugdata";
	} else if (!add_minidebuginfo(s, elf, shnum)) {
		err = tli_error_create(TLI_E_NO_INFO, "%s: no .symtab or .dynsym", path);
	} else {
		s->table = ".gnu_debugdata";
	}
	if (!err)
		err = index_syms(s);
out:
	elf_end(elf);
	close(fd);
	if (err) {
		tli_elfsym_close(s);
		return err;
	}
	*ret = s;
	return NULL;
}

static void fill(const struct tli_elfsym *s, size_t i, struct tli_sym *ret)
{
	const struct esym *e = &s->syms[i];
	*ret = (struct tli_sym){ .name = s->names + e->name_off, .value = e->value, .size = e->size,
				 .type = e->type, .bind = e->bind };
}

bool tli_elfsym_at(const struct tli_elfsym *s, size_t i, struct tli_sym *ret)
{
	if (!s || i >= s->n)
		return false;
	fill(s, i, ret);
	return true;
}

struct tli_error *tli_elfsym_lookup(const struct tli_elfsym *s, const char *name,
				    struct tli_sym *ret)
{
	uint64_t i;
	if (!s || !name || !tli_strmap_get(s->by_name, name, &i) || i >= s->n)
		return tli_error_create(TLI_E_NO_INFO, "no symbol %s in %s of %s", name ? name : "(null)",
					s ? s->table : "?", s ? s->path : "?");
	fill(s, i, ret);
	return NULL;
}

struct tli_error *tli_elfsym_lookup_addr(const struct tli_elfsym *s, uint64_t addr,
					 struct tli_sym *ret, uint64_t *off)
{
	/* one past the last index with value <= addr */
	size_t lo = tli_upper_bound(s->n_addr, i, s->syms[s->by_addr[i]].value > addr);
	/* walk back a bounded distance: a containing symbol may precede
	 * zero-size or nested ones */
	for (size_t k = 0; k < 256 && lo > 0; k++, lo--) {
		const struct esym *e = &s->syms[s->by_addr[lo - 1]];
		if ((e->size == 0 && e->value == addr) ||
		    (e->size > 0 && addr - e->value < e->size)) {
			fill(s, s->by_addr[lo - 1], ret);
			if (off)
				*off = addr - e->value;
			return NULL;
		}
	}
	return tli_error_create(TLI_E_NO_INFO, "no symbol contains 0x%llx in %s of %s",
				(unsigned long long)addr, s->table, s->path);
}

static struct tli_error *prov_global(void *p, const char *name, struct tli_global *ret)
{
	struct tli_sym sym;
	struct tli_error *err = tli_elfsym_lookup(p, name, &sym);
	if (err)
		return err;
	if (sym.type == STT_TLS)
		return tli_error_create(TLI_E_NO_INFO, "%s is thread-local (TLS offset 0x%llx), not an address",
					name, (unsigned long long)sym.value);
	ret->addr = sym.value;
	ret->size = sym.size;
	return NULL;
}

static void prov_destroy(void *p)
{
	tli_elfsym_close(p);
}

const struct tli_layout_provider_ops tli_elfsym_provider_ops = {
	.name = "elf-symtab",
	.global = prov_global,
	.destroy = prov_destroy,
};

struct tli_error *tli_elfsym_add_to_layout(struct tli_elfsym *s, struct tli_layout *l)
{
	char label[600];
	snprintf(label, sizeof(label), "elf-symtab %s", s->path);
	return tli_layout_add_provider_labeled(l, &tli_elfsym_provider_ops, s, label);
}
