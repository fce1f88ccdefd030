#!/usr/bin/env bash
# Runs every fuzz target (see docs/fuzzing.md) for a long time: rounds of DAMSELFLY_FUZZ_CASES
# cases per target (default 100000), each round with fresh random seeds, until MINUTES (default 60)
# have passed. Stops at the first failure, which proptest reports with a minimal failing input.
#
#   scripts/fuzz.sh [MINUTES]
set -euo pipefail
cd "$(dirname "$0")/.."

minutes=${1:-60}
export DAMSELFLY_FUZZ_CASES=${DAMSELFLY_FUZZ_CASES:-100000}
deadline=$(($(date +%s) + minutes * 60))

# Package | test binary | test-name filter of each target.
targets=(
    "damselfly-protocol|--test fuzz|"
    "damselfly-rdb|--test fuzz|"
    "damselfly-storage|--test fuzz_restore|"
    "damselfly-server|--lib|replication::fuzz::"
)

round=0
while [ "$(date +%s)" -lt "$deadline" ]; do
    round=$((round + 1))
    for target in "${targets[@]}"; do
        IFS='|' read -r package selection filter <<<"$target"
        echo "== round $round: $package $selection $filter ($DAMSELFLY_FUZZ_CASES cases per target)"
        # shellcheck disable=SC2086 # $selection is two words on purpose
        cargo test --release --locked -p "$package" $selection -- $filter
        [ "$(date +%s)" -lt "$deadline" ] || break
    done
done
echo "fuzzed for $minutes minutes ($round rounds), no failure"
