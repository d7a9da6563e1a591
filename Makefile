# Top-level entry points. `make` builds build/hamrf; `make run` runs the main
# job on built-in defaults; `make test` runs every test; `make bench` the
# benchmarks. Each first installs missing Debian packages (scripts/bootstrap.sh).
BUILD ?= build
JOBS  ?= $(shell nproc 2>/dev/null || echo 2)
GEN   := $(shell command -v ninja >/dev/null 2>&1 && echo "-G Ninja")

.PHONY: all bootstrap configure build run test bench clean format

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

bench: build
	@sh scripts/bootstrap.sh --bench
	@sh bench/run_all.sh $(BUILD)/hamrf

format:
	@clang-format -i include/hamrf/*.h src/*/*.c src/*/*.h cli/*.c tests/*.c

clean:
	@rm -rf $(BUILD)
