# orfeas - build, test, install. GNU make.
#
#   make              liborfeas.a and the programs, in $(BUILD)/
#   make check        install what is missing, build, run every test
#   make asan         the same tests on an AddressSanitizer + UBSan build
#   make demo         install, build, and run the pipeline on the bundled sample
#   make bench        the benchmarks (ratios against named anchors)
#   make install      programs, scripts, man pages, completions under $(DESTDIR)$(PREFIX)
#   make CUDA=0       force the CPU-only build even when nvcc is found

VERSION := $(shell sed -n 's/^\#define ORFEAS_VERSION "\(.*\)"/\1/p' lib/version.h)
BUILD   ?= build
PREFIX  ?= /usr/local
BINDIR  ?= $(PREFIX)/bin
MANDIR  ?= $(PREFIX)/share/man
COMPDIR ?= $(PREFIX)/share/bash-completion/completions
DATADIR ?= $(PREFIX)/share/orfeas

CC      ?= cc
OPT     ?= -O2 -g
SAN     ?=
WERROR  ?= 0
WARN    := -Wall -Wextra -Wshadow -Wpointer-arith -Wstrict-prototypes -Wvla
ifeq ($(WERROR),1)
WARN    += -Werror
endif
CPPFLAGS_ALL := -Ilib -Ikernels -I/usr/include/stb -D_GNU_SOURCE $(CPPFLAGS)
CFLAGS_ALL   := -std=c11 $(OPT) $(SAN) $(WARN) -fopenmp -MMD -MP $(CFLAGS)
LDLIBS_ALL   := -lcjson -lsodium -lmeshoptimizer -lstb -lz -lstdc++ -lm -ldl -lpthread $(LDLIBS)

# CUDA: nvcc found on PATH, in CUDA_HOME, or in the standard prefix; CUDA=0
# turns it off. The toolkit root is the first of CUDA_HOME, /usr/local/cuda and
# the folder above nvcc that holds cuda_runtime_api.h: an nvcc on PATH may be a
# wrapper script (/usr/local/bin/nvcc), whose folder holds no CUDA headers.
# nvcc without the headers beside it builds CPU-only, with a warning.
CUDA ?= auto
NVCC_ON_PATH := $(shell command -v nvcc 2>/dev/null)
CUDA_ROOT ?= $(patsubst %/include/cuda_runtime_api.h,%,$(firstword $(wildcard \
  $(if $(CUDA_HOME),$(CUDA_HOME)/include/cuda_runtime_api.h) \
  /usr/local/cuda/include/cuda_runtime_api.h \
  $(if $(NVCC_ON_PATH),$(abspath $(dir $(realpath $(NVCC_ON_PATH)))/..)/include/cuda_runtime_api.h))))
# Last resort: ask nvcc where its toolkit is (the TOP= line of a dry run).
ifeq ($(strip $(CUDA_ROOT)),)
ifneq ($(strip $(NVCC_ON_PATH)),)
CUDA_ROOT := $(patsubst %/include/cuda_runtime_api.h,%,$(firstword $(wildcard $(abspath $(shell \
  $(NVCC_ON_PATH) --dryrun -E -x cu /dev/null 2>&1 | sed -n 's/^\#\$$ TOP=//p'))/include/cuda_runtime_api.h)))
