#!/usr/bin/env bash
# The REST API benchmarks in one command: starts one hibikid (embedded RocksDB journal, a fresh
# data directory, a free loopback port, request limits lifted), runs hibiki_rest_bench's three
# modes against it (POST messages, GET messages?force=1, GET my/status of an account in 1,000
# rooms), prints one table with the machine's load average, and stops the server.
#
#   cmake --build build --target hibikid hibiki_rest_bench
#   bench/rest_bench.sh [BUILD_DIR]          # default build
#
# Environment: MODES ("post messages status"), CONNECTIONS (32), MEMBERS (4), MESSAGES (100),
# ROOMS (1000), WARMUP (2), DURATION (10), HIBIKID (another hibikid binary to measure; default
# BUILD_DIR/bin/hibikid), HIBIKID_ARGS, BENCH_ARGS, WORK_DIR (default a new
# temporary directory, removed after a successful run unless KEEP_WORK_DIR=1; kept on failure).
set -euo pipefail

build=${1:-build}
hibikid=${HIBIKID:-$build/bin/hibikid}
bench=$build/bin/hibiki_rest_bench
for b in "$hibikid" "$bench"; do
  [[ -x "$b" ]] || { echo "missing $b: cmake --build $build --target hibikid hibiki_rest_bench" >&2; exit 2; }
done

MODES=${MODES:-post messages status}
CONNECTIONS=${CONNECTIONS:-32}
MEMBERS=${MEMBERS:-4}
MESSAGES=${MESSAGES:-100}
ROOMS=${ROOMS:-1000}
WARMUP=${WARMUP:-2}
DURATION=${DURATION:-10}
WORK_DIR=${WORK_DIR:-$(mktemp -d /tmp/hibiki-rest-bench.XXXXXX)}
mkdir -p "$WORK_DIR"
results=$WORK_DIR/results.jsonl
: >"$results"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

server_pid=
cleanup() {
  if [[ -n "$server_pid" ]]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
}
trap cleanup EXIT

port=$(free_port)
# shellcheck disable=SC2086
"$hibikid" --http="127.0.0.1:$port" --data-dir="$WORK_DIR/data" --journal=rocksdb \
  --open-signup=true --signup-rate=0 --max-connections-per-ip=0 --api-rate=0 \
  --connection-rate=1000000 --connection-burst=1000000 --account-rate=1000000 \
  --account-burst=1000000 ${HIBIKID_ARGS:-} >"$WORK_DIR/hibikid.log" 2>&1 &
server_pid=$!
# Ready: the journal is open (until then the API answers 503).
for _ in $(seq 300); do
  curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break
  sleep 0.1
done
curl -sf "http://127.0.0.1:$port/readyz" >/dev/null || { echo "hibikid did not get ready; see $WORK_DIR/hibikid.log" >&2; exit 1; }

echo "machine: $(nproc) cores, $(uname -r); load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
status=0
for mode in $MODES; do
  # shellcheck disable=SC2086
  "$bench" --port "$port" --mode "$mode" --connections "$CONNECTIONS" \
    --members-per-room "$MEMBERS" --messages "$MESSAGES" --rooms "$ROOMS" --warmup "$WARMUP" \
    --duration "$DURATION" --server-pid "$server_pid" ${BENCH_ARGS:-} | tee "$WORK_DIR/bench-$mode.txt" || status=1
  grep '^{' "$WORK_DIR/bench-$mode.txt" >>"$results" || status=1
done

python3 - "$results" <<'PY'
import json, sys
def name(r):
    if r["mode"] == "post": return "POST /v2/rooms/{id}/messages"
    if r["mode"] == "messages": return f'GET /v2/rooms/{{id}}/messages?force=1 ({min(r["messages"], 100)})'
    if r["mode"] == "status": return f'GET /v2/my/status ({r["rooms"]:,} rooms)'
    return r["mode"]
print()
print(f'{"endpoint":38} {"closed req/s":>12} {"p99 ms":>8} {"cpu ms/req":>10} {"open req/s":>10} {"p50 ms":>8} {"p99 ms":>8} {"p99.9 ms":>9} {"failed":>6}  load (closed | open)')
for line in open(sys.argv[1]):
    r = json.loads(line)
    print(f'{name(r):38} {r["closed_per_s"]:12.0f} {r["closed_p99_ms"]:8.2f} '
          f'{r["closed_cpu_ms_per_request"]:10.3f} {r["open_per_s"]:10.0f} {r["open_p50_ms"]:8.2f} {r["open_p99_ms"]:8.2f} '
          f'{r["open_p999_ms"]:9.2f} {r["failed"]:6d}  {r["load_closed"]} | {r["load_open"]}')
PY
cleanup
server_pid=
if [[ $status -eq 0 && "${KEEP_WORK_DIR:-0}" != 1 ]]; then
  rm -rf "$WORK_DIR"
else
  echo "server log and results: $WORK_DIR"
fi
exit $status
