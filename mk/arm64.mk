# mk/arm64.mk - tlinspect for arm64 hosts, and its tests on an emulated arm64 machine (issue 22).
#
#   make cross-arm64   $(ARM64_BUILD)/tlinspect (+ its gdb command file and bash completion), built
#                      with aarch64-linux-gnu-gcc against Debian's multiarch -dev:arm64 libraries
#                      (scripts/setup.sh --arm64 installs them); $(BUILD)/ is not touched. The
#                      generators that run the binary run it under qemu-user.
#   make check-arm64   tests/integration/arm64vm.sh: boots Debian's arm64 kernel in
#                      qemu-system-aarch64, attaches the aarch64 build live to arm64 Go targets there,
#                      brings back the results and the kernel's cores, which $(BIN) must read too.
ARM64_BUILD     ?= build-arm64
ARM64_CC        ?= aarch64-linux-gnu-gcc
ARM64_PKGCONFIG := /usr/lib/aarch64-linux-gnu/pkgconfig:/usr/share/pkgconfig
ARM64_QEMU      ?= qemu-aarch64-static

.PHONY: cross-arm64 check-arm64
cross-arm64:
	@command -v $(ARM64_CC) >/dev/null && [ -f /usr/lib/aarch64-linux-gnu/pkgconfig/libdw.pc ] || \
	  { echo "cross-arm64: $(ARM64_CC) or the -dev:arm64 libraries are missing: run scripts/setup.sh --arm64"; exit 1; }
	@mkdir -p $(ARM64_BUILD); \
	printf '#!/bin/sh\nexec %s %s "$$@"\n' '$(ARM64_QEMU)' '$(abspath $(ARM64_BUILD))/tlinspect' > $(ARM64_BUILD)/tlinspect-qemu; \
	chmod +x $(ARM64_BUILD)/tlinspect-qemu
	PKG_CONFIG_LIBDIR=$(ARM64_PKGCONFIG) $(MAKE) --no-print-directory BUILD=$(ARM64_BUILD) CC=$(ARM64_CC) \
	  BIN_RUN=$(ARM64_BUILD)/tlinspect-qemu all

check-arm64: all
	TLINSPECT=$(abspath $(BIN)) bash tests/integration/arm64vm.sh
