#!/usr/bin/env bash
# Member notification delivery (issue 15): events/s delivered to a local receiver, and the authorization latency
# at a fixed ISO 8583 rate with delivery running and without it.
#
#   benchmarks/notifications.sh [--events N] [--members N] [--rounds N] [--seconds N] [--rate N] [--loops N]
#                               [--commit-ms N] [--events-per-second N] [--scratch-path DIR] [--outbox-only]
#                               [--shards N]
#
# The last table is the ledger outbox (no test source): the authorizations' own purchases become events read from
# the switch's log (every shard, --shards, 1 by default) and delivered to the sink; delivery runs on a loop of its
# own (never an ISO 8583 loop); "events/s from the log" is loyalty_outbox_events_total
# over the load's duration, with the authorization latency beside the same load without notifications.
# --outbox-only runs that table alone.
#
# The switch (release) runs its hidden test source (`serve --notifications-test-source EVENTS:MEMBERS`) into one
# webhook; the receiver is benchmarks/webhook-sink (our own HTTP/1.1 server answering 200 at once, so the client
# is what is measured) or Tests/WebhookTestSupport/webhook_receiver.py (Python's http.server checking every
# signature with hmac: what a simple real receiver manages). The rate is events acknowledged (the switch's
# loyalty_notifications_delivered_total) over the time from the switch's "delivering to" log line to the last
# acknowledgement, polled every 50 ms. Progress is durable (fdatasync per group commit). Prints markdown tables.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"
events=100000
members=1000
rounds=3
seconds=5
rate=20000
loops=2
commit=20
budget=2000
scratch=.build
outbox_only=0
shards=1
while [ $# -gt 0 ]; do
    case "$1" in
        --events) events="$2"; shift ;;
        --members) members="$2"; shift ;;
        --rounds) rounds="$2"; shift ;;
        --seconds) seconds="$2"; shift ;;
        --rate) rate="$2"; shift ;;
        --loops) loops="$2"; shift ;;
        --commit-ms) commit="$2"; shift ;;
        --events-per-second) budget="$2"; shift ;;
        --scratch-path) scratch="$2"; shift ;;
        --outbox-only) outbox_only=1 ;;
        --shards) shards="$2"; shift ;;
        *) echo "usage: benchmarks/notifications.sh [--events N] [--members N] [--rounds N] [--seconds N] [--rate N] [--loops N] [--commit-ms N] [--events-per-second N] [--scratch-path DIR] [--outbox-only] [--shards N]" >&2
           exit 2 ;;
    esac
    shift
done
swift build -c release --product loyalty-switch --scratch-path "$scratch" >/dev/null
swift build -c release --product webhook-sink --scratch-path "$scratch" >/dev/null
switch="$scratch/release/loyalty-switch"
sink="$scratch/release/webhook-sink"
work=$(mktemp -d /tmp/loyalty-notify-bench.XXXXXX)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT
base=$((23000 + $$ % 20000))
receiver_port=$base; admin=127.0.0.1:$((base + 1)); iso=127.0.0.1:$((base + 2))

# start_receiver KIND: the sink or the Python receiver on $receiver_port; sets receiver_pid and url.
start_receiver() {
    if [ "$1" = sink ]; then
        "$sink" --listen "127.0.0.1:$receiver_port" --loops 1 >"$work/sink.log" & receiver_pid=$!
        url="http://127.0.0.1:$receiver_port/bench"
    else
        python3 Tests/WebhookTestSupport/webhook_receiver.py --secret bench --log /dev/null \
            >"$work/python.log" & receiver_pid=$!
        for _ in $(seq 100); do [ -s "$work/python.log" ] && break; sleep 0.05; done
        url="http://127.0.0.1:$(head -1 "$work/python.log")/bench"
    fi
    sleep 0.3
}

# start_switch URL SOURCE: the switch delivering SOURCE (EVENTS:MEMBERS, or "off" for no notifications) to URL.
start_switch() {
    rm -rf "$work/data"
    if [ "$2" = off ]; then
        echo "{\"loops\": $loops}" >"$work/config.json"
        "$switch" serve --config "$work/config.json" --data "$work/data" --listen "$iso" --admin-listen "$admin" \
            2>"$work/switch.log" & switch_pid=$!
    else
        echo "{\"loops\": $loops, \"notifications\": {\"webhooks\": [{\"url\": \"$1\", \"secret\": \"bench\"}], \"progressCommitIntervalMs\": $commit, \"eventsPerSecondMax\": $budget}}" \
            >"$work/config.json"
        "$switch" serve --config "$work/config.json" --data "$work/data" --listen "$iso" --admin-listen "$admin" \
            --notifications-test-source "$2" 2>"$work/switch.log" & switch_pid=$!
    fi
    for _ in $(seq 200); do curl -sf "http://$admin/v1/health" >/dev/null && break; sleep 0.05; done
}

