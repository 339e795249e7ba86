"""The console's local origin, as CloudFront serves it on AWS: the built single-page app (console/dist) at `/`, and
`/api/*` forwarded to the local API without the `/api` prefix, so the console and the API share one origin."""
import argparse
import mimetypes
import os
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MAX_BODY = 10 * 1024 * 1024
HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "host", "content-encoding"}


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # the browser follows redirects itself


OPENER = urllib.request.build_opener(NoRedirect)


def handler(root, api):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def _send(self, status, body, headers):
            self.send_response(status)
            for k, v in headers:
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def _proxy(self):
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY:
                return self._send(413, b'{"message":"Request Entity Too Large"}', [("Content-Type", "application/json")])
            body = self.rfile.read(length) if length else None
            req = urllib.request.Request(api + self.path[len("/api"):] or "/", data=body, method=self.command,
                                         headers={k: v for k, v in self.headers.items() if k.lower() not in HOP})
            try:
                with OPENER.open(req, timeout=120) as r:
                    status, headers, data = r.status, r.getheaders(), r.read()
            except urllib.error.HTTPError as e:
                status, headers, data = e.code, e.headers.items(), e.read()
            except OSError as e:
                return self._send(502, f'{{"message":"API unreachable: {e}"}}'.encode(), [("Content-Type", "application/json")])
            self._send(status, data, [(k, v) for k, v in headers if k.lower() not in HOP])

        def _static(self):
            path = self.path.split("?", 1)[0].split("#", 1)[0]
            rel = os.path.normpath(path.lstrip("/")) if path != "/" else "index.html"
            full = os.path.join(root, rel)
            if rel.startswith("..") or not os.path.isfile(full):
                if "." in os.path.basename(rel):  # a missing file (config.json locally: the API is under /api)
                    return self._send(404, b"not found", [("Content-Type", "text/plain")])
                full = os.path.join(root, "index.html")  # the app routes by hash; any other path gets the app
            if not os.path.isfile(full):
                return self._send(503, b"console not built: make console", [("Content-Type", "text/plain")])
            with open(full, "rb") as f:
                data = f.read()
            kind = mimetypes.guess_type(full)[0] or "application/octet-stream"
            cache = "no-cache" if full.endswith("index.html") else "public, max-age=31536000, immutable"
            self._send(200, data, [("Content-Type", kind), ("Cache-Control", cache),
                                   ("X-Content-Type-Options", "nosniff"), ("Referrer-Policy", "no-referrer")])

        def _route(self):
            if self.path == "/api" or self.path.startswith("/api/"):
                return self._proxy()
            if self.command in ("GET", "HEAD"):
                return self._static()
            self._send(405, b"", [])

        do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = do_PATCH = _route

    return Handler


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--root", required=True)
    ap.add_argument("--api", required=True)
    a = ap.parse_args()
    ThreadingHTTPServer(("127.0.0.1", a.port), handler(a.root, a.api.rstrip("/"))).serve_forever()


if __name__ == "__main__":
    main()
