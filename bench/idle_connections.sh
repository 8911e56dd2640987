#!/usr/bin/env bash
# Memory per idle authenticated WebSocket connection, in one command: raises the descriptor
# limits (hard and soft; run as root to go past the hard limit you were given), starts a fresh
# hibikid (embedded RocksDB journal, a new data directory, a free loopback port, the connection
# and sign-up caps lifted), then hibiki_loadgen --idle-connections N against it: it reads the
# server's RSS at start, after N sign-ups and with N connections open and authenticated, spreading
# them over several loopback source addresses (127.0.0.2, ...: one address gives ~28,000), and
# prints the KiB per connection. RUNS times, a fresh server each time.
#
#   cmake --build build --target hibikid hibiki_loadgen
#   bench/idle_connections.sh [BUILD_DIR] [N]          # default build, 100000
#
# Environment: RUNS (1), HOLD (seconds held before the reading; 10), SIGNUP_PARALLELISM (64),
# CONNECT_PARALLELISM (512), HIBIKID (another binary to measure), LOADGEN (likewise), HIBIKID_ARGS,
# LOADGEN_ARGS,
# WORK_DIR (default a new temporary directory, removed after a successful run unless
# KEEP_WORK_DIR=1).
set -euo pipefail

build=${1:-build}
count=${2:-100000}
hibikid=${HIBIKID:-$build/bin/hibikid}
loadgen=${LOADGEN:-$build/bin/hibiki_loadgen}
for b in "$hibikid" "$loadgen"; do
  [[ -x "$b" ]] || { echo "missing $b: cmake --build $build --target hibikid hibiki_loadgen" >&2; exit 2; }
done
RUNS=${RUNS:-1}
HOLD=${HOLD:-10}

# Both ends hold one descriptor per connection, plus the server's storage: ask for room to spare.
want=$((count + count / 4 + 4096))
nr_open=$(cat /proc/sys/fs/nr_open)
(( want > nr_open )) && want=$nr_open
if (( $(ulimit -Hn) < want )); then
  ulimit -Hn "$want" 2>/dev/null || echo "cannot raise the hard descriptor limit to $want (that takes root with CAP_SYS_RESOURCE)" >&2
fi
ulimit -Sn "$(ulimit -Hn)"
if (( $(ulimit -Sn) < count + 512 )); then
  echo "need about $((count + 512)) descriptors per process, the limit is $(ulimit -Sn) and cannot be" \
    "raised here (raising the hard limit takes root with CAP_SYS_RESOURCE): ask for fewer" >&2
  exit 2
fi
WORK_DIR=${WORK_DIR:-$(mktemp -d /tmp/hibiki-idle.XXXXXX)}
mkdir -p "$WORK_DIR"
echo "descriptors: $(ulimit -Sn); local ports: $(cat /proc/sys/net/ipv4/ip_local_port_range | tr '\t' -)"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

server_pid=
stop_server() {
  if [[ -n "$server_pid" ]]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  server_pid=
}
trap stop_server EXIT

echo "machine: $(nproc) cores, $(uname -r); commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
status=0
for run in $(seq "$RUNS"); do
  port=$(free_port)
  # shellcheck disable=SC2086
  "$hibikid" --http="127.0.0.1:$port" --data-dir="$WORK_DIR/data-$run" --journal=rocksdb \
    --open-signup=true --signup-rate=0 --max-connections=0 --max-connections-per-ip=0 \
    ${HIBIKID_ARGS:-} >"$WORK_DIR/hibikid-$run.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 300); do
    curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break
    sleep 0.1
  done
  curl -sf "http://127.0.0.1:$port/readyz" >/dev/null || { echo "hibikid did not get ready; see $WORK_DIR/hibikid-$run.log" >&2; exit 1; }
  grep -o 'open-file limit [0-9]*' "$WORK_DIR/hibikid-$run.log" | head -1 | sed 's/^/hibikid: /' || true
  echo "run $run: load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
  # shellcheck disable=SC2086
  "$loadgen" --url "ws://127.0.0.1:$port/ws" --idle-connections "$count" --idle-hold "$HOLD" \
    --signup-parallelism "${SIGNUP_PARALLELISM:-64}" \
    --connect-parallelism "${CONNECT_PARALLELISM:-512}" --server-pid "$server_pid" \
    ${LOADGEN_ARGS:-} | tee "$WORK_DIR/idle-$run.txt" || status=1
  echo "run $run: load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
  stop_server
done
if [[ $status == 0 && "${KEEP_WORK_DIR:-0}" != 1 ]]; then rm -rf "$WORK_DIR"; else echo "kept $WORK_DIR"; fi
exit $status
