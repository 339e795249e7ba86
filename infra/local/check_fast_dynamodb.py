"""Compares fast_dynamodb with moto's own DynamoDB on random tables shaped like ours (PK/SK with a GSI1):
- Query: the same items, in the same order, with the same pages and LastEvaluatedKey, for every kind of key
  condition, both directions, limits, filters and projections;
- TransactWriteItems: the same answer (or the same cancellation reasons) and the same table afterwards, for random
  transactions of puts, updates, deletes and condition checks, some failing, some naming one item twice;
- GetItem and UpdateItem (fast_item_requests): the same status, error and answer, and the same table afterwards, for
  random requests through the emulator's WSGI application, most of them answered by the fast path and the rest,
  those it leaves to moto, mixed in.
Exits non-zero on the first difference. Run by `make lint`."""
import os
import random
import sys

import copy
import json

import boto3
import moto.dynamodb.models as dynamodb_models
from moto import mock_aws
from moto.dynamodb.models.table import Table

sys.path.insert(0, os.path.dirname(__file__))
import fast_dynamodb  # noqa: E402
import fast_item_requests  # noqa: E402
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


_AUTH = "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=x"


def item_request(rng):
    """A random GetItem or UpdateItem on a few keys of a PK/SK table with GSI1: mostly shapes the fast path answers,
    some it must leave to moto (nested values, reserved words, key attributes, ALL_OLD, unused placeholders...)."""
    key = {"PK": {"S": "P"}, "SK": {"S": rng.choice(["k0", "k1", "k2"])}}
    if rng.random() < 0.2:
        request = {"Key": key, "ConsistentRead": rng.random() < 0.5}
        if rng.random() < 0.2:
            request["ProjectionExpression"] = "n"
        return "GetItem", request
    names, values = {}, {}
    # Most requests are made only of what the fast path answers; the rest mix in what it leaves to moto.
    clean = rng.random() < 0.6

    def value():
        kind = rng.choice(["S", "N"] if clean else ["S"] * 5 + ["N"] * 6 + ["BOOL", "NULL", "M", "empty", "L"])
        v = {"S": {"S": rng.choice(["a", "ab", "b", "z"])}, "N": {"N": rng.choice(["0", "1", "7", "-2", "1.5"])},
             "BOOL": {"BOOL": rng.random() < 0.5}, "NULL": {"NULL": True}, "M": {"M": {"x": {"S": "y"}}},
             "empty": {"S": ""}, "L": {"L": [{"N": "1"}]}}[kind]
        placeholder = f":v{len(values)}"
        values[placeholder] = v
        return placeholder

    def path():
        choice = rng.choice(["n", "s", "GSI1SK", "#t", "#n"] if clean else
                            ["n", "n", "s", "s", "m", "GSI1PK", "GSI1SK", "#t", "#n", "#n", "token", "SK"])
        if choice.startswith("#"):
            names[choice] = {"#t": "token", "#n": "n"}[choice]
        return choice

    def operand():
        r = rng.random()
        if r < 0.6:
            return value()
        if r < 0.8:
            return path()
        return f"if_not_exists({path()}, {value()})"

    sets = []
    for _ in range(rng.randint(0, 3)):
        right = operand()
        if rng.random() < 0.3:
            right += f" {rng.choice(['+', '-'])} {operand()}"
        sets.append(f"{path()} = {right}")
    removes = [path() for _ in range(rng.randint(0, 2))]
    clauses = ([f"SET {', '.join(sets)}"] if sets else []) + ([f"REMOVE {', '.join(removes)}"] if removes else [])
    if not clauses:
        clauses = [f"SET {path()} = {value()}"]
    rng.shuffle(clauses)
    request = {"Key": key, "UpdateExpression": " ".join(clauses)}

    def condition(depth=0):
        r = rng.random()
        if depth < 2 and r < 0.3:
            return f"({condition(depth + 1)}) {rng.choice(['AND', 'OR', 'and'])} {condition(depth + 1)}"
        if depth < 2 and r < 0.4:
            return f"NOT {condition(depth + 1)}"
        if r < 0.6:
            return f"{rng.choice(['attribute_exists', 'attribute_not_exists'])}({path()})"
        if r < 0.7:
            return f"begins_with({path()}, {value()})"
        return f"{operand() if rng.random() < 0.3 else path()} {rng.choice(['=', '<>', '<', '<=', '>', '>='])} {value()}"

    if rng.random() < 0.7:
        request["ConditionExpression"] = condition()
    if not clean and rng.random() < 0.1:
        values[":unused"] = {"S": "x"}
    if names:
        request["ExpressionAttributeNames"] = names
    if values:
        request["ExpressionAttributeValues"] = values
    if rng.random() < 0.3:
        request["ReturnValues"] = rng.choice(["NONE", "ALL_NEW"] if clean else ["ALL_NEW", "ALL_OLD", "UPDATED_NEW"])
    return "UpdateItem", request


