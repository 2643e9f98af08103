#!/usr/bin/env bash
# Assertions per function in the modules that keep money and answer terminals (issue 11, TigerBeetle's habit:
# assertions on arguments, results and invariants on both sides of every boundary). Counts `precondition`,
# `assert`, `preconditionFailure` and `assertionFailure` calls against `func` and `init` declarations, per module,
# and fails when a module falls below its floor: a change that adds functions without their assertions, or removes
# assertions, is seen here. A count, not a proof: what each assertion states is reviewed with the code.
#
#   bash .ci/assertion-density.sh [MODULE=FLOOR ...]     (default: the floors below)
set -euo pipefail
cd "$(dirname "$0")/.."
floors=("$@")
[ ${#floors[@]} -gt 0 ] || floors=(Ledger=1.00 SwitchCore=1.00)
status=0
for entry in "${floors[@]}"; do
    module=${entry%%=*} floor=${entry#*=}
    [ -d "Sources/$module" ] || { echo "no module Sources/$module" >&2; exit 2; }
    assertions=$(cat "Sources/$module"/*.swift | grep -cE '\b(precondition|assert|preconditionFailure|assertionFailure)\(' || true)
    functions=$(cat "Sources/$module"/*.swift | grep -cE '\bfunc |\binit\(|\binit<' || true)
    density=$(python3 -c "print(f'{$assertions / max($functions, 1):.2f}')")
    verdict=ok
    if python3 -c "import sys; sys.exit(0 if $assertions / max($functions, 1) >= $floor else 1)"; then :; else
        verdict="BELOW the floor $floor"; status=1
    fi
    echo "$module: $assertions assertions over $functions functions = $density per function ($verdict)"
done
exit $status
