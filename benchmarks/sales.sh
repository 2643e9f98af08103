#!/bin/bash
# Sales store benchmark (issue 16, items 2 and 4): what one sale costs on disk in DATA/sales/, and the CPU the
# sales indexer spends per 100,000 sales, measured by the CLI's catch-up (the indexer's own step, reading the log
# and writing the store with its fdatasyncs) against a second run that finds the store caught up.
#
#   benchmarks/sales.sh [--sales N]      (default 100000; SWITCH=path to the binary, default the release build)
#
# Purchases come from loadgen (closed loop, the embedded program, no basket). The switch is then stopped, DATA/sales
# deleted, and `loyalty-switch report sales` run twice: the first run catches the store up from the log and writes
# the CSV, the second only writes the CSV; the difference of their CPU times is the indexer's. Needs curl.
set -eu
cd "$(dirname "$0")/.."
sales=100000
while [ $# -gt 0 ]; do
    case "$1" in
        --sales) sales="$2"; shift ;;
        *) echo "usage: benchmarks/sales.sh [--sales N]" >&2; exit 2 ;;
    esac
    shift
done
switch=${SWITCH:-.build/release/loyalty-switch}
work=$(mktemp -d /tmp/loyalty-sales-bench.XXXXXX)
pid=""
cleanup() {
    [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT
"$switch" admin init --data "$work/data" --name bench >/dev/null
printf '{"admin": {"listen": "127.0.0.1:0"}}\n' >"$work/config.json"
"$switch" serve --config "$work/config.json" --data "$work/data" --listen 127.0.0.1:0 >"$work/switch.log" 2>&1 &
pid=$!
port=
for _ in $(seq 600); do
    port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9][0-9]*\) dialect.*/\1/p' "$work/switch.log" | head -1)
    [ -n "$port" ] && break
    kill -0 "$pid" 2>/dev/null || { cat "$work/switch.log" >&2; exit 1; }
    sleep 0.1
done
[ -n "$port" ] || { echo "the switch never logged its ISO port" >&2; exit 1; }
"$switch" loadgen "127.0.0.1:$port" --quiet --count "$sales" --duration 30m --in-flight 64 --cards 10000 \
    >"$work/loadgen.txt" 2>&1 || { cat "$work/loadgen.txt" >&2; exit 1; }
kill -TERM "$pid"; wait "$pid" 2>/dev/null || true
pid=""
rm -rf "$work/data/sales"

# cpu_seconds COMMAND...: runs it and prints user+system CPU seconds (from /usr/bin/time's format).
cpu_seconds() {
    /usr/bin/time -f '%U %S' -o "$work/time.txt" "$@" >/dev/null 2>"$work/cli.txt"
    awk '{print $1 + $2}' "$work/time.txt"
}
first=$(cpu_seconds "$switch" report sales --data "$work/data" --out "$work/sales.csv")
read_records=$(sed -n 's/.*caught up from the log (\([0-9]*\) records read).*/\1/p' "$work/cli.txt")
store_bytes=$(du -sb "$work/data/sales" | cut -f1)
second=$(cpu_seconds "$switch" report sales --data "$work/data" --out "$work/sales2.csv")
rows=$(($(wc -l <"$work/sales.csv") - 1))
echo "date $(date -u +%FT%TZ), load average $(cut -d' ' -f1-3 /proc/loadavg), binary $switch"
echo "sales in the store: $rows (log records read by the catch-up: $read_records)"
echo "DATA/sales: $store_bytes bytes = $((store_bytes / rows)) bytes per sale (160-byte entry; no basket)"
awk -v a="$first" -v b="$second" -v n="$rows" 'BEGIN {
    printf "report with catch-up: %.2f s CPU; report alone: %.2f s CPU; indexer: %.2f s CPU per 100,000 sales\n",
        a, b, (a - b) * 100000 / n }'
