"""The voucher relay, end to end on loopback (issue 16; docs/relay.md), run by demo.sh after its
report: the demo's queued loyalty and promotion events are copied to fresh queues (the demo's own
queues stay as the report shows them), and the relay binary relays them to a stand-in voucher
service on 127.0.0.1 that checks every Standard Webhooks signature and deduplicates on the
idempotency key. This script plays Lambda: the Runtime API the binary polls, and the SQS event
source mapping (receive a batch, invoke, delete what was not reported failed).

    relay_demo.py <repo root>      (AWS_ENDPOINT_URL etc. from scripts/local-aws.sh env)
"""
import base64
import hashlib
import hmac
import http.server
import json
import os
import secrets
import subprocess
import sys
import threading
import time
import uuid

from local_state import client as aws, peek_queue

SECRET_BYTES = secrets.token_bytes(32)
SECRET = "whsec_" + base64.b64encode(SECRET_BYTES).decode()
received = []  # (idempotency key, event type, signature ok)
applied = set()


class VoucherService(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", 0)))
        wid, ts = self.headers.get("webhook-id", ""), self.headers.get("webhook-timestamp", "")
        mac = hmac.new(SECRET_BYTES, f"{wid}.{ts}.".encode() + body, hashlib.sha256).digest()
        sigs = [s.split(",", 1)[-1] for s in self.headers.get("webhook-signature", "").split()]
        ok = base64.b64encode(mac).decode() in sigs and abs(time.time() - int(ts or 0)) < 300
        key = self.headers.get("idempotency-key", "")
        received.append((key, json.loads(body).get("eventType"), ok))
        if ok:
            applied.add(key)
        self.send_response(200 if ok else 401)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


class RuntimeApi(http.server.BaseHTTPRequestHandler):
    """Lambda's Runtime API, one invocation at a time: `pending` in, `answers` out."""
    pending, answers = [], {}

    def do_GET(self):
        while not RuntimeApi.pending:
            time.sleep(0.02)
        request_id, event = RuntimeApi.pending.pop(0)
        data = json.dumps(event).encode()
        self.send_response(200)
        self.send_header("lambda-runtime-aws-request-id", request_id)
        self.send_header("lambda-runtime-deadline-ms", str(int(time.time() * 1000) + 25000))
        self.send_header("lambda-runtime-invoked-function-arn",
                         "arn:aws:lambda:eu-north-1:123456789012:function:relay")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", 0)))
        RuntimeApi.answers[self.path.split("/")[-2]] = json.loads(body or b"null")
        self.send_response(202)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


def serve(handler):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server.server_address[1]


def invoke(records):
    request_id = str(uuid.uuid4())
    RuntimeApi.pending.append((request_id, {"Records": records}))
    until = time.time() + 30
    while request_id not in RuntimeApi.answers:
        if time.time() > until:
            sys.exit("relay demo: the relay did not answer")
        time.sleep(0.02)
    return {f["itemIdentifier"] for f in RuntimeApi.answers.pop(request_id)["batchItemFailures"]}


def main(root):
    sqs, sm = aws("sqs"), aws("secretsmanager")
    pairs, copied = [], 0
    run = uuid.uuid4().hex[:8]
    for family in ("loyalty", "promotion"):
        source = os.environ[f"{family.upper()}_QUEUE_URL"]
        url = sqs.create_queue(QueueName=f"relay-demo-{family}-{run}")["QueueUrl"]
        dlq = sqs.create_queue(QueueName=f"relay-demo-{family}-dlq-{run}")["QueueUrl"]
        for m in peek_queue(sqs, source):
            sqs.send_message(QueueUrl=url, MessageBody=m["Body"])
            copied += 1
        pairs.append((family, url, dlq))
    arn = sm.create_secret(Name=f"relay-demo-{run}", SecretString=SECRET)["ARN"]
    service_port, runtime_port = serve(VoucherService), serve(RuntimeApi)
    subprocess.run(["cargo", "build", "-q", "-p", "relay"], cwd=root, check=True)
    env = dict(os.environ, AWS_LAMBDA_RUNTIME_API=f"127.0.0.1:{runtime_port}",
               AWS_LAMBDA_FUNCTION_NAME="relay", AWS_LAMBDA_FUNCTION_VERSION="$LATEST",
               AWS_LAMBDA_FUNCTION_MEMORY_SIZE="128", AWS_LAMBDA_LOG_STREAM_NAME="demo",
               AWS_LAMBDA_LOG_GROUP_NAME="/aws/lambda/relay",
               VOUCHER_SERVICE_URL=f"http://127.0.0.1:{service_port}/vouchers",
               RELAY_SECRET_ARN=arn, LOYALTY_QUEUE_URL=pairs[0][1], LOYALTY_DLQ_URL=pairs[0][2],
               PROMOTION_QUEUE_URL=pairs[1][1], PROMOTION_DLQ_URL=pairs[1][2])
    log = open(os.path.join(root, ".local", "relay-demo.log"), "w")
    relay = subprocess.Popen([os.path.join(root, "target", "debug", "relay")], env=env,
                             stdout=log, stderr=log)
    try:
        for family, url, _ in pairs:
            name = url.rsplit("/", 1)[-1]
            while True:
                batch = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=5,
                                            AttributeNames=["All"]).get("Messages", [])
                if not batch:
                    break
                records = [{"messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"],
                            "body": m["Body"], "attributes": m.get("Attributes", {}),
                            "messageAttributes": {}, "eventSource": "aws:sqs",
                            "eventSourceARN": f"arn:aws:sqs:eu-north-1:123456789012:{name}",
                            "awsRegion": "eu-north-1"} for m in batch]
                failed = invoke(records)
                for m in batch:
                    if m["MessageId"] not in failed:
                        sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    finally:
        relay.terminate()
        relay.wait()
    print(f"\nVoucher relay: {copied} queued event(s) -> stand-in voucher service "
          f"(127.0.0.1:{service_port})")
    for key, event_type, ok in received:
        print(f"  POST {event_type:34} idempotency-key {key}  signature {'ok' if ok else 'BAD'}")
    good = copied > 0 and len(applied) == copied and all(ok for _, _, ok in received)
    print(f"  {len(applied)} voucher request(s) applied, signatures "
          f"{'all verified' if good else 'NOT all verified'}")
    return 0 if good else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
