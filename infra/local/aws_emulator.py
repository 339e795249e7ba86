"""The AWS emulator of the local stack: moto's server, with three changes.
1. moto applies a DynamoDB request in steps (read the item, check the condition, write) without a lock, so two
   concurrent conditional writes can both pass their condition. DynamoDB itself applies each request atomically, and
   the product relies on that (login slots, leases, intents), so DynamoDB requests are applied one at a time here.
   Everything else runs concurrently.
2. A Query reads only the queried partition and a transaction saves only the items it names (fast_dynamodb.py), so
   neither costs more as the whole table grows; common GetItem and UpdateItem requests are answered without moto's
   request machinery (fast_item_requests.py), at a tenth of its cost.
3. It is served by gunicorn (one process, so one state; threads; keep-alive) rather than werkzeug's development
   server, which opens a connection and a thread per request: a request costs half as much, and fleet-sized runs
   are bound by the product rather than by the emulator's HTTP handling.
It also counts the calls it serves by service and operation (and DynamoDB reads of token records), for the warm
request benchmark: `GET /_local/calls`."""
import argparse
import collections
import io
import json
import os
import re
import threading

from gunicorn.app.base import BaseApplication
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

import fast_dynamodb
import fast_item_requests

_dynamodb = threading.Lock()


def atomic_dynamodb(app):
    def wrapped(environ, start_response):
        if environ.get("HTTP_X_AMZ_TARGET", "").startswith("DynamoDB_"):
            body = environ["wsgi.input"].read()
            environ["wsgi.input"] = io.BytesIO(body)
            with _dynamodb:
                direct = fast_item_requests.answer(environ, body)
                if direct is not None:
                    status, headers, data = direct
                    start_response(status, headers)
                    return [data]
                # Consume the whole body inside the lock: the response is built before the lock is released.
                return list(app(environ, start_response))
        return app(environ, start_response)

    return wrapped


_calls = collections.Counter()
_calls_lock = threading.Lock()
_SCOPE = re.compile(r"/\d{8}/[\w-]+/([\w-]+)/aws4_request")


def operation(environ, body):
    """(service, operation) of one request: the JSON protocols name it in X-Amz-Target, the query protocol in
    `Action`, S3 by its method."""
    auth = environ.get("HTTP_AUTHORIZATION", "") or environ.get("QUERY_STRING", "").replace("%2F", "/")
    m = _SCOPE.search(auth)
    service = m.group(1) if m else "unknown"
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    if target:
        return service, target.rsplit(".", 1)[-1]
    if service == "s3":
        return service, environ.get("REQUEST_METHOD", "")
    action = re.search(rb"(?:^|&)Action=(\w+)", body + b"&" + environ.get("QUERY_STRING", "").encode())
    return service, action.group(1).decode() if action else "other"


def counted(app):
    def wrapped(environ, start_response):
        if environ.get("PATH_INFO") == "/_local/calls":
            with _calls_lock:
                body = json.dumps(dict(_calls)).encode()
            start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
            return [body]
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)
        service, op = operation(environ, body)
        keys = [f"{service} {op}"]
        if service == "dynamodb" and op in ("GetItem", "UpdateItem", "PutItem") and b'"TOKEN#' in body:
            keys.append(f"dynamodb {op} token record")
        with _calls_lock:
            _calls.update(keys)
        return app(environ, start_response)

    return wrapped


class Emulator(BaseApplication):
    def __init__(self, app, options):
        self.app, self.options = app, options
        super().__init__()

    def load_config(self):
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        return self.app


def cache_moto_lookups():
    """Two lookups moto repeats for every request, cached: the list of its service modules (a directory listing
    of its own package, to route a request) and the parsed JSONPath of an EventBridge target's input (a parser
    generator run for every event)."""
    import functools

    import jsonpath_ng.ext
    import moto.backends

    modules = tuple(moto.backends.list_of_moto_modules())
    moto.backends.list_of_moto_modules = lambda: modules
    jsonpath_ng.ext.parse = functools.lru_cache(maxsize=256)(jsonpath_ng.ext.parse)


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("-H", "--host", default="127.0.0.1")
    p.add_argument("-p", "--port", type=int, default=4566)
    args = p.parse_args()
    os.environ.setdefault("MOTO_PORT", str(args.port))
    fast_dynamodb.install()
    cache_moto_lookups()
    app = counted(atomic_dynamodb(DomainDispatcherApplication(create_backend_app)))
    Emulator(app, {
        "bind": f"{args.host}:{args.port}",
        # One worker: moto keeps every service's state in the process's memory.
        "workers": 1,
        "worker_class": "gthread",
        "threads": 64,
        "keepalive": 75,
        # Never restart the worker: a restart would lose every table, bucket, queue and secret.
        "timeout": 0,
        "graceful_timeout": 1,
        # S3 object metadata may have underscores in its header names; moto reads them as sent.
        "header_map": "dangerous",
        "control_socket_disable": True,
        "accesslog": None,
        "loglevel": "warning",
    }).run()


if __name__ == "__main__":
    main()
