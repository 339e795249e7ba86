"""Warm requests through the local gateway: for ten representative routes, p50 and p99 latency over N requests made
one after another on a warm function, and the calls each request makes, on average: DynamoDB, S3, Secrets Manager,
EventBridge and SQS (counted by the emulator, `GET /_local/calls`, with reads of token records apart) and WeChat
(counted by the sandbox). `GET /openapi.json`, answered by the gateway itself, is the floor: what the local gateway
adds to every request. Setup follows the README's walk-through (a template released to the market, a merchant's
mini-program authorized through the link, decorated, with a privacy contact). Usage: python bench/warm.py [N]"""
import http.client
import json
import statistics
import sys
import time
import urllib.parse

sys.path.insert(0, "infra/local")
import stack  # noqa: E402

N = int(sys.argv[1]) if len(sys.argv) > 1 else 100
env = stack.read_env()
component = env["COMPONENT_APPID"]
key = stack.jwt_key(env)
tokens = {role: stack.sign_jwt(key, role, env["TENANT"], component)
          for role in ("admin", "developer", "operator", "merchant")}


class Client:
    """One keep-alive connection, as a front end would hold."""

    def __init__(self, base):
        u = urllib.parse.urlsplit(base)
        self.conn = http.client.HTTPConnection(u.hostname, u.port, timeout=60)

    def call(self, method, path, body=None, token=None):
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self.conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
        resp = self.conn.getresponse()
        data = resp.read()
        return resp.status, json.loads(data) if data[:1] in (b"{", b"[") else data


api, sandbox, aws = Client(env["API_URL"]), Client(env["SANDBOX_URL"]), Client(env["AWS_ENDPOINT_URL"])


def ok(method, path, body=None, role="merchant"):
    status, out = api.call(method, path, body, tokens[role])
    if status >= 300:
        raise SystemExit(f"{method} {path}: {status} {out}")
    return out


def authorize():
    """The merchant opens the authorization link; the sandbox consents and redirects back through the gateway."""
    link = ok("GET", "/auth/link?kind=pc")["url"]
    hop = link
    for _ in range(5):
        u = urllib.parse.urlsplit(hop)
        c = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
        c.request("GET", f"{u.path}?{u.query}" if u.query else u.path)
        r = c.getresponse()
        body = r.read()
        if r.status in (301, 302, 303, 307):
            hop = urllib.parse.urljoin(hop, r.getheader("Location"))
            continue
        return json.loads(body)["frontend"]["maAppId"]
    raise SystemExit("the authorization link did not come back")


def template():
    draft = sandbox.call("POST", "/control/drafts", {"userVersion": "1.0.0"})[1]
    created = ok("POST", "/draft/release", {
        "draftId": draft["draft_id"], "industryId": "catering", "industryName": "Catering",
        "config": {"theme": "red"}, "pages": [{"pageKey": "home", "name": "Home", "config": {}}]}, "developer")
    tid = created["template"]["id"]
    ok("POST", "/template/handover", {"id": tid, "version": 1}, "developer")
    ok("POST", "/template/update", {"id": tid, "version": 2, "desc": "Warm"}, "operator")
    ok("POST", "/template/release", {"id": tid, "version": 3}, "operator")
    return tid


def counts():
    aws_calls = aws.call("GET", "/_local/calls")[1]
    wechat = sandbox.call("GET", "/control/counters")[1]
    return aws_calls, wechat


# The local gateway's own polling of the batch queue (Lambda's event source mapping) is not a request's call.
POLLING = ("sqs ReceiveMessage", "sqs DeleteMessageBatch", "sqs GetQueueAttributes")


def delta(before, after):
    (a0, w0), (a1, w1) = before, after
    calls = {k: v - a0.get(k, 0) for k, v in a1.items() if v != a0.get(k, 0) and k not in POLLING}
    calls["wechat"] = sum(v - w0.get(k, 0) for k, v in w1.items() if isinstance(v, int))
    return calls


def measure(name, method, path, body=None, role="merchant", n=N, between=None, warm=3):
    token = tokens[role] if name != "floor" else None
    make_body = body if callable(body) else (lambda: body)
    for _ in range(warm):  # warm the function: its first request is its cold start
        if between:
            between()
        api.call(method, path, make_body(), token)
    samples, totals = [], {}
    for _ in range(n):
        if between:
            between()
        sent = make_body()
        before = counts()
        t0 = time.perf_counter()
        status, out = api.call(method, path, sent, token)
        samples.append((time.perf_counter() - t0) * 1000)
        if status >= 300:
            raise SystemExit(f"{name}: {status} {out}")
        for k, v in delta(before, counts()).items():
            totals[k] = totals.get(k, 0) + v
    samples.sort()
    row = {"route": name, "n": n, "p50Ms": round(statistics.median(samples), 1),
           "p99Ms": round(samples[min(n - 1, int(n * 0.99))], 1),
           "perRequest": {k: round(v / n, 2) for k, v in sorted(totals.items())}}
    print(json.dumps(row), flush=True)
    return row


def main():
    tid = template()
    ma = authorize()
    ok("POST", "/config/save", {"maAppId": ma, "templateId": tid, "config": {"theme": "gold"},
                                "pages": [{"pageKey": "home", "name": "Home", "config": {}}]})
    ok("POST", "/miniprogram/privacy", {"maAppId": ma, "ownerSetting": {
        "contactEmail": "owner@tea.example.com", "noticeMethod": "popup"}})
    q = urllib.parse.quote
    def save():
        """The next save, on the version the merchant last read (each save is optimistic: it names its version)."""
        current = ok("GET", f"/config/query?maAppId={q(ma)}&templateId={q(tid)}")
        return {"maAppId": ma, "templateId": tid, "config": {"theme": "gold"}, "version": current["version"],
                "pages": [{"pageKey": "home", "name": "Home", "config": {}}]}
    rows = [
        measure("floor", "GET", "/openapi.json"),
        measure("GET /component/status", "GET", "/component/status", role="admin"),
        measure("GET /authorizer/list", "GET", "/authorizer/list", role="admin"),
        measure("GET /authorizer/info", "GET", f"/authorizer/info?authorizerAppid={q(ma)}", role="admin"),
        measure("GET /template/market", "GET", "/template/market"),
        measure("GET /config/query", "GET", f"/config/query?maAppId={q(ma)}&templateId={q(tid)}"),
        measure("POST /config/save", "POST", "/config/save", save),
        measure("GET /miniprogram/list", "GET", "/miniprogram/list"),
        measure("GET /code/versions", "GET", f"/code/versions?maAppId={q(ma)}"),
        measure("GET /tester/list", "GET", f"/tester/list?maAppId={q(ma)}"),
        measure("GET /callback/records", "GET", "/callback/records?type=component_verify_ticket", role="admin"),
    ]
    # A release commits, takes the trial QR code and submits for audit; withdrawing the audit (and a new day at the
    # sandbox, for WeChat's daily withdrawal limit) puts the mini-program back for the next one. WeChat allows 10
    # withdrawals a month, so a release is measured 8 times (p99 is then the slowest).
    def undo():
        sandbox.call("POST", "/control/day/next", {})
        status, out = api.call("POST", "/code/audit/undo", {"maAppId": ma}, tokens["merchant"])
        if status >= 300 and status != 409:
            raise SystemExit(f"undo: {status} {out}")

    rows.append(measure("POST /code/release", "POST", "/code/release",
                        {"maAppId": ma, "userVersion": "1.0.0"}, n=min(N, 8), between=undo, warm=1))
    print(json.dumps({"rows": rows}, indent=1))


if __name__ == "__main__":
    main()
