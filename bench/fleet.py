"""Fleet benchmark against the local stack, every WeChat call slowed to 50 ms by the sandbox:
1. a batch release of N mini-programs (default 1,000) until `submitted`, twice:
   - unpaced: WeChat's audit quota covers the whole batch: wall time, submissions per second;
   - paced: the quota starts empty and the sandbox gives audits back at R a second (FLEET_QUOTA_RATE, default 4):
     submissions per second against R, the goal being at least 90% of it;
   each with duplicate commits or submits read from the sandbox's own records;
2. the scheduled token refresh of M authorizer tokens (default 10,000) that are all due: invocations and wall time
   until every one is fresh.
The fleet is created in bulk (sandbox /control/authorize/bulk) and its records written straight into the table in the
store's format, as if each mini-program had been authorized through the consent page: the push handling itself is
measured elsewhere (push throughput). Usage: python bench/fleet.py [batch_targets] [tokens]"""
import json
import os
import sys
import time
import urllib.error
import urllib.request

import boto3

sys.path.insert(0, "infra/local")
import stack  # noqa: E402

LATENCY_MS = 50
batch_n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
token_n = int(sys.argv[2]) if len(sys.argv) > 2 else 10000
env = stack.read_env()
component = env["COMPONENT_APPID"]
key = stack.jwt_key(env)
dev = stack.sign_jwt(key, "developer", env["TENANT"], component)
ops = stack.sign_jwt(key, "operator", env["TENANT"], component)
table = boto3.resource("dynamodb", endpoint_url=env["AWS_ENDPOINT_URL"], region_name=env["AWS_REGION"],
                       aws_access_key_id="test", aws_secret_access_key="test").Table(env["TABLE_NAME"])


def call(method, url, body=None, token=None, timeout=300):
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    req = urllib.request.Request(url, method=method, headers=headers,
                                 data=json.dumps(body).encode() if body is not None else None)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


def api(method, path, body=None, token=ops):
    code, out = call(method, env["API_URL"] + path, body, token)
    if code >= 300:
        raise SystemExit(f"{method} {path}: {code} {out}")
    return out


def sandbox(path, body=None, method="POST"):
    return call(method, env["SANDBOX_URL"] + path, body)[1]


def fleet(n, token_expires_at=None):
    """n mini-programs authorized at the sandbox and recorded as authorized here (tokens due when asked)."""
    made = sandbox("/control/authorize/bulk", {"count": n})["authorizers"]
    now = int(time.time())
    with table.batch_writer() as w:
        for a in made:
            w.put_item(Item={"PK": f"COMP#{component}", "SK": f"AUTHZ#{a['appid']}", "authorizer_appid": a["appid"],
                             "status": "authorized", "refresh_token": a["refreshToken"],
                             "refresh_token_at": a["authTime"] * 1000, "is_mini_program": True,
                             "nick_name": f"Shop {a['appid'][-4:]}", "user_name": a["userName"],
                             "authorized_at": a["authTime"], "updated_at": now, "last_event_time": a["authTime"]})
            if token_expires_at is not None:
                shard = 0
                for b in f"{component}#{a['appid']}".encode():
                    shard = (shard * 31 + b) & 0xFFFFFFFF
                w.put_item(Item={"PK": f"COMP#{component}", "SK": f"TOKEN#AUTHZ#{a['appid']}",
                                 "token": "stale-" + a["appid"], "expires_at": token_expires_at, "refreshed_at": now,
                                 "version": 1, "GSI1PK": f"TOKENDUE#{shard % 8}",
                                 "GSI1SK": f"{token_expires_at:010d}#{component}#{a['appid']}"})
    return [a["appid"] for a in made]


def published_template():
    draft = sandbox("/control/drafts", {})["draft_id"]
    t = api("POST", "/draft/release", {"draftId": draft, "industryId": "bench", "industryName": "Bench", "config": {},
                                       "pages": [{"pageKey": "home", "name": "Home", "config": {}}]}, dev)["template"]
    api("POST", "/template/handover", {"id": t["id"], "version": 1}, dev)
    api("POST", "/template/release", {"id": t["id"], "version": 2})
    return t["id"]


def counters():
    return sandbox("/control/counters", method="GET")


