#!/usr/bin/env bash
# promowatch benchmark: the same generated logs, in one run, through promowatch and through the
# tools a user would otherwise reach for. Prints throughput (MB/s, 1 MB = 10^6 bytes), ratios and
# peak RSS, for two logs:
#   sparse: JSON payloads under `kubectl logs --prefix --timestamps` framing, mostly noise, about
#           a fifth of the lines events (request lines with latencies included);
#   dense:  a 24-hour day where 95% of the lines are events (every request line carries a latency;
#           promotions and payments are half of the rest), JSON, logfmt and Kratos payloads mixed.
#
#   bash benchmarks/run.sh              # ~1 GB logs (kept in benchmarks/data/ for later runs)
#   SIZE=200M bash benchmarks/run.sh    # smaller
#   ONLY=dense bash benchmarks/run.sh   # one of the logs
#   BASELINE=/path/to/old/promowatch bash benchmarks/run.sh
#                                       # also time an earlier build on the same data, same run
#
# "one core" runs pin promowatch to CPU 0 (taskset); "both cores" let it use the machine. gzip
# input is inflated by ISA-L when installed (zlib otherwise; the zlib row forces it). Everything
# reads from the page cache (each input is read once before timing).
set -euo pipefail
cd "$(dirname "$0")/.."
SIZE=${SIZE:-1G}
ONLY=${ONLY:-}
BASELINE=${BASELINE:-}
data=benchmarks/data
mkdir -p "$data"

for tool in jq gzip grep pigz taskset bc; do
  command -v $tool >/dev/null || { echo "benchmarks need $tool (bash scripts/deps.sh bench)"; exit 1; }
done
[ -x /usr/bin/time ] || { echo "benchmarks need GNU time (bash scripts/deps.sh bench)"; exit 1; }
echo "== building (release)"
swift build -c release --product promowatch >/dev/null
swift build -c release --product loggen >/dev/null
pw=.build/release/promowatch

now() { date +%s.%N; }
declare -A secs rss
run() {  # run NAME OUT COMMAND...: best of 2, seconds in secs[NAME], peak RSS (KB) in rss[NAME]
  local name=$1 out=$2; shift 2
  # (GNU grep stops at the first match when its output is /dev/null, so counts go to a file)
  [ "$out" = "-" ] && out=/dev/null || out="$data/out-$name.txt"
  local best=""
  for _ in 1 2; do
    local t0 t1
    t0=$(now); /usr/bin/time -f %M -o "$data/rss-$name.txt" "$@" > "$out"; t1=$(now)
    local d; d=$(echo "$t1 - $t0" | bc -l)
    if [ -z "$best" ] || [ "$(echo "$d < $best" | bc -l)" = 1 ]; then best=$d; fi
  done
  secs[$name]=$best
  rss[$name]=$(tail -n 1 "$data/rss-$name.txt")
}

coupon_jq='(.coupon // .coupon_code // .couponCode // .promo_code // .promoCode // .promotion_code // empty) | ascii_upcase'

