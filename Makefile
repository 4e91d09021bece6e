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
PGINC	 = -I/usr/include/postgresql
LIBS	 = -lsqlite3 -lsodium -lunistring -lpthread

HTTP_SRCS = src/http_cond.c src/http_date.c src/http_disp.c src/http_hdr.c
SRCS	 = src/audit.c src/audit_pg.c src/audit_sqlite.c src/config.c src/confine.c src/fcgi_in.c src/fcgi_out.c \
	   $(HTTP_SRCS) src/job.c src/job_row.c src/jobstore.c src/jobstore_pg.c \
	   src/listen.c src/log.c \
	   src/loop.c src/opt.c \
	   src/main.c src/metrics.c src/offload.c src/paths.c src/plan.c \
	   src/policy.c src/pool.c \
	   src/reopen.c \
	   src/request.c \
	   src/server.c src/spans.c src/store.c src/pq.c src/stream.c src/text.c \
	   src/units.c
HDRS	 = $(wildcard src/*.h)
OBJS	 = $(SRCS:src/%.c=build/obj/%.o)
SAN_OBJS = $(SRCS:src/%.c=build/asan/obj/%.o)

# Unit tests: each links the modules it tests and the shared checks of
# tests/unit/cases.c, built with sanitizers.
UNIT	 = http cond text confine job paths request policy plan jobstore fcgi_out \
	   units audit ctl spans fcgi_in metrics store
UNIT_BINS = $(UNIT:%=build/asan/test_%)

# Debian packages: build, run, and test (the web server and its clients).
DEPS_PKGS = gcc make pkg-config libc6-dev clang libclang-rt-14-dev \
	    libfcgi-dev libfcgi-bin \
	    libsqlite3-dev sqlite3 libpq-dev postgresql libsodium-dev libcmocka-dev spawn-fcgi \
	    libunistring-dev mandoc man-db prometheus systemd \
	    lighttpd nginx-light apache2-bin apache2-utils \
	    libapache2-mod-fcgid libapache2-mod-xsendfile curl procps \
	    coreutils wrk gnuplot-nox python3 wget aria2 axel gcovr

.PHONY: all deps test check unit integration demo clean asan fault fuzz \
	fuzz-quick fuzz-check bench bench-quick bench-slow soak install \
	uninstall man coverage

all: build/sluice build/sluicectl

# sql/*.sql as C strings, so that sluice and sluicectl can create their
# databases without the source tree.
GEN	 = build/gen/sql_schema.h build/gen/sql_state.h build/gen/sql_state_v2.h \
	   build/gen/sql_pg_schema.h build/gen/sql_pg_state.h
# Kept after the build: as intermediates make would delete them, and then
# rebuild every object the next time.
.SECONDARY: $(GEN)
build/gen/sql_pg_%.h: sql/pg/%.sql
	@mkdir -p $(@D)
	{ echo '/* generated from $< by the Makefile: do not edit */'; \
	  echo 'static const char sql_pg_$*[] ='; \
	  sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/\t"/' -e 's/$$/\\n"/' $<; \
	  echo ';'; } >$@
