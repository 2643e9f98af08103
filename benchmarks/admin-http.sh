#!/usr/bin/env bash
# Admin API benchmark (issue 13, items 4 and 5): the switch's own HTTP/1.1 server against a Hummingbird 2.28.1 peer
# giving the same answers (benchmarks/peers/hummingbird-peer, built in its own package), with wrk (Debian), in
# alternating rounds so the ratios hold on a shared machine: `GET /v1/health`, `GET /v1/members/{id}` and
# `POST /v1/members/{id}/adjustments` (benchmarks/admin-member.lua, benchmarks/admin-adjustments.lua: a token and a
# unique Idempotency-Key per request). Then the authorization p99 at a fixed ISO 8583 load, alone and while wrk
# hammers the member read, then the adjustments. Bounded: a few seconds per row.
#
#   benchmarks/admin-http.sh [--seconds N] [--rounds N] [--rate N] [--loops N] [--durable true|false]
#                            [--connections N] [--scratch-path DIR] [--admin-loop own|shared|both]
#                            [--peer-binary PATH] [--tables "http hammer paced"] [--write-rates "200 1000"]
#                            [--baseline-binary PATH] [--switch-binary PATH]
#
# The `paced` table (issue 13 item 4, admin writes at a fixed rate): the authorization p99 at the fixed ISO rate
# alone and while benchmarks/admin-adjustments-paced.lua sends adjustments at each of --write-rates per second (a
# schedule, not wrk's closed loop), with the fdatasyncs of the window counted by file (`perf stat` on the
# syscalls:sys_enter_fdatasync tracepoint filtered by descriptor: audit journal, private file, the rest; no ptrace
# slowdown) and the switch's CPU time. --baseline-binary runs a second switch from another build (e.g. main's) on the own admin loop, its rows
# alternating with this build's within each round, so before and after meet the same machine load. --switch-binary
# runs a loyalty-switch built before instead of building this checkout.
#
# --admin-loop says where the admin API runs (`admin.loop`: on a loop of its own at nice 10, the default, or on the
# ISO loops); with `both` two switches run side by side (each with its own data) and the authorization rows
# alternate between them within each round, so the two placements are compared on the same machine load. The
# HTTP rows use the first placement named. --peer-binary runs a hummingbird-peer built before (another checkout's)
# instead of building it here (minutes on 2 cores).
#
# Both servers run with --loops event loops (default 2: the switch's default on 2 cores, and Hummingbird's
# singleton group there) and keep connections alive; wrk uses 1 thread and --connections connections (default 16).
# The switch runs durable (an adjustment is answered after its log record and audit entry are synced) unless
# --durable false; the peer keeps its state in memory only. Needs wrk (apt-get install -y wrk). Prints markdown
# tables for RESULTS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"
seconds=5
rounds=3
rate=20000
loops=2
durable=true
scratch=.build
connections=16
admin_loops=own
peer=
tables="http hammer paced"
write_rates="200 1000"
baseline=
switch=
while [ $# -gt 0 ]; do
    case "$1" in
        --seconds) seconds="$2"; shift ;;
        --rounds) rounds="$2"; shift ;;
        --rate) rate="$2"; shift ;;
        --loops) loops="$2"; shift ;;
        --durable) durable="$2"; shift ;;
        --connections) connections="$2"; shift ;;
        --scratch-path) scratch="$2"; shift ;;
        --peer-binary) peer="$2"; shift ;;
        --tables) tables="$2"; shift ;;
        --write-rates) write_rates="$2"; shift ;;
        --baseline-binary) baseline="$2"; shift ;;
        --switch-binary) switch="$2"; shift ;;
        --admin-loop) case "$2" in own | shared) admin_loops="$2" ;; both) admin_loops="shared own" ;;
                          *) echo "--admin-loop: own, shared or both" >&2; exit 2 ;; esac; shift ;;
        *) echo "usage: benchmarks/admin-http.sh [--seconds N] [--rounds N] [--rate N] [--loops N] [--durable B]" \
                "[--connections N] [--scratch-path DIR] [--admin-loop own|shared|both] [--peer-binary PATH]" \
                "[--tables \"http hammer paced\"] [--write-rates \"200 1000\"] [--baseline-binary PATH]" \
                "[--switch-binary PATH]" >&2
           exit 2 ;;
    esac
    shift
