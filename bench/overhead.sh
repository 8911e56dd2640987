#!/usr/bin/env bash
# What TLS and metrics cost on the standard throughput run, as ratios against the same build
# without them (docs/benchmarks.md, "Overhead of TLS and of metrics").
#
#   bench/overhead.sh [BUILD_DIR]      (default BUILD_DIR: build)
#
# Four configurations of one hibikid binary, each on a fresh data dir and a free port:
#   base      plain ws://, --metrics=false
#   metrics   plain ws://, --metrics=true, /metrics scraped every second during the run
#   tls       wss:// (a self-signed certificate made here with openssl), --metrics=false
# They run in turns (base, metrics, tls, base, metrics, tls, ...) ROUNDS times so that drift of
# the machine hits each configuration alike. Each run prints the loadgen's JSON line with
# "config" and "round" added; the table at the end gives the means and the ratios.
#
# Environment: ROUNDS [3], CONNECTIONS [1000], ROOMS [100], MEMBERS [10], WINDOW [4],
# WARMUP [3], DURATION [10], CONFIGS ["base metrics tls"], WORK_DIR [mktemp -d].
set -euo pipefail

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$script_dir/.." && pwd)
build=${1:-build}
[[ "$build" == /* ]] || build=$root/$build
hibikid=$build/bin/hibikid
loadgen=$build/bin/hibiki_loadgen

ROUNDS=${ROUNDS:-3}
CONNECTIONS=${CONNECTIONS:-1000}
ROOMS=${ROOMS:-100}
MEMBERS=${MEMBERS:-10}
WINDOW=${WINDOW:-4}
WARMUP=${WARMUP:-3}
DURATION=${DURATION:-10}
CONFIGS=${CONFIGS:-base metrics tls}
WORK_DIR=${WORK_DIR:-$(mktemp -d /tmp/hibiki-overhead.XXXXXX)}
mkdir -p "$WORK_DIR"
results=$WORK_DIR/results.jsonl
: >"$results"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 \
  -addext subjectAltName=IP:127.0.0.1 -keyout "$WORK_DIR/key.pem" -out "$WORK_DIR/cert.pem" \
  2>/dev/null

server_pid=
scraper_pid=
cleanup() {
  [[ -n "$scraper_pid" ]] && kill "$scraper_pid" 2>/dev/null || true
  [[ -n "$server_pid" ]] && kill "$server_pid" 2>/dev/null || true
  wait 2>/dev/null || true
}
trap cleanup EXIT

run_one() { # config round
  local config=$1 round=$2 port data scheme=ws http=http extra=(--metrics=false)
  port=$(free_port)
  data=$WORK_DIR/data-$config-$round
  case $config in
  metrics) extra=(--metrics=true) ;;
  tls)
    extra=(--metrics=false --tls-cert="$WORK_DIR/cert.pem" --tls-key="$WORK_DIR/key.pem")
    scheme=wss http=https
    ;;
  esac
  "$hibikid" --http="127.0.0.1:$port" --data-dir="$data" --open-signup=true \
    --signup-rate=0 --max-connections-per-ip=0 "${extra[@]}" \
    >"$WORK_DIR/hibikid-$config-$round.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 100); do
    curl -ksf "$http://127.0.0.1:$port/healthz" >/dev/null && break
    sleep 0.1
  done
  if [[ $config == metrics ]]; then
    (while sleep 1; do curl -sf "http://127.0.0.1:$port/metrics" >/dev/null || true; done) &
    scraper_pid=$!
  fi
  "$loadgen" --url "$scheme://127.0.0.1:$port/ws" --connections "$CONNECTIONS" --rooms "$ROOMS" \
    --members-per-room "$MEMBERS" --rate 0 --window "$WINDOW" --warmup "$WARMUP" \
    --duration "$DURATION" --server-pid "$server_pid" >"$WORK_DIR/loadgen-$config-$round.txt"
  tail -n 1 "$WORK_DIR/loadgen-$config-$round.txt" \
    | python3 -c 'import json,sys; d=json.loads(sys.stdin.read().strip().splitlines()[-1]); d["config"]=sys.argv[1]; d["round"]=int(sys.argv[2]); print(json.dumps(d))' \
      "$config" "$round" | tee -a "$results"
  if [[ -n "$scraper_pid" ]]; then kill "$scraper_pid"; wait "$scraper_pid" 2>/dev/null || true; scraper_pid=; fi
  kill "$server_pid"; wait "$server_pid" 2>/dev/null || true; server_pid=
}

for round in $(seq "$ROUNDS"); do
  for config in $CONFIGS; do run_one "$config" "$round"; done
done

python3 - "$results" <<'PY'
import json, sys, statistics as st
rows = [json.loads(l) for l in open(sys.argv[1])]
by = {}
for r in rows: by.setdefault(r["config"], []).append(r)
print(f'{"config":8} {"runs":>4} {"msgs/s":>9} {"p50 ms":>8} {"p99 ms":>8} {"cpu s":>7} {"msgs/cpu-s":>10} {"rss MiB":>8}')
means = {}
for c, rs in by.items():
    m = dict(
        rate=st.mean(r["acked_per_s"] for r in rs),
        p50=st.mean(r["ack_latency"]["p50_ms"] for r in rs),
        p99=st.mean(r["ack_latency"]["p99_ms"] for r in rs),
        cpu=st.mean(r["server"]["cpu_s"] for r in rs),
        eff=st.mean(r["acked_per_s"] * r["duration_s"] / r["server"]["cpu_s"] for r in rs),
        rss=st.mean(r["server"]["rss_mib"] for r in rs))
    means[c] = m
    print(f'{c:8} {len(rs):4} {m["rate"]:9.0f} {m["p50"]:8.1f} {m["p99"]:8.1f} {m["cpu"]:7.2f} {m["eff"]:10.0f} {m["rss"]:8.0f}')
if "base" in means:
    b = means["base"]
    for c, m in means.items():
        if c == "base": continue
        print(f'{c} / base: throughput {m["rate"]/b["rate"]:.3f}, msgs per CPU-second {m["eff"]/b["eff"]:.3f}, RSS {m["rss"]/b["rss"]:.2f}')
PY
echo "results: $results"
