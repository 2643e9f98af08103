#!/usr/bin/env bash
# The switch against a SwiftNIO mini-switch (benchmarks/peers/nio-switch: the same ISO 8583 answers on idiomatic
# SwiftNIO, one locked ledger, durable through a group-committed write-ahead log) under the same built-in load
# generator: runs interleaved (switch, peer, switch, peer, ...), each server on a fresh data directory and port 0.
# Prints per run and the medians: answered/s, latency p50/p99/p99.9/max, answers 91 and other non-approvals,
# server CPU µs per answered request; then the ratios switch/peer. A comparison only: the product depends on no
# package.
#
#   bash benchmarks/nio-compare.sh --switch BIN --peer BIN [--seconds S (20)] [--runs N (2)] [--rate R (0)]
#                                  [--connections C (8)] [--in-flight F (32)] [--switch-config JSON]
#                                  [--server-cpus LIST] [--loadgen-cpus LIST]
#
#   BIN for --switch: a release loyalty-switch (swift build -c release --product loyalty-switch);
#   BIN for --peer:   swift build -c release --package-path benchmarks/peers/nio-switch \
#                         --scratch-path /work/.build-nio-peer   (then .../release/nio-switch)
#   --rate 0 is saturation (closed loop); R > 0 is an open loop at R requests/s.
#   --switch-config: the switch's configuration text (default: none, the embedded default configuration, which
#   also indexes movements, sales and member search from the log: the peer keeps no such views). E.g.
#   '{"history": null, "sales": null, "search": null}' measures the authorization path alone.
#   --server-cpus / --loadgen-cpus: run the servers / the load generator under `taskset -c LIST` (e.g. the
#   servers on 1 and the load generator on 0, to compare one core's worth with the unpinned run).
#
# CPU per request: the server's utime+stime (/proc/PID/stat) over the measured window (read when the warm-up
# ends and when the load generator returns) divided by the answers counted in that window; the total (read just
# before stopping, start-up and warm-up included) is printed too. The same window split: user and system (kernel)
# µs per answer, and the server threads' context switches per answer (/proc/PID/task/*/status), the cost of
# handing a request from thread to thread.
# Bounded: each load generator run is killed after seconds + 60 s, each server gets 30 s to start and 20 s to stop
# after SIGTERM (then SIGKILL); traffic goes to 127.0.0.1 only; temporary directories are removed on exit.
# The machine has 2 cores shared by the server and the load generator: compare runs on the same machine only.
set -euo pipefail
cd "$(dirname "$0")/.."
source benchmarks/lib.sh

usage() {
    echo "usage: bash benchmarks/nio-compare.sh --switch BIN --peer BIN [--seconds S] [--runs N] [--rate R]" \
        "[--connections C] [--in-flight F] [--switch-config JSON] [--server-cpus LIST] [--loadgen-cpus LIST]" >&2
    exit 2
}

switch_bin=""
peer_bin=""
seconds=20
runs=2
rate=0
connections=8
in_flight=32
switch_config=""
server_cpus=""
loadgen_cpus=""
warmup=2
while [ $# -gt 0 ]; do
    [ $# -ge 2 ] || usage
    case "$1" in
        --switch) switch_bin="$2" ;;
        --peer) peer_bin="$2" ;;
        --seconds) seconds="$2" ;;
        --runs) runs="$2" ;;
        --rate) rate="$2" ;;
        --connections) connections="$2" ;;
        --in-flight) in_flight="$2" ;;
        --switch-config) switch_config="$2" ;;
        --server-cpus) server_cpus="$2" ;;
        --loadgen-cpus) loadgen_cpus="$2" ;;
        *) usage ;;
    esac
    shift 2
done
[ -n "$switch_bin" ] && [ -n "$peer_bin" ] || usage
[ -x "$switch_bin" ] || { echo "--switch: $switch_bin is not an executable" >&2; exit 2; }
[ -x "$peer_bin" ] || { echo "--peer: $peer_bin is not an executable" >&2; exit 2; }
case "$seconds$runs$rate$connections$in_flight" in *[!0-9]*) echo "numbers must be whole" >&2; exit 2 ;; esac
[ "$seconds" -ge 1 ] && [ "$seconds" -le 600 ] || { echo "--seconds: 1...600" >&2; exit 2; }
[ "$runs" -ge 1 ] && [ "$runs" -le 20 ] || { echo "--runs: 1...20" >&2; exit 2; }
[ "$rate" -le 1000000 ] || { echo "--rate: 0...1000000" >&2; exit 2; }
[ "$connections" -ge 1 ] && [ "$connections" -le 256 ] || { echo "--connections: 1...256" >&2; exit 2; }
[ "$in_flight" -ge 1 ] && [ "$in_flight" -le 4096 ] || { echo "--in-flight: 1...4096" >&2; exit 2; }
server_pin=()
loadgen_pin=()
for list in "$server_cpus" "$loadgen_cpus"; do
    case "$list" in *[!0-9,-]*) echo "--server-cpus/--loadgen-cpus: a CPU list such as 1 or 0,1" >&2; exit 2 ;; esac
