"""Local API Gateway (HTTP API, payload v2) and Lambda service for the real function binaries.

Each function named in template.yaml runs as its own process(es) against a Lambda Runtime API served here, exactly
as in AWS: the binary long-polls /runtime/invocation/next and posts its response. Like Lambda, a function scales out
to more instances (up to --max-instances) while all of its instances are busy. Routes, schedules and SQS event
sources come from template.yaml: an SQS source polls its queue in the emulator, invokes the function with a batch of
records and deletes what succeeded (all of it, or all but the reported batchItemFailures); a failed or crashed
invocation leaves its messages to come back after the queue's visibility timeout, as Lambda's poller does.
Function logs go to <log-dir>/<function>.log.

Extra local endpoints: POST /2015-03-31/functions/<name>/invocations (the Lambda Invoke API), GET /_local/health and
GET /_local/events?limit=&maAppId= (the newest events of the bus, read from its log group in the emulator),
POST /_local/crash/<name> (kills every instance of a function mid-invocation, as a crash would), and the API
contract: GET /openapi.json and GET /openapi (a page to browse it). With --socket-port, the WebSocket API too
(websocket.py).
"""
import argparse
import base64
import json
import os
import queue
import re
import subprocess
import threading
import time
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import cfn
import contract
import eventlog
import openapi_view
import websocket

MAX_BODY = 10 * 1024 * 1024  # API Gateway's payload limit


class Invocation:
    def __init__(self, payload, deadline_s):
        self.id = str(uuid.uuid4())
        self.payload = payload
        self.deadline_ms = int((time.time() + deadline_s) * 1000)
        self.done = threading.Event()
        self.result = None
        self.error = None
        self.holder = None  # the instance running it


class Function:
    """One function: its runtime API, its pool of instances and its queue of pending invocations."""

    def __init__(self, spec, binary_dir, log_dir, base_env, max_instances):
        self.spec = spec
        self.name = spec["name"]
        self.binary = os.path.join(binary_dir, spec["binary"])
        self.log_path = os.path.join(log_dir, f"{self.name}.log")
        self.env = dict(base_env)
        self.env.update(spec["env"])
        # Reserved concurrency caps the instances, as in Lambda.
        self.max_instances = min(max_instances, int(spec["reserved"])) if spec.get("reserved") else max_instances
        self.pending = queue.Queue()
        self.inflight = {}
        self.lock = threading.Lock()
        self.instances = []
        self.idle = 0

    def _spawn(self):
        # Each instance gets its own Runtime API endpoint, so the gateway knows which process runs which
        # invocation and can end one that overruns its timeout, as Lambda does.
        holder = {}
        server = ThreadingHTTPServer(("127.0.0.1", 0), make_runtime_handler(self, holder))
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        env = dict(self.env)
        env.update({"AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{server.server_address[1]}", "AWS_LAMBDA_FUNCTION_NAME": self.name,
                    "_HANDLER": self.name,
                    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128", "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
                    "AWS_LAMBDA_LOG_STREAM_NAME": f"local/{len(self.instances)}",
                    "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{self.name}"})
        log = open(self.log_path, "ab")
        proc = subprocess.Popen([self.binary], env=env, stdout=log, stderr=subprocess.STDOUT)
        holder["proc"], holder["server"] = proc, server
        self.instances.append(proc)

    def invoke(self, payload):
        inv = Invocation(payload, self.spec["timeout"])
        with self.lock:
            self.instances = [p for p in self.instances if p.poll() is None]
            # Scale out while every instance is busy, as Lambda does.
            if self.pending.qsize() >= self.idle and len(self.instances) < self.max_instances:
                self._spawn()
                self.idle += 1  # counted as idle until it picks work up
            self.pending.put(inv)
        # A little grace for the time an instance takes to pick the invocation up.
        if not inv.done.wait(self.spec["timeout"] + 1):
            self._end_overrun(inv)
            return None, "Task timed out"
        return inv.result, inv.error

    def crash(self):
        """Kills every instance now, failing what they were running (a crash mid-invocation)."""
        with self.lock:
            running = list(self.inflight.values())
            self.inflight.clear()
            procs = [p for p in self.instances if p.poll() is None]
            self.idle = 0  # none of them takes work any more: the next invocation starts a new instance
        for p in procs:
            p.kill()
        for inv in running:
            inv.error = "Runtime exited: the instance crashed"
            inv.done.set()
        return len(procs)

    def _end_overrun(self, inv):
        """Lambda stops an invocation at its timeout: the instance that ran it is killed mid-way."""
        with self.lock:
            self.inflight.pop(inv.id, None)
            holder = inv.holder
        if holder and holder.get("proc") and holder["proc"].poll() is None:
            print(f"[{self.name}] {inv.id} timed out after {self.spec['timeout']} s: instance killed", flush=True)
            holder["proc"].kill()
            holder["server"].shutdown()

    # Runtime API side
    def next_invocation(self, holder):
        inv = self.pending.get()
        proc = holder.get("proc")
        if proc is not None and proc.poll() is not None:
            # This instance was killed while it waited: its Runtime API thread must not take work for it.
            self.pending.put(inv)
            return None
        with self.lock:
            self.idle = max(0, self.idle - 1)
            self.inflight[inv.id] = inv
            inv.holder = holder
        return inv

    def finish(self, request_id, result=None, error=None):
        with self.lock:
            inv = self.inflight.pop(request_id, None)
            self.idle += 1
        if inv:
            inv.result, inv.error = result, error
            inv.done.set()

    def stop(self):
        for p in self.instances:
            p.terminate()


