#!/bin/sh
# Member import throughput (issue 16 item 1): ROWS members (Persian names, phones, birthdays, points and credit on
# every row: three ledger changes and three audit entries per row) imported offline with
# `loyalty-switch import members`, then the same file again (every row a repeat). Prints the wall time, rows per
# second, the CPU seconds (user + system, all threads) and the peak resident memory of each run. Usage:
# benchmarks/member-import.sh [ROWS] (default 1000000); needs a release build (swift build -c release --product
# loyalty-switch); BINARY=path picks another build, SYNCS=1 counts fdatasync calls with strace (slower).
set -eu
cd "$(dirname "$0")/.."
rows=${1:-1000000}
binary=${BINARY:-.build/release/loyalty-switch}
work=$(mktemp -d /tmp/member-import-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
python3 - "$rows" "$work/members.csv" <<'PY'
import sys
rows, path = int(sys.argv[1]), sys.argv[2]
def luhn(body):
    total = 0
    for position, character in enumerate(reversed(body)):
        digit = int(character)
        if position % 2 == 0:
            digit *= 2
            if digit > 9: digit -= 9
        total += digit
    return body + str((10 - total % 10) % 10)
with open(path, "w", encoding="utf-8", newline="") as out:
    out.write("\ufeffpan,name,phone,birthday,points,credit\r\n")
    for number in range(1, rows + 1):
        out.write(f'{luhn("603799" + str(number).zfill(9))},"عضو شماره {number}",+98912{number % 10000000:07d},'
                  f'19{70 + number % 30}-{1 + number % 12:02d}-{1 + number % 28:02d},{number % 5000},{number % 700}\r\n')
PY
size=$(du -h "$work/members.csv" | cut -f1)
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
