# mk/extra.mk - the non-compile targets (included by the top-level Makefile, which defines
# BUILD, BIN, PREFIX, DESTDIR and declares these targets .PHONY).  Recipes are POSIX sh.
#
#   make check        all + house + unit + integration; runs every suite even if one fails, then one summary line
#   make house        tests/house/check.sh: layers (#include lines), function and file length
#   make golden OLD=B tests/golden/compare.sh B build/tlinspect: every command byte for byte on the same targets
#   make integration  tests/integration/all.sh: every suite (go, stripped, chans, glibc, faces);
#                     SUITES="go glibc" to choose (TLINSPECT=<abs path of build/tlinspect> in its environment)
#   make demo         build tests/targets/go/demo with the newest Go, run `tlinspect --pid <pid> $(DEMO_ARGS)`
#   make install      PREFIX=/usr/local DESTDIR=
#   make bench        tests/bench/run.sh

BINDIR      ?= $(PREFIX)/bin
DATADIR     ?= $(PREFIX)/share/tlinspect
MANDIR      ?= $(PREFIX)/share/man
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
DOCDIR      ?= $(PREFIX)/share/doc/tlinspect

# Newest Go toolchain installed by scripts/setup.sh (override: make demo DEMO_GO=/usr/lib/go-1.21/bin/go).
DEMO_GO   ?= $(shell printf '%s\n' /usr/lib/go-1.*/bin/go | sort -V | tail -n 1)
DEMO_ARGS ?=
DEMO_DIR  := tests/targets/go/demo
DEMO_BIN  := $(BUILD)/targets/demo

.PHONY: uninstall house golden

# The gdb command file, generated from the command table (gdb-ext/gen-tlinspect-gdb.sh); the
# build-tree copy runs $(BIN), the installed one $(BINDIR)/tlinspect. BIN_RUN is what runs $(BIN)
# here (a cross build's qemu-user wrapper, mk/arm64.mk).
BIN_RUN ?= $(BIN)
GDB_SCRIPT := $(BUILD)/gdb-ext/tlinspect.gdb
all: $(GDB_SCRIPT)
$(GDB_SCRIPT): $(BIN) gdb-ext/gen-tlinspect-gdb.sh
	@mkdir -p $(dir $@)
	sh gdb-ext/gen-tlinspect-gdb.sh $(BIN_RUN) $(abspath $(BIN)) > $@.tmp && mv $@.tmp $@

# The bash completion, its fallback lists generated from the same command table.
BASH_COMPLETION := $(BUILD)/tlinspect.bash-completion
all: $(BASH_COMPLETION)
unit: $(BASH_COMPLETION)
$(BASH_COMPLETION): $(BIN) scripts/gen-bash-completion.sh scripts/tlinspect.bash-completion.in
	sh scripts/gen-bash-completion.sh $(BIN_RUN) scripts/tlinspect.bash-completion.in > $@.tmp && mv $@.tmp $@

# Totals over every test runner's closing lines in a log: cmocka's "[  PASSED  ] N test(s)." /
# "[  FAILED  ] N test(s), listed below:" / "[  SKIPPED ] N test(s), listed below:" and the plain
# "[word: ]N passed, N failed[, N skipped]" line (what tests/integration/run.sh should end with);
# of the plain lines only the last one of each "===== make SUITE" section counts (it is that suite's total).
TLI_SUMMARY_AWK = \
  function flush() { p += lp; f += lf; s += ls; lp = lf = ls = 0 } \
  /^===== make / { flush() } \
  /^\[  PASSED  \] [0-9]+ test\(s\)\.$$/ { p += $$4 } \
  /^\[  FAILED  \] [0-9]+ test\(s\), listed below:$$/ { f += $$4 } \
  /^\[  SKIPPED \] [0-9]+ test\(s\), listed below:$$/ { s += $$4 } \
  /^([A-Za-z_-]+: )?[0-9]+ passed, [0-9]+ failed(, [0-9]+ skipped)?$$/ { \
      sub(/^[A-Za-z_-]+: /, ""); gsub(/,/, ""); lp = $$1; lf = $$3; ls = (NF >= 5) ? $$5 : 0 } \
  END { flush(); printf "%d %d %d\n", p, f, s }

