"""Creates the local tables, queues and secret (idempotent) and prints their names as exports.

The shapes match template.yaml: dedup table keyed by `pk` with TTL on `expiresAt`, contacts
table keyed by `contactId`, a standard queue per fan-out family with a dead-letter queue.
"""
import json
import boto3

REGION = "eu-north-1"
ddb = boto3.client("dynamodb", region_name=REGION)
sqs = boto3.client("sqs", region_name=REGION)


def table(name, key):
    try:
        ddb.create_table(
            TableName=name,
            AttributeDefinitions=[{"AttributeName": key, "AttributeType": "S"}],
            KeySchema=[{"AttributeName": key, "KeyType": "HASH"}],
            BillingMode="PAY_PER_REQUEST",
        )
        ddb.update_time_to_live(
            TableName=name,
            TimeToLiveSpecification={"Enabled": True, "AttributeName": "expiresAt"},
        )
    except ddb.exceptions.ResourceInUseException:
        pass


def queue(name):
    dlq = sqs.create_queue(QueueName=f"{name}-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    return sqs.create_queue(
        QueueName=name,
        Attributes={
            "RedrivePolicy": json.dumps(
                {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "5"}
            )
        },
    )["QueueUrl"]


table("engage-dedup", "pk")
table("engage-contacts", "contactId")
print("export DEDUP_TABLE=engage-dedup")
print("export CONTACTS_TABLE=engage-contacts")
print(f"export LOYALTY_QUEUE_URL={queue('engage-loyalty')}")
print(f"export PROMOTION_QUEUE_URL={queue('engage-promotion')}")
