#!/usr/bin/env bash
# Instructions per answered request, switch and SwiftNIO peer, counted by valgrind's callgrind (this machine's VM
# exposes no hardware counters to `perf stat`). Each server runs under callgrind twice, for SMALL and then LARGE
# requests of the load generator's mix (closed loop, 4 connections x 2 in flight: callgrind runs one thread at a
# time, ~50x slower); the difference of the two totals over the difference of the counts removes start-up and
# shutdown. Then the split of the LARGE run by inclusive cost of a few functions (callgrind_annotate), for the
# switch: decode, the shard's apply, the log, the response, the loops' I/O calls (user side; the kernel is not
# counted by callgrind: see the perf profiles in RESULTS.md for its share).
#
#   bash benchmarks/instructions.sh --switch BIN --peer BIN [--small N (2000)] [--large N (12000)]
#                                   [--switch-config JSON] [--settle-before S (0)] [--settle-after S (0)]
#
# --settle-before: seconds between the server's start and the load (with the member search on, its checkpoint
# views are then read while the ledger is empty in both runs, not during the load); --settle-after: seconds
# between the load's end and SIGTERM (so the log views have caught up in both runs). Under callgrind everything is
# ~50x slower: 15 and 6 were enough for 12,000 answers at the default configuration.
#
# Needs valgrind (Debian's package) and strip (binutils). Bounded: each load generator run under `timeout` 600 s, each server 60 s to
# start and 120 s to stop (callgrind writes its file at exit), then SIGKILL. Traffic to 127.0.0.1 only.
set -euo pipefail
cd "$(dirname "$0")/.."
source benchmarks/lib.sh

switch_bin="" peer_bin="" small=2000 large=12000 switch_config='{}' settle_before=0 settle_after=0
while [ $# -gt 0 ]; do
    [ $# -ge 2 ] || { echo "usage: see the head of $0" >&2; exit 2; }
    case "$1" in
        --switch) switch_bin="$2" ;;
        --peer) peer_bin="$2" ;;
        --small) small="$2" ;;
        --large) large="$2" ;;
        --switch-config) switch_config="$2" ;;
        --settle-before) settle_before="$2" ;;
        --settle-after) settle_after="$2" ;;
        *) echo "unknown option $1" >&2; exit 2 ;;
    esac
    shift 2
done
[ -x "$switch_bin" ] && [ -x "$peer_bin" ] || { echo "--switch and --peer: executables" >&2; exit 2; }
command -v valgrind >/dev/null || { echo "valgrind is missing (apt-get install valgrind)" >&2; exit 1; }
[ "$small" -ge 100 ] && [ "$large" -gt "$small" ] && [ "$large" -le 1000000 ] || { echo "counts: 100 <= small < large <= 1000000" >&2; exit 2; }

work=$(mktemp -d /tmp/instructions.XXXXXX)
server_pid=""
cleanup() {
    [ -z "$server_pid" ] || { kill -KILL "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; }
    rm -rf "$work"
}
trap cleanup EXIT
# Debian 12's valgrind (3.19) cannot read the DWARF 5 that Swift 6.3 writes ("Possibly corrupted debuginfo file"):
# the servers run from copies without debug sections (symbols stay, so functions keep their names).
cp "$switch_bin" "$work/switch-server" && strip --strip-debug "$work/switch-server"
cp "$peer_bin" "$work/peer-server" && strip --strip-debug "$work/peer-server"
mix="purchase=70,redeem=10,balance=10,reversal=10"

# run KIND COUNT: total instructions (Ir) of the server under callgrind for COUNT answered requests.
run() {
    local kind=$1 count=$2 dir="$work/$1-$2"
    mkdir -p "$dir"
    # The switch's budget is raised: under callgrind an answer takes milliseconds, and a 91 is another path.
    local config
    config=$(python3 -c 'import json,sys; c=json.loads(sys.argv[1]); c.setdefault("latencyBudgetMs", 10000); print(json.dumps(c))' "$switch_config")
    printf '%s\n' "$config" >"$dir/switch.json"
    local server=("$work/switch-server" serve --config "$dir/switch.json" --data "$dir/data" --listen 127.0.0.1:0 --admin-listen 127.0.0.1:0)
    [ "$kind" = switch ] || server=("$work/peer-server" --port 0 --data "$dir/data")
    valgrind --tool=callgrind --callgrind-out-file="$dir/callgrind.out" --dump-instr=no "${server[@]}" >"$dir/log" 2>&1 &
    server_pid=$!
    local port
    port=$(port_from_log "$dir/log" "listening on " 60) || exit 1
    sleep "$settle_before"
    timeout 600 "$switch_bin" loadgen "127.0.0.1:$port" --quiet --connections 4 --in-flight 2 --count "$count" \
        --duration 600s --mix "$mix" --json "$dir/report.json" >"$dir/loadgen.out" 2>&1 || true
    sleep "$settle_after"
    kill -TERM "$server_pid" 2>/dev/null || true
    for _ in $(seq 1200); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
    server_pid=""
    local answered
    answered=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["answered"])' "$dir/report.json")
    local total
    total=$(sed -n 's/^totals: \([0-9]*\).*/\1/p; s/^summary: \([0-9]*\).*/\1/p' "$dir"/callgrind.out* | head -1)
    echo "$answered $total" >"$dir/result"
    echo "   $kind: $answered answered, $total instructions in all (valgrind --tool=callgrind ${server[*]})" >&2
}

