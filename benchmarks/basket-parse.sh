#!/bin/sh
# Field 48's basket on the request path (docs/basket.md): ns and heap allocations per purchase for reading field 48
# (checks and the sum rule) and for building the ledger's lines, without field 48, with a service code only, and
# with 3 and 12 basket lines. One command:
#   sh benchmarks/basket-parse.sh [--iterations N]
# Builds the release benchmark in its own scratch path (SCRATCH, default .build-bench) and prints a markdown table.
set -eu
cd "$(dirname "$0")/.."
scratch=${SCRATCH:-.build-bench}
swift build -c release --product basket-bench --scratch-path "$scratch" >&2
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
"$scratch/release/basket-bench" "$@"
