#!/bin/sh
# Two release builds side by side at saturation (embedded default configuration and program, a fresh data
# directory per run, rounds interleaved): answers/s, the switch's CPU seconds over the run, errors. A quick check
# that a change costs nothing on the request path, for the shared 2-core machine (loadgen runs on the same cores).
# Usage: benchmarks/build-ab.sh BEFORE_BINARY AFTER_BINARY [ROUNDS] (default 3)
set -eu
before=$1; after=$2; rounds=${3:-3}
run() {
    bin=$1; label=$2; dir=$(mktemp -d)
    "$bin" serve --data "$dir/data" --listen 127.0.0.1:29101 --admin-listen 127.0.0.1:29102 > "$dir/log" 2>&1 &
    pid=$!
    sleep 1.5
    out=$("$bin" loadgen 127.0.0.1:29101 --connections 8 --in-flight 32 --duration 6s --warmup 1s \
        --mix purchase=70,balance=20,redeem=10 2>&1)
    cpu=$(awk '{print ($14 + $15) / 100}' "/proc/$pid/stat")
    kill -TERM "$pid"; wait "$pid" || true
    echo "$label | $(echo "$out" | grep '^throughput') | switch CPU ${cpu} s | $(echo "$out" | grep '^errors')"
    rm -rf "$dir"
}
round=1
while [ "$round" -le "$rounds" ]; do
    run "$before" "round $round before"
    run "$after" "round $round after"
    round=$((round + 1))
done