endif
endif
NVCC ?= $(firstword $(wildcard $(CUDA_ROOT)/bin/nvcc) $(NVCC_ON_PATH))
CUDA_SRC := $(wildcard kernels/*.cu)
ifeq ($(CUDA),0)
USE_CUDA := 0
else ifeq ($(strip $(CUDA_SRC)),)
USE_CUDA := 0
else ifeq ($(strip $(NVCC)),)
USE_CUDA := 0
else ifeq ($(strip $(CUDA_ROOT)),)
USE_CUDA := 0
$(warning nvcc found at $(NVCC) but no CUDA headers (cuda_runtime_api.h) beside it or in CUDA_HOME: building CPU-only)
else
USE_CUDA := 1
endif
ifeq ($(USE_CUDA),1)
CUDA_ARCH    ?= -gencode arch=compute_90,code=sm_90 -gencode arch=compute_75,code=compute_75
NVCCFLAGS    ?= -O2 -std=c++17 $(CUDA_ARCH) -Xcompiler -Wall
CPPFLAGS_ALL += -DORFEAS_CUDA=1 -I$(CUDA_ROOT)/include
LDLIBS_ALL   += -L$(CUDA_ROOT)/lib64 -L$(CUDA_ROOT)/targets/x86_64-linux/lib -lcudart_static -lrt
CUDA_OBJ     := $(patsubst kernels/%.cu,$(BUILD)/obj/kernels/%.o,$(CUDA_SRC))
else
CUDA_OBJ     :=
endif

LIB_SRC  := $(wildcard lib/*.c)
LIB_OBJ  := $(patsubst lib/%.c,$(BUILD)/obj/lib/%.o,$(LIB_SRC))
LIB      := $(BUILD)/liborfeas.a
PROGS    := $(patsubst cmd/%.c,$(BUILD)/bin/%,$(wildcard cmd/*.c))
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNITS    := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))
TOOL_SRC := $(wildcard tests/tools/*.c)
TOOLS    := $(patsubst tests/tools/%.c,$(BUILD)/tests/tools/%,$(TOOL_SRC))
MAN1     := $(wildcard man/*.1)
MAN7     := $(wildcard man/*.7)
# the batch and cron scripts go to bin/; the Slurm example to share/orfeas/
SCRIPTS  := scripts/orfeas-batch scripts/orfeas-prune-cron
EXAMPLES := scripts/orfeas-batch.slurm

.SECONDARY:

# Objects depend on the flags they were built with: a change of CUDA, SAN, OPT
# or WERROR rebuilds everything instead of mixing old and new objects (so
# `make check` after `make demo` compiles everything again with -Werror).
FLAGS_STAMP := $(BUILD)/.flags
FLAGS_NOW   := $(CC) $(CPPFLAGS_ALL) $(CFLAGS_ALL) $(LDLIBS_ALL) $(USE_CUDA)
$(shell mkdir -p $(BUILD); [ "$$(cat $(FLAGS_STAMP) 2>/dev/null)" = '$(subst ','\'',$(FLAGS_NOW))' ] || printf '%s' '$(subst ','\'',$(FLAGS_NOW))' > $(FLAGS_STAMP))
.PHONY: all check test asan demo bench install uninstall clean deps fuzz soak gallery check-gpu bench-gpu
all: $(PROGS) $(UNITS) $(TOOLS)

$(BUILD)/obj/lib/%.o: lib/%.c $(FLAGS_STAMP)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS_ALL) $(CFLAGS_ALL) -c $< -o $@

$(BUILD)/obj/kernels/%.o: kernels/%.cu $(FLAGS_STAMP)
	@mkdir -p $(@D)
	$(NVCC) $(NVCCFLAGS) -Ilib -Ikernels -DORFEAS_CUDA=1 -c $< -o $@

$(LIB): $(LIB_OBJ) $(CUDA_OBJ)
	@mkdir -p $(@D)
	rm -f $@
	ar rcs $@ $^

$(BUILD)/obj/cmd/%.o: cmd/%.c $(FLAGS_STAMP)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS_ALL) $(CFLAGS_ALL) -c $< -o $@

$(BUILD)/bin/%: $(BUILD)/obj/cmd/%.o $(LIB)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) $< $(LIB) $(LDLIBS_ALL) -o $@

$(BUILD)/obj/tests/%.o: tests/unit/%.c $(FLAGS_STAMP)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS_ALL) -Itests/unit $(CFLAGS_ALL) -c $< -o $@

$(BUILD)/tests/%: $(BUILD)/obj/tests/%.o $(LIB)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) $< $(LIB) $(LDLIBS_ALL) -o $@

$(BUILD)/obj/tools/%.o: tests/tools/%.c $(FLAGS_STAMP)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS_ALL) $(CFLAGS_ALL) -c $< -o $@

$(BUILD)/tests/tools/%: $(BUILD)/obj/tools/%.o $(LIB)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) $< $(LIB) $(LDLIBS_ALL) -o $@

# Fuzz targets: tests/fuzz/fuzz_NAME.c. The normal build links each with a
# replay main (build/tests/fuzz/fuzz_NAME FILE...); `make fuzz` builds them with
# clang and libFuzzer into build-fuzz/ and runs every one for FUZZ_SECONDS, from
# its seeds (tests/fuzz/corpus/NAME), its past findings (tests/fuzz/regress/NAME)
# and what earlier runs kept (build-fuzz/corpus/NAME). A crash, a leak, an input
# slower than FUZZ_TIMEOUT seconds, one over FUZZ_RSS_MB, or undefined behaviour
# (UBSan stops at the first report) is written to
# tests/fuzz/regress/NAME/ (which `make check` replays), the log's tail is
# shown, and the other targets still run; make fails at the end, naming the
# targets that found something.
FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_REPLAY := $(patsubst tests/fuzz/%.c,$(BUILD)/tests/fuzz/%,$(FUZZ_SRC))
all: $(FUZZ_REPLAY)

$(BUILD)/tests/fuzz/%: tests/fuzz/%.c tests/fuzz/replay.c $(LIB)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS_ALL) $(CFLAGS_ALL) $< tests/fuzz/replay.c $(LIB) $(LDLIBS_ALL) -o $@

# The libFuzzer binaries, built by make fuzz's sub-make (BUILD=build-fuzz,
# CC=clang, CUDA=0, the lib instrumented for coverage and sanitisers).
$(BUILD)/fuzz_%: tests/fuzz/fuzz_%.c $(LIB)
	$(CC) $(CPPFLAGS_ALL) -std=c11 -O1 -g -fopenmp -fsanitize=fuzzer,address,undefined \
	    -fno-sanitize-recover=undefined $< $(LIB) \
	    $(LDLIBS_ALL) -o $@

FUZZ_SECONDS ?= 60
FUZZ_TIMEOUT ?= 60
FUZZ_RSS_MB  ?= 2048
FUZZ_CC ?= clang
fuzz:
	ORFEAS_EXTRA_PACKAGES="clang libclang-rt-14-dev" scripts/install-deps
	$(MAKE) BUILD=build-fuzz CC=$(FUZZ_CC) CUDA=0 OPT="-O1 -g" \
	    SAN="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer" \
	    $(patsubst tests/fuzz/%.c,build-fuzz/%,$(FUZZ_SRC))
	@failed=; \
	for src in $(FUZZ_SRC); do \
	    t=$$(basename $$src .c); n=$${t#fuzz_}; \
	    mkdir -p build-fuzz/corpus/$$n tests/fuzz/regress/$$n; \
	    echo "fuzz: $$t for $(FUZZ_SECONDS) s"; \
	    if ASAN_OPTIONS=detect_leaks=1 build-fuzz/$$t -max_total_time=$(FUZZ_SECONDS) -max_len=65536 \
	        -timeout=$(FUZZ_TIMEOUT) -rss_limit_mb=$(FUZZ_RSS_MB) -artifact_prefix=tests/fuzz/regress/$$n/ \
	        build-fuzz/corpus/$$n tests/fuzz/corpus/$$n tests/fuzz/regress/$$n 2>build-fuzz/$$t.log; then \
	        tail -1 build-fuzz/$$t.log; \
	    else \
	        tail -30 build-fuzz/$$t.log; failed="$$failed $$t"; \
	    fi; \
	done; \
	if [ -n "$$failed" ]; then \
	    echo "fuzz: found something:$$failed (inputs in tests/fuzz/regress/, logs in build-fuzz/)"; exit 1; \
	fi; \
	echo "fuzz: $(words $(FUZZ_SRC)) targets, $(FUZZ_SECONDS) s each, nothing found"

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)

deps:
	scripts/install-deps

# The one test command (README, .ci/run): install what is missing, build with
# warnings as errors, build again with AddressSanitizer + UBSan (LeakSanitizer
# included), and run every test against both builds.
ASAN_BUILD := build-asan
ASAN_FLAGS := BUILD=$(ASAN_BUILD) CUDA=0 WERROR=1 OPT="-O1 -g" \
    SAN="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined"
check: deps
	$(MAKE) all WERROR=1
	$(MAKE) all $(ASAN_FLAGS)
	tests/run $(BUILD) $(ASAN_BUILD)

# Tests only, on what is built.
test: all
	tests/run $(BUILD)

# The sanitizer build alone.
asan: deps
	$(MAKE) all $(ASAN_FLAGS)
	tests/run $(ASAN_BUILD)

demo: deps all
	scripts/demo $(BUILD)

# The README's gallery: samples/*.png through the pipeline into docs/gallery/.
gallery: all
	scripts/gallery $(BUILD)

# Crash safety: writers, readers and prune on one cache, SIGKILLed at random,
# then verify (scripts/soak). Not part of check.
SOAK_SECONDS ?= 60
soak: all
	scripts/soak $(BUILD) $(SOAK_SECONDS)

bench: all
	scripts/bench/install-baseline-deps -q || echo "bench: the Python anchors cannot be installed here; their ratios are skipped"
	scripts/bench/run $(BUILD)

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man7 $(DESTDIR)$(COMPDIR) $(DESTDIR)$(DATADIR)
	install -m 0755 $(PROGS) $(SCRIPTS) $(DESTDIR)$(BINDIR)/
	install -m 0644 $(EXAMPLES) $(DESTDIR)$(DATADIR)/
	$(if $(MAN1),install -m 0644 $(MAN1) $(DESTDIR)$(MANDIR)/man1/)
	$(if $(MAN7),install -m 0644 $(MAN7) $(DESTDIR)$(MANDIR)/man7/)
	for p in $(notdir $(PROGS) $(SCRIPTS)); do install -m 0644 scripts/completion/orfeas.bash $(DESTDIR)$(COMPDIR)/$$p; done

uninstall:
	rm -f $(addprefix $(DESTDIR)$(BINDIR)/,$(notdir $(PROGS) $(SCRIPTS)))
	rm -f $(addprefix $(DESTDIR)$(DATADIR)/,$(notdir $(EXAMPLES)))
	rm -f $(addprefix $(DESTDIR)$(MANDIR)/man1/,$(notdir $(MAN1)))
	rm -f $(addprefix $(DESTDIR)$(MANDIR)/man7/,$(notdir $(MAN7)))
	rm -f $(addprefix $(DESTDIR)$(COMPDIR)/,$(notdir $(PROGS) $(SCRIPTS)))
	-rmdir $(DESTDIR)$(DATADIR) 2>/dev/null || true
	@# into a DESTDIR (a staging tree), the folders install made go too when
	@# empty; the system's own bin/ and share/ are never removed
	-[ -z "$(DESTDIR)" ] || find "$(DESTDIR)" -depth -mindepth 1 -type d -empty -delete

clean:
	rm -rf build build-asan build-fuzz

# ---- mock NVML for the gpu-stats tests (lib/device owner) -------------------
# A shared library the tests load through ORFEAS_NVML_LIBRARY, so gpu-stats and
# lib/device are covered on machines without a GPU. Its source lives in
# tests/tools/mock_nvml/, outside the tests/tools/*.c glob (that one builds
# executables). libmock-nvml-min.so is the same mock built with
# -DMOCK_NVML_MINIMAL: an "old driver" lacking most entry points.
MOCK_NVML_SRC := $(wildcard tests/tools/mock_nvml/*.c)
MOCK_NVML     := $(if $(MOCK_NVML_SRC),$(BUILD)/tests/tools/libmock-nvml.so $(BUILD)/tests/tools/libmock-nvml-min.so)
all: $(MOCK_NVML)
$(BUILD)/tests/tools/libmock-nvml.so: $(MOCK_NVML_SRC)
	@mkdir -p $(@D)
	$(CC) -std=c11 $(OPT) $(WARN) -shared -fPIC $(MOCK_NVML_SRC) -o $@
$(BUILD)/tests/tools/libmock-nvml-min.so: $(MOCK_NVML_SRC)
	@mkdir -p $(@D)
	$(CC) -std=c11 $(OPT) $(WARN) -DMOCK_NVML_MINIMAL -shared -fPIC $(MOCK_NVML_SRC) -o $@

# ---- CUDA kernels: parity suite and GPU benchmark (kernels/ owner) ----------
# The kernels are compiled with --fmad=false so their float arithmetic rounds
# as the CPU path's does and the parity suite can compare meshes array for
# array. `make check-gpu`: the parity suite (every stage on both backends; it
# reports skips without a device, and fails then when ORFEAS_REQUIRE_GPU=1),
# then the same under compute-sanitizer memcheck when that tool is found.
# `make bench-gpu`: scripts/bench/gpu.sh (kernels, render, decimation) and
# scripts/bench/gpu-pipeline.sh (issue 17: stages per backend, first record,
# batch images a second). scripts/gpu-session runs both on a
# GPU machine and keeps the logs.
override NVCCFLAGS += --fmad=false
COMPUTE_SANITIZER ?= $(firstword $(shell command -v compute-sanitizer 2>/dev/null) $(wildcard $(CUDA_ROOT)/bin/compute-sanitizer))
check-gpu: all
	$(BUILD)/tests/test_cuda_parity
	$(if $(COMPUTE_SANITIZER),$(COMPUTE_SANITIZER) --tool memcheck --leak-check full --error-exitcode 1 $(BUILD)/tests/test_cuda_parity,@echo "check-gpu: compute-sanitizer not found, memcheck skipped")
bench-gpu: all
	scripts/bench/gpu.sh $(BUILD)
	scripts/bench/gpu-pipeline.sh $(BUILD)
