# Top-level entry points. `make` builds build/hamrf; `make run` runs the main
# job on built-in defaults; `make test` runs every test; `make bench` the
# benchmarks. Each first installs missing Debian packages (scripts/bootstrap.sh).
BUILD ?= build
JOBS  ?= $(shell nproc 2>/dev/null || echo 2)
GEN   := $(shell command -v ninja >/dev/null 2>&1 && echo "-G Ninja")

.PHONY: all bootstrap configure build run test bench clean format install

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
               tests/*.c tests/*.h tests/*.cpp bench/*.c

format: bootstrap
	@clang-format -i $(FORMAT_FILES)

clean:
	@rm -rf $(BUILD)