def make_runtime_handler(fn, holder):
    class Runtime(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def _ok(self, status=202, body=b"{}", headers=None):
            self.send_response(status)
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def do_GET(self):
            if self.path.endswith("/runtime/invocation/next"):
                inv = fn.next_invocation(holder)
                if inv is None:
                    self.close_connection = True
                    return None
                body = json.dumps(inv.payload).encode()
                return self._ok(200, body, {
                    "Content-Type": "application/json",
                    "Lambda-Runtime-Aws-Request-Id": inv.id,
                    "Lambda-Runtime-Deadline-Ms": str(inv.deadline_ms),
                    "Lambda-Runtime-Invoked-Function-Arn": f"arn:aws:lambda:{cfn.REGION}:{cfn.ACCOUNT_ID}:function:{fn.name}",
                    "Lambda-Runtime-Trace-Id": f"Root=1-{uuid.uuid4().hex[:8]}-{uuid.uuid4().hex[:24]}",
                })
            self._ok(404)

        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            m = re.search(r"/runtime/invocation/([^/]+)/(response|error)$", self.path)
            if m:
                if m.group(2) == "response":
                    fn.finish(m.group(1), result=body)
                else:
                    fn.finish(m.group(1), error=body.decode(errors="replace"))
                return self._ok()
            if self.path.endswith("/runtime/init/error"):
                print(f"[{fn.name}] init error: {body.decode(errors='replace')}", flush=True)
                return self._ok()
            self._ok(404)

    return Runtime


def compile_route(path):
    pattern = re.sub(r"\{([^}/+]+)\}", r"(?P<\1>[^/]+)", re.escape(path).replace(r"\{", "{").replace(r"\}", "}"))
    return re.compile(f"^{pattern}$")


class TokenBucket:
    """API Gateway's throttling of one route: `burst` requests at once, refilled at `rate` a second."""

    def __init__(self, burst, rate):
        self.capacity, self.rate = float(burst), rate
        self.tokens, self.at = float(burst), time.monotonic()
        self.lock = threading.Lock()

    def take(self):
        with self.lock:
            now = time.monotonic()
            self.tokens = min(self.capacity, self.tokens + (now - self.at) * self.rate)
            self.at = now
            if self.tokens < 1:
                return False
            self.tokens -= 1
            return True


class Gateway:
    def __init__(self, functions):
        self.functions = {f.name: f for f in functions}
        self.routes = []
        for f in functions:
            for method, path in f.spec["routes"]:
                self.routes.append((method, path, compile_route(path), f))

    def set_throttles(self, default, per_route):
        self.default_throttle = default
        self.buckets = {f"{m} {p}": TokenBucket(*per_route.get(f"{m} {p}", default)) for m, p, _, _ in self.routes}

    def throttle(self, method, route):
        """False when the route's throttling refuses the request (API Gateway's 429)."""
        bucket = getattr(self, "buckets", {}).get(f"{method} {route}")
        return bucket is None or bucket.take()

    def match(self, method, path):
        allowed = False
        for m, template, regex, fn in self.routes:
            hit = regex.match(path)
            if hit:
                if m == method:
                    return fn, template, {k: urllib.parse.unquote(v) for k, v in hit.groupdict().items()}
                allowed = True
        return None, "405" if allowed else "404", None

    @staticmethod
    def event(method, route, path, raw_query, headers, body, params, source_ip):
        query = {}
        for k, v in urllib.parse.parse_qsl(raw_query, keep_blank_values=True):
            query[k] = f"{query[k]},{v}" if k in query else v
        is_text = body == b"" or headers.get("content-type", "").startswith(("application/json", "text/", "application/xml"))
        if is_text:
            try:
                body.decode()
            except UnicodeDecodeError:
                is_text = False  # bytes that are not UTF-8 travel base64-encoded, whatever the type says
        now = time.time()
        return {
            "version": "2.0", "routeKey": f"{method} {route}", "rawPath": path, "rawQueryString": raw_query,
            "headers": headers, "queryStringParameters": query or None, "pathParameters": params or None,
            "requestContext": {
                "accountId": cfn.ACCOUNT_ID, "apiId": "local", "domainName": headers.get("host", "localhost"),
                "domainPrefix": "local", "requestId": str(uuid.uuid4()), "routeKey": f"{method} {route}",
                "stage": "$default", "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
                "timeEpoch": int(now * 1000),
                "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": source_ip,
                         "userAgent": headers.get("user-agent", "")},
            },
            "body": (body.decode() if is_text else base64.b64encode(body).decode()) if body else None,
            "isBase64Encoded": bool(body) and not is_text,
        }


