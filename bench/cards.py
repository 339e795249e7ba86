"""The runtime API's card-view path under concurrent customers: C customers of one merchant's mini-program log in
(each its own `wx.login` code) and view the same staff card R times each, all at once, every customer on its own
keep-alive connection. Prints p50/p99 of the views, views per second, and the calls each view made on average
(DynamoDB and the rest counted by the emulator, `GET /_local/calls`; WeChat by the sandbox: none is expected).
Setup follows the README's runtime step. Usage: python bench/cards.py [customers] [views each]"""
import json
import statistics
import sys
import threading
import time
import urllib.parse

sys.path.insert(0, "bench")
sys.path.insert(0, "infra/local")
import warm  # noqa: E402  (its clients, tokens and call counting)

C = int(sys.argv[1]) if len(sys.argv) > 1 else 200
R = int(sys.argv[2]) if len(sys.argv) > 2 else 10


def login(appid, user):
    code = warm.sandbox.call("POST", "/control/jscode", {"appid": appid, "user": user})[1]["code"]
    c = warm.Client(warm.env["API_URL"])
    status, out = c.call("POST", "/app/login", {"componentAppid": warm.component, "appid": appid, "code": code})
    if status != 200:
        raise SystemExit(f"login: {status} {out}")
    return c, out["session"]


def main():
    appid = warm.authorize()
    staff = warm.ok("POST", "/app/staff/save", {"maAppId": appid, "card": {"name": "王芳", "position": "店长"}})["id"]
    customers = [login(appid, f"customer-{i}") for i in range(C)]
    path = f"/app/card?staffId={urllib.parse.quote(staff)}"
    for c, session in customers[:3]:  # warm the function: its first request is its cold start
        c.call("GET", path, None, session)
    samples, failures, lock = [], [], threading.Lock()
    start = threading.Barrier(C + 1)

    def customer(c, session):
        start.wait()
        mine = []
        for _ in range(R):
            t0 = time.perf_counter()
            status, out = c.call("GET", path, None, session)
            mine.append((time.perf_counter() - t0) * 1000)
            if status != 200:
                with lock:
                    failures.append((status, out))
        with lock:
            samples.extend(mine)

    threads = [threading.Thread(target=customer, args=cs) for cs in customers]
    for t in threads:
        t.start()
    before = warm.counts()
    start.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0
    calls = warm.delta(before, warm.counts())
    if failures:
        raise SystemExit(f"{len(failures)} views failed, e.g. {failures[0]}")
    n = len(samples)
    samples.sort()
    views = warm.ok("GET", f"/app/staff/list?maAppId={urllib.parse.quote(appid)}")["items"][0]["views"]
    print(json.dumps({"route": "GET /app/card", "customers": C, "viewsEach": R, "n": n,
                      "p50Ms": round(statistics.median(samples), 1),
                      "p99Ms": round(samples[min(n - 1, int(n * 0.99))], 1),
                      "viewsPerSecond": round(n / elapsed, 1),
                      "countedViews": views,
                      "perRequest": {k: round(v / n, 2) for k, v in sorted(calls.items())}}, indent=1))


if __name__ == "__main__":
    main()
