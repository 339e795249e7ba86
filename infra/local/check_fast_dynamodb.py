"""Compares fast_dynamodb with moto's own DynamoDB on random tables shaped like ours (PK/SK with a GSI1):
- Query: the same items, in the same order, with the same pages and LastEvaluatedKey, for every kind of key
  condition, both directions, limits, filters and projections;
- TransactWriteItems: the same answer (or the same cancellation reasons) and the same table afterwards, for random
  transactions of puts, updates, deletes and condition checks, some failing, some naming one item twice.
Exits non-zero on the first difference. Run by `make lint`."""
import os
import random
import sys

import copy

import boto3
import moto.dynamodb.models as dynamodb_models
from moto import mock_aws
from moto.dynamodb.models.table import Table

sys.path.insert(0, os.path.dirname(__file__))
import fast_dynamodb  # noqa: E402
from moto.dynamodb.models import DynamoDBBackend  # noqa: E402

os.environ.setdefault("AWS_ACCESS_KEY_ID", "test")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "test")


def pages(client, **request):
    out, start = [], None
    while True:
        page = client.query(**request, **({"ExclusiveStartKey": start} if start else {}))
        out.append((page["Items"], page.get("LastEvaluatedKey"), page["Count"], page["ScannedCount"]))
        start = page.get("LastEvaluatedKey")
        if not start:
            return out


def requests(rng):
    words = ["a", "ab", "b", "ba", "c", "comp1#", "comp1#wx", "z"]
    for _ in range(150):
        index = rng.random() < 0.5
        pk, sk = ("GSI1PK", "GSI1SK") if index else ("PK", "SK")
        values = {":h": {"S": rng.choice(["P0", "P1", "P2", "G0", "G1", "none"])}}
        condition = f"{pk} = :h"
        kind = rng.choice(["", "=", "<", "<=", ">", ">=", "between", "begins"])
        if kind == "between":
            lo, hi = sorted(rng.sample(words, 2))
            values.update({":a": {"S": lo}, ":b": {"S": hi}})
            condition += f" AND {sk} BETWEEN :a AND :b"
        elif kind == "begins":
            values[":a"] = {"S": rng.choice(words)}
            condition += f" AND begins_with({sk}, :a)"
        elif kind:
            values[":a"] = {"S": rng.choice(words)}
            condition += f" AND {sk} {kind} :a"
        request = {"TableName": "t", "KeyConditionExpression": condition, "ExpressionAttributeValues": values,
                   "ScanIndexForward": rng.random() < 0.7}
        if index:
            request["IndexName"] = "GSI1"
        if rng.random() < 0.6:
            request["Limit"] = rng.randint(1, 7)
        if rng.random() < 0.3:
            request["FilterExpression"] = "n > :n"
            request["ExpressionAttributeValues"][":n"] = {"N": str(rng.randint(0, 9))}
        if rng.random() < 0.2:
            request["ProjectionExpression"] = "PK, SK, n"
        yield request


def main():
    rng = random.Random(7)
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(
            TableName="t", BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": n, "AttributeType": "S"} for n in ("PK", "SK", "GSI1PK", "GSI1SK")],
            KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}, {"AttributeName": "SK", "KeyType": "RANGE"}],
            GlobalSecondaryIndexes=[{"IndexName": "GSI1", "Projection": {"ProjectionType": "ALL"}, "KeySchema": [
                {"AttributeName": "GSI1PK", "KeyType": "HASH"}, {"AttributeName": "GSI1SK", "KeyType": "RANGE"}]}])
        letters = "abcz#w1"
        for _ in range(150):
            item = {"PK": {"S": rng.choice(["P0", "P1", "P2"])},
                    "SK": {"S": "".join(rng.choice(letters) for _ in range(rng.randint(1, 4)))},
                    "n": {"N": str(rng.randint(0, 9))}}
            if rng.random() < 0.7:
                item["GSI1PK"] = {"S": rng.choice(["G0", "G1"])}
                # Few distinct index sort keys, so ties are ordered by the table's keys.
                item["GSI1SK"] = {"S": rng.choice(["a", "b", "comp1#wx", "z"])}
            client.put_item(TableName="t", Item=item)

        checked = 0
        for request in requests(rng):
            Table.query = fast_dynamodb._original_query
            expected = pages(client, **request)
            fast_dynamodb.install()
            actual = pages(client, **request)
            if actual != expected:
                print("Query differs from moto's for", request)
                print(" moto:", expected)
                print(" fast:", actual)
                sys.exit(1)
            checked += 1
        print(f"fast_dynamodb: {checked} queries answered as moto answers them")
        check_transactions(client, rng)


def transaction(rng, table):
    entries, keys = [], ["k0", "k1", "k2", "k3"]
    for _ in range(rng.randint(1, 4)):
        key = {"PK": {"S": "T"}, "SK": {"S": rng.choice(keys)}}
        kind = rng.choice(["Put", "Update", "Delete", "ConditionCheck"])
        op = {"TableName": table}
        if kind == "Put":
            op["Item"] = dict(key, n={"N": str(rng.randint(0, 9))})
        else:
            op["Key"] = key
        if kind == "Update":
            op["UpdateExpression"] = "SET n = :v"
            op["ExpressionAttributeValues"] = {":v": {"N": str(rng.randint(0, 9))}}
        if kind == "ConditionCheck" or rng.random() < 0.5:
            condition = rng.choice(["attribute_exists(PK)", "attribute_not_exists(PK)", "n < :c"])
            op["ConditionExpression"] = condition
            if ":c" in condition:
                op.setdefault("ExpressionAttributeValues", {})[":c"] = {"N": str(rng.randint(0, 9))}
        entries.append({kind: op})
    return entries


def check_transactions(client, rng):
    for name in ("ta", "tb"):
        client.create_table(
            TableName=name, BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": n, "AttributeType": "S"} for n in ("PK", "SK")],
            KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}, {"AttributeName": "SK", "KeyType": "RANGE"}])

    def apply(table, entries):
        try:
            client.transact_write_items(TransactItems=[
                {kind: dict(op, TableName=table)} for entry in entries for kind, op in entry.items()])
            return "ok"
        except client.exceptions.TransactionCanceledException as e:
            return [r.get("Code") for r in e.response.get("CancellationReasons", [])]
        except Exception as e:
            return type(e).__name__

    def contents(table):
        return sorted(str(sorted(i.items())) for i in client.scan(TableName=table)["Items"])

    original = DynamoDBBackend.transact_write_items
    for _ in range(200):
        entries = transaction(rng, "")
        DynamoDBBackend.transact_write_items = fast_dynamodb._original_transact
        dynamodb_models.copy = copy
        expected = apply("ta", entries)
        fast_dynamodb.install()
        actual = apply("tb", entries)
        if actual != expected or contents("ta") != contents("tb"):
            print("TransactWriteItems differs from moto's for", entries)
            print(" moto:", expected, contents("ta"))
            print(" fast:", actual, contents("tb"))
            sys.exit(1)
    DynamoDBBackend.transact_write_items, dynamodb_models.copy = original, copy
    print("fast_dynamodb: 200 transactions applied as moto applies them")


if __name__ == "__main__":
    main()