done
[ -z "$server_cpus" ] || server_pin=(taskset -c "$server_cpus")
[ -z "$loadgen_cpus" ] || loadgen_pin=(taskset -c "$loadgen_cpus")

work=$(mktemp -d /tmp/nio-compare.XXXXXX)
server_pid=""
cleanup() {
    if [ -n "$server_pid" ]; then
        kill -KILL "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

ticks=$(getconf CLK_TCK)

mix="purchase=70,redeem=10,balance=10,reversal=10"
rate_args=()
[ "$rate" -gt 0 ] && rate_args=(--rate "$rate")
loadgen_args=(--quiet --connections "$connections" --in-flight "$in_flight" "${rate_args[@]}"
    --duration "${seconds}s" --warmup "${warmup}s" --mix "$mix")

# One measured run: start the server ($1: switch or peer) on a fresh directory, load it, stop it.
run_one() {
    local kind="$1" run="$2"
    local dir="$work/$kind-$run"
    mkdir -p "$dir"
    local log="$dir/server.log"
    local command
    if [ "$kind" = switch ]; then
        command=("$switch_bin" serve --data "$dir/data" --listen 127.0.0.1:0 --admin-listen 127.0.0.1:0)
        if [ -n "$switch_config" ]; then
            printf '%s\n' "$switch_config" >"$dir/switch.json"
            command+=(--config "$dir/switch.json")
        fi
    else
        command=("$peer_bin" --port 0 --data "$dir/data")
    fi
    "${server_pin[@]}" "${command[@]}" >"$log" 2>&1 &
    server_pid=$!
    local port
    port=$(port_from_log "$log" "listening on " 30) || exit 1
    echo "== run $run $kind: ${server_pin[*]} ${command[*]}   (port $port)"
    echo "   loyalty-switch loadgen 127.0.0.1:$port ${loadgen_args[*]} --json $dir/report.json"

    local status=0
    local start_ticks
    start_ticks=$(cpu_ticks "$server_pid")
    # The CPU reading at the end of the warm-up, taken beside the load generator.
    ( sleep "$warmup"; cpu_ticks "$server_pid" >"$dir/cpu-window-start"; cpu_split "$server_pid" >"$dir/split-start" ) &
    local sampler=$!
    timeout $((seconds + warmup + 60)) "${loadgen_pin[@]}" "$switch_bin" loadgen "127.0.0.1:$port" "${loadgen_args[@]}" \
        --json "$dir/report.json" >"$dir/loadgen.out" 2>&1 || status=$?
    wait "$sampler" 2>/dev/null || true
    local end_ticks
    end_ticks=$(cpu_ticks "$server_pid")
    cpu_split "$server_pid" >"$dir/split-end"
    echo "$start_ticks $(cat "$dir/cpu-window-start" 2>/dev/null || echo "$start_ticks") $end_ticks $status" \
        >"$dir/cpu"

    kill -TERM "$server_pid" 2>/dev/null || true
    local stopped=0
    for _ in $(seq 200); do
        kill -0 "$server_pid" 2>/dev/null || { stopped=1; break; }
        sleep 0.1
    done
    if [ "$stopped" = 0 ]; then
        echo "   $kind did not stop within 20 s of SIGTERM: SIGKILL" >&2
        kill -KILL "$server_pid" 2>/dev/null || true
    fi
    local exit_status=0
    wait "$server_pid" 2>/dev/null || exit_status=$?
    server_pid=""
    echo "   load generator exit $status, server exit $exit_status"
    [ "$kind" = peer ] && { grep -m1 'write-ahead log' "$log" | sed 's/^/   peer: /' || true; }
    [ -s "$dir/report.json" ] || { echo "   no report; load generator said:" >&2; tail -5 "$dir/loadgen.out" >&2; exit 1; }
    rm -rf "$dir/data"
}

echo "nproc $(nproc); load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
[ -z "$switch_config" ] || echo "switch configuration: $switch_config"
echo "switch: $switch_bin"
echo "peer:   $peer_bin"
echo "each run: ${seconds} s measured after ${warmup} s warm-up, $connections connections x $in_flight in flight," \
    "$([ "$rate" -gt 0 ] && echo "open loop at $rate/s" || echo "closed loop (saturation)"), mix $mix"
[ -z "$server_cpus$loadgen_cpus" ] || echo "pinned: servers on CPUs ${server_cpus:-any}, load generator on ${loadgen_cpus:-any}"
for run in $(seq "$runs"); do
    run_one switch "$run"
    run_one peer "$run"
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

python3 - "$work" "$runs" "$ticks" <<'PY'
import json, os, statistics, sys
work, runs, ticks = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])

