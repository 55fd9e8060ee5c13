# mk/maps.mk - runtime maps (issue 5). Included by the top-level Makefile (`include mk/maps.mk`).
#
#   make maps-gen     rebuild the probe (tests/integration/stripped/probe) with every installed Go
#                     toolchain /usr/lib/go-1.NN and regenerate runtime-maps/go/1.NN.map from its DWARF,
#                     and runtime-maps/go-arm64/1.NN.map from a GOARCH=arm64 build of it
#   make maps-check   regenerate into a temporary directory and diff against the committed maps;
#                     fails on drift (the provenance line "source ..." is not compared)
#   MAPS_GO_VERSIONS="1.21 1.24" restricts both to some toolchains.
#   Both also (re)generate runtime-maps/glibc/2.NN.map from every libc whose debug info is here:
#   the system libc + libc6-dbg (/usr/lib/debug), and the trixie (2.41) / bullseye (2.31) /
#   Ubuntu jammy (2.35) / noble (2.39) libc6 + libc6-dbg unpacked by
#   tests/integration/glibc/fetch-glibcs.sh. A libc whose files
#   or debug info are absent is skipped with a note. MAPS_GLIBC="" turns the glibc part off.
#
# The generator is `tlinspect maps gen BINARY`; build/tli-mapgen is the same code as a
# stand-alone driver (runtime-maps/mapgen.c), used here so the targets work on their own.

MAPGEN        := $(BUILD)/tli-mapgen
MAPS_PROBE    := tests/integration/stripped/probe
MAPS_GO_VERSIONS ?= $(shell ls -d /usr/lib/go-1.*/bin/go 2>/dev/null | sed "s|/usr/lib/go-\(1\.[0-9]*\)/bin/go|\1|" | sort -t. -k2,2n)

.PHONY: maps-gen maps-check maps-gen-glibc maps-check-glibc

MAPS_GLIBC_DL ?= tests/out/glibc-dl
# LIBC|DEBUG-DIR pairs
MAPS_GLIBC    ?= /lib/x86_64-linux-gnu/libc.so.6|/usr/lib/debug \
                 $(MAPS_GLIBC_DL)/trixie/root/usr/lib/x86_64-linux-gnu/libc.so.6|$(MAPS_GLIBC_DL)/trixie/root/usr/lib/debug \
                 $(MAPS_GLIBC_DL)/bullseye/root/lib/x86_64-linux-gnu/libc.so.6|$(MAPS_GLIBC_DL)/bullseye/root/usr/lib/debug \
                 $(MAPS_GLIBC_DL)/jammy/root/lib/x86_64-linux-gnu/libc.so.6|$(MAPS_GLIBC_DL)/jammy/root/usr/lib/debug \
                 $(MAPS_GLIBC_DL)/noble/root/usr/lib/x86_64-linux-gnu/libc.so.6|$(MAPS_GLIBC_DL)/noble/root/usr/lib/debug

