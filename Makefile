# Osprey build. `make` builds bin/osprey; `make run` and `make test` are the two user commands.
PKGS      := libuv libnghttp2 libzstd zlib libxxhash snappy yaml-0.1 nettle libcurl
CC        ?= cc
CFLAGS    ?= -O2 -g
WARN      := -Wall -Wextra -Wshadow -Wno-unused-parameter -Wmissing-prototypes -Wstrict-prototypes
ifeq ($(WERROR),1)
WARN += -Werror
endif
BASEFLAGS := -std=gnu17 -pthread -D_GNU_SOURCE -Isrc -Isdk/include $(WARN) $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
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
# libosprey (sdk/): its own sources plus the modules it shares with the server (buffers,
# protobuf, gzip, Prometheus names), built position-independent with only the public
# osprey_* symbols visible.
SDK_SRC  := $(shell find sdk/src -name '*.c' 2>/dev/null | sort)
SDK_CORE := src/core/buf.c src/core/err.c src/core/gzip.c src/core/mem.c src/core/pb.c src/core/str.c \
            src/model/prom_names.c
SDK_OBJ  := $(SDK_SRC:%.c=$(BUILD)/%.o)
SDK_PIC  := $(SDK_CORE:%.c=$(BUILD)/sdk-core/%.o)
SDK_FLAGS := -Isdk/include -Isdk/src -fPIC -fvisibility=hidden
SDK_LIBS := $(shell pkg-config --libs libcurl zlib 2>/dev/null) -ldl -pthread
SDK_OUT  := $(BUILD)/sdk
SDK_A    := $(SDK_OUT)/libosprey.a
SDK_SO   := $(SDK_OUT)/libosprey.so

TEST_SRC := $(shell find tests/unit -name '*.c' 2>/dev/null | sort)
TEST_BIN := $(TEST_SRC:tests/unit/%.c=$(BUILD)/tests/%)
BIN      := $(if $(filter 1,$(SAN)),$(BUILD)/osprey,bin/osprey)

.PHONY: all deps run test unit unit-build e2e fuzz fuzz-build bench clean format sdk console
all: $(BIN) sdk

sdk: $(SDK_A) $(SDK_SO) $(SDK_OUT)/osprey.pc

deps:
	@scripts/deps.sh build

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(BASEFLAGS) $(CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/sdk/%.o: sdk/%.c
	@mkdir -p $(dir $@)
	$(CC) $(BASEFLAGS) $(SDK_FLAGS) $(CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/sdk-core/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(BASEFLAGS) $(SDK_FLAGS) $(CFLAGS) -MMD -MP -c $< -o $@

$(SDK_A): $(SDK_OBJ) $(SDK_PIC)
	@mkdir -p $(dir $@)
	@rm -f $@
	ar rcs $@ $^

# libosprey.so.0 (its soname) and the libosprey.so link that -losprey finds.
$(SDK_SO).0: $(SDK_OBJ) $(SDK_PIC)
	@mkdir -p $(dir $@)
	$(CC) -shared -Wl,-soname,libosprey.so.0 -Wl,--no-undefined $(CFLAGS) $(LDSAN) -o $@ $^ $(SDK_LIBS)

$(SDK_SO): $(SDK_SO).0
	ln -sf libosprey.so.0 $@

$(SDK_OUT)/osprey.pc: sdk/osprey.pc.in
	@mkdir -p $(dir $@)
	sed -e 's|@LIBDIR@|$(abspath $(SDK_OUT))|' -e 's|@INCLUDEDIR@|$(abspath sdk/include)|' -e 's|@VERSION@|$(shell sed -n 's/^#define OSPREY_VERSION "\(.*\)"/\1/p' sdk/include/osprey/osprey.h)|' $< > $@

# The built-in price table is the shipped file itself, embedded by an .incbin.
$(BUILD)/src/analytics/pricing.o: config/prices.yaml

# The web console (see docs/console.md): npm packages as console/package-lock.json pins
# them, installed again only when the lockfile is newer than the last install; a Vite build
# into console/dist whenever an input changed (directories listed too, for added and removed
# files); its files embedded into the server by a generated table (src/api/console.h).
CONSOLE_IN   := $(shell find console/src console/public 2>/dev/null) console/index.html \
                console/vite.config.ts console/tsconfig.json console/package-lock.json
CONSOLE_NPM  := console/node_modules/.package-lock.json
CONSOLE_DIST := console/dist/index.html
CONSOLE_OBJ  := $(BUILD)/console/files.o

console: $(CONSOLE_DIST)

$(CONSOLE_NPM): console/package-lock.json
	cd console && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

$(CONSOLE_DIST): $(CONSOLE_IN) $(CONSOLE_NPM)
	@v=$$(node -p 'process.versions.node.split(".").map(Number).reduce((a, b) => a * 1000 + b)'); \
	[ "$$v" -ge 20019000 ] && { [ "$$v" -lt 21000000 ] || [ "$$v" -ge 22012000 ]; } || \
	    { echo "the console build (Vite) needs Node.js 20.19+ or 22.12+, not $$(node --version)" >&2; exit 1; }
	cd console && npx vite build
	@touch $@

# files.c is rewritten only when the build's files changed (the stamp records the run), so
# a Vite build that gives the same files relinks nothing.
$(BUILD)/console/stamp: $(CONSOLE_DIST) scripts/embed-console.sh
	scripts/embed-console.sh console/dist $(BUILD)/console
	@touch $@

$(BUILD)/console/files.c: $(BUILD)/console/stamp
	@test -f $@ || scripts/embed-console.sh console/dist $(BUILD)/console

$(CONSOLE_OBJ): $(BUILD)/console/files.c
	$(CC) $(BASEFLAGS) $(CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/libosprey-server.a: $(LIB_OBJ) $(CONSOLE_OBJ)
	@rm -f $@
	ar rcs $@ $^

# The binary carries libosprey for `osprey demo` (src/demo), whose services use it.
$(BIN): $(BUILD)/src/main.o $(BUILD)/libosprey-server.a $(SDK_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDSAN) -o $@ $(BUILD)/src/main.o $(BUILD)/libosprey-server.a $(SDK_OBJ) $(BUILD)/libosprey-server.a $(LIBS) -ldl

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libosprey-server.a tests/unit/testutil.h
	@mkdir -p $(dir $@)
	$(CC) $(BASEFLAGS) -Itests/unit $(CFLAGS) $(LDSAN) -MMD -MP -MF $@.d -o $@ $< $(BUILD)/libosprey-server.a $(LIBS) $(TESTLIBS)

# The library's tests link its objects and, for test servers, the server's modules.
$(BUILD)/tests/sdk/%: tests/unit/sdk/%.c $(SDK_OBJ) $(BUILD)/libosprey-server.a tests/unit/testutil.h
	@mkdir -p $(dir $@)
	$(CC) $(BASEFLAGS) $(SDK_FLAGS) -Itests/unit $(CFLAGS) $(LDSAN) -MMD -MP -MF $@.d -o $@ $< $(SDK_OBJ) $(BUILD)/libosprey-server.a $(LIBS) -ldl $(TESTLIBS)

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
	@$(MAKE) --no-print-directory -O -f fuzz/Makefile run FUZZ_SECONDS=$${FUZZ_SECONDS:-300}

bench: all
	@$(MAKE) --no-print-directory -C bench run

format:
	clang-format -i $$(find src sdk tests/unit fuzz bench -name '*.[ch]')

clean:
	rm -rf build bin console/dist

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
