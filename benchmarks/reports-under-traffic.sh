#!/bin/bash
# Reports under steady traffic (issue 16 item 2): MEMBERS members imported offline, then the switch serves purchases
# at a fixed RATE on those members' cards while `members` exports run one after another. Prints, from one run:
# each export's wall time, the switch's CPU seconds during it, the switch's RSS growth while exports ran (peak RSS
# over the window minus RSS before it), how the report read the shards (X-Report-Read: checkpoint = in place) and
# authorization p50/p99/p99.9 in a window without exports and in the same-length window with exports (ratio in
# the same run), with the load average next to them.
#
#   benchmarks/reports-under-traffic.sh [--members N] [--rate R] [--seconds S] [--shards K] [--reuse-ms MS]
#                                       [--checkpoint-pace BYTES_PER_SECOND] [--exports N]
#
# --reuse-ms sets limits.reportCheckpointReuseMs (default 1000: back-to-back exports each start a checkpoint),
# --checkpoint-pace limits.checkpointBytesPerSecondMax (default: the switch's, 32 MiB/s; 0: the disk's speed);
# --exports N stops after N exports in the measured window (default 0: back to back until the window ends).
# Defaults: 1,000,000 members, 15,000 purchases/s, 40 s windows, 1 shard (the switch's default). Needs a release build
# (swift build -c release --product loyalty-switch; SWITCH=path picks another), curl and python3. Ports: 0, read
# from the switch's log lines.
set -eu
cd "$(dirname "$0")/.."
members=1000000 rate=15000 seconds=40 shards=1 reuse=1000 pace= exports=0
while [ $# -gt 0 ]; do
    case "$1" in
        --members) members="$2"; shift ;;
        --rate) rate="$2"; shift ;;
        --seconds) seconds="$2"; shift ;;
        --shards) shards="$2"; shift ;;
        --reuse-ms) reuse="$2"; shift ;;
        --checkpoint-pace) pace="$2"; shift ;;
        --exports) exports="$2"; shift ;;
        *) echo "usage: benchmarks/reports-under-traffic.sh [--members N] [--rate R] [--seconds S] [--shards K] [--reuse-ms MS] [--checkpoint-pace B] [--exports N]" >&2; exit 2 ;;
    esac
    shift
