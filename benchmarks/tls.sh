#!/usr/bin/env bash
# TLS benchmark (issue 14): the switch's own TLS against a plain listener and against stunnel4 (Debian) in front
# of the plain listener, measured in one run so the ratios hold on a shared machine. Bounded: a few seconds per row.
#
#   benchmarks/tls.sh [--seconds N] [--loops N] [--scratch-path DIR]
#
# Rows: closed loop (8 connections x 32 in flight) throughput and p99; open loop at a fixed rate, p99; handshakes
# per second with `openssl s_time -new` (a full handshake per connection, TLS 1.3, X25519, ECDSA P-256 certificate).
# The switch runs with durable false (no fdatasync), so the rows compare the network paths, not the disk; --loops
# sets its event loops (default 1: one thread does TLS and ISO 8583; stunnel4 uses a thread per connection).
# Needs openssl and stunnel4 (apt-get install -y stunnel4); prints a markdown table for benchmarks/RESULTS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"
seconds=3
loops=1
scratch=.build
while [ $# -gt 0 ]; do
    case "$1" in
        --seconds) seconds="$2"; shift ;;
        --loops) loops="$2"; shift ;;
        --scratch-path) scratch="$2"; shift ;;
        *) echo "usage: benchmarks/tls.sh [--seconds N] [--loops N] [--scratch-path DIR]" >&2; exit 2 ;;
    esac
    shift
done
command -v stunnel4 >/dev/null || { echo "stunnel4 missing: apt-get install -y stunnel4" >&2; exit 1; }
swift build -c release --product loyalty-switch --scratch-path "$scratch" >/dev/null
switch="$scratch/release/loyalty-switch"
work=$(mktemp -d /tmp/loyalty-tls-bench.XXXXXX)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT
fixtures/tls/make-test-certificates.sh "$work/certs" >/dev/null
plain=127.0.0.1:19583; tls=127.0.0.1:19584; tunnel=127.0.0.1:19585
cat > "$work/config.json" <<JSON
{"loops": $loops, "durable": false, "data": "$work/data",
 "listeners": [{"address": "$plain"},
               {"address": "$tls", "tls": {"certificate": "$work/certs/server.pem", "privateKey": "$work/certs/server.key"}}]}
JSON
"$switch" serve --config "$work/config.json" --admin-listen 127.0.0.1:0 2>"$work/switch.log" & pids+=($!)
cat > "$work/stunnel.conf" <<CONF
foreground = yes
pid =
debug = 0
[switch]
accept = $tunnel
connect = $plain
cert = $work/certs/server.pem
key = $work/certs/server.key
sslVersionMin = TLSv1.2
CONF
stunnel4 "$work/stunnel.conf" 2>"$work/stunnel.log" & pids+=($!)
sleep 2
ca="$work/certs/ca.pem"
loadgen() { # NAME TARGET EXTRA...
    local name=$1 target=$2; shift 2
    "$switch" loadgen "$target" --quiet --duration "${seconds}s" --warmup 1s --cards 100000 "$@" \
        --json "$work/$name.json" >/dev/null || true
    python3 - "$work/$name.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
print("%.0f %.3f %d" % (r["throughput_per_second"], r["latency_us"]["p99"] / 1000.0, r["errors"]))
PY
}
echo "| run | plain | switch TLS | stunnel4 TLS -> plain | switch TLS / plain | switch TLS / stunnel4 |"
echo "|---|---|---|---|---|---|"
closed="--connections 8 --in-flight 32"
read p_tp p_p99 p_err < <(loadgen plain-closed "$plain" $closed)
read t_tp t_p99 t_err < <(loadgen tls-closed "$tls" $closed --tls --ca "$ca")
read s_tp s_p99 s_err < <(loadgen stunnel-closed "$tunnel" $closed --tls --ca "$ca")
ratio() { python3 -c "import sys; a,b=float(sys.argv[1]),float(sys.argv[2]); print('%.2f' % (a/b if b else 0))" "$1" "$2"; }
echo "| closed loop 8x32: answers/s | $p_tp | $t_tp | $s_tp | $(ratio "$t_tp" "$p_tp") | $(ratio "$t_tp" "$s_tp") |"
echo "| closed loop 8x32: p99 ms | $p_p99 | $t_p99 | $s_p99 | $(ratio "$t_p99" "$p_p99") | $(ratio "$t_p99" "$s_p99") |"
rate=$(python3 -c "print(int(min($p_tp, $t_tp, $s_tp) * 0.5) // 1000 * 1000)")
open="--rate $rate --connections 8 --in-flight 128"
read p_tp p_p99 p_err < <(loadgen plain-open "$plain" $open)
read t_tp t_p99 t_err < <(loadgen tls-open "$tls" $open --tls --ca "$ca")
read s_tp s_p99 s_err < <(loadgen stunnel-open "$tunnel" $open --tls --ca "$ca")
echo "| open loop $rate/s: p99 ms | $p_p99 | $t_p99 | $s_p99 | $(ratio "$t_p99" "$p_p99") | $(ratio "$t_p99" "$s_p99") |"
handshakes() { # TARGET
    openssl s_time -connect "$1" -new -time "$seconds" -CAfile "$ca" 2>/dev/null \
        | awk '/connections in [0-9]+ real seconds/ { printf "%.0f\n", $1 / $4 }'
}
t_hs=$(handshakes "$tls"); s_hs=$(handshakes "$tunnel")
echo "| handshakes/s (openssl s_time -new, TLS 1.3) | - | $t_hs | $s_hs | - | $(ratio "$t_hs" "$s_hs") |"
echo
echo "errors: plain $p_err, switch TLS $t_err, stunnel4 $s_err (open loop); load average $(cut -d' ' -f1-3 /proc/loadavg)"
grep -h "TLS on" "$work/switch.log" | tail -2 || true
