"""Local API Gateway WebSocket API: the chat's push channel, served by the local gateway on its own port.

A client's upgrade request is handed to the `$connect` function as API Gateway's Lambda proxy event would be (headers,
query string, a new connection id); a non-2xx status refuses the upgrade with that status, as API Gateway does. While
the connection is open, frames from the client are read (pings answered, a close ends it) and the `$disconnect`
function is invoked when it ends. The connection management API is served on the same port, as the SDK calls it:
`POST /@connections/{id}` sends the body as one text frame (410 GoneException for a connection that is not open),
`GET` describes it and `DELETE` closes it. Frames are RFC 6455, text and control only, as the chat needs.
"""
import base64
import hashlib
import json
import struct
import threading
import time
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
MAX_FRAME = 128 * 1024  # API Gateway's WebSocket frame limit is 32 KB; anything larger is not a chat client


class Connection:
    def __init__(self, connection_id, wfile, source_ip):
        self.id = connection_id
        self.wfile = wfile
        self.lock = threading.Lock()
        self.connected_at = time.time()
        self.source_ip = source_ip
        self.open = True

    def send(self, opcode, payload):
        header = bytes([0x80 | opcode])
        n = len(payload)
        if n < 126:
            header += bytes([n])
        elif n < 65536:
            header += bytes([126]) + struct.pack(">H", n)
        else:
            header += bytes([127]) + struct.pack(">Q", n)
        with self.lock:
            self.wfile.write(header + payload)
            self.wfile.flush()


def read_frame(rfile):
    """One frame from the client: (opcode, payload), or None when the stream ended or broke the protocol."""
    head = rfile.read(2)
    if len(head) < 2:
        return None
    opcode, length, masked = head[0] & 0x0F, head[1] & 0x7F, head[1] & 0x80
    if length == 126:
        length = struct.unpack(">H", rfile.read(2))[0]
    elif length == 127:
        length = struct.unpack(">Q", rfile.read(8))[0]
    if not masked or length > MAX_FRAME:  # clients must mask (RFC 6455 5.1)
        return None
    mask = rfile.read(4)
    data = rfile.read(length)
    if len(mask) < 4 or len(data) < length:
        return None
    return opcode, bytes(b ^ mask[i % 4] for i, b in enumerate(data))


class SocketApi:
    def __init__(self, connect_fn, disconnect_fn):
        self.connect_fn = connect_fn
        self.disconnect_fn = disconnect_fn
        self.connections = {}
        self.lock = threading.Lock()

    def event(self, route, connection_id, headers=None, query=None):
        now = time.time()
        kind = {"$connect": "CONNECT", "$disconnect": "DISCONNECT"}.get(route, "MESSAGE")
        return {
            "headers": headers or None, "multiValueHeaders": None,
            "queryStringParameters": query or None, "isBase64Encoded": False,
            "requestContext": {
                "routeKey": route, "eventType": kind, "connectionId": connection_id, "apiId": "local",
                "stage": "live", "domainName": "127.0.0.1", "requestId": str(uuid.uuid4()),
                "connectedAt": int(now * 1000), "requestTimeEpoch": int(now * 1000),
                "messageDirection": "IN",
            },
        }


def make_socket_handler(api):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def _json(self, status, obj, headers=None):
            body = json.dumps(obj).encode()
            self.send_response(status)
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _gone(self):
            self._json(410, {"message": "Gone", "__type": "GoneException"}, {"x-amzn-ErrorType": "GoneException"})

        def _target(self):
            path = urllib.parse.urlsplit(self.path).path
            prefix = "/@connections/"
            return urllib.parse.unquote(path[len(prefix):]) if path.startswith(prefix) else None

        def do_POST(self):  # PostToConnection
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            target = self._target()
            conn = api.connections.get(target) if target else None
            if conn is None or not conn.open:
                return self._gone()
            try:
                print(f"[socket] post {target} {len(body)} bytes", flush=True)
                conn.send(0x1, body)
            except OSError:
                conn.open = False
                return self._gone()
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def do_DELETE(self):  # DeleteConnection
            target = self._target()
            conn = api.connections.get(target) if target else None
            if conn is None or not conn.open:
                return self._gone()
            try:
                conn.send(0x8, struct.pack(">H", 1000))
            except OSError:
                pass
            conn.open = False
            self.send_response(204)
            self.end_headers()

        def do_GET(self):
            target = self._target()
            if target is not None:  # GetConnection
                conn = api.connections.get(target)
                if conn is None or not conn.open:
                    return self._gone()
                at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(conn.connected_at))
                return self._json(200, {"connectedAt": at, "identity": {"sourceIp": conn.source_ip}})
            if self.headers.get("Upgrade", "").lower() != "websocket" or not self.headers.get("Sec-WebSocket-Key"):
                return self._json(426, {"message": "Upgrade Required"})
            self._upgrade()

        def _upgrade(self):
            connection_id = base64.urlsafe_b64encode(uuid.uuid4().bytes[:12]).decode().rstrip("=")
            headers = {k: v for k, v in self.headers.items()}
            query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(self.path).query))
            result, error = api.connect_fn.invoke(api.event("$connect", connection_id, headers, query))
            status = 502
            if not error and result:
                try:
                    status = int(json.loads(result).get("statusCode", 200))
                except (ValueError, AttributeError):
                    status = 502
            if not 200 <= status < 300:
                self.close_connection = True
                return self._json(status, {"message": "Forbidden" if status in (401, 403) else "Internal server error"})
            accept = base64.b64encode(hashlib.sha1((self.headers["Sec-WebSocket-Key"] + GUID).encode()).digest())
            self.send_response(101, "Switching Protocols")
            self.send_header("Upgrade", "websocket")
            self.send_header("Connection", "Upgrade")
            self.send_header("Sec-WebSocket-Accept", accept.decode())
            self.end_headers()
            self.wfile.flush()
            conn = Connection(connection_id, self.wfile, self.client_address[0])
            with api.lock:
                api.connections[connection_id] = conn
            try:
                while conn.open:
                    frame = read_frame(self.rfile)
                    if frame is None:
                        break
                    opcode, payload = frame
                    if opcode == 0x8:  # close: answer it and end
                        try:
                            conn.send(0x8, payload[:2])
                        except OSError:
                            pass
                        break
                    if opcode == 0x9:  # ping
                        conn.send(0xA, payload)
                    # Text and binary frames: no routes but $connect and $disconnect are defined (API Gateway
                    # would answer them with an error frame); the chat sends over HTTP.
            except OSError:
                pass
            finally:
                conn.open = False
                with api.lock:
                    api.connections.pop(connection_id, None)
                self.close_connection = True
                api.disconnect_fn.invoke(api.event("$disconnect", connection_id))

    return Handler
