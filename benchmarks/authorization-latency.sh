# Sourced by benchmark scripts (not run alone): `authorization NAME` runs loadgen at a fixed rate against the switch
# and prints "p50 p99 p99.9 answers/s errors" (latencies in ms). Uses the caller's $switch, $iso, $rate, $seconds
# and $work; the loadgen report goes to $work/NAME.json.
authorization() {
    "$switch" loadgen "$iso" --quiet --rate "$rate" --duration "${seconds}s" --warmup 1s --in-flight 128 \
        --json "$work/$1.json" >/dev/null || true
    python3 - "$work/$1.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
l = r["latency_us"]
print(f'{l["p50"] / 1000:.3f} {l["p99"] / 1000:.3f} {l["p99.9"] / 1000:.3f} {r["throughput_per_second"]:.0f} {r["errors"]}')
PY
}
