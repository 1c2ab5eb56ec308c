#!/usr/bin/env bash
# Runs the local demo (scripts/demo.sh) non-interactively and asserts its outcome; exits
# non-zero, naming every mismatch, when anything differs:
#   - every sample request answered 200 processed, the repeated one 200 duplicate, the badly
#     signed one 401 invalid_signature; every event type sent, at least one encrypted per family
#   - the loyalty and promotion queues hold exactly one message per request of their family
#   - the contact mirror holds, per contact, the preference and consent values of the samples
#     sent for it, or only a tombstone where contact.deleted came last
#   - the report shows no personal data of the samples (emails, names, phone numbers, ...)
# scripts/test.sh runs it when it is executable.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
out="$root/.local/demo"
mkdir -p "$out"
rm -f "$out/result.json"

status=0
scripts/demo.sh </dev/null 2>&1 | tee "$out/report.txt" || status=$?
[ -f "$out/result.json" ] || {
  echo "demo-check: FAILED: the demo ended (exit $status) without a report" >&2
  exit 1
}

"$root/.venv/bin/python" - "$root" "$out/result.json" "$out/report.txt" <<'PY'
import collections, json, os, sys

root, result_file, report_file = sys.argv[1:4]
result = json.load(open(result_file))
report = open(report_file).read()
requests = result["requests"]
failures, passed = [], 0

def check(ok, what):
    global passed
    if ok:
        passed += 1
    else:
        failures.append(what)

def envelope(event_type):
    return json.load(open(os.path.join(root, "events/envelopes", event_type + ".json")))

# --- Answers ----------------------------------------------------------------------------------
expected = {"sample": (200, "processed"), "duplicate": (200, "duplicate"),
            "bad-signature": (401, "invalid_signature")}
for i, r in enumerate(requests, 1):
    want = expected[r["kind"]]
    got = (r.get("status"), r.get("reason"))
    check(got == want, f"request {i} ({r['kind']} {r['eventType']}): got {got}, expected {want}")
for kind in expected:
    check(any(r["kind"] == kind for r in requests), f"no {kind} request was sent")
samples = [r for r in requests if r["kind"] == "sample"]
all_types = sorted(f[:-5] for f in os.listdir(os.path.join(root, "events/envelopes")) if f.endswith(".json"))
sent_types = {r["eventType"] for r in samples}
check(sent_types == set(all_types), f"sample types sent {sorted(sent_types)} != envelopes {all_types}")
for family in ("contact", "consent", "loyalty", "promotion"):
    check(any(r["family"] == family and r.get("cipher") for r in samples),
          f"no encrypted request for the {family} function")
ids = [r["eventId"] for r in samples]
check(len(ids) == len(set(ids)), f"sample event ids are not unique: {ids}")

# --- Queues: exactly one message per request of the family ---------------------------------
for family in ("loyalty", "promotion"):
    want = collections.Counter((r["eventType"], r["eventId"]) for r in samples if r["family"] == family)
    msgs = result["queues"][family]["messages"]
    got = collections.Counter((m["eventType"], m["eventId"]) for m in msgs)
    check(len(msgs) == sum(want.values()),
          f"{family} queue holds {len(msgs)} messages, expected {sum(want.values())}")
    check(got == want, f"{family} queue messages {sorted(got.items())} != requests {sorted(want.items())}")

# --- Mirror: the samples' values, or a tombstone ------------------------------------------
mirror = result["mirror"]
by_contact = collections.defaultdict(list)
for r in samples:
    if r["family"] in ("contact", "consent"):
        by_contact[r["contact"]].append(r)
check(set(mirror) == set(by_contact),
      f"mirror contacts {sorted(mirror)} != contacts sent {sorted(by_contact)}")
tombstone_attributes = {"contactId", "deletedAt", "deletionReason", "deleteEventId", "expiresAt"}
for contact, sent in by_contact.items():
    item = mirror.get(contact)
    if item is None:
        continue
    if sent[-1]["eventType"] == "contact.deleted":
        check(item["tombstone"], f"{contact}: deleted last, but not a tombstone: {item['attributes']}")
        extra = set(item["attributes"]) - tombstone_attributes
        check(not extra, f"{contact}: the tombstone still holds {sorted(extra)}")
        continue
    check(not item["tombstone"], f"{contact}: a tombstone, but contact.deleted was not sent last")
    check(item["profile"], f"{contact}: no profile although contact.created/updated were sent")
    for r in sent:
        payload = envelope(r["eventType"])["payload"]
        if r["eventType"].startswith("contact.accepts"):
            flag = r["eventType"].split(".")[1]
            got = item["preferences"].get(flag)
            check(got == payload[flag], f"{contact}: {flag} is {got!r}, the sample says {payload[flag]!r}")
        elif r["eventType"] == "contact.consent.changed":
            alias = payload["consentAlias"]
            got = item["consents"].get(alias)
            check(got == payload["consentValue"],
                  f"{contact}: consent {alias} is {got!r}, the sample says {payload['consentValue']!r}")
check(any(not e["tombstone"] for e in mirror.values()), "no live contact in the mirror")
check(any(e["tombstone"] for e in mirror.values()), "no tombstone in the mirror")

# --- No personal data in the report -----------------------------------------------------------
profile = envelope("contact.created")["payload"]
for field in ("email", "firstName", "lastName", "mobilePhone", "street", "dateOfBirth",
              "swedishFinnishPersonalIdentityNumber", "memberNumber", "careOf"):
    value = profile.get(field)
    if isinstance(value, str) and value:
        check(value not in report, f"the report shows the sample's {field}")
check("myNewEmail@email.com" not in report, "the report shows contact.updated's email")

if failures:
    for f in failures:
        print(f"demo-check: FAILED: {f}", file=sys.stderr)
    print(f"demo-check: {passed} passed, {len(failures)} failed", file=sys.stderr)
    sys.exit(1)
print(f"demo-check: {passed} passed, 0 failed")
PY
check_status=$?
if [ "$status" -ne 0 ]; then
  echo "demo-check: FAILED: scripts/demo.sh exited $status" >&2
  exit 1
fi
exit "$check_status"
