# tlinspect — build, test, install.  `make help` lists the targets.
PREFIX   ?= /usr/local
DESTDIR  ?=
CC       ?= cc
BUILD    ?= build
CFLAGS   ?= -O2 -g
CFLAGS   += -std=gnu11 -Wall -Wextra -Wno-unused-parameter -Wshadow -fno-strict-aliasing \
            -D_GNU_SOURCE -Iinspector $(shell pkg-config --cflags libdw jansson capstone libprotobuf-c 2>/dev/null)
LDLIBS   += $(shell pkg-config --libs libdw libelf jansson capstone liblzma 2>/dev/null) -lprotobuf-c -lreadline -lz -lm

# Generated at build time (scripts/gen-*.sh) into $(GEN_DIR), included as "name.h".
GEN_DIR  := $(BUILD)/gen
CFLAGS   += -I$(GEN_DIR)
GO_MAPS  := $(sort $(wildcard runtime-maps/go/*.map))

LIB_SRCS  := $(filter-out inspector/cli/main.c,$(shell find inspector -name '*.c' | sort))
LIB_OBJS  := $(LIB_SRCS:%.c=$(BUILD)/%.o) $(GEN_DIR)/profile.pb-c.o
LIB       := $(BUILD)/libtlinspect.a
BIN       := $(BUILD)/tlinspect
UNIT_SRCS := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)

.PHONY: all clean check unit integration demo install help bench
all: $(BIN)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

# go/gobin.c's moduledata table, from the runtime maps (one place for those offsets)
$(GEN_DIR)/go_moduledata.h: scripts/gen-moduledata.sh $(GO_MAPS)
	@mkdir -p $(dir $@)
	sh scripts/gen-moduledata.sh $(GO_MAPS) > $@.tmp && mv $@.tmp $@
$(BUILD)/inspector/go/gobin.o: $(GEN_DIR)/go_moduledata.h

# pprof's profile.proto -> protobuf-c structs and (un)packers for render/pprof.c (generated, never committed)
PPROF_PROTO := inspector/render/pprof/profile.proto
$(GEN_DIR)/profile.pb-c.c $(GEN_DIR)/profile.pb-c.h &: $(PPROF_PROTO)
	@mkdir -p $(GEN_DIR)
	protoc-c --proto_path=$(dir $(PPROF_PROTO)) --c_out=$(GEN_DIR) $(PPROF_PROTO)
$(GEN_DIR)/profile.pb-c.o: $(GEN_DIR)/profile.pb-c.c $(GEN_DIR)/profile.pb-c.h
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@
$(BUILD)/inspector/render/pprof.o $(BUILD)/tests/test_pprof: $(GEN_DIR)/profile.pb-c.h
# a test tool (tests/unit/pprof_write.c, never installed) for the pprof integration suite
integration: $(BUILD)/tests/pprof_write

$(LIB): $(LIB_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(BIN): $(BUILD)/inspector/cli/main.o $(LIB)
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/%: tests/unit/%.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests/unit -o $@ $< $(LIB) $(LDLIBS) -lcmocka

unit: $(UNIT_BINS)
	@set -e; fail=0; for t in $(UNIT_BINS); do echo "== $$t"; TLI_BUILD_DIR=$(BUILD) env -u DEBUGINFOD_URLS $$t || fail=1; done; exit $$fail

include mk/extra.mk
include mk/maps.mk
include mk/static.mk
include mk/arm64.mk

-include $(LIB_OBJS:.o=.d) $(BUILD)/inspector/cli/main.d

clean:
	rm -rf $(BUILD)