done
switch=${SWITCH:-.build/release/loyalty-switch}
work=$(mktemp -d /tmp/loyalty-reports-traffic.XXXXXX)
pid="" exporter=""
cleanup() {
    [ -n "$exporter" ] && kill "$exporter" 2>/dev/null
    [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT
echo "reports under traffic: members $members, rate $rate/s, windows ${seconds}s, shards $shards," \
    "reportCheckpointReuseMs $reuse, checkpointBytesPerSecondMax ${pace:-default}, switch $switch"
echo "date $(date -u +%FT%TZ), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"

# The members: loadgen's card pool (prefix 600000, index, Luhn digit), so every purchase hits an imported member.
python3 - "$members" "$work/members.csv" benchmarks <<'PY'
import sys
rows, path = int(sys.argv[1]), sys.argv[2]
sys.path.insert(0, sys.argv[3])
from luhn import luhn
with open(path, "w", encoding="utf-8", newline="") as out:
    out.write("pan,name,phone,birthday,points,credit\r\n")
    for number in range(rows):
        out.write(f'{luhn("600000" + str(number).zfill(9))},"عضو {number}",,,{number % 5000},\r\n')
PY
token=$("$switch" admin init --data "$work/data" --name bench | sed -n 's/^token: //p')
# No member search index: its indexer reads every shard in the background on its own schedule, which would mix its
# memory and CPU into the report's numbers.
printf '{"shards": %s, "listeners": [{"address": "127.0.0.1:0"}], "admin": {"listen": "127.0.0.1:0"}, "search": null,
  "limits": {"reportCheckpointReuseMs": %s%s}}\n' "$shards" "$reuse" \
    "${pace:+, \"checkpointBytesPerSecondMax\": $pace}" >"$work/config.json"
start=$(date +%s.%N)
"$switch" import members "$work/members.csv" --data "$work/data" --config "$work/config.json" >"$work/import.out" 2>&1
echo "import: $members members in $(echo "$(date +%s.%N) - $start" | bc | cut -c1-6) s"

source benchmarks/lib.sh
"$switch" serve --config "$work/config.json" --data "$work/data" 2>"$work/switch.log" &
pid=$!
# At most 10 minutes each: recovering 1M members takes a while.
iso=127.0.0.1:$(port_from_log "$work/switch.log" "listening on " 600)
admin=127.0.0.1:$(port_from_log "$work/switch.log" "admin API listening on http:\/\/" 600)
for _ in $(seq 600); do curl -sf "http://$admin/v1/health" >/dev/null && break; sleep 0.1; done
echo "switch up: RSS $(($(sed -n 's/^VmRSS:\s*\([0-9]*\) kB/\1/p' "/proc/$pid/status") / 1024)) MiB"

rss() { sed -n "s/^$1:\s*\([0-9]*\) kB/\1/p" "/proc/$pid/status"; }
commits() {  # NAME: the shard's group-commit times (write + fdatasync) so far, from /metrics
    curl -sf "http://$admin/metrics" | grep '^loyalty_ledger_commit_seconds_bucket' >"$work/$1.commits" || true
}
commit_line() {  # BEFORE AFTER: the commits between two scrapes: count, share over 5 and 20 ms, the slowest bucket
    python3 - "$work/$1.commits" "$work/$2.commits" <<'PY'
import re, sys
def buckets(path):
    out = {}
    for line in open(path):
        m = re.search(r'le="([^"]+)"\}\s+(\d+)', line)
        if m: out[m.group(1)] = out.get(m.group(1), 0) + int(m.group(2))
    return out
a, b = buckets(sys.argv[1]), buckets(sys.argv[2])
d = sorted(((float("inf") if k == "+Inf" else float(k)), b[k] - a.get(k, 0)) for k in b)
total = d[-1][1]
def over(seconds): return total - max((c for le, c in d if le <= seconds), default=0)
slowest = next((le for le, c in d if c == total), None)
print(f"group commits {total}, over 5 ms {over(0.005)}, over 20 ms {over(0.02)}, all within {slowest * 1000:g} ms")
PY
}
window() {  # NAME: loadgen at the fixed rate for the window; prints "p50 p99 p99.9 answers/s errors"
    commits "$1-before"
    "$switch" loadgen "$iso" --quiet --cards "$members" --rate "$rate" --duration "${seconds}s" --warmup 2s \
        --in-flight 128 --seed "$2" --json "$work/$1.json" >/dev/null 2>&1 || true
    commits "$1-after"
    python3 - "$work/$1.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
l = r["latency_us"]
print(f'{l["p50"] / 1000:.3f} {l["p99"] / 1000:.3f} {l["p99.9"] / 1000:.3f} {r["throughput_per_second"]:.0f} {r["errors"]}')
PY
}
# A warm-up window first: the first checkpoint's chunk copies and the page cache settle before measuring.
window warmup 1 >/dev/null
# One export before measuring, so first-time costs (the directory's texts paged in) fall outside both windows, and
# with --reuse-ms longer than the run the exports below share this export's checkpoint (no checkpoint is written
# in either window: what remains is the reading and streaming alone).
curl -sf -H "Authorization: Bearer $token" "http://$admin/v1/reports/members.csv" | wc -l >/dev/null
echo "authorization at $rate/s for ${seconds}s: p50 p99 p99.9 (ms) answers/s errors"
quiet=$(window quiet 2)
echo "  without reports: $quiet  (load $(cut -d' ' -f1-3 /proc/loadavg))"
echo "    $(commit_line quiet-before quiet-after)"

# The same window with members exports back to back (each one's numbers on a line of its own).
rss_before=$(rss VmRSS)
echo 5 >"/proc/$pid/clear_refs" 2>/dev/null || true  # VmHWM := VmRSS (Linux >= 4.0)
(
    sleep 3  # loadgen's warm-up and first second
    count=0
    while [ -e "$work/exporting" ] && { [ "$exports" -eq 0 ] || [ "$count" -lt "$exports" ]; }; do
        count=$((count + 1))
        ticks=$(cpu_ticks "$pid")
        t0=$(date +%s.%N)
        # The rows are counted, not kept, by a client in the idle scheduling class: an operator downloads to
        # another machine, and here the client shares the switch's two cores. A 100 MB file written (and truncated
        # by the next export) on the switch's own disk would queue before the log's fdatasync, and a client at
        # normal priority would take the loops' and the shard's core as an equal.
        lines=$(chrt --idle 0 curl -sf -D "$work/headers" -H "Authorization: Bearer $token" \
            "http://$admin/v1/reports/members.csv" | chrt --idle 0 wc -l)
        [ "$lines" -gt 0 ] || break
        t1=$(date +%s.%N)
        echo "$((lines - 1)) $(echo "$t1 - $t0" | bc | cut -c1-6)" \
            "$(echo "($(cpu_ticks "$pid") - $ticks) / $(getconf CLK_TCK)" | bc -l | cut -c1-5)" \
            "$(sed -n 's/^X-Report-Read: \([a-z]*\).*/\1/ip' "$work/headers")" \
            "$(sed -n 's/^X-Report-Sequences: \([0-9,]*\).*/\1/ip' "$work/headers")" >>"$work/exports"
    done
) &
exporter=$!
touch "$work/exporting"
busy=$(window busy 3)
rm -f "$work/exporting"
wait "$exporter" 2>/dev/null || true
exporter=""
echo "  with exports:    $busy  (load $(cut -d' ' -f1-3 /proc/loadavg))"
echo "    $(commit_line busy-before busy-after)"
python3 - "$quiet" "$busy" <<'PY'
import sys
q, b = [list(map(float, a.split())) for a in sys.argv[1:3]]
print(f"  ratio with/without: p50 {b[0] / q[0]:.2f}, p99 {b[1] / q[1]:.2f}, p99.9 {b[2] / q[2]:.2f}")
PY
echo "members exports during that window: rows wall-s switch-cpu-s read sequences"
sed 's/^/  /' "$work/exports"
echo "switch RSS: $((rss_before / 1024)) MiB before the exports, peak $(($(rss VmHWM) / 1024)) MiB while they ran" \
    "(growth $((($(rss VmHWM) - rss_before) / 1024)) MiB)"
grep -c "checkpoint at sequence .* abandoned" "$work/switch.log" | sed 's/^/checkpoints abandoned: /'
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
