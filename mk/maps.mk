# mk/maps.mk - runtime maps (issue 5). Included by the top-level Makefile (`include mk/maps.mk`).
#
#   make maps-gen     rebuild the probe (tests/integration/stripped/probe) with every installed Go
#                     toolchain /usr/lib/go-1.NN and regenerate runtime-maps/go/1.NN.map from its DWARF
#   make maps-check   regenerate into a temporary directory and diff against the committed maps;
#                     fails on drift (the provenance line "source ..." is not compared)
#   MAPS_GO_VERSIONS="1.21 1.24" restricts both to some toolchains.
#
# The generator is `tlinspect maps gen BINARY`; build/tli-mapgen is the same code as a
# stand-alone driver (runtime-maps/mapgen.c), used here so the targets work on their own.

MAPGEN        := $(BUILD)/tli-mapgen
MAPS_PROBE    := tests/integration/stripped/probe
MAPS_GO_VERSIONS ?= $(shell ls -d /usr/lib/go-1.*/bin/go 2>/dev/null | sed "s|/usr/lib/go-\(1\.[0-9]*\)/bin/go|\1|" | sort -t. -k2,2n)

.PHONY: maps-gen maps-check

$(MAPGEN): runtime-maps/mapgen.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(LIB) $(LDLIBS)

# tli_maps_gen_into DIR: probe binaries in $(BUILD)/maps-probe/, maps in DIR/go/
define tli_maps_gen_into
	@set -e; mkdir -p $(1)/go $(BUILD)/maps-probe; \
	cache=$${GOCACHE:-$(abspath $(BUILD))/go-cache}; \
	for v in $(MAPS_GO_VERSIONS); do \
	  bin=$(abspath $(BUILD))/maps-probe/probe-$$v; \
	  ( cd $(MAPS_PROBE) && GOTOOLCHAIN=local GOFLAGS=-mod=mod GOPROXY=off GOWORK=off GOCACHE=$$cache \
	    /usr/lib/go-$$v/bin/go build -trimpath -o $$bin . ); \
	  $(MAPGEN) $$bin > $(1)/go/$$v.map.tmp 2> $(BUILD)/maps-probe/gen-$$v.log || \
	    { cat $(BUILD)/maps-probe/gen-$$v.log >&2; rm -f $(1)/go/$$v.map.tmp; exit 1; }; \
	  mv $(1)/go/$$v.map.tmp $(1)/go/$$v.map; \
	  echo "maps: $(1)/go/$$v.map ($$(/usr/lib/go-$$v/bin/go version | cut -d' ' -f3))"; \
	done
endef

maps-gen: $(MAPGEN)
	$(call tli_maps_gen_into,runtime-maps)

maps-check: $(MAPGEN)
	@rm -rf $(BUILD)/maps-check
	$(call tli_maps_gen_into,$(BUILD)/maps-check)
	@st=0; n=0; for v in $(MAPS_GO_VERSIONS); do n=$$((n + 1)); \
	  if [ ! -f runtime-maps/go/$$v.map ]; then echo "maps-check: runtime-maps/go/$$v.map is missing (run make maps-gen)"; st=1; continue; fi; \
	  if diff -u -I '^source ' runtime-maps/go/$$v.map $(BUILD)/maps-check/go/$$v.map > $(BUILD)/maps-check/$$v.diff; then \
	    echo "maps-check: go$$v ok"; \
	  else echo "maps-check: go$$v DRIFT:"; head -40 $(BUILD)/maps-check/$$v.diff; st=1; fi; \
	done; \
	if [ $$st = 0 ]; then echo "maps-check: $$n passed, 0 failed"; else echo "maps-check: drift found"; fi; exit $$st
