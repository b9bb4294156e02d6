#!/usr/bin/env bash
# Runs the whole test suite, installing what it needs first. CI runs exactly this (.ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh test
swift test --disable-swift-testing
