"""The API contract as the local stack serves it: GET /openapi.json (docs/openapi.yaml as JSON, anchors resolved) and
GET /openapi (a page to browse it: every route with its roles, parameters, body schema and answers; no script and no
asset from elsewhere, so it works offline)."""
import html
import json

import yaml

METHODS = ("get", "post", "put", "patch", "delete")


def load(path):
    with open(path) as f:
        doc = yaml.safe_load(f)
    doc.pop("x-errors", None)  # only the anchor the error answers are written with
    return doc


def _resolve(doc, node, depth=0):
    """`node` with its $refs replaced by what they name (a few levels deep), for display."""
    if depth > 6:
        return node
    if isinstance(node, dict):
        if "$ref" in node:
            target = doc
            for part in node["$ref"].removeprefix("#/").split("/"):
                target = target[part]
            return _resolve(doc, target, depth + 1)
        return {k: _resolve(doc, v, depth + 1) for k, v in node.items()}
    if isinstance(node, list):
        return [_resolve(doc, v, depth + 1) for v in node]
    return node


def as_html(doc):
    esc = html.escape
    out = [f"<!doctype html><meta charset=utf-8><title>{esc(doc['info']['title'])}</title>",
           "<style>body{font:14px system-ui;margin:2em;max-width:70em}code,pre{font:12px monospace}"
           "pre{background:#f6f6f6;padding:.6em;overflow:auto}details{border-top:1px solid #ddd;padding:.3em 0}"
           ".m{display:inline-block;width:4em;font-weight:bold}</style>",
           f"<h1>{esc(doc['info']['title'])}</h1><p>{esc(doc['info'].get('description', ''))}</p>",
           "<p><a href=/openapi.json>openapi.json</a></p>"]
    for path, item in doc["paths"].items():
        for method in METHODS:
            op = item.get(method)
            if op is None:
                continue
            params = _resolve(doc, item.get("parameters", []) + op.get("parameters", []))
            body = _resolve(doc, op.get("requestBody"))
            answers = ", ".join(sorted(op.get("responses", {})))
            out.append(f"<details><summary><span class=m>{method.upper()}</span><code>{esc(path)}</code> "
                       f"— {esc(op.get('summary', ''))} <small>({esc(', '.join(op.get('x-roles', [])))})"
                       f"</small></summary><p>function <code>{esc(op.get('x-function', op.get('operationId', '')))}</code>; "
                       f"answers {esc(answers)}</p>")
            if params:
                out.append("<p>parameters</p><pre>" + esc(json.dumps(
                    [{"name": p["name"], "in": p["in"], "required": p.get("required", False),
                      "schema": p.get("schema")} for p in params], indent=1)) + "</pre>")
            if body:
                out.append("<p>body</p><pre>" + esc(json.dumps(body.get("content"), indent=1)) + "</pre>")
            out.append("</details>")
    return "".join(out)