done
command -v wrk >/dev/null || { echo "wrk missing: apt-get install -y wrk" >&2; exit 1; }
if [ -z "$switch" ]; then
    swift build -c release --product loyalty-switch --scratch-path "$scratch" >/dev/null
    switch="$scratch/release/loyalty-switch"
fi
if [ -z "$peer" ] && [[ " $tables " == *" http "* ]]; then
    peer_package=benchmarks/peers/hummingbird-peer
    swift build -c release --package-path "$peer_package" --scratch-path "$peer_package/.build-peer" >/dev/null
    peer="$peer_package/.build-peer/release/hummingbird-peer"
fi
work=$(mktemp -d /tmp/loyalty-admin-bench.XXXXXX)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT
base=$((21000 + $$ % 20000))
peer_port=$base
token=$("$switch" admin init --data "$work/data" --name bench | sed -n 's/^token: //p')
[ -n "$token" ] || { echo "admin init printed no token" >&2; exit 1; }
# start_switch PLACEMENT [BINARY NAME]: a switch (BINARY, default this build) with the admin API on PLACEMENT (own
# or shared), its data a copy of the one admin init made (the same token); sets iso_NAME, admin_NAME, member_NAME
# and pid_NAME (NAME defaults to PLACEMENT).
# The token's rate and the remembered Idempotency-Key answers are raised to their maxima: the benchmark measures
# the routes, not the limiter (every answer must be 2xx; the tables count those that were not).
start_switch() {
    local placement=$1 binary=${2:-$switch} name=${3:-$1} offset
    case "$name" in own) offset=1 ;; shared) offset=3 ;; *) offset=5 ;; esac
    local iso=127.0.0.1:$((base + offset)) admin=127.0.0.1:$((base + offset + 1))
    cp -r "$work/data" "$work/data-$name"
    printf '{"loops": %s, "durable": %s, "admin": {"listen": "%s", "loop": "%s", %s, %s}}\n' \
        "$loops" "$durable" "$admin" "$placement" '"requestsPerSecondPerToken": 100000' \
        '"idempotencyKeysMax": 1000000' >"$work/config-$name.json"
    "$binary" serve --config "$work/config-$name.json" --data "$work/data-$name" --listen "$iso" \
        2>"$work/switch-$name.log" &
    pids+=($!)
    printf -v "pid_$name" %s "$!"
    for _ in $(seq 100); do curl -sf "http://$admin/v1/health" >/dev/null && break; sleep 0.1; done
    # One member with a card and 1,000,000 points to read and adjust.
    local member
    member=$(curl -sf -X POST "http://$admin/v1/members" -H "Authorization: Bearer $token" \
        -H 'Content-Type: application/json' -d '{"pan":"6037991234567893"}' \
        | python3 -c 'import json, sys; print(json.load(sys.stdin)["id"])')
    curl -sf -X POST "http://$admin/v1/members/$member/adjustments" -H "Authorization: Bearer $token" \
        -H 'Content-Type: application/json' -d '{"asset":"points","amount":1000000,"reason":"migration"}' >/dev/null
    printf -v "iso_$name" %s "$iso"
    printf -v "admin_$name" %s "$admin"
    printf -v "member_$name" %s "$member"
}
for placement in $admin_loops; do start_switch "$placement"; done
[ -z "$baseline" ] || start_switch own "$baseline" baseline
if [[ " $tables " == *" http "* ]]; then
    "$peer" "$peer_port" "$loops" "$token" >"$work/peer.log" 2>&1 &
    peer_pid=$!
    pids+=("$peer_pid")
    for _ in $(seq 100); do curl -sf "http://127.0.0.1:$peer_port/v1/health" >/dev/null && break; sleep 0.1; done
fi
first=${admin_loops%% *}
iso_var=iso_$first admin_var=admin_$first member_var=member_$first
iso=${!iso_var} admin=${!admin_var} member=${!member_var}
export ADMIN_TOKEN="$token"

# wrk NAME URL ROUTE -> "requests/s p99-ms non-2xx"; ROUTE is health, member or adjustments (the Lua scripts read
# ADMIN_MEMBER and ADMIN_TOKEN; NAME makes the Idempotency-Keys of a run unique).
wrk_row() {
    local script=()
    case "$3" in
        member | adjustments) script=(-s "benchmarks/admin-$3.lua") ;;
    esac
    ADMIN_KEY_PREFIX="$1" wrk -t1 -c"$connections" -d"${seconds}s" --latency "${script[@]}" "$2" >"$work/$1.txt"
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

