# sluice: one Makefile. `make` builds build/sluice; `make test` and
# `make demo` install what is missing first (see `deps`).

CC	?= cc
WERROR	?= -Werror
CSTD	 = -std=c11 -D_XOPEN_SOURCE=700 -D_DEFAULT_SOURCE -D_FILE_OFFSET_BITS=64
WARN	 = -Wall -Wextra -Wshadow -Wpointer-arith -Wcast-qual \
	   -Wstrict-prototypes -Wmissing-prototypes $(WERROR)
OPT	?= -O2 -g
CFLAGS	?=
SAN	 = -fsanitize=address,undefined -fno-sanitize-recover=all \
	   -fno-omit-frame-pointer
LIBS	 = -lfcgi -lsqlite3 -lsodium -lpthread

SRCS	 = src/config.c src/fcgi_out.c src/http.c src/jobstore.c src/log.c \
	   src/main.c src/policy.c src/pool.c src/request.c src/server.c \
	   src/stream.c
HDRS	 = $(wildcard src/*.h)
OBJS	 = $(SRCS:src/%.c=build/obj/%.o)
SAN_OBJS = $(SRCS:src/%.c=build/asan/obj/%.o)

# Unit tests: each links the modules it tests and the shared checks of
# tests/unit/cases.c, built with sanitizers.
UNIT	 = http request policy jobstore fcgi_out
UNIT_BINS = $(UNIT:%=build/asan/test_%)

# Debian packages: build, run, and test (the web server and its clients).
DEPS_PKGS = gcc make pkg-config libc6-dev libfcgi-dev libfcgi-bin \
	    libsqlite3-dev sqlite3 libsodium-dev libcmocka-dev spawn-fcgi \
	    lighttpd curl procps coreutils

.PHONY: all deps test unit integration demo clean asan

all: build/sluice

build/obj/%.o: src/%.c $(HDRS)
	@mkdir -p $(@D)
	$(CC) $(CSTD) $(WARN) $(OPT) $(CFLAGS) -c -o $@ $<

build/sluice: $(OBJS)
	$(CC) $(OPT) $(CFLAGS) -o $@ $(OBJS) $(LIBS)

build/asan/obj/%.o: src/%.c $(HDRS)
	@mkdir -p $(@D)
	$(CC) $(CSTD) $(WARN) -O1 -g $(SAN) $(CFLAGS) -c -o $@ $<

build/asan/sluice: $(SAN_OBJS)
	$(CC) $(SAN) -o $@ $(SAN_OBJS) $(LIBS)

asan: build/asan/sluice

build/asan/test_http: tests/unit/test_http.c build/asan/obj/http.o
build/asan/test_request: tests/unit/test_request.c build/asan/obj/request.o \
    build/asan/obj/http.o
build/asan/test_policy: tests/unit/test_policy.c build/asan/obj/policy.o
build/asan/test_fcgi_out: tests/unit/test_fcgi_out.c build/asan/obj/fcgi_out.o
build/asan/test_jobstore: tests/unit/test_jobstore.c \
    build/asan/obj/jobstore.o build/asan/obj/http.o build/asan/obj/log.o

build/asan/test_%: tests/unit/cases.c tests/unit/cases.h
	@mkdir -p $(@D)
	$(CC) $(CSTD) $(WARN) -O1 -g $(SAN) -Isrc \
	    -DSCHEMA_SQL='"$(CURDIR)/sql/schema.sql"' \
	    -o $@ $(filter %.c %.o,$^) \
	    -lcmocka -lsqlite3

unit: $(UNIT_BINS)
	@rc=0; for t in $(UNIT_BINS); do echo "== $$t"; $$t || rc=1; done; exit $$rc

integration: build/sluice build/asan/sluice
	bash tests/integration/run.sh

test: deps
	$(MAKE) all asan
	$(MAKE) unit
	$(MAKE) integration

demo: deps
	$(MAKE) all
	bash deploy/demo.sh

# Install the Debian packages that are missing, and only those. As root it
# runs apt-get; otherwise it prints the exact command and fails.
deps:
	@missing=""; \
	for p in $(DEPS_PKGS); do \
		dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | \
		    grep -q '^install ok installed$$' || missing="$$missing $$p"; \
	done; \
	if [ -z "$$missing" ]; then echo "deps: all installed"; exit 0; fi; \
	cmd="apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends$$missing"; \
	if [ "$$(id -u)" -ne 0 ]; then \
		echo "deps: missing:$$missing"; \
		echo "deps: run as root: sudo sh -c '$$cmd'"; exit 1; \
	fi; \
	echo "deps: installing$$missing"; \
	sh -c "$$cmd"

clean:
	rm -rf build
