"""What the local AWS holds: every queue message and table item, readable (scripts/local-state.sh).

  local_state.py [--json]

Reads the endpoint and resource names from the environment (scripts/local-aws.sh env). Queue
messages are looked at, not consumed: each is made visible again right after it is read, so a
consumer (or the next look) still gets it. Numbers are printed with the digits stored (never
through a float). Run with .venv's Python (boto3 comes with moto).
"""
import json
import os
import sys

# The demo's resources and their key attribute; DLQs are the queue URL plus "-dlq".
TABLES = (("CONTACTS_TABLE", "contactId"), ("DEDUP_TABLE", "pk"))
QUEUES = ("LOYALTY_QUEUE_URL", "PROMOTION_QUEUE_URL")


def client(service):
    import boto3

    return boto3.client(service, endpoint_url=os.environ["AWS_ENDPOINT_URL"],
                        region_name=os.environ.get("AWS_REGION", "eu-north-1"))


def queue_name(url):
    return url.rstrip("/").rsplit("/", 1)[-1]


def peek_queue(sqs, url):
    """Every message on the queue, oldest receive first, left on the queue and visible."""
    seen, handles = {}, []
    while True:
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=30,
                                  MessageAttributeNames=["All"], AttributeNames=["All"]).get("Messages", [])
        if not got:
            break
        for m in got:
            seen.setdefault(m["MessageId"], m)
            handles.append(m["ReceiptHandle"])
    for i in range(0, len(handles), 10):
        sqs.change_message_visibility_batch(QueueUrl=url, Entries=[
            {"Id": str(n), "ReceiptHandle": h, "VisibilityTimeout": 0}
            for n, h in enumerate(handles[i:i + 10])])
    return list(seen.values())


def scan_table(ddb, table):
    """Every item of the table as plain values (DynamoDB numbers as Decimal)."""
    from boto3.dynamodb.types import TypeDeserializer

    des = TypeDeserializer()
    items = []
    for page in ddb.get_paginator("scan").paginate(TableName=table):
        items += [{k: des.deserialize(v) for k, v in raw.items()} for raw in page["Items"]]
    return items


class ExactNumbers:
    """json.dumps with numbers printed as their exact text: each Decimal (or other number
    parsed as text) becomes a placeholder string, swapped back for the digits afterwards."""

    def __init__(self):
        self.numbers = []

    def swap(self, value):
        from decimal import Decimal

        if isinstance(value, dict):
            return {k: self.swap(v) for k, v in value.items()}
        if isinstance(value, (list, tuple, set)):
            return [self.swap(v) for v in (sorted(value, key=str) if isinstance(value, set) else value)]
        if isinstance(value, (bytes, bytearray)):
            return value.hex()
        if isinstance(value, Decimal):
            self.numbers.append(str(value))
            return f"__exact_number_{len(self.numbers) - 1}__"
        return value

    def dumps(self, value, **kwargs):
        text = json.dumps(self.swap(value), **kwargs)
        for i, digits in enumerate(self.numbers):
            text = text.replace(f'"__exact_number_{i}__"', digits)
        return text


def message_view(m):
    """A message as data: id, attributes, and the body parsed (numbers kept exact)."""
    from decimal import Decimal

    try:
        body = json.loads(m["Body"], parse_float=Decimal)
    except ValueError:
        body = m["Body"]
    attributes = {k: v.get("StringValue", v.get("BinaryValue"))
                  for k, v in sorted(m.get("MessageAttributes", {}).items())}
    view = {"messageId": m["MessageId"], "attributes": attributes, "body": body}
    for k in ("MessageGroupId", "MessageDeduplicationId"):
        if k in m.get("Attributes", {}):
            view[k[0].lower() + k[1:]] = m["Attributes"][k]
    return view


def collect():
    """Everything, grouped by queue and by table."""
    sqs, ddb = client("sqs"), client("dynamodb")
    queues = {}
    for var in QUEUES:
        url = os.environ[var]
        for u in (url, f"{url}-dlq"):
            messages = [message_view(m) for m in peek_queue(sqs, u)]
            messages.sort(key=lambda v: json.dumps([v["attributes"], v["messageId"]], default=str))
            queues[queue_name(u)] = messages
    tables = {}
    for var, key in TABLES:
        table = os.environ[var]
        tables[table] = sorted(scan_table(ddb, table), key=lambda item: str(item.get(key)))
    return {"endpoint": os.environ["AWS_ENDPOINT_URL"], "queues": queues, "tables": tables}


def print_state(state):
    out = ExactNumbers()
    print(f"Local AWS at {state['endpoint']} (moto)")
    for name, messages in state["queues"].items():
        print(f"\n=== queue {name}: {len(messages)} message(s) ===")
        for m in messages:
            print(out.dumps(m, indent=2, ensure_ascii=False))
    for name, items in state["tables"].items():
        print(f"\n=== table {name}: {len(items)} item(s) ===")
        for item in items:
            print(out.dumps(item, indent=2, ensure_ascii=False))


def main(args):
    if args not in ([], ["--json"]):
        print(__doc__, file=sys.stderr)
        return 2
    state = collect()
    if args == ["--json"]:
        print(ExactNumbers().dumps(state, ensure_ascii=False))
    else:
        print_state(state)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
