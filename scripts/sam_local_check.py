"""Invokes every sample event through `sam local invoke` and checks answers and effects.

Called by scripts/sam-local.sh with moto already on the loopback endpoint of the env file and
the resources of scripts/resources.py created. Order matters and is fixed: within the contact
family the sample events arrive created -> updated -> deleted, as Engage would send them.
Exits non-zero on the first difference it reports at the end (every row is printed first).
"""
import argparse
import json
import os
import subprocess
import sys
import time

import boto3

FUNCTION = {
    "contact.created": "ContactFunction",
    "contact.updated": "ContactFunction",
    "contact.deleted": "ContactFunction",
    "contact.acceptsEmail.changed": "ConsentFunction",
    "contact.acceptsSms.changed": "ConsentFunction",
    "contact.acceptsPostal.changed": "ConsentFunction",
    "contact.consent.changed": "ConsentFunction",
    "loyalty.addPoints": "LoyaltyFunction",
    "point.balance.updated": "LoyaltyFunction",
    "reward.voucher.created": "LoyaltyFunction",
    "promotion.multichannel.assigned": "PromotionFunction",
}
# The order of the run; deleted last, after the consent events changed the same contact.
ORDER = [
    "contact.created", "contact.updated", "contact.acceptsEmail.changed",
    "contact.acceptsSms.changed", "contact.acceptsPostal.changed", "contact.consent.changed",
    "loyalty.addPoints", "point.balance.updated", "reward.voucher.created",
    "promotion.multichannel.assigned", "contact.deleted",
]
# (status, reason) per sample event; plain and encrypted variants are events of their own.
# The encrypted copy of a sample is an event of its own with the same contact. The mirror
# applies `contact.created` only while no profile is stored, so the second `created` answers
# `stale`; the consent samples' encrypted copies carry the same change time as the plain ones,
# and at equal times the later arrival wins (docs/contact-mirror.md), so they are `processed`.
EXPECT = {f"{name}{v}": (200, "processed") for name in ORDER for v in ("", ".encrypted")}
EXPECT["contact.created.encrypted"] = (200, "stale")
# One redelivery per fan-out family: answered `duplicate`, no second queue message.
REDELIVER = ["reward.voucher.created", "promotion.multichannel.assigned"]


def invoke(args, event_type, variant):
    path = os.path.join(args.events, f"{event_type}{variant}.json")
    cmd = [sys.executable, os.path.join(os.path.dirname(__file__), "sam_local_launcher.py"),
           "local", "invoke", FUNCTION[event_type], "-e", path, "--env-vars", args.env_vars,
           "--skip-pull-image"]
    with open(args.log, "a") as log:
        log.write(f"\n===== {event_type}{variant}\n")
        log.flush()
        run = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=log, text=True)
    try:
        out = json.loads(run.stdout.strip().splitlines()[-1])
        body = json.loads(out.get("body") or "{}")
        return out.get("statusCode"), body.get("status") or body.get("error")
    except (ValueError, IndexError, AttributeError):
        return None, f"no answer (exit {run.returncode}, see {args.log})"


def effects():
    sqs, ddb = boto3.client("sqs"), boto3.client("dynamodb")
    seen = {}
    for q in ("engage-loyalty", "engage-promotion", "engage-loyalty-dlq", "engage-promotion-dlq"):
        url = sqs.get_queue_url(QueueName=q)["QueueUrl"]
        attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
        seen[f"{q} messages"] = int(attrs["Attributes"]["ApproximateNumberOfMessages"])
    for t in ("engage-dedup", "engage-contacts"):
        seen[f"{t} items"] = ddb.scan(TableName=t, Select="COUNT")["Count"]
    return seen


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--events", required=True)
    p.add_argument("--env-vars", required=True)
    p.add_argument("--log", required=True)
    p.add_argument("--expect-effects", default=os.path.join(os.path.dirname(__file__), "sam_local_effects.json"))
    args = p.parse_args()
    open(args.log, "w").close()
    failures = []
    runs = [(t, v, EXPECT[t + v]) for t in ORDER for v in ("", ".encrypted")]
    runs += [(t, "", (200, "duplicate")) for t in REDELIVER]
    for event_type, variant, want in runs:
        started = time.monotonic()
        got = invoke(args, event_type, variant)
        mark = "ok" if got == want else f"MISMATCH (expected {want[0]} {want[1]})"
        print(f"  {FUNCTION[event_type]:<18} {event_type + variant:<44} {got[0]} {got[1]:<12} "
              f"{time.monotonic() - started:5.1f}s  {mark}", flush=True)
        if got != want:
            failures.append(f"{event_type}{variant}: {got} != {want}")
    want_effects = json.load(open(args.expect_effects))
    seen = effects()
    for key in sorted(set(seen) | set(want_effects)):
        want = want_effects.get(key)
        mark = "ok" if seen.get(key) == want else f"MISMATCH (expected {want})"
        print(f"  {key:<34} {seen.get(key)}  {mark}")
        if seen.get(key) != want:
            failures.append(f"{key}: {seen.get(key)} != {want}")
    for f in failures:
        print(f"sam-local: {f}", file=sys.stderr)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