def check_item_requests(rng):
    from werkzeug.test import Client
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    moto_app = DomainDispatcherApplication(create_backend_app)
    served = {"fast": 0}

    def call(op, body, fast):
        data = json.dumps(body).encode()
        environ_headers = {"X-Amz-Target": f"DynamoDB_20120810.{op}", "Authorization": _AUTH,
                           "Content-Type": "application/x-amz-json-1.0"}
        if fast:
            from werkzeug.test import EnvironBuilder
            environ = EnvironBuilder(method="POST", data=data, headers=environ_headers).get_environ()
            direct = fast_item_requests.answer(environ, data)
            if direct is not None:
                served["fast"] += 1
                status, headers, out = direct
                return int(status.split()[0]), dict(headers).get("X-Amzn-ErrorType"), json.loads(out)
        try:
            r = Client(moto_app).post("/", data=data, headers=environ_headers)
        except Exception as e:  # moto fails on some requests DynamoDB refuses: the server answers 500
            return 500, type(e).__name__, None
        return r.status_code, r.headers.get("X-Amzn-ErrorType"), json.loads(r.data or b"null")

    def contents(table):
        return call("Scan", {"TableName": table}, fast=False)[2]["Items"]

    with mock_aws():
        for name in ("ia", "ib"):
            call("CreateTable", {
                "TableName": name, "BillingMode": "PAY_PER_REQUEST",
                "AttributeDefinitions": [{"AttributeName": n, "AttributeType": "S"}
                                         for n in ("PK", "SK", "GSI1PK", "GSI1SK")],
                "KeySchema": [{"AttributeName": "PK", "KeyType": "HASH"}, {"AttributeName": "SK", "KeyType": "RANGE"}],
                "GlobalSecondaryIndexes": [{"IndexName": "GSI1", "Projection": {"ProjectionType": "ALL"},
                                            "KeySchema": [{"AttributeName": "GSI1PK", "KeyType": "HASH"},
                                                          {"AttributeName": "GSI1SK", "KeyType": "RANGE"}]}]},
                fast=False)
        total = 1500
        for i in range(total):
            op, request = item_request(rng)
            expected = call(op, dict(request, TableName="ia"), fast=False)
            actual = call(op, dict(request, TableName="ib"), fast=True)
            actual = tuple(json.loads(json.dumps(actual).replace('"ib"', '"ia"')))
            if (expected[0] >= 500) != (actual[0] >= 500) or (expected[0] < 500 and expected != actual):
                print(f"{op} differs from moto's for", request)
                print(" moto:", expected)
                print(" fast:", actual)
                sys.exit(1)
            if i % 50 == 0 and contents("ia") != contents("ib"):
                print("the tables differ after", request, contents("ia"), contents("ib"), sep="\n ")
                sys.exit(1)
        if contents("ia") != contents("ib"):
            print("the tables differ at the end")
            sys.exit(1)
        # The check means something only if the fast path answered a good share, and left some to moto.
        if not total * 0.3 < served["fast"] < total:
            print(f"the fast path answered {served['fast']} of {total} requests: the random requests miss it")
            sys.exit(1)
        print(f"fast_item_requests: {total} GetItem/UpdateItem answered as moto answers them "
              f"({served['fast']} by the fast path)")


if __name__ == "__main__":
    main()
    check_item_requests(random.Random(11))
