"""The API contract, checked against the template: docs/openapi.yaml names exactly the HTTP routes of template.yaml
(method and path), each operation's `operationId` (unique) is the function that serves it (its logical id without
`Function`; `x-function` names it where one function serves two methods), and each operation says who may
call it (`x-roles`), what it answers and, when it takes a body, its schema. Every `$ref` resolves. Run by `make lint`; prints each difference and fails on any."""
import os
import sys

import yaml

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "local"))
import cfn  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
METHODS = ("get", "post", "put", "patch", "delete")


def template_routes(path):
    routes = {}
    for name, resource in cfn.load(path)["Resources"].items():
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        for event in (resource["Properties"].get("Events") or {}).values():
            if event.get("Type") == "HttpApi":
                p = event["Properties"]
                routes[(p["Method"].lower(), p["Path"])] = name.removesuffix("Function")
    return routes


def resolve(doc, ref):
    node = doc
    for part in ref.removeprefix("#/").split("/"):
        node = node[part]
    return node


def refs(node):
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "$ref":
                yield v
            else:
                yield from refs(v)
    elif isinstance(node, list):
        for v in node:
            yield from refs(v)


def problems(doc, routes):
    documented = {}
    for path, item in doc.get("paths", {}).items():
        for method in METHODS:
            if method in item:
                documented[(method, path)] = item[method]
    for route in sorted(routes.keys() - documented.keys()):
        yield f"{route[0].upper()} {route[1]} ({routes[route]}) is in template.yaml but not in the OpenAPI document"
    for route in sorted(documented.keys() - routes.keys()):
        yield f"{route[0].upper()} {route[1]} is in the OpenAPI document but no function serves it"
    for route in sorted(routes.keys() & documented.keys()):
        op, name = documented[route], f"{route[0].upper()} {route[1]}"
        function = op.get("x-function", op.get("operationId"))
        if function != routes[route]:
            yield f"{name}: function {function!r} (x-function, else operationId) is not {routes[route]!r}"
        if not op.get("x-roles"):
            yield f"{name}: no x-roles"
        if not any(code.startswith("2") or code.startswith("3") for code in op.get("responses", {})):
            yield f"{name}: no success response"
        if route[0] == "post" and "requestBody" not in op:
            yield f"{name}: no requestBody"
    ids = [op.get("operationId") for op in documented.values()]
    for dup in sorted({i for i in ids if ids.count(i) > 1}, key=str):
        yield f"operationId {dup!r} is used more than once"
    for ref in set(refs(doc)):
        try:
            resolve(doc, ref)
        except (KeyError, TypeError):
            yield f"$ref {ref} does not resolve"


def main():
    with open(os.path.join(ROOT, "docs", "openapi.yaml")) as f:
        doc = yaml.safe_load(f)
    routes = template_routes(os.path.join(ROOT, "template.yaml"))
    found = list(problems(doc, routes))
    for p in found:
        print("openapi:", p)
    if found:
        sys.exit(1)
    print(f"openapi: {len(routes)} routes of template.yaml documented, every $ref resolves")


if __name__ == "__main__":
    main()
