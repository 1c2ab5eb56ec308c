"""The local demo's helpers (scripts/demo.sh, scripts/demo-check.sh), run with .venv's Python.

  demo.py probe URL SECONDS            wait until the function at URL answers a GET itself
  demo.py reset                        empty the demo's queues and tables
  demo.py invoke-from PORT ROOT IP     read `engage-sign send --json` (no URL) on stdin, invoke its
                                       function through cargo lambda watch with an HTTP API event
                                       from source address IP, print the answer as engage-sign would
  demo.py report REQUESTS RESULT       print the report of a run, write it as data to RESULT
  demo.py check ROOT RESULT REPORT     assert a run's outcome, naming every mismatch

Resource names and the endpoint come from the environment (scripts/local-aws.sh env).
boto3 comes with moto.
"""
import collections
import json
import os
import sys
import time
import urllib.error
import urllib.request
from decimal import Decimal

from local_state import client as aws, peek_queue, queue_name


# --- probe ------------------------------------------------------------------------------------
def probe(url, seconds):
    """A GET must come back from the function itself: 405 method_not_allowed."""
    deadline = time.time() + float(seconds)
    last = "no answer"
    while time.time() < deadline:
        try:
            urllib.request.urlopen(url, timeout=max(1, deadline - time.time()))
            last = "200 to a GET"
        except urllib.error.HTTPError as e:
            body = e.read().decode(errors="replace")
            if e.code == 405 and "method_not_allowed" in body:
                return 0
            last = f"{e.code} {body[:200]}"
        except Exception as e:
            last = str(e)
        time.sleep(0.5)
    print(last, file=sys.stderr)
    return 1


# --- reset ------------------------------------------------------------------------------------
def reset():
    """The demo's resources start empty, so the report shows this run only."""
    sqs, ddb = aws("sqs"), aws("dynamodb")
    for var in ("LOYALTY_QUEUE_URL", "PROMOTION_QUEUE_URL"):
        url = os.environ[var]
        try:
            sqs.purge_queue(QueueUrl=url)
        except sqs.exceptions.PurgeQueueInProgress:
            while True:
                got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
                if not got:
                    break
                for m in got:
                    sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    for var, key in (("DEDUP_TABLE", "pk"), ("CONTACTS_TABLE", "contactId")):
        table = os.environ[var]
        for page in ddb.get_paginator("scan").paginate(TableName=table, ProjectionExpression="#k",
                                                       ExpressionAttributeNames={"#k": key}):
            for item in page["Items"]:
                ddb.delete_item(TableName=table, Key={key: item[key]})
    return 0


# --- invoke-from --------------------------------------------------------------------------------
def invoke_from(port, root, source_ip):
    """cargo lambda watch gives every Function URL request the source address 127.0.0.1, so a
    request from elsewhere is sent as the event AWS would build: the HTTP API request shape of
    events/requests/ with requestContext.http.sourceIp set to IP (and an X-Forwarded-For that
    names the allowed address, which the functions never believe), through the emulator's
    Invoke API. Prints the answer as `engage-sign send --json` prints one."""
    signed = json.load(sys.stdin)
    family = signed["family"]
    event = json.load(open(os.path.join(root, "events/requests/apigw-http-v2.json")))
    path = f"/webhooks/{family}"
    event.update(rawPath=path, body=signed["body"], isBase64Encoded=False)
    event["pathParameters"] = {"family": family}
    event["requestContext"]["http"].update(path=path, sourceIp=source_ip)
    event["headers"].update(signed["headers"])
    event["headers"]["x-forwarded-for"] = "127.0.0.1"
    url = f"http://127.0.0.1:{port}/2015-03-31/functions/{family}/invocations"
    req = urllib.request.Request(url, data=json.dumps(event).encode(), method="POST",
                                 headers={"content-type": "application/json"})
    answer = {"family": family, "eventId": signed.get("eventId"),
              "svixId": signed["headers"].get("svix-id"), "url": url, "sourceIp": source_ip}
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            out = json.load(resp)
        answer["status"] = out.get("statusCode")
        answer["reason"] = json.loads(out.get("body") or "{}").get("error")
    except Exception as e:
        answer["reason"] = f"no answer ({e})"
    print(json.dumps(answer))
    return 0


