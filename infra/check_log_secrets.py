"""No secret in the platform's logs: after a test run, every secret the run handed to the platform — the
component's appsecret, message token and EncodingAESKey, every access and refresh token the WeChat sandbox issued,
every Alipay app_auth_token, refresh token and authorization code the Alipay sandbox issued, the provider
application's Alipay private key, the WeChat Pay merchant's private key and APIv3 key, the JWT signing key, the local accounts' passwords — is looked for in every function's log of that run
(`.local/logs/`, all but the sandbox's and the emulator's own). Run by `make test` before the stack stops; prints
where each one was found (masked) and fails on any."""
import glob
import json
import os
import sys
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "local"))
import stack  # noqa: E402

NOT_THE_PLATFORM = {"sandbox.log", "alipay.log", "pay.log", "aws.log"}


def run_secrets(env):
    with urllib.request.urlopen(env["SANDBOX_URL"] + "/control/issued-secrets", timeout=30) as r:
        found = {s: "issued by the WeChat sandbox" for s in json.load(r)["secrets"]}
    with urllib.request.urlopen(env["ALIPAY_SANDBOX_URL"] + "/control/issued-secrets", timeout=30) as r:
        found.update({s: "issued by the Alipay sandbox" for s in json.load(r)["secrets"]})
    with open(env["ALIPAY_APP_FILE"]) as f:
        key = "".join(line for line in json.load(f)["privateKey"].splitlines() if not line.startswith("-----"))
    # Any stretch of the key's body would betray it: three far apart are looked for.
    for at in (100, len(key) // 2, len(key) - 200):
        found[key[at:at + 40]] = "the Alipay application's private key"
    with open(env["PAY_MERCHANT_FILE"]) as f:
        merchant = json.load(f)
    key = "".join(line for line in merchant["privateKey"].splitlines() if not line.startswith("-----"))
    for at in (100, len(key) // 2, len(key) - 200):
        found[key[at:at + 40]] = "the WeChat Pay merchant's private key"
    found[merchant["apiV3Key"]] = "the WeChat Pay APIv3 key"
    found[stack.jwt_key(env).decode()] = "JWT signing key"
    with open(os.path.join(stack.LOCAL, "users.json")) as f:
        for user in json.load(f):
            found[user["password"]] = f"password of {user['account']}"
    return {s: what for s, what in found.items() if s and len(s) >= 8}


def main():
    env = stack.read_env()
    wanted = run_secrets(env)
    logs = [p for p in sorted(glob.glob(os.path.join(env["LOG_DIR"], "*.log")))
            if os.path.basename(p) not in NOT_THE_PLATFORM]
    leaks, leaked, size = [], set(), 0
    for path in logs:
        with open(path, errors="replace") as f:
            text = f.read()
        size += len(text)
        for secret, what in wanted.items():
            at = text.find(secret)
            if at >= 0:
                line = text.count("\n", 0, at) + 1
                leaks.append(f"{os.path.basename(path)}:{line}: {what} ({secret[:4]}…)")
                leaked.add(secret)
    for leak in leaks:
        print("secret in log:", leak)
    print(f"log secrets: {len(wanted)} secrets looked for in {len(logs)} logs ({size // 1024} KiB)")
    print(f"log secrets: {len(wanted) - len(leaked)} passed, {len(leaked)} failed")
    if leaks:
        sys.exit(1)


if __name__ == "__main__":
    main()
