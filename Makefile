# Top-level entry points. `make` builds build/hamrf; `make run` runs the main
# job on built-in defaults; `make test` runs every test (the normal build's,
# then the ASan/UBSan build's, a short run of each fuzz target and the threaded
# tests under TSan); `make bench`
# the benchmarks; `make asan`, `make tsan`, `make fuzz` the sanitizer builds
# and the fuzzers alone (docs/reliability.md). Each first installs missing
# Debian packages (scripts/bootstrap.sh).
BUILD ?= build
JOBS  ?= $(shell nproc 2>/dev/null || echo 2)
GEN   := $(shell command -v ninja >/dev/null 2>&1 && echo "-G Ninja")

.PHONY: all bootstrap configure build run test bench clean format install \
        asan asan-build tsan fuzz fuzz-ci

all: build

bootstrap:
	@sh scripts/bootstrap.sh

$(BUILD)/CMakeCache.txt: | bootstrap
	@cmake -S . -B $(BUILD) $(GEN) -DCMAKE_BUILD_TYPE=Release >/dev/null

build: bootstrap $(BUILD)/CMakeCache.txt
	@cmake --build $(BUILD) -j $(JOBS)

run: build
	@$(BUILD)/hamrf reproduce --quick

test: build
	@cd $(BUILD) && ctest --output-on-failure -j $(JOBS)
	@$(MAKE) --no-print-directory asan
	@$(MAKE) --no-print-directory fuzz-ci
	@$(MAKE) --no-print-directory tsan

# ---- Sanitizers and fuzzing (docs/reliability.md) ----
# One clang build, $(ASAN_BUILD), serves both: the library, the tool and the C
# tests under AddressSanitizer + UndefinedBehaviorSanitizer (any finding stops
# the program), with libFuzzer's coverage instrumentation, and the fuzz
# targets of tests/fuzz linked against it. `make asan` runs the C tests and
# the command-line shell tests there; the Python tests (python_tests, and
# cli_mpi, which checks its ranks' models through the Python package) load
# libhamrf.so into /usr/bin/python3, which is not built with ASan, and the
# checks of the sources and of the normal build (check_*) do not depend on
# it: those are left to the normal build, and so is cli_faults, which limits
# the tool's address space (ulimit -v) below what ASan's shadow memory
# reserves. Sanitizer reports end the program with status 99, which no test
# expects. intercept_tls_get_addr=0: clang 14's runtime (like every LLVM up
# to 16) takes a dynamic TLS block whose address is 16 bytes past a 4 KiB
# boundary for a glibc-2.19 block with a header and reads its range from the
# bytes before it; with glibc 2.36 that happens by chance of the heap's
# layout, and LeakSanitizer's exit scan then crashes ("Tracer caught signal
# 11", docs/reliability.md). Off, it scans no dynamic TLS blocks: a pointer
# held only there would be reported as a leak, never hidden.
ASAN_BUILD   ?= build-asan
TSAN_BUILD   ?= build-tsan
FUZZ_TARGETS  = fuzz_npy_header fuzz_npz fuzz_load fuzz_cli_parsers fuzz_md
FUZZ_SECONDS ?= 60
FUZZ_CI_SECONDS ?= 20
SAN_ENV = ASAN_OPTIONS=exitcode=99:detect_leaks=1:strict_string_checks=1:detect_stack_use_after_return=1:check_initialization_order=1:intercept_tls_get_addr=0 \
          UBSAN_OPTIONS=exitcode=99:print_stacktrace=1:halt_on_error=1

$(ASAN_BUILD)/CMakeCache.txt: | bootstrap
	@CC=clang CXX=clang++ cmake -S . -B $(ASAN_BUILD) $(GEN) -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	    -DHAMRF_SANITIZE=address,undefined -DHAMRF_FUZZ=ON >/dev/null

asan-build: bootstrap $(ASAN_BUILD)/CMakeCache.txt
	@cmake --build $(ASAN_BUILD) -j $(JOBS)

asan: asan-build
	@cd $(ASAN_BUILD) && $(SAN_ENV) ctest --output-on-failure -j $(JOBS) -E '^(python_tests|cli_mpi|cli_faults|check_.*)$$'

# The fuzz targets, briefly (make test): every seed and regression file of
# tests/fuzz/corpus/<target> replayed, then FUZZ_CI_SECONDS of fuzzing each,
# new inputs kept in $(ASAN_BUILD)/corpus/<target>, crashes in
# $(ASAN_BUILD)/crash-<target>-*. `make fuzz` runs FUZZ_SECONDS each.
fuzz-ci: asan-build
	@sh tests/fuzz/run.sh $(ASAN_BUILD) $(FUZZ_CI_SECONDS) $(FUZZ_TARGETS)

fuzz: asan-build
	@sh tests/fuzz/run.sh $(ASAN_BUILD) $(FUZZ_SECONDS) $(FUZZ_TARGETS)

# ThreadSanitizer: clang with LLVM's OpenMP runtime (libomp) and its TSan
# tool Archer, which tells TSan about OpenMP's synchronisation (libgomp cannot).
$(TSAN_BUILD)/CMakeCache.txt: | bootstrap
	@CC=clang CXX=clang++ cmake -S . -B $(TSAN_BUILD) $(GEN) -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	    -DHAMRF_SANITIZE=thread >/dev/null

# tests/tsan_run.sh builds the tests it runs (the threaded paths) and no more.
tsan: bootstrap $(TSAN_BUILD)/CMakeCache.txt
	@sh tests/tsan_run.sh $(TSAN_BUILD) $(JOBS)

# Installs into $(PREFIX) (default /usr/local): library, tool, headers,
# pkg-config file, Python package (CMakeLists.txt, "make install").
PREFIX ?= /usr/local
install: build
	@cmake --install $(BUILD) --prefix $(PREFIX)

bench: build
	@sh scripts/bootstrap.sh --bench
	@sh bench/run_all.sh $(BUILD)/hamrf

# The C sources as .clang-format says; `make test` checks it (tests/check_format.sh).
FORMAT_FILES = include/hamrf.h include/hamrf/*.h src/*/*.c src/*/*.h cli/*.c cli/*.h \
               tests/*.c tests/*.h tests/*.cpp tests/fuzz/*.c tests/fuzz/*.h bench/*.c

format: bootstrap
	@clang-format -i $(FORMAT_FILES)

clean:
	@rm -rf $(BUILD) $(ASAN_BUILD) $(TSAN_BUILD)
