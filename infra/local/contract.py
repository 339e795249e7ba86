"""Checks every answer the local gateway relays against docs/openapi.yaml: its status is one the route documents and
its JSON body matches that status's schema. Enabled by `CONTRACT_LOG=path` (make test sets it): each breach is
appended there as one JSON line, and infra/run-tests.sh fails the run when there is any. So every black-box test
doubles as a test of the contract, with real answers in every state a test reaches, not only the fuzzer's."""
import json
import threading

from jsonschema import Draft202012Validator
from referencing import Registry, Resource


class Contract:
    def __init__(self, doc, log_path):
        self.doc, self.log_path = doc, log_path
        resource = Resource.from_contents({**doc, "$schema": "https://json-schema.org/draft/2020-12/schema"})
        self.registry = Registry().with_resource("urn:openapi", resource)
        self.validators, self.lock = {}, threading.Lock()

    def _validator(self, method, route, status):
        key = (method, route, status)
        if key not in self.validators:
            op = ((self.doc.get("paths") or {}).get(route) or {}).get(method.lower())
            if op is None:
                found = "undocumented route"
            else:
                answer = op.get("responses", {}).get(str(status)) or op.get("responses", {}).get("default")
                answer = self._deref(answer)
                if answer is None:
                    found = "undocumented status"
                else:
                    schema = ((answer.get("content") or {}).get("application/json") or {}).get("schema")
                    found = (Draft202012Validator(_rebase(schema), registry=self.registry)
                             if schema is not None else None)
            self.validators[key] = found
        return self.validators[key]

    def _deref(self, node):
        while isinstance(node, dict) and "$ref" in node:
            target = self.doc
            for part in node["$ref"].removeprefix("#/").split("/"):
                target = target[part]
            node = target
        return node

    def check(self, method, route, status, content_type, body):
        """Records a breach of the contract by one answer, if there is one."""
        found = self._validator(method, route, status)
        problem = None
        if isinstance(found, str):
            problem = found
        elif found is not None and (content_type or "").startswith("application/json"):
            try:
                value = json.loads(body or b"null")
            except ValueError:
                problem = "body is not JSON"
            else:
                error = next(iter(sorted(found.iter_errors(value), key=lambda e: e.path)), None)
                if error is not None:
                    where = "/".join(str(p) for p in error.absolute_path)
                    problem = f"body at /{where}: {error.message[:300]}"
        if problem:
            with self.lock, open(self.log_path, "a") as f:
                f.write(json.dumps({"route": f"{method} {route}", "status": status, "problem": problem}) + "\n")


def _rebase(schema):
    """The schema with its local references (#/components/...) pointing into the registered document."""
    if isinstance(schema, dict):
        return {k: (("urn:openapi" + v) if k == "$ref" and v.startswith("#") else _rebase(v)) for k, v in schema.items()}
    if isinstance(schema, list):
        return [_rebase(v) for v in schema]
    return schema


def report(log_path):
    """Prints the breaches a run logged, grouped; the exit status is 1 when there is any."""
    import collections
    import os
    import sys
    counts = collections.Counter()
    if os.path.exists(log_path):
        with open(log_path) as f:
            for line in f:
                b = json.loads(line)
                counts[(b["route"], b["status"], b["problem"])] += 1
    for (route, status, problem), n in sorted(counts.items()):
        print(f"contract: {route} answered {status} ({n}x): {problem}")
    print(f"contract: {sum(counts.values())} answer(s) outside docs/openapi.yaml")
    sys.exit(1 if counts else 0)


if __name__ == "__main__":
    import sys
    report(sys.argv[1])
