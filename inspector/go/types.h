/* SPDX-License-Identifier: MIT */
/**
 * @file types.h
 * Go's runtime type descriptor, decoded in one place: `internal/abi.Type`
 * (internal/abi/type.go, go1.21+) or `runtime._type` (runtime/type.go, before).
 *
 *     type Type struct {            // go1.22
 *         Size_       uintptr
 *         PtrBytes    uintptr       // bytes of the prefix that holds pointers
 *         Hash        uint32
 *         TFlag       TFlag
 *         Align_, FieldAlign_ uint8
 *         Kind_       Kind          // reflect.Kind in the low 5 bits (KindMask)
 *         Equal       func(unsafe.Pointer, unsafe.Pointer) bool
 *         GCData      *byte         // pointer bitmap (or a GC program, or **byte)
 *         Str         NameOff       // offset of the name in the module's types section
 *         PtrToThis   TypeOff
 *     }
 *
 * The member offsets are resolved by name with the channel layout
 * (tli_go_chan_layout_resolve in chans.c: type_size, t_size, t_ptrbytes, t_tflag,
 * t_kind, t_str, t_gcdata, has_type, has_gcdata); this module only reads them.
 * The flag bits whose value changed across Go versions (KindGCProg,
 * TFlagGCMaskOnDemand) are looked up as layout constants
 * (tli_go_type_flags_resolve), never assumed.
 *
 * Descriptors of the module's own types are read from the executable file (its
 * types section); types built at run time (reflect, generics' dictionaries) from
 * target memory. Hostile input: every read is bounded, every length checked.
 */
#ifndef TLI_GO_TYPES_H
#define TLI_GO_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/layout.h"
#include "core/target.h"
#include "go/gobin.h"

/**
 * Where the fields of a type descriptor are: internal/abi.Type (internal/abi/type.go,
 * go1.21+) or runtime._type (runtime/type.go, go1.19-1.20), by name from the layout.
 */
struct tli_go_type_layout {
	uint32_t type_size;                     /**< sizeof the descriptor */
	uint32_t t_size, t_tflag, t_kind, t_str;
	bool has_type;                          /**< the four above are known and inside type_size */
	uint32_t t_ptrbytes, t_gcdata;          /**< for typed scanning */
	bool has_gcdata;
	/** Arrays and structs (internal/abi.ArrayType Elem/Len, StructType Fields, StructField
	 *  Typ/Offset): to build a mask the runtime builds on demand (go1.24+) */
	bool has_compound;
	uint32_t arr_elem, arr_len, st_fields, sf_size, sf_typ, sf_off;
};
/** Resolve the descriptor layout (all optional: has_type / has_gcdata say what was found). */
void tli_go_type_layout_resolve(struct tli_layout *l, struct tli_go_type_layout *ret);

/** internal/abi.KindMask (internal/abi/type.go, go1.22): reflect.Kind is Kind_ & KindMask. */
enum { TLI_GO_KIND_MASK = 0x1f };

/** internal/abi.TFlag bits that never changed (internal/abi/type.go, go1.22; runtime/type.go tflag*). */
enum tli_go_tflag {
	TLI_GO_TFLAG_UNCOMMON = 1 << 0,        /**< an UncommonType follows the descriptor */
	TLI_GO_TFLAG_EXTRA_STAR = 1 << 1,      /**< the name in Str has a leading '*' to drop */
	TLI_GO_TFLAG_NAMED = 1 << 2,           /**< a named type */
	TLI_GO_TFLAG_REGULAR_MEMORY = 1 << 3,  /**< == and hash are plain memory compares */
};

/** Largest sizeof(abi.Type) accepted from a layout. */
#define TLI_GO_TYPE_MAX_DESC 1024u

/**
 * Flag values that moved between Go versions, from the layout's constants;
 * 0 when the runtime does not define them (then no kind/tflag byte matches).
 */
