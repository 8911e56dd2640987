# Front door for building, running and testing hibiki. See README.md.
BUILD_DIR ?= build
BUILD_TYPE ?= RelWithDebInfo
JOBS ?= $(shell nproc)
HTTP ?= 127.0.0.1:8080
DATA_DIR ?= ./data
CLUSTER_DIR ?= ./cluster-data
# ccache keys on paths relative to the checkout, so every clone (CI's included) shares one cache.
export CCACHE_BASEDIR ?= $(CURDIR)
export CCACHE_NOHASHDIR ?= 1

.PHONY: deps build run test test-fast asan fuzz format clean kafka-up kafka-down cluster-up cluster-down \
	s3-up s3-down

deps:
	@scripts/install-deps --with-browser

$(BUILD_DIR)/build.ninja:
	cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE)

build: deps $(BUILD_DIR)/build.ninja
	cmake --build $(BUILD_DIR) -j $(JOBS)

run: build
	$(BUILD_DIR)/bin/hibikid --http=$(HTTP) --data-dir=$(DATA_DIR) --open-signup=true

# Every test: unit, integration, end-to-end (real hibikid + WebSocket clients) and the browser test.
test: build
	cd $(BUILD_DIR) && ctest --output-on-failure -j 2 --timeout 600

# Unit and integration tests only (no servers, no browser).
test-fast: build
	cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS) -L 'unit|integration'

# The same tests built with AddressSanitizer and UndefinedBehaviorSanitizer.
asan: deps
	cmake --preset asan && cmake --build --preset asan && ctest --preset asan

# The libFuzzer targets (clang, preset "fuzz"), each run for FUZZ_SECONDS on a copy of its seed
# corpus. See tests/fuzz/README.md.
FUZZ_SECONDS ?= 60
fuzz: deps
	cmake --preset fuzz && cmake --build --preset fuzz
	tests/fuzz/run-fuzzer build-fuzz $(FUZZ_SECONDS)

format:
	git ls-files '*.cpp' '*.hpp' | xargs clang-format -i

clean:
	rm -rf $(BUILD_DIR)

# The development/test Kafka broker (KRaft, 127.0.0.1:$KAFKA_PORT, default 9092). See docs/kafka-broker.md.
kafka-up:
	@scripts/kafka start

kafka-down:
	@scripts/kafka stop

# The development S3 store: MinIO on 127.0.0.1:9000 (MINIO_PORT) with the bucket `hibiki` and CORS
# for the web client of `make run`; built once with `go install` and cached in ~/.cache/hibiki.
# `scripts/minio env` prints the hibikid flags for it. See docs/operations.md.
s3-up:
	@scripts/minio start

s3-down:
	@scripts/minio stop

# A three-node cluster on this machine (scripts/cluster): a broker on 127.0.0.1:19092 and nodes
# n1..n3 on http://127.0.0.1:8081..8083, everything in $(CLUSTER_DIR). See README.md.
cluster-up: build
	@BUILD_DIR=$(BUILD_DIR) scripts/cluster start $(CLUSTER_DIR)

cluster-down:
	@BUILD_DIR=$(BUILD_DIR) scripts/cluster stop $(CLUSTER_DIR)
