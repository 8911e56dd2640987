#!/usr/bin/env bash
# A/B of hibikid's actor scheduler settings (docs/operations.md, "Actor scheduler"), back to back
# on one node: for each round, each mode and each variant, a fresh hibikid (embedded RocksDB, a
# new data directory, a free loopback port, caps lifted) with the variant's flags, then
#   max   hibiki_loadgen --rate 0 --window 4   (acked msgs/s, deliveries per server CPU-second)
#   rate  hibiki_loadgen --rate $RATE          (send->ack p50/p99, server cores at a fixed rate)
#   low   the same at --rate $LOW_RATE         (a trickle: where idle workers' polling shows most)
#   idle  1,000 authenticated idle connections (hibiki_loadgen --idle-connections): the server's
#         CPU over IDLE_SECONDS once they are all open
# One tab-separated line per run, with the load average when the run ended.
#
#   cmake --build build --target hibikid hibiki_loadgen
#   bench/scheduler_bench.sh [BUILD_DIR]
#
# Environment: VARIANTS (lines of NAME=FLAGS; default: CAF's settings (work stealing), sharing, no
# sleeping polls, 20 sleeping polls),
# MODES ("max rate idle"; also "low"), ROUNDS (2), RATE (6000), LOW_RATE (500), DURATION (15), IDLE_SECONDS (10).
set -euo pipefail

build=${1:-build}
hibikid=$build/bin/hibikid
loadgen=$build/bin/hibiki_loadgen
for b in "$hibikid" "$loadgen"; do
  [[ -x "$b" ]] || { echo "missing $b: cmake --build $build --target hibikid hibiki_loadgen" >&2; exit 2; }
done
VARIANTS=${VARIANTS:-"caf=--actor-scheduler=stealing
sharing=--actor-scheduler=sharing
no-sleep-polls=--actor-scheduler=stealing --actor-sleep-polls=0
short-polls=--actor-scheduler=stealing --actor-sleep-polls=20"}
MODES=${MODES:-"max rate idle"}
ROUNDS=${ROUNDS:-2}
RATE=${RATE:-6000}
LOW_RATE=${LOW_RATE:-500}
DURATION=${DURATION:-15}
IDLE_SECONDS=${IDLE_SECONDS:-10}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
load() { cut -d' ' -f1-3 /proc/loadavg; }

work=$(mktemp -d /tmp/hibiki-sched.XXXXXX)
server_pid=
client_pid=
cleanup() {
  [[ -n "$client_pid" ]] && { kill "$client_pid" 2>/dev/null || true; wait "$client_pid" 2>/dev/null || true; }
  [[ -n "$server_pid" ]] && { kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; }
  server_pid= client_pid=
}
trap 'cleanup; rm -rf "$work"' EXIT

start_server() {  # FLAGS...; sets port and server_pid
  local data
  port=$(free_port)
  data=$(mktemp -d "$work/data.XXXXXX")
  "$hibikid" --http="127.0.0.1:$port" --data-dir="$data" --open-signup=true --signup-rate=0 \
    --max-connections=0 --max-connections-per-ip=0 "$@" >"$work/server.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 300); do
    curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && return
    sleep 0.1
  done
  echo "hibikid did not start: $(tail -3 "$work/server.log")" >&2
  exit 1
}

# One row from the load generator's JSON line (its last line of stdout).
cat >"$work/row.py" <<'PY'
import json, sys
round_, mode, name, load = sys.argv[1:5]
try:
    j = json.loads(sys.stdin.read())
except ValueError:
    print(f"{round_}\t{mode}\t{name}\tno result" + "\t" * 8 + load)
    sys.stderr.write(open(sys.argv[5]).read()[-500:])
    sys.exit(0)
d = j["duration_s"]
cpu = (j.get("server") or {}).get("cpu_s") or 0
acked, deliv = j["acked_per_s"], j["delivered_per_s"]
lat = j["ack_latency"]
per = lambda x: f"{x * d / cpu:.0f}" if cpu else "-"
print("\t".join([round_, mode, name, f"{acked:.0f}", f"{deliv:.0f}", f"{lat['p50_ms']:.2f}",
                 f"{lat['p99_ms']:.2f}", f"{cpu / d:.2f}", per(acked), per(deliv),
                 str(sum(j["errors"].values())), load]))
PY
echo "machine: $(nproc) cores, $(uname -r); commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
printf 'round\tmode\tvariant\tacked/s\tdeliv/s\tp50ms\tp99ms\tcores\tacked/cpu-s\tdeliv/cpu-s\terrors\tload\n'
for round in $(seq "$ROUNDS"); do
  for mode in $MODES; do
    while IFS= read -r line; do
      [[ -z "$line" ]] && continue
      name=${line%%=*}
      read -r -a flags <<<"${line#*=}"
      start_server "${flags[@]}"
      url="ws://127.0.0.1:$port/ws"
      if [[ "$mode" == idle ]]; then
        "$loadgen" --url "$url" --idle-connections 1000 --idle-hold $((IDLE_SECONDS + 20)) \
          --server-pid "$server_pid" >"$work/idle.out" 2>"$work/idle.err" &
        client_pid=$!
        for _ in $(seq 600); do grep -q 'holding' "$work/idle.err" && break; sleep 0.1; done
        sleep 3  # let the sign-ups' and connects' work drain
        t0=$(cpu_ticks "$server_pid")
        sleep "$IDLE_SECONDS"
        t1=$(cpu_ticks "$server_pid")
        hz=$(getconf CLK_TCK)
        cores=$(awk -v a="$t0" -v b="$t1" -v hz="$hz" -v s="$IDLE_SECONDS" 'BEGIN{printf "%.4f", (b-a)/hz/s}')
        open=$(grep -o '[0-9]\+ open' "$work/idle.err" | head -1)
        printf '%s\tidle\t%s\t-\t-\t-\t-\t%s\t-\t-\t%s\t%s\n' "$round" "$name" "$cores" "$open" "$(load)"
      else
        case "$mode" in
          max) rate_args=(--rate 0 --window 4) ;;
          low) rate_args=(--rate "$LOW_RATE") ;;
          *) rate_args=(--rate "$RATE") ;;
        esac
        "$loadgen" --url "$url" --connections 1000 --rooms 100 --members-per-room 10 --threads 2 \
          --warmup 3 --duration "$DURATION" --server-pid "$server_pid" "${rate_args[@]}" \
          >"$work/load.out" 2>"$work/load.err" || true
        tail -1 "$work/load.out" | python3 "$work/row.py" "$round" "$mode" "$name" "$(load)" "$work/load.err"
      fi
      cleanup
    done <<<"$VARIANTS"
  done
done
