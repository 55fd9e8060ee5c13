#!/bin/bash
# Every integration suite, one after the other; ends with one "N passed, M failed" line that adds
# up the closing lines of the suites (a suite that fails without such a line counts as 1 failure).
#   tests/integration/all.sh            all suites
#   SUITES="go glibc" tests/integration/all.sh
# Each suite checks tlinspect against the runtime's own view (see the suite's header comment).
set -u
cd "$(dirname "$0")/../.."
export TLINSPECT="${TLINSPECT:-$PWD/build/tlinspect}"
# Debian's login shells set DEBUGINFOD_URLS (libdebuginfod-common): the suites' "no debug info"
# runs must not fetch it from the network; the debuginfod suite sets its own local server
unset DEBUGINFOD_URLS
OUT=tests/out/integration-all
mkdir -p "$OUT"
SUITES="${SUITES:-go goheap gotypes goleak leakexplain leak100k pools labels stripped chans userloc screen notachan glibc maps cores crafted arm64 arm64vm cache stop attach install nomem capfit exitrace coreflip pause precopy fork pprof overtime secrets tutorial faces containers debuginfod static}"

pass=0; fail=0
run_suite() { # name script...
	local name=$1; shift
	local log=$OUT/$name.log t0=$SECONDS
	echo "== suite $name: $*"
	"$@" 2>&1 | tee "$log" | sed 's/^/   /' | grep -E '^   (ok|FAIL|SKIP|==)|passed, .* failed' || true
	local rc=${PIPESTATUS[0]}
	local last p f
	last=$(grep -E '(^|: )[0-9]+ passed, [0-9]+ failed' "$log" | tail -1)
	if [ -n "$last" ]; then
		p=$(echo "$last" | sed -E 's/.*(^|: | )([0-9]+) passed, ([0-9]+) failed.*/\2/')
		f=$(echo "$last" | sed -E 's/.*(^|: | )([0-9]+) passed, ([0-9]+) failed.*/\3/')
	else
		p=0; f=0
	fi
	if [ "$rc" != 0 ] && [ "$f" = 0 ]; then f=1; fi
	pass=$((pass + p)); fail=$((fail + f))
	echo "== suite $name: $p passed, $f failed ($((SECONDS - t0)) s)"
}

