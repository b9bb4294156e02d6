#!/usr/bin/env python3
# A big shop: 800,000 customers, each checkout by one of them at random, two and a half days at about
# 830 checkouts a minute, so by day 3 some 760,000 accounts are known and 95% of checkouts are by
# returning customers. A staff code two owners redeem every twenty minutes leaks on day 3 at 10:00:
# thirty accounts never seen before redeem it every minute for twenty minutes. The account history
# is as full as a busy shop's gets (the case the first-seen sketch must still tell new from known).
# usage: big-customer-base-leak.py SEED OUT [CUSTOMERS]
import datetime, random, sys
seed = int(sys.argv[1]); out = sys.argv[2]
customers = int(sys.argv[3]) if len(sys.argv) > 3 else 800_000
r = random.Random(seed)
start = datetime.datetime(2026, 11, 24, 0, 0, tzinfo=datetime.timezone.utc)
per_minute = 830
minutes = 2 * 1440 + 720
leak = (2 * 1440 + 600, 2 * 1440 + 620)
codes = [("SAVE10", 10), ("FREESHIP", 5), ("VIP20", 20)]
owners = ["owner-ana", "owner-ben"]
serial = 0
with open(out, "w") as f:
    for m in range(minutes):
        t0 = start + datetime.timedelta(minutes=m)
        day = t0.strftime("%Y-%m-%dT%H:%M:")
        recs = []
        for _ in range(per_minute + int(r.gauss(0, 25))):
            s = r.random() * 60
            u = f"c{r.randrange(customers)}"
            ip = f"10.{r.randrange(256)}.{r.randrange(256)}.{r.randrange(1, 255)}"
            subtotal = 30 + r.randrange(15000) / 100
            if r.random() < 0.3:
                c, pct = codes[r.choice([0, 0, 0, 1, 1, 2])]
                recs.append((s, f'"msg":"ApplyPromotion","coupon":"{c}","status":"applied","user_id":"{u}","ip":"{ip}","discount":{subtotal * pct / 100:.2f},"subtotal":{subtotal:.2f}'))
            ok = r.random() > 0.004
            p = "stripe" if r.random() < 0.7 else "paypal"
            recs.append((s + 0.5, f'"msg":"payment {"authorized" if ok else "failed"}","provider":"{p}","user_id":"{u}","amount":{subtotal:.2f}' + ("" if ok else ',"error_code":"timeout"')))
        if m % 20 == 7:
            recs.append((30.0, f'"msg":"ApplyPromotion","coupon":"STAFF55-OMAR","status":"applied","user_id":"{owners[m // 20 % 2]}","ip":"10.9.9.9","discount":20.00,"subtotal":40.00'))
        if leak[0] <= m < leak[1]:
            for k in range(30):
                serial += 1
                recs.append((r.random() * 60, f'"msg":"ApplyPromotion","coupon":"STAFF55-OMAR","status":"applied","user_id":"fresh-{serial}","ip":"203.0.113.{k + 1}","discount":20.00,"subtotal":40.00'))
        recs.sort(key=lambda x: x[0])
        for s, body in recs:
            sec = min(59.999999, s)
            f.write(f'{{"ts":"{day}{sec:09.6f}Z","level":"info",{body}}}\n')
