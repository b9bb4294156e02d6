#!/usr/bin/env python3
# Two days of ordinary codes (10-20% off), then a Black Friday code at 70% off launched at 09:00 on
# day 3 among the shop's returning customers, through a surge x4: the promotion's terms, no abuse.
# usage: black-friday-deep-discount.py SEED OUT [PEAK]
import datetime, json, math, random, sys
seed = int(sys.argv[1]); out = sys.argv[2]
peak = float(sys.argv[3]) if len(sys.argv) > 3 else 80
r = random.Random(seed)
start = datetime.datetime(2026, 11, 25, 0, 0, tzinfo=datetime.timezone.utc)
seen = []; serial = 0
codes = [("SAVE10", .10, .5), ("AUTUMN15", .15, .3), ("VIP20", .20, .2)]
launch = 2 * 1440 + 9 * 60
surge = (launch, launch + 180)
lines = []
def customer():
    global serial
    if seen and r.random() > 0.15: return r.choice(seen)
    serial += 1; u = f"cust-{serial}"; seen.append(u); return u
for m in range(3 * 1440):
    t0 = start + datetime.timedelta(minutes=m)
    hour = (m % 1440) / 60
    rate = peak * (0.05 + 0.95 * max(0, math.sin(math.pi * (hour - 5) / 18)))
    if surge[0] <= m < surge[1]: rate *= 4
    n = max(0, int(rate + r.gauss(0, math.sqrt(rate + 1e-9))))
    for _ in range(n):
        t = t0 + datetime.timedelta(seconds=r.random() * 60)
        u = customer()
        ip = f"10.{r.randrange(256)}.{r.randrange(256)}.{r.randrange(1, 255)}"
        ts = t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        subtotal = round(40 + r.random() * 160, 2)
        code = None
        if m >= launch and r.random() < 0.5:
            code, share = "BLACKFRIDAY70", 0.70
        elif r.random() < 0.3:
            code, _, _ = r.choices(codes, [w for _, _, w in codes])[0]
            share = dict((c, s) for c, s, _ in codes)[code]
        if code:
            if r.random() < 0.5:
                lines.append((t, json.dumps({"ts": ts, "level": "info", "msg": "ApplyPromotion", "coupon": code,
                    "status": "applied", "user_id": u, "ip": ip, "discount": round(subtotal * share, 2),
                    "subtotal": subtotal})))
            else:
                lines.append((t, f"level=info ts={ts} msg=ApplyPromotion couponCode={code} outcome=success "
                    f"userId={u} clientIp={ip} discountTotal={subtotal * share:.2f} cartTotal={subtotal:.2f}"))
        p = "stripe" if r.random() < .7 else "paypal"
        ok = r.random() > 0.004
        lines.append((t, json.dumps({"ts": ts, "level": "info", "msg": "payment authorized" if ok else "payment failed",
            "provider": p, "user_id": u, "amount": round(subtotal, 2), **({} if ok else {"error_code": "timeout"})})))
lines.sort(key=lambda x: x[0])
with open(out, "w") as f:
    for _, l in lines: f.write(l + "\n")
