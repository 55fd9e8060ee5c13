#!/usr/bin/env bash
# tests/integration/pools.sh - `pools` (database/sql.DB) on a real PostgreSQL, every installed Go.
# A throwaway cluster (Debian's postgresql: initdb/pg_ctl as user postgres in a temporary
# directory, unix socket only, listen_addresses='') serves tests/targets/go/pools, built in GOPATH
# mode against Debian's lib/pq (GO111MODULE=off, /usr/share/gocode; no module download), unstripped
# and stripped (-s -w). The target saturates one pool (2 Rows leaked, 3 connections held by parked
# goroutines, 1 timed-out and 2 waiting requests), leaves a second with 2 idle connections and 2
# closed by max idle, and records db.Stats(), PostgreSQL's pg_stat_activity count per
# application_name and the holders' and waiters' goroutine ids. `pools --json` must agree, live
# and from a gcore core (pools_check.py). The target also fills two sync.Maps (Load/Range counts,
# and for read/dirty maps the state sync/map.go gives its construction) and arms AfterFunc
# timers, tickers and sleeps (the closure's name from runtime.FuncForPC): `timers --json` must
# find them (timers_check.py). It also runs three HTTP servers on 127.0.0.1 and leaves four
# net/http.Transports with idle and in-use connections (two of them corrupted: a cyclic idle
# list, a garbage idleConn count), recording the construction, the kernel's socket table and
# runtime.Stack's readLoop/writeLoop goroutines. The cluster is stopped on every exit path.
# The first screen (no command) is held to the same oracles: its go.pools and go.timers, and its
# text line for the saturated pool.
# Ends with "pools: N passed, N failed".
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=lib.sh
. "$ROOT/tests/integration/lib.sh"
tli_suite pools

PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
PQ=/usr/share/gocode/src/github.com/lib/pq
PGDIR=""
pg_stop() {
	[ -n "$PGDIR" ] && [ -f "$PGDIR/data/postmaster.pid" ] &&
		su postgres -s /bin/sh -c "$PGBIN/pg_ctl -D '$PGDIR/data' -m immediate -w stop" > /dev/null 2>&1
	[ -n "$PGDIR" ] && rm -rf "$PGDIR"
	PGDIR=""
}
finish() { tli_cleanup; pg_stop; }
trap finish EXIT
trap 'finish; exit 1' INT TERM

if [ -z "$PGBIN" ] || [ ! -d "$PQ" ] || ! id postgres > /dev/null 2>&1; then
	tli_bad "postgresql or golang-github-lib-pq-dev not installed (scripts/setup.sh)"
	tli_suite_end
	exit 1
fi

PGDIR=$(mktemp -d /tmp/tli-pools-pg.XXXXXX)
chown postgres "$PGDIR" && chmod 700 "$PGDIR"
if ! su postgres -s /bin/sh -c "$PGBIN/initdb -D '$PGDIR/data' -A trust -U postgres" > "$TLI_OUT/initdb.log" 2>&1 ||
	! su postgres -s /bin/sh -c "$PGBIN/pg_ctl -D '$PGDIR/data' -l '$PGDIR/pg.log' -w -o \"-c listen_addresses='' -k '$PGDIR' -c max_connections=50 -c shared_buffers=16MB -c fsync=off\" start" > "$TLI_OUT/pg_ctl.log" 2>&1; then
	tli_bad "could not start a PostgreSQL cluster ($(tail -2 "$TLI_OUT/initdb.log" "$TLI_OUT/pg_ctl.log" "$PGDIR/pg.log" 2>/dev/null | tr '\n' ' '))"
	tli_suite_end
	exit 1
fi
tli_ok "PostgreSQL $("$PGBIN/postgres" --version | awk '{print $3}') cluster in $PGDIR (unix socket only)"

# build VER VARIANT: GOPATH mode against Debian's lib/pq; prints the binary
build() {
	local ver=$1 variant=$2 out=$TLI_OUT/go$1/pools-$2 flags=()
	[ "$variant" = stripped ] && flags=(-ldflags=-s\ -w)
	mkdir -p "$TLI_OUT/go$ver" "$TLI_OUT/gopath"
	(cd "$ROOT/tests/targets/go/pools" && GO111MODULE=off GOFLAGS= GOTOOLCHAIN=local GOPROXY=off \
		GOPATH="$TLI_OUT/gopath:/usr/share/gocode" GOCACHE=$(tli_gocache) \
		"$(tli_go_bin "$ver")" build "${flags[@]}" -o "$out" .) >&2 || return 1
	printf '%s\n' "$out"
}

check() { # TAG ORACLE JSON VARIANT
	local out
	if out=$(python3 "$ROOT/tests/integration/pools_check.py" "$2" "$3" "$4" 2>&1); then
		tli_ok "$1"
	else
		tli_bad "$1: $(echo "$out" | head -5 | tr '\n' ';')"
	fi
}

