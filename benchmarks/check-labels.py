#!/usr/bin/env python3
"""Checks promowatch findings against a scenario's labels (loggen --scenario --labels FILE).

usage: check-labels.py LABELS.json FINDINGS.jsonl
Every incident must have a finding of its category and subject within 5 minutes of its start;
no action may be proposed outside an incident (its span plus 5 minutes). Exit 1 otherwise."""
import datetime, json, sys

def t(s):
    return datetime.datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()

labels = json.load(open(sys.argv[1]))
findings = [json.loads(l) for l in open(sys.argv[2]) if '"category"' in l]
bad = 0
for l in labels:
    if l["legit"]:
        continue
    hits = [f for f in findings if f["category"] == l["category"] and t(l["start"]) <= t(f["time"]) <= t(l["start"]) + 300
            and all(f["subject"].get(k) == v for k, v in l["subject"].items()) and (l["subject"] or not f["subject"])]
    if hits:
        print(f"found   {l['name']:<32} {l['category']:<26} after {int(t(hits[0]['time']) - t(l['start']))} s")
    else:
        print(f"MISSED  {l['name']:<32} {l['category']}")
        bad += 1
incidents = [l for l in labels if not l["legit"]]
for f in findings:
    if f["action"] and not any(t(l["start"]) <= t(f["time"]) <= t(l["end"]) + 300 for l in incidents):
        print(f"FALSE ACTION {f['time']} {f['summary']}")
        bad += 1
print(f"{len(findings)} findings, {bad} problems")
sys.exit(1 if bad else 0)
