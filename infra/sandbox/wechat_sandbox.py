"""WeChat sandbox: the third-party platform endpoints the product calls, with WeChat's field names, token expiry,
errcodes and quotas, and the encrypted pushes WeChat sends (verify ticket, authorization events, retries included).

Control API under /control/ for tests and demos (see README.md in this folder).
Run: python3 wechat_sandbox.py --port 9100 --component infra-generated.json --push-base http://127.0.0.1:9000
"""
import argparse
import base64
import hashlib
import json
import os
import secrets
import string
import struct
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

TEMPLATE_LIBRARY_CAP = 200
TOKEN_LIFETIME = 7200
OLD_TOKEN_GRACE = 300
TICKET_LIFETIME = 12 * 3600
AUTH_CODE_LIFETIME = 3600
PUSH_TIMEOUT = 5.0
UNDO_PER_DAY = 5
UNDO_PER_MONTH = 10
TESTER_CAP = 15
DOMAIN_CAP = 200
AUDIT_QUOTA = 500
SPEEDUP_QUOTA = 5
PLATFORM_DOMAIN_CHARS = 1000
PRIVACY_KEYS = {"UserInfo", "Location", "Address", "Invoice", "RunData", "Record", "Album", "Camera", "PhoneNumber",
                "Contact", "DeviceInfo", "EXIDNumber", "EXOrderInfo", "EXUserPublishContent", "EXUserFollowAcct",
                "EXUserOpLog", "AlbumWriteOnly", "LicensePlate", "BlueTooth", "CalendarWriteOnly", "Email",
                "MessageFile", "ChooseLocation"}
JUMP_PUBLISHES_PER_MONTH = 100
JUMP_DEBUG_URLS = 5
JUMP_RULE_CAP = 100  # WeChat does not document its cap (85073); the sandbox has one so the error can be seen
CODE_CAP = 100_000  # getwxacode and createwxaqrcode together, per mini-program, for ever
SCENE_CHARS = set(string.ascii_letters + string.digits + "!#$&'()*+,/:;=?@-._~")
OWNER_FIELDS = ("contact_email", "contact_phone", "contact_qq", "contact_weixin", "ext_file_media_id",
                "notice_method", "store_expire_timestamp")


def tiny_png(seed):
    """A real 8x8 greyscale PNG (the trial QR code stand-in), different per seed."""
    rows = b"".join(b"\x00" + bytes((seed * 31 + y * 8 + x) % 256 for x in range(8)) for y in range(8))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 8, 8, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


DEFAULT_CATEGORIES = [{"first_class": "Food", "second_class": "Restaurants", "first_id": 220, "second_id": 221}]
# (first id, second id) -> (first name, second name, needs a qualification and so an audit)
CATEGORY_CATALOG = {(220, 221): ("Food", "Restaurants", False), (220, 222): ("Food", "Takeaway", False),
                    (304, 305): ("Retail", "Clothing", False), (304, 306): ("Retail", "Cosmetics", True),
                    (150, 151): ("Medical", "Pharmacy", True)}
CATEGORY_CAP = 5
CATEGORY_CHANGES_PER_MONTH = 4
SIGNATURE_CHANGES_PER_MONTH = 5
NICKNAME_CHANGES = 2  # before the first release; a released mini-program keeps its name


def wx_error(code, msg):
    return {"errcode": code, "errmsg": msg}


class RawBody:
    """An endpoint answer that is bytes (images), not JSON."""

    def __init__(self, data, content_type):
        self.data, self.content_type = data, content_type


class MsgCrypt:
    """Independent implementation of WeChat's message crypto (the product's own is in Rust)."""

    def __init__(self, token, encoding_aes_key, appid):
        self.token = token
        self.key = base64.b64decode(encoding_aes_key + "=")
        self.appid = appid

    def encrypt(self, text):
        raw = text.encode()
        plain = os.urandom(16) + struct.pack(">I", len(raw)) + raw + self.appid.encode()
        pad = 32 - len(plain) % 32
        plain += bytes([pad]) * pad
        enc = Cipher(algorithms.AES(self.key), modes.CBC(self.key[:16])).encryptor()
        return base64.b64encode(enc.update(plain) + enc.finalize()).decode()

    def signature(self, *parts):
        return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


class Clock:
    """WeChat's time, shared by every component: runs `speed` times as fast as the machine's, moved on by tests."""

    def __init__(self, speed=1.0):
        self.speed, self.started, self.offset = speed, time.time(), 0.0

    def now(self):
        return self.started + (time.time() - self.started) * self.speed + self.offset


