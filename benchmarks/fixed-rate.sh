#!/usr/bin/env bash
# The fixed-rate run of issue 12: the switch (release build, embedded default configuration, durable: every batch
# fdatasync'd) in a fresh data directory, offered a fixed 100,000 requests/s open loop for 60 s by the built-in
# load generator, with at least one checkpoint (snapshot) written inside the measured window. Prints the latency
# percentiles (p50, p99, p99.9, max), the count of answers 91 (the ledger missed the latency budget) and of
# other codes, the checkpoints seen inside the window and the load average before and after; and the bytes the
# switch read and wrote (/proc/PID/io) and its request-key runs at the end (files, bytes per key).
#
#   benchmarks/fixed-rate.sh                        one run: 60 s at 100k/s (about 90 s with start and warm-up)
#   benchmarks/fixed-rate.sh --seconds 10 --rate 20000   shorter or slower
#   benchmarks/fixed-rate.sh --scratch-path DIR     release build directory (default .build-release)
#   benchmarks/fixed-rate.sh --binary PATH          use this loyalty-switch instead of building (e.g. main's)
#   (always, where a C compiler is found: benchmarks/pause-probe, a 1 ms sleeper at real-time priority beside the
#   run, prints how late it woke at worst inside the window: tens of ms there is the machine, not the switch)
#   benchmarks/fixed-rate.sh --where                also: each switch thread's CPU (user + system, µs per
#                                                   request, from /proc) and, per second, the answers' p99 beside
#                                                   the shard's group commits (count, records each, how many took
#                                                   over 10 ms: loyalty_ledger_commit_seconds from /metrics)
#
# Bounded: the load generator sends at most rate x seconds requests and is killed after seconds + 60 s; the
# switch and the data directory are removed on exit. The default configuration writes a checkpoint every
# 2,000,000 logged records per shard, so at 100k/s the window holds two; a run with none says so (and exits 1).
# The machine has 2 cores shared by the switch and the load generator: compare runs on the same machine.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"

seconds=60
rate=100000
scratch=.build-release
binary=""
where=0
while [ $# -gt 0 ]; do
    case "$1" in
        --seconds) seconds="$2"; shift ;;
        --rate) rate="$2"; shift ;;
        --scratch-path) scratch="$2"; shift ;;
        --binary) binary="$2"; shift ;;
        --where) where=1; shift; continue ;;
        *) echo "usage: benchmarks/fixed-rate.sh [--seconds N] [--rate N] [--scratch-path DIR] [--binary PATH] [--where]" >&2
           exit 2 ;;
    esac
    shift
done
case "$seconds$rate" in *[!0-9]*) echo "--seconds and --rate take whole numbers" >&2; exit 2 ;; esac
[ "$seconds" -ge 1 ] && [ "$seconds" -le 600 ] || { echo "--seconds: 1...600" >&2; exit 2; }
[ "$rate" -ge 1 ] && [ "$rate" -le 1000000 ] || { echo "--rate: 1...1000000" >&2; exit 2; }

if [ -z "$binary" ]; then
    echo "== release build ($scratch)"
    swift build -c release --scratch-path "$scratch" --product loyalty-switch 2>&1 | tail -1
    binary="$(swift build -c release --scratch-path "$scratch" --show-bin-path)/loyalty-switch"
fi

work=$(mktemp -d /tmp/fixed-rate.XXXXXX)
switch_pid=""
watcher_pid=""
cleanup() {
    rm -f "$work/watching"
    [ -n "$watcher_pid" ] && kill "$watcher_pid" 2>/dev/null || true
    [ -n "$switch_pid" ] && kill "$switch_pid" 2>/dev/null || true
    [ -n "$switch_pid" ] && wait "$switch_pid" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

wait_for_port() {
    for _ in $(seq 300); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
        sleep 0.1
    done
    echo "nothing listens on port $1" >&2
    return 1
}

port=$((20000 + $$ % 20000))
admin_port=$((port + 1))
"$binary" serve --data "$work/data" --listen "127.0.0.1:$port" --admin-listen "127.0.0.1:$admin_port" \
    >"$work/switch.log" 2>&1 &
switch_pid=$!
wait_for_port "$port"
sampler_pid=""
if [ "$where" = 1 ]; then
    # Once a second while the switch runs: every thread's (name, id, user ticks, system ticks), and the group-commit
    # histogram. Bounded by the switch's life (the cleanup kills the switch).
    (
        while kill -0 "$switch_pid" 2>/dev/null; do
            now=$(date +%s.%N)
            for task in /proc/"$switch_pid"/task/*; do
                echo "T $now $(cat "$task/comm" 2>/dev/null | tr ' ' _) $(cut -d' ' -f1,14,15 "$task/stat" 2>/dev/null)" \
                    "$(sed -n 's/^wchar: //p' "$task/io" 2>/dev/null)"
            done
            curl -s --max-time 1 "127.0.0.1:$admin_port/metrics" | grep -E '^loyalty_ledger_commit_seconds_bucket' \
                | sed "s/^/M $now /" || true
            sleep 1
        done
    ) >"$work/where.txt" 2>/dev/null &
    sampler_pid=$!
fi

# Checkpoints are seen as new snapshot files (named by sequence) in the shards' directories, polled twice a second.
# The loop ends by itself once the flag file goes (killing the subshell alone left its loop holding the
# script's stderr open, so a caller reading the output through a pipe never saw it end). Each sighting is stamped
# by the loop itself: stamped by an awk reading the loop's pipe, Debian's mawk read the pipe in blocks and stamped
# every name when the loop ended, after the window, and a run with two checkpoints counted none (2026-12-05).
touch "$work/watching"
(
    while [ -e "$work/watching" ] && sleep 0.5; do
        now=$(date +%s)
        for name in $(ls "$work"/data/shard-*/ 2>/dev/null | grep '\.snap$'); do echo "$now $name"; done
    done | awk '!seen[$2]++' >"$work/snapshots.txt"
) &
watcher_pid=$!

