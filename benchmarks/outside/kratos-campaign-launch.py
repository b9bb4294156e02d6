#!/usr/bin/env python3
# Two days of a shop, then a campaign announced by email: established customers try the code in the
# hour before it goes live (rejected: PROMOTION_NOT_FOUND, some retry), then redeem it at launch,
# ramping to ~150/min, ordinary discount. Kratos middleware request lines carry the promotions.
import json, random, sys, datetime, math
seed = int(sys.argv[1]); out = sys.argv[2]
r = random.Random(seed)
start = datetime.datetime(2026, 11, 18, 0, 0, tzinfo=datetime.timezone.utc)
peak = float(sys.argv[3]) if len(sys.argv) > 3 else 300
custs = [f"c{i}" for i in range(20000)]
lines = []
launch = 2 * 1440 + 600
for m in range(2 * 1440 + 720):
    t0 = start + datetime.timedelta(minutes=m)
    hour = (m % 1440) / 60
    rate = peak * (0.05 + 0.95 * max(0, math.sin(math.pi * (hour - 5) / 18)))
    n = max(0, int(rate + r.gauss(0, math.sqrt(rate + 1e-9))))
    def emit(t, obj): lines.append((t, json.dumps(obj)))
    for _ in range(n):
        t = t0 + datetime.timedelta(seconds=r.random() * 60)
        ts = t.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]  # a kratos local layout, UTC
        u = r.choice(custs[:8000]) if r.random() < .8 else f"n{r.randrange(10**9)}"
        if r.random() < 0.3:
            c = r.choice(["SAVE10", "SAVE10", "FREESHIP", "VIP15"])
            emit(t, {"level": "INFO", "ts": ts, "kind": "server", "component": "grpc", "operation": "/shop.checkout.v1.Checkout/ApplyPromotion",
                     "args": f'session_id:"s-{r.randrange(10**9)}" user_id:"{u}" promotion_code:"{c}"', "code": 0, "reason": "", "stack": "", "latency": 0.01})
        p = "stripe" if r.random() < .7 else "paypal"
        emit(t, {"level": "INFO", "ts": ts, "msg": "payment authorized", "provider": p, "user_id": u, "amount": 40})
    if launch - 60 <= m < launch:
        for _ in range(r.randrange(0, 3)):
            t = t0 + datetime.timedelta(seconds=r.random() * 60)
            u = r.choice(custs[:8000])
            for k in range(r.randrange(1, 4)):
                emit(t + datetime.timedelta(seconds=k), {"level": "WARN", "ts": (t + datetime.timedelta(seconds=k)).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3], "kind": "server", "component": "grpc",
                     "operation": "/shop.checkout.v1.Checkout/ApplyPromotion", "args": f'user_id:"{u}" promotion_code:"winter25"', "code": 404, "reason": "PROMOTION_NOT_FOUND", "stack": "", "latency": 0.004})
    if launch <= m < launch + 90:
        ramp = min(1, (m - launch) / 10)
        for _ in range(int(150 * ramp + r.gauss(0, 3))):
            t = t0 + datetime.timedelta(seconds=r.random() * 60)
            u = r.choice(custs) # established customers, some lapsed beyond this history
            emit(t, {"level": "INFO", "ts": t.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3], "kind": "server", "component": "grpc", "operation": "/shop.checkout.v1.Checkout/ApplyPromotion",
                     "args": f'user_id:"{u}" promotion_code:"WINTER25"', "code": 0, "reason": "", "stack": "", "latency": 0.01})
lines.sort(key=lambda x: x[0])
with open(out, "w") as f:
    for _, l in lines: f.write(l + "\n")
