#!/usr/bin/env bash
# Full-size storage-fault runs (issue 12, items 3-5), with the switch built from the commit before the storage
# changes and from this tree, side by side. The tests (`swift test`) run the same faults scaled down; this is the
# size the issue reported them at. Needs root (mount, prlimit), pyiso8583, and about 10 minutes.
#
#   benchmarks/storage-faults.sh [BEFORE_COMMIT]        default b2fbcce
#   PARTS="sigterm" BEFORE_BIN=DIR AFTER_BIN=DIR benchmarks/storage-faults.sh    reuse release builds, some parts
#
# Rows go to standard output as Markdown (the numbers in benchmarks/RESULTS.md, "Storage faults").
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"
before_commit=${1:-b2fbcce}
work=$(mktemp -d /tmp/storage-faults.XXXXXX)
trap 'umount -l "$work"/*/disk 2>/dev/null || true; rm -rf "$work"' EXIT

before=${BEFORE_BIN:-}
after=${AFTER_BIN:-}
if [ -z "$before" ] || [ -z "$after" ]; then
    mkdir -p "$work/before-tree"
    git archive "$before_commit" | tar -x -C "$work/before-tree"
    echo "== building loyalty-switch at $before_commit and at $(git rev-parse --short HEAD) (release)" >&2
    (cd "$work/before-tree" && swift build -c release --product loyalty-switch --scratch-path "$work/before-build" \
        2>&1 | tail -1) >&2
    swift build -c release --product loyalty-switch --scratch-path "$work/after-build" 2>&1 | tail -1 >&2
    before=$(cd "$work/before-tree" && swift build -c release --scratch-path "$work/before-build" --show-bin-path)
    after=$(swift build -c release --scratch-path "$work/after-build" --show-bin-path)
fi

for part in ${PARTS:-diskfull idle exhaust sigterm}; do
    for side in before after; do
        bin=$before/loyalty-switch
        [ "$side" = after ] && bin=$after/loyalty-switch
        echo "== $part, $side (load $(cut -d' ' -f1-3 /proc/loadavg))" >&2
        python3 benchmarks/storage_faults.py "$part" "$bin" "$work/$side-$part" | sed "s/^| /| $side | /"
    done
done
