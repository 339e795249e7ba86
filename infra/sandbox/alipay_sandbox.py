"""Alipay sandbox: the open-platform gateway the product calls for merchants' Alipay mini-programs, checking the
RSA2 signature of every request against the provider's application key and signing every answer with its own,
with Alipay's node names, `code`/`sub_code` errors, the asynchronous build, the version states and the merchant
consent page (appToAppAuth). Control API under /control/ for tests and demos (README.md in this folder).

Run: python3 alipay_sandbox.py --port 9110 --keys .local/alipay-sandbox.json
"""
import argparse
import base64
import datetime
import email.parser
import email.policy
import hashlib
import json
import secrets
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

from common import Answer, Clock, Faults, serve

CODE_LIFETIME = 24 * 3600
TOKEN_LIFETIME = 31_536_000
REFRESH_LIFETIME = 32_140_800
GRAY_STRATEGIES = ("p10", "p30", "p50")
# Only one version at a time may be in these (CAN_NOT_SUBMIT_WITH_AUDIT_GRAY).
OPEN_AUDIT_STATES = ("AUDITING", "WAIT_RELEASE", "AUDIT_REJECT", "GRAY")
TOKEN_METHODS_WITHOUT_MINI_APP = ("alipay.open.auth.token.app",)
MEMBER_CAPS = {"DEVELOPER": 30, "EXPERIENCER": 50}
QR_RULE_CAP = 20
DEMO_TEMPLATE = "2021000000000001"


class Refusal(Exception):
    def __init__(self, code, sub_code, sub_msg, msg=None):
        super().__init__(sub_code)
        self.code, self.sub_code, self.sub_msg = code, sub_code, sub_msg
        self.msg = msg or {"20000": "Service Currently Unavailable", "20001": "Insufficient Token Permissions",
                           "40001": "Missing Required Arguments", "40002": "Invalid Arguments",
                           "40004": "Business Failed", "40006": "Insufficient Permissions"}.get(code, "Failed")


def business(sub_code, sub_msg):
    return Refusal("40004", sub_code, sub_msg)


def request_content(params):
    """What a request is signed over: all but `sign`, empty values dropped, sorted, `k=v` joined by `&`."""
    return "&".join(f"{k}={v}" for k, v in sorted(params.items())
                    if k not in ("sign", "_files") and v != "")


def version_key(text):
    parts = text.split(".")
    if len(parts) != 3 or not all(p.isdigit() for p in parts):
        return None
    if any(int(p) > 2147483647 for p in parts):
        return None
    return tuple(int(p) for p in parts)