if [[ " $tables " == *" http "* ]]; then
    echo "loops $loops, durable $durable, admin loop: $admin_loops (HTTP rows: $first), wrk -t1 -c$connections -d${seconds}s --latency," \
        "loadgen --rate $rate --duration ${seconds}s"
    echo
    echo "| round | route | switch requests/s | switch p99 ms | Hummingbird requests/s | Hummingbird p99 ms |" \
        "requests/s switch / Hummingbird | non-2xx switch, Hummingbird | load |"
    echo "|---|---|---|---|---|---|---|---|---|"
    for round in $(seq "$rounds"); do
        for route in health member adjustments; do
            path=/; [ "$route" = health ] && path=/v1/health
            read -r ours_rate ours_p99 ours_errors < <(
                ADMIN_MEMBER="$member" wrk_row "ours-$round-$route" "http://$admin$path" "$route")
            read -r peer_rate peer_p99 peer_errors < <(
                ADMIN_MEMBER=mbr_peer wrk_row "peer-$round-$route" "http://127.0.0.1:$peer_port$path" "$route")
            ratio=$(python3 -c "print(f'{$ours_rate / $peer_rate:.2f}')")
            echo "| $round | $route | $ours_rate | $ours_p99 | $peer_rate | $peer_p99 | $ratio |" \
                "$ours_errors, $peer_errors | $(cut -d' ' -f1 /proc/loadavg) |"
        done
    done

    kill "$peer_pid"; wait "$peer_pid" 2>/dev/null || true
fi

# authorization NAME -> "p50 p99 p99.9 answers/s errors" (ms)
source benchmarks/authorization-latency.sh

if [[ " $tables " == *" hammer "* ]]; then
    echo
    echo "| round | admin loop | admin load | authorization p50 ms | p99 ms | p99.9 ms | answers/s | errors |" \
        "admin requests/s | admin non-2xx | load |"
    echo "|---|---|---|---|---|---|---|---|---|---|---|"
    for round in $(seq "$rounds"); do
        for hammer in none member adjustments; do
            for placement in $admin_loops; do
                iso_var=iso_$placement admin_var=admin_$placement member_var=member_$placement
                iso=${!iso_var} admin=${!admin_var}
                export ADMIN_MEMBER=${!member_var}
                admin_rate=-
                admin_errors=-
                if [ "$hammer" != none ]; then
                    ADMIN_KEY_PREFIX="hammer-$round-$placement" wrk -t1 -c"$connections" -d"$((seconds + 2))s" \
                        -s "benchmarks/admin-$hammer.lua" "http://$admin/" >"$work/hammer.txt" &
                    wrk_pid=$!
                    sleep 0.5
                fi
                read -r p50 p99 p999 answers errors < <(authorization "auth-$round-$hammer-$placement")
                if [ "$hammer" != none ]; then
                    wait "$wrk_pid"
                    admin_rate=$(grep -oP 'Requests/sec:\s+\K[\d.]+' "$work/hammer.txt" | cut -d. -f1)
                    admin_errors=$(grep -oP 'Non-2xx or 3xx responses: \K\d+' "$work/hammer.txt" || echo 0)
                fi
                echo "| $round | $placement | $hammer | $p50 | $p99 | $p999 | $answers | $errors | $admin_rate |" \
                    "$admin_errors | $(cut -d' ' -f1 /proc/loadavg) |"
            done
        done
    done
fi

# fdatasyncs NAME PID: counts the process's fdatasync calls until the file NAME.stop appears (run in the
# background): those on the audit journal's descriptors, those on the private file's, and all of them (the rest
# are the shards' group commits; the threads are not told apart by name, so by file). `sync_counts NAME` prints
# "others journal private" afterwards.
fdatasyncs() {
    local journal=() private=() fd target
    for fd in /proc/"$2"/fd/*; do
        target=$(readlink "$fd" || true)
        case "$target" in
            */audit/journal.jsonl) journal+=("fd == ${fd##*/}") ;;
            */audit/private.jsonl) private+=("fd == ${fd##*/}") ;;
        esac
    done
    local journal_filter private_filter
    journal_filter=$(IFS='|'; echo "${journal[*]:-fd == -1}" | sed 's/|/ || /g')
    private_filter=$(IFS='|'; echo "${private[*]:-fd == -1}" | sed 's/|/ || /g')
    perf stat -x, -p "$2" -o "$work/$1.perf" \
        -e syscalls:sys_enter_fdatasync --filter "$journal_filter" \
        -e syscalls:sys_enter_fdatasync --filter "$private_filter" \
        -e syscalls:sys_enter_fdatasync \
        -- bash -c "while [ ! -e '$work/$1.stop' ]; do sleep 0.05; done" 2>/dev/null
}
sync_counts() {
    python3 - "$work/$1.perf" <<'PY'
import sys
counts = [int(line.split(",")[0]) for line in open(sys.argv[1]) if line.split(",")[0].strip().isdigit()]
journal, private, total = (counts + [0, 0, 0])[:3]
print(total - journal - private, journal, private)
PY
}
# cpu_ms PID: the process's user + system CPU time so far, in ms.
cpu_ms() { awk -v hz="$(getconf CLK_TCK)" '{ print int(($14 + $15) * 1000 / hz) }' "/proc/$1/stat"; }

