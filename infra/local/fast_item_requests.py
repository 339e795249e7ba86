"""GetItem and UpdateItem for the AWS emulator without moto's request machinery.

moto answers one UpdateItem in ~3 ms of CPU: Flask routing, parsing the update and condition expressions into ASTs
(twice), a validator walking the AST, two deep copies of the item and a generic serializer. The token refresh is one
conditional UpdateItem, one GetItem and one UpdateItem per token, so at fleet size the emulator, not the product,
set the pace. This module answers the common shapes of those two requests directly against moto's own tables:
expressions are parsed once per distinct text and kept, and the item is changed in place as moto changes it.

It answers only what it fully understands: string keys; `SET` of whole top-level attributes to a value, another
attribute, `if_not_exists(...)` or a sum/difference of numbers; `REMOVE` of top-level attributes; conditions built
from comparisons of strings or numbers, `attribute_exists`, `attribute_not_exists`, `begins_with`, AND, OR, NOT and
parentheses; `ReturnValues` NONE or ALL_NEW. Anything else (nested paths, lists, sets, maps, ADD/DELETE, reserved
words, unused or missing placeholders, an index key set to a value DynamoDB would refuse, a large item, a stream
on the table) returns None before anything is changed, and moto answers it as before, so behaviour never differs,
only cost. `check_fast_dynamodb.py` compares both on random requests."""
import json
import os
import re
import secrets
import zlib
from decimal import Decimal

from moto.dynamodb.models import Item, dynamodb_backends
from moto.dynamodb.models.dynamo_type import DynamoType
from moto.dynamodb.parsing.reserved_keywords import ReservedKeywords

_TARGET = "DynamoDB_20120810."
_GET_FIELDS = {"TableName", "Key", "ConsistentRead"}
_UPDATE_FIELDS = {"TableName", "Key", "UpdateExpression", "ConditionExpression", "ExpressionAttributeNames",
                  "ExpressionAttributeValues", "ReturnValues"}
# Well under DynamoDB's 400 KB: the last kilobytes are left to moto's own size rules.
_SIZE_LIMIT = 300 * 1024
_NUMBER = re.compile(r"-?(0|[1-9]\d{0,17})(\.\d{1,17})?")
_TOKEN = re.compile(r"\s*(?:(<=|>=|<>|[=<>()+,-])|([#:]?[A-Za-z0-9_]+)|(\S))")
_COMPARISONS = {"=", "<>", "<", "<=", ">", ">="}


class Unsupported(Exception):
    """A request this module leaves to moto."""


def _reserved():
    words = getattr(_reserved, "words", None)
    if words is None:
        words = _reserved.words = {w.upper() for w in ReservedKeywords.get_reserved_keywords()}
    return words


def _tokens(text):
    out, pos = [], 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            break  # trailing whitespace
        if m.group(3) is not None:
            raise Unsupported(f"character {m.group(3)!r}")
        out.append(m.group(1) or m.group(2))
        pos = m.end()
    return out


