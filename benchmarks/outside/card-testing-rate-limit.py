#!/usr/bin/env python3
# A day of a shop, then card testing: a burst of small declined payments on many cards from a few ips,
# with stripe answering part of them with rate_limit (its reaction to the attack).
import json, random, sys, datetime, math
seed = int(sys.argv[1]); out = sys.argv[2]
r = random.Random(seed)
start = datetime.datetime(2026, 11, 18, 0, 0, tzinfo=datetime.timezone.utc)
peak = 60
lines = []
attack = (1440 + 600, 1440 + 630)
for m in range(2 * 1440):
    t0 = start + datetime.timedelta(minutes=m)
    hour = (m % 1440) / 60
    rate = peak * (0.05 + 0.95 * max(0, math.sin(math.pi * (hour - 5) / 18)))
    n = max(0, int(rate + r.gauss(0, math.sqrt(rate))))
    for _ in range(n):
        t = t0 + datetime.timedelta(seconds=r.random() * 60)
        ts = t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        u = f"c{r.randrange(5000)}"
        p = "stripe" if r.random() < .7 else "paypal"
        x = r.random()
        if x < 0.004: ev = {"msg": "payment failed", "error_code": "timeout"}
        elif x < 0.06: ev = {"msg": "payment declined", "decline_code": "card_declined"}
        else: ev = {"msg": "payment authorized"}
        lines.append((t, json.dumps({"ts": ts, **ev, "provider": p, "user_id": u, "amount": 20 + r.random() * 100, "card_fingerprint": f"fp{hash(u) % 100000}"})))
    if attack[0] <= m < attack[1]:
        for _ in range(40):
            t = t0 + datetime.timedelta(seconds=r.random() * 60)
            ts = t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
            y = r.random()
            ev = {"msg": "payment failed", "error_code": "rate_limit"} if y < 0.3 else {"msg": "payment declined", "decline_code": r.choice(["card_declined", "incorrect_cvc", "incorrect_number"])}
            lines.append((t, json.dumps({"ts": ts, **ev, "provider": "stripe", "user_id": f"guest-{r.randrange(3)}", "ip": f"203.0.113.{r.randrange(3)}", "amount": 1.0, "card_fingerprint": f"test{r.randrange(10**9)}"})))
lines.sort(key=lambda x: x[0])
with open(out, "w") as f:
    for _, l in lines: f.write(l + "\n")
