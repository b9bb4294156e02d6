#!/usr/bin/env bash
# promowatch benchmark: the same generated log, in one run, through promowatch and through the
# tools a user would otherwise reach for. Prints throughput (MB/s, 1 MB = 10^6 bytes) and ratios.
#
#   bash benchmarks/run.sh              # ~1 GB log (kept in benchmarks/data/ for later runs)
#   SIZE=200M bash benchmarks/run.sh    # smaller
#   FORMAT=kratos bash benchmarks/run.sh # Kratos std-logger payloads (logfmt with a level word)
#   BASELINE=/path/to/old/promowatch bash benchmarks/run.sh
#                                       # also time an earlier build on the same data, same run
#
# The log: JSON payloads framed like `kubectl logs --prefix --timestamps`, mostly noise, about a
# tenth events. Everything reads from the page cache (each input is read once before timing).
set -euo pipefail
cd "$(dirname "$0")/.."
SIZE=${SIZE:-1G}
FORMAT=${FORMAT:-json}
BASELINE=${BASELINE:-}
data=benchmarks/data
mkdir -p "$data"
log=$data/bench-$SIZE.log
[ "$FORMAT" = json ] || log=$data/bench-$SIZE-$FORMAT.log

for tool in jq gzip grep; do
  command -v $tool >/dev/null || { echo "benchmarks need $tool (apt-get install -y $tool)"; exit 1; }
done
echo "== building (release)"
swift build -c release --product promowatch >/dev/null
swift build -c release --product loggen >/dev/null
pw=.build/release/promowatch

if [ ! -s "$log" ]; then
  echo "== generating $SIZE of checkout logs"
  .build/release/loggen --bytes "$SIZE" --seed 2026 --format "$FORMAT" --framing prefixTimestamps --truth "$log.truth.json" -o "$log"
fi
if [ ! -s "$log.gz" ]; then
  echo "== compressing (gzip -6)"
  gzip -6 -c "$log" > "$log.gz.tmp" && mv "$log.gz.tmp" "$log.gz"
fi
bytes=$(stat -c %s "$log")
cat "$log" "$log.gz" > /dev/null  # warm the page cache

now() { date +%s.%N; }
declare -A secs
run() {  # run NAME OUT COMMAND...: best of 2, seconds in secs[NAME]; OUT "-" = /dev/null
  local name=$1 out=$2; shift 2
  # (GNU grep stops at the first match when its output is /dev/null, so counts go to a file)
  [ "$out" = "-" ] && out=/dev/null || out="$data/out-$name.txt"
  local best=""
  for _ in 1 2; do
    local t0 t1
    t0=$(now); "$@" > "$out"; t1=$(now)
    local d; d=$(echo "$t1 - $t0" | bc -l)
    if [ -z "$best" ] || [ "$(echo "$d < $best" | bc -l)" = 1 ]; then best=$d; fi
  done
  secs[$name]=$best
}

coupon_jq='(.coupon // .coupon_code // .couponCode // .promo_code // .promoCode // .promotion_code // empty) | ascii_upcase'
grep_jq() { grep ApplyPromotion "$log" | cut -d' ' -f3- | jq -r "$coupon_jq" | sort | uniq -c; }

echo "== timing on $(printf "%'d" "$bytes") bytes"
run promowatch keep "$pw" analyze --format json --top 0 "$log"
run parse_only keep "$pw" analyze --format json --top 0 --no-detect "$log"
run promowatch_gz keep "$pw" analyze --format json --top 0 "$log.gz"
if [ -n "$BASELINE" ]; then
  run base keep "$BASELINE" analyze --format json --top 0 "$log"
  run base_parse keep "$BASELINE" analyze --format json --top 0 --no-detect "$log"
fi
run grep_c keep grep -c ApplyPromotion "$log"
# the jq pipeline reads JSON payloads only
if [ "$FORMAT" = json ]; then run grep_jq keep grep_jq; else secs[grep_jq]=0; fi
run gzip_dc - gzip -dc "$log.gz"
run cat - cat "$log"

# the same answer? per-coupon ApplyPromotion counts from jq vs promowatch (applied + rejected)
agree="n/a ($FORMAT payloads)"
if [ "$FORMAT" = json ]; then
  jq_counts=$(awk '{print $2" "$1}' "$data/out-grep_jq.txt" | sort)
  pw_counts=$(tail -n 1 "$data/out-parse_only.txt" | jq -r '.summary.coupons[] | "\(.coupon) \(.applied + .rejected)"' | sort)
  if [ "$jq_counts" = "$pw_counts" ]; then agree="yes"; else agree="NO"; fi
fi
truth_ok=$(jq -n --slurpfile t "$log.truth.json" --slurpfile s <(tail -n 1 "$data/out-promowatch.txt") '$t[0].events == $s[0].summary.events')
findings=$(grep -c '"category"' "$data/out-promowatch.txt" || true)

mbs() { echo "scale=0; $bytes / ${secs[$1]} / 1000000" | bc -l; }
ratio() { echo "scale=2; ${secs[$2]} / ${secs[$1]}" | bc -l; }
printf '\n%-44s %8s %10s\n' "command" "seconds" "MB/s"
printf '%-44s %8.3f %10s\n' "promowatch analyze (plain)" "${secs[promowatch]}" "$(mbs promowatch)"
printf '%-44s %8.3f %10s\n' "promowatch analyze --no-detect (parse only)" "${secs[parse_only]}" "$(mbs parse_only)"
printf '%-44s %8.3f %10s\n' "grep -c ApplyPromotion" "${secs[grep_c]}" "$(mbs grep_c)"
[ "$FORMAT" = json ] && printf '%-44s %8.3f %10s\n' "grep ApplyPromotion | cut | jq | sort | uniq -c" "${secs[grep_jq]}" "$(mbs grep_jq)"
printf '%-44s %8.3f %10s\n' "cat > /dev/null" "${secs[cat]}" "$(mbs cat)"
printf '%-44s %8.3f %10s\n' "promowatch analyze (gzip input)" "${secs[promowatch_gz]}" "$(mbs promowatch_gz)"
printf '%-44s %8.3f %10s\n' "gzip -dc > /dev/null" "${secs[gzip_dc]}" "$(mbs gzip_dc)"
echo
echo "throughput lost to detection:          $(echo "scale=1; 100 - 100 * ${secs[parse_only]} / ${secs[promowatch]}" | bc -l)% (time with / without: $(echo "scale=2; ${secs[promowatch]} / ${secs[parse_only]}" | bc -l))"
echo "promowatch / grep -c speed:            $(ratio promowatch grep_c)"
[ "$FORMAT" = json ] && echo "promowatch / grep|jq pipeline speed:   $(ratio promowatch grep_jq)"
echo "promowatch gzip / gzip -dc speed:      $(ratio promowatch_gz gzip_dc)"
echo "per-coupon counts agree with jq:       $agree"
echo "event counts equal the generator's:    $truth_ok"
echo "findings on this (incident-free) log:  $findings"
if [ -n "$BASELINE" ]; then
  echo
  printf '%-44s %8.3f %10s\n' "baseline analyze (plain)" "${secs[base]}" "$(mbs base)"
  printf '%-44s %8.3f %10s\n' "baseline analyze --no-detect" "${secs[base_parse]}" "$(mbs base_parse)"
  echo "this build / baseline speed (analyze):   $(ratio promowatch base)"
  echo "this build / baseline speed (no-detect): $(ratio parse_only base_parse)"
fi
echo "(MB/s of uncompressed log text; ratio > 1 means promowatch is faster)"
