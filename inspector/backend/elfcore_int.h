/* SPDX-License-Identifier: MIT */
/**
 * @file elfcore_int.h
 * Private to the ELF core backend (elfcore.c, elfcore_read.c, elfcore_notes.c,
 * elfcore_segments.c, elfcore_files.c, elfcore_buildid.c, elfcore_exe.c): the
 * parsed core and the helpers its files share. Every offset, size and count
 * taken from the core is range-checked before use.
 */
#ifndef TLI_BACKEND_ELFCORE_INT_H
#define TLI_BACKEND_ELFCORE_INT_H

#include <elf.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "core/error.h"
#include "core/target.h"
#include "elfcore.h"

#define MAX_WARN_PER_KIND 8

/** A PT_LOAD segment of the core. */
struct seg {
	uint64_t vaddr, memsz, filesz, offset;
	uint64_t avail; /**< bytes of file data actually present (<= filesz) */
	unsigned prot;
};

/** An NT_FILE entry: [start, end) maps files[file] from offset ofs. */
struct fmap {
	uint64_t start, end, ofs;
	size_t file; /**< index into files */
};

#define BFILE_MAX_PH 32
/** At most this many files named by NT_FILE are kept (a crafted core can name millions). */
#define MAX_FILES 4096

enum bfile_state {
	BF_UNTRIED,
	BF_OK,      /**< backs memory: a regular ELF file whose build-id matches the core's
	                 (or the executable, accepted unverified with a warning) */
	BF_ABSENT,  /**< not found or not readable here (open_err) */
	BF_REFUSED, /**< exists here but may not back memory (why) */
};

/** A file named by NT_FILE (a backing file of some mappings). */
struct bfile {
	char *orig;   /**< path as named in the core */
	char *path;   /**< where it is here: --exe, else resolved inside --sysroot (NULL until looked up) */
	enum bfile_state state;
	int fd;       /**< open while BF_OK, else -1 */
	int open_err; /**< BF_ABSENT: errno */
	bool given;   /**< the executable given by --exe (the user's file, not the core's) */
	bool verified; /**< BF_OK with a matching build-id (else an executable nothing could verify) */
	uint64_t size; /**< st_size of the file (BF_OK) */
	uint64_t at;   /**< start of its first mapping (for messages) */
	uint64_t hdr, hdr_len; /**< where its file offset 0 is mapped ([hdr, hdr+hdr_len)); hdr_len 0: nowhere */
	char why[400]; /**< BF_REFUSED: why (and for -v, what BF_OK rests on) */
	bool quiet;   /**< BF_REFUSED only for want of a build-id to compare (data files: locales, fonts):
	                   warned about only when a read needs it */
	bool warned;  /**< BF_REFUSED: the target's warnings say why already */
	bool linkmap; /**< found in the dynamic linker's list (no NT_FILE: elfcore_rdebug.c) */
	uint64_t l_addr, l_ld; /**< linkmap: its link_map's load bias and dynamic section address */
	int nph;      /**< PT_LOADs of the file (for protections), -1 = not read */
	struct { uint64_t off, end; unsigned prot; } ph[BFILE_MAX_PH];
};

struct core {
	const unsigned char *data;
	size_t size;
	void *mapped; /**< owned mmap (tli_core_open) or NULL */
	size_t mapped_len;
	struct seg *segs;    /**< sorted by vaddr, non-overlapping */
	size_t nsegs;
	struct fmap *fmaps;  /**< sorted by start, non-overlapping */
	size_t nfmaps;
	struct bfile *files;
	size_t nfiles;
	long exe_file; /**< index into files, -1 if unknown */
	char fname[17];
	uint64_t fallback_reads;
	unsigned warn_trunc, warn_note, warn_unbacked;
	FILE *verbose; /**< -v: which file backs which range (NULL: quiet) */
	uint64_t lm_rdebug; /**< no NT_FILE: the dynamic linker's r_debug the files came from (0: none) */
	size_t lm_libs;     /**< and how many libraries its list named */
	uint64_t at_base;   /**< AT_BASE: where the dynamic linker is loaded (0: unknown) */
};

/** What the notes tell, gathered while the program headers are read. */
struct note_ctx {
	struct tli_target *t;
	struct core *c;
	const char *name;
	/* raw NT_FILE, parsed after all notes (needs AT_ENTRY for the exe) */
	const unsigned char *file_desc;
	size_t file_desc_len;
	char prpsinfo_sname;
	size_t thread_cap;
};

/* bounds-checked access to the image */
static inline bool in_file(const struct core *c, uint64_t off, uint64_t len)
{
	return off <= c->size && len <= c->size - off;
}

static inline uint64_t get_u64(const unsigned char *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return v;
}

static inline uint32_t get_u32(const unsigned char *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}

static inline uint64_t sat_add(uint64_t a, uint64_t b)
{
	return a + b < a ? UINT64_MAX : a + b;
}

/** TLI_PROT_* of ELF p_flags. */
static inline unsigned prot_of_flags(uint32_t flags)
{
	return (flags & PF_R ? TLI_PROT_R : 0) | (flags & PF_W ? TLI_PROT_W : 0) | (flags & PF_X ? TLI_PROT_X : 0);
}

static inline uint64_t page_up(uint64_t v)
{
	return v > UINT64_MAX - 4095 ? UINT64_MAX & ~4095ull : (v + 4095) & ~4095ull;
}

/* --- elfcore_read.c: reads --- */

