#!/usr/bin/env bash
# The cluster benchmark (issue 4, item 7): messages/s and latency with 1, 2 and 3 hibikid nodes
# on this machine, the server CPU they cost (per-CPU-second efficiency: the nodes share the
# machine's cores, so throughput alone hides what a node costs), and the cost of a cross-node hop
# (send->ack latency split by whether the room's shard is on the sender's node). See
# bench/README.md, "Cluster benchmark".
#
#   bench/cluster_bench.sh [BUILD_DIR]     (default BUILD_DIR: build; needs bin/hibikid and
#                                           bin/hibiki_loadgen in it)
#
# It starts a private Kafka broker (scripts/test-kafka, free ports), then for each N in $NODES:
# N nodes on a fresh topic and fresh data dirs (free ports), waits until every node's
# /api/cluster shows all N nodes, every shard assigned once and served ("ready") by its owner,
# runs hibiki_loadgen against all N nodes at a fixed rate and at saturation, prints one line per
# run, and stops the nodes. The broker stops at the end (or on Ctrl-C / error).
#
# Environment (defaults in brackets):
#   NODES          node counts to run                              ["1 2 3"]
#   RATE           the fixed-rate runs' total messages/s           [2000]
#   CONNECTIONS    loadgen connections (spread over the nodes)     [600]
#   ROOMS          rooms                                           [60]
#   MEMBERS        members per room                                [10]
#   WINDOW         sends in flight per connection at saturation    [4]
#   WARMUP         seconds of load before measuring                [5]
#   DURATION       measured seconds                                [15]
#   PARTITIONS     journal partitions (= shards)                   [16]
#   MODES          which runs: "rate", "max" or both               ["rate max"]
#   SETTLE_TIMEOUT seconds to wait for the shards to be served     [180]
#   WORK_DIR       broker, node data and logs, results.jsonl       [a new mktemp -d]
#   KEEP_WORK_DIR  1 = keep WORK_DIR afterwards (it is printed)    [0; kept anyway on failure]
#   HIBIKID_ARGS   more flags for every node (--cluster-insecure: the cluster port over plain
#                  TCP, to measure what mutual TLS costs; by default the nodes use certificates
#                  made in WORK_DIR/tls by scripts/cluster-certs)
#   LOADGEN_ARGS   more flags for hibiki_loadgen
#
# Output: a table on stdout, one line per run (msgs/cpu: per CPU-second of the nodes; +broker:
# of the nodes and the broker together); every run's full JSON line (the loadgen's, with
# "nodes" and "run" added) in WORK_DIR/results.jsonl; node logs in WORK_DIR/nN-<nodes>.log.
set -euo pipefail

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$script_dir/.." && pwd)
build=${1:-build}
[[ "$build" == /* ]] || build=$root/$build
hibikid=$build/bin/hibikid
loadgen=$build/bin/hibiki_loadgen

NODES=${NODES:-1 2 3}
RATE=${RATE:-2000}
CONNECTIONS=${CONNECTIONS:-600}
ROOMS=${ROOMS:-60}
MEMBERS=${MEMBERS:-10}
WINDOW=${WINDOW:-4}
WARMUP=${WARMUP:-5}
DURATION=${DURATION:-15}
PARTITIONS=${PARTITIONS:-16}
MODES=${MODES:-rate max}
SETTLE_TIMEOUT=${SETTLE_TIMEOUT:-180}
KEEP_WORK_DIR=${KEEP_WORK_DIR:-0}
HIBIKID_ARGS=${HIBIKID_ARGS:-}
LOADGEN_ARGS=${LOADGEN_ARGS:-}
readonly host=127.0.0.1

say() { echo "cluster_bench: $*" >&2; }
die() {
  echo "cluster_bench: error: $*" >&2
  exit 1
}

for v in RATE CONNECTIONS ROOMS MEMBERS WINDOW WARMUP DURATION PARTITIONS SETTLE_TIMEOUT; do
  [[ "${!v}" =~ ^[0-9]+([.][0-9]+)?$ ]] || die "$v must be a number, got '${!v}'"
done
for n in $NODES; do
  [[ "$n" =~ ^[1-9]$ ]] || die "NODES must list node counts from 1 to 9, got '$n'"
done
for m in $MODES; do
  [[ "$m" == rate || "$m" == max ]] || die "MODES may hold 'rate' and 'max', got '$m'"
done
[[ -x "$hibikid" ]] || die "$hibikid not found: build it (cmake --build $build --target hibikid)"
[[ -x "$loadgen" ]] || die "$loadgen not found: build it (cmake --build $build --target hibiki_loadgen)"

work=${WORK_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/hibiki-cluster-bench.XXXXXX")}
mkdir -p "$work"
work=$(realpath -- "$work")
results=$work/results.jsonl
: >"$results"
kafka_dir=$work/kafka
node_pids=()
node_starts=()
http_ports=()
cluster_ports=()
topic=""
failed=1

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Stops the nodes this script started, by their pids: SIGTERM, SIGKILL after 30 s.
stop_nodes() {
  local pid
  for pid in "${node_pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  local deadline=$((SECONDS + 30))
  for pid in "${node_pids[@]}"; do
    while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.2; done
    if kill -0 "$pid" 2>/dev/null; then
      say "node pid $pid did not stop within 30 s of SIGTERM; SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
  done
  node_pids=()
}

cleanup() {
  stop_nodes
  if [[ -f "$kafka_dir/env" ]]; then "$root/scripts/test-kafka" stop "$kafka_dir" >/dev/null 2>&1 || true; fi
  if ((failed)); then
    say "failed; logs kept in $work"
  elif [[ "$KEEP_WORK_DIR" == 1 || -n "${WORK_DIR:-}" ]]; then
    say "results and logs in $work"
  else
    rm -rf "$work"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Polls every node's /api/cluster until each shows the N nodes, every shard assigned to exactly
# one of them, none unassigned, and its own shards "ready" (served) in its journal status.
wait_served() {
  local n=$1
  shift
  local deadline=$((SECONDS + SETTLE_TIMEOUT)) why="" i
  while ((SECONDS < deadline)); do
    for i in "${!node_pids[@]}"; do
      kill -0 "${node_pids[$i]}" 2>/dev/null && continue
      # A node may fail to open a topic created a moment ago (its partitions' leaders not
      # elected yet: "Not leader for partition"): start it again, a few times.
      if ((node_starts[i] < 4)) && grep -q "cannot open the Kafka journal" "$work/n$((i + 1))-$n.log"; then
        wait "${node_pids[$i]}" 2>/dev/null || true
        say "n$((i + 1)) could not open the journal yet; starting it again"
        sleep 2
        launch_node "$n" "$i"
        continue
      fi
      die "n$((i + 1)) (pid ${node_pids[$i]}) exited while starting (logs in $work)"
    done
    if why=$(python3 - "$n" "$@" <<'PY'
import json, os, sys, urllib.request
n = int(sys.argv[1])
auth = {"Authorization": "Bearer " + os.environ["HIBIKI_ADMIN_TOKEN"]}
for port in sys.argv[2:]:
    try:
        req = urllib.request.Request(f"http://127.0.0.1:{port}/api/cluster", headers=auth)
        with urllib.request.urlopen(req, timeout=3) as r:
            j = json.load(r)
    except Exception as e:
        print(f"port {port}: {e}"); sys.exit(1)
    if not j.get("clustered"):
        print(f"port {port}: not clustered"); sys.exit(1)
    nodes = j.get("nodes") or []
    count = j.get("partition_count") or 0
    if count < 1:
        print(f"{j.get('node')}: no partition_count"); sys.exit(1)
    if len(nodes) != n or not all(x.get("reachable") for x in nodes):
        print(f"{j.get('node')}: sees {len(nodes)} nodes of {n}"); sys.exit(1)
    if j.get("unassigned"):
        print(f"{j.get('node')}: unassigned {j['unassigned']}"); sys.exit(1)
    shards = sorted(p for x in nodes for p in (x.get("shards") or []))
    if shards != list(range(count)):
        print(f"{j.get('node')}: shards not assigned once each"); sys.exit(1)
    me = next((x for x in nodes if x.get("self")), None)
    states = {p["partition"]: p["state"] for p in ((me or {}).get("journal") or {}).get("partitions", [])}
    waiting = [p for p in me.get("shards", []) if states.get(p) != "ready"] if me else ["self"]
    if waiting:
        print(f"{j.get('node')}: shards not served yet {waiting}"); sys.exit(1)
PY
); then
      return 0
    fi
    sleep 1
  done
  die "the cluster of $n did not settle within $SETTLE_TIMEOUT s: $why (logs in $work)"
}

# One loadgen run; its JSON line (with nodes and run added) goes to results.jsonl and one row
# of the table to stdout.
run_loadgen() {
  local n=$1 run=$2
  shift 2
  local out=$work/loadgen-$n-$run.out
  # shellcheck disable=SC2206 # LOADGEN_ARGS is a list of flags
  local extra=($LOADGEN_ARGS)
  "$loadgen" "$@" --connections "$CONNECTIONS" --rooms "$ROOMS" --members-per-room "$MEMBERS" \
    --warmup "$WARMUP" --duration "$DURATION" --hops "${broker_args[@]}" "${extra[@]}" >"$out" 2>"$work/loadgen-$n-$run.err" ||
    die "hibiki_loadgen failed (nodes $n, $run): $(tail -n 3 "$work/loadgen-$n-$run.err")"
  python3 - "$n" "$run" "$results" "$out" <<'PY'
import json, sys
n, run, results, out = sys.argv[1:5]
with open(out) as f:
    j = json.loads(f.read().strip().splitlines()[-1])
j["nodes"] = int(n)
j["run"] = run
with open(results, "a") as f:
    f.write(json.dumps(j) + "\n")
def lat(x):
    if not x or not x.get("count"):
        return "%7s %8s" % ("-", "-")
    return "%7.2f %8.2f" % (x["p50_ms"], x["p99_ms"])
def num(v, fmt):
    return fmt % v if v is not None else fmt.replace(".2f", "s").replace(".0f", "s") % "-"
cpu = (j.get("server") or {}).get("cpu_s")
h = j.get("hops") or {}
errors = sum(j.get("errors", {}).values())
print("%5s %10s %9.0f %s %s %s %s %s %s %6s %6d" % (
    n, run, j["acked_per_s"], lat(j["ack_latency"]), num(cpu, "%7.2f"),
    num(j.get("acked_per_cpu_s"), "%9.0f"), num(j.get("acked_per_cpu_s_with_broker"), "%9.0f"),
    lat(h.get("ack_latency_local")),
    lat(h.get("ack_latency_remote")), "yes" if h.get("stable", False) else "NO", errors))
PY
}

# Starts node i+1 of n (ports and topic from http_ports, cluster_ports, topic); its pid goes to
# node_pids[i], its log to WORK_DIR/n<i+1>-<n>.log.
launch_node() {
  local n=$1 i=$2
  mkdir -p "$work/data-$n-n$((i + 1))"
  # shellcheck disable=SC2206 # HIBIKID_ARGS is a list of flags
  local extra=($HIBIKID_ARGS) tls=()
  if [[ " $HIBIKID_ARGS " != *" --cluster-insecure"* ]]; then
    "$root/scripts/cluster-certs" "$work/tls" "n$((i + 1))" >/dev/null
    tls=("--cluster-tls-cert=$work/tls/n$((i + 1)).crt" "--cluster-tls-key=$work/tls/n$((i + 1)).key"
      "--cluster-ca=$work/tls/ca.crt")
  fi
  "$hibikid" --journal=kafka "--kafka-brokers=$brokers" "--kafka-topic=$topic" \
    "--kafka-partitions=$PARTITIONS" "--cluster=$host:${cluster_ports[$i]}" \
    "--http=$host:${http_ports[$i]}" "--data-dir=$work/data-$n-n$((i + 1))" \
    "--node-id=n$((i + 1))" --open-signup=true --signup-rate=0 --max-connections=0 --max-connections-per-ip=0 \
    "--admin-token-file=$work/admin-token" "${tls[@]}" "${extra[@]}" </dev/null >>"$work/n$((i + 1))-$n.log" 2>&1 &
  node_pids[i]=$!
  node_starts[i]=$((${node_starts[i]:-0} + 1))
}

ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
say "work dir $work"
# The nodes' operator endpoints (/api/cluster) want a token: one for the run, readable by its
# owner only; the loadgen and the polling below send it (HIBIKI_ADMIN_TOKEN).
(umask 077 && od -An -tx1 -N32 /dev/urandom | tr -d ' \n' >"$work/admin-token")
HIBIKI_ADMIN_TOKEN=$(<"$work/admin-token")
export HIBIKI_ADMIN_TOKEN
say "starting a private Kafka broker"
"$root/scripts/test-kafka" start "$kafka_dir" >"$work/kafka-start.log" 2>&1 ||
  die "the broker did not start: $(tail -n 5 "$work/kafka-start.log")"
brokers=$(<"$kafka_dir/bootstrap")
broker_args=()
broker_pid=$(cat "$kafka_dir/broker/kafka.pid" 2>/dev/null || true)
if [[ "$broker_pid" =~ ^[0-9]+$ ]]; then broker_args=(--broker-pid "$broker_pid"); fi
say "broker at $brokers (pid ${broker_pid:-unknown})"

printf '%5s %10s %9s %7s %8s %7s %9s %9s %7s %8s %7s %8s %6s %6s\n' nodes run "acked/s" p50ms \
  p99ms cpu_s "msgs/cpu" "+broker" loc_p50 loc_p99 rem_p50 rem_p99 stable errors
for n in $NODES; do
  topic=bench-$$-$(date +%s)-n$n
  http_ports=()
  cluster_ports=()
  node_starts=()
  for ((i = 0; i < n; i++)); do
    hp=$(free_port)
    cp=$(free_port)
    while [[ "$cp" == "$hp" ]]; do cp=$(free_port); done
    http_ports+=("$hp")
    cluster_ports+=("$cp")
    launch_node "$n" "$i"
  done
  say "$n node(s) started (http ports ${http_ports[*]}); waiting for every shard to be served"
  wait_served "$n" "${http_ports[@]}"
  url_args=()
  pid_args=()
  for ((i = 0; i < n; i++)); do
    url_args+=(--url "ws://$host:${http_ports[$i]}/ws")
    pid_args+=(--server-pid "${node_pids[$i]}")
  done
  for mode in $MODES; do
    if [[ "$mode" == rate ]]; then
      run_loadgen "$n" "rate-$RATE" "${url_args[@]}" "${pid_args[@]}" --rate "$RATE"
    else
      run_loadgen "$n" max "${url_args[@]}" "${pid_args[@]}" --rate 0 --window "$WINDOW"
    fi
  done
  stop_nodes
done
failed=0