for s in $SUITES; do
	case $s in
	# the Go suite checks unstripped AND stripped (-s -w) builds against runtime.Stack, live,
	# gcore core and kernel core (the stripped suite then diffs DWARF vs maps on one process)
	go) run_suite go env VARIANTS="${VARIANTS:-default stripped}" bash tests/integration/run.sh ;;
	# heap's Go section against runtime.ReadMemStats, every toolchain, unstripped and stripped,
	# live (before and after the target's own flush) and from a gcore core
	goheap) run_suite goheap bash tests/integration/goheap.sh ;;
	stripped) run_suite stripped bash tests/integration/stripped/run.sh ;;
	chans) [ -f tests/integration/chans/run.sh ] && run_suite chans bash tests/integration/chans/run.sh ;;
	# the user location on -trimpath builds (module paths with a dot in their first element)
	userloc) run_suite userloc bash tests/integration/userloc.sh ;;
	# leaks at 100,000 goroutines, 50,000 leaked by construction: all found, none else
	leak100k) run_suite leak100k bash tests/integration/leak100k.sh ;;
	# the first screen: summary and groups, at most 60 lines, at 20,000 stuck goroutines
	screen) run_suite screen bash tests/integration/screen.sh ;;
	# leaks against Go's own goroutineleak profile on its leak-profile test programs (issue 16)
	goleak) run_suite goleak bash tests/integration/goleak.sh ;;
	# leaks --explain: the root path of a blocked goroutine, known by construction (global, stack)
	leakexplain) run_suite leakexplain bash tests/integration/leakexplain.sh ;;
	# chan/explain chan refuse an address that is not a channel (makechan's rules)
	notachan) run_suite notachan bash tests/integration/notachan.sh ;;
	# leaks over time (issue 13): snapshot/diff against a target that leaks a known group and type,
	# goroutines --pprof against the runtime's own goroutine profile, watch verdicts, metrics/promtool
	overtime) run_suite overtime bash tests/integration/overtime.sh ;;
	# the Go heap census: live objects by type and retention, against the census target's record
	gotypes) run_suite gotypes bash tests/integration/gotypes.sh ;;
	# database/sql pools on a real PostgreSQL (lib/pq): db.Stats(), pg_stat_activity, leaked/held/waiters
	pools) run_suite pools bash tests/integration/pools.sh ;;
	# goroutine pprof labels against the target's record and pprof debug=1, every toolchain,
	# unstripped and stripped, live and gcore core; goroutines --label filters
	labels) run_suite labels bash tests/integration/labels.sh ;;
	# credentials planted in each region by a Go and a C target, found in that region; redaction
	secrets) run_suite secrets bash tests/integration/secrets.sh ;;
	glibc)
		# glibc 2.41 (trixie) and 2.31 (bullseye) are extracted, never installed
		if [ ! -d tests/out/glibc-dl/bullseye/root/lib ] || [ ! -d tests/out/glibc-dl/trixie/root/usr ]; then
			bash tests/integration/glibc/fetch-glibcs.sh > "$OUT/fetch-glibcs.log" 2>&1 ||
				echo "FAIL could not fetch glibc 2.41/2.31 (see $OUT/fetch-glibcs.log)"
		fi
		run_suite glibc bash tests/integration/glibc/run.sh
		run_suite glibc-noncontig bash tests/integration/glibc/noncontig.sh ;;
	maps)
		# runtime-maps/ regenerated from the installed toolchains' and libcs' debug info and
		# diffed against the committed maps (Go 1.19-1.27, glibc 2.31/2.35/2.36/2.39/2.41)
		run_suite maps make --no-print-directory -s maps-check ;;
	# what the core backend finds wrong with a core (cut short) reaches every result
	cores) run_suite cores bash tests/integration/cores.sh ;;
	# a core is untrusted input: files it names back memory only when they are ELF files of the
	# build-id it records (never a FIFO, device or private file; --sysroot confines the names),
	# a 1 TiB PT_LOAD with 4 KiB in the core is 4 KiB of memory (mkcore.py writes the cores)
	crafted) run_suite crafted bash tests/integration/crafted.sh ;;
	# arm64 cores (Go cross-built with GOARCH=arm64, run under qemu-user) read here: goroutines
	# against the runtime's dump (go1.19/1.23/1.27), other machines' cores and executables refused
	arm64) run_suite arm64 bash tests/integration/arm64.sh ;;
	# live attach on a real arm64 kernel (qemu-system-aarch64) and its cores (make check-arm64)
	arm64vm) run_suite arm64vm bash tests/integration/arm64vm.sh ;;
	# the layout cache is never written or read through planted symlinks or others' directories
	cache) run_suite cache bash tests/integration/cache.sh ;;
	# targets in containers (unshare + pivot_root): glibc 2.41 C and a Go program at a path the
	# host has as another program, from the host and from a sidecar sharing the pid namespace
	containers) run_suite containers bash tests/integration/containers.sh ;;
	# libc's debug info from a local debuginfod server (DEBUGINFOD_URLS), the server down or
	# silent: the runtime map, a warning, a bounded wait
	debuginfod) run_suite debuginfod bash tests/integration/debuginfod.sh ;;
	# build/tlinspect-static = the dynamic build: Go (newest toolchain, default and stripped) on
	# one gcore core each, live against runtime.Stack; C heap/bins/leaks with and without
	# libc debug info against mallinfo2 (STATIC_FULL=1: the whole Go suite with it too)
	static) run_suite static bash tests/integration/static.sh ;;
	# a target that cannot be stopped in time: exit 10 everywhere, the target left running
	stop) run_suite stop bash tests/integration/stop.sh ;;
	# every thread captured, or exit 4 naming the thread another tracer holds
	attach) run_suite attach bash tests/integration/attach.sh ;;
	# make install: what a user needs, no sources
	install) run_suite install bash tests/integration/install.sh ;;
	# short of memory (ulimit -v): exit 0 with the whole answer or 13, never a crash or less
	nomem) run_suite nomem bash tests/integration/nomem.sh ;;
	capfit) run_suite capfit bash tests/integration/capfit.sh ;;
	# a C target exiting by itself at a random moment of the run: exit 0 right or 3, nothing else
	exitrace) run_suite exitrace bash tests/integration/exitrace.sh ;;
	# byte-flipped C cores: the unflipped answer, a flagged one, or one the flipped byte feeds
	coreflip) run_suite coreflip bash tests/integration/coreflip.sh ;;
	# Go leaks faults its copy of the heap in before the stop, not inside it
	pause) run_suite pause bash tests/integration/pause.sh ;;
	# stacks copied before the stop: taken only when the stopped g is the one peeked; the same
	# listing as without them, churning goroutines whole, refusals seen (oldest/newest, stripped)
	precopy) run_suite precopy bash tests/integration/precopy.sh ;;
	# --snapshot=fork: same JSON as copy mode (Go, glibc); 100 fork runs on a busy target lose no
	# signal, leave no copy, zombie or stopped thread; tlinspect killed mid-run leaves no copy
	fork) run_suite fork bash tests/integration/fork.sh ;;
	# the pprof writer: what every toolchain's `go tool pprof -raw/-top` reads from its file
	pprof) run_suite pprof bash tests/integration/pprof.sh ;;
	# docs/tutorial.md run verbatim, its shown outputs compared with the real ones
	tutorial) run_suite tutorial bash tests/integration/tutorial.sh ;;
	faces)
		for f in tests/integration/faces/*.sh; do
			[ -f "$f" ] && run_suite "faces-$(basename "$f" .sh)" bash "$f"
		done ;;
	*) echo "unknown suite $s"; fail=$((fail + 1)) ;;
	esac
done
echo "integration: $pass passed, $fail failed"
[ "$fail" = 0 ]