def batch_bench(appids, template, quota_rate=None):
    if quota_rate is None:
        sandbox("/control/quota", {"rest": batch_n, "limit": batch_n, "refillPerSecond": 0})
    else:
        sandbox("/control/quota", {"rest": 0, "limit": batch_n, "refillPerSecond": quota_rate})
    before = counters()
    version = f"9.{int(time.time())}"
    started = time.time()
    # One batch takes at most 1,000 ids.
    batch = api("POST", "/batch/release", {"templateId": template, "maAppIds": appids[:1000],
                                           "userVersion": version, "until": "submitted"})["batchId"]
    while True:
        status = api("GET", f"/batch/status?batchId={batch}")
        if status["state"] in ("completed", "cancelled"):
            break
        if time.time() - started > 3600:
            raise SystemExit(f"batch still {status['state']} after an hour: {status['counts']}")
        time.sleep(1)
    elapsed = time.time() - started
    sandbox("/control/quota", {"refillPerSecond": 0})
    after = counters()
    state = sandbox("/control/state", method="GET")
    ours = {a["appid"]: a for a in state["authorizers"] if a["appid"] in set(appids)}
    dup_commits = sum(max(0, a["commits"].count(version) - 1) for a in ours.values())
    dup_submits = sum(max(0, a["submits"].count(version) - 1) for a in ours.values())
    submitted = sum(1 for a in ours.values() if version in a["submits"])
    calls = {k: after.get(k, 0) - before.get(k, 0) for k in after if after.get(k, 0) != before.get(k, 0)}
    per_target = sum(calls.values()) / max(submitted, 1)
    # The worker runs at most 5 invocations of 5 messages at once (template.yaml): 25 targets in flight. With every
    # WeChat call taking 50 ms, that bounds the rate at 25 / (calls per target x 50 ms).
    bound = 25 / (per_target * LATENCY_MS / 1000)
    rate = submitted / elapsed
    out = {"targets": batch_n, "counts": status["counts"], "seconds": round(elapsed, 1),
           "submitted": submitted, "submits_per_second": round(rate, 2),
           "wechat_calls_per_target": round(per_target, 1), "latency_bound_per_second": round(bound, 2),
           "ratio_to_bound": round(rate / bound, 2),
           "duplicate_commits": dup_commits, "duplicate_submits": dup_submits, "wechat_calls": calls}
    if quota_rate is not None:
        # The quota allowed `quota_rate` a second from the start: the submissions made against those allowed.
        out.update(quota_per_second=quota_rate, ratio_to_quota=round(rate / quota_rate, 3))
    return out


def token_bench():
    sandbox("/control/day/next", {})  # the batch's token calls count against the same daily quota
    due_at = int(time.time()) + 60  # inside the refresh margin: every one is due
    have = token_n
    appids = fleet(have, token_expires_at=due_at)
    invocations, started, refreshed, due = 0, time.time(), 0, None
    while True:
        code, summary = call("POST", env["API_URL"] + "/2015-03-31/functions/token-refresh/invocations",
                             {"source": "aws.scheduler"}, timeout=600)
        invocations += 1
        refreshed += summary.get("authorizerTokensRefreshed", 0)
        due = summary.get("authorizerTokensDue")
        if not summary.get("budgetSpent") or invocations >= 10:
            break
    elapsed = time.time() - started
    fresh = 0
    for a in appids[:: max(1, len(appids) // 200)]:  # a sample of 200 read back
        item = table.get_item(Key={"PK": f"COMP#{component}", "SK": f"TOKEN#AUTHZ#{a}"})["Item"]
        fresh += int(item["expires_at"]) > due_at + 3600
    sample = len(appids[:: max(1, len(appids) // 200)])
    return {"tokens": have, "invocations": invocations, "seconds": round(elapsed, 1), "refreshed": refreshed,
            "due_left_in_last_run": due, "sample_fresh": f"{fresh}/{sample}",
            "tokens_per_second": round(refreshed / elapsed, 1)}


sandbox("/control/faults", {"endpoint": "*", "latencyMs": LATENCY_MS, "times": -1})
try:
    results = {"latency_ms": LATENCY_MS}
    if batch_n:
        template = published_template()
        results["batch"] = batch_bench(fleet(batch_n), template)
        sandbox("/control/day/next", {})  # each batch makes ~9 calls per target against WeChat's daily quota
        rate = float(os.environ.get("FLEET_QUOTA_RATE", "4"))
        results["batch_paced"] = batch_bench(fleet(batch_n), template, quota_rate=rate)
    results["token_refresh"] = token_bench()
finally:
    sandbox("/control/faults", method="DELETE")
print(json.dumps(results, indent=2))
