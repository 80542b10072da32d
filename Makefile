# The entry points of README.md, plus helpers. Every target works on a fresh machine:
# scripts/rocketmq.sh fetches the broker from Maven Central.

.PHONY: quickstart test build broker-start broker-stop fuzz header c-tests install install-test check-symbols bench

PREFIX ?= /usr/local
LIBDIR ?= lib

build:
	cargo build --release

# Starts a local name server + broker and runs examples-c/quickstart.c against it (through
# the C library): send one message, pull it back.
quickstart:
	scripts/quickstart.sh

# Every test: lints, header drift, symbols, install, unit/property/mock tests, integration
# tests against two real brokers, C/C++ tests under ASan and valgrind, manager failover.
test:
	scripts/test.sh

broker-start:
	scripts/rocketmq.sh start

broker-stop:
	scripts/rocketmq.sh stop

# C/C++ tests (tests/c) and C samples (examples-c) against the running broker
# (make broker-start): plain, ASan+UBSan, valgrind. One mode: scripts/c-tests.sh plain|asan|valgrind
c-tests:
	scripts/c-tests.sh all

# Installs the release build under $(PREFIX): lib (+ soname symlinks), headers, pkg-config,
# CMake package.
install:
	DESTDIR="$(DESTDIR)" LIBDIR="$(LIBDIR)" scripts/install.sh "$(PREFIX)"

# Installs into a temporary prefix and builds/runs a consumer with pkg-config and CMake.
install-test:
	scripts/install-test.sh

# Compares the library's exports with abi/symbols.txt (scripts/check-symbols.sh --update
# rewrites it).
check-symbols:
	scripts/check-symbols.sh

# Bounded cargo-fuzz run of every target (FUZZ_SECONDS per target, default 60).
fuzz:
	scripts/fuzz.sh $${FUZZ_SECONDS:-60}

# Regenerates include/brokerclient.h.
header:
	cargo build

# Benchmarks side by side with the official Go, Java and C++ clients and the loopback floor
# (bench/README.md): bench/results/<date>.json, the chart and docs/benchmarks.md. Starts its own
# broker and mock broker. `scripts/bench.sh --smoke` is the quick CI variant.
bench:
	scripts/bench.sh
