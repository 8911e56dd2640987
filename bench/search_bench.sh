#!/usr/bin/env bash
# The search benchmark in one command: for each message count in N it generates the chat corpus
# into a fresh RocksDB journal (hibiki_search_bench generate: 10,000 rooms, Japanese and English,
# fsync off), builds the search index from the journal's feed with the search projection
# (hibiki_search_bench index: messages/s, index size on disk), runs the query set over it
# (hibiki_search_bench query: p50/p99 of one- and two-word queries over one account's ~100
# rooms, newest first and by relevance), removes the data, and prints one table.
#
#   cmake --build build --target hibiki_search_bench
#   bench/search_bench.sh [BUILD_DIR]                  # default build
#   N="1000000 10000000" bench/search_bench.sh build   # the figures of docs/benchmarks.md
#
# Environment: N ("1000000": message counts, run in turn, smallest first), ROOMS (10000), SEED (1),
# ROOMS_PER_ACCOUNT (100), BATCH (1000: events per apply, the projection runner's default),
# VIA (runner: the projection runner the server runs, the default where the build has it; loop:
# apply on the calling thread),
# QUERIES (200 per kind of query and order), SEARCHERS (20), LIMIT (20), GEN_ARGS, INDEX_ARGS,
# QUERY_ARGS, WEBHOOKS (0; 1 runs bench/webhook_bench.sh afterwards), WORK_DIR (default a new temporary directory under /tmp; each count's data is removed
# after its run unless KEEP_WORK_DIR=1, and kept on failure). A 10 M run needs ~15 GB free there.
set -euo pipefail

build=${1:-build}
bench=$build/bin/hibiki_search_bench
[[ -x "$bench" ]] || { echo "missing $bench: cmake --build $build --target hibiki_search_bench" >&2; exit 2; }

N=${N:-1000000}
ROOMS=${ROOMS:-10000}
SEED=${SEED:-1}
ROOMS_PER_ACCOUNT=${ROOMS_PER_ACCOUNT:-100}
BATCH=${BATCH:-1000}
VIA=${VIA:-}
QUERIES=${QUERIES:-200}
SEARCHERS=${SEARCHERS:-20}
LIMIT=${LIMIT:-20}
WORK_DIR=${WORK_DIR:-$(mktemp -d /tmp/hibiki-search-bench.XXXXXX)}
mkdir -p "$WORK_DIR"
results=$WORK_DIR/results.jsonl
: >"$results"

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(free -g | awk '/Mem:/{print $2}') GB RAM, $(uname -r)"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg); free in $WORK_DIR: $(df -h --output=avail "$WORK_DIR" | tail -1 | tr -d ' ')"

for n in $N; do
  dir=$WORK_DIR/n$n
  rm -rf "$dir"
  echo
  echo "== $n messages, $ROOMS rooms (load average $(cut -d' ' -f1-3 /proc/loadavg))"
  # shellcheck disable=SC2086
  "$bench" generate --dir "$dir" --messages "$n" --rooms "$ROOMS" --seed "$SEED" \
    --rooms-per-account "$ROOMS_PER_ACCOUNT" ${GEN_ARGS:-} | tee "$dir.generate.txt"
  # shellcheck disable=SC2086
  "$bench" index --dir "$dir" --batch "$BATCH" ${VIA:+--via "$VIA"} ${INDEX_ARGS:-} | tee "$dir.index.txt"
  # shellcheck disable=SC2086
  "$bench" query --dir "$dir" --queries "$QUERIES" --searchers "$SEARCHERS" --limit "$LIMIT" \
    ${QUERY_ARGS:-} | tee "$dir.query.txt"
  for step in generate index query; do
    tail -1 "$dir.$step.txt" | jq -c --argjson n "$n" --arg load "$(cut -d' ' -f1-3 /proc/loadavg)" \
      '. + {n: $n, load_after: $load}' >>"$results"
  done
  [[ "${KEEP_WORK_DIR:-0}" == 1 ]] || rm -rf "$dir"
done

echo
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-10s %10s %11s %9s %7s %9s  %-14s %-14s %-14s %-14s\n' messages gen_msg/s index_msg/s index_MB B/doc cpu_us/msg \
  "1w newest" "1w relevance" "2w newest" "2w relevance"
printf '%-10s %10s %11s %9s %7s %9s  %-14s %-14s %-14s %-14s\n' "" "" "" "" "" "" "p50/p99 ms" "p50/p99 ms" "p50/p99 ms" "p50/p99 ms"
for n in $N; do
  jq -rs --argjson n "$n" '
    map(select(.n == $n)) as $r
    | ($r[] | select(.command == "generate")) as $g
    | ($r[] | select(.command == "index")) as $i
    | ($r[] | select(.command == "query")) as $q
    | def cell(c; o): ($q.rows[] | select(.class == c and .order == o))
        | "\(.p50_ms * 10 | round / 10)/\(.p99_ms * 10 | round / 10)";
    [ ($n | tostring), ($g.messages_per_s | round | tostring), ($i.messages_per_s | round | tostring),
      ($i.index_bytes / 1e6 | round | tostring),
      (if $i.documents > 0 then ($i.index_bytes / $i.documents | round | tostring) else "-" end),
      ($i.cpu_seconds * 1e6 / $n | round | tostring),
      cell("1 word (all)"; "newest"), cell("1 word (all)"; "relevance"),
      cell("2 words (all)"; "newest"), cell("2 words (all)"; "relevance") ]
    | "\(.[0])\t\(.[1])\t\(.[2])\t\(.[3])\t\(.[4])\t\(.[5])\t\(.[6])\t\(.[7])\t\(.[8])\t\(.[9])"' "$results" |
    while IFS=$'\t' read -r a b c d e f g h i j; do
      printf '%-10s %10s %11s %9s %7s %9s  %-14s %-14s %-14s %-14s\n' "$a" "$b" "$c" "$d" "$e" "$f" "$g" "$h" "$i" "$j"
    done
done
echo "every step's JSON line: $results"

# The webhook benchmarks too (bench/webhook_bench.sh), with WEBHOOKS=1.
if [[ "${WEBHOOKS:-0}" == 1 ]]; then
  "$(dirname "${BASH_SOURCE[0]}")/webhook_bench.sh" "$build"
fi