# --- report -----------------------------------------------------------------------------------
def show(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if v is None:
        return "null"
    if isinstance(v, Decimal):
        return str(v)
    return json.dumps(v, default=str)


def read_requests(requests_file):
    """The lines demo.sh wrote, one per request: what was expected, and engage-sign's answer."""
    requests = []
    for line in open(requests_file):
        if line.strip():
            r = json.loads(line)
            answer = r.pop("answer") or {"reason": "no answer (see the function log)"}
            r.update({k: answer.get(k) for k in ("family", "eventId", "status", "reason", "svixId", "url",
                                                 "sourceIp")})
            requests.append(r)
    return requests


def read_queues(sqs):
    """Per fan-out family: the queue's name and its messages' event type and id. The messages
    stay on the queue, visible (scripts/local-state.sh shows them after `demo.sh --keep`)."""
    queues = {}
    for family, var in (("loyalty", "LOYALTY_QUEUE_URL"), ("promotion", "PROMOTION_QUEUE_URL")):
        url = os.environ[var]
        bodies = [json.loads(m["Body"]) for m in peek_queue(sqs, url)]
        queues[family] = {"queue": queue_name(url),
                          "messages": [{"eventType": b.get("eventType"), "eventId": b.get("eventId")}
                                       for b in bodies]}
    return queues


def read_mirror(ddb, table):
    """Per contact: attribute names, preference and consent values; never profile contents."""
    from boto3.dynamodb.types import TypeDeserializer

    des = TypeDeserializer()
    mirror = {}
    for page in ddb.get_paginator("scan").paginate(TableName=table):
        for raw in page["Items"]:
            item = {k: des.deserialize(v) for k, v in raw.items()}
            entry = {"attributes": sorted(item), "tombstone": "deletedAt" in item,
                     "profile": "profile" in item, "preferences": {}, "consents": {}}
            if "profile" in item:
                entry["profileFields"] = len(item["profile"])
            for flag in ("acceptsEmail", "acceptsSms", "acceptsPostal"):
                if isinstance(item.get(flag), dict):
                    entry["preferences"][flag] = item[flag].get("value")
            for k, v in item.items():
                if k.startswith("consent_") and isinstance(v, dict):
                    entry["consents"][k[len("consent_"):]] = v.get("value")
            # Keyed `<tenant>#<contactId>` (docs/contact-mirror.md); listed by Engage's id,
            # with the tenant the item belongs to.
            entry["tenant"] = item.get("tenant")
            entry["key"] = item["contactId"]
            mirror[item.get("engageContactId", item["contactId"])] = entry
    return mirror


def print_requests(requests, width):
    """The requests table; returns how many were not answered as expected."""
    print()
    print("Requests (each signed by engage-sign, POSTed to its function's Function URL; the one"
          " from another address as the HTTP API event AWS would build)")
    print(f"  {'#':>2}  {'function':<9}  {'event type':<{width}}  {'contact':<8}  {'payload':<11}  status  reason")
    unexpected = 0
    for i, r in enumerate(requests, 1):
        ok = r.get("status") == r["expectStatus"] and r.get("reason") == r["expectReason"]
        unexpected += not ok
        mark = "" if ok else f"   <-- expected {r['expectStatus']} {r['expectReason']}"
        label = {"duplicate": " (again)", "bad-signature": " (bad signature)",
                 "disallowed-address": f" (from {r.get('sourceIp')})"}.get(r["kind"], "")
        payload = r.get("cipher") or "plaintext"
        print(f"  {i:>2}  {r.get('family') or '-':<9}  {r['eventType']:<{width}}  {r['contact'][:8]:<8}  "
              f"{payload:<11}  {show(r.get('status')):>6}  {r.get('reason') or '-'}{label}{mark}")
    return unexpected


def print_queues(queues, width):
    for family, q in queues.items():
        print()
        print(f"{family.capitalize()} queue ({q['queue']}): {len(q['messages'])} message(s)")
        for m in sorted(q["messages"], key=lambda m: (m["eventType"] or "", m["eventId"] or "")):
            print(f"  {m['eventType']:<{width}}  eventId {m['eventId']}")


def print_mirror(mirror, table):
    print()
    print(f"Contact mirror ({table}): {len(mirror)} contact(s); attribute names, preference and consent values only")
    for cid, e in sorted(mirror.items()):
        if e["tombstone"]:
            state = "tombstone (contact.deleted): nothing but the deletion is kept"
        else:
            parts = [f"profile with {e.get('profileFields', 0)} fields" if e["profile"] else "no profile"]
            parts += [f"{k}={show(v)}" for k, v in sorted(e["preferences"].items())]
            parts += [f"consent {k}={show(v)}" for k, v in sorted(e["consents"].items())]
            state = ", ".join(parts)
        print(f"  {cid} (tenant {e.get('tenant')}, key {e.get('key')}): {state}")
        print(f"    attributes: {', '.join(e['attributes'])}")


def read_metrics(log_file):
    """The functions' EMF lines (JSON objects with `_aws`, one per delivery) in the watch log,
    summed per family, event type and outcome as CloudWatch would count `Deliveries`."""
    counts = collections.Counter()
    if os.path.exists(log_file):
        for line in open(log_file, errors="replace"):
            line = line.strip()
            if not (line.startswith("{") and '"_aws"' in line):
                continue
            try:
                doc = json.loads(line)
            except ValueError:
                continue
            if "Deliveries" in doc:
                counts[(doc.get("Family"), doc.get("EventType"), doc.get("Outcome"))] += doc["Deliveries"]
    return [{"family": f, "eventType": t, "outcome": o, "deliveries": n}
            for (f, t, o), n in sorted(counts.items(), key=lambda kv: tuple(map(str, kv[0])))]


def print_metrics(metrics, width):
    print()
    total = sum(m["deliveries"] for m in metrics)
    print(f"Metrics (the functions' EMF lines, read back from the log): {total} deliveries"
          " by family, event type and outcome (the startup probes' GETs are the 405s)")
    for m in metrics:
        print(f"  {m['family'] or '-':<9}  {m['eventType'] or '-':<{width}}  {m['outcome'] or '-':<26}  {m['deliveries']:>3}")


def report(requests_file, result_file):
    """Prints the answers, the queues and the contact mirror; exits 1 when a request was not
    answered as expected."""
    sqs, ddb = aws("sqs"), aws("dynamodb")
    table = os.environ["CONTACTS_TABLE"]
    requests = read_requests(requests_file)
    queues = read_queues(sqs)
    mirror = read_mirror(ddb, table)
    width = max(len(r["eventType"]) for r in requests) if requests else 10
    unexpected = print_requests(requests, width)
    print_queues(queues, width)
    print_mirror(mirror, table)
    metrics = read_metrics(os.path.join(os.path.dirname(requests_file), "watch.log"))
    print_metrics(metrics, width)
    result = {"requests": requests, "queues": queues, "mirror": mirror, "metrics": metrics,
              "unexpected": unexpected}
    with open(result_file, "w") as f:
        json.dump(result, f, indent=2, default=show)
    print()
    if unexpected:
        print(f"{unexpected} of {len(requests)} requests were NOT answered as expected")
        return 1
    print(f"all {len(requests)} requests answered as expected")
    return 0


# --- check ------------------------------------------------------------------------------------
class Checks:
    def __init__(self):
        self.failures, self.passed = [], 0

    def __call__(self, ok, what):
        if ok:
            self.passed += 1
        else:
            self.failures.append(what)


def check_run(root, result_file, report_file):
    """The assertions of scripts/demo-check.sh over a run's result and printed report."""
    result = json.load(open(result_file))
    report_text = open(report_file).read()
    requests = result["requests"]
    checks = Checks()

    def envelope(event_type):
        return json.load(open(os.path.join(root, "events/envelopes", event_type + ".json")))

    samples = check_answers(checks, root, requests)
    check_queues(checks, result["queues"], samples)
    check_mirror(checks, result["mirror"], samples, envelope)
    check_no_personal_data(checks, report_text, envelope)
    check_metrics(checks, result.get("metrics", []), requests)

    if checks.failures:
        for f in checks.failures:
            print(f"demo-check: FAILED: {f}", file=sys.stderr)
        print(f"demo-check: {checks.passed} passed, {len(checks.failures)} failed", file=sys.stderr)
        return 1
    print(f"demo-check: {checks.passed} passed, 0 failed")
    return 0


def check_answers(check, root, requests):
    """Every request answered as its kind expects; every event type sent, one encrypted
    request per function, unique ids. Returns the sample requests."""
    expected = {"sample": (200, "processed"), "duplicate": (200, "duplicate"),
                "bad-signature": (401, "invalid_signature"),
                "disallowed-address": (403, "source_ip_not_allowed")}
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
    return samples


def check_queues(check, queues, samples):
    """Exactly one message per request of the family."""
    for family in ("loyalty", "promotion"):
        want = collections.Counter((r["eventType"], r["eventId"]) for r in samples if r["family"] == family)
        msgs = queues[family]["messages"]
        got = collections.Counter((m["eventType"], m["eventId"]) for m in msgs)
        check(len(msgs) == sum(want.values()),
              f"{family} queue holds {len(msgs)} messages, expected {sum(want.values())}")
        check(got == want, f"{family} queue messages {sorted(got.items())} != requests {sorted(want.items())}")


def check_mirror(check, mirror, samples, envelope):
    """Per contact the samples' preference and consent values, or a tombstone."""
    by_contact = collections.defaultdict(list)
    for r in samples:
        if r["family"] in ("contact", "consent"):
            by_contact[r["contact"]].append(r)
    check(set(mirror) == set(by_contact),
          f"mirror contacts {sorted(mirror)} != contacts sent {sorted(by_contact)}")
    tombstone_attributes = {"contactId", "tenant", "engageContactId", "deletedAt", "deletionReason",
                            "deleteEventId", "expiresAt"}
    for contact, sent in by_contact.items():
        item = mirror.get(contact)
        if item is None:
            continue
        check(item["key"] == f"{item['tenant']}#{contact}",
              f"{contact}: keyed {item['key']!r}, not by its tenant ({item['tenant']!r}) and id")
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


def check_metrics(check, metrics, requests):
    """Every answer is counted in the metric lines under its family and outcome."""
    counted = collections.Counter()
    for m in metrics:
        counted[(m["family"], m["outcome"])] += m["deliveries"]
    answered = collections.Counter((r.get("family"), r.get("reason")) for r in requests)
    for (family, reason), n in sorted(answered.items(), key=str):
        check(counted[(family, reason)] >= n,
              f"metrics count {counted[(family, reason)]} {family} {reason}, {n} answered")


def check_no_personal_data(check, report_text, envelope):
    """The report shows no personal data of the samples."""
    profile = envelope("contact.created")["payload"]
    for field in ("email", "firstName", "lastName", "mobilePhone", "street", "dateOfBirth",
                  "swedishFinnishPersonalIdentityNumber", "memberNumber", "careOf"):
        value = profile.get(field)
        if isinstance(value, str) and value:
            check(value not in report_text, f"the report shows the sample's {field}")
    check("myNewEmail@email.com" not in report_text, "the report shows contact.updated's email")


COMMANDS = {"probe": probe, "reset": reset, "invoke-from": invoke_from, "report": report,
            "check": check_run}

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    sys.exit(COMMANDS[sys.argv[1]](*sys.argv[2:]))