class _Parser:
    def __init__(self, text):
        self.tokens, self.pos = _tokens(text), 0

    def peek(self, upper=False):
        t = self.tokens[self.pos] if self.pos < len(self.tokens) else None
        return t.upper() if upper and t else t

    def take(self, expected=None):
        t = self.peek()
        if t is None or (expected is not None and t.upper() != expected):
            raise Unsupported(f"expected {expected}, found {t}")
        self.pos += 1
        return t

    def done(self):
        if self.pos != len(self.tokens):
            raise Unsupported(f"unexpected {self.peek()}")

    def path(self):
        t = self.take()
        if t.startswith("#"):
            return ("name", t)
        if t.startswith(":") or not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", t) or t.upper() in _reserved():
            raise Unsupported(f"attribute {t}")
        return ("attr", t)

    def operand(self):
        t = self.peek()
        if t is None:
            raise Unsupported("operand expected")
        if t.startswith(":"):
            return ("value", self.take())
        if t == "if_not_exists" and self.tokens[self.pos + 1:self.pos + 2] == ["("]:
            self.take(), self.take("(")
            path = self.path()
            self.take(",")
            default = self.operand()
            self.take(")")
            return ("if_not_exists", path, default)
        if self.tokens[self.pos + 1:self.pos + 2] == ["("]:
            raise Unsupported(f"function {t}")
        return ("path", self.path())

    # update := (SET assignment {, assignment} | REMOVE path {, path})+
    def update(self):
        actions, seen = [], set()
        while self.peek() is not None:
            clause = self.take().upper()
            if clause not in ("SET", "REMOVE") or clause in seen:
                raise Unsupported(f"clause {clause}")
            seen.add(clause)
            while True:
                if clause == "SET":
                    target = self.path()
                    self.take("=")
                    value = self.operand()
                    if self.peek() in ("+", "-"):
                        value = (self.take(), value, self.operand())
                    actions.append(("set", target, value))
                else:
                    actions.append(("remove", self.path()))
                if self.peek() != ",":
                    break
                self.take()
        if not actions:
            raise Unsupported("empty update")
        return actions

    # condition := conjunction {OR conjunction}; conjunction := negation {AND negation}; negation := NOT negation | primary
    def condition(self):
        node = self.conjunction()
        while self.peek(upper=True) == "OR":
            self.take()
            node = ("or", node, self.conjunction())
        return node

    def conjunction(self):
        node = self.negation()
        while self.peek(upper=True) == "AND":
            self.take()
            node = ("and", node, self.negation())
        return node

    def negation(self):
        if self.peek(upper=True) == "NOT":
            self.take()
            if self.peek(upper=True) == "NOT":
                raise Unsupported("NOT NOT")  # moto fails on it
            return ("not", self.negation())
        if self.peek() == "(":
            self.take()
            node = self.condition()
            self.take(")")
            return node
        t = self.peek()
        if t in ("attribute_exists", "attribute_not_exists", "begins_with") \
                and self.tokens[self.pos + 1:self.pos + 2] == ["("]:
            self.take(), self.take("(")
            if t == "begins_with":
                node = (t, self.operand())
                self.take(",")
                node += (self.operand(),)
            else:
                node = (t, self.path())
            self.take(")")
            return node
        left = self.operand()
        if left[0] == "if_not_exists":
            raise Unsupported("if_not_exists in a condition")
        op = self.take()
        if op not in _COMPARISONS:
            raise Unsupported(f"operator {op}")
        right = self.operand()
        if right[0] == "if_not_exists":
            raise Unsupported("if_not_exists in a condition")
        return ("compare", op, left, right)


_parsed = {}


def _parse(kind, text):
    """The parsed expression, kept per distinct text; an Unsupported one is remembered too."""
    key = (kind, text)
    found = _parsed.get(key)
    if found is None:
        if len(_parsed) > 4096:
            _parsed.clear()
        try:
            parser = _Parser(text)
            tree = parser.update() if kind == "update" else parser.condition()
            parser.done()
            found = ("ok", tree)
        except (Unsupported, IndexError) as e:
            found = ("unsupported", str(e))
        _parsed[key] = found
    if found[0] != "ok":
        raise Unsupported(found[1])
    return found[1]


def _placeholders(tree, names, values):
    """Collects the #names and :values a parsed expression uses."""
    if isinstance(tree, tuple):
        if len(tree) == 2 and tree[0] == "name":
            names.add(tree[1])
        elif len(tree) == 2 and tree[0] == "value":
            values.add(tree[1])
        else:
            for part in tree:
                _placeholders(part, names, values)
    elif isinstance(tree, list):
        for part in tree:
            _placeholders(part, names, values)


def _paths(tree, paths):
    """Collects every path (("attr", name) or ("name", "#placeholder")) a parsed expression mentions."""
    if isinstance(tree, tuple) and len(tree) == 2 and tree[0] in ("attr", "name"):
        paths.add(tree)
    elif isinstance(tree, (tuple, list)):
        for part in tree:
            _paths(part, paths)


