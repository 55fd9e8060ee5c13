/* SPDX-License-Identifier: MIT */
/* Goroutine facts shared by the Go walkers and `explain` (see gfacts.h). */
#include "gfacts.h"

#include <stdio.h>
#include <string.h>

/* ---- status constants ---- */

/*
 * Every goroutine status constant, in the order of the iota block of
 * runtime/runtime2.go (go1.19 … go1.27; _Gleaked and _Gdeadextra since go1.26).
 * Only the names are here: the values come from the layout.
 */
static const char *const status_names[] = {
	"runtime._Gidle", "runtime._Grunnable", "runtime._Grunning", "runtime._Gsyscall",
	"runtime._Gwaiting", "runtime._Gmoribund_unused", "runtime._Gdead", "runtime._Genqueue_unused",
	"runtime._Gcopystack", "runtime._Gpreempted", "runtime._Gleaked", "runtime._Gdeadextra",
};

struct tli_error *tli_go_constant(struct tli_layout *l, const char *const *names, int64_t *ret, bool optional,
				  bool *present)
{
	for (const char *const *n = names; *n; n++) {
		if (!tli_error_drop(tli_layout_constant(l, *n, ret))) {
			if (present)
				*present = true;
			return NULL;
		}
	}
	if (present)
		*present = false;
	return optional ? NULL
			: tli_error_create(TLI_E_NO_INFO, "no value for Go runtime constant %s "
					   "(no DWARF and no runtime map?)", names[0]);
}

struct tli_error *tli_go_gstatus_resolve(struct tli_layout *l, struct tli_go_gstatus *st)
{
	const struct {
		const char *name;
		int64_t *value;
	} required[] = {
		{ "runtime._Gidle", &st->idle },       { "runtime._Grunnable", &st->runnable },
		{ "runtime._Grunning", &st->running }, { "runtime._Gsyscall", &st->syscall },
		{ "runtime._Gwaiting", &st->waiting }, { "runtime._Gdead", &st->dead },
		{ "runtime._Gscan", &st->scan },       { "runtime._Gpreempted", &st->preempted },
	};
	for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++) {
		const char *const names[] = { required[i].name, NULL };
		struct tli_error *err = tli_go_constant(l, names, required[i].value, false, NULL);
		if (err)
			return err;
	}
	static const char *const leaked[] = { "runtime._Gleaked", NULL };
	static const char *const deadextra[] = { "runtime._Gdeadextra", NULL };
	tli_go_constant(l, leaked, &st->leaked, true, &st->has_leaked);
	tli_go_constant(l, deadextra, &st->deadextra, true, &st->has_deadextra);
	return NULL;
}

bool tli_go_gstatus_is_dead(const struct tli_go_gstatus *st, uint64_t status)
{
	return status == (uint64_t)st->dead || status == (uint64_t)st->idle ||
	       (st->has_deadextra && status == (uint64_t)st->deadextra);
}

bool tli_go_gstatus_is_waiting(const struct tli_go_gstatus *st, uint64_t status)
{
	return status == (uint64_t)st->waiting || (st->has_leaked && status == (uint64_t)st->leaked);
}

void tli_go_gstatus_name(struct tli_layout *l, const struct tli_go_gstatus *st, uint64_t raw, char *buf,
			 size_t cap)
{
	uint64_t scan = (uint64_t)st->scan;
	uint64_t base = raw & ~scan;
	buf[0] = 0;
	for (size_t i = 0; i < sizeof(status_names) / sizeof(status_names[0]); i++) {
		int64_t v;
		if (tli_error_drop(tli_layout_constant(l, status_names[i], &v)) || (uint64_t)v != base)
			continue;
		snprintf(buf, cap, "%s%s", status_names[i] + strlen("runtime."), raw & scan ? " + _Gscan" : "");
		return;
	}
}

/* ---- wait reasons, by the strings the runtime prints ---- */

bool tli_go_reason_chan(const char *r)
{
	return r && (!strcmp(r, "chan send") || !strcmp(r, "chan receive") || !strcmp(r, "select"));
}

bool tli_go_reason_forever(const char *r)
{
	return r && (!strcmp(r, "chan send (nil chan)") || !strcmp(r, "chan receive (nil chan)") ||
		     !strcmp(r, "select (no cases)"));
}

bool tli_go_reason_sync(const char *r)
{
	return r && (!strcmp(r, "sync.Cond.Wait") || !strcmp(r, "sync.Mutex.Lock") ||
		     !strcmp(r, "sync.RWMutex.RLock") || !strcmp(r, "sync.RWMutex.Lock") ||
		     !strcmp(r, "sync.WaitGroup.Wait"));
}

bool tli_go_reason_sema(const char *r)
{
	return r && (!strcmp(r, "semacquire") || !strcmp(r, "sync.Mutex.Lock") ||
		     !strcmp(r, "sync.RWMutex.RLock") || !strcmp(r, "sync.RWMutex.Lock") ||
		     !strcmp(r, "sync.WaitGroup.Wait"));
}

bool tli_go_reason_user_blocked(const char *r)
{
	return tli_go_reason_chan(r) || tli_go_reason_forever(r) || tli_go_reason_sync(r);
}

/* ---- JSON ---- */

/* "0x" and lower-case hex digits, no padding ("0x%" PRIx64), written by hand: the listing makes one per goroutine. */
json_t *tli_go_hex(uint64_t v)
{
	static const char digits[] = "0123456789abcdef";
	char tmp[16], out[20], *p = out;
	int n = 0;
	do {
		tmp[n++] = digits[v & 15];
		v >>= 4;
	} while (v);
	*p++ = '0';
	*p++ = 'x';
	while (n)
		*p++ = tmp[--n];
	*p = 0;
	return json_string(out);
}

void tli_go_ids_keep_smallest(json_t *ids, uint64_t goid, size_t max)
{
	size_t n = json_array_size(ids);
	if (n >= max) {
		if (!n || (uint64_t)json_integer_value(json_array_get(ids, n - 1)) <= goid)
			return;
		json_array_remove(ids, --n);
	}
	size_t at = n;
	while (at > 0 && (uint64_t)json_integer_value(json_array_get(ids, at - 1)) > goid)
		at--;
	json_array_insert_new(ids, at, json_integer((json_int_t)goid));
}