# (The first line keeps the file non-empty: awk below tells the two files apart by it.)
{ echo "-"; ls "$work"/data/shard-*/ 2>/dev/null | grep '\.snap$' || true; } >"$work/initial-snapshots.txt"
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
mix="purchase=60,redeem=15,balance=10,reversal=10,refund=5"
command="loyalty-switch loadgen 127.0.0.1:$port --connections 8 --in-flight 128 --rate $rate --duration ${seconds}s --warmup 2s --mix $mix"
echo "== $command"
probe_pid=""
if command -v cc >/dev/null; then
    cc -O2 -o "$work/pause-probe" benchmarks/pause-probe/pause-probe.c
    "$work/pause-probe" $((seconds + 30)) "$work/probe.txt" &
    probe_pid=$!
else
    echo "(no C compiler: the machine's pause probe is not run)"
fi
start=$(date +%s)
status=0
timeout $((seconds + 60)) "$binary" loadgen "127.0.0.1:$port" --quiet --connections 8 --in-flight 128 --rate "$rate" \
    --duration "${seconds}s" --warmup 2s --mix "$mix" --json "$work/run.json" || status=$?
end=$(date +%s)
if [ -n "$probe_pid" ]; then kill "$probe_pid" 2>/dev/null || true; wait "$probe_pid" 2>/dev/null || true; fi
# The shard's commit groups over the whole run, wall and CPU time (/metrics), read before the switch stops.
curl -s --max-time 2 "127.0.0.1:$admin_port/metrics" >"$work/metrics-end.txt" 2>/dev/null || true
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
# What the switch read and wrote through read()/write() (sockets included) and its request-key runs at the end of
# the load: the key store's share of the disk (docs/request-keys.md).
io_bytes=$(grep -E '^(rchar|wchar)' /proc/"$switch_pid"/io 2>/dev/null | tr '\n' ' ' || true)
python3 - "$io_bytes" "$work"/data/shard-* <<'PY'
import glob, os, struct, sys
files = size = keys = entries = names = blocks = 0
for shard in sys.argv[2:]:
    for path in glob.glob(shard + "/keys-*.run"):
        header = open(path, "rb").read(128)
        if len(header) < 128 or header[:4] != b"LKRN":
            continue
        version, = struct.unpack_from("<I", header, 4)
        first, amended, named = struct.unpack_from("<QQQ", header, 40)
        files += 1
        size += os.path.getsize(path)
        keys += first
        entries += first + amended
        names += named
        blocks += struct.unpack_from("<Q", header, 100)[0] if version == 2 else 0
per = lambda total, count: f"{total / count:.1f}" if count else "-"
print(f"switch io: {sys.argv[1].strip() or 'unreadable'}")
print(f"key runs at the end: {files} files, {size} bytes, {keys} keys ({per(names, keys)} names each), "
      f"{per(size, keys)} bytes per key, compact entries {per(blocks * 4096, entries)} bytes each")
PY
sleep 1
# The watcher's loop ends within half a second of the flag going; its pipe's last reader writes the list only then.
# Waiting for it (bounded) before reading the list: killed at once, the list was read before it was written.
rm -f "$work/watching"
for _ in $(seq 50); do kill -0 "$watcher_pid" 2>/dev/null || break; sleep 0.1; done
kill "$watcher_pid" 2>/dev/null || true
wait "$watcher_pid" 2>/dev/null || true
watcher_pid=""
[ -s "$work/run.json" ] || { echo "loadgen wrote no report (exit $status)" >&2; exit 1; }
# Snapshot files that appeared while the load generator ran (not those the directory had before it began).
checkpoints=$(awk -v e="$end" 'NR == FNR { before[$0] = 1; next } !($2 in before) && $1 <= e' \
    "$work/initial-snapshots.txt" "$work/snapshots.txt" | wc -l)

