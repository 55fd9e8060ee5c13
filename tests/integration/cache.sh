#!/usr/bin/env bash
# tests/integration/cache.sh - the layout cache (TLINSPECT_LAYOUT_CACHE=1, what the gdb/lldb faces
# turn on) is only a cache: used through a directory chain nobody else controls, never written
# through a planted symlink or into another user's directory, never read from there either.
# Root with HOME or XDG_CACHE_HOME pointing somewhere another user controls is the case that
# matters. Target: the demo (newest Go), frozen with SIGSTOP so every run sees the same state;
# the reference is a run without the cache. Ends with "cache: N passed, N failed".
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=lib.sh
. "$ROOT/tests/integration/lib.sh"
tli_suite cache
T=$(mktemp -d /tmp/tli-cache.XXXXXX)
trap 'tli_cleanup; rm -rf "$T"' EXIT INT TERM
chmod 700 "$T"
[ "$(id -u)" = 0 ] || { echo "cache: needs root (chown to another user)"; tli_bad "setup"; tli_suite_end; exit 1; }

ver=$(tli_go_versions | awk '{print $NF}')
demo=$(tli_build tests/targets/go/demo "$ver") || { tli_bad "setup"; tli_suite_end; exit 1; }
tli_start "$TLI_OUT/demo.out" "$demo"
pid=$(tli_wait_ready "$TLI_OUT/demo.out" 20) || { echo "cache: demo did not start"; tli_bad "setup"; tli_suite_end; exit 1; }
sleep 0.3
kill -STOP "$pid"

mask() { sed -E 's/("(pause_ms|bytes_read|[a-z_]*_seconds)": )[0-9.e+-]+/\1X/g'; }
# run NAME ENV...: goroutines --json with the cache on and only the given cache variables
run() {
	local name=$1; shift
	env -u TLINSPECT_CACHE_DIR -u XDG_CACHE_HOME TLINSPECT_LAYOUT_CACHE=1 "$@" \
		"$TLI" --pid "$pid" --json goroutines 2> "$TLI_OUT/$name.err" | mask > "$TLI_OUT/$name.json"
}
env -u TLINSPECT_LAYOUT_CACHE "$TLI" --pid "$pid" --json goroutines 2> "$TLI_OUT/ref.err" | mask > "$TLI_OUT/ref.json"
same() { cmp -s "$TLI_OUT/ref.json" "$TLI_OUT/$1.json"; }
grep -q '"goroutines"' "$TLI_OUT/ref.json" || { tli_bad "reference run: $(head -c 300 "$TLI_OUT/ref.err")"; }

# 1. a directory of ours: written, read back, same answers
mkdir -m 700 "$T/good"
run good1 XDG_CACHE_HOME="$T/good"; run good2 XDG_CACHE_HOME="$T/good"
cf=$(ls "$T/good/tlinspect"/layout-*.txt 2>/dev/null | head -1)
if [ -n "$cf" ] && same good1 && same good2; then tli_ok "cache in a directory of ours: written ($(wc -l < "$cf") answers) and used, same result"
else tli_bad "cache in a directory of ours: file '${cf:-none}', results equal: $(same good1 && echo y || echo n)/$(same good2 && echo y || echo n)"; fi

# 2. $XDG_CACHE_HOME/tlinspect is a symlink planted towards another directory
mkdir -m 700 "$T/x1" "$T/victim1"; ln -s "$T/victim1" "$T/x1/tlinspect"
run sym1 XDG_CACHE_HOME="$T/x1"
if [ -z "$(ls -A "$T/victim1")" ] && same sym1; then tli_ok "symlinked \$XDG_CACHE_HOME/tlinspect: nothing written through it"
else tli_bad "symlinked \$XDG_CACHE_HOME/tlinspect: wrote $(ls -A "$T/victim1" | head -3 | tr '\n' ' ')"; fi

# 3. ~/.cache is a symlink
mkdir -m 700 "$T/home" "$T/victim2"; ln -s "$T/victim2" "$T/home/.cache"
run sym2 HOME="$T/home"
if [ -z "$(ls -A "$T/victim2")" ] && same sym2; then tli_ok "symlinked ~/.cache: nothing created or written through it"
else tli_bad "symlinked ~/.cache: created $(ls -A "$T/victim2" | head -3 | tr '\n' ' ')"; fi

# 4. another user's world-writable directory
mkdir "$T/other"; chown nobody "$T/other"; chmod 777 "$T/other"
run other XDG_CACHE_HOME="$T/other"
if [ -z "$(ls -A "$T/other")" ] && same other; then tli_ok "another user's world-writable directory: nothing created in it"
else tli_bad "another user's world-writable directory: created $(ls -A "$T/other" | head -3 | tr '\n' ' ')"; fi

# 5./6. a lying cache (runtime.g.goid moved by 8 bytes) reached through a symlink, or in a
# directory another user owns: never read (the goroutine ids would be wrong)
if [ -n "$cf" ]; then
	lie() { awk -F'\t' -v OFS='\t' '$1 == "m:runtime.g\\x1fgoid" && $2 == 1 { $4 += 8 } { print }' "$cf" > "$1"; chmod 600 "$1"; }
	mkdir -m 700 "$T/victim3" "$T/x3"; lie "$T/victim3/$(basename "$cf")"; ln -s "$T/victim3" "$T/x3/tlinspect"
	grep -q $'^m:runtime.g\\\\x1fgoid\t1' "$T/victim3/$(basename "$cf")" && ! cmp -s "$cf" "$T/victim3/$(basename "$cf")" ||
		tli_bad "could not make the lying cache file"
	run lie1 XDG_CACHE_HOME="$T/x3"
	if same lie1; then tli_ok "a lying cache behind a symlink is not read"; else tli_bad "a lying cache behind a symlink was read: $(diff "$TLI_OUT/ref.json" "$TLI_OUT/lie1.json" | head -3 | tr '\n' ' ')"; fi
	mkdir -p "$T/x4/tlinspect"; lie "$T/x4/tlinspect/$(basename "$cf")"; chown nobody "$T/x4" "$T/x4/tlinspect"; chmod 755 "$T/x4" "$T/x4/tlinspect"
	run lie2 XDG_CACHE_HOME="$T/x4"
	if same lie2; then tli_ok "a lying cache in another user's directory is not read"; else tli_bad "a lying cache in another user's directory was read"; fi
	# the control: the same lie in our own directory is read (so the two checks above can fail)
	mkdir -m 700 -p "$T/x5/tlinspect"; lie "$T/x5/tlinspect/$(basename "$cf")"
	run lie3 XDG_CACHE_HOME="$T/x5"
	if ! same lie3; then tli_ok "control: the lying file in our own cache directory is read (the checks above can see a lie)"
	else tli_bad "control: the lying cache was not read even from our own directory - the lie checks prove nothing"; fi
fi
tli_suite_end
