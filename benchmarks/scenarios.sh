#!/usr/bin/env bash
# Decision quality on adversarial days drawn at run time (not the days anything was tuned on).
#
#   bash benchmarks/scenarios.sh                 # 50 days, seeds drawn now and printed
#   DAYS=10 bash benchmarks/scenarios.sh
#   SEEDS="123 456" bash benchmarks/scenarios.sh # replay days
#   BASELINE=/path/to/old/promowatch bash benchmarks/scenarios.sh   # score an earlier build too
#
# Each day: `loggen --adversarial` (shop size, customer base, history, code popularity and a random
# set of incidents and legitimate look-alikes, with right and wrong actions labelled before
# promowatch reads anything), mixed payload formats and framings, then read twice: by
# `promowatch watch` (the live path, which evaluates every 5 s of event time, so a replay is judged
# as it was live; its delay is what an on-call engineer waits) and by `promowatch analyze` (the
# batch, which judges whole minutes: its delays are multiples of a minute). Both are scored by
# benchmarks/score-scenarios.py. Targets: recall 100%, 0 false actions, 0 missed actions, <= 1
# severe false alarm a day, median delay under 90 s.
set -euo pipefail
cd "$(dirname "$0")/.."
DAYS=${DAYS:-50}
BASELINE=${BASELINE:-}
command -v python3 >/dev/null || { echo "benchmarks need python3"; exit 1; }
swift build -c release --product promowatch >/dev/null
swift build -c release --product loggen >/dev/null
dir=$(mktemp -d /tmp/promowatch-scenarios.XXXXXX)
trap 'rm -rf "$dir"' EXIT
seeds=${SEEDS:-$(python3 -c "import random; print(' '.join(str(random.getrandbits(40)) for _ in range($DAYS)))")}
echo "seeds: $seeds"
args=(); live=(); base=()
for s in $seeds; do
  .build/release/loggen --adversarial --seed "$s" --labels "$dir/$s.labels.json" \
    --format json,logfmt,kratos --framing prefixTimestamps,cri,docker -o "$dir/$s.log"
  .build/release/promowatch analyze --format json "$dir/$s.log" > "$dir/$s.findings.jsonl"
  .build/release/promowatch watch --format json "$dir/$s.log" > "$dir/$s.live.jsonl"
  args+=("$dir/$s.labels.json" "$dir/$s.findings.jsonl")
  live+=("$dir/$s.labels.json" "$dir/$s.live.jsonl")
  if [ -n "$BASELINE" ]; then
    "$BASELINE" analyze --format json "$dir/$s.log" > "$dir/$s.base.jsonl" 2>/dev/null || true
    base+=("$dir/$s.labels.json" "$dir/$s.base.jsonl")
  fi
  rm -f "$dir/$s.log"
done
echo "== this build, live (watch)"
python3 benchmarks/score-scenarios.py "${live[@]}"
echo; echo "== this build, batch (analyze)"
python3 benchmarks/score-scenarios.py "${args[@]}"
if [ -n "$BASELINE" ]; then
  echo; echo "== baseline ($BASELINE)"
  python3 benchmarks/score-scenarios.py "${base[@]}" | tail -n 7
fi