python3 - "$work/run.json" "$checkpoints" "$load_before" "$load_after" "$status" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
l = r["latency_us"]
codes = r["response_codes"]
ms = lambda us: f"{us / 1000:.3f}"
print(f"offered {r['rate_per_second']}/s for {r['measured_seconds']} s: sent {r['sent']}, answered {r['answered']}, "
      f"{r['throughput_per_second']:.0f}/s")
print(f"latency ms: p50 {ms(l['p50'])}  p99 {ms(l['p99'])}  p99.9 {ms(l['p99.9'])}  max {ms(l['max'])}")
print(f"answers 91: {codes.get('91', 0)}   response codes: {json.dumps(codes, sort_keys=True)}")
print(f"errors: {r['errors']} {json.dumps({k: v for k, v in r['errors_by_kind'].items() if v})}  "
      f"send lag max {r['send_lag_max_us'] / 1000:.1f} ms  loadgen exit {sys.argv[5]}")
print(f"checkpoints written inside the run: {sys.argv[2]}   load average before {sys.argv[3]}, after {sys.argv[4]}")
print(f"| {r['rate_per_second']}/s x {r['measured_seconds']:.0f} s | {r['throughput_per_second']:.0f} | "
      f"{ms(l['p50'])} | {ms(l['p99'])} | {ms(l['p99.9'])} | {ms(l['max'])} | {codes.get('91', 0)} | "
      f"{sys.argv[2]} | {sys.argv[3]} / {sys.argv[4]} |")
PY
grep -E "snapshot|checkpoint" "$work/switch.log" | head -5 || true
python3 - "$work/metrics-end.txt" <<'PY'
import collections, re, sys
# Cumulative buckets of loyalty_ledger_group_seconds and _cpu_seconds, all shards and both checkpoint labels: how
# many groups took over ~50 and ~112 ms of wall time, and of the shard's CPU. A long group with little CPU is the
# shard waiting (for a core, or the disk: see the commit histogram); one with as much CPU is the shard working.
over = collections.defaultdict(lambda: collections.defaultdict(int))
totals = collections.defaultdict(int)
for line in open(sys.argv[1]):
    match = re.match(r'(loyalty_ledger_group(?:_cpu)?_seconds)_bucket\{.*le="([^"]+)"\} (\d+)', line)
    if not match:
        continue
    family, bound, count = match.group(1), match.group(2), int(match.group(3))
    if bound == "+Inf":
        totals[family] += count
    else:
        over[family][float(bound)] += count
def above(family, limit):
    bounds = sorted(b for b in over[family] if b >= limit)
    return totals[family] - over[family][bounds[0]] if bounds else 0
if totals:
    wall, cpu = "loyalty_ledger_group_seconds", "loyalty_ledger_group_cpu_seconds"
    print(f"shard commit groups: {totals[wall]}; over 50 ms: wall {above(wall, 0.049)}, CPU {above(cpu, 0.049)}; "
          f"over 112 ms: wall {above(wall, 0.11)}, CPU {above(cpu, 0.11)}")
else:
    print("shard commit groups: /metrics not read")
# loyalty_ledger_wait_seconds: each reply's time from its request's hand-over to the ledger until it reached its loop
# (queueing for the shard, its group, the commit). Waits near the budget are the ledger's; a 91 without them is not.
waits, wait_total = {}, 0
for line in open(sys.argv[1]):
    match = re.match(r'loyalty_ledger_wait_seconds_bucket\{le="([^"]+)"\} (\d+)', line)
    if match and match.group(1) == "+Inf":
        wait_total = int(match.group(2))
    elif match:
        waits[float(match.group(1))] = int(match.group(2))
if wait_total:
    print(f"ledger waits: {wait_total}; over 25 ms {wait_total - waits.get(0.025, 0)}, over 50 ms "
          f"{wait_total - waits.get(0.05, 0)}, over 100 ms {wait_total - waits.get(0.1, 0)}")
# loyalty_ledger_queue_wait_seconds: per batch a shard took, its oldest command's time in the queue (behind the
# group before it, or the shard thread waiting for a core). Buckets by factors of 1.5: ~25, ~50 ms bounds.
queued = collections.defaultdict(int)
for line in open(sys.argv[1]):
    match = re.match(r'loyalty_ledger_queue_wait_seconds_bucket\{.*le="([^"]+)"\} (\d+)', line)
    if match:
        queued[match.group(1)] += int(match.group(2))
