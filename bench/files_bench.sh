#!/usr/bin/env bash
# The files benchmarks in one command, on a private MinIO (scripts/test-minio: free ports, its own
# data directory) and a fresh hibikid on it (embedded RocksDB journal, request limits lifted):
#
#   1. hibiki_upload_bench: request_upload round trips over the WebSocket, closed loop, one
#      connection at a time and then CONNECTIONS at once (answers/s, p50/p99/p99.9, CPU/request),
#      then an open loop at RATE requests/s over RATE_CONNECTIONS connections (0: none);
#   2. one LARGE_MIB upload through a URL hibikid signed against the same PUT by curl straight to
#      MinIO with MinIO's own credentials (RUNS of each; the median times and their ratio);
#   3. PARALLEL uploads of PARALLEL_MIB at once through pre-signed URLs: hibikid's CPU time and
#      memory over the whole of it.
#
#   cmake --build build --target hibikid hibiki_upload_bench
#   bench/files_bench.sh [BUILD_DIR]          # default build
#
# Environment: PARTS ("requests large parallel"), CONNECTIONS ("1,32": the counts run in turn),
# RATE (5000), RATE_CONNECTIONS (64), ROOMS (100: rooms per connection, asked in turn),
# WARMUP (2), DURATION (10), LARGE_MIB (1024), RUNS (3), PARALLEL (100), PARALLEL_MIB (10),
# HIBIKID (another binary to measure), HIBIKID_ARGS, WORK_DIR (default a new temporary
# directory, removed after a successful run unless KEEP_WORK_DIR=1; kept on failure).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
build=${1:-build}
hibikid=${HIBIKID:-$build/bin/hibikid}
bench=$build/bin/hibiki_upload_bench
for b in "$hibikid" "$bench"; do
  [[ -x "$b" ]] || { echo "missing $b: cmake --build $build --target hibikid hibiki_upload_bench" >&2; exit 2; }
done

PARTS=${PARTS:-requests large parallel}
CONNECTIONS=${CONNECTIONS:-1,32}
RATE=${RATE:-5000}
RATE_CONNECTIONS=${RATE_CONNECTIONS:-64}
# Rooms each connection's account asks in, in turn (users upload to many rooms; one room taking
# every request of a run would hold a file map no user's room has).
ROOMS=${ROOMS:-100}
WARMUP=${WARMUP:-2}
DURATION=${DURATION:-10}
WORK_DIR=${WORK_DIR:-$(mktemp -d /tmp/hibiki-files-bench.XXXXXX)}
mkdir -p "$WORK_DIR"
export LARGE_MIB=${LARGE_MIB:-1024} RUNS=${RUNS:-3} PARALLEL=${PARALLEL:-100}
export PARALLEL_MIB=${PARALLEL_MIB:-10}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

server_pid=
cleanup() {
  if [[ -n "$server_pid" ]]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  "$here/../scripts/test-minio" stop "$WORK_DIR/minio" >/dev/null 2>&1 || true
}
trap cleanup EXIT

"$here/../scripts/test-minio" start "$WORK_DIR/minio" >/dev/null
endpoint=$(cat "$WORK_DIR/minio/endpoint")
bucket=$(cat "$WORK_DIR/minio/bucket")
credentials=$WORK_DIR/minio/credentials

port=$(free_port)
# Each connection of the request benchmark keeps asking in one room and never completes: the
# pending-upload cap (100 per account and room by default) is lifted to its maximum.
# shellcheck disable=SC2086
"$hibikid" --http="127.0.0.1:$port" --data-dir="$WORK_DIR/data" --journal=rocksdb \
  --open-signup=true --signup-rate=0 --max-connections-per-ip=0 --api-rate=0 \
  --connection-rate=1000000 --connection-burst=1000000 --account-rate=1000000 \
  --account-burst=1000000 --s3-endpoint="$endpoint" --s3-bucket="$bucket" \
  --s3-credentials-file="$credentials" --max-file-size=$((4 << 30)) \
  --max-pending-uploads=100000 ${HIBIKID_ARGS:-} \
  >"$WORK_DIR/hibikid.log" 2>&1 &
server_pid=$!
for _ in $(seq 300); do
  curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break
  sleep 0.1
done
curl -sf "http://127.0.0.1:$port/readyz" >/dev/null || { echo "hibikid did not get ready; see $WORK_DIR/hibikid.log" >&2; exit 1; }

echo "machine: $(nproc) cores, $(uname -r); load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "hibikid pid $server_pid on 127.0.0.1:$port, MinIO $endpoint (pid $(cat "$WORK_DIR/minio/server/minio.pid"))"
status=0
for part in $PARTS; do
  echo
  case "$part" in
    requests)
      echo "== request_upload round trips (closed loop; connections: $CONNECTIONS)"
      "$bench" --port "$port" --connections "$CONNECTIONS" --warmup "$WARMUP" \
        --duration "$DURATION" --server-pid "$server_pid" --rooms-per-connection "$ROOMS" |
        tee "$WORK_DIR/requests.txt" || status=1
      if [[ "$RATE" != 0 ]]; then
        echo "== request_upload at $RATE/s (open loop over $RATE_CONNECTIONS connections)"
        "$bench" --port "$port" --connections "$RATE_CONNECTIONS" --rate "$RATE" \
          --warmup "$WARMUP" --duration "$DURATION" --server-pid "$server_pid" \
          --rooms-per-connection "$ROOMS" |
          tee -a "$WORK_DIR/requests.txt" || status=1
      fi
      ;;
    large | parallel)
      echo "== $part (load average $(cut -d' ' -f1-3 /proc/loadavg))"
      PARTS_PY=$part /usr/bin/python3 "$here/files_bench.py" "$port" "$server_pid" "$endpoint" \
        "$bucket" "$credentials" "$WORK_DIR" | tee "$WORK_DIR/$part.txt" || status=1
      ;;
    *) echo "unknown part $part" >&2; status=1 ;;
  esac
done
echo
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
if [[ $status -eq 0 && "${KEEP_WORK_DIR:-0}" != 1 ]]; then
  cleanup
  trap - EXIT
  rm -rf "$WORK_DIR"
else
  echo "server log and results: $WORK_DIR"
fi
exit $status