# tli_maps_glibc_into DIR: DIR/glibc/2.NN.map for every available libc; the keys made go to
# $(BUILD)/maps-glibc-keys
define tli_maps_glibc_into
	@set -e; mkdir -p $(1)/glibc $(BUILD); : > $(BUILD)/maps-glibc-keys; \
	for spec in $(foreach s,$(MAPS_GLIBC),'$(s)'); do \
	  libc=$${spec%%|*}; dbg=$${spec#*|}; \
	  if [ ! -e "$$libc" ] || [ ! -d "$$dbg" ]; then echo "maps: skipping $$libc (libc or its debug directory $$dbg absent)"; continue; fi; \
	  TLINSPECT_DEBUG_DIRS=$$dbg $(MAPGEN) $$libc > $(1)/glibc/new.map.tmp 2> $(BUILD)/maps-glibc-gen.log || \
	    { if grep -q "no separate debug info\|no DWARF" $(BUILD)/maps-glibc-gen.log; then \
	        echo "maps: skipping $$libc (no debug info: $$(head -c 200 $(BUILD)/maps-glibc-gen.log))"; rm -f $(1)/glibc/new.map.tmp; continue; fi; \
	      cat $(BUILD)/maps-glibc-gen.log >&2; rm -f $(1)/glibc/new.map.tmp; exit 1; }; \
	  v=$$(sed -n 's/^version glibc//p' $(1)/glibc/new.map.tmp); \
	  mv $(1)/glibc/new.map.tmp $(1)/glibc/$$v.map; echo $$v >> $(BUILD)/maps-glibc-keys; \
	  echo "maps: $(1)/glibc/$$v.map ($$libc)"; \
	done
endef

maps-gen-glibc: $(MAPGEN)
	$(call tli_maps_glibc_into,runtime-maps)

maps-check-glibc: $(MAPGEN)
	@rm -rf $(BUILD)/maps-check-glibc
	$(call tli_maps_glibc_into,$(BUILD)/maps-check-glibc)
	@st=0; n=0; for v in $$(cat $(BUILD)/maps-glibc-keys); do n=$$((n + 1)); \
	  if [ ! -f runtime-maps/glibc/$$v.map ]; then echo "maps-check: runtime-maps/glibc/$$v.map is missing (run make maps-gen-glibc)"; st=1; continue; fi; \
	  if diff -u -I '^source ' runtime-maps/glibc/$$v.map $(BUILD)/maps-check-glibc/glibc/$$v.map > $(BUILD)/maps-check-glibc/$$v.diff; then \
	    echo "maps-check: glibc $$v ok"; \
	  else echo "maps-check: glibc $$v DRIFT:"; head -40 $(BUILD)/maps-check-glibc/$$v.diff; st=1; fi; \
	done; \
	if [ $$st = 0 ]; then echo "maps-check: glibc $$n passed, 0 failed"; else echo "maps-check: glibc drift found"; fi; exit $$st

$(MAPGEN): runtime-maps/mapgen.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(LIB) $(LDLIBS)

# tli_maps_gen_into DIR: probe binaries in $(BUILD)/maps-probe/, maps in DIR/go/ (linux/amd64) and
# DIR/go-arm64/ (the same probe cross-built with GOARCH=arm64: its layouts differ in places)
define tli_maps_gen_into
	@set -e; mkdir -p $(1)/go $(1)/go-arm64 $(BUILD)/maps-probe; \
	cache=$${GOCACHE:-$(abspath $(BUILD))/go-cache}; \
	for v in $(MAPS_GO_VERSIONS); do \
	  bin=$(abspath $(BUILD))/maps-probe/probe-$$v; \
	  ( cd $(MAPS_PROBE) && GOTOOLCHAIN=local GOFLAGS=-mod=mod GOPROXY=off GOWORK=off GOCACHE=$$cache \
	    /usr/lib/go-$$v/bin/go build -trimpath -o $$bin . ); \
	  $(MAPGEN) $$bin > $(1)/go/$$v.map.tmp 2> $(BUILD)/maps-probe/gen-$$v.log || \
	    { cat $(BUILD)/maps-probe/gen-$$v.log >&2; rm -f $(1)/go/$$v.map.tmp; exit 1; }; \
	  mv $(1)/go/$$v.map.tmp $(1)/go/$$v.map; \
	  echo "maps: $(1)/go/$$v.map ($$(/usr/lib/go-$$v/bin/go version | cut -d' ' -f3))"; \
	  bin=$(abspath $(BUILD))/maps-probe/probe-arm64-$$v; \
	  ( cd $(MAPS_PROBE) && GOTOOLCHAIN=local GOFLAGS=-mod=mod GOPROXY=off GOWORK=off GOCACHE=$$cache \
	    GOARCH=arm64 CGO_ENABLED=0 /usr/lib/go-$$v/bin/go build -trimpath -o $$bin . ); \
	  $(MAPGEN) $$bin > $(1)/go-arm64/$$v.map.tmp 2> $(BUILD)/maps-probe/gen-arm64-$$v.log || \
	    { cat $(BUILD)/maps-probe/gen-arm64-$$v.log >&2; rm -f $(1)/go-arm64/$$v.map.tmp; exit 1; }; \
	  mv $(1)/go-arm64/$$v.map.tmp $(1)/go-arm64/$$v.map; \
	  echo "maps: $(1)/go-arm64/$$v.map"; \
	done
endef

maps-gen: $(MAPGEN) maps-gen-glibc
	$(call tli_maps_gen_into,runtime-maps)

maps-check: $(MAPGEN) maps-check-glibc
	@rm -rf $(BUILD)/maps-check
	$(call tli_maps_gen_into,$(BUILD)/maps-check)
	@st=0; n=0; for v in $(MAPS_GO_VERSIONS); do n=$$((n + 1)); \
	  if [ ! -f runtime-maps/go/$$v.map ]; then echo "maps-check: runtime-maps/go/$$v.map is missing (run make maps-gen)"; st=1; continue; fi; \
	  if diff -u -I '^source ' runtime-maps/go/$$v.map $(BUILD)/maps-check/go/$$v.map > $(BUILD)/maps-check/$$v.diff; then \
	    echo "maps-check: go$$v ok"; \
	  else echo "maps-check: go$$v DRIFT:"; head -40 $(BUILD)/maps-check/$$v.diff; st=1; fi; \
	  if [ ! -f runtime-maps/go-arm64/$$v.map ]; then echo "maps-check: runtime-maps/go-arm64/$$v.map is missing (run make maps-gen)"; st=1; \
	  elif diff -u -I '^source ' runtime-maps/go-arm64/$$v.map $(BUILD)/maps-check/go-arm64/$$v.map > $(BUILD)/maps-check/arm64-$$v.diff; then \
	    echo "maps-check: go$$v arm64 ok"; \
	  else echo "maps-check: go$$v arm64 DRIFT:"; head -40 $(BUILD)/maps-check/arm64-$$v.diff; st=1; fi; \
	done; \
	if [ $$st = 0 ]; then echo "maps-check: $$n passed, 0 failed"; else echo "maps-check: drift found"; fi; exit $$st
