/* SPDX-License-Identifier: MIT */
/*
 * The channel walker's layout, by name: runtime.hchan and runtime.waitq
 * (runtime/chan.go), runtime.sudog and g.waiting / g.selectDone
 * (runtime/runtime2.go), and the type descriptor, internal/abi.Type
 * (internal/abi/type.go, go1.21+) or runtime._type (runtime/type.go, go1.19
 * and go1.20). Go 1.26 made sudog.c and sudog.elem two-word values whose "vu"
 * member is the pointer.
 */
#include "chans_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* 1.26+: sudog.elem is a maybeTraceablePtr {vp, vu} and sudog.c a maybeTraceableChan that
 * embeds one; vu is authoritative: vp is nil while the runtime hides the object from a
 * goroutine-leak collection (setSyncObjectsUntraceable), vu never is. */
static struct tli_error *two_word(struct tli_layout *l, const char *type, const char *name, uint32_t *ret)
{
	static const char *const vu[] = { "%s.vu", "%s.maybeTraceablePtr.vu" };
	char path[64];
	struct tli_member m;
	for (size_t i = 0; i < sizeof(vu) / sizeof(vu[0]); i++) {
		snprintf(path, sizeof(path), vu[i], name);
		if (tli_layout_has_member(l, type, path, &m)) {
			*ret = (uint32_t)m.offset;
			return NULL;
		}
	}
	struct tli_error *err = tli_layout_member(l, type, name, &m);
	if (!err)
		*ret = (uint32_t)m.offset;
	return err;
}

static struct tli_error *resolve_members(struct tli_layout *l, struct tli_go_chan_layout *L)
{
	const struct tli_field_spec specs[] = {
		{ "runtime.hchan", "qcount", &L->h_qcount, NULL, false, NULL },
		{ "runtime.hchan", "dataqsiz", &L->h_dataqsiz, NULL, false, NULL },
		{ "runtime.hchan", "buf", &L->h_buf, NULL, false, NULL },
		{ "runtime.hchan", "elemsize", &L->h_elemsize, &L->h_elemsize_size, false, NULL },
		{ "runtime.hchan", "closed", &L->h_closed, &L->h_closed_size, false, NULL },
		{ "runtime.hchan", "elemtype", &L->h_elemtype, NULL, false, NULL },
		{ "runtime.hchan", "sendx", &L->h_sendx, NULL, false, NULL },
		{ "runtime.hchan", "recvx", &L->h_recvx, NULL, false, NULL },
		{ "runtime.hchan", "recvq", &L->h_recvq, NULL, false, NULL },
		{ "runtime.hchan", "sendq", &L->h_sendq, NULL, false, NULL },
		{ "runtime.hchan", "timer", &L->h_timer, NULL, true, &L->has_timer },
		{ "runtime.waitq", "first", &L->wq_first, NULL, false, NULL },
		{ "runtime.sudog", "g", &L->s_g, NULL, false, NULL },
		{ "runtime.sudog", "next", &L->s_next, NULL, false, NULL },
		{ "runtime.sudog", "isSelect", &L->s_isselect, NULL, false, NULL },
		{ "runtime.sudog", "waitlink", &L->s_waitlink, NULL, false, NULL },
		{ "runtime.g", "waiting", &L->g_waiting, NULL, false, NULL },
		{ "runtime.g", "selectDone", &L->g_selectdone, &L->g_selectdone_size, true, &L->has_selectdone },
	};
	struct tli_error *err = tli_layout_resolve(l, specs, sizeof(specs) / sizeof(specs[0]));
	if (!err)
		err = two_word(l, "runtime.sudog", "c", &L->s_c);
	if (!err)
		err = two_word(l, "runtime.sudog", "elem", &L->s_elem);
	return err;
}

/* sizeof(type), between 32 and 4096 bytes. */
static struct tli_error *struct_size(struct tli_layout *l, const char *type, uint32_t *ret)
{
	uint64_t sz = 0;
	struct tli_error *err = tli_layout_type_size(l, type, &sz);
	if (!err && (sz < 32 || sz > 4096))
		err = tli_error_create(TLI_E_CORRUPT, "implausible sizeof(%s) = %" PRIu64, type, sz);
	if (err)
		return tli_error_wrap(err, "channel layout");
	*ret = (uint32_t)sz;
	return NULL;
}

/* Every word read out of an hchan buffer lies inside it (crafted DWARF / layout cache). */
static struct tli_error *check_hchan(const struct tli_go_chan_layout *L)
{
	uint64_t w8[] = { L->h_qcount, L->h_dataqsiz, L->h_buf, L->h_elemtype, L->h_sendx, L->h_recvx,
			  (uint64_t)L->h_recvq + L->wq_first, (uint64_t)L->h_sendq + L->wq_first };
	for (size_t i = 0; i < sizeof(w8) / sizeof(w8[0]); i++)
		if (w8[i] + 8 > L->hchan_size)
			return tli_error_create(TLI_E_CORRUPT, "channel layout: a runtime.hchan field at offset %"
						PRIu64 " lies outside sizeof(runtime.hchan) = %u", w8[i], L->hchan_size);
	if ((uint64_t)L->h_elemsize + L->h_elemsize_size > L->hchan_size ||
	    (uint64_t)L->h_closed + L->h_closed_size > L->hchan_size ||
	    (L->has_timer && (uint64_t)L->h_timer + 8 > L->hchan_size))
		return tli_error_create(TLI_E_CORRUPT, "channel layout: elemsize/closed/timer lie outside "
					"sizeof(runtime.hchan) = %u", L->hchan_size);
	return NULL;
}

struct tli_error *tli_go_chan_layout_resolve(struct tli_layout *l, struct tli_go_chan_layout *L)
{
	memset(L, 0, sizeof(*L));
	struct tli_error *err = resolve_members(l, L);
	if (err)
		return tli_error_wrap(err, "channel layout");
	if ((err = struct_size(l, "runtime.hchan", &L->hchan_size)) ||
	    (err = struct_size(l, "runtime.sudog", &L->sudog_size)))
		return err;
	if (L->h_elemsize_size == 0 || L->h_elemsize_size > 8)
		L->h_elemsize_size = 2;
	if (L->h_closed_size == 0 || L->h_closed_size > 4)
		L->h_closed_size = 4;
	if ((err = check_hchan(L)))
		return err;
	if (L->g_selectdone_size == 0 || L->g_selectdone_size > 8)
		L->g_selectdone_size = 4;
	tli_go_type_layout_resolve(l, &L->type); /* optional: type.has_type */
	return NULL;
}
