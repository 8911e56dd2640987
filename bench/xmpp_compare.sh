#!/usr/bin/env bash
# hibiki and ejabberd side by side on the same machine, the same scenario and the same rates
# (docs/benchmarks.md, the section "hibiki and ejabberd").
#
#   bench/xmpp_compare.sh [BUILD_DIR]      (default BUILD_DIR: build; needs hibikid and
#                                           hibiki_loadgen built there)
#
# For each server in turn (hibiki, then ejabberd) and each load point (the maximum: --rate 0 with
# WINDOW sends in flight per connection; then every rate in RATES), a fresh server is started on
# a loopback port picked here, hibiki_loadgen runs the scenario against it (CONNECTIONS
# connections, ROOMS rooms of MEMBERS, all online), and the server is stopped. hibiki is driven
# in its own protocol; ejabberd in XMPP MUC over WebSocket (`hibiki_loadgen --protocol xmpp`).
# The same loadgen, the same accounting: acknowledged = the sender's ack (hibiki: the durable
# `ok` reply; ejabberd: the room's reflection of the sender's own message), deliveries = the
# other members' copies.
#
# ejabberd (the Debian package; installed with scripts/install-deps --with-ejabberd when
# missing) runs with a throwaway config written here: one WebSocket listener, internal auth
# (accounts registered in band by the loadgen), mod_muc without mod_mam, no mod_offline, no
# archive; it is not durable, hibiki is (every acknowledged message is fsynced to its journal).
# Limits raised so that ejabberd is not throttled, and only those: the listener's backlog 1024
# (hibikid's is the system's maximum; ejabberd's default drops the set-up's 256 parallel
# handshakes into SYN retries and connect timeouts), no c2s shaper (`c2s_shaper:
# none`), `registration_timeout: infinity` (set-up only: the default allows one registration per
# IP per 600 s), `cache_size: 10000` (the default 1000 entries is fewer than the
# scenario's accounts), MUC `max_users_presence`/`max_user_conferences` above the scenario's needs, and
# Erlang's schedulers without busy-waiting (`+sbwt none +sbwtdcpu none +sbwtdio none`; ERL_EXTRA
# replaces these flags, e.g. ERL_EXTRA="+K true" for Erlang's own busy-waiting defaults): a spinning idle scheduler counts as CPU time and takes the core the load
# generator needs on a small machine. mod_muc's other limits are at their defaults, which do not
# throttle (min_message_interval 0, no room or user shaper); history_size 20 (in memory).
# hibikid runs with its defaults plus open sign-up without rate limit and no per-IP cap.
#
# Environment: CONNECTIONS [1000], ROOMS [100], MEMBERS [10], WINDOW [4], RATES ["1000 3000"],
# SERVERS ["hibiki ejabberd"], WARMUP [3], DURATION [10], ROUNDS [1], WORK_DIR [mktemp -d],
# ERL_EXTRA ["+sbwt none +sbwtdcpu none +sbwtdio none"].
# Run as root (ejabberd then runs as the ejabberd user) or as the ejabberd user.
set -euo pipefail

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$script_dir/.." && pwd)
build=${1:-build}
[[ "$build" == /* ]] || build=$root/$build
hibikid=$build/bin/hibikid
loadgen=$build/bin/hibiki_loadgen

CONNECTIONS=${CONNECTIONS:-1000}
ROOMS=${ROOMS:-100}
MEMBERS=${MEMBERS:-10}
WINDOW=${WINDOW:-4}
RATES=${RATES:-1000 3000}
SERVERS=${SERVERS:-hibiki ejabberd}
WARMUP=${WARMUP:-3}
DURATION=${DURATION:-10}
ROUNDS=${ROUNDS:-1}
ERL_EXTRA=${ERL_EXTRA:-+sbwt none +sbwtdcpu none +sbwtdio none}
WORK_DIR=${WORK_DIR:-$(mktemp -d /tmp/hibiki-xmpp-compare.XXXXXX)}
mkdir -p "$WORK_DIR"
chmod 755 "$WORK_DIR"  # ejabberd runs as its own user and needs to reach its directory
results=$WORK_DIR/results.jsonl
: >"$results"

for bin in "$hibikid" "$loadgen"; do
  [[ -x "$bin" ]] || { echo "xmpp_compare: $bin is missing (build hibikid hibiki_loadgen)" >&2; exit 2; }
done
if [[ " $SERVERS " == *" ejabberd "* ]] && ! command -v ejabberdctl >/dev/null 2>&1; then
  "$root/scripts/install-deps" --with-ejabberd
fi
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

server_pid=  # the process whose CPU is measured (hibikid, or ejabberd's beam.smp)
launcher_pid=
cleanup() {
  if [[ -n "$server_pid" ]]; then
    kill -TERM "$server_pid" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$server_pid" 2>/dev/null || true
  fi
  [[ -n "$launcher_pid" ]] && wait "$launcher_pid" 2>/dev/null || true
  server_pid= launcher_pid=
}
trap cleanup EXIT

start_hibiki() { # dir port
  local dir=$1 port=$2
  "$hibikid" --http="127.0.0.1:$port" --data-dir="$dir/data" --open-signup=true \
    --signup-rate=0 --max-connections-per-ip=0 >"$dir/hibikid.log" 2>&1 &
  server_pid=$! launcher_pid=$!
  for _ in $(seq 600); do
    curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && return 0
    sleep 0.1
  done
  echo "xmpp_compare: hibikid did not start (see $dir/hibikid.log)" >&2
  return 1
}

start_ejabberd() { # dir port
  local dir=$1 port=$2 node
  node="lgbench$$-$(basename "$dir")@localhost"
  mkdir -p "$dir/spool" "$dir/logs"
  cat >"$dir/ejabberd.yml" <<EOF
hosts: [localhost]
loglevel: warning
auth_method: [internal]
auth_password_format: plain
registration_timeout: infinity
cache_size: 10000
shaper_rules:
  c2s_shaper: none
listen:
  - port: $port
    ip: "127.0.0.1"
    module: ejabberd_http
    backlog: 1024
    request_handlers:
      /ws: ejabberd_http_ws
access_rules:
  c2s:
    allow: all
  register:
    allow: all
modules:
  mod_muc:
    access: all
    access_create: all
    max_user_conferences: 1000
    max_users_presence: 1000
    default_room_options:
      mam: false
      persistent: false
      logging: false
  mod_register:
    access: register
    ip_access: all
EOF
  # Erlang distribution on a port of its own and no epmd, so nothing outlives the run.
  cat >"$dir/ejabberdctl.cfg" <<EOF
ERLANG_NODE=$node
ERL_DIST_PORT=$(free_port)
ERL_OPTIONS="$ERL_EXTRA"
EOF
  # As root, become the ejabberd user with setpriv rather than letting ejabberdctl `su` (PAM
  # would reset the descriptor limit raised above to 1024 and 1,000 connections need more).
  local as_ejabberd=()
  if [[ $(id -u) -eq 0 ]]; then
    chown -R ejabberd: "$dir"
    as_ejabberd=(env HOME=/var/lib/ejabberd setpriv --reuid=ejabberd --regid=ejabberd --init-groups)
  fi
  "${as_ejabberd[@]}" ejabberdctl --config "$dir/ejabberd.yml" --ctl-config "$dir/ejabberdctl.cfg" \
    --spool "$dir/spool" --logs "$dir/logs" foreground >"$dir/ejabberd.out" 2>&1 &
  launcher_pid=$!
  for _ in $(seq 300); do
    if [[ -z "$server_pid" ]]; then
      server_pid=$(pgrep -f "beam.smp.* -sname $node " | head -n 1 || true)
    fi
    if [[ -n "$server_pid" ]] && curl -sf "http://127.0.0.1:$port/ws" >/dev/null; then
      return 0
    fi
    kill -0 "$launcher_pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "xmpp_compare: ejabberd did not start (see $dir/ejabberd.out, $dir/logs)" >&2
  return 1
}

run_one() { # server point round
  local server=$1 point=$2 round=$3 port dir rate_args load
  port=$(free_port)
  dir=$WORK_DIR/$server-$point-$round
  mkdir -p "$dir"
  if [[ $point == max ]]; then rate_args=(--rate 0 --window "$WINDOW"); else rate_args=(--rate "$point"); fi
  local proto_args=()
  case $server in
  hibiki) start_hibiki "$dir" "$port" ;;
  ejabberd)
    start_ejabberd "$dir" "$port"
    proto_args=(--protocol xmpp --xmpp-domain localhost)
    ;;
  *) echo "xmpp_compare: unknown server $server" >&2; return 2 ;;
  esac
  load=$(cut -d' ' -f1-3 /proc/loadavg)
  echo "xmpp_compare: $server, $point, round $round (load average $load)" >&2
  "$loadgen" --url "ws://127.0.0.1:$port/ws" "${proto_args[@]}" --connections "$CONNECTIONS" \
    --rooms "$ROOMS" --members-per-room "$MEMBERS" "${rate_args[@]}" --warmup "$WARMUP" \
    --duration "$DURATION" --server-pid "$server_pid" >"$dir/loadgen.txt" 2>"$dir/loadgen.err" ||
    { echo "xmpp_compare: loadgen failed (see $dir/loadgen.err)" >&2; cleanup; return 1; }
  tail -n 1 "$dir/loadgen.txt" | python3 -c '
import json, sys
j = json.loads(sys.stdin.read())
j.update(target=sys.argv[1], point=sys.argv[2], round=int(sys.argv[3]), loadavg=sys.argv[4])
print(json.dumps(j))' "$server" "$point" "$round" "$load" >>"$results"
  cleanup
}

for round in $(seq "$ROUNDS"); do
  for server in $SERVERS; do
    for point in max $RATES; do run_one "$server" "$point" "$round"; done
  done
done

echo "commit $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown), $(nproc) cores," \
  "$CONNECTIONS connections, $ROOMS rooms x $MEMBERS, warm-up $WARMUP s, measured $DURATION s"
python3 - "$results" <<'EOF'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
head = ("server", "load", "round", "acked/s", "deliv/s", "srv cores", "deliv/CPU-s", "loadgen cores",
        "ack p50", "ack p99", "deliv p50", "deliv p99", "errors", "loadavg")
print("| " + " | ".join(head) + " |")
print("|" + "---|" * len(head))
for r in rows:
    cpu = r.get("server") or {}
    srv = r["target"]
    cores = cpu.get("cpu_cores")
    per_cpu = r["delivered_per_s"] * r["duration_s"] / cpu["cpu_s"] if cpu.get("cpu_s") else None
    point = "max (window)" if r["point"] == "max" else f'{int(float(r["point"])):,}/s'
    errors = ", ".join(f"{k} {v}" for k, v in r["errors"].items()) or "none"
    print("| " + " | ".join([
        srv, point, str(r["round"]), f'{r["acked_per_s"]:,.0f}', f'{r["delivered_per_s"]:,.0f}',
        f"{cores:.2f}" if cores is not None else "?",
        f"{per_cpu:,.0f}" if per_cpu else "?",
        f'{r["client"]["cpu_cores"]:.2f}' if r.get("client") else "?",
        f'{r["ack_latency"]["p50_ms"]:.1f} ms', f'{r["ack_latency"]["p99_ms"]:.1f} ms',
        f'{r["delivery_latency"]["p50_ms"]:.1f} ms', f'{r["delivery_latency"]["p99_ms"]:.1f} ms',
        errors, r["loadavg"]]) + " |")
EOF
echo "results: $results"
