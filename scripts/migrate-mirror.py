#!/usr/bin/env python3
"""Moves contact mirror items of earlier releases (keyed by the bare Engage contactId) to the
tenant-scoped key `<tenant>#<contactId>` (see docs/contact-mirror.md, "Migrating items").

Run once, right after deploying the release with tenant-scoped keys:
    .venv/bin/python scripts/migrate-mirror.py --table <ContactsTable> [--tenant T] [--dry-run]
Uses the ordinary AWS credentials and region (and AWS_ENDPOINT_URL for a local server).
Prints counts only, never item contents (they hold personal data)."""

import argparse
import sys

import boto3
from botocore.exceptions import ClientError

KEY = "contactId"
TENANT = "tenant"
ENGAGE_ID = "engageContactId"
DELETED = "deletedAt"


def new_key(tenant, contact_id):
    # Mirrors shared/src/tenant_key.rs for tenants without '#' (all Engage tenant names).
    return f"{tenant}#{contact_id}"


def is_old(item):
    return ENGAGE_ID not in item and "#" not in item[KEY]


def migrate(table, item, tenant, dry_run):
    """Returns what happened to `item`: moved, merged, kept-newer, or no-tenant."""
    tenant = item.get(TENANT, tenant)
    if not tenant or "#" in tenant:
        return "no-tenant"
    contact_id = item[KEY]
    moved = dict(item, **{KEY: new_key(tenant, contact_id), TENANT: tenant, ENGAGE_ID: contact_id})
    if dry_run:
        return "moved"
    outcome = "moved"
    try:
        table.put_item(Item=moved, ConditionExpression="attribute_not_exists(#k)",
                       ExpressionAttributeNames={"#k": KEY})
    except ClientError as e:
        if e.response["Error"]["Code"] != "ConditionalCheckFailedException":
            raise
        # An event wrote the new item since the deploy: it is newer. Only what it lacks is
        # copied, and nothing into a tombstone; an old tombstone wins over the new item.
        outcome = merge(table, moved)
    table.delete_item(Key={KEY: contact_id})
    return outcome


def merge(table, moved):
    key = {KEY: moved[KEY]}
    if DELETED in moved:
        table.put_item(Item=moved)
        return "merged"
    rest = {k: v for k, v in moved.items() if k not in (KEY, TENANT, ENGAGE_ID)}
    if not rest:
        return "kept-newer"
    names = {f"#a{i}": k for i, k in enumerate(rest)}
    values = {f":a{i}": v for i, v in enumerate(rest.values())}
    sets = ", ".join(f"#a{i} = if_not_exists(#a{i}, :a{i})" for i in range(len(rest)))
    names["#d"] = DELETED
    try:
        table.update_item(Key=key, UpdateExpression=f"SET {sets}",
                          ConditionExpression="attribute_not_exists(#d)",
                          ExpressionAttributeNames=names, ExpressionAttributeValues=values)
    except ClientError as e:
        if e.response["Error"]["Code"] != "ConditionalCheckFailedException":
            raise
        return "kept-newer"
    return "merged"


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--table", required=True)
    p.add_argument("--tenant", help="tenant for old items without one (old tombstones)")
    p.add_argument("--dry-run", action="store_true")
    args = p.parse_args(argv)
    table = boto3.resource("dynamodb").Table(args.table)
    counts = {}
    scan = {}
    while True:
        page = table.scan(ConsistentRead=True, **scan)
        for item in page["Items"]:
            if is_old(item):
                outcome = migrate(table, item, args.tenant, args.dry_run)
                counts[outcome] = counts.get(outcome, 0) + 1
        if "LastEvaluatedKey" not in page:
            break
        scan = {"ExclusiveStartKey": page["LastEvaluatedKey"]}
    print(" ".join(f"{k}={v}" for k, v in sorted(counts.items())) or "nothing to migrate")
    return 1 if counts.get("no-tenant") else 0


if __name__ == "__main__":
    sys.exit(main())
