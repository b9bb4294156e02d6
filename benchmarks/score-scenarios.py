#!/usr/bin/env python3
"""Scores promowatch's findings on adversarial days (loggen --adversarial --labels FILE).

usage: score-scenarios.py LABELS.json FINDINGS.jsonl [LABELS.json FINDINGS.jsonl ...]
Per day and in total: recall (incidents found in time, right category and subject), false actions
(an action a label calls wrong, or any action outside every incident), missed actions (an incident
whose right action was not proposed), severe (P0/P1) false alarms per day, findings per incident,
median detection delay (overall, of incidents owed an action, by category and the spread by incident
name). Prints one line per day, then the totals; exit 0."""
import datetime, json, statistics, sys

def t(s):
    return datetime.datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()

def matches(pattern, action):
    kind, _, target = pattern.partition(":")
    return action["kind"] == kind and (target == "*" or action["target"].upper() == target.upper())

total = dict(days=0, incidents=0, found=0, false_actions=0, missed_actions=0, severe_false=0, incident_findings=0, delays=[],
             steps=0, reverts=0, action_delays=[])
problems = []
args = sys.argv[1:]
for labels_path, findings_path in zip(args[0::2], args[1::2]):
    day = json.load(open(labels_path))
    labels = day["labels"]
    lines = [json.loads(l) for l in open(findings_path) if l.strip()]
    findings = [o for o in lines if "category" in o]
    # circuit-breaker steps (a trial after a hold, a revert) follow up a finding's action: they are
    # false exactly when the action they follow up was
    steps = [o["step"] for o in lines if "step" in o]
    incidents = [l for l in labels if l["category"]]
    spans = [(t(l["start"]), t(l["end"]) + 300) for l in incidents]
    inside = lambda f: any(a <= t(f["time"]) <= b for a, b in spans)
    found = fa = ma = 0
    for l in incidents:
        s = t(l["start"])
        hits = [f for f in findings if f["category"] == l["category"] and s <= t(f["time"]) <= s + l["find_within_s"]
                and all(f["subject"].get(k) == v for k, v in l["subject"].items())]
        if hits:
            found += 1
            delay = min(t(f["time"]) for f in hits) - s
            total["delays"].append(delay)
            total.setdefault("by_category", {}).setdefault(l["category"], []).append(delay)
            if l["right_action"]:
                total["action_delays"].append(delay)
            total.setdefault("by_name", {}).setdefault(l["name"].split(":")[0], []).append(delay)
        else:
            problems.append(f"seed {day['seed']}: MISSED {l['name']}")
        if l["right_action"]:
            acted = [f for f in findings if f["action"] and s <= t(f["time"]) <= t(l["end"]) + 300 and matches(l["right_action"], f["action"])]
            if acted:
                total.setdefault("to_action", []).append(min(t(f["time"]) for f in acted) - s)
            if not acted:
                ma += 1
                problems.append(f"seed {day['seed']}: MISSED ACTION {l['right_action']} for {l['name']}")
    for f in findings:
        if not f["action"]:
            continue
        active = [l for l in labels if t(l["start"]) <= t(f["time"]) <= t(l["end"]) + 300]
        wrong = any(matches(w, f["action"]) for l in active for w in l["wrong_actions"])
        if wrong or not inside(f):
            fa += 1
            problems.append(f"seed {day['seed']}: FALSE ACTION {f['time']} {f['action']['kind']}:{f['action']['target']} ({f['summary'][:100]})")
    false_causes = set()
    for f in findings:
        if f["action"]:
            active = [l for l in labels if t(l["start"]) <= t(f["time"]) <= t(l["end"]) + 300]
            if any(matches(w, f["action"]) for l in active for w in l["wrong_actions"]) or not inside(f):
                false_causes.add(f["fingerprint"])
    for st in steps:
        if "did not help" in st["reason"]:
            total["reverts"] += 1  # undoing a switch is a correction, never a new false action
            continue
        if st["cause"] in false_causes:
            fa += 1
            problems.append(f"seed {day['seed']}: FALSE STEP {st['time']} {st['kind']}:{st['target']} ({st['reason'][:80]})")
    total["steps"] += len(steps)
    severe = [f for f in findings if f["severity"] in ("P0", "P1") and not inside(f)]
    for f in severe:
        problems.append(f"seed {day['seed']}: severe false alarm {f['time']} {f['severity']} {f['summary'][:100]}")
    per = sum(1 for f in findings if inside(f))
    total["days"] += 1; total["incidents"] += len(incidents); total["found"] += found
    total["false_actions"] += fa; total["missed_actions"] += ma; total["severe_false"] += len(severe); total["incident_findings"] += per
    print(f"seed {day['seed']:>20} peak {day['parameters']['peak_per_minute']:>5}/min prior {day['parameters']['prior_hours']:>2} h: "
          f"incidents {found}/{len(incidents)} found, false actions {fa}, missed actions {ma}, severe false alarms {len(severe)}")
for p in problems:
    print("  " + p)
d = total["days"] or 1
print(f"\ndays {total['days']}, incidents {total['incidents']}")
print(f"recall                          {100 * total['found'] / max(total['incidents'], 1):.1f}%")
print(f"false actions                   {total['false_actions']}")
print(f"missed actions                  {total['missed_actions']}")
print(f"severe false alarms per day     {total['severe_false'] / d:.2f}")
print(f"findings per incident           {total['incident_findings'] / max(total['incidents'], 1):.2f}")
print(f"breaker steps (trials, reverts)  {total['steps']} ({total['reverts']} reverts of a switch that did not help)")
print(f"median detection delay          {statistics.median(total['delays']) if total['delays'] else float('nan'):.0f} s")
if total["action_delays"]:
    print(f"  of incidents owed an action     {statistics.median(total['action_delays']):.0f} s (first finding; the action follows its rules)")
if total.get("to_action"):
    print(f"median time to the right action  {statistics.median(total['to_action']):.0f} s")
for category, delays in sorted(total.get("by_category", {}).items()):
    print(f"  {category:<28} {len(delays):>4} found, median delay {statistics.median(delays):.0f} s")
for name, delays in sorted(total.get("by_name", {}).items()):
    counts = {}
    for x in delays:
        counts[int(x)] = counts.get(int(x), 0) + 1
    spread = ", ".join(f"{k} s x{v}" for k, v in sorted(counts.items()))
    print(f"  {name:<40} {spread}")
