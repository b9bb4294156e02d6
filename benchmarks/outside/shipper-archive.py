#!/usr/bin/env python3
# Three days as a log shipper archived them, gzip-compressed: three checkout pods collected by
# three shippers, with the record shapes of their documentation. Fluent Bit (`log` beside `date`,
# `time`, `stream`, `_p` and the kubernetes filter's metadata) holds go-kratos std-logger lines
# without `ts` and slog's default-handler promotions (`2026/11/26 10:00:01 INFO ApplyPromotion
# coupon=X`); Filebeat (`message`, `log` an object of its own, `@timestamp`) holds std-logger
# lines; Vector (`message` holding a zap JSON line, `source_type`) holds zap lines. PayPal fails
# on day 3 from 14:00 to 14:40; a campaign code (CYBER30) launches on day 3 at 09:00 among the
# shop's returning customers. PayPal must be switched off once, no code blacklisted, and every
# event read with its own time and code.
import datetime, gzip, json, os, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import daylib  # noqa: E402
out, peak, r = daylib.args(80)
start = datetime.datetime(2026, 11, 24, 0, 0, tzinfo=datetime.timezone.utc)
paypal_out = (2 * 1440 + 840, 2 * 1440 + 880)
launch = 2 * 1440 + 540
codes = ["SAVE10", "FREESHIP", "VIP15", "WINTER20"]
pods = ["checkout-7d9f8c6b5-x2kqp", "checkout-7d9f8c6b5-m4n8z", "checkout-7d9f8c6b5-q7r2t"]
lines = []


def compact(o):
    return json.dumps(o, separators=(",", ":"))


def iso(t):
    return t.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def record(t, pod, kind, std, zap):
    # one event as the shipper of its pod wrote it: `std` a std-logger line without `ts`, `zap` the
    # same event's zap fields
    if kind == 0:
        return compact({"date": round(t.timestamp(), 3), "time": iso(t), "stream": "stdout", "_p": "F",
                           "log": std, "kubernetes": {"pod_name": pod, "namespace_name": "shop",
                                                       "container_name": "checkout", "labels": {"app": "checkout"}}})
    if kind == 1:
        return compact({"@timestamp": iso(t), "message": std, "stream": "stdout",
                           "log": {"offset": r.randrange(10**9), "file": {"path": f"/var/log/containers/{pod}_shop_checkout-0.log"}},
                           "kubernetes": {"pod": {"name": pod}}, "agent": {"type": "filebeat"}})
    z = dict(zap)
    z = {"level": z.pop("level"), "ts": round(t.timestamp(), 6), "caller": z.pop("caller"), "msg": z.pop("msg"), **z}
    return compact({"file": f"/var/log/pods/shop_{pod}_0/checkout/0.log", "kubernetes": {"pod_name": pod},
                       "message": compact(z), "source_type": "kubernetes_logs", "stream": "stdout",
                       "timestamp": iso(t)})


for m, t0, n in daylib.minutes(r, start, 3, peak, 0.08):
    for _ in range(n):
        t = daylib.at(r, t0)
        k = r.randrange(3)
        pod = pods[k]
        u = f"u-{r.randrange(30000)}"
        if r.random() < 0.25:
            c = r.choice(codes)
            if m >= launch and r.random() < min(0.5, (m - launch) / 120):
                c = "CYBER30"
            if k == 0:
                std = f"{t.strftime('%Y/%m/%d %H:%M:%S')} INFO ApplyPromotion coupon={c} user_id={u} discount=5.00 subtotal=60.00"
            else:
                std = f"INFO caller=biz/cart.go:44 service.name=checkout msg=ApplyPromotion coupon={c} user_id={u} discount=5.00 subtotal=60.00"
            zap = {"level": "info", "caller": "biz/cart.go:44", "msg": "ApplyPromotion", "coupon": c, "user_id": u,
                   "discount": 5.0, "subtotal": 60.0}
            lines.append((t, record(t, pod, k, std, zap)))
        p = "stripe" if r.random() < 0.65 else "paypal"
        x = r.random()
        fail = 0.5 if p == "paypal" and paypal_out[0] <= m < paypal_out[1] else 0.004
        if x < fail:
            std = f"ERROR caller=biz/payment.go:88 service.name=checkout msg=payment authorization failed provider={p} error_code=gateway_unavailable user_id={u}"
            zap = {"level": "error", "caller": "biz/payment.go:88", "msg": "payment authorization failed",
                   "provider": p, "error_code": "gateway_unavailable", "user_id": u}
        elif x < fail + 0.03:
            std = f"WARN caller=biz/payment.go:80 service.name=checkout msg=payment declined provider={p} decline_code=card_declined amount=42.00 user_id={u}"
            zap = {"level": "warn", "caller": "biz/payment.go:80", "msg": "payment declined", "provider": p,
                   "decline_code": "card_declined", "amount": 42.0, "user_id": u}
        else:
            a = f"{20 + r.random() * 100:.2f}"
            std = f"INFO caller=biz/payment.go:70 service.name=checkout msg=payment authorized provider={p} amount={a} user_id={u}"
            zap = {"level": "info", "caller": "biz/payment.go:70", "msg": "payment authorized", "provider": p,
                   "amount": float(a), "user_id": u}
        lines.append((t, record(t, pod, k, std, zap)))
lines.sort(key=lambda x: x[0])
with gzip.open(out, "wt") as f:
    for _, l in lines:
        f.write(l + "\n")