# delivery_rate N: waits for N acknowledgements; prints "events/s seconds retried".
delivery_rate() {
    python3 - "$admin" "$1" "$work/switch.log" <<'PY'
import re, sys, time, urllib.request, datetime
admin, total, log = sys.argv[1], int(sys.argv[2]), sys.argv[3]
def scrape():
    text = urllib.request.urlopen(f"http://{admin}/metrics").read().decode()
    values = {}
    for name in ("delivered", "retried"):
        match = re.search(rf"^loyalty_notifications_{name}_total\{{[^}}]*\}} (\d+)$", text, re.M)
        values[name] = int(match.group(1)) if match else 0
    return values
deadline = time.time() + 600
while time.time() < deadline:
    values = scrape()
    if values["delivered"] >= total:
        break
    time.sleep(0.05)
end = datetime.datetime.now(datetime.timezone.utc)
line = next(l for l in open(log) if "delivering to" in l)
start = datetime.datetime.fromisoformat(line.split(" ")[0].replace("Z", "+00:00"))
elapsed = (end - start).total_seconds()
print(f"{values['delivered'] / elapsed:.0f} {elapsed:.2f} {values['retried']}")
PY
}

# start_outbox URL: the switch ($shards shards) delivering its ledger outbox to URL, or no notifications with "off".
start_outbox() {
    rm -rf "$work/data"
    if [ "$1" = off ]; then
        echo "{\"loops\": $loops, \"shards\": $shards}" >"$work/config.json"
    else
        echo "{\"loops\": $loops, \"shards\": $shards, \"notifications\": {\"webhooks\": [{\"url\": \"$1\", \"secret\": \"bench\"}], \"progressCommitIntervalMs\": $commit, \"eventsPerSecondMax\": $budget}}" \
            >"$work/config.json"
    fi
    "$switch" serve --config "$work/config.json" --data "$work/data" --listen "$iso" --admin-listen "$admin" \
        2>"$work/switch.log" & switch_pid=$!
    for _ in $(seq 200); do curl -sf "http://$admin/v1/health" >/dev/null && break; sleep 0.05; done
}

# authorization NAME -> "p50 p99 p99.9 answers/s errors" (ms)
source benchmarks/authorization-latency.sh

outbox_table() {
    echo
    echo "| round | outbox | authorization p50 ms | p99 ms | p99.9 ms | answers/s | errors | events from the log | events/s from the log | delivered | load |"
    echo "|---|---|---|---|---|---|---|---|---|---|---|"
    for round in $(seq "$rounds"); do
        for delivery in off on; do
            start_receiver sink
            if [ "$delivery" = on ]; then start_outbox "$url"; else start_outbox off; fi
            read -r p50 p99 p999 answers errors < <(authorization "outbox-$round-$delivery")
            metrics=$(curl -sf "http://$admin/metrics")
            events=$(echo "$metrics" | grep -oP '^loyalty_outbox_events_total \K\d+' || echo 0)
            delivered=$(echo "$metrics" | grep -oP '^loyalty_notifications_delivered_total\{[^}]*\} \K\d+' || echo -)
            echo "| $round | $delivery | $p50 | $p99 | $p999 | $answers | $errors | $events | $((events / (seconds + 1))) | $delivered | $(cut -d' ' -f1 /proc/loadavg) |"
            kill "$switch_pid" "$receiver_pid"; wait "$switch_pid" "$receiver_pid" 2>/dev/null || true
        done
    done
}

if [ "$outbox_only" = 1 ]; then
    outbox_table
    exit 0
fi

echo "loops $loops, one webhook, connectionsPerWebhookMax 4 (default), durable progress every $commit ms, eventsPerSecondMax $budget"
echo
echo "| round | receiver | events | members | events/s | seconds | retried | load |"
echo "|---|---|---|---|---|---|---|---|"
for round in $(seq "$rounds"); do
    for kind in sink python; do
        count=$events
        [ "$kind" = python ] && count=$((events / 10))
        start_receiver "$kind"
        start_switch "$url" "$count:$members"
        read -r per_second elapsed retried < <(delivery_rate "$count")
        echo "| $round | $kind | $count | $members | $per_second | $elapsed | $retried | $(cut -d' ' -f1 /proc/loadavg) |"
        kill "$switch_pid" "$receiver_pid"; wait "$switch_pid" "$receiver_pid" 2>/dev/null || true
    done
done

echo
echo "| round | delivery | authorization p50 ms | p99 ms | p99.9 ms | answers/s | errors | events delivered meanwhile | load |"
echo "|---|---|---|---|---|---|---|---|---|"
for round in $(seq "$rounds"); do
    for delivery in off on; do
        start_receiver sink
        if [ "$delivery" = on ]; then start_switch "$url" "100000000:$members"; else start_switch "$url" off; fi
        read -r p50 p99 p999 answers errors < <(authorization "auth-$round-$delivery")
        delivered=$(curl -sf "http://$admin/metrics" | grep -oP '^loyalty_notifications_delivered_total\{[^}]*\} \K\d+' || echo -)
        echo "| $round | $delivery | $p50 | $p99 | $p999 | $answers | $errors | $delivered | $(cut -d' ' -f1 /proc/loadavg) |"
        kill "$switch_pid" "$receiver_pid"; wait "$switch_pid" "$receiver_pid" 2>/dev/null || true
    done
done

outbox_table
