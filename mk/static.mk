# mk/static.mk - `make static`: build/tlinspect-static, one statically linked file (libdw, libelf,
# capstone, jansson, readline, zlib, protobuf-c and their own dependencies from Debian's -dev
# packages' .a files) carrying the runtime maps inside (scripts/gen-embedded-maps.sh), so that
# copying it into any container (an empty root with no libc at all) is the whole install.
# main.c's malloc wrappers (out of memory -> exit 13) are kept: they are linked ahead of libc.a's.
STATIC_BIN    := $(BUILD)/tlinspect-static
STATIC_MAPS_S := $(GEN_DIR)/embedded_maps.S
STATIC_LIBS   := -ldw -lelf -lbz2 -llzma -lz -ljansson -lcapstone -lprotobuf-c -lreadline -ltinfo -lm -pthread
ALL_MAPS      := $(sort $(wildcard runtime-maps/go/*.map runtime-maps/go-arm64/*.map runtime-maps/glibc/*.map))

.PHONY: static
static: $(STATIC_BIN)
	@echo "$(STATIC_BIN): $$(stat -c %s $(STATIC_BIN)) bytes, $(words $(ALL_MAPS)) runtime maps inside"

$(STATIC_MAPS_S): scripts/gen-embedded-maps.sh $(ALL_MAPS)
	@mkdir -p $(dir $@)
	sh scripts/gen-embedded-maps.sh $(ALL_MAPS) > $@.tmp && mv $@.tmp $@

$(GEN_DIR)/embedded_maps.o: $(STATIC_MAPS_S) $(ALL_MAPS)
	$(CC) -c $< -o $@

# glibc's static-link warnings (dlopen, getpwnam: the demangler and readline's ~ expansion, which
# then fall back) are expected; stripped: the debug info stays in the dynamic build
$(STATIC_BIN): $(BUILD)/inspector/cli/main.o $(LIB) $(GEN_DIR)/embedded_maps.o
	$(CC) $(CFLAGS) -static -Wl,--allow-multiple-definition -o $@ $^ $(STATIC_LIBS) 2>$@.link-warnings
	strip $@
