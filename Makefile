# CDN hit accounting: collector -> Kafka -> aggregator / billing -> PostgreSQL.
#
#   make            build bin/collector bin/aggregator bin/billing bin/kafka-mock bin/loggen
#   make test       unit tests (plain and under ASan+UBSan), a short fuzz run, integration tests
#   make bench      benchmarks (figures, never pass/fail)
#   make demo       the whole pipeline on the embedded broker (see README.md)
#   make install    programs, schema, man pages, systemd units (PREFIX=/usr/local, DESTDIR)
#
# BUILD and BINDIR may be overridden so that several builds (sanitizers, fuzzing) live side by side.

BUILD  ?= build
BINDIR ?= bin
SAN    ?=

CC     ?= cc
CFLAGS ?= -O2 -g
# Include paths and libraries come from pkg-config, not hard-coded paths (Debian's multiarch and
# PostgreSQL's folder differ between releases).
PKGS    = rdkafka jansson libpq libmaxminddb libmicrohttpd libcrypto check
pkg     = $(shell pkg-config $(1) $(2) 2>/dev/null)
CFLAGS += -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Icommon $(call pkg,--cflags,$(PKGS)) -MMD -MP
LDFLAGS ?=

ifeq ($(SAN),asan)
CFLAGS  += -O1 -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS += -fsanitize=address,undefined
endif
ifeq ($(SAN),fuzz)
CC       = clang
CFLAGS  += -O1 -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all -DFUZZING
LDFLAGS += -fsanitize=address,undefined
endif

# Libraries per program: each links only what it uses.
LIBS_common     = $(call pkg,--libs,jansson rdkafka) -lpthread -lm
LIBS_collector  = $(call pkg,--libs,libmaxminddb libmicrohttpd) $(LIBS_common)
LIBS_aggregator = $(call pkg,--libs,libmicrohttpd libcrypto) $(LIBS_common)
LIBS_billing    = $(call pkg,--libs,libpq libmicrohttpd) $(LIBS_common)
LIBS_check      = $(call pkg,--libs,check)

PROGRAMS = collector aggregator billing
TOOLS    = kafka-mock loggen

# Every program folder is a static library of its stages plus main.c, so that unit tests and
# fuzz targets link the same objects the program runs.
src_of = $(filter-out $(1)/main.c,$(wildcard $(1)/*.c))
obj_of = $(patsubst %.c,$(BUILD)/%.o,$(call src_of,$(1)))

all: deps-check $(addprefix $(BINDIR)/,$(PROGRAMS) $(TOOLS))
.PHONY: all deps deps-check test unit fuzz fuzz-run integration bench demo clean format install promtool

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

# Generated sources are built, never committed (the page's files under aggregator/dashboard/ are
# the only copy): tools/embed-assets writes them into C, under $(BUILD)/gen.
GEN_OBJ_aggregator = $(BUILD)/gen/dashboard_assets.o
$(BUILD)/gen/dashboard_assets.c: tools/embed-assets $(wildcard aggregator/dashboard/*)
	@mkdir -p $(dir $@)
	python3 tools/embed-assets aggregator/dashboard $@
$(BUILD)/gen/dashboard_assets.o: $(BUILD)/gen/dashboard_assets.c
	$(CC) $(CFLAGS) -Iaggregator -c $< -o $@

define program_rules
$(BUILD)/lib$(1).a: $(call obj_of,$(1)) $(GEN_OBJ_$(1))
	@mkdir -p $$(dir $$@)
	rm -f $$@ && ar rcs $$@ $$^
endef
$(foreach p,common $(PROGRAMS),$(eval $(call program_rules,$(p))))

$(BINDIR)/collector: $(BUILD)/collector/main.o $(BUILD)/libcollector.a $(BUILD)/libcommon.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS_collector)
$(BINDIR)/aggregator: $(BUILD)/aggregator/main.o $(BUILD)/libaggregator.a $(BUILD)/libcommon.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS_aggregator)
$(BINDIR)/billing: $(BUILD)/billing/main.o $(BUILD)/libbilling.a $(BUILD)/libcommon.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS_billing)
$(BINDIR)/kafka-mock: $(BUILD)/tools/kafka-mock.o $(BUILD)/libcommon.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS_common)
$(BINDIR)/loggen: $(BUILD)/tools/loggen.o $(BUILD)/tools/loggen_model.o $(BUILD)/libcommon.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS_common)

# ---- unit tests: tests/unit/<program>/test_*.c, one Check suite each -------------------------
SUPPORT_OBJ = $(patsubst %.c,$(BUILD)/%.o,$(wildcard tests/support/*.c))
UNIT_SRC    = $(wildcard tests/unit/*/test_*.c)
UNIT_BIN    = $(patsubst %.c,$(BUILD)/%,$(UNIT_SRC))

$(BUILD)/tests/unit/common/test_%: $(BUILD)/tests/unit/common/test_%.o $(SUPPORT_OBJ) $(BUILD)/libcommon.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS_common) $(LIBS_check)
# common/httpd.c's suite runs a real libmicrohttpd server.
$(BUILD)/tests/unit/common/test_httpd: $(BUILD)/tests/unit/common/test_httpd.o $(SUPPORT_OBJ) $(BUILD)/libcommon.a
	$(CC) $(LDFLAGS) -o $@ $^ $(call pkg,--libs,libmicrohttpd) $(LIBS_common) $(LIBS_check)
