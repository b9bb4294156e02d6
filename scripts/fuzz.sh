#!/usr/bin/env bash
# Coverage-guided fuzzing of the byte path with libFuzzer and AddressSanitizer.
#
#   bash scripts/fuzz.sh                       # both targets, 60 s each
#   bash scripts/fuzz.sh analyze -max_total_time=3600 -workers=2 -jobs=2
#   bash scripts/fuzz.sh bytes -runs=1000000
#   RUNS=20000 bash scripts/fuzz.sh            # a fixed number of executions (what the tests run)
#   bash scripts/fuzz.sh coverage [DIR...]     # line coverage by module of the analyze corpus
#
# Targets (fuzz/): `analyze` feeds one input through block reader (plain and gzip), deframer,
# payload scanner, event extractor, detector (batch and streaming), decision stage, incidents and
# every report, and checks that the JSON is valid and no report carries a raw control or bidi
# character; `bytes` compares the AVX2 and portable byte searches with each other and a naive
# search. Seeds: the fixtures cut into small pieces (plain and gzip), plus fuzz/corpus (inputs
# that once failed). Findings are written to .build/fuzz/artifacts; each becomes a unit test.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = coverage ]; then
  shift
  # an instrumented build without the sanitizer runs every corpus input once (-runs=0)
  cov=.build/fuzzcov
  swift build -c release --scratch-path "$cov" --product FuzzAnalyze -Xswiftc -sanitize=fuzzer \
    -Xswiftc -parse-as-library -Xswiftc -DFUZZING -Xswiftc -profile-generate -Xswiftc -profile-coverage-mapping \
    -Xcc -fsanitize=fuzzer-no-link -Xcc -fprofile-instr-generate -Xcc -fcoverage-mapping > "$cov.log" 2>&1 \
    || { tail -n 30 "$cov.log"; exit 1; }
  tools=$(dirname "$(readlink -f "$(command -v swift)")")
  rm -f "$cov/fuzz.profraw"
  LLVM_PROFILE_FILE=$cov/fuzz.profraw SWIFT_BACKTRACE=enable=no "$cov/release/FuzzAnalyze" -runs=0 \
    "${@:-.build/fuzz/work/corpus-analyze}" > "$cov/run.log" 2>&1
  "$tools/llvm-profdata" merge -o "$cov/fuzz.profdata" "$cov/fuzz.profraw"
  for m in PromowatchParsing PromowatchInput PromowatchDetection PromowatchEngine CByteSearch; do
    printf '%-22s' "$m"
    "$tools/llvm-cov" report "$cov/release/FuzzAnalyze" -instr-profile="$cov/fuzz.profdata" "Sources/$m" 2>/dev/null \
      | awk '/^TOTAL/ {print "lines " $10 ", functions " $7 ", regions " $4}'
  done
  exit 0
fi
targets=(analyze bytes)
if [ $# -gt 0 ] && [ "${1#-}" = "$1" ]; then targets=("$1"); shift; fi
scratch=.build/fuzz
flags=(-c release --scratch-path "$scratch" -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library -Xswiftc -DFUZZING
  -Xcc -fsanitize=fuzzer-no-link,address)
work=$scratch/work
mkdir -p "$work" "$scratch/artifacts"

seeds=$work/seeds
if [ ! -d "$seeds" ]; then
  mkdir -p "$seeds.tmp"
  python3 - "$seeds.tmp" <<'PY'
import glob, gzip, hashlib, os, sys
out = sys.argv[1]
def put(data):
    open(os.path.join(out, hashlib.sha1(data).hexdigest()), "wb").write(data)
for path in sorted(glob.glob("fixtures/*.log*") + glob.glob("fixtures/real/*.log")):
    raw = open(path, "rb").read()
    try:
        raw = gzip.decompress(raw)
    except Exception:
        pass
    lines = raw.splitlines(keepends=True)
    chunk = b""
    pieces = 0
    for line in lines:
        if len(chunk) + len(line) > 1500 and chunk:
            put(chunk); pieces += 1
            if pieces % 7 == 0:
                put(gzip.compress(chunk))
            chunk = b""
            if pieces >= 40:
                break
        chunk += line[:1500]
    if chunk:
        put(chunk)
PY
  mv "$seeds.tmp" "$seeds"
fi

for t in "${targets[@]}"; do
  case $t in
    analyze) product=FuzzAnalyze ;;
    bytes) product=FuzzByteSearch ;;
    *) echo "fuzz.sh: unknown target $t (analyze, bytes)" >&2; exit 2 ;;
  esac
  swift build "${flags[@]}" --product "$product" > "$scratch/build-$t.log" 2>&1 \
    || { tail -n 30 "$scratch/build-$t.log"; echo "fuzz.sh: build of $product failed" >&2; exit 1; }
  bin=$scratch/release/$product
  corpus=$work/corpus-$t
  mkdir -p "$corpus"
  limit=(-max_total_time=60)
  [ -n "${RUNS:-}" ] && limit=(-runs="$RUNS")
  echo "== $product ${limit[*]} $*"
  # the corpus directory is written to; the seeds and fuzz/corpus only read
  SWIFT_BACKTRACE=enable=no ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 "$bin" "$corpus" "$seeds" fuzz/corpus \
    -dict=fuzz/promowatch.dict -max_len=4096 -rss_limit_mb=2048 -timeout=20 -print_final_stats=1 \
    -artifact_prefix="$scratch/artifacts/$t-" "${limit[@]}" "$@"
done