class Sandbox:
    """One third-party platform (component): its tickets, tokens, authorizers, drafts and templates."""

    def __init__(self, component, push_base, clock, ticket_interval=600, retry_interval=5.0, quota=10000):
        self.lock = threading.RLock()
        self.component = component
        self.crypt = MsgCrypt(component["token"], component["encodingAesKey"], component["appid"])
        self.push_base = push_base.rstrip("/")
        self.clock = clock
        self.ticket_interval = ticket_interval
        self.retry_interval = retry_interval
        self.quota = quota
        # Every secret handed to the platform since start (kept across resets), so a test can look for any of them
        # in the platform's logs.
        self.issued = {component["appsecret"], component["token"], component["encodingAesKey"]}
        self.reset()

    # --- state -------------------------------------------------------------------------------------------
    def reset(self):
        with self.lock:
            self.tickets = {}  # ticket -> issued at
            self.component_tokens = {}  # token -> {"expires_at", "superseded_at"}
            self.authorizers = {}  # appid -> record
            self.token_appids = {}  # authorizer token -> appid
            self.auth_codes = {}  # code -> {"appid", "expires_at", "used"}
            self.js_codes = {}  # wx.login code -> {"appid", "openid", "unionid", "session_key", "expires_at", "used"}
            self.openids = {}  # (appid, user) -> openid: one user has one openid per mini-program
            self.subscriptions = {}  # (appid, openid, template id) -> one-time subscriptions the user accepted
            self.session_keys = {}  # (appid, user) -> the session key of the user's latest wx.login code
            self.phone_codes = {}  # getPhoneNumber code -> {"appid", "openid", "phone", "expires_at", "used"}
            self.pre_auth_codes = {}
            self.counters = {}
            self.daily_calls = {}
            self.faults = []
            self.pushes = []
            self.pushing_tickets = False
            self.drafts = []  # uploaded from the developer tool: draft box
            self.templates = []  # the platform's template library
            self.next_id = 1
            self.platform_domains = {"testing": [], "published": []}  # modify_wxa_server_domain
            self.jump_prefixes = {}  # ordinary-QR prefix -> the appid whose rule holds it
            self.reg_tasks = {}  # fast registration task id -> task
            self.scan_seconds = 0.0  # how long the privacy scan of a new commit runs
            self.audit_quota = {"rest": AUDIT_QUOTA, "limit": AUDIT_QUOTA, "speedup_rest": SPEEDUP_QUOTA,
                                "speedup_limit": SPEEDUP_QUOTA}
            # Not WeChat's (its quota returns monthly): audits given back per second, up to the limit, so a
            # benchmark can measure how closely a batch keeps to the rate a quota allows.
            self.audit_refill = {"per_second": 0.0, "credit": 0.0, "at": 0.0}

    def now(self):
        return self.clock.now()

    def _refill_audit_quota(self):
        refill = self.audit_refill
        if refill["per_second"] <= 0:
            return
        now = self.now()
        refill["credit"] += (now - refill["at"]) * refill["per_second"]
        refill["at"] = now
        whole = int(refill["credit"])
        if whole:
            refill["credit"] -= whole
            self.audit_quota["rest"] = min(self.audit_quota["limit"], self.audit_quota["rest"] + whole)

    def owns_token(self, token):
        return bool(token) and (token in self.component_tokens or token in self.token_appids)

    # --- tokens ------------------------------------------------------------------------------------------
    def _new_token(self, store, appid=None):
        now = self.now()
        for rec in store.values():
            if rec["superseded_at"] is None:
                rec["superseded_at"] = now
        token = secrets.token_urlsafe(48)
        store[token] = {"expires_at": now + TOKEN_LIFETIME, "superseded_at": None}
        if appid is not None:
            self.token_appids[token] = appid
        self.issued.add(token)
        return token

    def _check_token(self, store, token):
        """None if usable, else a WeChat error body: 40001 unknown or superseded, 42001 expired."""
        rec = store.get(token or "")
        now = self.now()
        if rec is None:
            return wx_error(40001, "invalid credential, access_token is invalid or not latest")
        if rec.get("revoked"):
            return wx_error(40001, "invalid credential, access_token is invalid or not latest")
        if now >= rec["expires_at"]:
            return wx_error(42001, "access_token expired")
        if rec["superseded_at"] is not None and now >= rec["superseded_at"] + OLD_TOKEN_GRACE:
            return wx_error(40001, "invalid credential, access_token is invalid or not latest")
        return None

    def _component_ok(self, appid):
        if appid != self.component["appid"]:
            return wx_error(61003, "component is not authorized")  # unknown component
        return None

    # --- WeChat endpoints --------------------------------------------------------------------------------
    def api_component_token(self, q, body):
        if (err := self._component_ok(body.get("component_appid"))):
            return err
        if body.get("component_appsecret") != self.component["appsecret"]:
            return wx_error(40125, "invalid appsecret")
        ticket = body.get("component_verify_ticket")
        if ticket not in self.tickets:
            return wx_error(61006, "component ticket is invalid")
        if self.now() >= self.tickets[ticket] + TICKET_LIFETIME:
            return wx_error(61005, "component ticket is expired")
        return {"component_access_token": self._new_token(self.component_tokens), "expires_in": TOKEN_LIFETIME}

    def api_start_push_ticket(self, q, body):
        if (err := self._component_ok(body.get("component_appid"))):
            return err
        if body.get("component_secret") != self.component["appsecret"]:
            return wx_error(40125, "invalid appsecret")
        self.pushing_tickets = True
        threading.Timer(0.5, self.push_ticket).start()
        return wx_error(0, "ok")

    def _cat(self, q):
        return self._check_token(self.component_tokens, q.get("component_access_token") or q.get("access_token"))

    def api_create_preauthcode(self, q, body):
        if (err := self._cat(q)) or (err := self._component_ok(body.get("component_appid"))):
            return err
        code = "preauthcode@@@" + secrets.token_urlsafe(24)
        self.pre_auth_codes[code] = self.now() + 600
        return {"pre_auth_code": code, "expires_in": 600}

    def api_query_auth(self, q, body):
        if (err := self._cat(q)) or (err := self._component_ok(body.get("component_appid"))):
            return err
        code = self.auth_codes.get(body.get("authorization_code", ""))
        if code is None or code["used"] or self.now() >= code["expires_at"]:
            return wx_error(61010, "code is expired or invalid")
        code["used"] = True
        a = self.authorizers[code["appid"]]
        token = self._new_token(a["tokens"], a["appid"])
        return {"authorization_info": {
            "authorizer_appid": a["appid"], "authorizer_access_token": token, "expires_in": TOKEN_LIFETIME,
            "authorizer_refresh_token": a["refresh_token"],
            "func_info": [{"funcscope_category": {"id": i}} for i in a["func_ids"]],
        }}

    def api_authorizer_token(self, q, body):
        if (err := self._cat(q)) or (err := self._component_ok(body.get("component_appid"))):
            return err
        a = self.authorizers.get(body.get("authorizer_appid", ""))
        if a is None or not a["authorized"]:
            return wx_error(61003, "component is not authorized by this account")
        if a["refresh_revoked"] or body.get("authorizer_refresh_token") != a["refresh_token"]:
            return wx_error(61023, "refresh_token is invalid")
        token = self._new_token(a["tokens"], a["appid"])
        return {"authorizer_access_token": token, "expires_in": TOKEN_LIFETIME, "authorizer_refresh_token": a["refresh_token"]}

    def jscode2session(self, q, _body):
        """A mini-program user's `wx.login` code exchanged through the component (codes come from `/control/jscode`,
        as `wx.login` would give them): single use, five minutes, for that mini-program only."""
        if (err := self._cat(q)) or (err := self._component_ok(q.get("component_appid"))):
            return err
        if q.get("grant_type") != "authorization_code":
            return wx_error(40002, "invalid grant_type")
        a = self.authorizers.get(q.get("appid", ""))
        if a is None or not a["authorized"]:
            return wx_error(61003, "component is not authorized by this account")
        code = self.js_codes.get(q.get("js_code", ""))
        if code is None or code["used"] or code["appid"] != a["appid"] or self.now() >= code["expires_at"]:
            return wx_error(40029, "invalid code")
        code["used"] = True
        out = {"openid": code["openid"], "session_key": code["session_key"]}
        if code["unionid"]:
            out["unionid"] = code["unionid"]
        return out

    def subscribe(self, body):
        """The user accepted `times` one-time prompts (`wx.requestSubscribeMessage`) of a template of the app."""
        appid, user, template = body.get("appid", ""), str(body.get("user") or ""), body.get("templateId", "")
        openid = self.openids.setdefault((appid, user), "o" + secrets.token_urlsafe(20))
        key = (appid, openid, template)
        self.subscriptions[key] = self.subscriptions.get(key, 0) + int(body.get("times", 1))
        return {"openid": openid, "remaining": self.subscriptions[key]}

    def subscribe_send(self, q, body):
        """`subscribeMessage.send`: one accepted one-time subscription spent per message, else 43101."""
        a, err = self._authorizer_by_token(q)
        if err:
            return err
        touser, template, data = body.get("touser"), body.get("template_id"), body.get("data")
        if touser not in {o for (app, _), o in self.openids.items() if app == a["appid"]}:
            return wx_error(40003, "invalid openid")
        if not isinstance(template, str) or not template:
            return wx_error(40037, "invalid template_id")
        if not isinstance(data, dict) or not data:
            return wx_error(47003, "argument invalid! data is empty")
        for k, v in data.items():
            value = v.get("value") if isinstance(v, dict) else None
            if not isinstance(value, str) or not value or (k.startswith("thing") and len(value) > 20):
                return wx_error(47003, f"argument invalid! data.{k}.value invalid")
        page = body.get("page") or ""
        if not isinstance(page, str) or page.startswith("/"):
            return wx_error(41030, "invalid page")
        if body.get("miniprogram_state", "formal") not in ("developer", "trial", "formal"):
            return wx_error(47003, "argument invalid! miniprogram_state")
        key = (a["appid"], touser, template)
        if self.subscriptions.get(key, 0) <= 0:
            return wx_error(43101, "user refuse to accept the msg")
        self.subscriptions[key] -= 1
        msgid = secrets.randbelow(10**12)
        a.setdefault("subscribe_messages", []).append({"touser": touser, "template_id": template, "page": page,
                                                      "data": data, "msgid": msgid})
        del a["subscribe_messages"][:-200]
        return {"errcode": 0, "errmsg": "ok", "msgid": msgid}

    def new_js_code(self, body):
        """What `wx.login` gives user `user` of mini-program `appid`: a new code (and a new session key)."""
        appid, user = body.get("appid", ""), str(body.get("user") or secrets.token_hex(4))
        openid = self.openids.setdefault((appid, user), "o" + secrets.token_urlsafe(20))
        code = secrets.token_hex(16)
        session_key = base64.b64encode(secrets.token_bytes(16)).decode()
        self.issued.add(session_key)
        self.js_codes[code] = {"appid": appid, "openid": openid, "unionid": body.get("unionid") or "",
                               "session_key": session_key, "expires_at": self.now() + 300, "used": False}
        self.session_keys[(appid, user)] = session_key
        return {"code": code, "openid": openid}

    def new_phone_code(self, body):
        """What a getPhoneNumber button gives user `user` of mini-program `appid` whose number is `phone`."""
        appid, user = body.get("appid", ""), str(body.get("user", ""))
        openid = self.openids.get((appid, user))
        if openid is None:
            return 404, {"error": "that user never logged in to that mini-program"}
        code = secrets.token_hex(16)
        self.phone_codes[code] = {"appid": appid, "openid": openid, "phone": str(body.get("phone", "13800000000")),
                                  "expires_at": self.now() + 300, "used": False}
        return 200, {"code": code}

    def encrypted_user_data(self, body):
        """The legacy `encryptedData` and `iv` the client gets for user `user`: `data` (a JSON object) with WeChat's
        watermark (`watermarkAppid` to fake another app's), AES-128-CBC under the user's latest session key."""
        appid, user = body.get("appid", ""), str(body.get("user", ""))
        key = self.session_keys.get((appid, user))
        if key is None:
            return 404, {"error": "that user never logged in to that mini-program"}
        data = dict(body.get("data") or {})
        data["watermark"] = {"appid": body.get("watermarkAppid", appid), "timestamp": int(self.now())}
        plain = json.dumps(data).encode()
        pad = 16 - len(plain) % 16
        plain += bytes([pad]) * pad
        iv = secrets.token_bytes(16)
        enc = Cipher(algorithms.AES(base64.b64decode(key)), modes.CBC(iv)).encryptor()
        sealed = enc.update(plain) + enc.finalize()
        return 200, {"encryptedData": base64.b64encode(sealed).decode(), "iv": base64.b64encode(iv).decode()}

    def getuserphonenumber(self, q, body):
        a, err = self._authorizer_by_token(q)
        if err:
            return err
        code = self.phone_codes.get(body.get("code", ""))
        if code is None or code["used"] or code["appid"] != a["appid"] or self.now() >= code["expires_at"]:
            return wx_error(40029, "invalid code")
        if body.get("openid") and body["openid"] != code["openid"]:
            return wx_error(40029, "invalid code: it is another user's")
        code["used"] = True
        phone = code["phone"]
        return {"errcode": 0, "errmsg": "ok", "phone_info": {
            "phoneNumber": phone, "purePhoneNumber": phone, "countryCode": "86",
            "watermark": {"timestamp": int(self.now()), "appid": a["appid"]}}}

    def api_get_authorizer_info(self, q, body):
        if (err := self._cat(q)) or (err := self._component_ok(body.get("component_appid"))):
            return err
        a = self.authorizers.get(body.get("authorizer_appid", ""))
        if a is None or not a["authorized"]:
            return wx_error(61003, "component is not authorized by this account")
        return {
            "authorizer_info": {
                "nick_name": a["nick_name"], "head_img": "", "service_type_info": {"id": 0},
                "verify_type_info": {"id": 0}, "user_name": a["user_name"], "principal_name": a["principal_name"],
                "signature": "", "qrcode_url": "", "MiniProgramInfo": {"network": {}, "categories": [], "visit_status": 0},
            },
            "authorization_info": {"authorizer_appid": a["appid"],
                                   "func_info": [{"funcscope_category": {"id": i}} for i in a["func_ids"]]},
        }

    def api_get_authorizer_list(self, q, body):
        if (err := self._cat(q)) or (err := self._component_ok(body.get("component_appid"))):
            return err
        offset, count = int(body.get("offset", 0)), int(body.get("count", 0))
        if count < 1 or count > 500:
            return wx_error(40097, "invalid args: count must be 1..500")
        live = [a for a in self.authorizers.values() if a["authorized"]]
        page = live[offset:offset + count]
        return {"total_count": len(live), "list": [
            {"authorizer_appid": a["appid"], "refresh_token": a["refresh_token"], "auth_time": int(a["auth_time"])}
            for a in page]}

    def getaccountbasicinfo(self, q, body):
        a, err = self._authorizer_by_token(q)
        if a is not None:
            if err:
                return err
            month_ago = self.now() - 30 * 86400
            return {"errcode": 0, "errmsg": "ok", "appid": a["appid"], "account_type": 2,
                    "principal_type": 1, "principal_name": a["principal_name"], "realname_status": 1,
                    "nickname": a["nick_name"],
                    "nickname_info": {"nickname": a["nick_name"], "modify_used_count": a.get("nick_changes", 0),
                                      "modify_quota": NICKNAME_CHANGES},
                    "signature_info": {"signature": a.get("signature", ""),
                                       "modify_used_count": len([t for t in a.get("signature_changes", [])
                                                                 if t > month_ago]),
                                       "modify_quota": SIGNATURE_CHANGES_PER_MONTH},
                    "head_image_info": {
                        "head_image_url": ("https://sandbox.weixin.qq.com/head/" + a["head_image"]["sha1"]
                                           if a.get("head_image") else ""),
                        "modify_used_count": len([t for t in a.get("head_changes", []) if t > self.now() - 365 * 86400]),
                        "modify_quota": 5}}
        return err

    # --- basic information (authorizer token) -------------------------------------------------------------
    def modifysignature(self, q, body):
        a, err = self._authorizer_by_token(q)
        if err:
            return err
        sig = body.get("signature")
        if not isinstance(sig, str) or not 4 <= len(sig) <= 120:
            return wx_error(40097, "invalid args: signature must be 4 to 120 characters")
        if "forbidden" in sig or "违禁" in sig:
            return wx_error(53201, "the signature holds a blacklisted word")
        month_ago = self.now() - 30 * 86400
        changes = [t for t in a.get("signature_changes", []) if t > month_ago]
        if len(changes) >= SIGNATURE_CHANGES_PER_MONTH:
            return wx_error(53200, "the signature can be changed 5 times a month")
        a["signature_changes"] = changes + [self.now()]
        a["signature"] = sig
        return wx_error(0, "ok")

    def media_upload(self, q, body):
        """Temporary media (`type=image`, multipart `media`): a PNG or JPEG of at most 2 MB."""
        a, err = self._authorizer_by_token(q)
        if err:
            return err
        if q.get("type") != "image":
            return wx_error(40004, "invalid media type")
        raw, ctype = body.get("_raw", b""), body.get("_content_type", "")
        boundary = ctype.split("boundary=", 1)[1].strip().strip('"') if "boundary=" in ctype else ""
        data = None
        for part in raw.split(b"--" + boundary.encode()) if boundary else []:
            head, sep, content = part.partition(b"\r\n\r\n")
            if sep and b'name="media"' in head:
                data = content[:-2] if content.endswith(b"\r\n") else content
        if data is None:
            return wx_error(41005, "media data missing")
        if not (data.startswith(b"\x89PNG\r\n\x1a\n") or data.startswith(b"\xff\xd8\xff")):
            return wx_error(40004, "invalid media type")
        if len(data) > 2 * 1024 * 1024:
            return wx_error(40009, "invalid image size")
        media_id = "media" + secrets.token_hex(12)
        a.setdefault("media", {})[media_id] = {"size": len(data), "sha1": hashlib.sha1(data).hexdigest()}
        return {"type": "image", "media_id": media_id, "created_at": int(self.now())}

    def modifyheadimage(self, q, body):
        a, err = self._authorizer_by_token(q)
        if err:
            return err
        media = a.get("media", {}).get(body.get("head_img_media_id"))
        if media is None:
            return wx_error(40007, "invalid media_id")
        try:
            x1, y1, x2, y2 = (float(body.get(k)) for k in ("x1", "y1", "x2", "y2"))
        except (TypeError, ValueError):
            return wx_error(40097, "invalid args: x1, y1, x2, y2")
        if not (0 <= x1 < x2 <= 1 and 0 <= y1 < y2 <= 1):
            return wx_error(40097, "invalid args: x1, y1, x2, y2")
        year_ago = self.now() - 365 * 86400
        changes = [t for t in a.get("head_changes", []) if t > year_ago]
        if len(changes) >= 5:
            return wx_error(53202, "the head image can be changed 5 times a year")
        a["head_changes"] = changes + [self.now()]
        a["head_image"] = {"media_id": body["head_img_media_id"], "sha1": media["sha1"], "crop": [x1, y1, x2, y2]}
        return wx_error(0, "ok")

    def checkwxverifynickname(self, q, body):
        a, err = self._authorizer_by_token(q)
        if err:
            return err
        name = body.get("nick_name") or ""
        hit = any(o["nick_name"] == name and o["appid"] != a["appid"] for o in self.authorizers.values())
        return {"errcode": 0, "errmsg": "ok", "hit_condition": hit,
                "wording": "the name is a verified name of another account" if hit else ""}

    def setnickname(self, q, body):
        a, err = self._authorizer_by_token(q)
        if err:
            return err
        name = body.get("nick_name")
        if not isinstance(name, str) or not 2 <= len(name) <= 30:
            return wx_error(91001, "not a valid name: 2 to 30 characters")
        if a.get("release"):
            return wx_error(91002, "a released mini-program cannot change its name")
        if (a.get("nick_audit") or {}).get("status") == "auditing":
            return wx_error(91019, "a name change is under audit")
        if any(o["nick_name"] == name and o["appid"] != a["appid"] for o in self.authorizers.values()):
            return wx_error(91005, "the name is taken by another account")
        if a.get("nick_changes", 0) >= NICKNAME_CHANGES:
            return wx_error(91017, "the name can be changed twice before the first release")
        audit_id = self.next_id
        self.next_id += 1
        a["nick_audit"] = {"audit_id": audit_id, "nickname": name, "status": "auditing", "reason": ""}
        return {"errcode": 0, "errmsg": "ok", "wording": "the name is under review", "audit_id": audit_id}

    def querynickname(self, q, body):
        a, err = self._authorizer_by_token(q)
        if err:
            return err
        audit = a.get("nick_audit")
        if audit is None or audit["audit_id"] != body.get("audit_id"):
            return wx_error(91016, "no such name audit")
        return {"errcode": 0, "errmsg": "ok", "nickname": audit["nickname"],
                "audit_stat": {"auditing": 1, "rejected": 2, "approved": 3}[audit["status"]],
                "fail_reason": audit["reason"], "create_time": 0, "audit_time": 0}

    def decide_nickname(self, body):
        a = self.authorizers.get(body.get("appid", ""))
        audit = (a or {}).get("nick_audit")
        if audit is None or audit["status"] != "auditing":
            return 404, {"error": "no name under audit for that mini-program"}
        ok = body.get("result", "pass") == "pass"
        audit.update(status="approved" if ok else "rejected", reason="" if ok else body.get("reason", "rejected"))
        if ok:
            a["nick_name"] = audit["nickname"]
            a["nick_changes"] = a.get("nick_changes", 0) + 1
        if body.get("push", True) is False:
            return 200, {"decided": audit["status"], "pushed": False}
        now = int(self.now())
        xml = (f"<xml><ToUserName><![CDATA[{a['user_name']}]]></ToUserName><FromUserName><![CDATA[o_sandbox]]></FromUserName>"
               f"<CreateTime>{now}</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[wxa_nickname_audit]]></Event>"
               f"<ret>{3 if ok else 2}</ret><nickname><![CDATA[{audit['nickname']}]]></nickname>"
               f"<reason><![CDATA[{audit['reason']}]]></reason></xml>")
        return 200, self._deliver(self.message_url(a["appid"]), "ToUserName", a["user_name"], xml, "wxa_nickname_audit")

    def _account_categories(self, a):
        if "account_categories" not in a:
            a["account_categories"] = [{"first": c["first_id"], "second": c["second_id"], "audit_status": 3,
                                        "audit_reason": ""} for c in a.get("categories", DEFAULT_CATEGORIES)]
        return a["account_categories"]

    def _sync_categories(self, a):
        """What get_category (the code audit's list) sees: the approved account categories."""
        a["categories"] = [{"first_class": CATEGORY_CATALOG.get((c["first"], c["second"]), ("?", "?", False))[0],
                            "second_class": CATEGORY_CATALOG.get((c["first"], c["second"]), ("?", "?", False))[1],
                            "first_id": c["first"], "second_id": c["second"]}
                           for c in a["account_categories"] if c["audit_status"] == 3]

    def getcategory(self, q, body):
        a, err = self._authorizer_by_token(q)
        if err:
            return err
        cats = self._account_categories(a)
        month_ago = self.now() - 30 * 86400
        used = len([t for t in a.get("category_changes", []) if t > month_ago])
        return {"errcode": 0, "errmsg": "ok", "categories": [
            {"first": c["first"], "first_name": CATEGORY_CATALOG.get((c["first"], c["second"]), ("?",))[0],
             "second": c["second"], "second_name": CATEGORY_CATALOG.get((c["first"], c["second"]), ("?", "?"))[1],
             "audit_status": c["audit_status"], "audit_reason": c["audit_reason"]} for c in cats],
            "limit": CATEGORY_CHANGES_PER_MONTH, "quota": CATEGORY_CHANGES_PER_MONTH - used,
            "category_limit": CATEGORY_CAP}

    def _category_change(self, a):
        month_ago = self.now() - 30 * 86400
        changes = [t for t in a.get("category_changes", []) if t > month_ago]
        if len(changes) >= CATEGORY_CHANGES_PER_MONTH:
            return wx_error(53300, "categories can be changed 4 times a month")
        a["category_changes"] = changes + [self.now()]
        return None

    def addcategory(self, q, body):
        a, err = self._authorizer_by_token(q)
        if err:
            return err
        cats = self._account_categories(a)
        wanted = body.get("categories")
        if not isinstance(wanted, list) or not wanted:
            return wx_error(53303, "invalid parameters: categories")
        for c in wanted:
            key = (c.get("first"), c.get("second"))
            if key not in CATEGORY_CATALOG:
                return wx_error(53303, "invalid parameters: unknown category")
            if any((x["first"], x["second"]) == key for x in cats):
                return wx_error(53304, "the category is already set")
            if CATEGORY_CATALOG[key][2] and not c.get("certicates"):
                return wx_error(53303, "invalid parameters: the category needs its qualification")
        if len(cats) + len(wanted) > CATEGORY_CAP:
            return wx_error(53301, "too many categories")
        if (err := self._category_change(a)):
            return err
        for c in wanted:
            needs_audit = CATEGORY_CATALOG[(c["first"], c["second"])][2]
            cats.append({"first": c["first"], "second": c["second"], "audit_status": 1 if needs_audit else 3,
                         "audit_reason": ""})
        self._sync_categories(a)
        return wx_error(0, "ok")

    def getallcategories(self, q, body):
        a, err = self._authorizer_by_token(q)
        if err:
            return err
        firsts = {}
        for (first, second), (fname, sname, cert) in CATEGORY_CATALOG.items():
            firsts.setdefault(first, {"id": first, "name": fname, "level": 1, "father": 0, "children": [],
                                      "sensitive_type": 0, "qualify": {"exter_list": []}})["children"].append(second)
        seconds = [{"id": second, "name": sname, "level": 2, "father": first, "children": [],
                    "sensitive_type": 1 if cert else 0,
                    "qualify": {"exter_list": [{"inner_list": [{"name": "licence"}]}] if cert else []}}
                   for (first, second), (fname, sname, cert) in CATEGORY_CATALOG.items()]
        return {"errcode": 0, "errmsg": "ok",
                "categories_list": {"categories": [{"id": 0, "name": "root", "level": 0, "father": 0,
                                                    "children": sorted(firsts), "sensitive_type": 0,
                                                    "qualify": {"exter_list": []}}]
                                    + list(firsts.values()) + seconds}}

    def modifycategory(self, q, body):
        a, err = self._authorizer_by_token(q)
        if err:
            return err
        key = (body.get("first"), body.get("second"))
        found = next((c for c in self._account_categories(a) if (c["first"], c["second"]) == key), None)
        if found is None:
            return wx_error(53303, "invalid parameters: no such category")
        if found["audit_status"] != 2:
            return wx_error(53307, "only a category whose review failed can be modified")
        if not body.get("certicates"):
            return wx_error(53303, "invalid parameters: the qualification is missing")
        found.update(audit_status=1, audit_reason="")
        self._sync_categories(a)
        return wx_error(0, "ok")

    def deletecategory(self, q, body):
        a, err = self._authorizer_by_token(q)
        if err:
            return err
        cats = self._account_categories(a)
        key = (body.get("first"), body.get("second"))
        found = next((c for c in cats if (c["first"], c["second"]) == key), None)
        if found is None:
            return wx_error(53303, "invalid parameters: no such category")
        if found["audit_status"] == 1:
            return wx_error(53308, "a category under audit cannot be deleted")
        if (err := self._category_change(a)):
            return err
        cats.remove(found)
        self._sync_categories(a)
        return wx_error(0, "ok")

    def decide_category(self, body):
        a = self.authorizers.get(body.get("appid", ""))
        if a is None:
            return 404, {"error": "unknown authorizer"}
        key = (body.get("first"), body.get("second"))
        found = next((c for c in self._account_categories(a) if (c["first"], c["second"]) == key), None)
        if found is None or found["audit_status"] != 1:
            return 404, {"error": "no such category under audit"}
        ok = body.get("result", "pass") == "pass"
        found.update(audit_status=3 if ok else 2, audit_reason="" if ok else body.get("reason", "qualification rejected"))
        self._sync_categories(a)
        now = int(self.now())
        xml = (f"<xml><ToUserName><![CDATA[{a['user_name']}]]></ToUserName><FromUserName><![CDATA[o_sandbox]]></FromUserName>"
               f"<CreateTime>{now}</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[wxa_category_audit]]></Event>"
               f"<ret>{1 if ok else 2}</ret><first>{key[0]}</first><second>{key[1]}</second>"
               f"<reason><![CDATA[{found['audit_reason']}]]></reason></xml>")
        return 200, self._deliver(self.message_url(a["appid"]), "ToUserName", a["user_name"], xml, "wxa_category_audit")

    # --- code templates (component token as access_token) -----------------------------------------------
    def gettemplatedraftlist(self, q, body):
        if (err := self._cat(q)):
            return err
        return {"errcode": 0, "errmsg": "ok", "draft_list": list(self.drafts)}

    def addtotemplate(self, q, body):
        if (err := self._cat(q)):
            return err
        draft = next((d for d in self.drafts if d["draft_id"] == body.get("draft_id")), None)
        if draft is None:
            return wx_error(85064, "template not found")
        if len(self.templates) >= TEMPLATE_LIBRARY_CAP:
            return wx_error(85065, "template list is full")
        template_type = int(body.get("template_type", 0))
        if template_type not in (0, 1):
            return wx_error(40097, "invalid args: template_type")
        self.templates.append({**draft, "template_id": self.next_id, "template_type": template_type,
                               "create_time": int(self.now()), "category_list": [], "audit_scene": 0,
                               "audit_status": 0, "reason": ""})
        self.next_id += 1
        return wx_error(0, "ok")

    def gettemplatelist(self, q, body):
        if (err := self._cat(q)):
            return err
        wanted = q.get("template_type")
        items = [t for t in self.templates if wanted is None or str(t["template_type"]) == wanted]
        return {"errcode": 0, "errmsg": "ok", "template_list": items}

    def deletetemplate(self, q, body):
        if (err := self._cat(q)):
            return err
        before = len(self.templates)
        self.templates = [t for t in self.templates if t["template_id"] != body.get("template_id")]
        return wx_error(0, "ok") if len(self.templates) < before else wx_error(85064, "template not found")

    def add_draft(self, body):
        with self.lock:
            draft = {"draft_id": self.next_id, "create_time": int(self.now()),
                     "user_version": body.get("userVersion") or f"1.0.{self.next_id}",
                     "user_desc": body.get("userDesc") or "uploaded from the developer tool",
                     "source_miniprogram_appid": body.get("sourceMiniprogramAppid") or "wx" + secrets.token_hex(8),
                     "source_miniprogram": body.get("sourceMiniprogram") or "Template source",
                     "developer": body.get("developer") or "sandbox-dev",
                     # What WeChat's scan finds in this code: privacy keys for the guide, location APIs for
                     # requiredPrivateInfos.
                     "privacy_keys": list(body.get("privacyKeys") or []),
                     "privacy_apis": list(body.get("privacyApis") or [])}
            self.next_id += 1
            self.drafts.append(draft)
        return draft

    # --- code management (authorizer token) -------------------------------------------------------------
    def _authorizer_by_token(self, q):
        token = q.get("access_token", "")
        a = self.authorizers.get(self.token_appids.get(token, ""))
        if a is not None and token in a["tokens"]:
            return a, self._check_token(a["tokens"], token)
        return None, wx_error(40001, "invalid credential, access_token is invalid or not latest")

    def commit(self, q, body):
        a, err = self._authorizer_by_token(q)
        if err:
            return err
        if not any(t["template_id"] == body.get("template_id") for t in self.templates):
            return wx_error(85014, "template_id is invalid")
        try:
            ext = json.loads(body.get("ext_json") or "")
            assert isinstance(ext, dict)
        except (ValueError, AssertionError):
            return wx_error(85013, "invalid ext_json config")
        if len(body.get("user_version", "")) > 64:
            return wx_error(40097, "user_version is too long")
        template = next(t for t in self.templates if t["template_id"] == body["template_id"])
        a["commit"] = {"template_id": body["template_id"], "ext": ext, "user_version": body.get("user_version", ""),
                       "user_desc": body.get("user_desc", ""), "time": int(self.now()),
                       "committed_at": self.now(),
                       "privacy_keys": template.get("privacy_keys", []), "privacy_apis": template.get("privacy_apis", [])}
        a.setdefault("commit_log", []).append(body.get("user_version", ""))
        return wx_error(0, "ok")

    def get_qrcode(self, q, body):
        a, err = self._authorizer_by_token(q)
        if err:
            return err
        if not a.get("commit"):
            return wx_error(86001, "no code committed")
        return RawBody(tiny_png(a["commit"]["time"]), "image/png")

    def get_page(self, q, body):
        a, err = self._authorizer_by_token(q)
        if err:
            return err
        if not a.get("commit"):
            return wx_error(86001, "no code committed")
        pages = list((a["commit"]["ext"].get("extPages") or {}).keys()) or ["pages/index/index"]
        return {"errcode": 0, "errmsg": "ok", "page_list": pages}

    def get_category(self, q, body):
        a, err = self._authorizer_by_token(q)
        if err:
            return err
        return {"errcode": 0, "errmsg": "ok", "category_list": a.get("categories", DEFAULT_CATEGORIES)}

    def submit_audit(self, q, body):
        a, err = self._authorizer_by_token(q)
        if err:
            return err
        if not a.get("commit"):
            return wx_error(85086, "commit code first")
        own = a.get("categories", DEFAULT_CATEGORIES)
        if not own:
            return wx_error(85008, "the mini-program has no approved category")
        pages = self.get_page(q, body)["page_list"]
        for item in body.get("item_list") or []:
            if item.get("address") not in pages:
                return wx_error(85007, "page path not in the committed code")
            if not any(c["first_id"] == item.get("first_id") and c["second_id"] == item.get("second_id") for c in own):
                return wx_error(85077, "category is not one of the mini-program's")
        if a.get("audit") and a["audit"]["status"] in (2, 4):
            return wx_error(85009, "a version is already under audit")
        if self._scanning(a):
            return wx_error(61039, "the privacy scan of the code is not finished")
        refusal = self._privacy_refusal(a, bool(body.get("privacy_api_not_use")))
        if refusal:
            return refusal
        items = body.get("item_list") or []
        if len(items) > 5:
            return wx_error(85006, "item_list holds at most 5 items")
        self._refill_audit_quota()
        if self.audit_quota["rest"] <= 0:
            return wx_error(85085, "the platform's audit quota for this month is used up")
        self.audit_quota["rest"] -= 1
        self.next_id += 1
        if a.get("audit"):
            a.setdefault("audits", []).append(a["audit"])
        a["audit"] = {"auditid": self.next_id, "status": 2, "reason": "", "commit": a["commit"], "time": int(self.now())}
        a.setdefault("submit_log", []).append(a["commit"]["user_version"])
        return {"errcode": 0, "errmsg": "ok", "auditid": self.next_id}

    # --- privacy (authorizer token) ----------------------------------------------------------------------
    @staticmethod
    def _owner_complete(owner):
        # At least one contact and how users are told of changes.
        return bool(owner.get("notice_method")) and any(owner.get(k) for k in OWNER_FIELDS[:4])

    def _scanning(self, a):
        # The scan length is read now, so that /control/scan can also finish the scans under way.
        return self.now() < a["commit"]["committed_at"] + self.scan_seconds

    def _undeclared_apis(self, a):
        declared = a["commit"]["ext"].get("requiredPrivateInfos") or []
        return [api for api in a["commit"]["privacy_apis"] if api not in declared]

    def _privacy_refusal(self, a, api_not_use):
        """WeChat's rule since 2023-09-15: no audit without a guide that explains every privacy key of the code.
        WeChat itself rejects such code at audit (some report 85086 at submit); the sandbox refuses the submission
        with 61040 so that the refusal is immediate and unambiguous."""
        guide = a.get("privacy_dev")
        owner = (guide or {}).get("owner_setting") or {}
        if not guide or not self._owner_complete(owner):
            return wx_error(61040, "no user privacy guide: set it with setprivacysetting before submitting")
        explained = {s["privacy_key"] for s in guide.get("setting_list", [])}
        missing = [k for k in a["commit"]["privacy_keys"] if k not in explained]
        if missing:
            return wx_error(61040, "the privacy guide does not explain " + ",".join(missing))
        if self._undeclared_apis(a) and not api_not_use:
            return wx_error(61040, "privacy APIs used but not declared in requiredPrivateInfos")
        return None

    def get_code_privacy_info(self, q, body):
        a, err = self._authorizer_by_token(q)
        if err:
            return err
        if not a.get("commit"):
            return wx_error(86001, "no code committed")
        if self._scanning(a):
            return wx_error(61039, "the privacy scan of the code is not finished")
        unauthorized = [api for api in a["commit"]["privacy_apis"] if api in a.get("unauthorized_apis", [])]
        return {"errcode": 0, "errmsg": "ok", "without_auth_list": unauthorized,
                "without_conf_list": self._undeclared_apis(a)}

    def getprivacysetting(self, q, body):
        a, err = self._authorizer_by_token(q)
        if err:
            return err
        ver = int(body.get("privacy_ver", 2))
        if ver not in (1, 2):
            return wx_error(86071, "invalid privacy_ver")
        guide = a.get("privacy_dev" if ver == 2 else "privacy_online") or {}
        owner = {k: "" for k in OWNER_FIELDS}
        owner.update(guide.get("owner_setting") or {})
        commit = a.get("commit")
        return {"errcode": 0, "errmsg": "ok", "code_exist": 1 if commit else 0,
                "privacy_list": list(commit["privacy_keys"]) if commit else [],
                "setting_list": [dict(s, privacy_label="") for s in guide.get("setting_list", [])],
                "update_time": guide.get("update_time", 0), "owner_setting": owner,
                "privacy_desc": {"privacy_desc_list": [{"privacy_key": k, "privacy_desc": k} for k in sorted(PRIVACY_KEYS)]}}

    def setprivacysetting(self, q, body):
        a, err = self._authorizer_by_token(q)
        if err:
            return err
        ver = int(body.get("privacy_ver", 2))
        if ver not in (1, 2):
            return wx_error(86071, "invalid privacy_ver")
        owner = body.get("owner_setting") or {}
        if not self._owner_complete(owner):
            return wx_error(86069, "owner_setting: a contact and notice_method are required")
        expire = owner.get("store_expire_timestamp")
        if expire not in (None, "") and not str(expire).isdigit():
            return wx_error(86072, "invalid store_expire_timestamp")
        if ver == 1:
            if "setting_list" in body:
                return wx_error(40097, "setting_list must not be sent with privacy_ver 1")
            if not a.get("privacy_online"):
                return wx_error(86074, "the mini-program has no online privacy guide yet")
            a["privacy_online"]["owner_setting"] = {k: v for k, v in owner.items() if k != "ext_file_media_id"}
            return wx_error(0, "ok")
        settings = body.get("setting_list") or []
        for s in settings:
            if s.get("privacy_key") not in PRIVACY_KEYS or not s.get("privacy_text"):
                return wx_error(40097, "invalid setting_list entry")
        a["privacy_dev"] = {"owner_setting": {k: owner[k] for k in OWNER_FIELDS if owner.get(k)},
                            "setting_list": [{"privacy_key": s["privacy_key"], "privacy_text": s["privacy_text"]}
                                             for s in settings],
                            "update_time": int(self.now())}
        a["privacy_sets"] = a.get("privacy_sets", 0) + 1
        return wx_error(0, "ok")

    # --- the platform's server domains (component token) -----------------------------------------------------
    @staticmethod
    def _bare_host(host):
        name = host.split(":")[0]
        return (bool(name) and "." in name and "/" not in host and "://" not in host
                and not all(p.isdigit() for p in name.split(".")) and name.lower() != "api.weixin.qq.com")

    def modify_wxa_server_domain(self, q, body):
        if (err := self._cat(q)):
            return err
        action = body.get("action")
        if action not in ("add", "delete", "set", "get"):
            return wx_error(40097, "action must be add, delete, set or get")
        given = [d for d in (body.get("wxa_server_domain") or "").split(";") if d]
        if len(body.get("wxa_server_domain") or "") > PLATFORM_DOMAIN_CHARS:
            return wx_error(85016, "too many domains")
        valid = [d for d in given if self._bare_host(d)]
        invalid = [d for d in given if not self._bare_host(d)]
        kinds = ("testing", "published") if body.get("is_modify_published_together") else ("testing",)
        if action != "get":
            for kind in kinds:
                current = self.platform_domains[kind]
                if action == "add":
                    current.extend(d for d in valid if d not in current)
                elif action == "delete":
                    self.platform_domains[kind] = [d for d in current if d not in valid]
                else:
                    self.platform_domains[kind] = list(dict.fromkeys(valid))
        return {"errcode": 0, "errmsg": "ok",
                "testing_wxa_server_domain": ";".join(self.platform_domains["testing"]),
                "published_wxa_server_domain": ";".join(self.platform_domains["published"]),
                "invalid_wxa_server_domain": ";".join(invalid)}

    # --- audit, release and the online version ------------------------------------------------------------
    def _open_audit(self, a):
        audit = a.get("audit")
        return audit if audit and audit["status"] in (2, 4) else None

    def get_auditstatus(self, q, body):
        a, err = self._authorizer_by_token(q)
        if err:
            return err
        audit = a.get("audit")
        if audit is None or audit["auditid"] != body.get("auditid"):
            audit = next((h for h in a.get("audits", []) if h["auditid"] == body.get("auditid")), None)
        if audit is None:
            return wx_error(85012, "invalid audit id")
        return {"errcode": 0, "errmsg": "ok", "status": audit["status"], "reason": audit["reason"], "screenshot": ""}

    def get_latest_auditstatus(self, q, body):
        a, err = self._authorizer_by_token(q)
        if err:
            return err
        audit = a.get("audit")
        if audit is None:
            return wx_error(85012, "no audit submitted")
        return {"errcode": 0, "errmsg": "ok", "auditid": audit["auditid"], "status": audit["status"],
                "reason": audit["reason"], "screenshot": "", "user_version": audit["commit"]["user_version"],
                "user_desc": audit["commit"]["user_desc"], "submit_audit_time": audit["time"]}

    def undocodeaudit(self, q, body):
        a, err = self._authorizer_by_token(q)
        if err:
            return err
        audit = self._open_audit(a)
        if audit is None:
            return wx_error(85012, "no audit to undo")
        now = self.now()
        undos = a.setdefault("undos", [])
        today = sum(1 for t in undos if int(t // 86400) == int(now // 86400))
        month = sum(1 for t in undos if now - t < 30 * 86400)
        if today >= UNDO_PER_DAY or month >= UNDO_PER_MONTH:
            return wx_error(87013, "undo quota reached: 5 a day and 10 a month")
        undos.append(now)
        audit.update(status=3, reason="")
        return wx_error(0, "ok")

    def speedupaudit(self, q, body):
        a, err = self._authorizer_by_token(q)
        if err:
            return err
        audit = self._open_audit(a)
        if audit is None or audit["auditid"] != body.get("auditid"):
            return wx_error(85012, "invalid audit id")
        if self.audit_quota["speedup_rest"] <= 0:
            return wx_error(45009, "speed-up quota reached")
        self.audit_quota["speedup_rest"] -= 1
        audit["sped_up"] = True
        return wx_error(0, "ok")

    def queryquota(self, q, body):
        a, err = self._authorizer_by_token(q)
        if err:
            return err
        self._refill_audit_quota()
        return {"errcode": 0, "errmsg": "ok", **self.audit_quota}

    def release(self, q, body):
        a, err = self._authorizer_by_token(q)
        if err:
            return err
        audit = a.get("audit")
        if audit is None or audit.get("released"):
            return wx_error(85019, "no audited version to release")
        if audit["status"] != 0:
            return wx_error(85020, "the audit has not passed: nothing releasable")
        if a.get("release"):
            a.setdefault("release_history", []).append(a["release"])
        c = audit["commit"]
        a["release"] = {"version": c["user_version"], "desc": c["user_desc"], "time": int(self.now()), "reverted": False,
                        "pages": list((c["ext"].get("extPages") or {}).keys()) or ["pages/index/index"]}
        audit["released"] = True
        if a.get("privacy_dev"):
            a["privacy_online"] = json.loads(json.dumps(a["privacy_dev"]))
        a.pop("gray", None)  # released to everyone: the gray release is done
        return wx_error(0, "ok")

    def revertcoderelease(self, q, body):
        a, err = self._authorizer_by_token(q)
        if err:
            return err
        history = a.get("release_history", [])
        if q.get("action") == "get_history_version":
            return {"errcode": 0, "errmsg": "ok", "version_list": [
                {"app_version": i + 1, "user_version": r["version"], "user_desc": r["desc"], "commit_time": r["time"]}
                for i, r in enumerate(history)]}
        if a.get("gray"):
            return wx_error(87011, "a gray release is running: cannot roll back")
        current = a.get("release")
        if not history or current is None or current["reverted"]:
            return wx_error(87012, "no previous online version to roll back to")
        previous = history.pop()
        a["release"] = {**previous, "time": int(self.now()), "reverted": True}
        return wx_error(0, "ok")

    def grayrelease(self, q, body):
        a, err = self._authorizer_by_token(q)
        if err:
            return err
        if not a.get("release"):
            return wx_error(85079, "no version online: a gray release needs one")
        audit = a.get("audit")
        if audit is None or audit["status"] != 0 or audit.get("released"):
            return wx_error(85080, "no audited version to release gradually")
        pct = body.get("gray_percentage")
        if not isinstance(pct, int) or not 1 <= pct <= 100:
            return wx_error(85081, "gray_percentage must be 1 to 100")
        gray = a.get("gray")
        if gray and pct <= gray["gray_percentage"]:
            return wx_error(85082, "the gray percentage must grow")
        a["gray"] = {"status": 1, "create_timestamp": int(self.now()), "gray_percentage": pct,
                     "support_debuger_first": False, "support_experiencer_first": False}
        return wx_error(0, "ok")

    def getgrayreleaseplan(self, q, body):
        a, err = self._authorizer_by_token(q)
        if err:
            return err
        plan = a.get("gray") or {"status": 0, "create_timestamp": 0, "gray_percentage": 0,
                                 "support_debuger_first": False, "support_experiencer_first": False}
        return {"errcode": 0, "errmsg": "ok", "gray_release_plan": plan}

    def revertgrayrelease(self, q, body):
        a, err = self._authorizer_by_token(q)
        if err:
            return err
        a.pop("gray", None)
        return wx_error(0, "ok")

    def change_visitstatus(self, q, body):
        a, err = self._authorizer_by_token(q)
        if err:
            return err
        if body.get("action") not in ("open", "close"):
            return wx_error(40097, "action must be open or close")
        if not a.get("release"):
            return wx_error(85019, "no online version")
        a["visit"] = body["action"]
        return wx_error(0, "ok")

    def get_icp_entrance_info(self, q, body):
        a, err = self._authorizer_by_token(q)
        if err:
            return err
        return {"errcode": 0, "errmsg": "ok", "info": {"status": a.get("icp_status", 6), "is_canceling": False,
                                                       "available": 1, "audit_data": []}}

    def getversioninfo(self, q, body):
        a, err = self._authorizer_by_token(q)
        if err:
            return err
        out = {"errcode": 0, "errmsg": "ok"}
        if a.get("commit"):
            c = a["commit"]
            out["exp_info"] = {"exp_time": c["time"], "exp_version": c["user_version"], "exp_desc": c["user_desc"]}
        if a.get("release"):
            r = a["release"]
            out["release_info"] = {"release_time": r["time"], "release_version": r["version"], "release_desc": r["desc"]}
        return out

    # --- testers and domains -----------------------------------------------------------------------------
    def bind_tester(self, q, body):
        a, err = self._authorizer_by_token(q)
        if err:
            return err
        wechatid = body.get("wechatid", "")
        if not wechatid or wechatid.startswith("nobody"):
            return wx_error(85001, "WeChat id does not exist or cannot be searched")
        testers = a.setdefault("testers", {})
        if wechatid in testers:
            return wx_error(85004, "this WeChat id is already a tester")
        if len(testers) >= TESTER_CAP:
            return wx_error(85002, "the mini-program has reached its tester limit")
        testers[wechatid] = hashlib.sha1(f"{a['appid']}:{wechatid}".encode()).hexdigest()
        return {"errcode": 0, "errmsg": "ok", "userstr": testers[wechatid]}

    def unbind_tester(self, q, body):
        a, err = self._authorizer_by_token(q)
        if err:
            return err
        testers = a.setdefault("testers", {})
        for wechatid, userstr in list(testers.items()):
            if body.get("wechatid") == wechatid or body.get("userstr") == userstr:
                del testers[wechatid]
        return wx_error(0, "ok")

    def memberauth(self, q, body):
        a, err = self._authorizer_by_token(q)
        if err:
            return err
        if body.get("action") != "get_experiencer":
            return wx_error(40097, "action must be get_experiencer")
        return {"errcode": 0, "errmsg": "ok", "members": [{"userstr": u} for u in a.get("testers", {}).values()]}

    def _edit_lists(self, store, action, body, kinds):
        if action not in ("add", "delete", "set", "get"):
            return wx_error(40097, "action must be add, delete, set or get")
        for kind in kinds:
            given = body.get(kind) or []
            if len(given) > DOMAIN_CAP:
                return wx_error(85015, f"{kind} holds at most {DOMAIN_CAP} entries")
            current = store.setdefault(kind, [])
            if action == "add":
                current.extend(d for d in given if d not in current)
            elif action == "delete":
                store[kind] = [d for d in current if d not in given]
            elif action == "set":
                store[kind] = list(dict.fromkeys(given))
        return {"errcode": 0, "errmsg": "ok", **{k: list(store.get(k, [])) for k in kinds}}

    def modify_domain(self, q, body):
        a, err = self._authorizer_by_token(q)
        if err:
            return err
        kinds = ("requestdomain", "wsrequestdomain", "uploaddomain", "downloaddomain")
        if body.get("action") in ("add", "set"):
            registered = set(self.platform_domains["testing"]) | set(self.platform_domains["published"])
            for kind in kinds:
                for entry in body.get(kind) or []:
                    host = entry.split("://", 1)[-1]
                    if host not in registered:
                        return wx_error(85018, f"{host} is not a server domain of the third-party platform")
        return self._edit_lists(a.setdefault("domains", {}), body.get("action"), body, kinds)

    def setwebviewdomain(self, q, body):
        a, err = self._authorizer_by_token(q)
        if err:
            return err
        return self._edit_lists(a.setdefault("domains", {}), body.get("action"), body, ("webviewdomain",))

    # --- mini-program codes (authorizer token): image bytes, or JSON with an errcode and HTTP 200 ----------------
    def _code_options(self, body, env=True):
        width = body.get("width", 430)
        if not isinstance(width, int) or isinstance(width, bool) or not 280 <= width <= 1280:
            return wx_error(40097, "invalid args: width must be 280 to 1280")
        if env and body.get("env_version", "release") not in ("release", "trial", "develop"):
            return wx_error(40097, "invalid args: env_version")
        return None

    def _code_image(self, a, kind, body):
        a.setdefault("codes", []).append({"kind": kind, **{k: body.get(k) for k in ("scene", "page", "path")}})
        del a["codes"][:-200]
        seed = zlib.crc32(json.dumps([a["appid"], kind, body], sort_keys=True).encode())
        return RawBody(tiny_png(seed), "image/png")

    def getwxacodeunlimit(self, q, body):
        a, err = self._authorizer_by_token(q)
        if err:
            return err
        scene = body.get("scene")
        if not isinstance(scene, str) or not scene:
            return wx_error(47001, "data format error: scene is required")
        if len(scene) > 32:
            return wx_error(40169, "invalid length for scene")
        if any(c not in SCENE_CHARS for c in scene):
            return wx_error(40129, "invalid scene")
        page = body.get("page") or ""
        if page.startswith("/") or "?" in page:
            return wx_error(41030, "invalid page")
        released = (a.get("release") or {}).get("pages") or []
        if body.get("check_path", True) and page and page not in released:
            return wx_error(41030, "invalid page: not a page of the released version")
        if (err := self._code_options(body)):
            return err
        return self._code_image(a, "unlimited", body)

    def _limited(self, q, body, kind):
        a, err = self._authorizer_by_token(q)
        if err:
            return err
        path = body.get("path")
        if not isinstance(path, str) or not path or len(path) > 1024:
            return wx_error(47001, "data format error: path is required, at most 1024 characters")
        if (err := self._code_options(body, env=kind == "limited")):
            return err
        if a.get("limited_codes", 0) >= CODE_CAP:
            return wx_error(45029, "max limit reached: 100000 codes")
        a["limited_codes"] = a.get("limited_codes", 0) + 1
        return self._code_image(a, kind, body)

    def getwxacode(self, q, body):
        return self._limited(q, body, "limited")

    def createwxaqrcode(self, q, body):
        return self._limited(q, body, "qrcode")

    # --- fast registration (component token; WeChat's versions since 2026-04-30: new_version) -------------
    def _register(self, q, body, kind):
        if (err := self._cat(q)):
            return err
        if body.get("new_version") is not True:
            return wx_error(89253, "missing params: the old registration API is offline, send new_version: true")
        if kind == "company":
            name, code = body.get("name"), body.get("code")
            if not isinstance(name, str) or not name.strip():
                return wx_error(89253, "missing params: name")
            if not isinstance(code, str) or len(code) != 18 or not all(c.isdigit() or c.isupper() for c in code):
                return wx_error(89255, "code is not a valid unified social credit code")
            subject = ("company", code)
        else:
            wxuser, idname = body.get("wxuser"), body.get("idname")
            if not isinstance(wxuser, str) or not wxuser or wxuser.startswith("nobody"):
                return wx_error(86004, "invalid wechat id")
            if not isinstance(idname, str) or not idname.strip():
                return wx_error(89253, "missing params: idname")
            subject = ("person", wxuser)
        now = self.now()
        for t in self.reg_tasks.values():
            if t["subject"] == subject and t["state"] == "waiting" and now < t["created"] + 86400:
                return wx_error(89249, "a registration task for this subject is running: wait for it (24 h)")
        taskid = secrets.token_hex(8)
        self.reg_tasks[taskid] = {"taskid": taskid, "kind": kind, "subject": subject, "body": dict(body),
                                  "state": "waiting", "created": now}
        return {"errcode": 0, "errmsg": "ok", "taskid": taskid, "status": 0,
                "authorize_url": f"https://sandbox.weixin.qq.com/fastregister/confirm?taskid={taskid}"}

    def fastregisterenterpriseweapp(self, q, body):
        return self._register(q, body, "company")

    def fastregisterpersonalweapp(self, q, body):
        if q.get("action") == "query":
            if (err := self._cat(q)):
                return err
            t = self.reg_tasks.get(body.get("taskid", ""))
            if t is None:
                return wx_error(89250, "task not found")
            return {"errcode": 0, "errmsg": "ok", "status": {"waiting": 0, "done": 12, "failed": 1004}[t["state"]]}
        return self._register(q, body, "person")

    def confirm_registration(self, body):
        """The legal person (or the person) opens the link and confirms (`result: ok`) or it fails; the outcome is
        pushed to the authorization event URL as notify_third_fasteregister."""
        t = self.reg_tasks.get(body.get("taskid", ""))
        if t is None or t["state"] != "waiting":
            return 404, {"error": "no waiting registration task with that id"}
        b = t["body"]
        if t["kind"] == "company":
            info = (f"<info><name><![CDATA[{b['name']}]]></name><code><![CDATA[{b['code']}]]></code>"
                    f"<code_type>1</code_type><legal_persona_wechat><![CDATA[]]></legal_persona_wechat>"
                    f"<legal_persona_name><![CDATA[]]></legal_persona_name>"
                    f"<component_phone><![CDATA[{b.get('component_phone', '')}]]></component_phone></info>")
        else:
            info = (f"<info><wxuser><![CDATA[{b['wxuser']}]]></wxuser><idname><![CDATA[{b['idname']}]]></idname>"
                    f"<component_phone><![CDATA[{b.get('component_phone', '')}]]></component_phone>"
                    f"<taskid><![CDATA[{t['taskid']}]]></taskid></info>")
        if body.get("result", "ok") == "ok":
            t["state"] = "done"
            out = self.authorize({"nickName": b.get("name") or f"{b.get('idname', 'Person')}的小程序", "push": False})
            t["appid"] = out["authorizerAppid"]
            inner = (f"<appid><![CDATA[{out['authorizerAppid']}]]></appid><status>0</status>"
                     f"<auth_code><![CDATA[{out['authorizationCode']}]]></auth_code><msg><![CDATA[OK]]></msg>{info}")
        else:
            t["state"] = "failed"
            reason = body.get("reason") or "the legal person did not confirm in time"
            inner = f"<status>89252</status><msg><![CDATA[{reason}]]></msg>{info}"
        delivery = self.push_auth_event(
            f"<InfoType><![CDATA[notify_third_fasteregister]]></InfoType>{inner}", "notify_third_fasteregister")
        return 200, {"taskid": t["taskid"], "appid": t.get("appid"), "delivery": delivery}

    # --- violations (authorizer token) ------------------------------------------------------------------
    def getillegalrecords(self, q, body):
        a, err = self._authorizer_by_token(q)
        if err:
            return err
        end = body.get("end_time") or int(self.now())
        start = body.get("start_time") or end - 90 * 86400
        if not isinstance(start, int) or not isinstance(end, int) or start > end:
            return wx_error(40097, "invalid args: start_time, end_time")
        records = [{k: r[k] for k in ("illegal_record_id", "create_time", "illegal_reason", "illegal_content",
                                      "rule_url", "rule_name")}
                   for r in a.get("violations", []) if start <= r["create_time"] <= end]
        return {"errcode": 0, "errmsg": "ok", "records": records}

    def getappealrecords(self, q, body):
        a, err = self._authorizer_by_token(q)
        if err:
            return err
        record = next((r for r in a.get("violations", [])
                       if r["illegal_record_id"] == body.get("illegal_record_id")), None)
        if record is None:
            return wx_error(40097, "invalid args: illegal_record_id")
        return {"errcode": 0, "errmsg": "ok", "records": record["appeals"]}

    def add_violation(self, body):
        """WeChat finds a violation: a record for getillegalrecords (with its appeals), and with `punish` the
        `wxa_punish_event` pushed to the mini-program's message URL."""
        a = self.authorizers.get(body.get("appid", ""))
        if a is None:
            return 404, {"error": "unknown authorizer"}
        now = int(self.now())
        record = {"illegal_record_id": "ir" + secrets.token_hex(6), "create_time": now,
                  "illegal_reason": body.get("reason") or "misleading content",
                  "illegal_content": body.get("content") or "pages/home/index",
                  "rule_url": body.get("ruleUrl") or "https://developers.weixin.qq.com/rules",
                  "rule_name": body.get("ruleName") or "operating rules 3.1", "appeals": []}
        for i, appeal in enumerate(body.get("appeals") or []):
            record["appeals"].append({
                "appeal_record_id": 1000 + i, "appeal_time": now, "appeal_count": i + 1,
                "appeal_from": int(appeal.get("from", 0)), "appeal_status": int(appeal.get("status", 1)),
                "audit_time": now, "audit_reason": appeal.get("auditReason", ""),
                "punish_description": appeal.get("punishDescription", ""), "materials": []})
        a.setdefault("violations", []).append(record)
        delivery = None
        punish = body.get("punish")
        if punish is not None:
            punish_id = punish.get("punishId") or "pn" + secrets.token_hex(6)
            detail = json.dumps(punish.get("detail") or {"banned_days": 7}, ensure_ascii=False)
            fields = {"event_type": int(punish.get("eventType", 2)), "punish_id": punish_id, "appid": a["appid"],
                      "punish_time": int(punish.get("punishTime", now)), "illegal_reason": record["illegal_reason"],
                      "illegal_content": record["illegal_content"], "rule_name": record["rule_name"],
                      "rule_url": record["rule_url"], "adjust_guide_url": "https://developers.weixin.qq.com/guide",
                      "detail": detail}
            inner = "".join(f"<{k}><![CDATA[{v}]]></{k}>" if isinstance(v, str) else f"<{k}>{v}</{k}>"
                            for k, v in fields.items())
            xml = (f"<xml><ToUserName><![CDATA[{a['user_name']}]]></ToUserName><FromUserName><![CDATA[o_sandbox]]>"
                   f"</FromUserName><CreateTime>{now}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
                   f"<Event><![CDATA[wxa_punish_event]]></Event>{inner}</xml>")
            delivery = self._deliver(self.message_url(a["appid"]), "ToUserName", a["user_name"], xml,
                                     "wxa_punish_event")
            delivery = dict(delivery, punishId=punish_id)
        return 200, {"illegalRecordId": record["illegal_record_id"], "delivery": delivery}

    # --- ordinary-QR jump rules (authorizer token) ---------------------------------------------------------
    def _jump_rule_view(self, r):
        return {k: r[k] for k in ("prefix", "permit_sub_rule", "path", "open_version", "debug_url", "state")}

    def qrcodejumpget(self, q, body):
        a, err = self._authorizer_by_token(q)
        if err:
            return err
        rules = list(a.get("jump_rules", {}).values())
        month_ago = self.now() - 30 * 86400
        used = len([t for t in a.get("jump_publishes", []) if t > month_ago])
        return {"errcode": 0, "errmsg": "ok", "rule_list": [self._jump_rule_view(r) for r in rules],
                "qrcodejump_open": 1 if rules else 0, "list_size": len(rules),
                "qrcodejump_pub_quota": JUMP_PUBLISHES_PER_MONTH - used, "total_count": len(rules)}

    def qrcodejumpdownload(self, q, body):
        a, err = self._authorizer_by_token(q)
        if err:
            return err
        if "jump_file" not in a:
            a["jump_file"] = {"file_name": secrets.token_hex(5) + ".txt", "file_content": secrets.token_hex(16)}
        return {"errcode": 0, "errmsg": "ok", **a["jump_file"]}

    def qrcodejumpadd(self, q, body):
        a, err = self._authorizer_by_token(q)
        if err:
            return err
        if a.get("personal"):
            return wx_error(85075, "personal mini-programs cannot set jump rules")
        prefix, path = body.get("prefix"), body.get("path")
        if not isinstance(prefix, str) or not prefix.startswith(("http://", "https://")) or len(prefix) > 255 \
                or "." not in prefix.split("://", 1)[1].split("/", 1)[0]:
            return wx_error(85066, "invalid link rule")
        if not isinstance(path, str) or not path or path.startswith("/"):
            return wx_error(40097, "invalid args: path")
        if body.get("permit_sub_rule") not in (1, 2) or body.get("open_version") not in (1, 2, 3):
            return wx_error(40097, "invalid args: permit_sub_rule or open_version")
        debug = body.get("debug_url") or []
        if not isinstance(debug, list) or len(debug) > JUMP_DEBUG_URLS:
            return wx_error(40097, "invalid args: at most 5 debug_url")
        if any(not isinstance(u, str) or not u.startswith(prefix) for u in debug):
            return wx_error(85068, "a test link is not under the rule's prefix")
        rules = a.setdefault("jump_rules", {})
        owner = self.jump_prefixes.get(prefix)
        if owner is not None and owner != a["appid"]:
            return wx_error(85072, "the prefix is taken by another mini-program")
        if body.get("is_edit") == 1:
            if prefix not in rules:
                return wx_error(85066, "no such rule to edit")
        elif prefix in rules:
            return wx_error(85071, "the rule is already added")
        elif len(rules) >= JUMP_RULE_CAP:
            return wx_error(85073, "the rule list is full")
        rules[prefix] = {"prefix": prefix, "permit_sub_rule": body["permit_sub_rule"], "path": path,
                         "open_version": body["open_version"], "debug_url": debug, "state": 1}
        self.jump_prefixes[prefix] = a["appid"]
        return wx_error(0, "ok")

    def qrcodejumppublish(self, q, body):
        a, err = self._authorizer_by_token(q)
        if err:
            return err
        rule = a.get("jump_rules", {}).get(body.get("prefix"))
        if rule is None:
            return wx_error(85066, "no such rule")
        if not a.get("release"):
            return wx_error(85074, "no released version: publish the code first")
        host = rule["prefix"].split("://", 1)[1].split("/", 1)[0]
        if host not in a.get("jump_file_hosts", set()):
            return wx_error(85069, "the verification file was not found under the prefix's domain")
        month_ago = self.now() - 30 * 86400
        publishes = [t for t in a.get("jump_publishes", []) if t > month_ago]
        if len(publishes) >= JUMP_PUBLISHES_PER_MONTH:
            return wx_error(886000, "jump rules can be published 100 times a month")
        a["jump_publishes"] = publishes + [self.now()]
        rule["state"] = 2
        return wx_error(0, "ok")

    def qrcodejumpdelete(self, q, body):
        a, err = self._authorizer_by_token(q)
        if err:
            return err
        rule = a.get("jump_rules", {}).pop(body.get("prefix"), None)
        if rule is None:
            return wx_error(85066, "no such rule")
        self.jump_prefixes.pop(rule["prefix"], None)
        return wx_error(0, "ok")

    ROUTES = {
        "/wxa/commit": "commit",
        "/wxa/get_qrcode": "get_qrcode",
        "/wxa/getwxacodeunlimit": "getwxacodeunlimit",
        "/cgi-bin/wxopen/qrcodejumpget": "qrcodejumpget",
        "/wxa/getillegalrecords": "getillegalrecords",
        "/cgi-bin/account/modifysignature": "modifysignature",
        "/cgi-bin/media/upload": "media_upload",
        "/cgi-bin/account/modifyheadimage": "modifyheadimage",
        "/cgi-bin/wxverify/checkwxverifynickname": "checkwxverifynickname",
        "/wxa/setnickname": "setnickname",
        "/wxa/api_wxa_querynickname": "querynickname",
        "/cgi-bin/wxopen/getcategory": "getcategory",
        "/cgi-bin/wxopen/addcategory": "addcategory",
        "/cgi-bin/wxopen/deletecategory": "deletecategory",
        "/cgi-bin/wxopen/getallcategories": "getallcategories",
        "/cgi-bin/wxopen/modifycategory": "modifycategory",
        "/wxa/component/fastregisterenterpriseweapp": "fastregisterenterpriseweapp",
        "/wxa/component/fastregisterpersonalweapp": "fastregisterpersonalweapp",
        "/wxa/getappealrecords": "getappealrecords",
        "/cgi-bin/wxopen/qrcodejumpdownload": "qrcodejumpdownload",
        "/cgi-bin/wxopen/qrcodejumpadd": "qrcodejumpadd",
        "/cgi-bin/wxopen/qrcodejumppublish": "qrcodejumppublish",
        "/cgi-bin/wxopen/qrcodejumpdelete": "qrcodejumpdelete",
        "/wxa/getwxacode": "getwxacode",
        "/cgi-bin/wxaapp/createwxaqrcode": "createwxaqrcode",
        "/wxa/get_page": "get_page",
        "/wxa/get_category": "get_category",
        "/wxa/submit_audit": "submit_audit",
        "/wxa/get_auditstatus": "get_auditstatus",
        "/wxa/get_latest_auditstatus": "get_latest_auditstatus",
        "/wxa/undocodeaudit": "undocodeaudit",
        "/wxa/speedupaudit": "speedupaudit",
        "/wxa/queryquota": "queryquota",
        "/wxa/icp/get_icp_entrance_info": "get_icp_entrance_info",
        "/wxa/security/get_code_privacy_info": "get_code_privacy_info",
        "/cgi-bin/component/getprivacysetting": "getprivacysetting",
        "/cgi-bin/component/setprivacysetting": "setprivacysetting",
        "/cgi-bin/component/modify_wxa_server_domain": "modify_wxa_server_domain",
        "/wxa/release": "release",
        "/wxa/revertcoderelease": "revertcoderelease",
        "/wxa/grayrelease": "grayrelease",
        "/wxa/getgrayreleaseplan": "getgrayreleaseplan",
        "/wxa/revertgrayrelease": "revertgrayrelease",
        "/wxa/change_visitstatus": "change_visitstatus",
        "/wxa/getversioninfo": "getversioninfo",
        "/wxa/bind_tester": "bind_tester",
        "/wxa/unbind_tester": "unbind_tester",
        "/wxa/memberauth": "memberauth",
        "/wxa/modify_domain": "modify_domain",
        "/wxa/setwebviewdomain": "setwebviewdomain",
        "/wxa/gettemplatedraftlist": "gettemplatedraftlist",
        "/wxa/addtotemplate": "addtotemplate",
        "/wxa/gettemplatelist": "gettemplatelist",
        "/wxa/deletetemplate": "deletetemplate",
        "/cgi-bin/component/api_component_token": "api_component_token",
        "/cgi-bin/component/api_start_push_ticket": "api_start_push_ticket",
        "/cgi-bin/component/api_create_preauthcode": "api_create_preauthcode",
        "/cgi-bin/component/api_query_auth": "api_query_auth",
        "/cgi-bin/component/api_authorizer_token": "api_authorizer_token",
        "/cgi-bin/component/api_get_authorizer_info": "api_get_authorizer_info",
        "/cgi-bin/component/api_get_authorizer_list": "api_get_authorizer_list",
        "/cgi-bin/account/getaccountbasicinfo": "getaccountbasicinfo",
        "/sns/component/jscode2session": "jscode2session",
        "/wxa/business/getuserphonenumber": "getuserphonenumber",
        "/cgi-bin/message/subscribe/send": "subscribe_send",
    }

    def call(self, path, q, body):
        """Dispatches one WeChat API call: counters, quota, injected faults, then the endpoint."""
        name = self.ROUTES.get(path)
        if name is None:
            return 404, wx_error(-1, "sandbox does not implement " + path)
        with self.lock:
            self.counters[name] = self.counters.get(name, 0) + 1
            fault = self._take_fault(name, self._appid_of_token(q.get("access_token", "")))
        if fault and fault.get("latencyMs"):
            time.sleep(fault["latencyMs"] / 1000)
        if fault and fault.get("applied"):
            # WeChat did the work, but its answer is lost on the way back.
            with self.lock:
                getattr(self, name)(q, body)
            fault = dict(fault, errcode=fault.get("errcode"), httpStatus=fault.get("httpStatus") or 502)
        if fault and fault.get("httpStatus"):
            return fault["httpStatus"], {"error": "injected"}
        if fault and fault.get("errcode") is not None:
            return 200, wx_error(fault["errcode"], "injected fault")
        with self.lock:
            day = int(self.now() // 86400)
            key = (name, day)
            self.daily_calls[key] = self.daily_calls.get(key, 0) + 1
            if self.daily_calls[key] > self.quota:
                return 200, wx_error(45009, "reach max api daily quota limit")
            return 200, getattr(self, name)(q, body)

    def _appid_of_token(self, token):
        a = self.authorizers.get(self.token_appids.get(token or "", ""))
        return a["appid"] if a is not None and token in a["tokens"] else None

    def _take_fault(self, name, appid=None):
        for f in self.faults:
            if f.get("appid") not in (None, appid):
                continue
            if f["endpoint"] in (name, "*") and f["times"] != 0:
                if f.get("rate", 1.0) < 1.0 and secrets.randbelow(10_000) >= f["rate"] * 10_000:
                    continue
                if f["times"] > 0:
                    f["times"] -= 1
                return f
        return None

    # --- pushes ------------------------------------------------------------------------------------------
    def _deliver(self, url, envelope_field, envelope_value, plaintext, push_type):
        encrypted = self.crypt.encrypt(plaintext)
        timestamp, nonce = str(int(time.time())), str(secrets.randbelow(10**10))
        query = urllib.parse.urlencode({
            "timestamp": timestamp, "nonce": nonce, "encrypt_type": "aes",
            "msg_signature": self.crypt.signature(self.crypt.token, timestamp, nonce, encrypted),
            "signature": self.crypt.signature(self.crypt.token, timestamp, nonce),
        })
        body = f"<xml><{envelope_field}><![CDATA[{envelope_value}]]></{envelope_field}><Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>"
        record = {"id": len(self.pushes) + 1, "type": push_type, "url": url, "attempts": [], "delivered": False}
        with self.lock:
            self.pushes.append(record)
            del self.pushes[:-200]
        first = time.time()
        for attempt in range(4):  # the first delivery plus up to 3 retries, one every retry_interval seconds
            started = time.time()
            try:
                req = urllib.request.Request(f"{url}?{query}", data=body.encode(), method="POST",
                                             headers={"Content-Type": "text/xml"})
                with urllib.request.urlopen(req, timeout=PUSH_TIMEOUT) as resp:
                    status, reply = resp.status, resp.read(1024).decode(errors="replace")
            except urllib.error.HTTPError as e:
                status, reply = e.code, e.read(1024).decode(errors="replace")
            except Exception as e:  # timeout, refused: WeChat retries those too
                status, reply = 0, type(e).__name__
            record["attempts"].append({"status": status, "reply": reply[:200], "ms": int((time.time() - started) * 1000)})
            if status == 200 and reply.strip() == "success":
                record["delivered"] = True
                break
            if attempt < 3:
                time.sleep(max(0.0, first + (attempt + 1) * self.retry_interval - time.time()))
        return record

    def auth_event_url(self):
        return f"{self.push_base}/wechat/{self.component['appid']}/auth-event"

    def message_url(self, authorizer_appid):
        return f"{self.push_base}/wechat/{self.component['appid']}/{authorizer_appid}/callback"

    def push_auth_event(self, inner_xml, push_type):
        appid = self.component["appid"]
        plaintext = f"<xml><AppId><![CDATA[{appid}]]></AppId><CreateTime>{int(self.now())}</CreateTime>{inner_xml}</xml>"
        return self._deliver(self.auth_event_url(), "AppId", appid, plaintext, push_type)

    def push_ticket(self):
        ticket = "ticket@@@" + secrets.token_urlsafe(32)
        with self.lock:
            self.tickets[ticket] = self.now()
        return self.push_auth_event(
            f"<InfoType><![CDATA[component_verify_ticket]]></InfoType><ComponentVerifyTicket><![CDATA[{ticket}]]></ComponentVerifyTicket>",
            "component_verify_ticket")

    def authorize(self, body):
        with self.lock:
            appid = body.get("appid") or "wx" + secrets.token_hex(8)
            a = self.authorizers.get(appid) or {
                "appid": appid, "tokens": {}, "refresh_token": None, "refresh_revoked": False,
                "nick_name": body.get("nickName") or f"Shop {appid[-4:]}",
                "user_name": "gh_" + secrets.token_hex(6),
                "principal_name": body.get("principalName") or "Sandbox Merchant Co.",
            }
            update = a.get("authorized", False)
            # Each authorization issues a new refresh token; the previous one stops working.
            a["refresh_token"] = "refreshtoken@@@" + secrets.token_urlsafe(24)
            self.issued.add(a["refresh_token"])
            a["refresh_revoked"] = False
            a.update({"authorized": True, "auth_time": self.now(), "func_ids": body.get("funcIds") or [17, 18, 19, 25, 30]})
            self.authorizers[appid] = a
            code = "queryauthcode@@@" + secrets.token_urlsafe(24)
            self.auth_codes[code] = {"appid": appid, "expires_at": self.now() + AUTH_CODE_LIFETIME, "used": False}
        info_type = "updateauthorized" if update else "authorized"
        delivery = self._push_authorized(appid, code, info_type) if body.get("push", True) else None
        return {"authorizerAppid": appid, "userName": a["user_name"], "authorizationCode": code, "delivery": delivery}

    def authorize_bulk(self, body):
        """A fleet for benchmarks: `count` mini-programs authorized at once, without pushes, each with a privacy
        guide already set (an existing account). Answers what the platform would have stored of each."""
        count = min(int(body.get("count", 1)), 20_000)
        out = []
        with self.lock:
            for _ in range(count):
                appid = "wx" + secrets.token_hex(8)
                self.authorizers[appid] = {
                    "appid": appid, "tokens": {}, "refresh_revoked": False, "authorized": True,
                    "refresh_token": "refreshtoken@@@" + secrets.token_urlsafe(24),
                    "nick_name": f"Shop {appid[-4:]}", "user_name": "gh_" + secrets.token_hex(6),
                    "principal_name": "Sandbox Merchant Co.", "auth_time": self.now(), "func_ids": [17, 18, 19, 25, 30],
                    "privacy_dev": {"owner_setting": {"contact_phone": "13800000000", "notice_method": "公告"},
                                    "setting_list": [], "update_time": int(self.now())}}
                a = self.authorizers[appid]
                self.issued.add(a["refresh_token"])
                out.append({"appid": appid, "refreshToken": a["refresh_token"], "userName": a["user_name"],
                            "authTime": int(a["auth_time"])})
        return {"authorizers": out}

    def _push_authorized(self, appid, code, info_type):
        return self.push_auth_event(
            f"<InfoType><![CDATA[{info_type}]]></InfoType><AuthorizerAppid><![CDATA[{appid}]]></AuthorizerAppid>"
            f"<AuthorizationCode><![CDATA[{code}]]></AuthorizationCode>"
            f"<AuthorizationCodeExpiredTime>{int(self.now()) + AUTH_CODE_LIFETIME}</AuthorizationCodeExpiredTime>"
            f"<PreAuthCode><![CDATA[]]></PreAuthCode>", info_type)

    def unauthorize(self, body):
        with self.lock:
            a = self.authorizers.get(body.get("appid", ""))
            if a is None:
                return None
            a["authorized"] = False
            a["refresh_token"] = None
            a["tokens"].clear()
        delivery = self.push_auth_event(
            f"<InfoType><![CDATA[unauthorized]]></InfoType><AuthorizerAppid><![CDATA[{a['appid']}]]></AuthorizerAppid>",
            "unauthorized")
        return {"authorizerAppid": a["appid"], "delivery": delivery}

    def push_raw(self, body):
        """Pushes any plaintext XML, encrypted, to the auth-event URL or to a mini-program's message URL."""
        xml = body.get("xml", "")
        if body.get("urlKind", "auth_event") == "message":
            a = body.get("authorizerAppid", "")
            to_user = self.authorizers.get(a, {}).get("user_name", "gh_unknown")
            return self._deliver(self.message_url(a), "ToUserName", to_user, xml, "message")
        return self._deliver(self.auth_event_url(), "AppId", self.component["appid"], xml, "raw")

    def consent(self, q):
        """WeChat's consent page (PC componentloginpage or H5 bindcomponent): the merchant scans and agrees at once.
        A new sandbox mini-program is authorized, the `authorized` push is sent (`sandbox_push`: before (default),
        after or none relative to the redirect) and the browser is sent to redirect_uri with the authorization code."""
        if (err := self._component_ok(q.get("component_appid"))):
            return 400, err, None
        expires = self.pre_auth_codes.pop(q.get("pre_auth_code", ""), None)
        if expires is None or self.now() >= expires:
            return 400, wx_error(61011, "pre_auth_code is invalid or expired"), None
        if q.get("auth_type") not in ("2", "3"):
            return 400, wx_error(40097, "auth_type must allow mini-programs"), None
        redirect = q.get("redirect_uri", "")
        if not redirect.startswith(("http://", "https://")):
            return 400, wx_error(40097, "redirect_uri is invalid"), None
        order = q.get("sandbox_push", "before")
        out = self.authorize({"appid": q.get("sandbox_appid"), "nickName": q.get("sandbox_nick"),
                              "push": order == "before"})
        if order == "after":
            threading.Timer(0.2, self._push_authorized, args=(out["authorizerAppid"], out["authorizationCode"], "authorized")).start()
        sep = "&" if "?" in redirect else "?"
        return 302, None, f"{redirect}{sep}auth_code={urllib.parse.quote(out['authorizationCode'])}&expires_in=3600"

    def decide_audit(self, body):
        """WeChat's reviewers decide the open audit; the matching weapp_audit_* event is pushed, encrypted."""
        a = self.authorizers.get(body.get("appid", ""))
        if a is None or not a.get("audit") or a["audit"]["status"] not in (2, 4):
            return 404, {"error": "no open audit for that mini-program"}
        # A real audit lasts minutes at least, so two results for one mini-program never share a second (their
        # pushes, which carry no audit id, would look like one pushed twice): a later result is dated later.
        now = max(int(self.now()), a.get("last_result_time", 0) + 1)
        a["last_result_time"] = now
        result, reason = body.get("result"), body.get("reason") or "sandbox reviewer"
        if result == "pass":
            a["audit"].update(status=0, reason="")
            extra, event = f"<SuccTime>{now}</SuccTime>", "weapp_audit_success"
        elif result == "fail":
            a["audit"].update(status=1, reason=reason)
            extra, event = f"<Reason><![CDATA[{reason}]]></Reason><FailTime>{now}</FailTime><ScreenShot><![CDATA[]]></ScreenShot>", "weapp_audit_fail"
        elif result == "delay":
            a["audit"].update(status=4, reason=reason)
            extra, event = f"<Reason><![CDATA[{reason}]]></Reason><DelayTime>{now}</DelayTime>", "weapp_audit_delay"
        else:
            return 400, {"error": "result must be pass, fail or delay"}
        xml = (f"<xml><ToUserName><![CDATA[{a['user_name']}]]></ToUserName><FromUserName><![CDATA[o_sandbox]]></FromUserName>"
               f"<CreateTime>{now}</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[{event}]]></Event>{extra}</xml>")
        if body.get("push", True) is False:
            return 200, {"decided": result, "pushed": False}
        return 200, self._deliver(self.message_url(a["appid"]), "ToUserName", a["user_name"], xml, event)

    def control(self, method, path, body):
        if method == "GET" and path == "/control/counters":
            return 200, dict(self.counters)
        if method == "GET" and path == "/control/pushes":
            return 200, {"pushes": self.pushes}
        if method == "GET" and path == "/control/state":
            return 200, {"componentAppid": self.component["appid"], "now": int(self.now()),
                         "authorizers": [{"appid": a["appid"], "authorized": a["authorized"], "userName": a["user_name"],
                                          "auditStatus": (a.get("audit") or {}).get("status"),
                                          "releaseVersion": (a.get("release") or {}).get("version"),
                                          "grayPercentage": (a.get("gray") or {}).get("gray_percentage"),
                                          # Every commit and accepted audit submission, by user_version.
                                          "commits": a.get("commit_log", []), "submits": a.get("submit_log", []),
                                          "privacyGuide": a.get("privacy_dev"), "privacySets": a.get("privacy_sets", 0),
                                          "domains": a.get("domains", {}),
                                          # Every code made, in order, and the limited ones counted.
                                          "codes": a.get("codes", []), "limitedCodes": a.get("limited_codes", 0),
                                          # Subscribe messages sent, in order.
                                          "subscribeMessages": a.get("subscribe_messages", [])}
                                         for a in self.authorizers.values()],
                         "platformDomains": self.platform_domains,
                         "tickets": len(self.tickets), "faults": self.faults}
        if method == "POST" and path == "/control/counters/reset":
            self.counters = {}
            return 200, {"reset": True}
        if method == "POST" and path == "/control/categories":
            a = self.authorizers.get(body.get("appid", ""))
            if a is None:
                return 404, {"error": "unknown authorizer"}
            a["categories"] = body.get("categories", [])
            a.pop("account_categories", None)  # derived again from these
            return 200, {"appid": a["appid"], "categories": a["categories"]}
        if method == "POST" and path == "/control/icp":
            # The mini-program's ICP filing status as get_icp_entrance_info reports it (6 filed, 1024 not filed).
            a = self.authorizers.get(body.get("appid", ""))
            if a is None:
                return 404, {"error": "unknown authorizer"}
            a["icp_status"] = int(body.get("status", 6))
            return 200, {"appid": a["appid"], "status": a["icp_status"]}
        if method == "POST" and path == "/control/privacy":
            # A guide the mini-program already has (set on WeChat before it came to us), and privacy APIs it may
            # not use (without_auth_list).
            a = self.authorizers.get(body.get("appid", ""))
            if a is None:
                return 404, {"error": "unknown authorizer"}
            if "ownerSetting" in body:
                a["privacy_dev"] = {"owner_setting": body["ownerSetting"], "setting_list": body.get("settingList", []),
                                    "update_time": int(self.now())}
            if "unauthorizedApis" in body:
                a["unauthorized_apis"] = list(body["unauthorizedApis"])
            return 200, {"appid": a["appid"], "privacyGuide": a.get("privacy_dev")}
        if method == "POST" and path == "/control/nickname/decide":
            return self.decide_nickname(body)
        if method == "POST" and path == "/control/category/decide":
            return self.decide_category(body)
        if method == "POST" and path == "/control/register/confirm":
            return self.confirm_registration(body)
        if method == "POST" and path == "/control/violation":
            return self.add_violation(body)
        if method == "POST" and path == "/control/qrcodejump":
            # The provider hosted the verification file under `host` (publishing checks it), and how many
            # publishes the mini-program has made in the last 30 days.
            a = self.authorizers.get(body.get("appid", ""))
            if a is None:
                return 404, {"error": "unknown authorizer"}
            if body.get("fileHostedAt"):
                a.setdefault("jump_file_hosts", set()).add(body["fileHostedAt"])
            if "publishesThisMonth" in body:
                a["jump_publishes"] = [self.now()] * int(body["publishesThisMonth"])
            return 200, {"appid": a["appid"], "hosts": sorted(a.get("jump_file_hosts", set())),
                         "rules": list(a.get("jump_rules", {}).values())}
        if method == "POST" and path == "/control/codes":
            # How many limited codes (getwxacode + createwxaqrcode) the mini-program has used of its 100,000.
            a = self.authorizers.get(body.get("appid", ""))
            if a is None:
                return 404, {"error": "unknown authorizer"}
            a["limited_codes"] = int(body.get("used", 0))
            return 200, {"appid": a["appid"], "used": a["limited_codes"]}
        if method == "POST" and path == "/control/scan":
            # How long WeChat's privacy scan of each commit runs (get_code_privacy_info / submit_audit: 61039),
            # counted from the commit, for the scans under way too.
            self.scan_seconds = float(body.get("seconds", 0))
            return 200, {"seconds": self.scan_seconds}
        if method == "POST" and path == "/control/component/keys":
            # The platform's keys are changed on WeChat's side (a rotation): pushes are sealed with the new ones.
            with self.lock:
                for k in ("token", "encodingAesKey", "appsecret"):
                    if body.get(k):
                        self.component[k] = body[k]
                self.crypt = MsgCrypt(self.component["token"], self.component["encodingAesKey"], self.component["appid"])
            return 200, {"appid": self.component["appid"], "rotated": True}
        if method == "POST" and path == "/control/quota":
            for k in ("rest", "limit", "speedup_rest"):
                if k in body:
                    self.audit_quota[k] = int(body[k])
            if "refillPerSecond" in body:
                self.audit_refill.update(per_second=float(body["refillPerSecond"]), credit=0.0, at=self.now())
            return 200, dict(self.audit_quota, refillPerSecond=self.audit_refill["per_second"])
        if method == "POST" and path == "/control/audit/decide":
            return self.decide_audit(body)
        if method == "POST" and path == "/control/drafts":
            return 200, self.add_draft(body)
        if method == "POST" and path == "/control/jscode":
            return 200, self.new_js_code(body)
        if method == "POST" and path == "/control/subscribe":
            return 200, self.subscribe(body)
        if method == "POST" and path == "/control/phonecode":
            return self.new_phone_code(body)
        if method == "POST" and path == "/control/userdata":
            return self.encrypted_user_data(body)
        if method == "POST" and path == "/control/ticket/push":
            return 200, self.push_ticket()
        if method == "POST" and path == "/control/authorize":
            return 200, self.authorize(body)
        if method == "POST" and path == "/control/authorize/bulk":
            return 200, self.authorize_bulk(body)
        if method == "POST" and path == "/control/unauthorize":
            out = self.unauthorize(body)
            return (200, out) if out else (404, {"error": "unknown authorizer"})
        if method == "POST" and path == "/control/push":
            return 200, self.push_raw(body)
        if method == "POST" and path == "/control/faults":
            if not body.get("endpoint"):
                return 400, {"error": "endpoint is required (an endpoint name such as api_query_auth, or *)"}
            fault = {"endpoint": body["endpoint"], "appid": body.get("appid"), "errcode": body.get("errcode"), "httpStatus": body.get("httpStatus"),
                     "latencyMs": body.get("latencyMs"), "times": int(body.get("times", 1)), "rate": float(body.get("rate", 1.0)),
                     "applied": bool(body.get("applied", False))}
            with self.lock:
                self.faults.append(fault)
            return 200, fault
        if method == "DELETE" and path == "/control/faults":
            self.faults = []
            return 200, {"faults": []}
        if method == "POST" and path == "/control/refresh-token/revoke":
            a = self.authorizers.get(body.get("appid", ""))
            if a is None:
                return 404, {"error": "unknown authorizer"}
            a["refresh_revoked"] = True
            return 200, {"revoked": a["appid"]}
        if method == "POST" and path == "/control/tokens/revoke":
            with self.lock:
                store = self.component_tokens if body.get("kind") == "component" else \
                    self.authorizers.get(body.get("appid", ""), {}).get("tokens", {})
                for rec in store.values():
                    rec["revoked"] = True
            return 200, {"revoked": len(store)}
        return 404, {"error": "unknown control route"}

    def next_day(self):
        """A new day at WeChat: daily quotas start again."""
        with self.lock:
            self.daily_calls = {}
            # Today's audit withdrawals become yesterday's: the daily limit starts again, the monthly one counts on.
            for a in self.authorizers.values():
                a["undos"] = [t - 86400 for t in a.get("undos", [])]


def new_component_keys(appid=None):
    """What WeChat's open-platform console shows a provider for a new third-party platform."""
    alnum = string.ascii_letters + string.digits
    return {"appid": appid or "wx" + secrets.token_hex(8), "appsecret": secrets.token_hex(16),
            "token": "".join(secrets.choice(alnum) for _ in range(32)),
            "encodingAesKey": "".join(secrets.choice(alnum) for _ in range(43))}


class Platform:
    """Every component the sandbox serves, each its own Sandbox, on one clock. A WeChat call goes to the component
    that issued its token, else to the one its `component_appid` names; a control call to the one its
    `componentAppid` (body) or `component` (query) names. Without either, both go to the first component (the one
    given on the command line), so a single-component client never names it."""

    def __init__(self, first, push_base, clock_speed=1.0, ticket_interval=600, retry_interval=5.0, quota=10000):
        self.lock = threading.Lock()
        self.clock = Clock(clock_speed)
        self.options = {"push_base": push_base, "clock": self.clock, "ticket_interval": ticket_interval,
                        "retry_interval": retry_interval, "quota": quota}
        self.first = first["appid"]
        self.components = {first["appid"]: Sandbox(first, **self.options)}

    def all(self):
        with self.lock:
            return list(self.components.values())

    def for_call(self, q, body):
        token = q.get("component_access_token") or q.get("access_token")
        sandboxes = self.all()
        if token and len(sandboxes) > 1:
            for sb in sandboxes:
                if sb.owns_token(token):
                    return sb
        named = (body.get("component_appid") if isinstance(body, dict) else None) or q.get("component_appid")
        return self.components.get(named) or self.components[self.first]

    def call(self, path, q, body):
        return self.for_call(q, body).call(path, q, body)

    def consent(self, q):
        sb = self.components.get(q.get("component_appid") or self.first)
        return (sb or self.components[self.first]).consent(q)

    def ticket_loop(self):
        interval = self.options["ticket_interval"]
        while True:
            time.sleep(interval)
            for sb in self.all():
                if sb.pushing_tickets:
                    try:
                        sb.push_ticket()
                    except Exception as e:  # keep the schedule alive whatever one push did
                        print("ticket push failed:", sb.component["appid"], e, flush=True)

    def control(self, method, path, q, body):
        if method == "POST" and path == "/control/component/create":
            keys = new_component_keys(body.get("appid"))
            with self.lock:
                if keys["appid"] in self.components:
                    return 409, {"error": "a component with that appid exists"}
                self.components[keys["appid"]] = Sandbox(dict(keys), **self.options)
            return 200, keys
        if method == "GET" and path == "/control/components":
            return 200, {"components": [sb.component["appid"] for sb in self.all()], "first": self.first}
        if method == "POST" and path == "/control/reset":
            for sb in self.all():
                sb.reset()
            self.clock.offset = 0.0
            return 200, {"reset": True}
        if method == "POST" and path == "/control/clock":
            self.clock.offset += float(body.get("advanceSeconds", 0))
            return 200, {"now": int(self.clock.now())}
        if method == "POST" and path == "/control/day/next":
            for sb in self.all():
                sb.next_day()
            return 200, {"reset": True}
        if method == "GET" and path == "/control/issued-secrets":
            # Every secret handed to the platform, by every component, so a test can look for any in its logs.
            issued = set()
            for sb in self.all():
                with sb.lock:
                    issued |= sb.issued
            return 200, {"secrets": sorted(issued)}
        named = (body.get("componentAppid") if isinstance(body, dict) else None) or q.get("component") or self.first
        sb = self.components.get(named)
        if sb is None:
            return 404, {"error": f"the sandbox has no component {named}"}
        return sb.control(method, path, body)


def make_handler(sandbox):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *args):  # URLs carry tokens: log the path only
            pass

        def _reply(self, status, payload):
            data = json.dumps(payload, ensure_ascii=False).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _handle(self, method):
            url = urllib.parse.urlsplit(self.path)
            q = dict(urllib.parse.parse_qsl(url.query))
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            if url.path == "/cgi-bin/media/upload":  # multipart, not JSON
                body = {"_raw": raw, "_content_type": self.headers.get("Content-Type", "")}
            else:
                try:
                    body = json.loads(raw) if raw.strip() else {}
                except ValueError:
                    return self._reply(200, wx_error(47001, "data format error"))
            if url.path.startswith("/control/"):
                return self._reply(*sandbox.control(method, url.path, q, body))
            if url.path == "/health":
                return self._reply(200, {"ok": True})
            if url.path in ("/cgi-bin/componentloginpage", "/wxaopen/safe/bindcomponent"):
                status, err, location = sandbox.consent(q)
                if location is None:
                    return self._reply(status, err)
                self.send_response(302)
                self.send_header("Location", location)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            status, payload = sandbox.call(url.path, q, body)
            if isinstance(payload, RawBody):
                self.send_response(status)
                self.send_header("Content-Type", payload.content_type)
                self.send_header("Content-Length", str(len(payload.data)))
                self.end_headers()
                self.wfile.write(payload.data)
                return
            self._reply(status, payload)

        def do_GET(self):
            self._handle("GET")

        def do_POST(self):
            self._handle("POST")

        def do_DELETE(self):
            self._handle("DELETE")

    return Handler


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--port", type=int, default=9100)
    p.add_argument("--component", required=True, help="JSON file: appid, appsecret, token, encodingAesKey")
    p.add_argument("--push-base", required=True, help="base URL the pushes go to (the product's API)")
    p.add_argument("--clock-speed", type=float, default=float(os.environ.get("SANDBOX_CLOCK_SPEED", "1")))
    p.add_argument("--ticket-interval", type=float, default=float(os.environ.get("SANDBOX_TICKET_INTERVAL", "600")))
    # WeChat retries an unanswered or refused push about every 5 s, three times.
    p.add_argument("--retry-interval", type=float, default=float(os.environ.get("SANDBOX_RETRY_INTERVAL", "5")))
    p.add_argument("--quota", type=int, default=int(os.environ.get("SANDBOX_DAILY_QUOTA", "10000")))
    args = p.parse_args()
    with open(args.component) as f:
        component = json.load(f)
    sandbox = Platform(component, args.push_base, args.clock_speed, args.ticket_interval, args.retry_interval, args.quota)
    threading.Thread(target=sandbox.ticket_loop, daemon=True).start()
    server = ThreadingHTTPServer(("127.0.0.1", args.port), make_handler(sandbox))
    server.daemon_threads = True
    print(f"WeChat sandbox on http://127.0.0.1:{args.port} for component {component['appid']}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
