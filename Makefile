# The front door: every target installs what it lacks, configures and builds as needed.
#   make            build build/specswarm
#   make demo       run specswarm on the bundled example suite (local cores)
#   make test       build and run every test (unit and end-to-end) through CTest
#   make bench      run the benchmarks in bench/ (results go to bench/RESULTS.md by hand)
#   make install    install the binary and its Ruby shim (PREFIX=/usr/local)
BUILD ?= build
PREFIX ?= /usr/local
JOBS ?= $(shell nproc)

.PHONY: all build demo test bench install clean deps-build deps-test deps-bench

all: build

deps-build:
	@bash scripts/deps.sh build
deps-test:
	@bash scripts/deps.sh test
deps-bench:
	@bash scripts/deps.sh bench

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) -DCMAKE_INSTALL_PREFIX=$(PREFIX)

build: deps-build $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)

demo: build
	cd examples/demo && ../../$(BUILD)/specswarm run

test: deps-test build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

bench: deps-bench build
	bash bench/run_all.sh

install: build
	cmake --install $(BUILD)

clean:
	rm -rf $(BUILD)
