# tracelite — build, test and demo.  `make demo` and `make test` are the two
# commands of README.md; both install missing Debian packages first when run
# as root (see the deps target).
#
# Layout: every .c under ext/ goes into tracelite.so.  The SQLite glue
# (ext/tracelite.c, ext/vtab/*.c and any *_sql.c) is the only code that
# includes sqlite3ext.h; everything else is plain C that the unit tests and
# fuzzers link without SQLite (build/libtl.a).

CC       ?= cc
PREFIX   ?= /usr/local
DESTDIR  ?=
BUILD    ?= build
SAN      ?=
PKGS     := sqlite3 libzstd libcbor jansson zlib
CFLAGS   ?= -O2 -g
WARN     := -std=c11 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wvla
DEFS     := -D_DEFAULT_SOURCE -DTRACELITE_BUILD_FLAGS='"$(strip $(CFLAGS) $(SAN))"'
ALL_CFLAGS = $(WARN) $(DEFS) $(CFLAGS) $(SAN) -fPIC -fvisibility=hidden \
             $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LIBS      = -lzstd -lcbor -ljansson -lz -ldeflate -lm

ALL_SRC  := $(filter-out ext/cli/%,$(sort $(wildcard ext/*.c ext/*/*.c)))
GLUE_SRC := $(filter ext/tracelite.c ext/vtab/%.c %_sql.c,$(ALL_SRC))
CORE_SRC := $(filter-out $(GLUE_SRC),$(ALL_SRC))
CORE_OBJ := $(CORE_SRC:%.c=$(BUILD)/%.o)
GLUE_OBJ := $(GLUE_SRC:%.c=$(BUILD)/%.o)
UNIT_SRC := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
FUZZ_SRC := $(sort $(wildcard tests/fuzz/fuzz_*.c))
REPLAY_BIN := $(FUZZ_SRC:tests/fuzz/%.c=$(BUILD)/replay/%)

SO       := $(BUILD)/tracelite.so
TRACEGEN := $(BUILD)/tracegen

.PHONY: all deps test asan fuzz bench demo install clean check-unit
# The default build's extension is also copied to the top level so
# `.load ./tracelite` works from the repository root, as README.md shows;
# sanitizer builds (BUILD=build-asan) are not.
TOP_SO := $(if $(filter build,$(BUILD)),tracelite.so)
all: deps $(SO) $(TOP_SO) $(TRACEGEN)

tracelite.so: $(SO)
	cp $< $@

$(BUILD)/%.o: %.c $(wildcard ext/*.h ext/*/*.h) | $(BUILD)/.deps
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(BUILD)/.dirs:
	@mkdir -p $(BUILD) && touch $@

$(BUILD)/libtl.a: $(CORE_OBJ)
	rm -f $@ && ar rcs $@ $^

$(SO): $(CORE_OBJ) $(GLUE_OBJ)
	$(CC) $(ALL_CFLAGS) -shared -o $@ $^ $(LIBS)

$(TRACEGEN): ext/cli/tracegen.c $(BUILD)/libtl.a
	$(CC) $(ALL_CFLAGS) -o $@ $< $(BUILD)/libtl.a $(LIBS)

$(BUILD)/tests/%: tests/unit/%.c tests/unit/unit.h $(BUILD)/libtl.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(BUILD)/libtl.a $(LIBS)

# Fuzz targets double as corpus-replay programs: without libFuzzer they are
# linked with tests/fuzz/replay.c, which feeds them every file of their
# corpus in testdata/fuzz/<target>/.
$(BUILD)/replay/%: tests/fuzz/%.c tests/fuzz/replay.c $(wildcard tests/fuzz/*.h) $(BUILD)/libtl.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< tests/fuzz/replay.c $(BUILD)/libtl.a $(LIBS)

check-unit: $(UNIT_BIN) $(REPLAY_BIN) $(BUILD)/locale/de_DE.UTF-8

# A comma-decimal locale for the test that doubles are written and read with
# '.' whatever LC_NUMERIC a host process sets (tests/unit/test_span.c).
$(BUILD)/locale/de_DE.UTF-8: | $(BUILD)/.deps
	@mkdir -p $(BUILD)/locale
	localedef -i de_DE -f UTF-8 $@ 2>/dev/null || test -d $@

test: all check-unit
	BUILD=$(BUILD) bash tests/run.sh

# The same tests with AddressSanitizer and UBSan, in a separate build tree
# (ASAN_BUILD, so that two checkouts' runs need not share one).
ASAN_BUILD ?= build-asan
asan:
	$(MAKE) test BUILD=$(ASAN_BUILD) CC=gcc CFLAGS="-O1 -g" \
	  SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"

# libFuzzer needs clang; each target runs for FUZZ_SECONDS.
FUZZ_SECONDS ?= 60
fuzz: deps
	$(MAKE) $(BUILD)/libtl.a BUILD=build-fuzz CC=clang CFLAGS="-O1 -g" \
	  SAN="-fsanitize=fuzzer-no-link,address,undefined"
	@mkdir -p build-fuzz/fuzz
	@for f in $(FUZZ_SRC); do \
	  t=$$(basename $$f .c); \
	  clang $(WARN) $(DEFS) -O1 -g -fsanitize=fuzzer,address,undefined \
	    $$(pkg-config --cflags $(PKGS)) -o build-fuzz/fuzz/$$t $$f build-fuzz/libtl.a $(LIBS) || exit 1; \
	  mkdir -p build-fuzz/corpus/$$t; \
	  echo "== $$t ($(FUZZ_SECONDS)s)"; \
	  build-fuzz/fuzz/$$t -max_total_time=$(FUZZ_SECONDS) -max_len=65536 \
	    build-fuzz/corpus/$$t testdata/fuzz/$$t || exit 1; \
	done

# make bench's SQLite client (tests/select_star.c): links the system SQLite,
# as an application embedding it would.
$(BUILD)/select_star: tests/select_star.c | $(BUILD)/.deps
	$(CC) $(WARN) $(DEFS) $(CFLAGS) -o $@ $< -lsqlite3

bench: all $(BUILD)/select_star
	BUILD=$(BUILD) bash tests/bench.sh

demo: all
	BUILD=$(BUILD) bash tests/demo.sh

install: all
	install -d $(DESTDIR)$(PREFIX)/lib/tracelite $(DESTDIR)$(PREFIX)/bin
	install -m 0644 $(SO) $(DESTDIR)$(PREFIX)/lib/tracelite/tracelite.so
	install -m 0755 $(TRACEGEN) $(DESTDIR)$(PREFIX)/bin/tracegen

clean:
	rm -rf build build-asan build-fuzz tracelite.so

# Installs what is missing on Debian when run as root; otherwise names the
# packages to install.  Checked once per build tree.
DEB_PKGS := gcc make pkg-config sqlite3 libsqlite3-dev libzstd-dev libcbor-dev \
            libjansson-dev zlib1g-dev libdeflate-dev zstd gzip python3 locales bc
deps: $(BUILD)/.deps
$(BUILD)/.deps: | $(BUILD)/.dirs
	@missing=""; \
	for p in $(DEB_PKGS); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null || exit 1; \
	  else \
	    echo "tracelite needs these Debian packages: sudo apt-get install$$missing" >&2; exit 1; \
	  fi; \
	fi; \
	touch $@
