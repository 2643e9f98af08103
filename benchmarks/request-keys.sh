#!/usr/bin/env bash
# Request keys remembered by time (issue 12, item 1). Two parts, numbers for benchmarks/RESULTS.md:
#
# 1. The key store at KEYS keys (default 10,000,000; the issue's goal is 100,000,000 — about 38 GB of disk):
#    ledger-bench --only keys: RAM and disk per key, new-key and repeat throughput on the shard, merge cost.
# 2. Exactly-once at a distance, end to end over TCP: for each N in DISTANCES (default 1,000,000 and
#    10,000,000) a purchase, an early reversal and a purchase to reverse, then N loadgen purchases, SIGKILL,
#    restart, and the repeat (same bytes), the late original (05), the reversal (00, points back)
#    (benchmarks/request-keys-client.py, pyiso8583 4.0.1).
#
#     benchmarks/request-keys.sh [--keys N] [--distances "N M"] [--skip-store] [--skip-distance]
#
# Bounded: each step under `timeout` (STEP_SECONDS, default 3600); data under $WORK (default /tmp/request-keys).
set -euo pipefail
cd "$(dirname "$0")/.."
source benchmarks/lib.sh
KEYS=10000000
DISTANCES="1000000 10000000"
STORE=1
DISTANCE=1
while [ $# -gt 0 ]; do
    case "$1" in
        --keys) KEYS="$2"; shift 2 ;;
        --distances) DISTANCES="$2"; shift 2 ;;
        --skip-store) STORE=0; shift ;;
        --skip-distance) DISTANCE=0; shift ;;
        *) echo "usage: $0 [--keys N] [--distances \"N M\"] [--skip-store] [--skip-distance]" >&2; exit 2 ;;
    esac
done
WORK=${WORK:-/tmp/request-keys}
STEP_SECONDS=${STEP_SECONDS:-3600}
SCRATCH=.build-release
swift build -c release --scratch-path "$SCRATCH" --product ledger-bench >&2
swift build -c release --scratch-path "$SCRATCH" --product loyalty-switch >&2
BIN="$SCRATCH/release"
rm -rf "$WORK"; mkdir -p "$WORK"

if [ "$STORE" = 1 ]; then
    echo "## key store at $KEYS keys ($(date -u +%FT%TZ), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg))"
    timeout "$STEP_SECONDS" "$BIN/ledger-bench" --only keys --keys "$KEYS" --directory "$WORK/bench"
fi

if [ "$DISTANCE" = 1 ]; then
    for N in $DISTANCES; do
        data="$WORK/data-$N"
        config="$WORK/switch.json"
        echo '{"admin": null, "latencyBudgetMs": 1000}' > "$config"
        start_switch() {
            "$BIN/loyalty-switch" serve --config "$config" --data "$data" --listen 127.0.0.1:0 2> "$WORK/switch-$N-$1.log" &
            pid=$!
            port=$(port_from_log "$WORK/switch-$N-$1.log" "listening on " 60) && return 0
            kill -9 "$pid"; exit 1
        }
        start_switch 1
        python3 benchmarks/request-keys-client.py "$port" before "$WORK/state-$N.json"
        started=$(date +%s)
        timeout "$STEP_SECONDS" "$BIN/loyalty-switch" loadgen "127.0.0.1:$port" --count "$N" --duration 3600s \
            --connections 8 --in-flight 32 --cards 100000 --quiet --json "$WORK/loadgen-$N.json" > /dev/null
        elapsed=$(( $(date +%s) - started ))
        kill -9 "$pid"; wait "$pid" 2>/dev/null || true
        start_switch 2
        result=$(python3 benchmarks/request-keys-client.py "$port" after "$WORK/state-$N.json") && status=ok || status=FAILED
        kill -9 "$pid"; wait "$pid" 2>/dev/null || true
        runs=$(find "$data" -name 'keys-*.run' | wc -l)
        bytes=$(du -sb "$data" | cut -f1)
        echo "| $N | ${elapsed} s | $runs runs, $((bytes / 1048576)) MiB in the data directory | $result | $status |"
    done
fi
rm -rf "$WORK"