echo "nproc $(nproc); load average $(cut -d' ' -f1-3 /proc/loadavg); counts $small and $large; mix $mix"
echo "switch configuration: $switch_config"
for kind in switch peer; do
    run "$kind" "$small"
    run "$kind" "$large"
done
python3 - "$work" "$small" "$large" <<'PY'
import sys
work, small, large = sys.argv[1], sys.argv[2], sys.argv[3]
per = {}
for kind in ("switch", "peer"):
    (a1, i1), (a2, i2) = [map(int, open(f"{work}/{kind}-{n}/result").read().split()) for n in (small, large)]
    per[kind] = (i2 - i1) / (a2 - a1)
    print(f"{kind:7} instructions per answered request: {per[kind]:,.0f}   ({a2 - a1} answers, {i2 - i1:,} instructions)")
print(f"switch/peer: {per['switch'] / per['peer']:.2f}")
PY
# Where the switch's instructions per answer go, by stage: each stage is a function's inclusive cost (its callees
# included), LARGE run minus SMALL run over the answers between them, so start-up and shutdown cancel out. The
# kernel's side of the system calls is not counted by callgrind (see the perf profiles in RESULTS.md).
for n in "$small" "$large"; do
    callgrind_annotate --inclusive=yes --threshold=100 "$(ls "$work"/switch-"$n"/callgrind.out* | head -1)" 2>/dev/null \
        | swift demangle --simplified >"$work/switch-$n.inclusive" 2>/dev/null || true
done
python3 - "$work" "$small" "$large" <<'PY'
import re, sys
work, small, large = sys.argv[1], sys.argv[2], sys.argv[3]
def costs(n):
    found = {}
    for line in open(f"{work}/switch-{n}.inclusive", errors="replace"):
        m = re.match(r"\s*([\d,]+) \(", line)
        if m:
            found.setdefault(line, int(m.group(1).replace(",", "")))
    return found
def answers(n):
    return int(open(f"{work}/switch-{n}/result").read().split()[0])
stages = [
    ("loop threads in all (epoll, reads, decode, authorize, replies, writes)", "EventLoop.run()"),
    ("  frames decoded (ISO 8583 fields parsed)", "Dialect.decode(_:range:into:)"),
    ("  authorize on the loop: fields, card, key, command (submit included)", "SwitchConnection.authorize(digest:tpdu:)"),
    ("    of which submit: command built, queued to the shard, shard woken", "SwitchConnection.submit(kind:"),
    ("  replies turned into responses (build, encode, buffer)", "LoopContext.consume("),
    ("    of which a response encoded and queued", "SwitchConnection.send(_:tpdu:arrivalNs:)"),
    ("  socket writes (flush)", "Connection.flush()"),
    ("shard thread in all", "Shard.run()"),
    ("  commands applied (idempotency, rules, balances, lots)", "Shard.process("),
    ("    of which ShardState.apply", "ShardState.apply(_:nowMs:"),
    ("  log records encoded into the batch", "WALWriter.append("),
    ("  batches written and synced (pwrite, fdatasync, header mark)", "WALWriter.commit()"),
    ("log views' thread (history, sales, search; 0 when they are off)", "LogViewReader.step()"),
    ("  records read, checked, decoded and handed to the views", "LogViewReader.read(shard:for:)"),
]
small_costs, large_costs = costs(small), costs(large)
delta = answers(large) - answers(small)
def total(table, needle):
    return max([cost for line, cost in table.items() if needle in line] or [0])
print()
print(f"switch, instructions per answer by stage (inclusive; {large} minus {small} answers' runs):")
for label, needle in stages:
    per = (total(large_costs, needle) - total(small_costs, needle)) / delta
    print(f"  {per:9,.0f}  {label}   [{needle}]")
PY
out=$(ls "$work"/switch-"$large"/callgrind.out* | head -1)
echo
echo "switch, inclusive cost of the large run by function (callgrind_annotate --inclusive=yes), top entries:"
callgrind_annotate --inclusive=yes "$out" 2>/dev/null | grep -E "^ *[0-9,]+ \(" | head -40 | cut -c1-200 || true
echo
echo "switch, exclusive cost of the large run by function (callgrind_annotate), top entries:"
callgrind_annotate "$out" 2>/dev/null | grep -E "^ *[0-9,]+ \(" | head -25 | cut -c1-200 || true
