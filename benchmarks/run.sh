#!/usr/bin/env bash
# The benchmark suite: builds release once, then runs the codec bench, the ledger bench (when its target exists),
# loadgen's own ceiling against echo-responder, and end-to-end runs of the switch with loadgen on this machine
# (saturation 8 connections x 32 in flight, fixed rate 100k/s open loop, 8 x 128 in flight so the in-flight cap does not hold the rate back). Appends a dated section with the exact
# commands and a table to benchmarks/RESULTS.md.
#
#   benchmarks/run.sh                    full run (about 2 minutes), appends to benchmarks/RESULTS.md
#   benchmarks/run.sh --quick            a few seconds per part, prints only; no timing assertions (CI smoke)
#   benchmarks/run.sh --scratch-path P   build directory (default .build)
#
# The machine has 2 cores: loadgen is pinned to core 0 and the responder to core 1 for the ceiling run; the
# switch runs unpinned. Numbers taken while other builds run are noisy: the load average is recorded per row.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"

quick=0
scratch=.build
while [ $# -gt 0 ]; do
    case "$1" in
        --quick) quick=1 ;;
        --scratch-path) scratch="$2"; shift ;;
        *) echo "usage: benchmarks/run.sh [--quick] [--scratch-path DIR]" >&2; exit 2 ;;
    esac
    shift
done

# Quick mode offers 10k/s instead of 100k/s: a busy CI machine must not fail the smoke on speed.
if [ "$quick" = 1 ]; then seconds=1; warmup=0.5s; ceiling_seconds=1; rate=10000
else seconds=10; warmup=2s; ceiling_seconds=10; rate=100000; fi
failures=0
work=$(mktemp -d /tmp/loyalty-bench.XXXXXX)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT

echo "== release build ($scratch)"
swift build -c release --scratch-path "$scratch" 2>&1 | tail -1
bin=$(swift build -c release --scratch-path "$scratch" --show-bin-path)
pin() { if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then taskset -c "$1" "${@:2}"; else "${@:2}"; fi; }
load() { cut -d' ' -f1-3 /proc/loadavg; }

# Every server here listens on port 0: port_from_log reads its port from its log.
source benchmarks/lib.sh

rows=()
# Runs loadgen with the given arguments and records a table row; a failed run (errors, missed schedule) is counted.
# The second argument is the core to pin loadgen to, or - for none.
run_loadgen() {
    local name="$1" cpu="$2"; shift 2
    local json="$work/$name.json"
    local command="loyalty-switch loadgen $*"
    echo "== $name: $command"
    local before; before=$(load)
    local status=0
    if [ "$cpu" = - ]; then
        "$bin/loyalty-switch" loadgen "$@" --quiet --json "$json" --svg "$work/$name.svg" || status=$?
    else
        pin "$cpu" "$bin/loyalty-switch" loadgen "$@" --quiet --json "$json" --svg "$work/$name.svg" || status=$?
    fi
    [ "$status" = 0 ] || failures=$((failures + 1))
    [ -s "$json" ] || { echo "loadgen wrote no report (exit $status)" >&2; exit 1; }
    rows+=("$(python3 - "$json" "$name" "$command" "$before" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
latency = report["latency_us"]
ms = lambda us: f"{us / 1000:.3f}"
print(f"| {sys.argv[2]} | `{sys.argv[3]}` | {report['throughput_per_second']:.0f} | {ms(latency['p50'])} | "
      f"{ms(latency['p99'])} | {ms(latency['p99.9'])} | {ms(latency['max'])} | {report['errors']} | {sys.argv[4]} |")
PY
)")
    [ "$quick" = 1 ] || cp "$work/$name.svg" "benchmarks/loadgen-$name.svg"
}

echo "== codec bench"
codec_output=$("$bin/codec-bench" $([ "$quick" = 1 ] && echo --quick))
echo "$codec_output"
ledger_output=""
if [ -x "$bin/ledger-bench" ]; then
    echo "== ledger bench (short settings)"
    mkdir -p "$work/ledger"
    ledger_output=$("$bin/ledger-bench" --quick --directory "$work/ledger")
    echo "$ledger_output"
fi

