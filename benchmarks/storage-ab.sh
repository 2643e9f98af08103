#!/usr/bin/env bash
# Before/after of the storage changes of issue 12 (segment headers whose acknowledged mark is rewritten after
# every batch, segments started between batches from a reserve made ahead): ledger-bench's durable earn
# throughput built from the commit before them and from this tree, interleaved round by round in one run so
# that both sides see the same machine load.
#
#   benchmarks/storage-ab.sh [BEFORE_COMMIT] [ROUNDS]      default b2fbcce, 3 rounds
#
# Each round runs `ledger-bench --quick --only throughput` (1, 2 and 4 shards; 32, 1024 and 16384 earns in
# flight; 2 s each; real fdatasync) with the before binary, then with the after one. Prints the rows with the
# side and round in front. Builds release binaries under /tmp (not .build); needs git and about 5 minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"
before_commit=${1:-b2fbcce}
rounds=${2:-3}
work=$(mktemp -d /tmp/storage-ab.XXXXXX)
trap 'rm -rf "$work"' EXIT

mkdir -p "$work/before"
git archive "$before_commit" | tar -x -C "$work/before"
echo "== building ledger-bench at $before_commit and at $(git rev-parse --short HEAD) (release)" >&2
(cd "$work/before" && swift build -c release --product ledger-bench --scratch-path "$work/before-build" 2>&1 | tail -1) >&2
swift build -c release --product ledger-bench --scratch-path "$work/after-build" 2>&1 | tail -1 >&2
before_bin=$(cd "$work/before" && swift build -c release --scratch-path "$work/before-build" --show-bin-path)/ledger-bench
after_bin=$(swift build -c release --scratch-path "$work/after-build" --show-bin-path)/ledger-bench

echo "| side | round | shards | in flight | earn ops/s | records per fdatasync | p50 µs | p99 µs | p99.9 µs | load |"
echo "|---|---|---|---|---|---|---|---|---|---|"
for round in $(seq "$rounds"); do
    for side in before after; do
        bin=$before_bin
        [ "$side" = after ] && bin=$after_bin
        load=$(cut -d' ' -f1 /proc/loadavg)
        "$bin" --quick --only throughput --directory "$work/data" 2>/dev/null | grep -E '^\| [0-9]' \
            | sed "s/^| /| $side | $round | /; s/ |\$/ | $load |/"
    done
done
