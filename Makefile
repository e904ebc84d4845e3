# smtpd: see README.md.  `make` builds ./smtpd; `make check` runs every test.
CC ?= cc
CFLAGS ?= -O2 -g
WARN = -std=c11 -D_POSIX_C_SOURCE=200809L -Wall -Wextra -Wshadow \
	-Wstrict-prototypes -Wmissing-prototypes -Wpointer-arith -Wvla
SAN = -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all \
	-fno-omit-frame-pointer
PREFIX ?= /usr/local
DESTDIR ?=
PORT ?= 2525
VERSION = 0.1.0

PROTO_SRC = $(sort $(wildcard proto/*.c))
# The engine, proto/, is a library: libsmtpproto.a and the headers a
# program that embeds it includes (smtp.h and what it includes; proxy.h
# for PROXY).  ascii.h and session.h stay private.  One build per set of
# flags: the production one (installed), the sanitizer one (tests).
PROTO_PUBLIC_HDR = proto/smtp.h proto/address.h proto/body.h \
	proto/limits.h proto/reply.h proto/proxy.h
PROTO_LIB = build/libsmtpproto.a
PROTO_LIB_ASAN = build/asan/libsmtpproto.a
LIB_SRC = $(sort $(wildcard lib/*.c))
AUTH_SRC = $(sort $(wildcard auth/*.c))
DELIVER_SRC = $(sort $(wildcard deliver/*.c))
# What smtpd and the tests link besides the engine (proto/) and smtpd.c.
SUPPORT_SRC = $(LIB_SRC) $(AUTH_SRC) $(DELIVER_SRC)
SRC = smtpd.c $(PROTO_SRC) $(SUPPORT_SRC)
# What smtpd links besides the engine library.  smtpd.c last: the linker
# lays out .bss in this order, and the small state of lib/ and deliver/
# then shares its first page instead of following smtpd.c's session state
# (struct runtime), where a page of its own would be a fault per session.
SMTPD_SRC = $(SUPPORT_SRC) smtpd.c
HDR = $(wildcard proto/*.h lib/*.h auth/*.h deliver/*.h)
UNIT_SRC = $(sort $(wildcard tests/unit/test_*.c))

# The production build, ./smtpd: linked statically with musl when
# musl-gcc is there (Debian: musl-tools) and CC was not chosen, because a
# program started once per connection spends most of a short session in
# exec, the dynamic loader and page faults; otherwise $(CC), dynamic, as
# smtpd-glibc.  The sanitizer and valgrind builds stay on $(CC) (glibc).
MUSL_GCC := $(shell command -v musl-gcc 2>/dev/null)
# The dynamic builds bind every symbol at start, with full RELRO: lazily
# bound, a C library function's first call goes through the dynamic
# linker's trampoline, which saves the vector registers on the stack, and
# with them the last octets a memcpy moved, a split AUTH line's among them
# (tests/auth.bats looks for secrets in smtpd's memory).
BIND_NOW = -Wl,-z,relro -Wl,-z,now
ifeq ($(origin CC)$(if $(MUSL_GCC),musl),defaultmusl)
PROD_CC = $(MUSL_GCC)
PROD_LDFLAGS = -static
else
PROD_CC = $(CC)
PROD_LDFLAGS = $(BIND_NOW)
endif

all: smtpd

build/proto/%.o: proto/%.c $(wildcard proto/*.h)
	@mkdir -p build/proto
	$(PROD_CC) $(WARN) $(CFLAGS) -c -o $@ $<

build/asan/proto/%.o: proto/%.c $(wildcard proto/*.h)
	@mkdir -p build/asan/proto
	$(CC) $(WARN) -Werror $(SAN) -c -o $@ $<

$(PROTO_LIB): $(patsubst proto/%.c,build/proto/%.o,$(PROTO_SRC))
	rm -f $@
	$(AR) rcs $@ $^

$(PROTO_LIB_ASAN): $(patsubst proto/%.c,build/asan/proto/%.o,$(PROTO_SRC))
	rm -f $@
	$(AR) rcs $@ $^

smtpd: $(SMTPD_SRC) $(HDR) $(PROTO_LIB)
	$(PROD_CC) $(WARN) $(CFLAGS) -DSMTPD_VERSION='"$(VERSION)"' -o $@ $(SMTPD_SRC) $(PROTO_LIB) $(PROD_LDFLAGS) $(LDFLAGS)

# The glibc builds: dynamic (the fallback, and what `make` built before)
# and static.
smtpd-glibc: $(SRC) $(HDR)
	$(CC) $(WARN) $(CFLAGS) -DSMTPD_VERSION='"$(VERSION)"' -o $@ $(SRC) $(BIND_NOW) $(LDFLAGS)

smtpd-static: $(SRC) $(HDR)
	$(CC) $(WARN) $(CFLAGS) -static -DSMTPD_VERSION='"$(VERSION)"' -o $@ $(SRC)

# The sanitizer build the test suite runs.
build/asan/smtpd: $(SMTPD_SRC) $(HDR) $(PROTO_LIB_ASAN)
	@mkdir -p build/asan
	$(CC) $(WARN) -Werror $(SAN) -DSMTPD_VERSION='"$(VERSION)"' -o $@ $(SMTPD_SRC) $(PROTO_LIB_ASAN) $(BIND_NOW)

build/werror/smtpd: $(SRC) $(HDR)
	@mkdir -p build/werror
	$(CC) $(WARN) -Werror -O2 -DSMTPD_VERSION='"$(VERSION)"' -o $@ $(SRC)
	@if command -v clang >/dev/null 2>&1; then \
		echo "clang -Werror"; \
		clang $(WARN) -Werror -O2 -DSMTPD_VERSION='"$(VERSION)"' -o $@.clang $(SRC) || exit 1; \
	fi
	@if [ -n "$(MUSL_GCC)" ]; then \
		echo "musl-gcc -static -Werror"; \
		$(MUSL_GCC) $(WARN) -Werror -O2 -static -DSMTPD_VERSION='"$(VERSION)"' -o $@.musl $(SRC) || exit 1; \
	fi

build/unit/%: tests/unit/%.c $(SUPPORT_SRC) $(HDR) tests/unit/tap.h $(PROTO_LIB_ASAN)
	@mkdir -p build/unit
	$(CC) $(WARN) -Werror $(SAN) -o $@ $< $(SUPPORT_SRC) $(PROTO_LIB_ASAN)

# lib/ again without the Linux system calls (pidfd, close_range, pipe2):
# the fallbacks other systems run.
build/unit/test_spawn_portable: tests/unit/test_spawn.c $(SUPPORT_SRC) $(HDR) tests/unit/tap.h $(PROTO_LIB_ASAN)
	@mkdir -p build/unit
	$(CC) $(WARN) -Werror $(SAN) -DSMTPD_PORTABLE -o $@ $< $(SUPPORT_SRC) $(PROTO_LIB_ASAN)

build/embed: examples/embed.c $(HDR) $(PROTO_LIB_ASAN)
	@mkdir -p build
	$(CC) $(WARN) -Werror $(SAN) -Iproto -o $@ examples/embed.c $(PROTO_LIB_ASAN)

build/fuzz-replay/%: tests/fuzz/%.c tests/fuzz/replay.c tests/fuzz/fuzz.h $(SUPPORT_SRC) $(HDR) $(PROTO_LIB_ASAN)
	@mkdir -p build/fuzz-replay
	$(CC) $(WARN) -Werror $(SAN) -o $@ $< tests/fuzz/replay.c $(SUPPORT_SRC) $(PROTO_LIB_ASAN)

UNIT_BIN = $(patsubst tests/unit/%.c,build/unit/%,$(UNIT_SRC)) \
	build/unit/test_spawn_portable
# The fuzz targets (tests/fuzz/fuzz_*.c), each replayed on its seeds;
# differential.c and diff_session.c are differential.sh's, not targets.
FUZZ_SRC = $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_REPLAY = $(patsubst tests/fuzz/%.c,build/fuzz-replay/%,$(FUZZ_SRC))

check-deps:
	@sh tests/install-deps.sh

# tlswrapper 20260501 from its unchanged release (tests/vendor/README.md):
# STARTTLS with the fd 6 acknowledgement, which Debian 12's does not have.
TLSWRAPPER_NEW = build/tlswrapper-20260501/tlswrapper
$(TLSWRAPPER_NEW): tests/vendor/tlswrapper-20260501.tar.gz
	@mkdir -p build
	rm -rf build/tlswrapper-20260501
	tar xzf tests/vendor/tlswrapper-20260501.tar.gz -C build
	$(MAKE) -C build/tlswrapper-20260501 CC=cc >build/tlswrapper-20260501.log 2>&1 || \
	    { tail -n 20 build/tlswrapper-20260501.log; exit 1; }

# Everything against the sanitizer build, then the bats suites again
# against the production build (./smtpd: musl static when it can be), so
# that nothing differs between the two; one summary line for both.
check: check-deps smtpd build/werror/smtpd build/asan/smtpd $(UNIT_BIN) build/embed $(FUZZ_REPLAY) $(TLSWRAPPER_NEW)
	@SMTPD=$(CURDIR)/build/asan/smtpd SMTPD_BATS_ALSO=$(CURDIR)/smtpd sh tests/run

# Build, then receive mail on 127.0.0.1:$(PORT) into ./Maildir.
# install-deps first: it may bring musl-gcc, which the sub-make then sees.
serve:
	@sh tests/install-deps.sh serve
	@$(MAKE) --no-print-directory smtpd
	@mkdir -p Maildir
	@echo "smtpd: listening on 127.0.0.1:$(PORT), delivering into ./Maildir (Ctrl-C stops)"
	tcpserver -v -HR -l localhost -c 20 127.0.0.1 $(PORT) ./smtpd maildir ./Maildir

fuzz:
	@sh tests/fuzz/run.sh

# The test suite once under valgrind memcheck, without sanitizers (slow).
VG_CFLAGS = $(WARN) -Werror -O1 -g
build/valgrind/smtpd: $(SRC) $(HDR)
	@mkdir -p build/valgrind
	$(CC) $(VG_CFLAGS) -DSMTPD_VERSION='"$(VERSION)"' -o $@ $(SRC) $(BIND_NOW)

build/valgrind/unit/%: tests/unit/%.c $(PROTO_SRC) $(SUPPORT_SRC) $(HDR) tests/unit/tap.h
	@mkdir -p build/valgrind/unit
	$(CC) $(VG_CFLAGS) -o $@ $< $(PROTO_SRC) $(SUPPORT_SRC)

build/valgrind/fuzz-replay/%: tests/fuzz/%.c tests/fuzz/replay.c tests/fuzz/fuzz.h $(PROTO_SRC) $(SUPPORT_SRC) $(HDR)
	@mkdir -p build/valgrind/fuzz-replay
	$(CC) $(VG_CFLAGS) -o $@ $< tests/fuzz/replay.c $(PROTO_SRC) $(SUPPORT_SRC)

check-valgrind: check-deps smtpd build/valgrind/smtpd \
    $(patsubst build/%,build/valgrind/%,$(UNIT_BIN) $(FUZZ_REPLAY))
	@sh tests/valgrind.sh

# Speed and memory against the floor program and the peers (Postfix,
# aiosmtpd, mailfront; bench/README.md); never part of check.
# bench-deps installs them (Postfix with nothing started), musl-tools,
# valgrind, strace and GNU time.  BENCH= passes options
# to bench/bench.py, e.g. make bench BENCH="--rounds 3 --no-huge".
bench-deps:
	@sh bench/install-deps.sh

bench: bench-deps smtpd smtpd-glibc smtpd-static
	@sh bench/run.sh $(BENCH)

# smtpd, and the engine as a library: libsmtpproto.a, its headers in
# include/smtpproto/, smtpproto.pc for pkg-config, smtp_engine.3.
install: smtpd $(PROTO_LIB)
	mkdir -p $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man8 \
	    $(DESTDIR)$(PREFIX)/share/man/man3 $(DESTDIR)$(PREFIX)/lib/pkgconfig \
	    $(DESTDIR)$(PREFIX)/include/smtpproto
	cp smtpd $(DESTDIR)$(PREFIX)/bin/smtpd
	cp smtpd.8 $(DESTDIR)$(PREFIX)/share/man/man8/smtpd.8
	cp $(PROTO_LIB) $(DESTDIR)$(PREFIX)/lib/libsmtpproto.a
	cp $(PROTO_PUBLIC_HDR) $(DESTDIR)$(PREFIX)/include/smtpproto/
	cp proto/smtp_engine.3 $(DESTDIR)$(PREFIX)/share/man/man3/smtp_engine.3
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(VERSION)|' \
	    proto/smtpproto.pc.in >$(DESTDIR)$(PREFIX)/lib/pkgconfig/smtpproto.pc

clean:
	rm -rf smtpd smtpd-glibc smtpd-static build

.PHONY: all check check-deps check-valgrind serve fuzz bench bench-deps install clean