loyalty_output=""
if [ -x "$bin/loyalty-bench" ]; then
    echo "== loyalty rules bench"
    loyalty_output=$("$bin/loyalty-bench" --iterations $([ "$quick" = 1 ] && echo 20000 || echo 2000000))
    echo "$loyalty_output"
fi

# loadgen's own ceiling: a trivial responder on core 1, loadgen alone on core 0.
# Started without the pin() function: a backgrounded function is a subshell, and killing it would leave the
# responder running. taskset execs the responder, so $! is the responder itself.
if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then
    taskset -c 1 "$bin/echo-responder" --listen 127.0.0.1:0 >"$work/echo.log" 2>&1 &
else
    "$bin/echo-responder" --listen 127.0.0.1:0 >"$work/echo.log" 2>&1 &
fi
pids+=($!)
echo_port=$(port_from_log "$work/echo.log")
run_loadgen ceiling 0 "127.0.0.1:$echo_port" --connections 8 --in-flight 32 --duration "${ceiling_seconds}s" --warmup 1s
kill "${pids[-1]}"

# The switch, durable (fdatasync'd write-ahead log in a fresh directory), default configuration.
"$bin/loyalty-switch" serve --data "$work/data" --listen 127.0.0.1:0 --admin-listen 127.0.0.1:0 \
    >"$work/switch.log" 2>&1 &
pids+=($!)
switch_port=$(port_from_log "$work/switch.log")
mix="purchase=60,redeem=15,balance=10,reversal=10,refund=5"
run_loadgen saturation - "127.0.0.1:$switch_port" --connections 8 --in-flight 32 --duration "${seconds}s" --warmup "$warmup" --mix "$mix"
run_loadgen fixed-rate - "127.0.0.1:$switch_port" --connections 8 --in-flight 128 --rate "$rate" --duration "${seconds}s" --warmup "$warmup" --mix "$mix"
kill "${pids[-1]}"

# The same under the example club program: every purchase decided on the shard from the member's aggregates.
"$bin/loyalty-switch" serve --data "$work/data-rules" --listen 127.0.0.1:0 --admin-listen 127.0.0.1:0 \
    --config fixtures/rules/club-program.json >"$work/switch-rules.log" 2>&1 &
pids+=($!)
rules_port=$(port_from_log "$work/switch-rules.log")
run_loadgen rules-saturation - "127.0.0.1:$rules_port" --connections 8 --in-flight 32 --duration "${seconds}s" --warmup "$warmup" --mix "$mix"

section="## benchmarks/run.sh, $(date -u '+%Y-%m-%d %H:%M UTC') ($(nproc) cores, $(uname -r), commit $(git rev-parse --short HEAD 2>/dev/null || echo none))

Built with \`swift build -c release --scratch-path $scratch\`; loadgen and echo-responder from \`$bin\`.
Ceiling: \`taskset -c 1 echo-responder --listen 127.0.0.1:$echo_port\`, loadgen under \`taskset -c 0\` (loadgen above is
pinned by the script). Switch: \`loyalty-switch serve --data DIR --listen 127.0.0.1:$switch_port\` (durable, default
configuration), unpinned, sharing the 2 cores with loadgen; rules-saturation adds \`--config fixtures/rules/club-program.json\`. Latency in ms; open-loop latency counts from each request's
intended send time. Load = /proc/loadavg before the run.

| run | command | answers/s | p50 | p99 | p99.9 | max | errors | load (1/5/15 min) |
|---|---|---|---|---|---|---|---|---|
$(printf '%s\n' "${rows[@]}")

### codec-bench
$codec_output
"
if [ -n "$ledger_output" ]; then
    section="$section
### ledger-bench --quick
$ledger_output
"
fi
if [ -n "$loyalty_output" ]; then
    section="$section
### loyalty-bench
$loyalty_output
"
fi
if [ "$quick" = 1 ]; then
    echo "$section"
    if [ "$failures" != 0 ]; then echo "benchmark smoke: $failures loadgen runs reported errors" >&2; exit 1; fi
    echo "benchmark smoke passed (quick mode: nothing written)"
else
    printf '\n%s' "$section" >> benchmarks/RESULTS.md
    echo "appended to benchmarks/RESULTS.md"
fi
