#!/usr/bin/env python3
# Three days of three checkout pods as `kubectl logs -l app=checkout --prefix --timestamps` prints
# them without `-f`: one pod after another, so event time goes back two days at each pod. The
# pods write go-kratos std-logger lines (payments, promotions) and the logging middleware's request
# lines. Stripe fails on day 3 from 10:00 to 10:45 (a third of each pod's traffic); PayPal stays
# healthy. Stripe must be switched off once, PayPal never. Three days of minutes are more than a
# batch keeps (`input.batch_minute_entries`), so one reading folded minutes before the later pods'
# events for them came, and the findings depended on the order of the pods.
import datetime, os, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import daylib  # noqa: E402
out, peak, r = daylib.args(70)
start = datetime.datetime(2026, 11, 24, 0, 0, tzinfo=datetime.timezone.utc)
stripe_out = (2 * 1440 + 600, 2 * 1440 + 645)
codes = ["SAVE10", "FREESHIP", "VIP15"]
pods = ["checkout-5c9d7b8f4-h2x7p", "checkout-5c9d7b8f4-k9m3q", "checkout-5c9d7b8f4-w4t6z"]
by_pod = [[] for _ in pods]
for m, t0, n in daylib.minutes(r, start, 3, peak, 0.06):
    for _ in range(n):
        t = daylib.at(r, t0)
        k = r.randrange(len(pods))
        ts = t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        u = f"u-{r.randrange(25000)}"
        ip = f"198.51.{r.randrange(100)}.{r.randrange(1, 255)}"
        head = f"[pod/{pods[k]}/checkout] {t.strftime('%Y-%m-%dT%H:%M:%S.%f')}000Z"
        kv = f"ts={ts} caller=biz/checkout.go:{r.randrange(40, 90)} service.name=checkout trace.id={r.getrandbits(64):016x}"
        rows = by_pod[k]
        if r.random() < 0.3:
            c = r.choice(codes)
            rows.append((t, f"{head} INFO {kv} msg=ApplyPromotion promotion_code={c} user_id={u} ip={ip} discount=6.50 subtotal=65.00"))
            rows.append((t, f"{head} INFO {kv} kind=server component=grpc operation=/shop.checkout.v1.Checkout/ApplyPromotion "
                            f"args=promotion_code:\"{c}\" user_id:\"{u}\" code=0 reason= stack= latency=0.0{r.randrange(10, 99)}"))
        p = "stripe" if r.random() < 0.65 else "paypal"
        x = r.random()
        if p == "stripe" and stripe_out[0] <= m < stripe_out[1] and x < 0.6:
            rows.append((t, f"{head} ERROR {kv} msg=payment failed provider=stripe error_code=api_connection_error "
                            f"user_id={u} amount=65.00 err=dial tcp 10.0.3.7:443: connect: connection refused"))
        elif x < 0.004:
            rows.append((t, f"{head} ERROR {kv} msg=payment failed provider={p} error_code=timeout user_id={u} amount=65.00"))
        elif x < 0.04:
            rows.append((t, f"{head} WARN {kv} msg=payment declined provider={p} decline_code=card_declined user_id={u} amount=65.00"))
        else:
            rows.append((t, f"{head} INFO {kv} msg=payment authorized provider={p} user_id={u} amount=65.00"))
with open(out, "w") as f:
    for rows in by_pod:  # one pod after another, each in time order
        rows.sort(key=lambda x: x[0])
        for _, line in rows:
            f.write(line + "\n")