if [[ " $tables " == *" paced "* ]]; then
    command -v perf >/dev/null || { echo "perf missing: apt-get install -y linux-perf" >&2; exit 1; }
    builds=own
    [ -z "$baseline" ] || builds="own baseline"
    echo
    echo "Admin writes at a fixed rate (benchmarks/admin-adjustments-paced.lua, wrk -t1 -c$connections), ISO" \
        "authorizations at --rate $rate (loadgen), ${seconds}s windows; fdatasyncs counted by file over the window" \
        "(the loadgen's authorizations are durable too: the shards' syncs are shared). build own: this checkout;" \
        "baseline: ${baseline:-none}."
    echo
    echo "| round | build | admin writes/s asked | done | admin p99 ms | authorization p50 ms | p99 ms | p99.9 ms |" \
        "answers/s | errors | other fdatasyncs (shards) | journal fdatasyncs | private fdatasyncs |" \
        "audit syncs per write | switch CPU s | load |"
    echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
    for round in $(seq "$rounds"); do
        for write_rate in 0 $write_rates; do
            for build in $builds; do
                iso_var=iso_$build admin_var=admin_$build member_var=member_$build pid_var=pid_$build
                iso=${!iso_var} admin=${!admin_var} pid=${!pid_var}
                export ADMIN_MEMBER=${!member_var}
                name="paced-$round-$write_rate-$build"
                fdatasyncs "$name" "$pid" &
                perf_pid=$!
                sleep 0.3
                cpu_before=$(cpu_ms "$pid")
                done_rate=- admin_p99=-
                if [ "$write_rate" != 0 ]; then
                    ADMIN_RATE=$write_rate ADMIN_KEY_PREFIX="$name" wrk -t1 -c"$connections" -d"$((seconds + 1))s" \
                        --latency -s benchmarks/admin-adjustments-paced.lua "http://$admin/" >"$work/$name.txt" &
                    wrk_pid=$!
                    sleep 0.5
                fi
                read -r p50 p99 p999 answers errors < <(authorization "auth-$name")
                if [ "$write_rate" != 0 ]; then
                    wait "$wrk_pid"
                    read -r done_rate admin_p99 admin_errors < <(python3 - "$work/$name.txt" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
rate = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
value, unit = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s)\s*$", text, re.M).groups()
errors = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
requests = int(re.search(r"(\d+) requests in", text).group(1))
print(f"{rate:.0f} {float(value) * {'us': 0.001, 'ms': 1.0, 's': 1000.0}[unit]:.3f} {errors.group(1) if errors else 0}")
print(requests, file=open(sys.argv[1] + ".requests", "w"))
PY
                    )
                    [ "$admin_errors" = 0 ] || done_rate="$done_rate ($admin_errors non-2xx)"
                fi
                cpu_after=$(cpu_ms "$pid")
                touch "$work/$name.stop"
                wait "$perf_pid" || true
                read -r shard_syncs journal_syncs private_syncs < <(sync_counts "$name")
                per_write=-
                if [ "$write_rate" != 0 ]; then
                    per_write=$(python3 -c \
                        "print(f'{($journal_syncs + $private_syncs) / max(1, $(cat "$work/$name.txt.requests")):.3f}')")
                fi
                cpu=$(python3 -c "print(f'{($cpu_after - $cpu_before) / 1000:.2f}')")
                echo "| $round | $build | $write_rate | $done_rate | $admin_p99 | $p50 | $p99 | $p999 | $answers |" \
                    "$errors | $shard_syncs | $journal_syncs | $private_syncs | $per_write | $cpu |" \
                    "$(cut -d' ' -f1 /proc/loadavg) |"
            done
        done
    done
fi
