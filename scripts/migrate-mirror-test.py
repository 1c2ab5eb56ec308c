#!/usr/bin/env python3
"""Checks scripts/migrate-mirror.py against the local server (moto): run after
`eval "$(scripts/local-aws.sh env)"` with .venv/bin/python."""
import boto3, subprocess, sys, os
db = boto3.resource("dynamodb")
name = "mig-test-" + str(os.getpid())
try: db.Table(name).delete()
except Exception: pass
t = db.create_table(TableName=name, KeySchema=[{"AttributeName":"contactId","KeyType":"HASH"}],
    AttributeDefinitions=[{"AttributeName":"contactId","AttributeType":"S"}], BillingMode="PAY_PER_REQUEST")
t.put_item(Item={"contactId":"c1","tenant":"tA","profile":{"email":"x@example.com"}})
t.put_item(Item={"contactId":"c2","deletedAt":"2026-01-01T00:00:00Z"})
t.put_item(Item={"contactId":"c3","tenant":"tA","acceptsSms":{"value":True},"profile":{"a":"old"}})
t.put_item(Item={"contactId":"tA#c3","tenant":"tA","engageContactId":"c3","profile":{"a":"new"}})
t.put_item(Item={"contactId":"tA#c9","tenant":"tA","engageContactId":"c9"})
r = subprocess.run([sys.executable, "scripts/migrate-mirror.py", "--table", name], capture_output=True, text=True)
print(r.returncode, r.stdout, r.stderr); assert r.returncode == 1 and "no-tenant=1" in r.stdout and "x@example" not in r.stdout
r = subprocess.run([sys.executable, "scripts/migrate-mirror.py", "--table", name, "--tenant", "tA"], capture_output=True, text=True)
print(r.returncode, r.stdout); assert r.returncode == 0 and r.stdout.strip() == "moved=1"
keys = sorted(i["contactId"] for i in t.scan()["Items"]); print(keys)
assert keys == ["tA#c1","tA#c2","tA#c3","tA#c9"]
c1 = t.get_item(Key={"contactId":"tA#c1"})["Item"]; assert c1["engageContactId"]=="c1" and c1["profile"]["email"]=="x@example.com"
c3 = t.get_item(Key={"contactId":"tA#c3"})["Item"]; assert c3["profile"]["a"]=="new" and c3["acceptsSms"]["value"] is True
c2 = t.get_item(Key={"contactId":"tA#c2"})["Item"]; assert c2["tenant"]=="tA" and "deletedAt" in c2
r = subprocess.run([sys.executable, "scripts/migrate-mirror.py", "--table", name], capture_output=True, text=True)
assert r.stdout.strip()=="nothing to migrate", r.stdout
print("ok")
