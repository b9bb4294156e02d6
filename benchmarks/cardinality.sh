#!/usr/bin/env bash
# Bounded memory: a day of checkout traffic with every labelled incident, plus an enumeration
# attack of DISTINCT (default 10 million) rejected attempts, each with a coupon code, user and ip
# never seen before. promowatch must stay under 256 MB peak RSS and still find every incident.
#
#   bash benchmarks/cardinality.sh            DISTINCT=1000000 bash benchmarks/cardinality.sh
set -euo pipefail
cd "$(dirname "$0")/.."
DISTINCT=${DISTINCT:-10000000}
data=benchmarks/data
mkdir -p "$data"
log=$data/attack-$DISTINCT.log
swift build -c release --product promowatch >/dev/null
swift build -c release --product loggen >/dev/null
if [ ! -s "$log" ]; then
  echo "== generating a day with $DISTINCT distinct attack attempts"
  .build/release/loggen --scenario --seed 11 --attack-distinct "$DISTINCT" --format json,logfmt --framing prefixTimestamps \
    --labels "$log.labels.json" -o "$log"
fi
echo "== $(stat -c %s "$log") bytes"
/usr/bin/time -v .build/release/promowatch analyze --format json "$log" > "$data/attack-findings.jsonl" 2> "$data/attack-time.txt"
rss_kb=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$data/attack-time.txt")
secs=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$data/attack-time.txt")
tail -n 1 "$data/attack-findings.jsonl" | jq -c '.summary | {lines, skipped_lines, coupons_total, untracked_coupon_events, events: {promotion_rejected: .events.promotion_rejected}}'
python3 benchmarks/check-labels.py "$log.labels.json" "$data/attack-findings.jsonl"
echo "peak RSS: $((rss_kb / 1024)) MB (limit 256 MB); wall time: $secs"
[ "$rss_kb" -lt $((256 * 1024)) ] || { echo "FAIL: peak RSS over 256 MB"; exit 1; }
