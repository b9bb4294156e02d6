#!/usr/bin/env python3
"""Inputs of benchmarks/memory.sh (issue "Nothing an input can do stops, blinds or bloats").

  memory-days.py codes CODES MINUTES        every code redeemed once a minute, each time by a new
                                            account (the attacker's shape: nothing repeats)
  memory-days.py large-shop SEED [HOURS]    a day of a large shop: up to 50 checkouts a second
                                            at the evening peak, a night trough, every checkout
                                            a request line with its latency and a payment; two
                                            in five redeem a code, a third of those a one-time
                                            personal code (hundreds of thousands a day)
Writes JSON lines under kubectl --prefix --timestamps framing to stdout, in time order.
"""
import math
import random
import sys

BASE = 1_795_132_800  # 2026-11-20T00:00:00Z


def stamp(t):
    s = int(t)
    ns = int((t - s) * 1e9)
    d, r = divmod(s - BASE, 86400)
    h, r = divmod(r, 3600)
    m, sec = divmod(r, 60)
    return "2026-11-%02dT%02d:%02d:%02d.%09dZ" % (20 + d, h, m, sec, ns)


def codes(n, minutes):
    out = sys.stdout
    for m in range(minutes):
        lines = []
        for c in range(n):
            t = BASE + 8 * 3600 + m * 60 + (c * 60) / n
            lines.append(
                '[pod/checkout-1/checkout] %s {"ts":"%s","msg":"ApplyPromotion","coupon":"CODE%06d",'
                '"user_id":"u%d-%d","discount":5,"subtotal":50}\n' % (stamp(t), stamp(t), c, c, m))
        out.write("".join(lines))


def large_shop(seed, hours):
    rng = random.Random(seed)
    out = sys.stdout
    public = ["PUB%03d" % i for i in range(200)]
    weights = [1.0 / (i + 1) for i in range(200)]
    users = 2_000_000
    peak = 3000.0
    for minute in range(hours * 60):
        hour = minute / 60.0
        # night trough around 04:00, evening peak around 20:00
        level = 0.08 + 0.92 * (0.5 - 0.5 * math.cos((hour - 4) / 24 * 2 * math.pi)) ** 1.5
        n = max(1, int(rng.gauss(peak * level, math.sqrt(peak * level))))
        lines = []
        for i in range(n):
            t = BASE + minute * 60 + (i + rng.random()) * 60 / n
            ts = stamp(t)
            pod = "checkout-%d" % rng.randrange(6)
            pre = "[pod/%s/checkout] %s " % (pod, ts)
            user = "u%d" % int(users * rng.random() ** 2)
            ip = "10.%d.%d.%d" % (rng.randrange(256), rng.randrange(256), rng.randrange(1, 255))
            subtotal = round(rng.uniform(15, 300), 2)
            if rng.random() < 0.4:
                if rng.random() < 0.33:
                    code = "REF-%08X" % rng.getrandbits(32)
                else:
                    code = rng.choices(public, weights)[0]
                discount = round(subtotal * rng.choice([0.05, 0.1, 0.15, 0.2]), 2)
                lines.append(pre + '{"ts":"%s","level":"INFO","msg":"ApplyPromotion","coupon":"%s","user_id":"%s",'
                             '"ip":"%s","discount":%s,"subtotal":%s}\n' % (ts, code, user, ip, discount, subtotal))
            provider = "stripe" if rng.random() < 0.85 else "paypal"
            r = rng.random()
            if r < 0.004:
                outcome = '"msg":"payment failed","provider":"%s","error_code":"gateway_timeout"' % provider
            elif r < 0.03:
                outcome = '"msg":"payment declined","provider":"%s","decline_code":"card_declined"' % provider
            else:
                outcome = '"msg":"payment succeeded","provider":"%s"' % provider
            lines.append(pre + '{"ts":"%s","level":"INFO",%s,"user_id":"%s","amount":%s}\n'
                         % (ts, outcome, user, subtotal))
            latency = rng.lognormvariate(math.log(120), 0.5)
            lines.append(pre + '{"ts":"%s","level":"INFO","msg":"request","operation":"/checkout.v1.Checkout/PlaceOrder",'
                         '"latency":%.3f,"code":0}\n' % (ts, latency / 1000))
        out.write("".join(lines))


if __name__ == "__main__":
    if len(sys.argv) >= 4 and sys.argv[1] == "codes":
        codes(int(sys.argv[2]), int(sys.argv[3]))
    elif len(sys.argv) >= 3 and sys.argv[1] == "large-shop":
        large_shop(int(sys.argv[2]), int(sys.argv[3]) if len(sys.argv) > 3 else 24)
    else:
        sys.exit(__doc__)
