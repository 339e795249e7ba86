"""DynamoDB's Query and TransactWriteItems for moto, at the cost DynamoDB's have.

Query: moto answers a Query by walking every item of the
table, comparing keys as objects and sorting the whole table's matches, so one Query in a component's partition got
slower with every record of every component (328 ms with 3,500 items). This one reads only the queried partition of
the table (a GSI query still walks the table, with plain string comparisons), sorts the matching keys as strings and
pages exactly as moto does. Anything it does not cover (number or binary keys, multi-attribute keys, legacy
KeyConditions filters) goes to moto's own Query, so behaviour never differs, only cost.

TransactWriteItems: moto deep-copies every table a transaction names before applying it, to roll back on failure,
so one transaction cost a copy of the whole table. Here moto's transaction runs on the live tables and only the
items it names are saved and put back on failure.

`check_fast_dynamodb.py` compares both with moto's own on random tables."""
import copy
import types

import moto.dynamodb.models as dynamodb_models
from moto.dynamodb.models.dynamo_type import DynamoType
from moto.dynamodb.models.table import RESULT_SIZE_LIMIT, Table

_original_query = Table.query

_COMPARE = {
    None: lambda v, a: True,
    "EQ": lambda v, a: v == a[0],
    "=": lambda v, a: v == a[0],
    "LT": lambda v, a: v < a[0],
    "<": lambda v, a: v < a[0],
    "LE": lambda v, a: v <= a[0],
    "<=": lambda v, a: v <= a[0],
    "GT": lambda v, a: v > a[0],
    ">": lambda v, a: v > a[0],
    "GE": lambda v, a: v >= a[0],
    ">=": lambda v, a: v >= a[0],
    "BETWEEN": lambda v, a: a[0] <= v <= a[1],
    "BEGINS_WITH": lambda v, a: v.startswith(a[0]),
}


def _string(value):
    """The string inside a DynamoType or a wire-format attribute, or None for any other type."""
    if value is None:
        return None
    if isinstance(value, dict):
        return value.get("S")
    return value.value if value.type == "S" else None


def _index_keys(table, index_name):
    """(hash attribute, range attribute) of a string-keyed index with one key of each kind, else None."""
    index = next((i for i in table.all_indexes() if i.name == index_name), None)
    if index is None:
        return None
    hashes = [k["AttributeName"] for k in index.schema if k["KeyType"] == "HASH"]
    ranges = [k["AttributeName"] for k in index.schema if k["KeyType"] == "RANGE"]
    if len(hashes) != 1 or len(ranges) != 1:
        return None
    return hashes[0], ranges[0]


def query(self, hash_key, range_comparison, range_objs, limit, exclusive_start_key, scan_index_forward,
          projection_expressions, index_name=None, consistent_read=False, filter_expression=None,
          hash_key_conditions=None, range_key_conditions=None, **filter_kwargs):
    fallback = lambda: _original_query(  # noqa: E731
        self, hash_key, range_comparison, range_objs, limit, exclusive_start_key, scan_index_forward,
        projection_expressions, index_name, consistent_read, filter_expression,
        hash_key_conditions=hash_key_conditions, range_key_conditions=range_key_conditions, **filter_kwargs)

    bounds = [_string(o) for o in range_objs]
    if (filter_kwargs or range_comparison not in _COMPARE or None in bounds
            or len(hash_key_conditions or []) > 1 or len(range_key_conditions or []) > 1
            or self.range_key_attr is None or self.hash_key_type != "S" or self.range_key_type != "S"):
        return fallback()
    wanted = _string(hash_key_conditions[0][1]) if hash_key_conditions else _string(hash_key)
    if wanted is None:
        return fallback()
    matches = _COMPARE[range_comparison]

    # (sort key, item, meets the range condition) of every item in the queried partition. Like moto, a page that
    # reaches its limit reports a LastEvaluatedKey when any item follows, even one outside the range.
    found = []
    if index_name:
        keys = _index_keys(self, index_name)
        if keys is None:
            return fallback()
        hash_attr, range_attr = keys
        if consistent_read and any(i.name == index_name for i in self.global_indexes):
            return fallback()  # moto's own refusal
        for partition in self.items.values():
            for item in partition.values():
                attrs = item.attrs
                h = attrs.get(hash_attr)
                if h is None or h.type != "S" or h.value != wanted:
                    continue
                r = attrs.get(range_attr)
                if r is None or r.type != "S":
                    continue
                found.append(((r.value, item.hash_key.value, item.range_key.value), item, matches(r.value, bounds)))
        start = None
        if exclusive_start_key:
            start = tuple(_string(exclusive_start_key.get(a)) for a in (range_attr, self.hash_key_attr,
                                                                       self.range_key_attr))
    else:
        partition = self.items.get(hash_key) if hash_key is not None else None
        for key, item in (partition or {}).items():
            found.append(((key.value,), item, matches(key.value, bounds)))
        start = None
        if exclusive_start_key:
            start = (_string(exclusive_start_key.get(self.range_key_attr)),)

    found.sort(key=lambda pair: pair[0], reverse=scan_index_forward is False)
    if start is not None and None not in start:
        after = (lambda k: k > start) if scan_index_forward is not False else (lambda k: k < start)
        found = [pair for pair in found if after(pair[0])]

    results, size, last_evaluated_key = [], 0, None
    for _, item, in_range in found:
        if len(results) == limit or (in_range and size + item.size() > RESULT_SIZE_LIMIT):
            last_evaluated_key = self._get_last_evaluated_key(results[-1], index_name)
            break
        if not in_range:
            continue
        results.append(item)
        size += item.size()
    scanned_count = len(results)

    results = copy.deepcopy(results)
    if index_name:
        index = self.get_index(index_name)
        results = [index.project(r) for r in results]
    if filter_expression is not None:
        results = [item for item in results if filter_expression.expr(item)]
    if projection_expressions:
        results = [r.project(projection_expressions) for r in results]
    return results, scanned_count, last_evaluated_key


_original_transact = dynamodb_models.DynamoDBBackend.transact_write_items
# What moto's transaction code sees as `copy`: a table "copied" for rollback is the live table itself.
_copy_without_tables = types.SimpleNamespace(
    deepcopy=lambda value, memo=None: value if isinstance(value, Table) else copy.deepcopy(value, memo))


def _named_item(backend, entry):
    """(table, hash key, range key, a copy of the item or None) for one transaction entry, or None if malformed."""
    try:
        _, op = next(iter(entry.items()))
        table = backend.tables.get(op.get("TableName"))
        key = op.get("Key") or op.get("Item")
        hash_key = DynamoType(key[table.hash_key_attr])
        range_key = DynamoType(key[table.range_key_attr]) if table.range_key_attr else None
        return table, hash_key, range_key, copy.deepcopy(table.get_item(hash_key, range_key))
    except Exception:  # moto itself refuses a malformed entry, before anything is written
        return None


def transact_write_items(self, transact_items):
    saved = [s for s in (_named_item(self, e) for e in transact_items[:100]) if s is not None]
    try:
        return _original_transact(self, transact_items)
    except Exception:
        for table, hash_key, range_key, item in reversed(saved):
            if item is None:
                table.delete_item(hash_key, range_key)
            elif range_key is None:
                table.items[hash_key] = item
            else:
                table.items[hash_key][range_key] = item
        raise


def install():
    Table.query = query
    dynamodb_models.copy = _copy_without_tables
    dynamodb_models.DynamoDBBackend.transact_write_items = transact_write_items