tcheck() { # TAG ORACLE JSON
	local out
	if out=$(python3 "$ROOT/tests/integration/timers_check.py" "$2" "$3" 2>&1); then
		tli_ok "$1"
	else
		tli_bad "$1: $(echo "$out" | head -5 | tr '\n' ';')"
	fi
}

for ver in $(tli_go_versions); do
	for variant in default stripped; do
		tag="go$ver $variant"
		bin=$(build "$ver" "$variant") || { tli_bad "$tag: build failed"; continue; }
		dir=$TLI_OUT/go$ver-$variant
		mkdir -p "$dir"
		app="tli_pools_${ver/./_}_$variant"
		tli_start "$dir/out" "$bin" "$PGDIR" "$dir/oracle.json" "$app"
		if ! pid=$(tli_wait_ready "$dir/out" 30); then
			tli_bad "$tag: target not ready ($(tail -2 "$dir/out" | tr '\n' ' '))"
			tli_cleanup
			continue
		fi
		"$TLI" --pid "$pid" --json pools > "$dir/live.json" 2> "$dir/live.err" ||
			tli_bad "$tag live: exit $? ($(head -c 200 "$dir/live.err"))"
		check "$tag live: db.Stats(), pg_stat_activity, leaked/held/waiters" "$dir/oracle.json" "$dir/live.json" "$variant"
		"$TLI" --pid "$pid" pools > "$dir/live.txt" 2>&1
		lines=$(wc -l < "$dir/live.txt")
		ntr=7   # stripped: main.emptyTransport (no connection) cannot be found
		[ "$variant" = stripped ] && ntr=6
		if grep -q "leaked 2; held by 3 goroutines" "$dir/live.txt" && grep -q "net/http.Transport: $ntr found" "$dir/live.txt" &&
			[ "$lines" -le 60 ]; then
			tli_ok "$tag text: one screen ($lines lines)"
		else
			tli_bad "$tag text: $(head -c 300 "$dir/live.txt")"
		fi
		# the first screen (no command): the same pools and timers from its one stop, same oracles
		"$TLI" --pid "$pid" --json > "$dir/screen.json" 2> "$dir/screen.err" && "$TLI" --pid "$pid" > "$dir/screen.txt" 2>> "$dir/screen.err" ||
			tli_bad "$tag first screen: exit $? ($(head -c 200 "$dir/screen.err"))"
		check "$tag first screen: its go.pools against db.Stats() and pg_stat_activity" "$dir/oracle.json" "$dir/screen.json" "$variant"
		tcheck "$tag first screen: its go.timers" "$dir/oracle.json" "$dir/screen.json"
		want=$(python3 -c 'import json,sys; o=json.load(open(sys.argv[1])); d=o["db"]; print("%d/%d in use (saturated), %d idle, %d waiting, %d leaked" % (d["in_use"], d["max_open"], d["idle"], len(o["waiters"]), len(o["leakers"])))' "$dir/oracle.json")
		if grep -qF ": $want" "$dir/screen.txt" && [ "$(wc -l < "$dir/screen.txt")" -le 40 ]; then tli_ok "$tag first screen text: $want"
		else tli_bad "$tag first screen text: no '$want': $(grep -A3 '^pools' "$dir/screen.txt" | head -4 | tr '\n' ';')"; fi
		"$TLI" --pid "$pid" --json timers > "$dir/timers.json" 2> "$dir/timers.err" ||
			tli_bad "$tag timers: exit $? ($(head -c 200 "$dir/timers.err"))"
		tcheck "$tag live timers: AfterFunc closures, tickers, sleeps" "$dir/oracle.json" "$dir/timers.json"
		if [ "$variant" = default ]; then
			if gcore -o "$dir/core" "$pid" > "$dir/gcore.log" 2>&1; then
				"$TLI" --core "$dir/core.$pid" --exe "$bin" --json pools > "$dir/core.json" 2> "$dir/core.err" ||
					tli_bad "$tag core: exit $? ($(head -c 200 "$dir/core.err"))"
				check "$tag gcore core" "$dir/oracle.json" "$dir/core.json" "$variant"
				"$TLI" --core "$dir/core.$pid" --exe "$bin" --json timers > "$dir/core-timers.json" 2> "$dir/core-timers.err" ||
					tli_bad "$tag core timers: exit $? ($(head -c 200 "$dir/core-timers.err"))"
				tcheck "$tag gcore core timers" "$dir/oracle.json" "$dir/core-timers.json"
				rm -f "$dir/core.$pid"
			else
				tli_bad "$tag: gcore failed ($(head -c 200 "$dir/gcore.log"))"
			fi
		fi
		tli_cleanup
	done
done
tli_suite_end
