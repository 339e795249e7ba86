"""The local stack: AWS emulator (moto) + bootstrap from template.yaml + WeChat and Alipay sandboxes + every function
behind the API Gateway paths. `up` starts it in the background and waits until every part answers; `down` stops it; `dev`
runs it in the foreground; `token ROLE` prints a development JWT.

Everything lives under .local/: pids, logs, the generated sandbox component and stack.env (API_URL=, SANDBOX_URL=,
AWS_ENDPOINT_URL=, ...) for tests and tools.
"""
import base64
import hashlib
import hmac
import json
import os
import secrets
import signal
import string
import subprocess
import sys
import time
import urllib.error
import urllib.request

import boto3

import cfn
import eventlog

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
LOCAL = os.path.join(ROOT, ".local")
LOGS = os.path.join(LOCAL, "logs")
PIDS = os.path.join(LOCAL, "pids")
TEMPLATE = os.path.join(ROOT, "template.yaml")
AWS_PORT = int(os.environ.get("LOCAL_AWS_PORT", "4566"))
API_PORT = int(os.environ.get("LOCAL_API_PORT", "9000"))
SANDBOX_PORT = int(os.environ.get("LOCAL_SANDBOX_PORT", "9100"))
ALIPAY_PORT = int(os.environ.get("LOCAL_ALIPAY_PORT", "9110"))
CONSOLE_PORT = int(os.environ.get("LOCAL_CONSOLE_PORT", "9200"))
SOCKET_PORT = int(os.environ.get("LOCAL_SOCKET_PORT", "9001"))
PAY_PORT = int(os.environ.get("LOCAL_PAY_PORT", "9120"))
TENANT = "local-tenant"
ROLES = ("developer", "operator", "merchant", "admin")
AWS_ENV = {"AWS_ENDPOINT_URL": f"http://127.0.0.1:{AWS_PORT}", "AWS_REGION": cfn.REGION,
           "AWS_DEFAULT_REGION": cfn.REGION, "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"}


def log(msg):
    print(f"[stack] {msg}", flush=True)


def wait_http(url, what, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except urllib.error.HTTPError:
            return  # it answers
        except Exception:
            time.sleep(0.2)
    raise SystemExit(f"{what} did not answer at {url} within {timeout}s (see {LOGS})")


def start(name, argv, env=None):
    os.makedirs(LOGS, exist_ok=True)
    out = open(os.path.join(LOGS, f"{name}.log"), "ab")
    proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})},
                            cwd=ROOT, start_new_session=True)
    with open(os.path.join(PIDS, name), "w") as f:
        f.write(str(proc.pid))
    return proc


def bootstrap(resolver, template):
    """Creates the table, bucket and JWT secret exactly as template.yaml declares them."""
    session = boto3.Session(region_name=cfn.REGION, aws_access_key_id="test", aws_secret_access_key="test")
    endpoint = AWS_ENV["AWS_ENDPOINT_URL"]
    ddb = session.client("dynamodb", endpoint_url=endpoint)
    s3 = session.client("s3", endpoint_url=endpoint)
    sm = session.client("secretsmanager", endpoint_url=endpoint)
    events = session.client("events", endpoint_url=endpoint)
    logs = session.client("logs", endpoint_url=endpoint)
    sqs = session.client("sqs", endpoint_url=endpoint)
    rules = []
    # Dead-letter queues first: a queue's redrive policy names its dead-letter queue.
    queues = sorted((resolver.resolve(res.get("Properties") or {}) for res in template["Resources"].values()
                     if res["Type"] == "AWS::SQS::Queue"), key=lambda p: "RedrivePolicy" in p)
    for props in queues:
        attrs = {k: str(props[k]) for k in ("VisibilityTimeout", "MessageRetentionPeriod") if k in props}
        if "RedrivePolicy" in props:
            attrs["RedrivePolicy"] = json.dumps(props["RedrivePolicy"])
        sqs.create_queue(QueueName=props["QueueName"], Attributes=attrs)
        log(f"queue {props['QueueName']}")
    for logical_id, res in template["Resources"].items():
        props = resolver.resolve(res.get("Properties") or {})
        if res["Type"] == "AWS::DynamoDB::Table":
            args = {k: props[k] for k in ("TableName", "AttributeDefinitions", "KeySchema", "BillingMode",
                                          "GlobalSecondaryIndexes") if k in props}
            ddb.create_table(**args)
            ttl = props.get("TimeToLiveSpecification")
            if ttl:
                ddb.update_time_to_live(TableName=props["TableName"], TimeToLiveSpecification=ttl)
            log(f"table {props['TableName']}")
        elif res["Type"] == "AWS::S3::Bucket":
            s3.create_bucket(Bucket=props["BucketName"])
            log(f"bucket {props['BucketName']}")
            if logical_id == "AssetBucket":
                upload_poster_font(s3, props["BucketName"])
        elif res["Type"] == "AWS::SecretsManager::Secret":
            gen = props.get("GenerateSecretString") or {}
            alphabet = string.ascii_letters + string.digits
            value = "".join(secrets.choice(alphabet) for _ in range(int(gen.get("PasswordLength", 32))))
            sm.create_secret(Name=props["Name"], SecretString=value)
            log(f"secret {props['Name']}")
        elif res["Type"] == "AWS::Events::EventBus":
            events.create_event_bus(Name=props["Name"])
            log(f"event bus {props['Name']}")
        elif res["Type"] == "AWS::Logs::LogGroup":
            logs.create_log_group(logGroupName=props["LogGroupName"])
            log(f"log group {props['LogGroupName']}")
        elif res["Type"] == "AWS::Events::Rule":
            rules.append(props)  # after the bus and the targets exist
    for props in rules:
        events.put_rule(Name=props["Name"], EventBusName=props["EventBusName"],
                        EventPattern=json.dumps(props["EventPattern"]))
        events.put_targets(Rule=props["Name"], EventBusName=props["EventBusName"], Targets=props["Targets"])
        log(f"rule {props['Name']} -> {[t['Arn'] for t in props['Targets']]}")


