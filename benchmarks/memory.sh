#!/usr/bin/env bash
# Bounded memory of a batch (issue "Nothing an input can do stops, blinds or bloats promowatch"):
# `analyze` of (1) 100,000 codes redeemed every minute for 40 minutes, each time by a new account,
# and (2) a day of a large shop (50 checkouts a second at the peak, hundreds of thousands of
# one-time codes), each once with the default bound (input.batch_minute_entries) and once holding
# every minute as batches did before the bound, on the same file in one run. Prints peak RSS,
# wall time and their ratios, and checks that both runs report the same findings (the inputs are
# in time order) and that the default stays under 256 MB.
#
#   bash benchmarks/memory.sh          SEED=123 bash benchmarks/memory.sh       CODES=20000 ...
set -euo pipefail
cd "$(dirname "$0")/.."
CODES=${CODES:-100000}
MINUTES=${MINUTES:-40}
SEED=${SEED:-$(( (RANDOM << 15) | RANDOM ))}
LIMIT_MB=${LIMIT_MB:-256}
data=benchmarks/data/memory
mkdir -p "$data"
swift build -c release --product promowatch > "$data/build.log" 2>&1 || { tail -n 20 "$data/build.log"; exit 1; }
pw=.build/release/promowatch
held=$data/hold-every-minute.yaml
printf 'input:\n  batch_minute_entries: 1073741824\n' > "$held"

codes=$data/codes-$CODES-$MINUTES.log
[ -s "$codes" ] || python3 benchmarks/memory-days.py codes "$CODES" "$MINUTES" > "$codes"
echo "== large shop day, seed $SEED (replay: SEED=$SEED bash benchmarks/memory.sh)"
shop=$data/large-shop-$SEED.log
[ -s "$shop" ] || python3 benchmarks/memory-days.py large-shop "$SEED" > "$shop"

measure() {  # label file [config]: prints "rss_kb seconds", findings in $data/$label.jsonl
  local label=$1 file=$2
  shift 2
  /usr/bin/time -f '%M %e' -o "$data/$label.time" "$pw" analyze --format json "$@" "$file" > "$data/$label.jsonl"
  cat "$data/$label.time"
}

fail=0
for case in "codes:$codes" "shop:$shop"; do
  name=${case%%:*}
  file=${case#*:}
  read -r rss secs < <(measure "$name-bounded" "$file")
  read -r rss_held secs_held < <(measure "$name-held" "$file" --config "$held")
  summary=$(tail -n 1 "$data/$name-bounded.jsonl")
  lines=$(jq '.summary.lines' <<< "$summary")
  findings=$(( $(wc -l < "$data/$name-bounded.jsonl") - 1 ))
  same=differ
  cmp -s <(grep -v '^{"summary"' "$data/$name-bounded.jsonl") <(grep -v '^{"summary"' "$data/$name-held.jsonl") && same=identical
  printf '%-6s %s MB, %s lines, %s findings (%s to holding every minute)\n' "$name" \
    "$(( $(stat -c %s "$file") >> 20 ))" "$lines" "$findings" "$same"
  printf '       bounded: peak RSS %4d MB, %6.2f s   holding every minute: %4d MB, %6.2f s   RSS ratio %.2f\n' \
    $((rss / 1024)) "$secs" $((rss_held / 1024)) "$secs_held" "$(echo "$rss_held / $rss" | bc -l)"
  jq -c '.summary | {late_events, untracked_coupon_events, coupons_total}' <<< "$summary" | sed 's/^/       /'
  [ "$same" = identical ] || { echo "FAIL: $name findings differ between the bounded and the unbounded run"; fail=1; }
  [ "$rss" -lt $((LIMIT_MB * 1024)) ] || { echo "FAIL: $name peak RSS over $LIMIT_MB MB"; fail=1; }
done
exit $fail
