#!/usr/bin/env bash
# Runs promowatch's main job on the bundled fixture: no cluster, no database needed.
# The fixture mixes every payload format and framing of the log contract; its true
# contents are in fixtures/checkout-sample.truth.json.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh build
swift build -c release --product promowatch 2>&1 | grep -v "^\[" >&2 || true
set -x
.build/release/promowatch analyze --format text fixtures/checkout-sample.log.gz
