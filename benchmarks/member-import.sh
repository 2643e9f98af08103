#!/bin/sh
# Member import throughput (issue 16 item 1): ROWS members (Persian names, phones, birthdays, points and credit on
# every row: three ledger changes and three audit entries per row) imported offline with
# `loyalty-switch import members`, then the same file again (every row a repeat); then the same file uploaded to a
# running switch on a fresh data directory (`curl --data-binary @FILE -H "Content-Type: text/csv"` to
# POST /v1/imports/members, streamed to disk as it arrives) and followed with GET /v1/imports/{id} until done.
# Prints the wall time, rows per second, the CPU seconds (user + system, all threads) and the peak resident memory
# of each run (for the upload: the switch's, with its resident memory before the upload beside it). Usage:
# benchmarks/member-import.sh [ROWS] (default 1000000); needs a release build (swift build -c release --product
# loyalty-switch); BINARY=path picks another build, MODE=cli|http|both (default both), SYNCS=1 counts fdatasync
# calls of the command-line runs with strace (slower).
set -eu
cd "$(dirname "$0")/.."
rows=${1:-1000000}
binary=${BINARY:-.build/release/loyalty-switch}
work=$(mktemp -d /tmp/member-import-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
python3 - "$rows" "$work/members.csv" "$(dirname "$0")" <<'PY'
import sys
rows, path = int(sys.argv[1]), sys.argv[2]
sys.path.insert(0, sys.argv[3])
from luhn import luhn
with open(path, "w", encoding="utf-8", newline="") as out:
    out.write("\ufeffpan,name,phone,birthday,points,credit\r\n")
    for number in range(1, rows + 1):
        out.write(f'{luhn("603799" + str(number).zfill(9))},"عضو شماره {number}",+98912{number % 10000000:07d},'
                  f'19{70 + number % 30}-{1 + number % 12:02d}-{1 + number % 28:02d},{number % 5000},{number % 700}\r\n')
PY
size=$(du -h "$work/members.csv" | cut -f1)
mode=${MODE:-both}
[ "$mode" = http ] || {
"$binary" admin init --data "$work/data" --name bench >/dev/null 2>&1
for run in first repeat; do
    trace=""
    if [ "${SYNCS:-0}" = 1 ]; then trace="strace -f -c -e trace=fdatasync,fsync -o $work/syncs"; fi
    start=$(date +%s.%N)
    /usr/bin/time -f "%M %U %S" -o "$work/usage" $trace "$binary" import members "$work/members.csv" \
        --data "$work/data" >"$work/out" 2>"$work/progress"
    end=$(date +%s.%N)
    seconds=$(echo "$end - $start" | bc)
    read -r rss user system <"$work/usage"
    cpu=$(echo "$user + $system" | bc)
    echo "$run run: $rows rows ($size) in ${seconds}s: $(echo "$rows / $seconds" | bc) rows/s, CPU ${cpu}s" \
        "($(echo "scale=1; $cpu * 100000 / $rows" | bc) s per 100k rows), peak RSS $((rss / 1024)) MiB, load $(cut -d' ' -f1-3 /proc/loadavg)"
    if [ -n "$trace" ]; then echo "  syncs: $(awk '/fdatasync|fsync/ {print $NF, $4}' "$work/syncs" | tr '\n' ' ')"; fi
    echo "  $(cat "$work/out")"
done
echo "data directory: $(du -sh "$work/data" | cut -f1) (log, audit journal and private file)"
}
[ "$mode" = cli ] && exit 0

# The upload: a switch on a fresh data directory, its admin port read from its log line (port 0).
token=$("$binary" admin init --data "$work/http" --name bench 2>/dev/null | sed -n 's/^token: //p')
echo '{"admin": {"listen": "127.0.0.1:0", "requestsPerSecondPerToken": 100000}, "listeners": [{"address": "127.0.0.1:0"}]}' \
    >"$work/config.json"
"$binary" serve --config "$work/config.json" --data "$work/http" 2>"$work/switch.log" >/dev/null &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$work"' EXIT
port=
for _ in $(seq 1 600); do
    port=$(sed -n 's|.*admin API listening on http://127.0.0.1:\([0-9]*\).*|\1|p' "$work/switch.log" | head -n 1)
    [ -n "$port" ] && break
    sleep 0.1
done
[ -n "$port" ] || { echo "the switch did not start:"; cat "$work/switch.log"; exit 1; }
ticks=$(getconf CLK_TCK)
source "$(dirname "$0")/lib.sh"
rss_before=$(awk '/^VmRSS/ {print int($2 / 1024)}' "/proc/$pid/status")
cpu_before=$(cpu_ticks "$pid")
start=$(date +%s.%N)
answer=$(curl -sS -X POST -H "Authorization: Bearer $token" -H "Content-Type: text/csv" \
    --data-binary @"$work/members.csv" -w ' upload %{time_total}s' "http://127.0.0.1:$port/v1/imports/members")
id=$(echo "$answer" | sed -n 's/.*"id":"\(imp_[0-9a-f]*\)".*/\1/p')
[ -n "$id" ] || { echo "upload refused: $answer"; exit 1; }
state=running
while [ "$state" = running ]; do
    sleep 0.2
    status=$(curl -sS -H "Authorization: Bearer $token" "http://127.0.0.1:$port/v1/imports/$id")
    state=$(echo "$status" | sed -n 's/.*"state":"\([a-z]*\)".*/\1/p')
done
end=$(date +%s.%N)
seconds=$(echo "$end - $start" | bc)
cpu=$(echo "scale=2; ($(cpu_ticks "$pid") - $cpu_before) / $ticks" | bc)
peak=$(awk '/^VmHWM/ {print int($2 / 1024)}' "/proc/$pid/status")
imported=$(echo "$status" | sed -n 's/.*"rowsImported":\([0-9]*\).*/\1/p')
echo "http upload: $rows rows ($size) in ${seconds}s ($(echo "$answer" | sed -n 's/.* upload \(.*\)/\1/p') of it the upload):" \
    "$(echo "$rows / $seconds" | bc) rows/s, switch CPU ${cpu}s ($(echo "scale=1; $cpu * 100000 / $rows" | bc) s per 100k rows)," \
    "switch RSS ${rss_before} MiB before, peak ${peak} MiB; state $state, $imported imported; load $(cut -d' ' -f1-3 /proc/loadavg)"
