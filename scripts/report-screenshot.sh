#!/usr/bin/env bash
# Regenerates docs/report.png: the HTML report of a generated day (seed 42) with incidents,
# rendered by headless Chromium. Needs a release or debug build and Debian's chromium.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${BIN:-.build/debug}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$bin/loggen" --adversarial --seed 42 --format json,logfmt,kratos --framing prefixTimestamps,cri,docker -o "$tmp/day.log"
"$bin/promowatch" analyze --report "$tmp/day.html" --format json "$tmp/day.log" >/dev/null
timeout 90 chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=1100,2400 \
  --screenshot="$PWD/docs/report.png" "file://$tmp/day.html" 2>/dev/null
echo "docs/report.png"