check:
	@mkdir -p $(BUILD); log=$(BUILD)/check.log; : > $$log; \
	$(MAKE) --no-print-directory all || { echo "check: build failed"; echo "check: 0 passed, 1 failed"; exit 1; }; \
	st=0; \
	for t in house unit integration; do \
	  { echo "===== make $$t"; $(MAKE) --no-print-directory $$t; echo $$? > $(BUILD)/check.$$t.rc; } 2>&1 | tee -a $$log; \
	  rc=$$(cat $(BUILD)/check.$$t.rc); \
	  if [ "$$rc" != 0 ]; then echo "check: make $$t FAILED (exit $$rc)"; st=1; fi; \
	done; \
	set -- $$(awk '$(TLI_SUMMARY_AWK)' $$log); p=$$1 f=$$2 s=$$3; \
	if [ $$st != 0 ] && [ $$f = 0 ]; then f=1; echo "check: a suite failed without reporting a failed test (crash or build error); counted as 1 failure"; fi; \
	echo "check: unit+integration, full log in $$log"; \
	if [ $$s != 0 ]; then echo "check: $$p passed, $$f failed, $$s skipped"; else echo "check: $$p passed, $$f failed"; fi; \
	exit $$st

# The house rules of inspector/ (layers from #include lines, function and file length): tests/house/check.sh.
house:
	@mkdir -p $(BUILD); st=0; \
	bash tests/house/selftest.sh > $(BUILD)/house-selftest.log 2>&1 || st=1; cat $(BUILD)/house-selftest.log; \
	bash tests/house/check.sh > $(BUILD)/house.log 2>&1 || st=1; cat $(BUILD)/house.log; \
	tail -q -n 1 $(BUILD)/house-selftest.log $(BUILD)/house.log | \
	  sed -E 's/^[a-z-]+: ([0-9]+) passed, ([0-9]+) failed$$/\1 \2/' | \
	  awk '{p += $$1; f += $$2} END {printf "house: %d passed, %d failed\n", p, f}'; \
	exit $$st

# Behaviour unchanged across a refactor: make golden OLD=/path/to/old/tlinspect (tests/golden/compare.sh).
golden: all
	@if [ -z "$(OLD)" ]; then echo "golden: set OLD=<path of the tlinspect to compare with>" >&2; exit 2; fi
	bash tests/golden/compare.sh $(OLD) $(BIN)

integration: all
	TLINSPECT=$(abspath $(BIN)) bash tests/integration/all.sh

bench: all
	@if [ ! -f tests/bench/run.sh ]; then \
	  echo "bench: tests/bench/run.sh is missing - no benchmarks to run" >&2; exit 1; fi
	TLINSPECT=$(abspath $(BIN)) bash tests/bench/run.sh

# Build the demo with the newest Go, start it, wait for its pid line, inspect it, kill it.
demo: $(BIN)
	@go="$(DEMO_GO)"; \
	if [ ! -x "$$go" ]; then echo "demo: no Go toolchain found at /usr/lib/go-1.*/bin/go - run ./scripts/setup.sh" >&2; exit 1; fi; \
	if [ -z "$${GOCACHE:-}" ] && [ -z "$${HOME:-}" ]; then export GOCACHE=$(abspath $(BUILD))/go-cache; fi; \
	mkdir -p $(dir $(DEMO_BIN)); \
	echo "demo: building $(DEMO_DIR) with $$($$go version)"; \
	( cd $(DEMO_DIR) && GOTOOLCHAIN=local GOFLAGS=-mod=mod "$$go" build -o $(abspath $(DEMO_BIN)) $$(ls *.go | grep -v '_test\.go$$') ) || exit 1; \
	out=$(DEMO_BIN).out; : > $$out; \
	$(DEMO_BIN) > $$out & pid=$$!; \
	trap 'kill $$pid 2>/dev/null; wait $$pid 2>/dev/null' EXIT INT TERM; \
	i=0; while [ "$$(wc -l < $$out)" -lt 1 ]; do \
	  i=$$((i + 1)); \
	  if [ $$i -gt 200 ] || ! kill -0 $$pid 2>/dev/null; then echo "demo: target did not print its pid within 10s" >&2; exit 1; fi; \
	  sleep 0.05; \
	done; \
	echo "demo: target pid $$pid (printed: $$(head -n 1 $$out))"; \
	echo "demo: $(BIN) --pid $$pid $(DEMO_ARGS)"; \
	$(BIN) --pid $$pid $(DEMO_ARGS); st=$$?; \
	echo "demo: tlinspect exited with $$st"; \
	exit $$st

