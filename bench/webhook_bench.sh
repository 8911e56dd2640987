#!/usr/bin/env bash
# The webhook benchmarks in one command:
#   1. throughput: hibiki_webhook_bench fills a fresh webhook outbox with MESSAGES deliveries to
#      a local receiver (hibiki_webhook_sink) over WEBHOOK_ROOMS rooms and times the delivery
#      workers emptying it: deliveries/s;
#   2. lag under load: a fresh hibikid (embedded RocksDB journal, --webhook-allow-private for the
#      loopback receiver, request limits lifted), the standard chat load from hibiki_loadgen at
#      RATE messages/s with a message_created webhook in every room (--webhook-url), and the
#      receiver's send → delivery lag of those messages (p50/p99/max) and its deliveries/s.
#
#   cmake --build build --target hibikid hibiki_loadgen hibiki_webhook_bench hibiki_webhook_sink
#   bench/webhook_bench.sh [BUILD_DIR]           # default build
#
# Environment: PARTS ("throughput lag"), MESSAGES (50000), WEBHOOK_ROOMS (100), WORKERS (the
# service's default), RATE (1000), CONNECTIONS (1000), ROOMS (100), MEMBERS (10), WARMUP (3),
# DURATION (15), DRAIN (30: seconds the receiver waits after the load for the last deliveries),
# HIBIKID (another hibikid binary; default BUILD_DIR/bin/hibikid), HIBIKID_ARGS, LOADGEN_ARGS, WORK_DIR (default a new temporary directory, removed after a
# successful run unless KEEP_WORK_DIR=1; kept on failure).
set -euo pipefail

build=${1:-build}
hibikid=${HIBIKID:-$build/bin/hibikid}
for b in "$hibikid" "$build/bin/hibiki_loadgen" "$build/bin/hibiki_webhook_bench" "$build/bin/hibiki_webhook_sink"; do
  [[ -x "$b" ]] || { echo "missing $b" >&2; exit 2; }
done
PARTS=${PARTS:-throughput lag}
MESSAGES=${MESSAGES:-50000}
WEBHOOK_ROOMS=${WEBHOOK_ROOMS:-100}
WORKERS=${WORKERS:-}
RATE=${RATE:-1000}
CONNECTIONS=${CONNECTIONS:-1000}
ROOMS=${ROOMS:-100}
MEMBERS=${MEMBERS:-10}
WARMUP=${WARMUP:-3}
DURATION=${DURATION:-15}
DRAIN=${DRAIN:-30}
WORK_DIR=${WORK_DIR:-$(mktemp -d /tmp/hibiki-webhook-bench.XXXXXX)}
mkdir -p "$WORK_DIR"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

# Starts a receiver writing to $WORK_DIR/sink-$1.txt; sets sink_pid and sink_url.
start_sink() {
  rm -f "$WORK_DIR/sink-$1.port"
  "$build/bin/hibiki_webhook_sink" --port-file "$WORK_DIR/sink-$1.port" >"$WORK_DIR/sink-$1.txt" 2>&1 &
  sink_pid=$!
  pids+=("$sink_pid")
  for _ in $(seq 50); do [[ -s "$WORK_DIR/sink-$1.port" ]] && break; sleep 0.1; done
  sink_url="http://127.0.0.1:$(cat "$WORK_DIR/sink-$1.port")/hook"
}
# Stops the receiver (it prints its summary) and echoes its CPU seconds.
stop_sink() {
  local ticks
  ticks=$(awk '{print $14+$15}' "/proc/$sink_pid/stat")
  kill "$sink_pid"
  wait "$sink_pid" 2>/dev/null || true
  echo "receiver CPU: $(echo "$ticks / $(getconf CLK_TCK)" | bc -l | cut -c1-5) s"
}

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
for part in $PARTS; do
  case $part in
  throughput)
    echo; echo "== throughput: $MESSAGES deliveries over $WEBHOOK_ROOMS rooms"
    start_sink throughput
    "$build/bin/hibiki_webhook_bench" --url "$sink_url" --rooms "$WEBHOOK_ROOMS" \
      --messages "$MESSAGES" --dir "$WORK_DIR/throughput" ${WORKERS:+--workers "$WORKERS"} |
      tee "$WORK_DIR/throughput.txt"
    stop_sink
    head -2 "$WORK_DIR/sink-throughput.txt" | tail -1
    ;;
  lag)
    echo; echo "== lag: hibiki_loadgen at $RATE msgs/s, $CONNECTIONS connections, $ROOMS rooms of $MEMBERS, a webhook in each room"
    start_sink lag
    port=$(free_port)
    # shellcheck disable=SC2086
    "$hibikid" --http="127.0.0.1:$port" --data-dir="$WORK_DIR/data" --journal=rocksdb \
      --open-signup=true --signup-rate=0 --max-connections-per-ip=0 --api-rate=0 \
      --connection-rate=1000000 --connection-burst=1000000 --account-rate=1000000 \
      --account-burst=1000000 --webhook-allow-private=true ${HIBIKID_ARGS:-} >"$WORK_DIR/hibikid.log" 2>&1 &
    server_pid=$!
    pids+=("$server_pid")
    for _ in $(seq 300); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.1; done
    # shellcheck disable=SC2086
    "$build/bin/hibiki_loadgen" --url "ws://127.0.0.1:$port/ws" --connections "$CONNECTIONS" \
      --rooms "$ROOMS" --members-per-room "$MEMBERS" --rate "$RATE" --warmup "$WARMUP" \
      --duration "$DURATION" --server-pid "$server_pid" --webhook-url "$sink_url" \
      ${LOADGEN_ARGS:-} | tee "$WORK_DIR/loadgen.txt"
    sleep "$DRAIN"
    stop_sink
    head -2 "$WORK_DIR/sink-lag.txt" | tail -1
    kill "$server_pid"; wait "$server_pid" 2>/dev/null || true
    ;;
  *) echo "unknown part $part" >&2; exit 2 ;;
  esac
done
echo; echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
[[ "${KEEP_WORK_DIR:-0}" == 1 ]] || rm -rf "$WORK_DIR"