$(BUILD)/tests/unit/collector/test_%: $(BUILD)/tests/unit/collector/test_%.o $(SUPPORT_OBJ) $(BUILD)/libcollector.a $(BUILD)/libcommon.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS_collector) $(LIBS_check)
$(BUILD)/tests/unit/aggregator/test_%: $(BUILD)/tests/unit/aggregator/test_%.o $(SUPPORT_OBJ) $(BUILD)/libaggregator.a $(BUILD)/libcommon.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS_aggregator) $(LIBS_check)
$(BUILD)/tests/unit/billing/test_%: $(BUILD)/tests/unit/billing/test_%.o $(SUPPORT_OBJ) $(BUILD)/libbilling.a $(BUILD)/libcommon.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS_billing) $(LIBS_check)

# Tests read data from tests/data (TEST_DATA) only; SHARED_DATA (outside the repository) feeds benchmarks.
export SHARED_DATA ?= $(abspath ../shared/data)
export TEST_DATA   ?= $(abspath tests/data)

unit: deps-check $(UNIT_BIN) $(BUILD)/test-geo.mmdb
	@TEST_GEODB=$(abspath $(BUILD)/test-geo.mmdb) CK_DEFAULT_TIMEOUT=60 bash tests/unit/run.sh $(UNIT_BIN)

# The test GeoIP2-City database, written by MaxMind::DB::Writer from a known list of networks.
$(BUILD)/test-geo.mmdb: tools/mkgeodb tests/data/geo-networks.tsv
	@mkdir -p $(dir $@)
	perl tools/mkgeodb tests/data/geo-networks.tsv $@

# ---- fuzzing: tests/fuzz/fuzz_<name>.c, built with clang's libFuzzer (SAN=fuzz) --------------
FUZZ_SRC = $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BIN = $(patsubst tests/fuzz/%.c,$(BUILD)/fuzz/%,$(FUZZ_SRC))
FUZZ_SECONDS ?= 10
FUZZ_LIBS = $(BUILD)/libcollector.a $(BUILD)/libaggregator.a $(BUILD)/libbilling.a $(BUILD)/libcommon.a

