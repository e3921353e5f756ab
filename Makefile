# The front door: every target installs what it lacks, configures and builds as needed.
#   make              build build/specswarm
#   make demo         run specswarm on the bundled example suite (local cores)
#   make test         build and run every test (unit and end-to-end) through CTest
#   make bench        run the benchmarks in bench/ (results go to bench/RESULTS.md by hand)
#   make fuzz         build the libFuzzer targets (clang, ASan+UBSan) in build-fuzz and run each
#                     for FUZZ_SECONDS (default 60); see tests/fuzz/run.sh
#   make install      install the binary and its Ruby shim (PREFIX=/usr/local)
#   make package      build the Debian package (build-package/specswarm_VERSION_ARCH.deb)
#   make package-check  lintian, then install the .deb in a fresh Debian bookworm root (root only)
#   make fresh-check  the README's `make demo` and `make test` on a fresh Debian bookworm root
#                     (mmdebstrap, root only, downloads a few hundred MB; not part of `make test`)
BUILD ?= build
PREFIX ?= /usr/local
JOBS ?= $(shell nproc)

# A build tree counts as configured only once CMake has succeeded on it: $(STAMP) is removed
# before CMake runs and written after it succeeds, so a configure that fails (missing package,
# ^C) is always run again by the next make, whatever it left behind.
STAMP = $(BUILD)/.specswarm-configured
CONFIGURE = rm -f $(STAMP) && cmake -S . -B $(BUILD) -DCMAKE_INSTALL_PREFIX=$(PREFIX)

.PHONY: all build configure demo test bench fuzz install package package-check clean fresh-check deps-build deps-test deps-bench

all: build

deps-build:
	@bash scripts/deps.sh build
deps-test:
	@bash scripts/deps.sh test
deps-bench:
	@bash scripts/deps.sh bench

# Tests are configured when their packages are present (SPECSWARM_TESTS=AUTO), so the demo needs
# only the build packages.
configure: deps-build
	@if [ ! -f $(STAMP) ] || [ ! -f $(BUILD)/CMakeCache.txt ]; then \
	  echo '$(CONFIGURE)' && $(CONFIGURE) && touch $(STAMP); fi

build: configure
	cmake --build $(BUILD) -j $(JOBS)

demo: build
	cd examples/demo && ../../$(BUILD)/specswarm run

# The test packages were just installed: configure again with the tests required (CMake looks
# again for what it did not find before) unless the tree is already configured with them.
test: deps-test
	@if [ ! -f $(STAMP) ] || ! grep -qx 'SPECSWARM_TESTS:[A-Z]*=ON' $(BUILD)/CMakeCache.txt; then \
	  echo '$(CONFIGURE) -DSPECSWARM_TESTS=ON' && $(CONFIGURE) -DSPECSWARM_TESTS=ON && touch $(STAMP); fi
	cmake --build $(BUILD) -j $(JOBS)
	@cd $(BUILD) && status=0 && ctest --output-on-failure --no-tests=error -j $(JOBS) || status=$$?; \
	  if [ -f netns-tests-skipped.txt ]; then echo "Note: $$(cat netns-tests-skipped.txt)"; fi; \
	  exit $$status

bench: deps-bench build
	bash bench/run_all.sh

fuzz:
	JOBS=$(JOBS) bash tests/fuzz/run.sh

install: build
	cmake --install $(BUILD)

# Its own tree: the package's binary looks for its Ruby shim under /usr, not $(PREFIX).
package:
	@bash scripts/deps.sh package
	cmake -S . -B build-package -DCMAKE_INSTALL_PREFIX=/usr -DSPECSWARM_TESTS=OFF -DSPECSWARM_REQUIRE_TRAY=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo
	cmake --build build-package -j $(JOBS)
	cd build-package && cpack

package-check:
	bash scripts/package-check.sh

fresh-check:
	bash scripts/fresh-check.sh

clean:
	rm -rf $(BUILD)
