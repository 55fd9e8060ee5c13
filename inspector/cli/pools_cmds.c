/* SPDX-License-Identifier: MIT */
/** @file pools_cmds.c  `pools` and `timers`: handlers and help (logic: go/pools*.c, go/timers.c). */
#include "pools_cmds.h"

#include "go/pools.h"
#include "go/timers.h"

const char tli_pools_summary[] =
	"Go pools in the heap: database/sql.DB (waiters, leaked and held connections), sync.Maps, largest maps, "
	"net/http.Transport (idle and in-use connections per host)";
const char tli_pools_help[] =
	"Every database/sql.DB the Go heap census finds (typed from globals and typed\n"
	"pointers; on stripped binaries through its connections): what db.Stats() would\n"
	"return (max open, open, in use, idle, wait count and duration, closed by max\n"
	"idle/idle time/lifetime), the goroutines waiting in (*DB).conn for a connection,\n"
	"and for each in-use connection who holds it: globals, goroutines whose stacks\n"
	"reach it (held_by), or nothing but the pool's own bookkeeping (freeConn, dep,\n"
	"connection requests): leaked, e.g. an *sql.Rows dropped without Close.\n"
	"Every sync.Map held by a global or a typed pointer: its entries (what Range would\n"
	"count); up to Go 1.23 also the read and dirty map sizes, misses, amended, expunged\n"
	"and deleted entries; from Go 1.24 (a hash trie) its depth. Without DWARF, globals\n"
	"are untyped: sync_maps_note says what cannot be found.\n"
	"Also the largest Go maps by bytes: len, capacity in slots, bytes; oversized when\n"
	"the capacity dwarfs the length (maps never shrink). Every net/http.Transport\n"
	"(typed in the heap, or found through its connections): per host the idle\n"
	"connections and those in use (a request in flight or a response body never\n"
	"closed), with each connection's readLoop and writeLoop goroutines. `name` is the global\n"
	"variable that reaches the pool or map. Live or core, Go >= 1.19.";

const char tli_timers_summary[] = "Go: the timers in every P's heap grouped by function: AfterFunc closures, tickers, sleeps";
const char tli_timers_help[] =
	"Every timer in the Ps' timer heaps, grouped by what it runs: time.AfterFunc timers by\n"
	"the closure they call, tickers and timers (time.sendTime) with their period, time.Sleep\n"
	"(runtime.goroutineReady), any other callback by its name; with the count, the period\n"
	"and when the soonest of the group fires next (relative to the target's clock: live,\n"
	"the monotonic clock; a core, estimated). Since Go 1.23 a NewTimer/NewTicker timer is in\n"
	"a heap only while a goroutine waits on its channel. Deleted timers still in a heap are\n"
	"counted apart (deleted). Live or core, stripped or not, Go >= 1.19.";

struct tli_error *tli_cmd_pools(struct tli_cmd_ctx *ctx, json_t *result)
{
	struct tli_go_pools_opts o = { 0 };
	return tli_go_cmd_pools(ctx->session, &o, result);
}

struct tli_error *tli_cmd_timers(struct tli_cmd_ctx *ctx, json_t *result)
{
	return tli_go_cmd_timers(ctx->session, result);
}