if queued:
    total = queued.pop("+Inf")
    def queue_above(limit):
        bounds = sorted(float(b) for b in queued if float(b) >= limit)
        return total - next(v for b, v in queued.items() if float(b) == bounds[0]) if bounds else 0
    print(f"shard batches taken: {total}; oldest command queued over ~22 ms {queue_above(0.022)}, "
          f"over ~50 ms {queue_above(0.049)}")
PY
# Each 91's log line says where its budget went (the loop's part, the ledger's, the shard's phase): the first few.
grep -m 3 "answered 91; " "$work/switch.log" | sed 's/^/  /' || true
if [ -n "$probe_pid" ]; then
    # Killed at the load's end, the probe leaves its late wake-ups without the summary line: the worst is taken
    # from them (none late by more than 10 ms: "under 10 ms").
    python3 - "$work/probe.txt" "$start" <<'PY'
import sys
late = [(float(p[1]), float(p[2])) for p in (line.split() for line in open(sys.argv[1])) if p[0] == "late"]
fifo = [line for line in open(sys.argv[1]) if line.startswith("max")]
worst = sorted(late, key=lambda item: -item[1])[:3]
where = ", ".join(f"{ms:.0f} ms at second {when - float(sys.argv[2]):.0f}" for when, ms in worst)
print(f"machine pause probe (1 ms sleeper, real-time priority): wake-ups over 10 ms late: {len(late)}"
      + (f"; worst {where}" if worst else " (under 10 ms)") + (f"; {fifo[0].strip()}" if fifo else ""))
PY
fi
if [ "$where" = 1 ]; then
    kill "$sampler_pid" 2>/dev/null || true
    wait "$sampler_pid" 2>/dev/null || true
    python3 - "$work/where.txt" "$work/run.json" "$start" <<'PY'
import collections, json, sys
threads, first, last, commits = {}, {}, {}, collections.OrderedDict()
# Per sample time, per thread name: bytes it had written through write(2) and pwrite(2) (/proc/PID/task/TID/io
# wchar; direct writes included). Not write_bytes: on this kernel it counts a whole large folio each time a page of
# it is dirtied again, and said 8 GB/s for the shard's log.
written = collections.OrderedDict()
for line in open(sys.argv[1]):
    part = line.split()
    if part[0] == "T" and len(part) == 7:
        _, when, name, tid, user, system, wbytes = part
        first.setdefault(tid, (int(user), int(system)))
        last[tid] = (int(user), int(system))
        threads[tid] = name
        written.setdefault(float(when), collections.defaultdict(int))[name] += int(wbytes)
    elif part[0] == "M" and len(part) == 4:
        le = float(part[2].split('le="')[1].split('"')[0].replace("+Inf", "inf"))
        commits.setdefault(float(part[1]), {})[le] = float(part[3])
report = json.load(open(sys.argv[2]))
requests = report["answered"]
by_name = collections.defaultdict(lambda: [0, 0])
for tid, name in threads.items():
    by_name[name][0] += last[tid][0] - first[tid][0]
    by_name[name][1] += last[tid][1] - first[tid][1]
print("switch threads over the run (warm-up, run and drain; ticks of 10 ms), µs per answered request:")
for name, (user, system) in sorted(by_name.items(), key=lambda item: -sum(item[1])):
    if user + system > 0:
        print(f"  {name:22s} user {user * 1e4 / requests:6.2f}  system {system * 1e4 / requests:6.2f}")
start = float(sys.argv[3])
print("second: answers p99 ms | group commits, of them over 10 and 50 ms | the threads that wrote most, MB")
previous = None
timeline = report["timeline"]
times = list(written)
for when, buckets in commits.items():
    if previous is not None:
        total = buckets[float("inf")] - previous[float("inf")]
        slow = total - (buckets[0.01] - previous[0.01])
        slower = total - (buckets[0.05] - previous[0.05])
        second = int(when - start)
        p99 = next((s["p99_us"] / 1000 for s in timeline if int(s["t"]) == second), None)
        # The thread samples nearest this metrics sample and the one before it (both are taken once a second).
        now_t = min(times, key=lambda t: abs(t - when)) if times else None
        before = [t for t in times if t < now_t - 0.5] if now_t else []
        writers = ""
        if before:
            then = written[before[-1]]
            deltas = sorted(((written[now_t][n] - then.get(n, 0), n) for n in written[now_t]), reverse=True)[:3]
            writers = ", ".join(f"{n} {d / 1e6:.0f}" for d, n in deltas if d >= 1e6)
        print(f"  {second:4d}: {'-' if p99 is None else f'{p99:7.1f}'} | {total:6.0f}, {slow:3.0f}, {slower:2.0f} | {writers}")
    previous = buckets
PY
fi
[ "$checkpoints" -ge 1 ] || { echo "no checkpoint was written inside the run" >&2; exit 1; }
