"""The AWS emulator of the local stack: moto's server, with one change. moto applies a DynamoDB request in steps
(read the item, check the condition, write) without a lock, so two concurrent conditional writes can both pass their
condition. DynamoDB itself applies each request atomically, and the product relies on that (login slots, leases,
intents), so DynamoDB requests are applied one at a time here. Everything else runs concurrently as before."""
import argparse
import os
import threading

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import run_simple

_dynamodb = threading.Lock()


def atomic_dynamodb(app):
    def wrapped(environ, start_response):
        if environ.get("HTTP_X_AMZ_TARGET", "").startswith("DynamoDB_"):
            with _dynamodb:
                # Consume the whole body inside the lock: the response is built before the lock is released.
                return list(app(environ, start_response))
        return app(environ, start_response)

    return wrapped


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("-H", "--host", default="127.0.0.1")
    p.add_argument("-p", "--port", type=int, default=4566)
    args = p.parse_args()
    os.environ.setdefault("MOTO_PORT", str(args.port))
    app = DomainDispatcherApplication(create_backend_app)
    run_simple(args.host, args.port, atomic_dynamodb(app), threaded=True, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()