install: all
	install -D -m 0755 $(BIN) $(DESTDIR)$(BINDIR)/tlinspect
	@if [ -f docs/tlinspect.1 ]; then \
	  echo "install -D -m 0644 docs/tlinspect.1 $(DESTDIR)$(MANDIR)/man1/tlinspect.1"; \
	  install -D -m 0644 docs/tlinspect.1 $(DESTDIR)$(MANDIR)/man1/tlinspect.1; fi
	@if [ -f docs/tlinspect-gdb.7 ]; then \
	  echo "install -D -m 0644 docs/tlinspect-gdb.7 $(DESTDIR)$(MANDIR)/man7/tlinspect-gdb.7"; \
	  install -D -m 0644 docs/tlinspect-gdb.7 $(DESTDIR)$(MANDIR)/man7/tlinspect-gdb.7; fi
	@# gdb command file: source $(DATADIR)/tlinspect.gdb (runs $(BINDIR)/tlinspect)
	mkdir -p $(DESTDIR)$(DATADIR)
	sh gdb-ext/gen-tlinspect-gdb.sh $(BIN) $(BINDIR)/tlinspect > $(DESTDIR)$(DATADIR)/tlinspect.gdb
	chmod 0644 $(DESTDIR)$(DATADIR)/tlinspect.gdb
	@# the runtime maps (data, not their generator's source) and the documentation
	@set -e; if [ -d runtime-maps ]; then find runtime-maps -type f \( -name '*.map' -o -name README.md \) | sort | \
	  while read -r f; do \
	  echo "install -D -m 0644 $$f $(DESTDIR)$(DATADIR)/$$f"; install -D -m 0644 "$$f" "$(DESTDIR)$(DATADIR)/$$f"; done; fi
	@set -e; for f in README.md docs/*.md; do \
	  echo "install -D -m 0644 $$f $(DESTDIR)$(DOCDIR)/$$(basename $$f)"; install -D -m 0644 "$$f" "$(DESTDIR)$(DOCDIR)/$$(basename $$f)"; done
	install -D -m 0644 $(BASH_COMPLETION) $(DESTDIR)$(BASHCOMPDIR)/tlinspect

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/tlinspect $(DESTDIR)$(MANDIR)/man1/tlinspect.1 $(DESTDIR)$(BASHCOMPDIR)/tlinspect
	rm -f $(DESTDIR)$(MANDIR)/man7/tlinspect-gdb.7
	rm -rf $(DESTDIR)$(DATADIR) $(DESTDIR)$(DOCDIR)

help:
	@echo "tlinspect make targets:"
	@echo "  all (default)   build $(BIN) (and $(BUILD)/libtlinspect.a)"
	@echo "  unit            build and run the cmocka unit tests (tests/unit/test_*.c)"
	@echo "  build/tests/test_NAME   build one unit test (run it as ./build/tests/test_NAME)"
	@echo "  integration     run every integration suite (tests/integration/all.sh) against $(BIN)"
	@echo "  check           all + house + unit + integration, with one 'N passed, N failed' summary"
	@echo "  house           the house rules: layers from #include lines, function and file length"
	@echo "  golden OLD=BIN  every command of BIN and of build/tlinspect on the same frozen targets, byte for byte"
	@echo "  demo            build the Go demo target, run '$(BIN) --pid PID \$$DEMO_ARGS' on it"
	@echo "                  e.g. make demo DEMO_ARGS='goroutines --stacks'"
	@echo "  bench           run tests/bench/run.sh"
	@echo "  install         install into \$$DESTDIR\$$PREFIX (PREFIX=$(PREFIX)); uninstall removes it"
	@echo "  clean           remove $(BUILD)/"
	@echo "  cross-arm64     an aarch64 tlinspect in build-arm64/ (scripts/setup.sh --arm64 installs the cross tools)"
	@echo "  check-arm64     boot Debian's arm64 kernel in qemu-system-aarch64, live tests and kernel cores inside"
	@echo "First time on a fresh Debian 12: ./scripts/setup.sh (as root) installs compilers, libraries and Go toolchains."

# ASan+UBSan (issue 15 item 7): the library, tlinspect and the unit tests built with
# -fsanitize=address,undefined into build-asan/, then the unit tests and a representative subset
# of integration suites run against that tlinspect; any sanitizer report fails the run
# (halt_on_error, -fno-sanitize-recover). Not part of `make check` (a full build under the
# sanitizers and the suites take well over its budget on two cores); run it before a release:
#   make check-asan                      ASAN_SUITES="cores crafted secrets" by default
ASAN_BUILD  ?= build-asan
ASAN_FLAGS  ?= -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
ASAN_SUITES ?= cores crafted notachan secrets
.PHONY: check-asan
check-asan:
	CFLAGS="$(ASAN_FLAGS)" $(MAKE) --no-print-directory BUILD=$(ASAN_BUILD) $(ASAN_BUILD)/tlinspect unit \
	  ASAN_OPTIONS=detect_leaks=0:halt_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
	ASAN_OPTIONS=detect_leaks=0:halt_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  TLINSPECT=$(abspath $(ASAN_BUILD))/tlinspect SUITES="$(ASAN_SUITES)" bash tests/integration/all.sh
