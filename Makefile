# The two entry points of README.md, plus helpers. Every target works on a fresh machine:
# scripts/rocketmq.sh fetches the broker from Maven Central.

.PHONY: quickstart test build broker-start broker-stop fuzz header

build:
	cargo build --release

# Starts a local name server + broker and runs the quickstart against it.
quickstart: build
	scripts/rocketmq.sh start
	cargo run --release --example quickstart

# Every test: lints, header drift, unit and property tests, integration tests against the
# real broker (started and stopped by the script).
test:
	scripts/test.sh

broker-start:
	scripts/rocketmq.sh start

broker-stop:
	scripts/rocketmq.sh stop

# Bounded cargo-fuzz run of every target (FUZZ_SECONDS per target, default 60).
fuzz:
	scripts/fuzz.sh $${FUZZ_SECONDS:-60}

# Regenerates include/brokerclient.h.
header:
	cargo build
