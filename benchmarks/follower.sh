#!/bin/sh
# Follower lag and CPU per 100k records while the primary serves a fixed rate (docs/replication.md).
# Usage: [RATE=N] [DURATION=30s] [MEMBERS=100000] [CHECKPOINT_RECORDS=N] [SEGMENT_BYTES=N] [BIN=...]
#        benchmarks/follower.sh [WORKDIR]
# (release build first: swift build -c release --product loyalty-switch). The switch listens on port 0; its port
# is read from its log. Prints the numbers RESULTS.md quotes: the follower's status lines summed (records copied,
# its CPU by getrusage), the largest lag seen, and whether both ledgers verify to the same books; then the standby's
# segments and size, and the time a promotion (`serve --data STANDBY`) takes to listen, with what it replayed.
# CHECKPOINT_RECORDS is the follower's --checkpoint-records (0: no standby checkpoints; unset: its default).
set -eu
BIN=${BIN:-.build/release/loyalty-switch}
WORK=${1:-/tmp/follower-bench}
RATE=${RATE:-5000}
DURATION=${DURATION:-30s}
MEMBERS=${MEMBERS:-100000}
rm -rf "$WORK" && mkdir -p "$WORK"
LIMITS=
if [ -n "${SEGMENT_BYTES:-}" ]; then LIMITS="\"limits\": {\"logSegmentBytes\": $SEGMENT_BYTES},"; fi
cat > "$WORK/config.json" <<JSON
{"listeners": [{"address": "127.0.0.1:0"}], "admin": null, $LIMITS "shards": 2,
 "standby": {"directory": "$WORK/standby"}}
JSON
"$BIN" serve --config "$WORK/config.json" --data "$WORK/data" > "$WORK/serve.log" 2>&1 &
SERVE=$!
trap 'kill $SERVE $FOLLOW 2>/dev/null || true' EXIT
FOLLOW=
source "$(dirname "$0")/lib.sh"
PORT=$(port_from_log "$WORK/serve.log" "listening on " 30)
# Members first, so the run measures steady traffic, not enrolments.
"$BIN" loadgen "127.0.0.1:$PORT" --count "$MEMBERS" --duration 2m --cards "$MEMBERS" --seed 1 --quiet > /dev/null || true
"$BIN" ledger follow --data "$WORK/data" --to "$WORK/standby" --status-interval-ms 1000 \
    ${CHECKPOINT_RECORDS:+--checkpoint-records "$CHECKPOINT_RECORDS"} > "$WORK/follow.out" 2>&1 &
FOLLOW=$!
for _ in $(seq 1 600); do grep -q "follow: following" "$WORK/follow.out" && break; sleep 0.1; done
sleep 2
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
SKIP=$(grep -c "^follow: lag" "$WORK/follow.out" || true)
"$BIN" loadgen "127.0.0.1:$PORT" --rate "$RATE" --duration "$DURATION" --cards "$MEMBERS" --seed 2 --quiet \
    | grep -E "throughput|latency from|errors" | sed 's/^/primary: /'
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
sleep 2
kill -TERM "$FOLLOW"; wait "$FOLLOW" || true
kill -TERM "$SERVE"; wait "$SERVE" || true
# Status lines written while the load ran (the seed's catch-up before it is skipped).
tail -n +"$((SKIP + 2))" "$WORK/follow.out" | grep "^follow: lag" | awk '
    { for (i = 1; i <= NF; i++) { if ($i == "copied") records += $(i + 1); if ($i == "cpu") cpu += $(i + 1) }
      if ($3 + 0 > lag) lag = $3 + 0; lines++ }
    END { per = records > 0 ? cpu * 100000 / records : 0
          printf "follower during the load: %d status lines, %d records copied, cpu %d ms = %.1f ms per 100k records, largest lag %d records\n", lines, records, cpu, per, lag }'
grep "stopped at" "$WORK/follow.out"
"$BIN" ledger verify --data "$WORK/data" | grep -E "^(members|balance|idempotency|shard)" | sed 's/snapshot at sequence [0-9]*, //' > "$WORK/primary.books"
"$BIN" ledger verify --data "$WORK/standby" | grep -E "^(members|balance|idempotency|shard)" | sed 's/snapshot at sequence [0-9]*, //' > "$WORK/standby.books"
if cmp -s "$WORK/primary.books" "$WORK/standby.books"; then echo "books: equal ($(tr '\n' ';' < "$WORK/standby.books"))"; else
    echo "books differ:"; diff "$WORK/primary.books" "$WORK/standby.books" || true; fi
echo "standby checkpoints: $(grep -c "^follow: checkpoint of shard" "$WORK/follow.out" || true) (last: $(grep "^follow: checkpoint of shard" "$WORK/follow.out" | tail -n 1))"
echo "standby: $(ls "$WORK"/standby/shard-*/wal-*.log | wc -l) segments, $(du -sm "$WORK/standby" | cut -f1) MiB"
# Promotion: the standby served with the primary's configuration (without the standby section).
cat > "$WORK/promoted.json" <<JSON
{"listeners": [{"address": "127.0.0.1:0"}], "admin": null, $LIMITS "shards": 2}
JSON
START=$(date +%s%N)
"$BIN" serve --config "$WORK/promoted.json" --data "$WORK/standby" > "$WORK/promoted.log" 2>&1 &
SERVE=$!
port_from_log "$WORK/promoted.log" "listening on " 600 > /dev/null
echo "promotion: listening after $(( ($(date +%s%N) - START) / 1000000 )) ms"
grep -o "shard [0-9]*: recovered snapshot [0-9]* + [0-9]* records[^(]*" "$WORK/promoted.log" | sed 's/^/promotion: /'
kill -TERM "$SERVE"; wait "$SERVE" || true