struct tli_go_type_flags {
	uint8_t kind_gcprog;      /**< internal/abi.KindGCProg (GCData is a GC program; <= go1.23) */
	uint8_t tflag_ondemand;   /**< internal/abi.TFlagGCMaskOnDemand (GCData is **byte; go1.24+) */
};
/** Look up KindGCProg and TFlagGCMaskOnDemand (each optional). */
void tli_go_type_flags_resolve(struct tli_layout *l, struct tli_go_type_flags *ret);

/**
 * Where descriptor bytes may come from. Channel element types and heap object
 * types have always been read under slightly different rules; both are kept.
 */
enum tli_go_type_policy {
	/** Module types from the file, from memory if the file read fails; any other
	 *  address from memory if non-zero, 8-aligned and mapped (channel element types). */
	TLI_GO_TYPE_FILE_OR_MEMORY,
	/** Module types from the file only; any other address from memory if mapped
	 *  (malloc-header types of heap objects). */
	TLI_GO_TYPE_MODULE_FILE,
};

/** What a decode reads from. */
struct tli_go_type_src {
	struct tli_target *t;
	const struct tli_gobin *gb;                 /**< the executable (NULL: memory only) */
	const struct tli_gomoduledata *md;          /**< its moduledata (types section), NULL if unknown */
	uint64_t bias;                              /**< load bias of the executable */
	const struct tli_go_type_layout *L;         /**< descriptor offsets */
	enum tli_go_type_policy policy;
};

/** One decoded descriptor. */
struct tli_go_type {
	uint64_t addr;       /**< where it was read (run-time address) */
	uint64_t size;       /**< Size_ */
	uint64_t ptrbytes;   /**< PtrBytes (0 if the layout lacks it) */
	uint64_t gcdata;     /**< GCData (0 if the layout lacks it) */
	uint8_t tflag;       /**< TFlag */
	uint8_t kind_raw;    /**< Kind_ with its flag bits */
	int32_t str;         /**< Str: name offset in the types section */
};

/** reflect.Kind of a decoded type. */
static inline int tli_go_type_kind(const struct tli_go_type *ty)
{
	return ty->kind_raw & TLI_GO_KIND_MASK;
}

/** True if the layout knows the descriptor (size, tflag, kind, str) and it fits TLI_GO_TYPE_MAX_DESC. */
bool tli_go_type_layout_ok(const struct tli_go_type_layout *L);

/** Read len bytes at run-time address addr under src->policy (false: unreadable). */
bool tli_go_type_read_bytes(const struct tli_go_type_src *src, uint64_t addr, void *out, uint32_t len);

/** Decode descriptor bytes tb (L->type_size of them, tli_go_type_layout_ok(L)) read at addr. */
void tli_go_type_decode(const struct tli_go_type_layout *L, const uint8_t *tb, uint64_t addr,
			struct tli_go_type *ret);

/** Decode the descriptor at addr (false: no layout or unreadable). */
bool tli_go_type_read(const struct tli_go_type_src *src, uint64_t addr, struct tli_go_type *ret);

/**
 * The type's name (runtime/type.go name: a flag byte, a uvarint length, the bytes;
 * go1.17+), non-printable bytes shown as '?', TFlagExtraStar's '*' dropped.
 * False if unknown (no moduledata, no Str, unreadable, longer than cap - 2).
 * The name may be empty.
 */
bool tli_go_type_name(const struct tli_go_type_src *src, const struct tli_go_type *ty, char *buf, size_t cap);

/**
 * The GC pointer bitmap of a type (bit i: word i of the first PtrBytes bytes
 * holds a pointer), as the garbage collector uses it for typed scanning
 * (runtime/mbitmap.go typePointers, go1.23). A plain bitmap is read; an
 * on-demand mask (go1.24+, big types) the runtime has not built yet is built
 * as its buildGCMask would (arrays and struct fields down to types with a plain
 * mask). A GC program, an implausible size or PtrBytes, an unreadable
 * descriptor give false. *ret is malloc'd (at least one byte; free it).
 */
bool tli_go_type_ptrmask(const struct tli_go_type_src *src, const struct tli_go_type_flags *f,
			 const struct tli_go_type *ty, uint8_t **ret);

#endif