extern const struct tli_target_ops tli_elfcore_ops;
/** Segment containing a, or NULL; *next_start (may be NULL) = start of the next segment above a. */
const struct seg *tli_elfcore_find_seg(const struct core *c, uint64_t a, uint64_t *next_start);
/** NT_FILE entry containing a, or NULL; *next_start (may be NULL) = start of the next entry above a. */
const struct fmap *tli_elfcore_find_fmap(const struct core *c, uint64_t a, uint64_t *next_start);

/** Where the bytes from an address on come from (reads and t->maps agree on it). */
enum src {
	SRC_CORE,  /**< the core's PT_LOAD data */
	SRC_FILE,  /**< a file that backs memory (BF_OK), inside its size rounded up to a page */
	SRC_LOST,  /**< in the core's PT_LOAD but cut off by the end of the core file (truncated:
	                reads fail with ENODATA, the mapping stays as the segment says) */
	SRC_NONE,  /**< not in core: no data in the core, and no file or one that may not be read */
};
/**
 * The source of the bytes at a (in segment s, or in no segment: s NULL) and how far it
 * goes: [a, *end) with *end <= lim; *fm = the NT_FILE entry at a (NULL if none).
 */
enum src tli_elfcore_source(const struct core *c, const struct seg *s, uint64_t a, uint64_t lim,
			    uint64_t *end, const struct fmap **fm);
/** Read from the core's own PT_LOAD data only (no backing files). Bytes read. */
size_t tli_elfcore_read_core_only(struct core *c, uint64_t addr, void *buf, size_t len);

/* --- elfcore_notes.c: PT_NOTE contents --- */

/** The notes of one PT_NOTE at [off, off+len) of the image: threads, pid, auxv, NT_FILE kept raw. */
struct tli_error *tli_elfcore_parse_notes(struct note_ctx *nc, uint64_t off, uint64_t len);
/** The NT_FILE note (after every note: the exe is the entry holding AT_ENTRY). */
struct tli_error *tli_elfcore_parse_nt_file(struct note_ctx *nc, const struct tli_core_opts *opts);

/* --- elfcore_segments.c: PT_LOAD segments and the target's mappings --- */

/** Add one PT_LOAD (clamped to the file, warnings for damage); true if it has data in the core. */
bool tli_elfcore_add_segment(struct tli_target *t, struct core *c, const Elf64_Phdr *ph, const char *name);
/** Sort the segments; trim overlaps (only a crafted core has them). */
void tli_elfcore_sort_segments(struct tli_target *t, struct core *c, const char *name);
/** t->maps: every segment plus the file-backed ranges that have no segment. */
struct tli_error *tli_elfcore_build_maps(struct tli_target *t, struct core *c);

/* --- elfcore_buildid.c: build-ids of a file and of its image in the core --- */

#define MAX_BUILDID 256
struct buildids {
	unsigned char gnu[MAX_BUILDID]; /**< NT_GNU_BUILD_ID */
	size_t gnu_len;
	unsigned char go[MAX_BUILDID];  /**< Go's "Go" note */
	size_t go_len;
};
/** The build-ids of the ELF file fd (its PT_NOTE segments); false if it is not a 64-bit ELF file. */
bool tli_elfcore_file_buildids(int fd, struct buildids *b);
/** The build-ids the core records for files[file]: its ELF header page as the core holds it. */
void tli_elfcore_core_buildids(struct core *c, size_t file, struct buildids *b);
enum bid_cmp { BID_MATCH, BID_MISMATCH, BID_UNKNOWN };
/**
 * The file's build-ids against the core's: every kind both have must be equal (MATCH
 * if at least one was compared). On MISMATCH *kind names it ("build-id", "Go build-id")
 * and fhex/chex (2 * MAX_BUILDID + 1 bytes each) hold the file's and the core's.
 */
enum bid_cmp tli_elfcore_compare_buildids(const struct buildids *file, const struct buildids *core,
					  const char **kind, char *fhex, char *chex);
/** The core's build-id for a file, as text for messages ("" if none). */
void tli_elfcore_buildid_text(const struct buildids *b, char *out, size_t outsz);

/* --- elfcore_files.c: which files may back memory --- */

/** Look up f here (--exe, or its name resolved inside --sysroot: f->path) and open it if it
 *  is a regular file: its fd (f->size set, state still BF_UNTRIED), else -1 with f->state
 *  BF_ABSENT (open_err) or BF_REFUSED (not a regular file: never opened). */
int tli_elfcore_open_file(struct bfile *f, const char *sysroot);
/** Decide for every file named by NT_FILE whether it backs memory (the executable by
 *  tli_elfcore_check_exe); one warning per file refused, -v says why. */
struct tli_error *tli_elfcore_check_files(struct tli_target *t, struct core *c, const struct tli_core_opts *opts,
					  const char *name);

/* --- elfcore_rdebug.c: the files of a core without NT_FILE --- */

/** No NT_FILE: the executable (--exe) at its load address and the libraries of the dynamic
 *  linker's list (DT_DEBUG -> r_debug -> link_map) as files and mappings; warnings for what is
 *  not found. */
struct tli_error *tli_elfcore_link_map(struct note_ctx *nc, const struct tli_core_opts *opts);
/** A library from that list (f->linkmap, file fd): does the dynamic section the core holds at
 *  l_ld equal the file's (pointers relocated by l_addr allowed)? *nent = entries compared. */
bool tli_elfcore_same_dynamic(struct core *c, struct bfile *f, int fd, size_t *nent);

/* --- elfcore_exe.c: the executable --- */

/** Choose t->exe_path (NT_FILE or --exe) and check it against the core's build-ids. */
struct tli_error *tli_elfcore_check_exe(struct tli_target *t, struct core *c, const struct tli_core_opts *opts,
					 const char *name);

#endif