def load(kind, run):
    d = os.path.join(work, f"{kind}-{run}")
    r = json.load(open(os.path.join(d, "report.json")))
    start, window_start, end, status = open(os.path.join(d, "cpu")).read().split()
    codes = r["response_codes"]
    answered = r["answered"]
    window_cpu = (int(end) - int(window_start)) / ticks
    split_start = [int(x) for x in open(os.path.join(d, "split-start")).read().split()] if os.path.exists(
        os.path.join(d, "split-start")) else [0, 0, 0]
    split_end = [int(x) for x in open(os.path.join(d, "split-end")).read().split()]
    per = lambda i, scale: (split_end[i] - split_start[i]) * scale / answered if answered else float("nan")
    return {
        "answered/s": r["throughput_per_second"],
        "p50": r["latency_us"]["p50"] / 1000, "p99": r["latency_us"]["p99"] / 1000,
        "p99.9": r["latency_us"]["p99.9"] / 1000, "max": r["latency_us"]["max"] / 1000,
        "91": codes.get("91", 0),
        "other": sum(v for k, v in codes.items() if k not in ("00", "91")),
        "cpu_us": window_cpu * 1e6 / answered if answered else float("nan"),
        "cpu_total_s": int(end) / ticks,
        "user_us": per(0, 1e6 / ticks), "sys_us": per(1, 1e6 / ticks), "switches": per(2, 1),
        "errors": r["errors"], "answered": answered,
        "codes": codes,
        "errors_by_kind": {k: v for k, v in r["errors_by_kind"].items() if v},
        "loadgen_exit": int(status),
    }

header = (f"{'':14} {'answered/s':>11} {'p50 ms':>8} {'p99 ms':>8} {'p99.9 ms':>9} {'max ms':>8} "
          f"{'91':>7} {'other':>7} {'CPU µs/req':>10} {'user':>6} {'kernel':>6} {'cs/req':>6} {'CPU s total':>11} "
          f"{'errors':>6}")
def line(label, m):
    return (f"{label:14} {m['answered/s']:11.0f} {m['p50']:8.3f} {m['p99']:8.3f} {m['p99.9']:9.3f} {m['max']:8.3f} "
            f"{m['91']:7d} {m['other']:7d} {m['cpu_us']:10.2f} {m['user_us']:6.2f} {m['sys_us']:6.2f} "
            f"{m['switches']:6.2f} {m['cpu_total_s']:11.2f} {m['errors']:6d}")

results = {k: [load(k, r) for r in range(1, runs + 1)] for k in ("switch", "peer")}
print()
print(header)
for r in range(runs):
    for k in ("switch", "peer"):
        m = results[k][r]
        print(line(f"run {r + 1} {k}", m))
        extra = f"codes {json.dumps(m['codes'], sort_keys=True)}"
        if m["errors_by_kind"]:
            extra += f"  errors {json.dumps(m['errors_by_kind'])}"
        print(f"{'':14} {extra}")
medians = {}
for k in ("switch", "peer"):
    ms = results[k]
    medians[k] = {key: statistics.median(m[key] for m in ms)
                  for key in ("answered/s", "p50", "p99", "p99.9", "max", "91", "other", "cpu_us", "user_us",
                              "sys_us", "switches", "cpu_total_s", "errors")}
    medians[k]["91"] = int(medians[k]["91"]); medians[k]["other"] = int(medians[k]["other"])
    medians[k]["errors"] = int(medians[k]["errors"])
print()
for k in ("switch", "peer"):
    print(line(f"median {k}", medians[k]))
s, p = medians["switch"], medians["peer"]
ratio = lambda a, b: f"{a / b:.2f}" if b else "n/a"
print()
print(f"switch/peer: throughput {ratio(s['answered/s'], p['answered/s'])}  p99 {ratio(s['p99'], p['p99'])}  "
      f"p99.9 {ratio(s['p99.9'], p['p99.9'])}  CPU per request {ratio(s['cpu_us'], p['cpu_us'])} "
      f"(user {ratio(s['user_us'], p['user_us'])}, kernel {ratio(s['sys_us'], p['sys_us'])}, "
      f"context switches {ratio(s['switches'], p['switches'])})")
bad = [f"{k} run {i + 1}" for k in results for i, m in enumerate(results[k]) if m["errors"]]
if bad:
    print(f"protocol errors reported by the load generator in: {', '.join(bad)}")
PY
