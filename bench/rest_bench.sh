#!/usr/bin/env bash
# The REST API benchmarks in one command: for each mode it starts a fresh hibikid (embedded
# RocksDB journal, a new data directory, a free loopback port, request limits lifted), runs
# hibiki_rest_bench in that mode against it (POST messages, GET messages?force=1, GET my/status of
# an account in 1,000 rooms), stops it, and prints one table with the machine's load average and
# the RocksDB flushes and compactions that ran inside each measured window.
#
# A fresh server per mode, so no mode measures the background work another one left: the POST
# mode writes ~2 KB of journal and rows per post, and on one shared server the flushes and
# compactions of its last seconds can run on into the next mode's loops (SHARED_SERVER=1 runs
# every mode on one server, as before).
#
#   cmake --build build --target hibikid hibiki_rest_bench
#   bench/rest_bench.sh [BUILD_DIR]          # default build
#
# Environment: MODES ("post messages status"), CONNECTIONS (32), MEMBERS (4), MESSAGES (100),
# ROOMS (1000), WARMUP (2), DURATION (10), HIBIKID (another hibikid binary to measure; default
# BUILD_DIR/bin/hibikid), HIBIKID_ARGS, BENCH_ARGS, SHARED_SERVER (0), WORK_DIR (default a new
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
SHARED_SERVER=${SHARED_SERVER:-0}
WORK_DIR=${WORK_DIR:-$(mktemp -d /tmp/hibiki-rest-bench.XXXXXX)}
mkdir -p "$WORK_DIR"
results=$WORK_DIR/results.jsonl
: >"$results"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

server_pid=
port=
stop_server() {
  if [[ -n "$server_pid" ]]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  server_pid=
}
trap stop_server EXIT

# Starts hibikid on a new data directory $WORK_DIR/data-$1 and waits until it is ready.
start_server() {
  port=$(free_port)
  # shellcheck disable=SC2086
  "$hibikid" --http="127.0.0.1:$port" --data-dir="$WORK_DIR/data-$1" --journal=rocksdb \
    --open-signup=true --signup-rate=0 --max-connections-per-ip=0 --api-rate=0 \
    --connection-rate=1000000 --connection-burst=1000000 --account-rate=1000000 \
    --account-burst=1000000 ${HIBIKID_ARGS:-} >"$WORK_DIR/hibikid-$1.log" 2>&1 &
  server_pid=$!
  # Ready: the journal is open (until then the API answers 503).
  for _ in $(seq 300); do
    curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break
    sleep 0.1
  done
  curl -sf "http://127.0.0.1:$port/readyz" >/dev/null || { echo "hibikid did not get ready; see $WORK_DIR/hibikid-$1.log" >&2; exit 1; }
}

echo "machine: $(nproc) cores, $(uname -r); load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
status=0
[[ "$SHARED_SERVER" == 1 ]] && start_server shared
for mode in $MODES; do
  [[ "$SHARED_SERVER" == 1 ]] || start_server "$mode"
  data=$WORK_DIR/data-$([[ "$SHARED_SERVER" == 1 ]] && echo shared || echo "$mode")
  # shellcheck disable=SC2086
  "$bench" --port "$port" --mode "$mode" --connections "$CONNECTIONS" \
    --members-per-room "$MEMBERS" --messages "$MESSAGES" --rooms "$ROOMS" --warmup "$WARMUP" \
    --duration "$DURATION" --server-pid "$server_pid" ${BENCH_ARGS:-} | tee "$WORK_DIR/bench-$mode.txt" || status=1
  # Each result line gets the RocksDB log of its server, to count background jobs in its windows.
  grep '^{' "$WORK_DIR/bench-$mode.txt" | sed "s|}\$|,\"rocksdb_log\":\"$data/LOG\"}|" >>"$results" || status=1
  [[ "$SHARED_SERVER" == 1 ]] || stop_server
done
stop_server

python3 - "$results" <<'PY'
import json, re, sys
def name(r):
    if r["mode"] == "post": return "POST /v2/rooms/{id}/messages"
    if r["mode"] == "messages": return f'GET /v2/rooms/{{id}}/messages?force=1 ({min(r["messages"], 100)})'
    if r["mode"] == "status": return f'GET /v2/my/status ({r["rooms"]:,} rooms)'
    return r["mode"]
def background(r, window):
    """RocksDB flushes and compactions with an event (start or finish) inside the window."""
    flushes, compactions = set(), set()
    try:
        for line in open(r["rocksdb_log"], errors="replace"):
            m = re.search(r'EVENT_LOG_v1 (\{.*\})', line)
            if not m: continue
            e = json.loads(m.group(1))
            if not (window[0] <= e.get("time_micros", 0) <= window[1]): continue
            if e.get("event", "").startswith("flush"): flushes.add(e.get("job"))
            if e.get("event", "").startswith("compaction"): compactions.add(e.get("job"))
    except (OSError, KeyError, ValueError):
        return "?"
    return f"{len(flushes)}f {len(compactions)}c"
print()
print(f'{"endpoint":42} {"closed req/s":>12} {"p99 ms":>8} {"cpu ms/req":>10} {"open req/s":>10} {"p50 ms":>8} {"p99 ms":>8} {"p99.9 ms":>9} {"cpu ms/req":>10} {"failed":>6}  rocksdb jobs (closed | open)  load (closed | open)')
for line in open(sys.argv[1]):
    r = json.loads(line)
    print(f'{name(r):42} {r["closed_per_s"]:12.0f} {r["closed_p99_ms"]:8.2f} '
          f'{r["closed_cpu_ms_per_request"]:10.3f} {r["open_per_s"]:10.0f} {r["open_p50_ms"]:8.2f} {r["open_p99_ms"]:8.2f} '
          f'{r["open_p999_ms"]:9.2f} {r["open_cpu_ms_per_request"]:10.3f} {r["failed"]:6d}  '
          f'{background(r, r["closed_window_us"]):>13} | {background(r, r["open_window_us"]):<13}  {r["load_closed"]} | {r["load_open"]}')
PY
if [[ $status -eq 0 && "${KEEP_WORK_DIR:-0}" != 1 ]]; then
  rm -rf "$WORK_DIR"
else
  echo "server log and results: $WORK_DIR"
fi
exit $status
