#!/usr/bin/env python3
# A shop with a welcome code redeemed by new accounts all along, then a surge x6 with more new customers.
import json, random, sys, datetime
seed = int(sys.argv[1]); out = sys.argv[2]
r = random.Random(seed)
start = datetime.datetime(2026, 11, 18, 0, 0, tzinfo=datetime.timezone.utc)
peak = float(sys.argv[3]) if len(sys.argv) > 3 else 200
seen = []; serial = 0
codes = [("SAVE10", .5), ("FREESHIP", .3), ("VIP15", .2)]
surge = (2*1440 - 600, 2*1440 - 480)  # day 3, 14:00-16:00
lines = []
def cust(newshare):
    global serial
    if seen and r.random() > newshare: return r.choice(seen), False
    serial += 1; u = f"u{serial}"; seen.append(u); return u, True
import math
for m in range(3*1440):
    t0 = start + datetime.timedelta(minutes=m)
    hour = (m % 1440) / 60
    rate = peak * (0.05 + 0.95 * max(0, math.sin(math.pi * (hour - 5) / 18)))
    s = surge[0] <= m < surge[1]
    if s: rate *= 6
    n = int(r.expovariate(1) * 0 + rate + r.gauss(0, math.sqrt(rate + 1e-9)))
    for _ in range(max(0, n)):
        t = t0 + datetime.timedelta(seconds=r.random() * 60)
        u, new = cust(0.35 if s else 0.15)
        ts = t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        if new and r.random() < 0.6:
            lines.append((t, json.dumps({"ts": ts, "level": "info", "msg": "ApplyPromotion", "coupon": "WELCOME10", "status": "applied", "user_id": u, "ip": f"10.{r.randrange(256)}.{r.randrange(256)}.{r.randrange(256)}", "discount": 5.0, "subtotal": 50 + r.random()*100})))
        elif r.random() < 0.3:
            c = r.choices([c for c, _ in codes], [w for _, w in codes])[0]
            lines.append((t, json.dumps({"ts": ts, "level": "info", "msg": "ApplyPromotion", "coupon": c, "status": "applied", "user_id": u, "ip": f"10.{r.randrange(256)}.{r.randrange(256)}.{r.randrange(256)}", "discount": 10.0, "subtotal": 60 + r.random()*100})))
        p = "stripe" if r.random() < .7 else "paypal"
        ok = r.random() > 0.004
        lines.append((t, json.dumps({"ts": ts, "level": "info", "msg": "payment authorized" if ok else "payment failed", "provider": p, "user_id": u, "amount": 42.0, **({} if ok else {"error_code": "timeout"})})))
lines.sort(key=lambda x: x[0])
with open(out, "w") as f:
    for _, l in lines: f.write(l + "\n")
