#!/bin/sh
# Backup time and size for a ledger of about 1M members, and authorization latency at a fixed rate with and
# without a backup running, and with a backup capped at CAP bytes per second (`--bytes-per-second`, default
# 50 MiB/s; CAP=0 skips it) (docs/backup.md). Usage: [CAP=N] benchmarks/backup.sh [WORKDIR]  (release build first:
# swift build -c release --product loyalty-switch). Prints the numbers RESULTS.md quotes.
set -eu
BIN=${BIN:-.build/release/loyalty-switch}
WORK=${1:-/tmp/backup-bench}
RATE=${RATE:-5000}
CAP=${CAP:-52428800}
rm -rf "$WORK" && mkdir -p "$WORK"
"$BIN" admin init --data "$WORK/data" --name root > /dev/null
"$BIN" serve --listen 127.0.0.1:28583 --admin-listen 127.0.0.1:28580 --data "$WORK/data" > "$WORK/serve.log" 2>&1 &
SERVE=$!
trap 'kill $SERVE 2>/dev/null || true' EXIT
sleep 2
# 3M purchases over a pool of 1M cards enrol about 950,000 members.
"$BIN" loadgen 127.0.0.1:28583 --count 1500000 --duration 5m --cards 1000000 --seed 1 --quiet > /dev/null
"$BIN" loadgen 127.0.0.1:28583 --count 1500000 --duration 5m --cards 1000000 --seed 2 --quiet > /dev/null
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
/usr/bin/time -f "backup: %e s wall, %U s user, %S s system, %M KiB max RSS" \
    "$BIN" ledger backup --data "$WORK/data" --to "$WORK/backup-idle" | grep -E "files|shard|elapsed"
du -sh --apparent-size "$WORK/backup-idle"; du -sh "$WORK/backup-idle"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
"$BIN" loadgen 127.0.0.1:28583 --rate "$RATE" --duration 30s --warmup 2s --cards 1000000 --seed 3 --quiet \
    | grep -E "throughput|latency from|errors" | sed 's/^/without backup: /'
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
"$BIN" loadgen 127.0.0.1:28583 --rate "$RATE" --duration 30s --warmup 2s --cards 1000000 --seed 4 --quiet \
    > "$WORK/with.txt" &
LOAD=$!
sleep 6
/usr/bin/time -f "backup under load: %e s wall, %U s user, %S s system" \
    "$BIN" ledger backup --data "$WORK/data" --to "$WORK/backup-busy" | grep -E "elapsed"
wait $LOAD || true
grep -E "throughput|latency from|errors" "$WORK/with.txt" | sed 's/^/with backup: /'
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
if [ "$CAP" != 0 ]; then
    "$BIN" loadgen 127.0.0.1:28583 --rate "$RATE" --duration 30s --warmup 2s --cards 1000000 --seed 5 --quiet \
        > "$WORK/capped.txt" &
    LOAD=$!
    sleep 6
    /usr/bin/time -f "capped backup under load: %e s wall, %U s user, %S s system" \
        "$BIN" ledger backup --data "$WORK/data" --to "$WORK/backup-capped" --bytes-per-second "$CAP" \
        | grep -E "elapsed|paced"
    wait $LOAD || true
    grep -E "throughput|latency from|errors" "$WORK/capped.txt" | sed "s/^/with backup capped at $CAP B\/s: /"
    echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
fi
