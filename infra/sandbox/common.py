"""What the platform sandboxes share: a threaded HTTP server whose handler hands (method, path, query, headers, raw
body) to the sandbox and writes back what it answers, faults injected by tests, and a clock tests can move."""
import json
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Answer:
    """What a sandbox sends back: a status, a body (bytes, str or JSON-able) and headers."""

    def __init__(self, status, body=b"", content_type="application/json; charset=utf-8", headers=None):
        self.status, self.content_type, self.headers = status, content_type, headers or {}
        if isinstance(body, (dict, list)):
            body = json.dumps(body, ensure_ascii=False)
        self.body = body.encode() if isinstance(body, str) else body

    @staticmethod
    def redirect(location):
        return Answer(302, b"", "text/plain", {"Location": location})


class Clock:
    """The platform's time: the machine's, moved on by tests."""

    def __init__(self):
        self.offset = 0.0

    def now(self):
        return time.time() + self.offset


class Faults:
    """Errors tests ask for: the next `times` calls of a method (optionally for one app) fail as told."""

    def __init__(self):
        self.lock, self.rules = threading.Lock(), []

    def add(self, rule):
        with self.lock:
            self.rules.append(dict(rule))

    def clear(self):
        with self.lock:
            self.rules.clear()

    def take(self, method, app=None):
        with self.lock:
            for rule in self.rules:
                if rule.get("method") not in (None, method) or rule.get("appId") not in (None, app):
                    continue
                if rule.get("times", 1) == 0:
                    continue
                if rule.get("times", 1) > 0:
                    rule["times"] = rule.get("times", 1) - 1
                return rule
        return None


def serve(port, handle, banner):
    """Serves `handle(method, path, query, headers, raw) -> Answer` on 127.0.0.1:port until the process ends."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *args):  # requests carry tokens: log nothing
            pass

        def _handle(self, method):
            url = urllib.parse.urlsplit(self.path)
            query = dict(urllib.parse.parse_qsl(url.query, keep_blank_values=True))
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            try:
                answer = handle(method, url.path, query, self.headers, raw)
            except Exception as e:  # a sandbox bug must show, not hang the client
                answer = Answer(500, {"error": f"sandbox error: {e!r}"})
            self.send_response(answer.status)
            self.send_header("Content-Type", answer.content_type)
            self.send_header("Content-Length", str(len(answer.body)))
            for k, v in answer.headers.items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(answer.body)

        def do_GET(self):
            self._handle("GET")

        def do_POST(self):
            self._handle("POST")

        def do_DELETE(self):
            self._handle("DELETE")

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    print(banner, flush=True)
    server.serve_forever()