build/gen/sql_%.h: sql/%.sql
	@mkdir -p $(@D)
	{ echo '/* generated from $< by the Makefile: do not edit */'; \
	  echo 'static const char sql_$*[] ='; \
	  sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/\t"/' -e 's/$$/\\n"/' $<; \
	  echo ';'; } >$@

build/obj/%.o: src/%.c $(HDRS) $(GEN)
	@mkdir -p $(@D)
	$(CC) $(CSTD) $(WARN) $(OPT) $(CFLAGS) $(PGINC) -Ibuild/gen -c -o $@ $<

build/sluice: $(OBJS)
	$(CC) $(OPT) $(CFLAGS) -o $@ $(OBJS) $(LIBS)

build/asan/obj/%.o: src/%.c $(HDRS) $(GEN)
	@mkdir -p $(@D)
	$(CC) $(CSTD) $(WARN) -O1 -g $(SAN) $(CFLAGS) $(PGINC) -Ibuild/gen -c -o $@ $<

build/asan/sluice: $(SAN_OBJS)
	$(CC) $(SAN) -o $@ $(SAN_OBJS) $(LIBS)

# The fault build (tests/integration/fault.sh; src/fault.h): the asan
# build with -DSLUICE_FAULT in the files that hold a seam, and fault.c's
# counters and SQLite VFS. Its own binary, so release and asan stay as
# they are.
FAULT_SEAMS = main pool server audit confine stream fcgi_out
FAULT_OBJS = $(filter-out $(FAULT_SEAMS:%=build/asan/obj/%.o),$(SAN_OBJS)) \
	   $(FAULT_SEAMS:%=build/fault/obj/%.o) build/fault/obj/fault.o

build/fault/obj/%.o: src/%.c $(HDRS) $(GEN)
	@mkdir -p $(@D)
	$(CC) $(CSTD) $(WARN) -O1 -g $(SAN) -DSLUICE_FAULT $(CFLAGS) $(PGINC) \
	    -Ibuild/gen -c -o $@ $<

build/fault/sluice: $(FAULT_OBJS)
	$(CC) $(SAN) -o $@ $(FAULT_OBJS) $(LIBS)

fault: build/fault/sluice

# The admin tool: its own files, the shared option parser, and the rules
# it shares with sluice (the id check, the header guard, text, confinement,
# status names, paths; the state database's owner for prune and vacuum).
CTL_SRCS = src/sluicectl.c src/ctl_opt.c src/ctl_init.c src/ctl_add.c \
	   src/ctl_jobs.c src/ctl_audit.c src/ctl_files.c src/ctl_db.c \
	   src/ctl_db_pg.c \
	   src/ctl_rows.c src/ctl_fs.c src/ctl_out.c src/ctl_state.c \
	   src/ctl_progress.c src/opt.c \
	   src/request.c src/http_hdr.c src/text.c src/confine.c src/job.c \
	   src/paths.c src/units.c src/audit.c src/audit_pg.c src/audit_sqlite.c \
	   src/spans.c src/policy.c src/log.c src/metrics.c src/store.c src/pq.c \
	   src/reopen.c
CTL_OBJS = $(CTL_SRCS:src/%.c=build/obj/%.o)
CTL_SAN_OBJS = $(CTL_SRCS:src/%.c=build/asan/obj/%.o)

build/sluicectl: $(CTL_OBJS)
	$(CC) $(OPT) $(CFLAGS) -o $@ $^ -lsqlite3 -lsodium -lpthread

build/asan/sluicectl: $(CTL_SAN_OBJS)
	$(CC) $(SAN) -o $@ $^ -lsqlite3 -lsodium -lpthread

asan: build/asan/sluice

# The benchmarks' baseline: a bare libfcgi responder (bench/bare.c), built
# like the release and sending its body through the same fcgi_out.o.
build/bench/bare: bench/bare.c build/obj/fcgi_out.o src/fcgi_out.h
	@mkdir -p $(@D)
	$(CC) $(CSTD) $(WARN) $(OPT) $(CFLAGS) -Isrc -o $@ bench/bare.c \
	    build/obj/fcgi_out.o -lfcgi -lpthread

build/asan/test_http: tests/unit/test_http.c \
    $(HTTP_SRCS:src/%.c=build/asan/obj/%.o) build/asan/obj/text.o
build/asan/test_cond: tests/unit/test_cond.c build/asan/obj/http_cond.o \
    build/asan/obj/http_date.o
build/asan/test_request: tests/unit/test_request.c build/asan/obj/request.o \
    build/asan/obj/text.o
build/asan/test_text: tests/unit/test_text.c build/asan/obj/text.o
build/asan/test_confine: tests/unit/test_confine.c build/asan/obj/confine.o \
    build/asan/obj/text.o
build/asan/test_job: tests/unit/test_job.c build/asan/obj/job.o
build/asan/test_paths: tests/unit/test_paths.c build/asan/obj/paths.o
build/asan/test_policy: tests/unit/test_policy.c build/asan/obj/policy.o \
    build/asan/obj/text.o
build/asan/test_plan: tests/unit/test_plan.c build/asan/obj/plan.o \
    build/asan/obj/offload.o build/asan/obj/policy.o \
    build/asan/obj/request.o $(HTTP_SRCS:src/%.c=build/asan/obj/%.o) \
    build/asan/obj/text.o
build/asan/test_fcgi_out: tests/unit/test_fcgi_out.c build/asan/obj/fcgi_out.o
build/asan/test_fcgi_in: tests/unit/test_fcgi_in.c build/asan/obj/fcgi_in.o \
    build/asan/obj/fcgi_out.o build/asan/obj/request.o build/asan/obj/text.o
build/asan/test_units: tests/unit/test_units.c build/asan/obj/units.o
build/asan/test_spans: tests/unit/test_spans.c build/asan/obj/spans.o
build/asan/test_metrics: tests/unit/test_metrics.c build/asan/obj/metrics.o
build/asan/test_store: tests/unit/test_store.c build/asan/obj/store.o build/asan/obj/pq.o
build/asan/test_audit: tests/unit/test_audit.c build/asan/obj/audit.o \
    build/asan/obj/audit_pg.o build/asan/obj/audit_sqlite.o \
    build/asan/obj/store.o build/asan/obj/pq.o build/asan/obj/reopen.o \
    build/asan/obj/metrics.o \
    build/asan/obj/spans.o \
    build/asan/obj/policy.o build/asan/obj/log.o build/asan/obj/text.o
# sluicectl's pure parts and the shared option parser (opt.o under
# sluice's table, config.o): no SQLite, no files.
build/asan/test_ctl: tests/unit/test_ctl.c build/asan/obj/ctl_out.o \
    build/asan/obj/ctl_progress.o \
    build/asan/obj/ctl_rows.o build/asan/obj/opt.o build/asan/obj/config.o \
    build/asan/obj/http_hdr.o build/asan/obj/text.o \
    build/asan/obj/paths.o build/asan/obj/units.o build/asan/obj/audit.o \
    build/asan/obj/audit_pg.o build/asan/obj/audit_sqlite.o \
    build/asan/obj/store.o build/asan/obj/pq.o build/asan/obj/reopen.o \
    build/asan/obj/metrics.o \
    build/asan/obj/spans.o \
    build/asan/obj/policy.o build/asan/obj/log.o
build/asan/test_jobstore: tests/unit/test_jobstore.c \
    build/asan/obj/jobstore.o build/asan/obj/jobstore_pg.o \
    build/asan/obj/job_row.o build/asan/obj/store.o build/asan/obj/pq.o build/asan/obj/reopen.o build/asan/obj/http_hdr.o \
    build/asan/obj/log.o \
    build/asan/obj/text.o build/asan/obj/job.o

build/asan/test_%: tests/unit/cases.c tests/unit/cases.h
	@mkdir -p $(@D)
	$(CC) $(CSTD) $(WARN) -O1 -g $(SAN) -Isrc \
	    -DSCHEMA_SQL='"$(CURDIR)/sql/schema.sql"' \
	    -DSTATE_SQL='"$(CURDIR)/sql/state.sql"' \
	    -DSTATE_V1_SQL='"$(CURDIR)/tests/unit/state_v1.sql"' \
	    -o $@ $(filter %.c %.o,$^) \
	    -lcmocka -lsqlite3 -lsodium -lunistring -lpthread

unit: $(UNIT_BINS)
	@rc=0; for t in $(UNIT_BINS); do echo "== $$t"; $$t || rc=1; done; exit $$rc

integration: build/sluice build/asan/sluice build/sluicectl build/fault/sluice
	bash tests/integration/run.sh
	bash tests/integration/pgsuite.sh
	bash tests/integration/nginx.sh
	bash tests/integration/apache.sh
	bash tests/integration/sluicectl.sh
	bash tests/integration/harden.sh
	bash tests/integration/fault.sh
	bash tests/integration/metrics.sh
	bash tests/integration/deploy.sh
	bash tests/integration/soak.sh

# The quick check for the edit-compile loop (well under 90 s on 2 cores):
# the unit tests, 2 s of each fuzzer, and the HTTP cases kept as data
# (tests/integration/cases/) behind lighttpd in stream mode. `make test`
# is the full run (CI).
check: all asan build/sluicectl
	$(MAKE) man
	$(MAKE) unit
	$(MAKE) fuzz-check
	bash tests/integration/check.sh

test: deps
	$(MAKE) all asan fault
	$(MAKE) man
	$(MAKE) unit
	$(MAKE) fuzz-quick
	$(MAKE) integration
	$(MAKE) bench-quick

demo: deps
	$(MAKE) all
	bash deploy/demo.sh

# Install the Debian packages that are missing, and only those. As root it
# runs apt-get; otherwise it prints the exact command and fails. The web
# servers are installed without starting their system services (a
# temporary policy-rc.d): the tests and the demo run their own on
# loopback, and lighttpd's and nginx's default sites would both want :80.
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
	prc=/usr/sbin/policy-rc.d; own=""; \
	if [ ! -e $$prc ]; then \
		printf '#!/bin/sh\n# make deps: no service starts\nexit 101\n' >$$prc && \
		    chmod 755 $$prc && own=1; \
	fi; \
	sh -c "$$cmd"; rc=$$?; \
	if [ -n "$$own" ]; then rm -f $$prc; fi; \
	exit $$rc

clean:
	rm -rf build

# ---------------------------------------------------------------------------
# make install / make uninstall (README.md, "Deploy"). PREFIX and DESTDIR
# as usual; the other directories are where the installed deploy files
# (units, tmpfiles.d, sysusers.d, the spawn-fcgi script) point: the state
# database's directory, the socket's, the log's, and the exporter's
# directory with jobs.db and files/. Each installed file is the one in
# deploy/ with its default paths replaced by these.
PREFIX	?= /usr/local
BINDIR	?= $(PREFIX)/bin
MANDIR	?= $(PREFIX)/share/man
DOCDIR	?= $(PREFIX)/share/doc/sluice
LIBDIR	?= $(PREFIX)/lib
STATEDIR ?= /var/lib/sluice
RUNDIR	?= /run/sluice
LOGDIR	?= /var/log/sluice
EXPORTS	?= /srv/exports
MANS	 = src/sluice.8 src/sluicectl.8
DOCS	 = deploy/lighttpd/sluice.conf deploy/lighttpd/sluice-offload.conf \
	   deploy/nginx/sluice.conf deploy/nginx/sluice-offload.conf \
	   deploy/nginx/sluice_fastcgi_params deploy/apache/sluice.conf \
	   deploy/apache/sluice-offload.conf deploy/apache/sluice-fcgid.conf \
	   deploy/spawn-fcgi/sluice.sh deploy/systemd/sluice.service \
	   deploy/systemd/sluice.socket
INSTALL_SED = sed -e 's|/usr/local/bin/|$(BINDIR)/|g' \
	   -e 's|/var/lib/sluice|$(STATEDIR)|g' -e 's|/run/sluice|$(RUNDIR)|g' \
	   -e 's|/var/log/sluice|$(LOGDIR)|g' -e 's|/srv/exports|$(EXPORTS)|g' \
	   -e 's|/usr/local/lib/|$(LIBDIR)/|g'
D	 = $(DESTDIR)

install: all
	install -d $(D)$(BINDIR) $(D)$(MANDIR)/man8 \
	    $(D)$(LIBDIR)/systemd/system $(D)$(LIBDIR)/sysusers.d \
	    $(D)$(LIBDIR)/tmpfiles.d
	install -m 0755 build/sluice build/sluicectl $(D)$(BINDIR)/
	install -m 0644 $(MANS) $(D)$(MANDIR)/man8/
	set -e; for f in sluice.service sluice.socket; do \
		$(INSTALL_SED) deploy/systemd/$$f >$(D)$(LIBDIR)/systemd/system/$$f; \
	done
	$(INSTALL_SED) deploy/systemd/sluice.sysusers \
	    >$(D)$(LIBDIR)/sysusers.d/sluice.conf
	$(INSTALL_SED) deploy/systemd/sluice.tmpfiles \
	    >$(D)$(LIBDIR)/tmpfiles.d/sluice.conf
	set -e; for f in $(DOCS); do \
		d=$(D)$(DOCDIR)/$${f#deploy/}; install -d $${d%/*}; \
		$(INSTALL_SED) $$f >$$d; \
	done
	chmod 0755 $(D)$(DOCDIR)/spawn-fcgi/sluice.sh

uninstall:
	rm -f $(D)$(BINDIR)/sluice $(D)$(BINDIR)/sluicectl \
	    $(D)$(MANDIR)/man8/sluice.8 $(D)$(MANDIR)/man8/sluicectl.8 \
	    $(D)$(LIBDIR)/systemd/system/sluice.service \
	    $(D)$(LIBDIR)/systemd/system/sluice.socket \
	    $(D)$(LIBDIR)/sysusers.d/sluice.conf \
	    $(D)$(LIBDIR)/tmpfiles.d/sluice.conf
	rm -rf $(D)$(DOCDIR)

# The man pages: mandoc's lint finds nothing, style messages included,
# except a cross reference to a page not yet installed (sluice(8) and
# sluicectl(8) name each other); and both render with man -l.
man:
	@out=$$(mandoc -T lint $(MANS) 2>&1 | \
	    grep -v -e 'referenced manual not found' -e 'outdated mandoc.db'); \
	if [ -n "$$out" ]; then echo "$$out"; exit 1; fi
	@for m in $(MANS); do \
		MANWIDTH=80 man -l $$m 2>/dev/null | grep -q '^SYNOPSIS' || \
		    { echo "man: $$m does not render"; exit 1; }; \
	done
	@echo "man: $(MANS) lint-clean and rendered"

# ---------------------------------------------------------------------------
# Benchmarks (bench/run.sh says what each case measures and how). `make
# bench` writes bench/results/latest.md and memory.png, and bench/pg.sh
# the small-file case on PostgreSQL beside SQLite to bench/results/pg.md;
# `make bench-quick`
# (one round, small sizes; part of `make test`) writes build/bench-quick/
# and only proves the harness: it fails on a wrong download, never on a
# timing. The responders under bench/ (naive.c: the read-everything-first
# incident; bare.c: libfcgi with no lookup) are built here only, never
# into build/sluice.

BENCH_BINS = build/bench/naive build/bench/bare build/bench/slowc

# The slow-clients load client (bench/slowc.c): no libfcgi; libsodium for
# the SHA-256 of each body.
build/bench/slowc: bench/slowc.c
	@mkdir -p $(@D)
	$(CC) $(CSTD) $(WARN) $(OPT) $(CFLAGS) -o $@ $< -lsodium -lm

build/bench/%: bench/%.c
	@mkdir -p $(@D)
	$(CC) $(CSTD) $(WARN) $(OPT) $(CFLAGS) -o $@ $< -lfcgi -lpthread

bench: all $(BENCH_BINS)
	bash bench/run.sh
	bash bench/pg.sh
	$(MAKE) soak

# The soak (bench/soak.sh): 5 minutes of the heaviest small-file load, then
# 5 with a worker killed every 5 s; writes bench/results/soak.md. Fails
# only when something grows without bound (the WAL, a worker's fds or
# RSS, rows past the retention) or answers wrong without kills.
soak: all
	bash bench/soak.sh

bench-quick: all $(BENCH_BINS)
	BENCH_QUICK=1 bash bench/run.sh
	BENCH_QUICK=1 bash bench/pg.sh

# Only the slow-clients section of make bench (bench/slow.sh): about
# 10 minutes; writes bench/results/slow.md.
bench-slow: all build/bench/slowc
	bash bench/slow.sh

# ---------------------------------------------------------------------------
# Fuzzing: libFuzzer targets (tests/fuzz/fuzz_*.c) for the pure functions of
# src/http_*.c, the FastCGI stream parser (src/fcgi_in.c), the request's
# whole plan (plan), the job row (job_row, also through SQLite) and both
# command lines (config, ctl_opt), built with clang and ASan/UBSan; each
# binary compiles the sources it tests (listed below) into itself, and
# uses tests/fuzz/<target>.dict when there is one. `make fuzz` runs every target for FUZZ_SECONDS (default 60),
# `make fuzz-quick` for 5. New inputs go to build/fuzz/corpus-<target>; the
# committed seeds in tests/fuzz/corpus/<target> are only read. A crash
# leaves its input in build/fuzz/<target>-crash-* (libFuzzer's log in
# build/fuzz/<target>.log) and makes the run fail.

FUZZ_CC		?= clang
FUZZ_SECONDS	?= 60
FUZZ_MAX_LEN	?= 4096
FUZZ_TARGETS	 = range date etag disposition fcgi_in plan job_row config \
		   ctl_opt
FUZZ_BINS	 = $(FUZZ_TARGETS:%=build/fuzz/fuzz_%)
FUZZ_FLAGS	 = -std=c11 -D_XOPEN_SOURCE=700 -D_DEFAULT_SOURCE \
		   -D_FILE_OFFSET_BITS=64 -g -O1 \
		   -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
		   -Isrc

build/fuzz/fuzz_range: src/http_cond.c src/http_date.c
build/fuzz/fuzz_date: src/http_date.c
build/fuzz/fuzz_etag: src/http_cond.c src/http_date.c
build/fuzz/fuzz_disposition: src/http_disp.c src/http_hdr.c src/text.c
build/fuzz/fuzz_fcgi_in: src/fcgi_in.c src/fcgi_out.c src/request.c src/text.c
# The request's whole decision: what server.c gathers, then plan.c.
FUZZ_PLAN_SRCS	 = src/plan.c src/offload.c src/policy.c src/request.c \
		   $(HTTP_SRCS) src/text.c src/job.c src/job_row.c \
		   src/config.c src/opt.c src/paths.c src/units.c src/log.c
build/fuzz/fuzz_plan: $(FUZZ_PLAN_SRCS) tests/fuzz/fuzz_log.c
build/fuzz/fuzz_plan: FUZZ_LIBS = -lsodium $(FUZZ_QUIET)

# The row check both stores share, directly and through SQLite.
FUZZ_JOB_ROW_SRCS = src/job_row.c src/job.c src/jobstore.c \
		   src/jobstore_pg.c src/store.c src/pq.c src/reopen.c \
		   src/http_hdr.c \
		   src/log.c src/text.c
build/fuzz/fuzz_job_row: $(FUZZ_JOB_ROW_SRCS) tests/fuzz/fuzz_log.c
build/fuzz/fuzz_job_row: FUZZ_LIBS = $(PGINC) -lsqlite3 $(FUZZ_QUIET)

# The two command lines: sluice's (config.c) and sluicectl's (ctl_opt.c),
# over the option parser they share.
build/fuzz/fuzz_config: src/config.c src/opt.c src/paths.c src/units.c \
    src/text.c tests/fuzz/fuzz_argv.h
build/fuzz/fuzz_ctl_opt: src/ctl_opt.c src/opt.c src/units.c src/job.c \
    src/ctl_out.c src/text.c tests/fuzz/fuzz_argv.h tests/fuzz/fuzz_log.c
build/fuzz/fuzz_ctl_opt: FUZZ_LIBS = $(FUZZ_QUIET)

# What the code under test logs goes nowhere (tests/fuzz/fuzz_log.c).
FUZZ_QUIET	 = -Wl,--wrap=log_info,--wrap=log_warnx,--wrap=log_warn \
		   -Wl,--wrap=ctl_errx,--wrap=ctl_err

$(FUZZ_BINS): build/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(HDRS)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ $(filter %.c,$^) -lunistring \
	    $(FUZZ_LIBS)

# One line per target: total executions, exec/s, and from libFuzzer's last
# stats line the coverage (cov), features (ft) and corpus (inputs/bytes).
fuzz: $(FUZZ_BINS)
	@failed=""; \
	for t in $(FUZZ_TARGETS); do \
		work=build/fuzz/corpus-$$t; log=build/fuzz/$$t.log; \
		mkdir -p $$work; dict=; \
		[ ! -f tests/fuzz/$$t.dict ] || dict=-dict=tests/fuzz/$$t.dict; \
		if build/fuzz/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) \
		    -print_final_stats=1 -max_len=$(FUZZ_MAX_LEN) -timeout=10 \
		    -artifact_prefix=build/fuzz/$$t- $$dict \
		    $$work tests/fuzz/corpus/$$t >$$log 2>&1; then \
			st=ok; \
		else \
			st=FAIL; failed="$$failed $$t"; \
		fi; \
		awk -v t="$$t" -v st="$$st" ' \
		    /^#[0-9]+.*cov: / { last = $$0 } \
		    /^stat::number_of_executed_units:/ { execs = $$2 } \
		    /^stat::average_exec_per_sec:/ { eps = $$2 } \
		    END { \
			cov = ft = corp = "-"; \
			n = split(last, f, /[ \t]+/); \
			for (i = 1; i < n; i++) { \
				if (f[i] == "cov:") cov = f[i + 1]; \
				if (f[i] == "ft:") ft = f[i + 1]; \
				if (f[i] == "corp:") corp = f[i + 1]; \
			} \
			if (execs == "") execs = "-"; \
			if (eps == "") eps = "-"; \
			printf("fuzz: %-12s %-4s execs %10s  exec/s %7s  " \
			    "cov %5s  ft %6s  corpus %s\n", \
			    t, st, execs, eps, cov, ft, corp); \
		    }' $$log; \
		if [ $$st != ok ]; then \
			grep -E 'ERROR|property failed|SUMMARY|artifact_prefix|Test unit written|Base64' \
			    $$log | sed 's/^/    /'; \
			echo "    full log: $$log"; \
		fi; \
	done; \
	if [ -n "$$failed" ]; then \
		echo "fuzz: FAILED:$$failed"; exit 1; \
	fi; \
	echo "fuzz: $(words $(FUZZ_TARGETS)) targets ok, $(FUZZ_SECONDS)s each"

fuzz-quick:
	@$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=5

fuzz-check:
	@$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=2

# ---------------------------------------------------------------------------
# Coverage (not part of make test: about 4 minutes on 2 cores). src/ is
# built again with gcc --coverage under build/cov/ (the other builds are
# not touched) into sluice, sluicectl, the unit tests, and a replay of
# every fuzz target (tests/fuzz/replay.c feeds each corpus file once: the
# committed seeds and whatever make fuzz added under build/fuzz/). The
# unit tests run, the corpora replay, then tests/integration/run.sh and
# sluicectl.sh run against the coverage binaries (the other integration
# scripts are left out for time, and so are run.sh's memory cases: an
# instrumented binary's VmHWM says nothing). gcovr then prints line and
# branch coverage per file of src/ and writes build/coverage/index.html
# (logs beside it). The counts start from zero on each run.

COV_CC		?= gcc
COV_FLAGS	 = -O0 -g --coverage -fprofile-update=atomic
COV_SRCS	 = $(sort $(SRCS) $(CTL_SRCS))
COV_LIB_OBJS	 = $(patsubst src/%.c,build/cov/obj/%.o, \
		   $(filter-out src/main.c src/sluicectl.c,$(COV_SRCS)))
COV_UNIT	 = $(UNIT:%=build/cov/test_%)
COV_REPLAYS	 = $(FUZZ_TARGETS:%=build/cov/replay_%)
COV_LIBS	 = -lsqlite3 -lsodium -lunistring -lpthread -lgcov
# Test code is compiled without --coverage (-lgcov links the counters'
# runtime): only src/ is measured.
COV_TEST_CFLAGS	 = $(CSTD) -O0 -g -Isrc $(PGINC)

build/cov/obj/%.o: src/%.c $(HDRS) $(GEN)
	@mkdir -p $(@D)
	$(COV_CC) $(CSTD) $(WARN) $(COV_FLAGS) $(PGINC) -Ibuild/gen -c -o $@ $<

# One archive: each program takes only the objects it needs from it.
build/cov/libsluice.a: $(COV_LIB_OBJS)
	rm -f $@
	ar rcs $@ $^

build/cov/sluice: build/cov/obj/main.o build/cov/libsluice.a \
    tests/coverage/cov_exit.c
	$(COV_CC) $(COV_TEST_CFLAGS) -Wl,--wrap=_exit -o $@ \
	    $(filter %.c %.o %.a,$^) $(COV_LIBS)

build/cov/sluicectl: build/cov/obj/sluicectl.o build/cov/libsluice.a
	$(COV_CC) -o $@ $^ $(COV_LIBS)

$(COV_UNIT): build/cov/test_%: tests/unit/test_%.c tests/unit/cases.c \
    tests/unit/cases.h build/cov/libsluice.a
	$(COV_CC) $(COV_TEST_CFLAGS) \
	    -DSCHEMA_SQL='"$(CURDIR)/sql/schema.sql"' \
	    -DSTATE_SQL='"$(CURDIR)/sql/state.sql"' \
	    -DSTATE_V1_SQL='"$(CURDIR)/tests/unit/state_v1.sql"' \
	    -o $@ $(filter %.c %.a,$^) -lcmocka $(COV_LIBS)

$(COV_REPLAYS): build/cov/replay_%: tests/fuzz/fuzz_%.c tests/fuzz/replay.c \
    tests/fuzz/fuzz_log.c tests/fuzz/fuzz_argv.h build/cov/libsluice.a
	$(COV_CC) $(COV_TEST_CFLAGS) -o $@ $(filter %.c %.a,$^) \
	    $(FUZZ_QUIET) $(COV_LIBS)

coverage: $(GEN) build/cov/sluice build/cov/sluicectl $(COV_UNIT) \
    $(COV_REPLAYS)
	@command -v gcovr >/dev/null || \
	    { echo "coverage: gcovr is missing (make deps)"; exit 1; }
	@find build/cov -name '*.gcda' -delete; rm -rf build/coverage; \
	mkdir -p build/coverage; failed=""; \
	echo "coverage: unit tests"; \
	for t in $(COV_UNIT); do \
		$$t >>build/coverage/unit.log 2>&1 || failed="$$failed $$t"; \
	done; \
	for t in $(FUZZ_TARGETS); do \
		dirs=tests/fuzz/corpus/$$t; log=build/coverage/replay_$$t.log; \
		[ ! -d build/fuzz/corpus-$$t ] || \
		    dirs="$$dirs build/fuzz/corpus-$$t"; \
		build/cov/replay_$$t $$dirs >$$log 2>&1 || \
		    failed="$$failed replay_$$t"; \
		echo "coverage: $$(tail -1 $$log) from $$dirs"; \
	done; \
	for s in run sluicectl; do \
		echo "coverage: tests/integration/$$s.sh"; \
		SLUICE_BIN=$(CURDIR)/build/cov/sluice \
		SLUICE_BIN_RELEASE=$(CURDIR)/build/cov/sluice IT_MEMORY=0 \
		SLUICECTL_BIN=$(CURDIR)/build/cov/sluicectl \
		    bash tests/integration/$$s.sh >build/coverage/$$s.log 2>&1 || \
		    failed="$$failed $$s.sh"; \
	done; \
	gcovr -r . -f src/ --exclude-unreachable-branches \
	    --html-details build/coverage/index.html \
	    --json-summary build/coverage/summary.json build/cov/obj && \
	python3 tests/coverage/summary.py build/coverage/summary.json; \
	echo "coverage: report in build/coverage/index.html"; \
	if [ -n "$$failed" ]; then \
		echo "coverage: FAILED:$$failed (logs in build/coverage/)"; \
		exit 1; \
	fi
