#!/usr/bin/env bash
# Days written by hand outside loggen (not the generator promowatch is tuned on), each with what
# must not happen. Prints every finding that carries an action, and the verdict per day.
#
#   bash benchmarks/outside/run.sh
#   PROMOWATCH=/path/to/old/promowatch bash benchmarks/outside/run.sh   # judge another build
#
#   welcome-code-surge.py       a welcome code (always redeemed by new accounts) through a sale
#                               day's surge of new customers: no blacklist
#   card-testing-rate-limit.py  card testing from three ips, a third of it answered by stripe with
#                               rate_limit: no provider switch
#   kratos-campaign-launch.py   a campaign announced by email, tried early (PROMOTION_NOT_FOUND),
#                               launched among established customers, all in go-kratos middleware
#                               lines with a local-time `ts` layout: no blacklist, events dated by
#                               their own times
#   black-friday-deep-discount.py  a new code at 70% off launched among returning customers
#                               through a surge (JSON and logfmt lines): no blacklist
#   big-customer-base-leak.py   a staff code leaking in a shop of 800,000 customers, 760,000 of
#                               them already seen (a full account history): the staff code must be
#                               blacklisted, no other code
#   fallback-degrades-later.py  stripe down for an hour, paypal degrading on its own a quarter hour
#                               in, all in go-kratos std-logger lines with promotions logged by
#                               `Infof("ApplyPromotion: %v", req)`: stripe switched off once, paypal
#                               never, every promotion read with its code
#   shipper-archive.py          three days archived by Fluent Bit, Filebeat and Vector (gzip),
#                               slog's default handler among them, paypal down for 40 minutes and
#                               a campaign launch: paypal switched off, no code blacklisted, every
#                               event read with its time and code
#   card-testing-sdk-errors.py  card testing whose declines are logged only as the payment SDKs'
#                               error texts (stripe-go's JSON, PayPal's `Issue: INSTRUMENT_DECLINED`),
#                               stripe rate-limiting part of it: no provider switch
#   kubectl-pods-in-turn.py     three days of three pods as `kubectl logs -l --prefix --timestamps`
#                               prints them, one pod after another (more minutes than a batch
#                               keeps): stripe switched off once, paypal never, no event late
set -euo pipefail
cd "$(dirname "$0")/../.."
pw=${PROMOWATCH:-}
if [ -z "$pw" ]; then
  swift build -c release --product promowatch >/dev/null
  pw=.build/release/promowatch
fi
dir=$(mktemp -d /tmp/promowatch-outside.XXXXXX)
trap 'rm -rf "$dir"' EXIT
fail=0
check() {  # check NAME FORBIDDEN-ACTION-KIND SCRIPT SEED [PEAK] [REQUIRED-KIND:TARGET]
  local name=$1 forbidden=$2 script=$3 seed=$4 peak=${5:-} required=${6:-}
  python3 "$script" "$seed" "$dir/$name.log" $peak
  "$pw" analyze --format json --top 0 "$dir/$name.log" > "$dir/$name.jsonl"
  local bad
  bad=$(python3 - "$dir/$name.jsonl" "$forbidden" "$required" <<'PY'
import json, sys
n = 0
required, found = sys.argv[3], False
for line in open(sys.argv[1]):
    o = json.loads(line)
    if "summary" in o and "events" in o["summary"]:
        s = o["summary"]
        if s["untrusted_timestamps"]:
            print(f"  {s['untrusted_timestamps']} events with unreadable times"); n += 1
        if s.get("undated_events"):
            print(f"  {s['undated_events']} events without a time"); n += 1
        if s.get("late_events"):
            print(f"  {s['late_events']} events came after their minute was folded (in no window)"); n += 1
        coded = sum(c["applied"] + c["rejected"] for c in s["coupons"])
        tried = s["events"]["promotion_applied"] + s["events"]["promotion_rejected"]
        if coded < tried:
            print(f"  {tried - coded} promotions read without their code"); n += 1
    elif o.get("action"):
        a = f"{o['action']['kind']}:{o['action']['target']}"
        print(f"  {o['time']} {a} {o['summary'][:120]}")
        if a == required:
            found = True
        else:
            n += o["action"]["kind"] == sys.argv[2]
if required and not found:
    print(f"  missed: {required}"); n += 1
print(n)
PY
)
  local count; count=$(echo "$bad" | tail -n 1)
  echo "$bad" | sed '$d'
  if [ "$count" = 0 ]; then echo "ok    $name"; else echo "FAIL  $name"; fail=1; fi
}
check welcome-code-surge blacklist_coupon benchmarks/outside/welcome-code-surge.py 1 100
check card-testing-rate-limit disable_provider benchmarks/outside/card-testing-rate-limit.py 1
check kratos-campaign-launch blacklist_coupon benchmarks/outside/kratos-campaign-launch.py 3
check black-friday-deep-discount blacklist_coupon benchmarks/outside/black-friday-deep-discount.py 1
check big-customer-base-leak blacklist_coupon benchmarks/outside/big-customer-base-leak.py 1 800000 \
  blacklist_coupon:STAFF55-OMAR
check fallback-degrades-later disable_provider benchmarks/outside/fallback-degrades-later.py 7 90 \
  disable_provider:stripe
check shipper-archive blacklist_coupon benchmarks/outside/shipper-archive.py 5 80 disable_provider:paypal
check card-testing-sdk-errors disable_provider benchmarks/outside/card-testing-sdk-errors.py 1
check kubectl-pods-in-turn disable_provider benchmarks/outside/kubectl-pods-in-turn.py 9 70 disable_provider:stripe
exit $fail
