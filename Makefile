# Osprey build. `make` builds bin/osprey; `make run` and `make test` are the two user commands.
PKGS      := libuv libnghttp2 libzstd zlib libxxhash snappy yaml-0.1 nettle libcurl
CC        ?= cc
CFLAGS    ?= -O2 -g
WARN      := -Wall -Wextra -Wshadow -Wno-unused-parameter -Wmissing-prototypes -Wstrict-prototypes
ifeq ($(WERROR),1)
WARN += -Werror
endif
BASEFLAGS := -std=gnu17 -pthread -D_GNU_SOURCE -Isrc $(WARN) $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LIBS      := $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lm -pthread
TESTLIBS  := $(shell pkg-config --libs cmocka 2>/dev/null)

BUILD ?= build/release
ifeq ($(SAN),1)
BUILD    := build/asan
CFLAGS   := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
LDSAN    := -fsanitize=address,undefined
endif

LIB_SRC  := $(shell find src -name '*.c' ! -path src/main.c | sort)
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o)
TEST_SRC := $(shell find tests/unit -name '*.c' 2>/dev/null | sort)
TEST_BIN := $(TEST_SRC:tests/unit/%.c=$(BUILD)/tests/%)
BIN      := $(if $(filter 1,$(SAN)),$(BUILD)/osprey,bin/osprey)

.PHONY: all deps run test unit unit-build e2e fuzz fuzz-build bench clean format
all: $(BIN)

deps:
	@scripts/deps.sh build

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(BASEFLAGS) $(CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/libosprey-server.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BIN): $(BUILD)/src/main.o $(BUILD)/libosprey-server.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDSAN) -o $@ $^ $(LIBS)

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libosprey-server.a tests/unit/testutil.h
	@mkdir -p $(dir $@)
	$(CC) $(BASEFLAGS) -Itests/unit $(CFLAGS) $(LDSAN) -MMD -MP -MF $@.d -o $@ $< $(BUILD)/libosprey-server.a $(LIBS) $(TESTLIBS)

unit-build: $(TEST_BIN)

unit: $(TEST_BIN)
	@scripts/run-unit.sh $(TEST_BIN)

run: deps
	@$(MAKE) --no-print-directory all
	@scripts/run.sh

test: deps
	@scripts/test.sh

e2e: all
	@scripts/e2e.sh

fuzz-build:
	@$(MAKE) --no-print-directory -f fuzz/Makefile build

fuzz: fuzz-build
	@$(MAKE) --no-print-directory -f fuzz/Makefile run FUZZ_SECONDS=$${FUZZ_SECONDS:-300}

bench: all
	@$(MAKE) --no-print-directory -C bench run

format:
	clang-format -i $$(find src tests/unit fuzz bench -name '*.[ch]')

clean:
	rm -rf build bin

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
