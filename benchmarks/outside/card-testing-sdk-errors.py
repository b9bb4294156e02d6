#!/usr/bin/env python3
# Card testing as in card-testing-rate-limit.py, but the service logs its payment SDKs' errors as
# they print themselves and no code key (`Errorw("msg", "payment failed", "provider", p, "error",
# err)`): stripe-go's error is its JSON (`{"code":"card_declined","decline_code":...,"type":
# "card_error"}`), a PayPal client's names the Orders API issue (`Issue: INSTRUMENT_DECLINED`).
# Declines all day, then a burst of them from three ips with stripe rate-limiting part of it: card
# testing to raise, never a provider switch (the declines are the customers', not the providers').
import json, os, random, sys, datetime
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import daylib  # noqa: E402
seed = int(sys.argv[1]); out = sys.argv[2]
r = random.Random(seed)
start = datetime.datetime(2026, 11, 18, 0, 0, tzinfo=datetime.timezone.utc)
peak = 60
lines = []
attack = (1440 + 600, 1440 + 630)
stripe_messages = {"card_declined": "Your card was declined.", "insufficient_funds": "Your card has insufficient funds.",
                   "incorrect_cvc": "Your card's security code is incorrect.", "expired_card": "Your card has expired."}


def stripe_error(code, decline=None):
    e = {"code": code, "doc_url": f"https://stripe.com/docs/error-codes/{code.replace('_', '-')}",
         "message": stripe_messages.get(code, "Too many requests hit the API too quickly."),
         "request_log_url": f"https://dashboard.stripe.com/logs/req_{r.randrange(10**12)}",
         "status": 402 if code != "rate_limit" else 429, "type": "card_error" if code != "rate_limit" else "invalid_request_error"}
    if decline:
        e["decline_code"] = decline
    return json.dumps(e, separators=(",", ":"))


def paypal_error(issue):
    return (f"POST https://api-m.paypal.com/v2/checkout/orders/{r.randrange(10**16):X}/capture: 422 The requested action "
            f"could not be performed, semantically incorrect, or failed business validation., [{{Field: , Issue: {issue}, "
            f"Description: The instrument presented  was either declined by the processor or bank, or it can't be used for this payment.}}]")


def decline(p):
    if p == "stripe":
        code = r.choice(["card_declined", "card_declined", "insufficient_funds", "incorrect_cvc", "expired_card"])
        return stripe_error(code, "generic_decline" if code == "card_declined" else None)
    return paypal_error(r.choice(["INSTRUMENT_DECLINED", "INSTRUMENT_DECLINED", "PAYER_CANNOT_PAY"]))


for m, t0, n in daylib.minutes(r, start, 2, peak, 0.05):
    for _ in range(n):
        t = daylib.at(r, t0)
        ts = t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        u = f"c{r.randrange(5000)}"
        p = "stripe" if r.random() < .7 else "paypal"
        x = r.random()
        if x < 0.004: ev = {"msg": "payment failed", "error": "rpc error: code = DeadlineExceeded desc = context deadline exceeded"}
        elif x < 0.06: ev = {"msg": "payment failed", "error": decline(p)}
        else: ev = {"msg": "payment authorized"}
        lines.append((t, json.dumps({"level": "error" if "error" in ev else "info", "ts": ts, **ev, "provider": p, "user_id": u,
                                     "amount": round(20 + r.random() * 100, 2), "card_fingerprint": f"fp{r.randrange(100000)}"})))
    if attack[0] <= m < attack[1]:
        for _ in range(40):
            t = t0 + datetime.timedelta(seconds=r.random() * 60)
            ts = t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
            err = stripe_error("rate_limit") if r.random() < 0.3 else decline("stripe")
            lines.append((t, json.dumps({"level": "error", "ts": ts, "msg": "payment failed", "error": err, "provider": "stripe",
                                         "user_id": f"guest-{r.randrange(3)}", "ip": f"203.0.113.{r.randrange(3)}", "amount": 1.0,
                                         "card_fingerprint": f"test{r.randrange(10**9)}"})))
lines.sort(key=lambda x: x[0])
with open(out, "w") as f:
    for _, l in lines: f.write(l + "\n")
