#!/usr/bin/env bash
# Runs promowatch's main job on the bundled fixture: no cluster, no database needed.
# fixtures/shop-incidents.log.gz is a day of an ordinary shop (the account history a running
# deployment has) and then fourteen hours (every payload format and several framings mixed line by
# line) in which an employee's private code leaks at 09:05 and Stripe fails at 13:10
# (fixtures/shop-incidents.labels.json). The output shows each incident, its
# explanation and the dry-run action; the HTML report with its charts goes to a temporary file.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh build
swift build -c release --product promowatch 2>&1 | grep -v "^\[" >&2 || true
report="${TMPDIR:-/tmp}/promowatch-example-report.html"
set -x
.build/release/promowatch analyze --format text --report "$report" fixtures/shop-incidents.log.gz