bench() {  # bench KIND LOG
  local kind=$1 log=$2
  local bytes; bytes=$(stat -c %s "$log")
  cat "$log" "$log.gz" > /dev/null  # warm the page cache
  echo
  echo "== $kind log: $(printf "%'d" "$bytes") bytes, $(wc -l < "$log") lines"
  run pw keep "$pw" analyze --format json --top 0 "$log"
  run pw1 - taskset -c 0 "$pw" analyze --format json --top 0 "$log"
  run parse keep "$pw" analyze --format json --top 0 --no-detect "$log"
  run pw_gz keep "$pw" analyze --format json --top 0 "$log.gz"
  run pw1_gz - taskset -c 0 "$pw" analyze --format json --top 0 "$log.gz"
  run pw_gz_zlib - env PROMOWATCH_INFLATE=zlib taskset -c 0 "$pw" analyze --format json --top 0 "$log.gz"
  if [ -n "$BASELINE" ]; then
    run base - "$BASELINE" analyze --format json --top 0 "$log"
    run base_gz - "$BASELINE" analyze --format json --top 0 "$log.gz"
  fi
  run grep_c keep grep -c ApplyPromotion "$log"
  run grep_jq keep bash -c 'grep ApplyPromotion "$1" | cut -d" " -f3- | grep "^{" | jq -r "$2" | sort | uniq -c' \
    grep_jq "$log" "$coupon_jq"
  run gzip_dc - gzip -dc "$log.gz"
  run pigz_dc - pigz -dc "$log.gz"
  run cat - cat "$log"

  # the same answer? per-coupon counts from jq vs promowatch (JSON payloads only: on the mixed
  # log jq sees only the JSON lines); event counts vs the generator's truth; one core vs both
  local agree="n/a (jq reads the JSON payloads only)"
  if [ "$kind" = sparse ]; then
    jq_counts=$(awk '{print $2" "$1}' "$data/out-grep_jq.txt" | sort)
    pw_counts=$(tail -n 1 "$data/out-parse.txt" | jq -r '.summary.coupons[] | "\(.coupon) \(.applied + .rejected)"' | sort)
    if [ "$jq_counts" = "$pw_counts" ]; then agree="yes"; else agree="NO"; fi
  fi
  truth_ok=$(jq -n --slurpfile t "$log.truth.json" --slurpfile s <(tail -n 1 "$data/out-pw.txt") '$t[0].events == $s[0].summary.events')
  # (a finding's diagnosis says how old it is by the clock: "N min old" differs between runs)
  findings() { "$@" | grep '"category"' | sed 's/[0-9]* min old/N min old/g' || true; }
  findings "$pw" analyze --format json --top 0 "$log" > "$data/findings-both.txt"
  findings taskset -c 0 "$pw" analyze --format json --top 0 "$log" > "$data/findings-one.txt"
  findings "$pw" analyze --format json --top 0 "$log.gz" > "$data/findings-gz.txt"
  if cmp -s "$data/findings-both.txt" "$data/findings-one.txt" && cmp -s "$data/findings-both.txt" "$data/findings-gz.txt"; then
    same="yes ($(wc -l < "$data/findings-both.txt") findings)"
  else
    same="NO"
  fi

  mbs() { echo "scale=0; $bytes / ${secs[$1]} / 1000000" | bc -l; }
  ratio() { echo "scale=2; ${secs[$2]} / ${secs[$1]}" | bc -l; }
  row() { printf '%-52s %8.3f %8s %9s\n' "$1" "${secs[$2]}" "$(mbs "$2")" "$(( ${rss[$2]} / 1024 ))"; }
  printf '%-52s %8s %8s %9s\n' "command" "seconds" "MB/s" "peak MB"
  row "promowatch analyze (both cores)" pw
  row "promowatch analyze (one core)" pw1
  row "promowatch analyze --no-detect" parse
  row "grep -c ApplyPromotion" grep_c
  row "grep ApplyPromotion | cut | jq | sort | uniq -c" grep_jq
  row "cat > /dev/null" cat
  row "promowatch analyze .gz (both cores)" pw_gz
  row "promowatch analyze .gz (one core)" pw1_gz
  row "promowatch analyze .gz (one core, zlib)" pw_gz_zlib
  row "gzip -dc > /dev/null" gzip_dc
  row "pigz -dc > /dev/null" pigz_dc
  echo
  echo "one core / grep -c speed:                 $(ratio pw1 grep_c)"
  echo "both cores / grep -c speed:               $(ratio pw grep_c)"
  echo "promowatch / grep|jq pipeline speed:      $(ratio pw grep_jq)"
  echo "gzip input (both cores) / gzip -dc speed: $(ratio pw_gz gzip_dc)"
  echo "gzip input (both cores) / pigz -dc speed: $(ratio pw_gz pigz_dc)"
  echo "gzip input: ISA-L / zlib speed (one core): $(ratio pw1_gz pw_gz_zlib)"
  echo "time lost to detection:                   $(echo "scale=1; 100 - 100 * ${secs[parse]} / ${secs[pw]}" | bc -l)%"
  echo "per-coupon counts agree with jq:          $agree"
  echo "event counts equal the generator's:       $truth_ok"
  echo "findings identical (both cores, one, gz): $same"
  if [ -n "$BASELINE" ]; then
    row "baseline analyze" base
    row "baseline analyze .gz" base_gz
    echo "this build / baseline speed (analyze):    $(ratio pw base)"
    echo "this build / baseline speed (gzip input): $(ratio pw_gz base_gz)"
  fi
}

sparse=$data/bench-$SIZE.log
dense=$data/bench-$SIZE-dense.log
if [ "$ONLY" != dense ] && [ ! -s "$sparse" ]; then
  echo "== generating $SIZE of sparse checkout logs"
  .build/release/loggen --bytes "$SIZE" --seed 2026 --format json --framing prefixTimestamps --truth "$sparse.truth.json" -o "$sparse"
fi
if [ "$ONLY" != sparse ] && [ ! -s "$dense" ]; then
  echo "== generating $SIZE of an event-dense day"
  .build/release/loggen --bytes "$SIZE" --seed 2027 --dense --duration 86400 --format json,logfmt,kratos \
    --framing prefixTimestamps --truth "$dense.truth.json" -o "$dense"
fi
for log in "$sparse" "$dense"; do
  [ -s "$log" ] || continue
  if [ ! -s "$log.gz" ]; then
    echo "== compressing $log (gzip -6)"
    gzip -6 -c "$log" > "$log.gz.tmp" && mv "$log.gz.tmp" "$log.gz"
  fi
done
[ "$ONLY" = dense ] || bench sparse "$sparse"
[ "$ONLY" = sparse ] || bench dense "$dense"
echo
echo "(MB/s of uncompressed log text; ratio > 1 means promowatch is faster; peak MB = max RSS)"