$(BUILD)/fuzz/fuzz_%: $(BUILD)/tests/fuzz/fuzz_%.o $(SUPPORT_OBJ) $(FUZZ_LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -fsanitize=fuzzer -o $@ $^ $(call pkg,--libs,libmaxminddb libmicrohttpd libcrypto libpq) $(LIBS_common)

fuzz: $(FUZZ_BIN)

fuzz-run: deps-check $(FUZZ_BIN)
	@mkdir -p $(BUILD)/fuzz
	bash tests/fuzz/run.sh $(FUZZ_SECONDS) $(BUILD)/fuzz $(FUZZ_BIN)

# ---- the whole test suite ----------------------------------------------------------------------
# Builds run two jobs at a time (the build machines have 2 cores); tests print in order.
test: deps
	$(MAKE) -j2 all $(UNIT_BIN) $(BUILD)/test-geo.mmdb
	$(MAKE) unit
	$(MAKE) -j2 BUILD=build/asan BINDIR=build/asan/bin SAN=asan $(patsubst $(BUILD)/%,build/asan/%,$(UNIT_BIN))
	$(MAKE) BUILD=build/asan BINDIR=build/asan/bin SAN=asan unit
	$(MAKE) -j2 BUILD=build/fuzz BINDIR=build/fuzz/bin SAN=fuzz fuzz
	$(MAKE) BUILD=build/fuzz BINDIR=build/fuzz/bin SAN=fuzz fuzz-run
	$(MAKE) integration

# promtool first: two tests that need it would otherwise fetch it at once.
integration: all $(BUILD)/test-geo.mmdb $(PROMTOOL)
	BIN=$(abspath $(BINDIR)) GEODB=$(abspath $(BUILD)/test-geo.mmdb) bash tests/integration/run.sh

# Micro-benchmark programs: bench/bench_*.c, linked like fuzz targets but without sanitizers.
BENCH_SRC = $(wildcard bench/bench_*.c)
BENCH_BIN = $(patsubst bench/%.c,$(BUILD)/bench/%,$(BENCH_SRC))
$(BUILD)/bench/bench_%: $(BUILD)/bench/bench_%.o $(SUPPORT_OBJ) $(FUZZ_LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(call pkg,--libs,libmaxminddb libmicrohttpd libcrypto libpq) $(LIBS_common)

bench: deps all $(BUILD)/test-geo.mmdb $(BENCH_BIN)
	bash bench/run.sh

demo: deps all $(BUILD)/test-geo.mmdb
	bash tools/demo.sh $(if $(DURATION),--duration $(DURATION))

# ---- install: where Debian puts things, under PREFIX (default /usr/local), staged under DESTDIR ----
# PREFIX/bin/{collector,aggregator,billing}; PREFIX/share/cdn/schema (billing migrate finds it
# beside its program as ../share/cdn/schema); PREFIX/share/man/man1 (made from --help by
# help2man); systemd units in SYSTEMDUNITDIR with ExecStart= naming PREFIX/bin; examples of the
# /etc/cdn/*.conf files (and collector.env: its log paths), the Grafana dashboard and the
# Prometheus alerts under PREFIX/share/cdn.
# Nothing is written to /etc: the operator copies the examples there.
PREFIX        ?= /usr/local
DESTDIR       ?=
SYSTEMDUNITDIR ?= $(PREFIX)/lib/systemd/system
INSTALL       ?= install
MAN_DESC_collector  = follow edge access logs and publish hit records to Kafka
MAN_DESC_aggregator = sliding windows of CDN hits over HTTP, with a dashboard
MAN_DESC_billing    = CDN hits into PostgreSQL exactly once, and monthly invoices
MANPAGES = $(patsubst %,$(BUILD)/man/%.1,$(PROGRAMS))

$(BUILD)/man/%.1: $(BINDIR)/%
	@mkdir -p $(dir $@)
	@command -v help2man > /dev/null || { echo "help2man is missing: run 'make deps'" >&2; exit 2; }
	help2man --no-info --no-discard-stderr --section=1 --name="$(MAN_DESC_$*)" --output=$@ $<

install: all $(MANPAGES)
	$(INSTALL) -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/cdn/schema \
	  $(DESTDIR)$(PREFIX)/share/man/man1 $(DESTDIR)$(SYSTEMDUNITDIR) \
	  $(DESTDIR)$(PREFIX)/share/cdn/examples $(DESTDIR)$(PREFIX)/share/cdn/grafana \
	  $(DESTDIR)$(PREFIX)/share/cdn/prometheus
	$(INSTALL) -m 755 $(addprefix $(BINDIR)/,$(PROGRAMS)) $(DESTDIR)$(PREFIX)/bin/
	$(INSTALL) -m 644 schema/*.sql $(DESTDIR)$(PREFIX)/share/cdn/schema/
	$(INSTALL) -m 644 $(MANPAGES) $(DESTDIR)$(PREFIX)/share/man/man1/
	for p in $(PROGRAMS); do \
	  sed 's|@bindir@|$(PREFIX)/bin|g' deploy/systemd/$$p.service > $(DESTDIR)$(SYSTEMDUNITDIR)/$$p.service && \
	  chmod 644 $(DESTDIR)$(SYSTEMDUNITDIR)/$$p.service || exit 1; \
	  $(INSTALL) -m 644 deploy/config/$$p.conf $(DESTDIR)$(PREFIX)/share/cdn/examples/$$p.conf || exit 1; \
	done
	$(INSTALL) -m 644 deploy/systemd/collector.env $(DESTDIR)$(PREFIX)/share/cdn/examples/
	$(INSTALL) -m 644 deploy/grafana/cdn.json $(DESTDIR)$(PREFIX)/share/cdn/grafana/
	$(INSTALL) -m 644 deploy/prometheus/alerts.yml $(DESTDIR)$(PREFIX)/share/cdn/prometheus/

# promtool (checks alert rules and /metrics pages) without installing the Prometheus service: the
# binary taken out of Debian's `prometheus` package, cached under build/ (the .deb is ~96 MB,
# fetched once).
PROMTOOL = $(BUILD)/promtool/promtool
promtool: $(PROMTOOL)
# Only the binary is kept: the package's other files (etc/init.d, ...) would meet the *.d
# include at the end of this Makefile.
$(PROMTOOL):
	@mkdir -p $(BUILD)/promtool
	d=$$(mktemp -d $(abspath $(BUILD))/promtool/deb.XXXXXX) && cd $$d && apt-get download -q prometheus \
	  && dpkg -x prometheus_*.deb x && mv x/usr/bin/promtool $(abspath $@); rc=$$?; rm -rf $$d; exit $$rc
	@test -x $@

# ---- Debian packages: installed once, quickly skipped when present ------------------------------
DEBS = build-essential pkg-config clang librdkafka-dev libmaxminddb-dev libjansson-dev libpq-dev \
       libssl-dev check libsubunit-dev libmicrohttpd-dev postgresql kcat jq \
       libmaxmind-db-writer-perl mmdb-bin python3 procps psmisc time util-linux curl \
       syslog-ng-core syslog-ng-scl syslog-ng-mod-rdkafka syslog-ng-mod-geoip2 \
       chromium docker-compose help2man haproxy

deps:
	@missing=$$(dpkg-query -W -f='$${Package} $${Status}\n' $(DEBS) 2>/dev/null | awk '$$NF!="installed"{print $$1}'; \
	  for p in $(DEBS); do dpkg-query -W $$p >/dev/null 2>&1 || echo $$p; done); \
	missing=$$(echo $$missing | tr ' ' '\n' | sort -u | tr '\n' ' '); \
	if [ -n "$$(echo $$missing | tr -d ' ')" ]; then \
	  echo "installing Debian packages: $$missing"; \
	  SUDO=$$( [ $$(id -u) = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing < /dev/null; \
	fi

# A fast guard for targets that compile: it only says what is missing.
deps-check:
	@test -f /usr/include/librdkafka/rdkafka.h || { echo "missing Debian packages: run 'make deps'" >&2; exit 2; }

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf build bin

# Objects of the test and fuzz programs are kept, so that a second run does not build them again.
.SECONDARY:

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
