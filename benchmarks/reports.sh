#!/bin/bash
# Reports benchmark (issue 16, item 2): a `members` export streamed over HTTP from a switch holding many members,
# its wall time, CPU time and the switch's peak RSS, read in place from a checkpoint (after a graceful restart) and
# through the recovery view (with a log tail); and authorization p99 at a fixed rate with and without exports.
#
#   benchmarks/reports.sh [--cards N] [--fill-seconds S] [--rate R] [--seconds S]
#
# Members are enrolled by purchases (loadgen, closed loop, on a pool of N cards, chosen at random: after k·N
# purchases about (1 - e^-k)·N cards are members); the script prints how many there are. Needs a release build
# (swift build -c release --product loyalty-switch), curl, python3.
set -eu
cd "$(dirname "$0")/.."
cards=1000000 fill=120 rate=2000 seconds=20
while [ $# -gt 0 ]; do
    case "$1" in
        --cards) cards="$2"; shift ;;
        --fill-seconds) fill="$2"; shift ;;
        --rate) rate="$2"; shift ;;
        --seconds) seconds="$2"; shift ;;
        *) echo "usage: benchmarks/reports.sh [--cards N] [--fill-seconds S] [--rate R] [--seconds S]" >&2; exit 2 ;;
    esac
    shift
done
switch=${SWITCH:-.build/release/loyalty-switch}
work=$(mktemp -d /tmp/loyalty-reports-bench.XXXXXX)
pid=""
cleanup() {
    [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT
base=$((23000 + $$ % 20000))
iso=127.0.0.1:$base admin=127.0.0.1:$((base + 1))
token=$("$switch" admin init --data "$work/data" --name bench | sed -n 's/^token: //p')
printf '{"admin": {"listen": "%s"}}\n' "$admin" >"$work/config.json"
start_switch() {
    "$switch" serve --config "$work/config.json" --data "$work/data" --listen "$iso" 2>>"$work/switch.log" &
    pid=$!
    for _ in $(seq 1200); do curl -sf "http://$admin/v1/health" >/dev/null && break; sleep 0.1; done
}
start_switch
source benchmarks/authorization-latency.sh

"$switch" loadgen "$iso" --quiet --cards "$cards" --duration "${fill}s" --in-flight 128 >/dev/null 2>&1 || true
# A graceful stop writes each shard's checkpoint: with no log after it, the export reads it in place.
kill -TERM "$pid"; wait "$pid" 2>/dev/null || true
start_switch
echo "date $(date -u +%FT%TZ), load average $(cut -d' ' -f1-3 /proc/loadavg), cards pool $cards, fill ${fill}s"

# export NAME: GET members.csv into a file; prints "rows wall-s switch-cpu-s rss-before-MiB rss-peak-MiB".
export_members() {
    local before after ticks start end
    rss() { sed -n 's/^VmHWM:\s*\([0-9]*\) kB/\1/p' "/proc/$pid/status"; }
    cpu() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
    before=$(sed -n 's/^VmRSS:\s*\([0-9]*\) kB/\1/p' "/proc/$pid/status")
    echo 5 >"/proc/$pid/clear_refs" 2>/dev/null || true  # resets VmHWM to the current RSS (Linux >= 4.0)
    ticks=$(cpu)
    start=$(date +%s.%N)
    curl -sf -H "Authorization: Bearer $token" "http://$admin/v1/reports/members.csv" -o "$work/$1.csv"
    end=$(date +%s.%N)
    echo "$(($(wc -l <"$work/$1.csv") - 1)) $(echo "$end - $start" | bc) $(echo "($(cpu) - $ticks) / $(getconf CLK_TCK)" | bc -l | cut -c1-5) $((before / 1024)) $(($(rss) / 1024))"
}
echo "members export: rows wall-s switch-cpu-s rss-before-MiB rss-peak-MiB"
echo "  checkpoint read in place (no log after it): $(export_members first)"
"$switch" loadgen "$iso" --quiet --cards "$cards" --duration 2s --in-flight 16 >/dev/null 2>&1 || true
echo "  after 2 s of purchases (log tail: recovery view): $(export_members second)"
grep -c "603799\|600000[0-9]\{10\}" "$work/first.csv" >/dev/null && echo "  masked: $(grep -c '\*\*\*\*\*\*' "$work/first.csv") rows with a masked card"

echo "authorization at $rate/s for ${seconds}s: p50 p99 p99.9 (ms) answers/s errors"
echo "  alone:          $(authorization alone)"
( while :; do curl -sf -H "Authorization: Bearer $token" "http://$admin/v1/reports/members.csv" -o /dev/null || break; done ) &
exporter=$!
echo "  during exports: $(authorization during)"
kill "$exporter" 2>/dev/null || true; wait "$exporter" 2>/dev/null || true
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