# The font posters are written in (services/posters.rs reads it from this key), as a deployment uploads it.
POSTER_FONT_KEY = "assets/poster-font"
POSTER_FONTS = ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
                "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")


def upload_poster_font(s3, bucket):
    path = os.environ.get("POSTER_FONT") or next((p for p in POSTER_FONTS if os.path.exists(p)), None)
    if not path:
        log("no CJK font found (make up installs fonts-wqy-microhei): /app/card/poster answers 503 until one is "
            f"uploaded to s3://{bucket}/{POSTER_FONT_KEY}")
        return
    with open(path, "rb") as f:
        s3.put_object(Bucket=bucket, Key=POSTER_FONT_KEY, Body=f.read(), ContentType="font/collection")
    log(f"poster font {path}")


def sandbox_component():
    alnum = string.ascii_letters + string.digits
    return {"appid": "wx" + secrets.token_hex(8), "appsecret": secrets.token_hex(16),
            "token": "".join(secrets.choice(alnum) for _ in range(16)),
            "encodingAesKey": "".join(secrets.choice(alnum) for _ in range(43))}


def read_env():
    path = os.path.join(LOCAL, "stack.env")
    if not os.path.exists(path):
        raise SystemExit("the local stack is not running: start it with `make up`")
    with open(path) as f:
        return dict(line.strip().split("=", 1) for line in f if "=" in line)