def make_api_handler(gw):
    class Api(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def _send(self, status, body, headers=None):
            self.send_response(status)
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def _json(self, status, obj):
            self._send(status, json.dumps(obj).encode(), {"Content-Type": "application/json"})

        def _handle(self, method):
            url = urllib.parse.urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY:
                self.close_connection = True
                return self._json(413, {"message": "Request Entity Too Large"})
            body = self.rfile.read(length) if length else b""
            if url.path == "/_local/health":
                return self._json(200, {"functions": sorted(gw.functions)})
            if url.path == "/_local/events":
                q = dict(urllib.parse.parse_qsl(url.query))
                return self._json(200, {"events": eventlog.recent(os.environ["AWS_ENDPOINT_URL"], gw.event_log_group,
                                                                  int(q.get("limit", 50)), q.get("maAppId"))})
            m = re.fullmatch(r"/_local/crash/([^/]+)", url.path)
            if m and method == "POST":  # fault injection: every instance of a function dies mid-invocation
                fn = gw.functions.get(m.group(1))
                if fn is None:
                    return self._json(404, {"message": "Function not found"})
                return self._json(200, {"killed": fn.crash()})
            if url.path == "/openapi.json" and gw.openapi:
                return self._json(200, gw.openapi)
            if url.path == "/openapi" and gw.openapi:
                return self._send(200, openapi_view.as_html(gw.openapi).encode(),
                                  {"Content-Type": "text/html; charset=utf-8"})
            if url.path == "/_local/frontend":  # where FrontendUrl points locally, after an authorization
                if gw.console_url and "text/html" in self.headers.get("Accept", ""):
                    # a browser: on to the console's landing page, as FrontendUrl names it on AWS
                    return self._send(302, b"", {"Location": f"{gw.console_url}/#/authorized?{url.query}"})
                return self._json(200, {"frontend": dict(urllib.parse.parse_qsl(url.query))})
            m = re.fullmatch(r"/2015-03-31/functions/([^/]+)/invocations", url.path)
            if m and method == "POST":
                fn = gw.functions.get(m.group(1))
                if fn is None:
                    return self._json(404, {"message": "Function not found"})
                result, error = fn.invoke(json.loads(body or b"{}"))
                if error:
                    return self._send(200, error.encode() if isinstance(error, str) else error,
                                      {"X-Amz-Function-Error": "Unhandled", "Content-Type": "application/json"})
                return self._send(200, result or b"null", {"Content-Type": "application/json"})
            fn, route, params = gw.match(method, url.path)
            if fn is None:
                return self._json(int(route), {"message": "Not Found" if route == "404" else "Method Not Allowed"})
            if not gw.throttle(method, route):
                return self._json(429, {"message": "Too Many Requests"})
            headers = {k.lower(): v for k, v in self.headers.items()}
            event = gw.event(method, route, url.path, url.query, headers, body, params, self.client_address[0])
            result, error = fn.invoke(event)
            if error or result is None:
                return self._json(502 if error != "Task timed out" else 504, {"message": "Internal Server Error"})
            resp = json.loads(result)
            out = resp.get("body") or ""
            out = base64.b64decode(out) if resp.get("isBase64Encoded") else out.encode()
            headers = resp.get("headers") or {}
            for cookie in resp.get("cookies") or []:
                headers["Set-Cookie"] = cookie
            status = int(resp.get("statusCode", 200))
            if gw.contract:
                content_type = next((v for k, v in headers.items() if k.lower() == "content-type"), "")
                gw.contract.check(method, route, status, content_type, out)
            self._send(status, out, headers)

        def do_GET(self):
            self._handle("GET")

        def __getattr__(self, name):
            # Any other method (HEAD, TRACE, made-up ones) is answered like an unknown route, as API Gateway does,
            # not with the HTTP server's 501.
            if name.startswith("do_"):
                return lambda: self._handle(name[3:])
            raise AttributeError(name)

        def do_POST(self):
            self._handle("POST")

        def do_PUT(self):
            self._handle("PUT")

        def do_DELETE(self):
            self._handle("DELETE")

    return Api


def scheduler(fn, every_s):
    event = {"version": "0", "id": "", "detail-type": "Scheduled Event", "source": "aws.scheduler",
             "account": cfn.ACCOUNT_ID, "region": cfn.REGION, "resources": [], "detail": {}}
    while True:
        time.sleep(every_s)
        event["id"] = str(uuid.uuid4())
        event["time"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        _, error = fn.invoke(event)
        print(f"[schedule] {fn.name}: {'failed: ' + error if error else 'ok'}", flush=True)


def queue_poller(fn, source):
    """Lambda's SQS event source mapping for one function: receive, invoke, delete what succeeded."""
    import boto3
    sqs = boto3.client("sqs", endpoint_url=os.environ["AWS_ENDPOINT_URL"], region_name=cfn.REGION,
                       aws_access_key_id="test", aws_secret_access_key="test")
    arn = f"arn:aws:sqs:{cfn.REGION}:{cfn.ACCOUNT_ID}:{source['url'].rsplit('/', 1)[1]}"
    while True:
        try:
            got = sqs.receive_message(QueueUrl=source["url"], MaxNumberOfMessages=source["batch"], WaitTimeSeconds=1,
                                      AttributeNames=["All"])
        except Exception as e:  # the emulator restarting: try again shortly
            print(f"[sqs] {fn.name}: receive failed: {e}", flush=True)
            time.sleep(1)
            continue
        messages = got.get("Messages") or []
        if not messages:
            continue
        records = [{"messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"], "body": m["Body"],
                    "attributes": m.get("Attributes", {}), "messageAttributes": {}, "md5OfBody": m.get("MD5OfBody", ""),
                    "eventSource": "aws:sqs", "eventSourceARN": arn, "awsRegion": cfn.REGION} for m in messages]
        result, error = fn.invoke({"Records": records})
        if error:
            print(f"[sqs] {fn.name}: invocation failed ({str(error)[:200]}): {len(messages)} message(s) come back", flush=True)
            continue
        failed = set()
        if source["partial"]:
            try:
                failed = {f["itemIdentifier"] for f in (json.loads(result or b"{}") or {}).get("batchItemFailures", [])}
            except (ValueError, TypeError, KeyError):
                failed = {m["MessageId"] for m in messages}  # an unreadable response fails the whole batch
        done = [m for m in messages if m["MessageId"] not in failed]
        if done:
            sqs.delete_message_batch(QueueUrl=source["url"], Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)])


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--template", required=True)
    p.add_argument("--binaries", required=True, help="directory with the built function binaries")
    p.add_argument("--port", type=int, default=9000)
    p.add_argument("--socket-port", type=int, default=0, help="serve the WebSocket API (and its @connections) here")
    p.add_argument("--log-dir", required=True)
    p.add_argument("--param", action="append", default=[], help="template parameter override NAME=VALUE")
    p.add_argument("--max-instances", type=int, default=4)
    p.add_argument("--openapi", help="the API contract to serve at /openapi.json and /openapi")
    p.add_argument("--console-url", default="", help="where browsers land after an authorization (/_local/frontend)")
    p.add_argument("--schedule-seconds", type=int, default=0, help="override every schedule's interval (0: template)")
    args = p.parse_args()

    template = cfn.load(args.template)
    resolver = cfn.Resolver(template, dict(kv.split("=", 1) for kv in args.param))
    os.makedirs(args.log_dir, exist_ok=True)
    base_env = {k: v for k, v in os.environ.items() if k.startswith(("AWS_", "RUST_", "PATH", "HOME", "SSL_"))}
    functions = [Function(spec, args.binaries, args.log_dir, base_env, args.max_instances)
                 for spec in cfn.functions(template, resolver)]
    gw = Gateway(functions)
    gw.event_log_group = eventlog.log_group(template, resolver)
    gw.openapi = openapi_view.load(args.openapi) if args.openapi else None
    gw.console_url = args.console_url.rstrip("/")
    # Every relayed answer checked against the contract when asked (make test does).
    gw.contract = (contract.Contract(gw.openapi, os.environ["CONTRACT_LOG"])
                   if gw.openapi and os.environ.get("CONTRACT_LOG") else None)
    gw.set_throttles(*cfn.route_throttles(template))
    for fn in functions:
        for expr in fn.spec["schedules"]:
            every = args.schedule_seconds or cfn.rate_seconds(expr)
            threading.Thread(target=scheduler, args=(fn, every), daemon=True).start()
        for source in fn.spec["queues"]:
            for _ in range(max(1, min(source["concurrency"], fn.max_instances))):
                threading.Thread(target=queue_poller, args=(fn, source), daemon=True).start()
    routes = cfn.socket_routes(template)
    if args.socket_port and {"$connect", "$disconnect"} <= set(routes):
        sockets = websocket.SocketApi(gw.functions[routes["$connect"]], gw.functions[routes["$disconnect"]])
        socket_server = ThreadingHTTPServer(("127.0.0.1", args.socket_port), websocket.make_socket_handler(sockets))
        socket_server.daemon_threads = True
        threading.Thread(target=socket_server.serve_forever, daemon=True).start()
        print(f"local WebSocket API on ws://127.0.0.1:{args.socket_port}: {sorted(routes)}", flush=True)
    server = ThreadingHTTPServer(("127.0.0.1", args.port), make_api_handler(gw))
    server.daemon_threads = True
    print(f"local API on http://127.0.0.1:{args.port}: {len(gw.routes)} routes, {len(functions)} functions", flush=True)
    try:
        server.serve_forever()
    finally:
        for fn in functions:
            fn.stop()


if __name__ == "__main__":
    main()