class _Request:
    def __init__(self, table, body):
        self.table = table
        self.names = body.get("ExpressionAttributeNames", {})
        self.values = body.get("ExpressionAttributeValues", {})
        if not isinstance(self.names, dict) or not isinstance(self.values, dict):
            raise Unsupported("placeholders")
        for given in ("ExpressionAttributeNames", "ExpressionAttributeValues"):
            if given in body and not body[given]:
                raise Unsupported(f"an empty {given}")  # moto's own refusal

    def attribute(self, path):
        kind, text = path
        if kind == "attr":
            return text
        name = self.names.get(text)
        if not isinstance(name, str) or not name:
            raise Unsupported(f"name {text}")
        return name

    def value(self, placeholder):
        """The DynamoType of a :value: a non-empty string, a plain number, a boolean or null."""
        raw = self.values.get(placeholder)
        if not isinstance(raw, dict) or len(raw) != 1:
            raise Unsupported(f"value {placeholder}")
        (kind, v), = raw.items()
        ok = ((kind == "S" and isinstance(v, str) and v)
              or (kind == "N" and isinstance(v, str) and _NUMBER.fullmatch(v))
              or (kind == "BOOL" and isinstance(v, bool))
              or (kind == "NULL" and v is True))
        if not ok:
            raise Unsupported(f"value {placeholder} of type {kind}")
        return DynamoType(raw)

    def operand(self, node, attrs):
        kind = node[0]
        if kind == "value":
            return self.value(node[1])
        if kind == "path":
            found = attrs.get(self.attribute(node[1]))
            if found is not None and found.type not in ("S", "N", "BOOL", "NULL"):
                raise Unsupported("an attribute of a nested type")
            return found
        # if_not_exists(path, default)
        found = attrs.get(self.attribute(node[1]))
        if found is None:
            return self.operand(node[2], attrs)
        if found.type not in ("S", "N", "BOOL", "NULL"):
            raise Unsupported("an attribute of a nested type")
        return found

    def holds(self, node, attrs):
        kind = node[0]
        if kind == "or":
            return self.holds(node[1], attrs) or self.holds(node[2], attrs)
        if kind == "and":
            return self.holds(node[1], attrs) and self.holds(node[2], attrs)
        if kind == "not":
            return not self.holds(node[1], attrs)
        if kind == "attribute_exists":
            return self.attribute(node[1]) in attrs
        if kind == "attribute_not_exists":
            return self.attribute(node[1]) not in attrs
        if kind == "begins_with":
            whole, prefix = self.operand(node[1], attrs), self.operand(node[2], attrs)
            if whole is None or prefix is None:
                return False
            if whole.type != "S" or prefix.type != "S":
                raise Unsupported("begins_with on a non-string")
            return whole.value.startswith(prefix.value)
        _, op, left, right = node
        a, b = self.operand(left, attrs), self.operand(right, attrs)
        for side in (a, b):
            if side is not None and side.type not in ("S", "N"):
                raise Unsupported("comparison of a non-scalar")
        if a is None or b is None:
            if op in ("=", "<>"):
                return (op == "=") == (a is None and b is None)
            return False
        if a.type != b.type:
            if op in ("=", "<>"):
                return op == "<>"
            raise Unsupported("ordering of different types")
        x, y = (Decimal(a.value), Decimal(b.value)) if a.type == "N" else (a.value, b.value)
        return {"=": x == y, "<>": x != y, "<": x < y, "<=": x <= y, ">": x > y, ">=": x >= y}[op]

    def assigned(self, node, attrs):
        if node[0] in ("+", "-"):
            a, b = self.operand(node[1], attrs), self.operand(node[2], attrs)
            if a is None or b is None or a.type != "N" or b.type != "N":
                raise Unsupported("arithmetic on a missing or non-number operand")
            return a + b if node[0] == "+" else a - b
        found = self.operand(node, attrs)
        if found is None:
            raise Unsupported("assignment from a missing attribute")
        return found


def _backend(environ):
    """moto's DynamoDB backend for this request, chosen as moto chooses it (account from the access key or the
    environment, region from the signature's scope)."""
    auth = environ.get("HTTP_AUTHORIZATION", "")
    m = re.search(r"Credential=([^/]+)/\d{8}/([\w-]+)/dynamodb/aws4_request", auth)
    if m is None or "HTTP_X_MOTO_ACCOUNT_ID" in environ:
        raise Unsupported("unsigned request")
    from moto.iam.models import get_account_id_from
    account = os.environ.get("MOTO_ACCOUNT_ID") or get_account_id_from(m.group(1))
    return dynamodb_backends[account][m.group(2)]


def _table_and_key(backend, body):
    table = backend.tables.get(body.get("TableName"))
    key = body.get("Key")
    if table is None or not isinstance(key, dict) or table.range_key_attr is None:
        raise Unsupported("table or key")
    if table.hash_key_type != "S" or table.range_key_type != "S" or table.stream_shard is not None:
        raise Unsupported("table shape")
    if set(key) != {table.hash_key_attr, table.range_key_attr}:
        raise Unsupported("key attributes")
    parts = []
    for attr in (table.hash_key_attr, table.range_key_attr):
        v = key[attr]
        if not isinstance(v, dict) or list(v) != ["S"] or not isinstance(v["S"], str) or not v["S"]:
            raise Unsupported("key value")
        parts.append(DynamoType(v))
    return table, parts[0], parts[1]


def _get_item(backend, body):
    if not set(body) <= _GET_FIELDS or "TableName" not in body:
        raise Unsupported("fields")
    table, hash_key, range_key = _table_and_key(backend, body)
    item = table.items.get(hash_key, {}).get(range_key)
    return {"Item": item.to_json("Item")["Item"]} if item is not None else {}


def _index_key_types(table):
    types = {d["AttributeName"]: d["AttributeType"] for d in table.attr}
    return {k["AttributeName"]: types.get(k["AttributeName"])
            for index in table.all_indexes() for k in index.schema}


