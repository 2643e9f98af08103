#!/usr/bin/env bash
# Admin API benchmark (issue 13, item 5): GET /v1/health on the switch's own HTTP/1.1 server against a Hummingbird
# 2.28.1 hello-world giving the same answer (benchmarks/peers/hummingbird-peer, built in its own package), with wrk
# (Debian), in alternating rounds so the ratios hold on a shared machine; then the authorization p99 at a fixed
# ISO 8583 load, alone and while wrk hammers the admin API (health, then metrics). Bounded: a few seconds per row.
#
#   benchmarks/admin-http.sh [--seconds N] [--rounds N] [--rate N] [--loops N] [--durable true|false]
#                            [--scratch-path DIR]
#
# Both servers run with --loops event loops (default 2: the switch's default on 2 cores, and Hummingbird's
# singleton group there) and keep connections alive; wrk uses 1 thread and 16 connections. The switch runs durable
# (fdatasync per group commit) unless --durable false, which takes the disk (shared with other work) out of the
# authorization latency. Needs wrk (apt-get install -y wrk). Prints markdown tables for RESULTS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"
seconds=5
rounds=3
rate=20000
loops=2
durable=true
scratch=.build
while [ $# -gt 0 ]; do
    case "$1" in
        --seconds) seconds="$2"; shift ;;
        --rounds) rounds="$2"; shift ;;
        --rate) rate="$2"; shift ;;
        --loops) loops="$2"; shift ;;
        --durable) durable="$2"; shift ;;
        --scratch-path) scratch="$2"; shift ;;
        *) echo "usage: benchmarks/admin-http.sh [--seconds N] [--rounds N] [--rate N] [--loops N] [--durable B] [--scratch-path DIR]" >&2
           exit 2 ;;
    esac
    shift
done
command -v wrk >/dev/null || { echo "wrk missing: apt-get install -y wrk" >&2; exit 1; }
swift build -c release --product loyalty-switch --scratch-path "$scratch" >/dev/null
switch="$scratch/release/loyalty-switch"
peer_package=benchmarks/peers/hummingbird-peer
swift build -c release --package-path "$peer_package" --scratch-path "$peer_package/.build-peer" >/dev/null
peer="$peer_package/.build-peer/release/hummingbird-peer"
work=$(mktemp -d /tmp/loyalty-admin-bench.XXXXXX)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT
base=$((21000 + $$ % 20000))
iso=127.0.0.1:$base; admin=127.0.0.1:$((base + 1)); peer_port=$((base + 2))
echo "{\"loops\": $loops, \"durable\": $durable}" >"$work/config.json"
"$switch" serve --config "$work/config.json" --data "$work/data" --listen "$iso" --admin-listen "$admin" \
    2>"$work/switch.log" & pids+=($!)
"$peer" "$peer_port" "$loops" >"$work/peer.log" 2>&1 & pids+=($!)
for _ in $(seq 100); do
    curl -sf "http://$admin/v1/health" >/dev/null && curl -sf "http://127.0.0.1:$peer_port/v1/health" >/dev/null && break
    sleep 0.1
done

# wrk NAME URL -> "requests/s p99-ms"
wrk_row() {
    wrk -t1 -c16 -d"${seconds}s" --latency "$2" >"$work/$1.txt"
    python3 - "$work/$1.txt" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
rate = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
value, unit = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s)\s*$", text, re.M).groups()
p99 = float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]
errors = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
print(f"{rate:.0f} {p99:.3f} {errors.group(1) if errors else 0}")
PY
}

echo "loops $loops, durable $durable, wrk -t1 -c16 -d${seconds}s --latency, loadgen --rate $rate --duration ${seconds}s"
echo
echo "| round | switch requests/s | switch p99 ms | Hummingbird requests/s | Hummingbird p99 ms | requests/s switch / Hummingbird | load |"
echo "|---|---|---|---|---|---|---|"
for round in $(seq "$rounds"); do
    read -r ours_rate ours_p99 ours_errors < <(wrk_row "ours-$round" "http://$admin/v1/health")
    read -r peer_rate peer_p99 peer_errors < <(wrk_row "peer-$round" "http://127.0.0.1:$peer_port/v1/health")
    [ "$ours_errors" = 0 ] && [ "$peer_errors" = 0 ] || echo "non-2xx answers: switch $ours_errors, peer $peer_errors" >&2
    ratio=$(python3 -c "print(f'{$ours_rate / $peer_rate:.2f}')")
    echo "| $round | $ours_rate | $ours_p99 | $peer_rate | $peer_p99 | $ratio | $(cut -d' ' -f1 /proc/loadavg) |"
done
kill "${pids[1]}"; wait "${pids[1]}" 2>/dev/null || true

# authorization NAME -> "p50 p99 p99.9 answers/s errors" (ms)
source benchmarks/authorization-latency.sh

echo
echo "| round | admin load | authorization p50 ms | p99 ms | p99.9 ms | answers/s | errors | admin requests/s | load |"
echo "|---|---|---|---|---|---|---|---|---|"
for round in $(seq "$rounds"); do
    for hammer in none /v1/health /metrics; do
        admin_rate=-
        if [ "$hammer" != none ]; then
            wrk -t1 -c16 -d"$((seconds + 2))s" "http://$admin$hammer" >"$work/hammer.txt" & wrk_pid=$!
            sleep 0.5
        fi
        read -r p50 p99 p999 answers errors < <(authorization "auth-$round-${hammer//\//}")
        if [ "$hammer" != none ]; then
            wait "$wrk_pid"
            admin_rate=$(grep -oP 'Requests/sec:\s+\K[\d.]+' "$work/hammer.txt" | cut -d. -f1)
        fi
        echo "| $round | $hammer | $p50 | $p99 | $p999 | $answers | $errors | $admin_rate | $(cut -d' ' -f1 /proc/loadavg) |"
    done
done
