#!/usr/bin/env python3
# Stripe fails hard on day 3 from 10:00 to 11:00; PayPal, the fallback, degrades on its own from
# 10:15 to 10:50 (a quarter of its payments time out). Written by go-kratos' std logger (`LEVEL
# key=value`, values never quoted, `ts` in the service's local zone), promotions logged the way
# kratos-layout's biz layer does (`Infof("ApplyPromotion: %v", req)`). Stripe must be switched off
# once; PayPal never (both off is an outage the tool would have made), and the day's times are its own.
import math, random, sys, datetime
seed = int(sys.argv[1]); out = sys.argv[2]
peak = float(sys.argv[3]) if len(sys.argv) > 3 else 90
r = random.Random(seed)
tz = datetime.timezone(datetime.timedelta(hours=8))
start = datetime.datetime(2026, 11, 24, 0, 0, tzinfo=datetime.timezone.utc)
stripe_out = (2 * 1440 + 600, 2 * 1440 + 660)
paypal_bad = (2 * 1440 + 615, 2 * 1440 + 650)
lines = []
codes = ["SAVE10", "FREESHIP", "VIP15", "WINTER20"]
for m in range(3 * 1440):
    t0 = start + datetime.timedelta(minutes=m)
    hour = (m % 1440) / 60
    rate = peak * (0.08 + 0.92 * max(0.0, math.sin(math.pi * (hour - 5) / 18)))
    n = max(0, int(rate + r.gauss(0, math.sqrt(rate + 1e-9))))
    for _ in range(n):
        t = t0 + datetime.timedelta(seconds=r.random() * 60)
        ts = t.astimezone(tz).isoformat(timespec="milliseconds")
        u = f"u-{r.randrange(40000)}"
        if r.random() < 0.25:
            c = r.choice(codes)
            lines.append((t, f'INFO ts={ts} caller=biz/cart.go:44 service.id=checkout-1 service.name=checkout trace.id= span.id= msg=ApplyPromotion: session_id:"s-{r.randrange(10**6)}"  promotion_code:"{c}" user_id:"{u}"'))
        p = "stripe" if r.random() < 0.7 else "paypal"
        x = r.random()
        fail = 0.004
        if p == "stripe" and stripe_out[0] <= m < stripe_out[1]: fail = 0.6
        if p == "paypal" and paypal_bad[0] <= m < paypal_bad[1]: fail = 0.25
        if x < fail:
            code = r.choice(["timeout", "api_connection_error", "gateway_unavailable"])
            lines.append((t, f"ERROR ts={ts} caller=biz/payment.go:88 service.id=checkout-1 msg=payment authorization failed provider={p} error_code={code} err=rpc error: code = Unavailable desc = upstream connect error user_id={u}"))
        elif x < fail + 0.03:
            lines.append((t, f"WARN ts={ts} caller=biz/payment.go:80 service.id=checkout-1 provider={p} decline_code=card_declined amount=42.00 user_id={u} msg=payment declined"))
        else:
            lines.append((t, f"INFO ts={ts} caller=biz/payment.go:70 service.id=checkout-1 msg=payment authorized provider={p} amount={20 + r.random() * 100:.2f} user_id={u}"))
lines.sort(key=lambda x: x[0])
with open(out, "w") as f:
    for _, l in lines: f.write(l + "\n")