def _update_item(backend, body):
    if not set(body) <= _UPDATE_FIELDS or "TableName" not in body or "UpdateExpression" not in body:
        raise Unsupported("fields")
    if body.get("ReturnValues", "NONE") not in ("NONE", "ALL_NEW"):
        raise Unsupported("ReturnValues")
    table, hash_key, range_key = _table_and_key(backend, body)
    update_text, condition_text = body["UpdateExpression"], body.get("ConditionExpression")
    if not isinstance(update_text, str) or not (condition_text is None or isinstance(condition_text, str)):
        raise Unsupported("expression types")
    actions = _parse("update", update_text)
    condition = _parse("condition", condition_text) if condition_text is not None else None
    used_names, used_values = set(), set()
    _placeholders(actions, used_names, used_values)
    _placeholders(condition, used_names, used_values)
    request = _Request(table, body)
    if used_names != set(request.names) or used_values != set(request.values):
        raise Unsupported("unused or missing placeholders")

    item = table.items.get(hash_key, {}).get(range_key)
    attrs = item.attrs if item is not None else {}
    # Everything is worked out against the item as it was, before any change, as DynamoDB does.
    changes, targets = [], set()
    index_keys = _index_key_types(table)
    mentioned = set()
    _paths(actions, mentioned)
    if {request.attribute(p) for p in mentioned} & {table.hash_key_attr, table.range_key_attr}:
        raise Unsupported("a key attribute in the update")  # moto refuses even reading one there
    for action in actions:
        name = request.attribute(action[1])
        if name in targets or name in (table.hash_key_attr, table.range_key_attr):
            raise Unsupported(f"attribute {name} set twice or a key attribute")
        targets.add(name)
        if action[0] == "set":
            value = request.assigned(action[2], attrs)
            if name in index_keys and value.type != index_keys[name]:
                raise Unsupported("an index key of another type")
            if value.type == "S" and not value.value:
                raise Unsupported("an empty string")
            changes.append((name, value))
        else:
            changes.append((name, None))
    holds = request.holds(condition, attrs) if condition is not None else True

    if not holds:
        raise _ConditionFailed()
    new = {k: v for k, v in attrs.items()}
    for name, value in changes:
        if value is None:
            new.pop(name, None)
        else:
            new[name] = value
    if sum(len(k.encode()) + v.size() for k, v in new.items()) > _SIZE_LIMIT:
        raise Unsupported("a large item")

    if item is None:
        item = Item(hash_key, range_key, {})
        for attr, key in ((table.hash_key_attr, hash_key), (table.range_key_attr, range_key)):
            dict.__setitem__(item.attrs, attr, DynamoType(key))
        table.items[hash_key][range_key] = item
    for name, value in changes:
        if value is None:
            item.attrs.pop(name, None)
        else:
            dict.__setitem__(item.attrs, name, DynamoType(value))
    answer = {"ConsumedCapacity": {"TableName": body["TableName"], "CapacityUnits": 0.5}}
    if body.get("ReturnValues") == "ALL_NEW":
        answer = {"Attributes": item.to_json()["Attributes"], **answer}
    return answer


class _ConditionFailed(Exception):
    pass


_HANDLERS = {"GetItem": _get_item, "UpdateItem": _update_item}


def answer(environ, body):
    """(status, headers, body) for a DynamoDB request this module answers, or None to leave it to moto. Called with
    DynamoDB's requests serialised, like moto's own."""
    handler = _HANDLERS.get(environ.get("HTTP_X_AMZ_TARGET", "")[len(_TARGET):])
    if handler is None or not environ.get("HTTP_X_AMZ_TARGET", "").startswith(_TARGET):
        return None
    try:
        request = json.loads(body)
        if not isinstance(request, dict):
            return None
        status, error, out = "200 OK", None, handler(_backend(environ), request)
    except Unsupported:
        return None
    except (ValueError, TypeError, KeyError, AttributeError):
        return None  # malformed: moto gives DynamoDB's own error
    except _ConditionFailed:
        status, error = "400 Bad Request", "ConditionalCheckFailedException"
        out = {"__type": f"com.amazonaws.dynamodb.v20120810#{error}", "message": "The conditional request failed"}
    data = json.dumps(out).encode()
    headers = [("Content-Type", "application/json" if error else "application/x-amz-json-1.0"),
               ("Content-Length", str(len(data))),
               ("x-amzn-requestid", secrets.token_urlsafe(39)[:52]),
               ("x-amz-crc32", str(zlib.crc32(data)))]
    if error:
        headers.append(("X-Amzn-ErrorType", error))
    return status, headers, data