class Sandbox:
    def __init__(self, keys, build_seconds, public_base, notify_base=None):
        self.lock = threading.RLock()
        self.clock, self.faults = Clock(), Faults()
        self.isv_app_id = keys["appId"]
        # Third-party applications the sandbox knows; more are added by a control call (they share the key pair).
        self.isv_app_ids = {self.isv_app_id}
        self.app_public = serialization.load_pem_public_key(keys["appPublicKey"].encode())
        self.alipay_private = serialization.load_pem_private_key(keys["alipayPrivateKey"].encode(), None)
        self.build_seconds, self.public_base, self.notify_base = build_seconds, public_base, notify_base
        self.notifications = []  # what was sent: {kind, notify_id, status, body}
        # template_id -> [released template versions]; one is there from the start, for the README's walk-through.
        self.templates = {DEMO_TEMPLATE: ["0.0.1"]}
        self.apps = {}  # mini_app_id -> merchant mini-program
        self.codes = {}  # app_auth_code -> {mini_app_id, expires, used}
        self.tokens = {}  # app_auth_token -> mini_app_id
        self.refresh = {}  # app_refresh_token -> mini_app_id
        self.tamper = 0
        self.counters = {}
        self.issued = set()  # every token, refresh token and code ever handed out
        self.next_app = 2021004000000000
        self.methods = {
            "alipay.open.auth.token.app": self.token_app,
            "alipay.open.mini.version.upload": self.version_upload,
            "alipay.open.mini.version.build.query": self.build_query,
            "alipay.open.mini.version.detail.query": self.detail_query,
            "alipay.open.mini.version.list.query": self.list_query,
            "alipay.open.mini.experience.create": self.experience_create,
            "alipay.open.mini.experience.query": self.experience_query,
            "alipay.open.mini.experience.cancel": self.experience_cancel,
            "alipay.open.mini.version.audit.apply": self.audit_apply,
            "alipay.open.mini.version.audit.cancel": self.audit_cancel,
            "alipay.open.mini.version.audited.cancel": self.audited_cancel,
            "alipay.open.mini.version.gray.online": self.gray_online,
            "alipay.open.mini.version.gray.cancel": self.gray_cancel,
            "alipay.open.mini.version.online": self.online,
            "alipay.open.mini.version.offline": self.offline,
            "alipay.open.mini.version.rollback": self.rollback,
            "alipay.open.mini.version.delete": self.delete,
            "alipay.open.mini.baseinfo.query": self.baseinfo_query,
            "alipay.open.mini.baseinfo.modify": self.baseinfo_modify,
            "alipay.open.app.members.create": self.members_create,
            "alipay.open.app.members.delete": self.members_delete,
            "alipay.open.app.members.query": self.members_query,
            "alipay.open.app.qrcode.create": self.qrcode_create,
            "alipay.open.mini.qrcode.bind": self.qrcode_bind,
            "alipay.open.mini.qrcode.unbind": self.qrcode_unbind,
            "alipay.open.mini.qrcode.query": self.qrcode_query,
        }

    # --- signing ------------------------------------------------------------------------------------------------
    def sign(self, text):
        sig = self.alipay_private.sign(text.encode(), padding.PKCS1v15(), hashes.SHA256())
        return base64.b64encode(sig).decode()

    def verified(self, params):
        sign = params.get("sign")
        if not sign:
            raise Refusal("40001", "isv.missing-signature", "缺少签名参数")
        if params.get("sign_type") != "RSA2":
            raise Refusal("40002", "isv.invalid-signature-type", "无效签名类型")
        try:
            self.app_public.verify(base64.b64decode(sign), request_content(params).encode(), padding.PKCS1v15(),
                                   hashes.SHA256())
        except (InvalidSignature, ValueError):
            raise Refusal("40002", "isv.invalid-signature", "验签出错")

    def answer(self, method, node):
        name = (method.replace(".", "_") if method else "error") + "_response"
        text = json.dumps(node, ensure_ascii=False, separators=(",", ":"))
        with self.lock:
            tampered = self.tamper > 0
            self.tamper -= 1 if tampered else 0
        sign = self.sign(text + (" " if tampered else ""))
        return Answer(200, '{"%s":%s,"sign":"%s"}' % (name, text, sign), "text/html;charset=utf-8")

    # --- the gateway --------------------------------------------------------------------------------------------
    def gateway(self, query, raw, content_type=""):
        params = dict(query)
        files = {}
        if content_type.startswith("multipart/form-data"):
            # Upload-style methods: text parameters (signed) and file parts (not signed), as Alipay's SDKs send them.
            message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
                b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + raw)
            for part in message.iter_parts():
                name = part.get_param("name", header="content-disposition")
                if part.get_filename() is not None:
                    files[name] = part.get_payload(decode=True)
                else:
                    params[name] = part.get_payload(decode=True).decode("utf-8", "replace")
        else:
            params.update(urllib.parse.parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True))
        params["_files"] = files
        method = params.get("method")
        try:
            if not method:
                raise Refusal("40001", "isv.missing-method", "缺少方法名参数")
            if params.get("app_id") not in self.isv_app_ids:
                raise Refusal("40002", "isv.invalid-app-id", "无效的AppID参数")
            self.verified(params)
            handler = self.methods.get(method)
            if handler is None:
                raise Refusal("40002", "isv.invalid-method", "不存在的方法名")
            try:
                biz = json.loads(params["biz_content"]) if params.get("biz_content") else {}
            except ValueError:
                raise Refusal("40002", "isv.invalid-biz-content", "biz_content 不是 JSON")
            with self.lock:
                self.counters[method] = self.counters.get(method, 0) + 1
                app = None
                if method not in TOKEN_METHODS_WITHOUT_MINI_APP:
                    token = params.get("app_auth_token")
                    if not token:
                        raise Refusal("40006", "isv.self-invoke-forbidden", "此用户不允许自调用")
                    if biz.get("app_auth_token"):
                        raise Refusal("40002", "isv.invalid-biz-content", "app_auth_token 须为公共参数")
                    app = self.apps.get(self.tokens.get(token))
                    # A token works only for the application the merchant authorized.
                    if app is None or app.get("isv", self.isv_app_id) != params.get("app_id"):
                        raise Refusal("20001", "aop.invalid-app-auth-token", "无效的应用授权令牌")
                fault = self.faults.take(method, app and app["mini_app_id"])
                if fault and not fault.get("applied"):
                    raise Refusal(str(fault.get("code", "40004")), fault.get("subCode", "SANDBOX_FAULT"),
                                  fault.get("subMsg", "injected by the sandbox"))
                fields = handler(app, biz, params)
            if fault:
                # Done here, but the answer never reaches the caller (a dropped connection, a gateway timeout).
                return Answer(504, {"error": "the answer was lost on the way"})
            return self.answer(method, {"code": "10000", "msg": "Success", **fields})
        except Refusal as r:
            node = {"code": r.code, "msg": r.msg, "sub_code": r.sub_code, "sub_msg": r.sub_msg}
            return self.answer(method if method in self.methods else None, node)

    # --- notifications ------------------------------------------------------------------------------------------
    def notification(self, kind, app, extra=None):
        """The form Alipay posts to the application's gateway address: signed like Alipay's (RSA2 over the sorted
        parameters without sign and sign_type)."""
        now = datetime.datetime.now(datetime.timezone(datetime.timedelta(hours=8)))
        isv = app.get("isv", self.isv_app_id)
        form = {"app_id": isv, "notify_id": secrets.token_hex(16), "charset": "utf-8", "version": "1.0",
                "sign_type": "RSA2", "notify_time": now.strftime("%Y-%m-%d %H:%M:%S"),
                "utc_timestamp": str(int(self.clock.now() * 1000))}
        if kind == "auth":
            form.update(notify_type="open_app_auth_notify", status="execute_auth", auth_app_id=app["mini_app_id"],
                        biz_content=json.dumps({"notify_context": {"trigger": "user_auth"}, "detail": {
                            "app_auth_token": app["token"], "app_refresh_token": app["refresh"],
                            "user_id": app["user_id"], "auth_app_id": app["mini_app_id"], "app_id": isv,
                            "expires_in": TOKEN_LIFETIME, "re_expires_in": REFRESH_LIFETIME,
                            "auth_time": (extra or {}).get("authTime") or app.get("issued_ms")}}, ensure_ascii=False))
        elif kind == "cancelled":
            form.update(msg_method="alipay.open.auth.appauth.cancelled",
                        biz_content=json.dumps({"auth_app_id": app["mini_app_id"]}))
        elif kind in ("audit_passed", "audit_rejected"):
            extra = extra or {}
            biz = {"mini_app_id": app["mini_app_id"], "mini_app_version": extra.get("version", "")}
            if kind == "audit_rejected":
                biz.update(audit_reason=extra.get("reason", ""), bundle_id="com.alipay.alipaywallet")
            form.update(msg_method=f"alipay.open.mini.version.{kind.replace('_', '.')}",
                        biz_content=json.dumps(biz, ensure_ascii=False))
        else:
            raise ValueError(f"no notification kind {kind}")
        content = "&".join(f"{k}={v}" for k, v in sorted(form.items()) if k not in ("sign", "sign_type") and v != "")
        form["sign"] = self.sign(content)
        return form

    def deliver(self, form):
        url = f"{self.notify_base}/alipay/{form['app_id']}/notify"
        data = urllib.parse.urlencode(form).encode()
        req = urllib.request.Request(url, data=data, headers={"Content-Type": "application/x-www-form-urlencoded"})
        try:
            with urllib.request.urlopen(req, timeout=5) as resp:
                status, body = resp.status, resp.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as e:
            status, body = e.code, e.read().decode("utf-8", "replace")
        except Exception as e:  # unreachable: as Alipay, try again later
            status, body = 0, repr(e)
        with self.lock:
            self.notifications.append({"notifyId": form.get("notify_id"), "kind": form.get("notify_type") or
                                       form.get("msg_method"), "status": status, "body": body})
        return status, body

    def deliver_later(self, form, tries=3, interval=1.0):
        """As Alipay does: again and again until the answer is `success`."""
        if not self.notify_base:
            return

        def run():
            for _ in range(tries):
                status, body = self.deliver(form)
                if status == 200 and body == "success":
                    return
                time.sleep(interval)
        threading.Thread(target=run, daemon=True).start()

    # --- authorization ------------------------------------------------------------------------------------------
    def new_mini_app(self, name=None):
        with self.lock:
            self.next_app += 1
            mini_app_id = str(self.next_app)
            app = {"mini_app_id": mini_app_id, "user_id": "2088" + secrets.choice("123456789") +
                   "".join(secrets.choice("0123456789") for _ in range(11)), "app_name": name or f"店铺{mini_app_id[-4:]}",
                   "versions": {}, "token": None, "refresh": None}
            self.apps[mini_app_id] = app
            return app

    def new_code(self, app, isv=None):
        code = "P" + secrets.token_hex(16)
        self.issued.add(code)
        self.codes[code] = {"mini_app_id": app["mini_app_id"], "expires": self.clock.now() + CODE_LIFETIME,
                            "used": False, "isv": isv or self.isv_app_id}
        return code

    def issue_tokens(self, app):
        for old in (app["token"], app["refresh"]):
            self.tokens.pop(old, None)
            self.refresh.pop(old, None)
        app["issued_ms"] = int(self.clock.now() * 1000)
        app["token"] = "202" + secrets.token_hex(20)
        app["refresh"] = "202" + secrets.token_hex(20)
        self.tokens[app["token"]] = app["mini_app_id"]
        self.refresh[app["refresh"]] = app["mini_app_id"]
        self.issued |= {app["token"], app["refresh"]}
        one = {"app_auth_token": app["token"], "app_refresh_token": app["refresh"], "auth_app_id": app["mini_app_id"],
               "user_id": app["user_id"], "expires_in": TOKEN_LIFETIME, "re_expires_in": REFRESH_LIFETIME}
        return {**one, "tokens": [one]}

    def token_app(self, _app, biz, params):
        grant = biz.get("grant_type")
        if grant == "authorization_code":
            found = self.codes.get(biz.get("code", ""))
            if found is None or found["expires"] < self.clock.now() or found["isv"] != params.get("app_id"):
                raise business("isv.invalid-app-auth-code", "授权码无效或已过期")
            if found["used"]:
                raise business("isv.app-auth-code-used", "授权码已使用")
            found["used"] = True
            app = self.apps[found["mini_app_id"]]
            app["isv"] = found["isv"]
            out = self.issue_tokens(app)
            # Alipay also tells the application's gateway about the authorization.
            self.deliver_later(self.notification("auth", app))
            return out
        if grant == "refresh_token":
            app = self.apps.get(self.refresh.get(biz.get("refresh_token", "")))
            if app is None or app.get("isv", self.isv_app_id) != params.get("app_id"):
                raise business("isv.refresh-token-invalid", "刷新令牌无效")
            return self.issue_tokens(app)
        raise Refusal("40002", "isv.invalid-grant-type", "grant_type 须为 authorization_code 或 refresh_token")

    def consent(self, query):
        """appToAppAuth.htm: the merchant agrees; the browser goes back with an app_auth_code."""
        if query.get("app_id") not in self.isv_app_ids:
            return Answer(400, {"error": "unknown third-party application"})
        redirect = query.get("redirect_uri", "")
        if not redirect.startswith(("http://", "https://")):
            return Answer(400, {"error": "redirect_uri is missing or not a URL"})
        with self.lock:
            app = self.apps.get(query.get("mini_app_id", "")) or self.new_mini_app(query.get("app_name"))
            code = self.new_code(app, query["app_id"])
        sep = "&" if "?" in redirect else "?"
        target = redirect + sep + urllib.parse.urlencode(
            {"app_id": query["app_id"], "app_auth_code": code, "state": query.get("state", "")})
        return Answer.redirect(target)

    # --- versions -----------------------------------------------------------------------------------------------
    def version_of(self, app, biz, built=True):
        ver = biz.get("app_version", "")
        v = app["versions"].get(ver)
        if v is None or v["status"] == "DELETED":
            raise business("MINI_APP_VERSION_NOT_EXIST", f"版本 {ver} 不存在")
        self.settle_build(v)
        if built and v["build_status"] != 2:
            raise business("MINI_APP_PACKAGE_INFO_NOT_EXIST", "构建未完成")
        return v

    def settle_build(self, v):
        if v["build_status"] == 1 and self.clock.now() >= v["build_ready_at"]:
            v["build_status"] = v["pending_build"]
            v["create_status"] = 6 if v["pending_build"] == 2 else v["pending_build"]
            if v["build_status"] == 2:
                v["status"] = "INIT"

    def in_state(self, v, *states):
        if v["status"] not in states:
            raise business("MINI_APP_VERSION_STATUS_ERROR",
                           f"版本状态为 {v['status']}，须为 {'/'.join(states)}")

    def version_upload(self, app, biz, _params):
        ver, template = biz.get("app_version", ""), biz.get("template_id", "")
        if not template:
            raise business("TEMPLATE_ID_IS_BLANK", "模板 ID 为空")
        if template not in self.templates:
            raise business("CODE_TEMPLATE_DELETED", "模板不存在或已删除")
        template_version = biz.get("template_version") or self.templates[template][-1]
        if template_version not in self.templates[template]:
            raise business("TEMPLATE_VERSION_NOT_EXIST", "模板版本不存在")
        key = version_key(ver)
        if key is None:
            raise business("VERSION_EXCEEDED_LENGTH", "版本号须为 x.y.z，每段不超过 2147483647")
        latest = max((version_key(k) for k, v in app["versions"].items() if v["status"] != "DELETED"), default=None)
        if latest is not None and key <= latest:
            raise business("VERSION_HAS_EXISTED", f"版本号须高于 {'.'.join(map(str, latest))}")
        try:
            ext = json.loads(biz.get("ext") or "{}")
            assert isinstance(ext, dict)
        except (ValueError, AssertionError):
            raise business("INVALID_EXT_JSON", "ext 须为 JSON 对象字符串")
        with self.lock:
            # `sandboxBuild: fail` in the ext (or in the config it carries as `ext`) makes the build fail.
            inner = ext.get("ext") if isinstance(ext.get("ext"), dict) else {}
            pending = 3 if "fail" in (ext.get("sandboxBuild"), inner.get("sandboxBuild")) else 2
        app["versions"][ver] = {"app_version": ver, "status": "BUILDING", "build_status": 1, "create_status": 1,
                                "pending_build": pending, "build_ready_at": self.clock.now() + self.build_seconds,
                                "template_id": template, "template_version": template_version, "ext": ext,
                                "gmt_create": time.strftime("%Y-%m-%d %H:%M:%S"), "reject_reason": "",
                                "gray_strategy": "", "experience": "notExpVersion", "version_desc": ""}
        return {"build_status": "1", "create_status": "1", "need_rotation": "false", "version_created": "true"}

    def build_query(self, app, biz, _params):
        v = self.version_of(app, biz, built=False)
        return {"build_status": str(v["build_status"]), "create_status": str(v["create_status"]),
                "need_rotation": "false", "version_created": "true"}

    def detail_query(self, app, biz, _params):
        v = self.version_of(app, biz, built=False)
        return {"app_version": v["app_version"], "status": v["status"], "version_desc": v["version_desc"],
                "app_name": app["app_name"], "reject_reason": v["reject_reason"], "gray_strategy": v["gray_strategy"],
                "gmt_create": v["gmt_create"], "can_release": str(v["status"] in ("WAIT_RELEASE", "GRAY")).lower()}

    def list_query(self, app, biz, _params):
        wanted = [s for s in biz.get("version_status", "").split(",") if s]
        rows = [v for v in app["versions"].values() if v["status"] in wanted]
        rows.sort(key=lambda v: version_key(v["app_version"]), reverse=True)
        return {"app_version_infos": [{"app_version": v["app_version"], "bundle_id": "com.alipay.alipaywallet",
                                       "version_status": v["status"], "version_description": v["version_desc"],
                                       "create_time": v["gmt_create"]} for v in rows[:20]]}

    def experience_create(self, app, biz, _params):
        v = self.version_of(app, biz)
        v["experience"] = "expVersionPackaged"
        return {}

    def experience_query(self, app, biz, _params):
        v = self.version_of(app, biz, built=False)
        out = {"status": v["experience"]}
        if v["experience"] == "expVersionPackaged":
            out["exp_qr_code_url"] = f"{self.public_base}/qr/{app['mini_app_id']}/{v['app_version']}.png"
            out["exp_schema_url"] = f"alipays://platformapi/startapp?appId={app['mini_app_id']}&version={v['app_version']}"
        return out

    def experience_cancel(self, app, biz, _params):
        v = self.version_of(app, biz)
        if v["experience"] != "expVersionPackaged":
            raise business("EXP_VERSION_NOT_EXIST", "没有体验版")
        v["experience"] = "notExpVersion"
        return {}

    def audit_apply(self, app, _biz, params):
        v = self.version_of(app, params)
        if not params.get("version_desc"):
            raise business("VERSION_DESC_IS_BLANK", "版本描述为空")
        region = params.get("region_type", "")
        if not region:
            raise business("REGION_TYPE_IS_BLANK", "服务区域类型为空")
        if region not in ("GLOBAL", "CHINA", "LOCATION"):
            raise business("REGION_TYPE_IS_INVALID", "服务区域类型无效")
        if not params.get("service_phone") and not params.get("service_email"):
            raise business("SERVICE_TEL_AND_MAIL_BOTH_BLANK", "客服电话和邮箱不能都为空")
        # A rejected or passed version goes back to development (audited.cancel) before any submission.
        if any(o["status"] in OPEN_AUDIT_STATES for o in app["versions"].values()):
            raise business("CAN_NOT_SUBMIT_WITH_AUDIT_GRAY", "已有版本在审核中、审核通过、审核驳回或灰度中")
        self.in_state(v, "INIT")
        shots = [params["_files"][f"{n}_screen_shot"] for n in ("first", "second", "third", "fourth", "fifth")
                 if f"{n}_screen_shot" in params.get("_files", {})]
        if any(len(s) > 4 * 1024 * 1024 or not s.startswith((b"\x89PNG", b"\xff\xd8\xff")) for s in shots):
            raise business("INVALID_SCREEN_SHOT", "截图须为 4MB 以内的 png/jpg")
        categories = params.get("app_category_ids", "")
        if categories and not 1 <= len(categories.split(";")) <= 4:
            raise business("CATEGORY_NUM_IS_INVALID", "类目须为 1 到 4 个")
        v.update(status="AUDITING", version_desc=params["version_desc"], reject_reason="",
                 screenshots=[hashlib.sha256(s).hexdigest() for s in shots], region=region,
                 categories=categories)
        return {"speed_up": "false"}

    def audit_cancel(self, app, biz, _params):
        v = self.version_of(app, biz)
        self.in_state(v, "AUDITING")
        v["status"] = "INIT"
        return {}

    def audited_cancel(self, app, biz, _params):
        v = self.version_of(app, biz)
        self.in_state(v, "WAIT_RELEASE", "AUDIT_REJECT")
        v["status"] = "INIT"
        return {}

    def gray_online(self, app, biz, _params):
        strategy = biz.get("gray_strategy")
        if not strategy:
            raise business("GRAY_STRATEGY_IS_BLANK", "灰度策略为空")
        if strategy not in GRAY_STRATEGIES:
            raise business("GRAY_STRATEGY_IS_INVALID", "灰度策略须为 p10、p30 或 p50")
        v = self.version_of(app, biz)
        self.in_state(v, "WAIT_RELEASE", "GRAY")
        v.update(status="GRAY", gray_strategy=strategy)
        return {}

    def gray_cancel(self, app, biz, _params):
        v = self.version_of(app, biz)
        self.in_state(v, "GRAY")
        v.update(status="WAIT_RELEASE", gray_strategy="")
        return {}

    def online(self, app, biz, _params):
        v = self.version_of(app, biz)
        self.in_state(v, "WAIT_RELEASE", "GRAY")
        for other in app["versions"].values():
            if other["status"] == "RELEASE":
                other["status"] = "OFFLINE"
        v.update(status="RELEASE", gray_strategy="", released_at=self.clock.now())
        return {}

    def offline(self, app, biz, _params):
        v = self.version_of(app, biz)
        self.in_state(v, "RELEASE")
        v["status"] = "OFFLINE"
        return {}

    def rollback(self, app, biz, _params):
        v = self.version_of(app, biz)
        self.in_state(v, "RELEASE")
        earlier = [o for o in app["versions"].values() if o is not v and o["status"] == "OFFLINE" and
                   o.get("released_at", 0) and version_key(o["app_version"]) < version_key(v["app_version"])]
        if not earlier:
            raise business("NO_ROLLBACK_VERSION", "没有可回滚的版本")
        previous = max(earlier, key=lambda o: o["released_at"])
        v["status"], previous["status"] = "OFFLINE", "RELEASE"
        return {}

    def delete(self, app, biz, _params):
        v = self.version_of(app, biz, built=False)
        if v["status"] not in ("INIT", "BUILDING") and v["build_status"] != 3:
            raise business("MINI_APP_VERSION_STATUS_ERROR", "只能删除开发中的版本")
        v["status"] = "DELETED"
        return {}

    # --- base info ----------------------------------------------------------------------------------------------
    BASE_FIELDS = ("app_name", "app_english_name", "app_slogan", "app_desc", "service_phone", "service_email",
                   "app_category_ids")

    def baseinfo_query(self, app, _biz, _params):
        info = app.setdefault("base", {"app_name": app["app_name"], "app_english_name": "", "app_slogan": "",
                                       "app_desc": "", "service_phone": "", "service_email": "",
                                       "app_category_ids": ""})
        return {**{k: v for k, v in info.items() if k != "app_category_ids"},
                "category_names": info["app_category_ids"], "app_logo": info.get("app_logo", ""),
                "safe_domains": [], "package_names": [], "registration_limit_release": False}

    def baseinfo_modify(self, app, _biz, params):
        """An upload-style method: the fields are top-level form parameters, the logo a file part."""
        changes = {k: params[k] for k in self.BASE_FIELDS if params.get(k)}
        logo = params.get("_files", {}).get("app_logo")
        if logo is not None:
            if len(logo) > 4 * 1024 * 1024 or not logo.startswith((b"\x89PNG", b"\xff\xd8\xff")):
                raise business("INVALID_LOGO", "logo 须为 png/jpg")
            changes["app_logo"] = f"{self.public_base}/logo/{app['mini_app_id']}/{hashlib.sha256(logo).hexdigest()[:16]}.png"
        checks = [("app_name", 3, 30, "INVALID_MINI_APP_NAME_LENGTH"),
                  ("app_english_name", 3, 30, "INVALID_MINI_APP_ENGLISH_NAME_LENGTH"),
                  ("app_slogan", 10, 32, "INVALID_MINI_APP_SLOGAN_LENGTH"),
                  ("app_desc", 20, 400, "INVALID_MINI_APP_DESC_LENGTH"),
                  ("service_phone", 5, 30, "INVALID_SERVICE_PHONE")]
        for field, low, high, code in checks:
            if field in changes and not low <= len(changes[field]) <= high:
                raise business(code, f"{field} 长度须为 {low}–{high}")
        phone = changes.get("service_phone", "")
        if phone and not all(c.isdigit() or c == "-" for c in phone):
            raise business("INVALID_SERVICE_PHONE", "客服电话只能是数字和 -")
        email = changes.get("service_email", "")
        if email and ("@" not in email or len(email) > 128):
            raise business("INVALID_SERVICE_EMAIL", "邮箱格式不正确")
        categories = changes.get("app_category_ids", "")
        if categories:
            parts = categories.split(";")
            if not 1 <= len(parts) <= 4 or not all(
                    len(p.split("_")) == 2 and all(x.isdigit() for x in p.split("_")) for p in parts):
                raise business("CATEGORY_NUM_IS_INVALID", "类目须为 一级_二级，1 到 4 个")
        self.baseinfo_query(app, {}, {})
        app["base"].update(changes)
        if "app_name" in changes:
            app["app_name"] = changes["app_name"]
        released = any(v["status"] == "RELEASE" for v in app["versions"].values())
        return {"modify_status": "AUDITING" if released else "SUCCESS"}

    # --- members ------------------------------------------------------------------------------------------------
    def members_of(self, app):
        return app.setdefault("members", [])

    def role_of(self, biz):
        role = biz.get("role", "")
        if role not in MEMBER_CAPS:
            raise business("INVALID_ROLE", "角色须为 DEVELOPER 或 EXPERIENCER")
        return role

    def members_create(self, app, biz, _params):
        role, logon = self.role_of(biz), biz.get("logon_id", "")
        if not logon:
            raise Refusal("40001", "isv.missing-logon-id", "缺少 logon_id")
        if logon.startswith("manager"):
            raise business("CANNOT_INVITE_MANAGER", "不能邀请管理员")
        if logon.startswith("nobody"):
            raise business("USER_NOT_EXIST", "支付宝账号不存在")
        members = self.members_of(app)
        if any(m["logon_id"] == logon and m["role"] == role for m in members):
            raise business(f"{role}_ALREADY_EXIST", "成员已存在")
        if sum(1 for m in members if m["role"] == role) >= MEMBER_CAPS[role]:
            raise business("ROLE_OVER_LIMIT", f"{role} 最多 {MEMBER_CAPS[role]} 个")
        user_id = "2088" + "".join(secrets.choice("0123456789") for _ in range(12))
        # The invitee accepts in the Alipay app: the sandbox has them accept at once.
        members.append({"user_id": user_id, "logon_id": logon, "role": role, "status": "VALID",
                        "nick_name": logon.split("@")[0], "gmt_join": time.strftime("%Y-%m-%d %H:%M:%S")})
        return {}

    def members_delete(self, app, biz, _params):
        role, user_id = self.role_of(biz), biz.get("user_id", "")
        members = self.members_of(app)
        kept = [m for m in members if not (m["user_id"] == user_id and m["role"] == role)]
        if len(kept) == len(members):
            raise business("MEMBER_NOT_EXIST", "成员不存在")
        app["members"] = kept
        return {}

    def members_query(self, app, biz, _params):
        role = self.role_of(biz)
        return {"app_member_info_list": [
            {"user_id": m["user_id"], "logon_id": m["logon_id"], "nick_name": m["nick_name"], "role": m["role"],
             "status": m["status"], "gmt_join": m["gmt_join"]} for m in self.members_of(app) if m["role"] == role]}

    # --- codes --------------------------------------------------------------------------------------------------
    def qrcode_create(self, app, biz, _params):
        page = biz.get("url_param", "")
        if not page:
            raise Refusal("40001", "isv.missing-url-param", "缺少 url_param")
        if biz.get("size", "m") not in ("s", "m", "l"):
            raise Refusal("40002", "isv.invalid-size", "size 须为 s、m 或 l")
        if app.get("no_qrcode_product"):
            raise Refusal("40006", "isv.insufficient-isv-permissions", "ISV权限不足")
        self.counters["qr_images"] = self.counters.get("qr_images", 0) + 1
        base = f"{self.public_base}/qr/{app['mini_app_id']}/code-{secrets.token_hex(4)}"
        return {"qr_code_url": f"{base}.png", "qr_code_url_circle_blue": f"{base}-blue.png",
                "qr_code_url_circle_white": f"{base}-white.png"}

    def rules_of(self, app):
        return app.setdefault("qr_rules", [])

    def qrcode_bind(self, app, biz, _params):
        route_url, mode = biz.get("route_url", ""), biz.get("mode", "")
        if not route_url.startswith(("http://", "https://", "ftp://")):
            raise business("ROUTE_URL_INVALID", "route_url 须为 http、https 或 ftp 地址")
        if mode not in ("EXACT", "FUZZY"):
            raise business("MODE_INVALID", "mode 须为 EXACT 或 FUZZY")
        if not biz.get("page_redirection"):
            raise business("PAGE_REDIRECTION_IS_BLANK", "page_redirection 为空")
        rules = self.rules_of(app)
        if any(r["route_url"] == route_url for r in rules):
            raise business("ROUTE_URL_EXISTED", "该地址已绑定")
        if len(rules) >= QR_RULE_CAP:
            raise business("QRCODE_ROUTE_OVER_LIMIT", f"最多 {QR_RULE_CAP} 条规则")
        group = secrets.token_hex(8)
        rules.append({"route_group": group, "route_url": route_url, "mode": mode,
                      "page_redirection": biz["page_redirection"]})
        return {"route_group": group}

    def qrcode_unbind(self, app, biz, _params):
        rules = self.rules_of(app)
        kept = [r for r in rules if r["route_group"] != biz.get("route_group")]
        if len(kept) == len(rules):
            raise business("ROUTE_GROUP_NOT_EXIST", "规则不存在")
        app["qr_rules"] = kept
        return {}

    def qrcode_query(self, app, biz, _params):
        page_no, page_size = int(biz.get("page_no", 1)), int(biz.get("page_size", 10))
        if not 1 <= page_size <= 10 or page_no < 1:
            raise Refusal("40002", "isv.invalid-page", "page_size 为 1 到 10")
        rules = self.rules_of(app)
        chunk = rules[(page_no - 1) * page_size:page_no * page_size]
        return {"qr_code_route_groups": [{k: r[k] for k in ("route_group", "route_url", "mode", "page_redirection")}
                                         for r in chunk], "total_items": len(rules)}

    # --- control ------------------------------------------------------------------------------------------------
    def control(self, method, path, body):
        with self.lock:
            if method == "GET" and path == "/control/state":
                return 200, {"apps": [{"miniAppId": a["mini_app_id"], "appName": a["app_name"],
                                       "versions": {k: {"status": v["status"], "buildStatus": v["build_status"],
                                                        "ext": v["ext"], "rejectReason": v["reject_reason"],
                                                        "grayStrategy": v["gray_strategy"],
                                                        "screenshots": v.get("screenshots", []),
                                                        "region": v.get("region", ""),
                                                        "categories": v.get("categories", "")}
                                                    for k, v in a["versions"].items()}}
                                      for a in self.apps.values()],
                             "templates": self.templates}
            if method == "GET" and path == "/control/issued-secrets":
                # Everything the sandbox handed out that must never reach the product's logs.
                return 200, {"secrets": sorted(self.issued)}
            if method == "GET" and path == "/control/counters":
                return 200, dict(self.counters)
            if method == "POST" and path == "/control/template":
                versions = self.templates.setdefault(str(body["templateId"]), [])
                if body.get("version", "0.0.1") not in versions:
                    versions.append(body.get("version", "0.0.1"))
                return 200, {"templateId": str(body["templateId"]), "versions": versions}
            if method == "POST" and path == "/control/app/create":
                # A merchant mini-program that authorized the application (as after the consent page).
                app = self.new_mini_app(body.get("appName"))
                isv = str(body.get("appId") or self.isv_app_id)
                if isv not in self.isv_app_ids:
                    return 404, {"error": "unknown third-party application"}
                return 200, {"miniAppId": app["mini_app_id"], "appAuthCode": self.new_code(app, isv)}
            if method == "POST" and path == "/control/isv":
                # Another provider's third-party application (signing with the sandbox's one key pair).
                app_id = str(body.get("appId", ""))
                if len(app_id) != 16 or not app_id.isdigit():
                    return 400, {"error": "appId is 16 digits"}
                self.isv_app_ids.add(app_id)
                return 200, {"appId": app_id}
            if method == "POST" and path == "/control/audit/decide":
                app = self.apps.get(str(body.get("miniAppId")))
                if app is None:
                    return 404, {"error": "unknown mini-program"}
                auditing = [v for v in app["versions"].values() if v["status"] == "AUDITING"]
                if not auditing:
                    return 409, {"error": "no version is under audit"}
                v = auditing[0]
                if body.get("result") == "reject":
                    v.update(status="AUDIT_REJECT", reject_reason=body.get("reason", "不符合规范"))
                else:
                    v.update(status="WAIT_RELEASE", reject_reason="")
                kind = "audit_rejected" if v["status"] == "AUDIT_REJECT" else "audit_passed"
                self.deliver_later(self.notification(kind, app, {"version": v["app_version"],
                                                                 "reason": v["reject_reason"]}))
                return 200, {"miniAppId": app["mini_app_id"], "appVersion": v["app_version"], "status": v["status"]}
            if method == "POST" and path == "/control/notify":
                # One notification now, answered with what the product said; `tamper` changes a value after
                # signing, `unsigned` drops the signature, `notifyId` repeats an earlier delivery's id.
                app = self.apps.get(str(body.get("miniAppId")))
                if app is None:
                    return 404, {"error": "unknown mini-program"}
                form = self.notification(body.get("kind", "auth"), app, body)
                if body.get("notifyId"):
                    form["notify_id"] = body["notifyId"]
                    content = "&".join(f"{k}={v}" for k, v in sorted(form.items())
                                       if k not in ("sign", "sign_type") and v != "")
                    form["sign"] = self.sign(content)
                if body.get("tamper"):
                    form["biz_content"] = form["biz_content"].replace(app["mini_app_id"], "2021009999999999")
                if body.get("unsigned"):
                    form.pop("sign")
                # Delivered holding the lock: the product's notify handler never calls the sandbox back.
                status, answer = self.deliver(form)
                return 200, {"status": status, "body": answer, "notifyId": form["notify_id"]}
            if method == "GET" and path == "/control/notifications":
                return 200, {"notifications": self.notifications}
            if method == "POST" and path == "/control/faults":
                self.faults.add(body)
                return 200, {"ok": True}
            if method == "DELETE" and path == "/control/faults":
                self.faults.clear()
                self.tamper = 0
                return 200, {"ok": True}
            if method == "POST" and path == "/control/tamper":
                # The next answers carry a signature that does not match their text.
                self.tamper = int(body.get("times", 1))
                return 200, {"tamper": self.tamper}
            if method == "POST" and path == "/control/clock":
                self.clock.offset += float(body.get("advanceSeconds", 0))
                return 200, {"now": self.clock.now()}
        return 404, {"error": f"no control endpoint {method} {path}"}

    def handle(self, method, path, query, _headers, raw):
        if path == "/health":
            return Answer(200, {"ok": True})
        if path == "/gateway.do" and method == "POST":
            return self.gateway(query, raw, _headers.get("Content-Type", ""))
        if path == "/oauth2/appToAppAuth.htm" and method == "GET":
            return self.consent(query)
        if path.startswith("/qr/"):
            return Answer(200, base64.b64decode(
                "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="),
                "image/png")
        if path.startswith("/control/"):
            try:
                body = json.loads(raw) if raw.strip() else {}
            except ValueError:
                return Answer(400, {"error": "control bodies are JSON"})
            status, out = self.control(method, path, body)
            return Answer(status, out)
        return Answer(404, {"error": f"the Alipay sandbox has no {method} {path}"})


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--port", type=int, default=9110)
    p.add_argument("--keys", required=True, help="JSON: appId, appPublicKey (PEM), alipayPrivateKey (PEM)")
    p.add_argument("--build-seconds", type=float, default=1.0, help="how long a version.upload build takes")
    p.add_argument("--notify-base", help="the product's API: notifications go to {base}/alipay/{appId}/notify")
    args = p.parse_args()
    with open(args.keys) as f:
        keys = json.load(f)
    sandbox = Sandbox(keys, args.build_seconds, f"http://127.0.0.1:{args.port}", args.notify_base)
    serve(args.port, sandbox.handle, f"Alipay sandbox on http://127.0.0.1:{args.port} for application {keys['appId']}")


if __name__ == "__main__":
    main()