def jwt_key(env):
    sm = boto3.client("secretsmanager", endpoint_url=env["AWS_ENDPOINT_URL"], region_name=cfn.REGION,
                      aws_access_key_id="test", aws_secret_access_key="test")
    return sm.get_secret_value(SecretId=env["JWT_SECRET_ID"])["SecretString"].encode()


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def sign_jwt(key, role, tenant, component, hours=12, sub=None):
    now = int(time.time())
    claims = {"sub": sub or f"local-{role}", "role": role, "tenant": tenant, "iat": now,
              "exp": now + int(hours * 3600)}
    if component:
        claims["component"] = component
    head = b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = b64url(json.dumps(claims).encode())
    sig = hmac.new(key, f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{b64url(sig)}"


def api(method, url, token, body=None):
    req = urllib.request.Request(url, method=method, data=json.dumps(body).encode() if body is not None else None,
                                 headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


def seed_users(api_url, admin_token, component_appid):
    """One user per role for the walk-through, created through the product's own POST /user/create."""
    users = []
    for role in ROLES:
        user = {"account": f"{role}@local", "password": secrets.token_urlsafe(12), "role": role,
                "components": [component_appid]}
        status, body = api("POST", f"{api_url}/user/create", admin_token, user)
        if status != 201:
            raise SystemExit(f"seeding user {user['account']} failed: {status} {body}")
        users.append(user)
    with open(os.path.join(LOCAL, "users.json"), "w") as f:
        json.dump(users, f, indent=1)
    return users


def alipay_keys():
    """The provider's Alipay application (made up: an app id and its key pair) and the sandbox's own key pair: the
    product gets its private key and the sandbox's public key, the sandbox the reverse."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    def pair():
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption()).decode()
        public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                               serialization.PublicFormat.SubjectPublicKeyInfo).decode()
        return private, public

    app_id = "2021" + "".join(secrets.choice(string.digits) for _ in range(12))
    (app_private, app_public), (alipay_private, alipay_public) = pair(), pair()
    product = {"appId": app_id, "privateKey": app_private, "alipayPublicKey": alipay_public}
    sandbox = {"appId": app_id, "appPublicKey": app_public, "alipayPrivateKey": alipay_private}
    return product, sandbox


def pay_keys():
    """The provider's WeChat Pay merchant (made up: ids, its API key pair and certificate serial, the APIv3 key) and
    the sandbox's platform certificate: the product gets what a provider registers with /pay/merchant, the sandbox
    the merchant's public key and its own platform key and certificate."""
    import datetime
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    def pem(key):
        return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                 serialization.NoEncryption()).decode()

    merchant, platform = (rsa.generate_private_key(public_exponent=65537, key_size=2048) for _ in range(2))
    serial = x509.random_serial_number()
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Tenpay.com Root CA (sandbox)")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(platform.public_key())
            .serial_number(serial).not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=3650)).sign(platform, hashes.SHA256()))
    alnum = string.ascii_letters + string.digits
    ids = {"spMchid": "1" + "".join(secrets.choice(string.digits) for _ in range(9)),
           "spAppid": "wx" + secrets.token_hex(8),
           "serialNo": secrets.token_hex(20).upper()}
    api_v3_key = "".join(secrets.choice(alnum) for _ in range(32))
    product = {**ids, "privateKey": pem(merchant), "apiV3Key": api_v3_key}
    sandbox = {**ids, "apiV3Key": api_v3_key, "platformPrivateKey": pem(platform),
               "merchantPublicKey": merchant.public_key().public_bytes(
                   serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode(),
               "platformCertificate": cert.public_bytes(serialization.Encoding.PEM).decode(),
               # The serial's bytes in upper-case hex, as WeChat Pay writes serials.
               "platformSerial": serial.to_bytes((serial.bit_length() + 7) // 8, "big").hex().upper()}
    return product, sandbox


def running():
    return os.path.isdir(PIDS) and any(os.listdir(PIDS))


def up(foreground=False):
    if running():
        down()
    os.makedirs(PIDS, exist_ok=True)
    os.makedirs(LOGS, exist_ok=True)
    bin_dir = os.environ.get("FUNCTION_BIN_DIR", os.path.join(ROOT, "target", "debug"))
    template = cfn.load(TEMPLATE)
    api_url, sandbox_url = f"http://127.0.0.1:{API_PORT}", f"http://127.0.0.1:{SANDBOX_PORT}"
    alipay_url = f"http://127.0.0.1:{ALIPAY_PORT}"
    console_url = f"http://127.0.0.1:{CONSOLE_PORT}"
    params = {"WechatApiBase": sandbox_url, "WechatMpBase": sandbox_url, "WechatOpenBase": sandbox_url,
              "AuthRedirectUrl": f"{api_url}/auth/redirect", "FrontendUrl": f"{api_url}/_local/frontend",
              "AlipayGateway": f"{alipay_url}/gateway.do", "AlipayAuthBase": alipay_url,
              "AlipayRedirectUrl": f"{api_url}/alipay/auth/redirect",
              # Locally every sweep polls open audits at once (AWS default: after 10 minutes).
              "AuditPollAfterSeconds": os.environ.get("LOCAL_AUDIT_POLL_AFTER_SECONDS", "0"),
              # ... and retries submissions waiting for the privacy scan at every run (AWS default: after a minute).
              "SweepRetrySeconds": os.environ.get("LOCAL_SWEEP_RETRY_SECONDS", "0"),
              # Batch targets look again within seconds locally (AWS default: a minute; retries from 15 s).
              "BatchPollSeconds": os.environ.get("LOCAL_BATCH_POLL_SECONDS", "2"),
              "BatchRetrySeconds": os.environ.get("LOCAL_BATCH_RETRY_SECONDS", "1"),
              # Forwards are tried again within seconds locally (AWS default: 30 s, doubling), and may go to the
              # tests' receivers on loopback addresses.
              "ForwardRetrySeconds": os.environ.get("LOCAL_FORWARD_RETRY_SECONDS", "1"),
              "ForwardAllowLoopback": "true",
              # Chat pushes go to the local WebSocket API's connection endpoint.
              "ChatSocketEndpoint": f"http://127.0.0.1:{SOCKET_PORT}",
              # WeChat Pay is the sandbox, and its notifications come to the local API.
              "WechatPayBase": f"http://127.0.0.1:{PAY_PORT}", "PayNotifyBase": api_url}
    resolver = cfn.Resolver(template, params)
    missing = sorted({f["binary"] for f in cfn.functions(template, resolver)
                      if not os.path.exists(os.path.join(bin_dir, f["binary"]))})
    if missing:
        raise SystemExit(f"function binary missing in {bin_dir}: {', '.join(missing)} (run `make build`)")

    py = sys.executable
    start("aws", [py, "infra/local/aws_emulator.py", "-H", "127.0.0.1", "-p", str(AWS_PORT)])
    wait_http(f"{AWS_ENV['AWS_ENDPOINT_URL']}/moto-api/", "AWS emulator")
    bootstrap(resolver, template)

    component = sandbox_component()
    with open(os.path.join(LOCAL, "sandbox-component.json"), "w") as f:
        json.dump(component, f)
    start("sandbox", [py, "infra/sandbox/wechat_sandbox.py", "--port", str(SANDBOX_PORT),
                      "--component", os.path.join(LOCAL, "sandbox-component.json"), "--push-base", api_url])
    wait_http(f"{sandbox_url}/health", "WeChat sandbox")
    alipay_app, alipay_sandbox = alipay_keys()
    for name, content in (("alipay-app.json", alipay_app), ("alipay-sandbox.json", alipay_sandbox)):
        with open(os.path.join(LOCAL, name), "w") as f:
            json.dump(content, f)
    start("alipay", [py, "infra/sandbox/alipay_sandbox.py", "--port", str(ALIPAY_PORT),
                     "--keys", os.path.join(LOCAL, "alipay-sandbox.json"), "--notify-base", api_url])
    wait_http(f"{alipay_url}/health", "Alipay sandbox")

    pay_merchant, pay_sandbox = pay_keys()
    for name, content in (("pay-merchant.json", pay_merchant), ("pay-sandbox.json", pay_sandbox)):
        with open(os.path.join(LOCAL, name), "w") as f:
            json.dump(content, f)
    pay_url = f"http://127.0.0.1:{PAY_PORT}"
    start("pay", [py, "infra/sandbox/wechat_pay_sandbox.py", "--port", str(PAY_PORT),
                  "--keys", os.path.join(LOCAL, "pay-sandbox.json")])
    wait_http(f"{pay_url}/health", "WeChat Pay sandbox")

    start("api", [py, "infra/local/gateway.py", "--template", TEMPLATE, "--binaries", bin_dir, "--port", str(API_PORT),
                  "--socket-port", str(SOCKET_PORT),
                  "--log-dir", LOGS, *[a for k, v in params.items() for a in ("--param", f"{k}={v}")],
                  "--openapi", os.path.join(ROOT, "docs", "openapi.yaml"), "--console-url", console_url,
                  "--schedule-seconds", os.environ.get("LOCAL_SCHEDULE_SECONDS", "0")], env=AWS_ENV)
    wait_http(f"{api_url}/_local/health", "local API")
    start("console", [py, "infra/local/console_server.py", "--port", str(CONSOLE_PORT),
                      "--root", os.path.join(ROOT, "console", "dist"), "--api", api_url])
    wait_http(f"{console_url}/", "console")

    env = {"API_URL": api_url, "SANDBOX_URL": sandbox_url, "CONSOLE_URL": console_url, **AWS_ENV,
           "CHAT_SOCKET_URL": f"ws://127.0.0.1:{SOCKET_PORT}",
           "PAY_SANDBOX_URL": f"http://127.0.0.1:{PAY_PORT}", "PAY_MERCHANT_FILE": os.path.join(LOCAL, "pay-merchant.json"),
           "ALIPAY_SANDBOX_URL": alipay_url, "ALIPAY_GATEWAY": f"{alipay_url}/gateway.do",
           "ALIPAY_APP_FILE": os.path.join(LOCAL, "alipay-app.json"),
           "TABLE_NAME": resolver.physical_name("StateTable"), "JWT_SECRET_ID": resolver.physical_name("JwtSigningKey"),
           "COMPONENT_SECRET_PREFIX": resolver.resolve(template["Globals"]["Function"]["Environment"]["Variables"]["COMPONENT_SECRET_PREFIX"]),
           "COMPONENT_APPID": component["appid"], "TENANT": TENANT, "LOG_DIR": LOGS}
    # Every function answers: an unauthenticated call to each route is refused by the function itself.
    for f in cfn.functions(template, resolver):
        for method, path in f["routes"][:1]:
            path = path.replace("{componentAppid}", component["appid"]).replace("{authorizerAppid}", "wx0000000000000000")
            wait_http(f"{api_url}{path}" if method == "GET" else f"{api_url}/_local/health", f["name"])

    admin = sign_jwt(jwt_key(env), "admin", TENANT, component["appid"])
    status, body = api("POST", f"{api_url}/component/register", admin,
                       {"appid": component["appid"], "appsecret": component["appsecret"], "token": component["token"],
                        "encodingAesKey": component["encodingAesKey"]})
    if status not in (200, 201):
        raise SystemExit(f"registering the sandbox component failed: {status} {body}")
    users = seed_users(api_url, admin, component["appid"])
    with open(os.path.join(LOCAL, "stack.env"), "w") as f:
        f.writelines(f"{k}={v}\n" for k, v in env.items())
    log(f"console        {console_url}   (log in with a user below)")
    log(f"API            {api_url}")
    log(f"chat WebSocket ws://127.0.0.1:{SOCKET_PORT}   (Authorization: Bearer <customer session>)")
    log(f"WeChat sandbox {sandbox_url}")
    log(f"Alipay sandbox {alipay_url}   (application {alipay_app['appId']}, keys in .local/alipay-app.json)")
    log(f"WeChat Pay     http://127.0.0.1:{PAY_PORT}   (merchant {pay_merchant['spMchid']}, settings in .local/pay-merchant.json)")
    log(f"AWS emulator   {AWS_ENV['AWS_ENDPOINT_URL']}")
    log(f"component      {component['appid']} registered; the sandbox pushes its first verify ticket now")
    log("users (POST /auth/login; also in .local/users.json):")
    for u in users:
        log(f"  {u['role']:<10} account={u['account']:<18} password={u['password']}")
    log("tokens:        make token ROLE=admin|developer|operator|merchant")
    log(f"stack.env      {os.path.join(LOCAL, 'stack.env')}")


def down():
    if not os.path.isdir(PIDS):
        return
    for name in os.listdir(PIDS):
        path = os.path.join(PIDS, name)
        try:
            with open(path) as f:
                os.killpg(int(f.read()), signal.SIGTERM)
        except (ProcessLookupError, ValueError, PermissionError):
            pass
        os.remove(path)
    env_path = os.path.join(LOCAL, "stack.env")
    if os.path.exists(env_path):
        os.remove(env_path)
    log("stopped")


def main():
    cmd = sys.argv[1] if len(sys.argv) > 1 else "up"
    if cmd == "up":
        up()
    elif cmd == "down":
        down()
    elif cmd == "dev":
        up()
        log("running in the foreground; Ctrl-C stops everything")
        try:
            subprocess.call(["tail", "-F", *[os.path.join(LOGS, n) for n in sorted(os.listdir(LOGS))]])
        except KeyboardInterrupt:
            pass
        finally:
            down()
    elif cmd == "token":
        role = sys.argv[2] if len(sys.argv) > 2 else "developer"
        if role not in ROLES:
            raise SystemExit(f"ROLE must be one of {', '.join(ROLES)}")
        env = read_env()
        print(sign_jwt(jwt_key(env), role, env["TENANT"], env["COMPONENT_APPID"]))
    elif cmd == "events":
        env = read_env()
        template = cfn.load(TEMPLATE)
        group = eventlog.log_group(template, cfn.Resolver(template, {}))
        limit = int(sys.argv[2]) if len(sys.argv) > 2 else 20
        for e in eventlog.recent(env["AWS_ENDPOINT_URL"], group, limit):
            d = e.get("detail", {})
            print(f"{e.get('time', '')}  {e.get('detail-type', ''):<24} {d.get('maAppId', '')}  {json.dumps(d.get('data', {}))}")
    else:
        raise SystemExit(f"usage: stack.py up|down|dev|token ROLE|events [N] (got {cmd})")


if __name__ == "__main__":
    main()
