"""WeChat Pay sandbox (APIv3, service-provider mode): the partner endpoints the product calls, checking their
signatures as WeChat Pay does and signing every answer with a platform certificate of its own.

- Every `/v3/...` request must carry `Authorization: WECHATPAY2-SHA256-RSA2048 mchid=...,serial_no=...,...` signed
  over `METHOD\\nURL\\ntimestamp\\nnonce\\nbody\\n` with the provider merchant's key (401 SIGN_ERROR otherwise, also for
  a timestamp more than five minutes off).
- `POST /v3/pay/partner/transactions/jsapi` (prepay; the same out_trade_no with the same parameters answers the same
  prepay_id, other parameters are 403 OUT_TRADE_NO_USED), `GET .../out-trade-no/{no}` (query), `POST
  .../out-trade-no/{no}/close` (204; 400 ORDERPAID when paid), `POST /v3/refund/domestic/refunds` (one refund a
  number, SUCCESS at once), `GET /v3/certificates` (the platform certificate, encrypted with the APIv3 key).
- Answers carry `Wechatpay-Timestamp/Nonce/Signature/Serial`, signed over `timestamp\\nnonce\\nbody\\n`.
- Control: `POST /control/pay {outTradeNo, result: SUCCESS|PAYERROR, deliveries?, atOnce?, total?, tamper?}` settles
  a payment and sends its notification to the order's notify_url `deliveries` times, one after another or all at
  once (a failed delivery is retried up to 3 times), encrypted (AEAD_AES_256_GCM, associated data `transaction`) and signed; `total` overrides the amount
  the notification reports, `tamper` alters the body after signing. `POST /control/paysign {appId, timeStamp,
  nonceStr, package, paySign}` checks a `wx.requestPayment` signature; `GET /control/state` lists the orders.
"""
import argparse
import base64
import json
import os
import re
import secrets
import sys
import threading
import time
import urllib.request

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import Answer, serve  # noqa: E402

AUTH = re.compile(r'(\w+)="([^"]*)"')
TRADE_NO = re.compile(r"^[0-9A-Za-z_*-]{6,32}$")


def error(status, code, message):
    return status, {"code": code, "message": message}


class Sandbox:
    def __init__(self, keys):
        self.sp_mchid = keys["spMchid"]
        self.sp_appid = keys["spAppid"]
        self.merchant_serial = keys["serialNo"]
        self.merchant_key = serialization.load_pem_public_key(keys["merchantPublicKey"].encode())
        self.api_v3_key = keys["apiV3Key"].encode()
        self.platform_key = serialization.load_pem_private_key(keys["platformPrivateKey"].encode(), None)
        self.platform_cert = keys["platformCertificate"]
        self.platform_serial = keys["platformSerial"]
        self.orders = {}  # out_trade_no -> order
        self.refunds = {}  # out_refund_no -> refund
        self.deliveries = []  # every notification delivery: (out_trade_no, status)
        self.lock = threading.Lock()

    # --- signatures ------------------------------------------------------------------------------------------
    def check_request(self, method, url, headers, raw):
        auth = headers.get("Authorization", "")
        if not auth.startswith("WECHATPAY2-SHA256-RSA2048 "):
            return error(401, "SIGN_ERROR", "missing or unknown Authorization scheme")
        parts = dict(AUTH.findall(auth))
        if parts.get("mchid") != self.sp_mchid or parts.get("serial_no") != self.merchant_serial:
            return error(401, "SIGN_ERROR", "unknown merchant or certificate serial")
        try:
            ts = int(parts.get("timestamp", ""))
        except ValueError:
            return error(401, "SIGN_ERROR", "bad timestamp")
        if abs(time.time() - ts) > 300:
            return error(401, "SIGN_ERROR", "timestamp out of range")
        message = f"{method}\n{url}\n{ts}\n{parts.get('nonce_str', '')}\n{raw.decode()}\n".encode()
        try:
            self.merchant_key.verify(base64.b64decode(parts.get("signature", "")), message,
                                     padding.PKCS1v15(), hashes.SHA256())
        except Exception:
            return error(401, "SIGN_ERROR", "signature does not verify")
        return None

    def signed(self, status, body):
        text = "" if body is None else json.dumps(body, ensure_ascii=False, separators=(",", ":"))
        ts, nonce = str(int(time.time())), secrets.token_hex(16)
        signature = self.platform_key.sign(f"{ts}\n{nonce}\n{text}\n".encode(), padding.PKCS1v15(), hashes.SHA256())
        headers = {"Wechatpay-Timestamp": ts, "Wechatpay-Nonce": nonce, "Wechatpay-Serial": self.platform_serial,
                   "Wechatpay-Signature": base64.b64encode(signature).decode()}
        return Answer(status, text.encode(), headers=headers)

    def encrypt(self, plaintext, aad):
        nonce = secrets.token_hex(6)  # 12 characters, used as bytes
        sealed = AESGCM(self.api_v3_key).encrypt(nonce.encode(), plaintext, aad.encode())
        return {"algorithm": "AEAD_AES_256_GCM", "nonce": nonce, "associated_data": aad,
                "ciphertext": base64.b64encode(sealed).decode()}

    # --- the partner API ---------------------------------------------------------------------------------------
    def transaction(self, o, total=None):
        out = {"sp_appid": self.sp_appid, "sp_mchid": self.sp_mchid, "sub_appid": o["sub_appid"],
               "sub_mchid": o["sub_mchid"], "out_trade_no": o["out_trade_no"], "trade_state": o["trade_state"],
               "trade_state_desc": o["trade_state"], "trade_type": "JSAPI", "attach": "",
               "amount": {"total": o["total"] if total is None else total, "currency": "CNY"},
               "payer": {"sub_openid": o["openid"]}}
        if o.get("transaction_id"):
            out.update({"transaction_id": o["transaction_id"], "bank_type": "OTHERS", "success_time": o["success_time"],
                        "amount": {**out["amount"], "payer_total": out["amount"]["total"], "payer_currency": "CNY"}})
        return out

    def prepay(self, body):
        need = ("sp_appid", "sp_mchid", "sub_appid", "sub_mchid", "description", "out_trade_no", "notify_url")
        missing = [k for k in need if not isinstance(body.get(k), str) or not body.get(k)]
        if missing:
            return error(400, "PARAM_ERROR", f"missing {', '.join(missing)}")
        if body["sp_mchid"] != self.sp_mchid or body["sp_appid"] != self.sp_appid:
            return error(400, "APPID_MCHID_NOT_MATCH", "sp_appid and sp_mchid do not match")
        if not TRADE_NO.match(body["out_trade_no"]) or len(body["description"]) > 127:
            return error(400, "PARAM_ERROR", "out_trade_no or description invalid")
        url = body["notify_url"]
        if "?" in url or not (url.startswith("https://") or url.startswith("http://127.0.0.1")):
            return error(400, "PARAM_ERROR", "notify_url must be https without a query")
        amount, payer = body.get("amount") or {}, body.get("payer") or {}
        total = amount.get("total")
        if not isinstance(total, int) or isinstance(total, bool) or total <= 0 or amount.get("currency", "CNY") != "CNY":
            return error(400, "PARAM_ERROR", "amount.total must be a positive integer in fen")
        if not payer.get("sub_openid"):
            return error(400, "PARAM_ERROR", "payer.sub_openid is required with sub_appid")
        key = {k: body[k] for k in ("sub_appid", "sub_mchid", "description", "notify_url")}
        with self.lock:
            o = self.orders.get(body["out_trade_no"])
            if o:
                if {k: o[k] for k in key} != key or o["total"] != total or o["openid"] != payer["sub_openid"]:
                    return error(403, "OUT_TRADE_NO_USED", "out_trade_no used with other parameters")
                if o["trade_state"] == "SUCCESS":
                    return error(400, "ORDERPAID", "the order is paid")
                if o["trade_state"] == "CLOSED":
                    return error(400, "ORDER_CLOSED", "the order is closed")
                return 200, {"prepay_id": o["prepay_id"]}
            o = {**key, "out_trade_no": body["out_trade_no"], "total": total, "openid": payer["sub_openid"],
                 "prepay_id": "wx" + secrets.token_hex(14), "trade_state": "NOTPAY", "refunded": False}
            self.orders[o["out_trade_no"]] = o
        return 200, {"prepay_id": o["prepay_id"]}

    def order_of(self, no, query):
        o = self.orders.get(no)
        if o is None or query.get("sp_mchid", self.sp_mchid) != self.sp_mchid or \
                query.get("sub_mchid", o["sub_mchid"]) != o["sub_mchid"]:
            return None
        return o

    def refund(self, body):
        no, rno = body.get("out_trade_no"), body.get("out_refund_no")
        if not isinstance(rno, str) or not rno or len(rno) > 64:
            return error(400, "PARAM_ERROR", "out_refund_no is required")
        if len(body.get("reason") or "") > 80:
            return error(400, "PARAM_ERROR", "reason is at most 80 characters")
        with self.lock:
            if rno in self.refunds:
                return 200, self.refunds[rno]
            o = self.orders.get(no or "")
            if o is None or o["sub_mchid"] != body.get("sub_mchid"):
                return error(404, "RESOURCE_NOT_EXISTS", "no such order")
            if o["trade_state"] not in ("SUCCESS", "REFUND"):
                return error(403, "TRADE_ERROR", "the order is not paid")
            amount = body.get("amount") or {}
            if amount.get("total") != o["total"] or not isinstance(amount.get("refund"), int) or \
                    not 0 < amount["refund"] <= o["total"] or o["refunded"]:
                return error(403, "NOT_ENOUGH", "the refund exceeds what is left")
            o["refunded"], o["trade_state"] = True, "REFUND"
            r = {"refund_id": "50" + secrets.token_hex(14), "out_refund_no": rno, "transaction_id": o["transaction_id"],
                 "out_trade_no": no, "channel": "ORIGINAL", "status": "SUCCESS",
                 "create_time": time.strftime("%Y-%m-%dT%H:%M:%S+08:00", time.gmtime(time.time() + 8 * 3600)),
                 "amount": {"refund": amount["refund"], "total": o["total"], "currency": "CNY"}}
            self.refunds[rno] = r
        return 200, r

    def certificates(self):
        now = time.time()
        fmt = lambda t: time.strftime("%Y-%m-%dT%H:%M:%S+08:00", time.gmtime(t + 8 * 3600))
        return 200, {"data": [{"serial_no": self.platform_serial, "effective_time": fmt(now - 86400),
                               "expire_time": fmt(now + 5 * 365 * 86400),
                               "encrypt_certificate": self.encrypt(self.platform_cert.encode(), "certificate")}]}

    def api(self, method, path, query, headers, raw):
        url = path + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")
        refused = self.check_request(method, url, headers, raw)
        if refused:
            return refused
        try:
            body = json.loads(raw) if raw.strip() else {}
        except ValueError:
            return error(400, "PARAM_ERROR", "body is not JSON")
        if method == "POST" and path == "/v3/pay/partner/transactions/jsapi":
            return self.prepay(body)
        m = re.fullmatch(r"/v3/pay/partner/transactions/out-trade-no/([^/]+)", path)
        if m and method == "GET":
            o = self.order_of(m.group(1), query)
            return (200, self.transaction(o)) if o else error(404, "ORDER_NOT_EXIST", "no such order")
        m = re.fullmatch(r"/v3/pay/partner/transactions/out-trade-no/([^/]+)/close", path)
        if m and method == "POST":
            with self.lock:
                o = self.order_of(m.group(1), body)
                if o is None:
                    return error(404, "ORDER_NOT_EXIST", "no such order")
                if o["trade_state"] in ("SUCCESS", "REFUND"):
                    return error(400, "ORDERPAID", "the order is paid")
                o["trade_state"] = "CLOSED"
            return 204, None
        if method == "POST" and path == "/v3/refund/domestic/refunds":
            return self.refund(body)
        if method == "GET" and path == "/v3/certificates":
            return self.certificates()
        return error(404, "NOT_FOUND", f"no {method} {path}")

    # --- notifications -----------------------------------------------------------------------------------------
    def notify(self, o, deliveries, total, tamper, at_once=False):
        tx = self.transaction(o, total)
        envelope = {"id": "EV-" + secrets.token_hex(8), "create_time": tx.get("success_time", ""),
                    "resource_type": "encrypt-resource",
                    "event_type": "TRANSACTION.SUCCESS" if o["trade_state"] == "SUCCESS" else "TRANSACTION.FAIL",
                    "summary": "支付成功" if o["trade_state"] == "SUCCESS" else "支付失败",
                    "resource": {"original_type": "transaction",
                                 **self.encrypt(json.dumps(tx, ensure_ascii=False).encode(), "transaction")}}
        statuses = []

        def deliver():
            answer = self.signed(200, envelope)
            body = answer.body.replace(b'"summary":"', b'"summary":"x') if tamper else answer.body
            status = None
            for _attempt in range(3):  # WeChat Pay retries a delivery that was not answered 2xx
                req = urllib.request.Request(o["notify_url"], data=body, method="POST",
                                             headers={"Content-Type": "application/json", **answer.headers})
                try:
                    with urllib.request.urlopen(req, timeout=10) as resp:
                        status = resp.status
                except urllib.error.HTTPError as e:
                    status = e.code
                except OSError:
                    status = 0
                if 200 <= status < 300:
                    break
                time.sleep(0.2)
            statuses.append(status)
            self.deliveries.append((o["out_trade_no"], status))

        if at_once:  # the same notification in flight several times, as retries can overlap
            threads = [threading.Thread(target=deliver) for _ in range(deliveries)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
        else:
            for _ in range(deliveries):
                deliver()
        return statuses

    def control(self, method, path, body):
        if method == "POST" and path == "/control/pay":
            with self.lock:
                o = self.orders.get(body.get("outTradeNo", ""))
                if o is None:
                    return 404, {"error": "no such order"}
                if o["trade_state"] != "NOTPAY":
                    return 409, {"error": f"the order is {o['trade_state']}"}
                if body.get("result", "SUCCESS") == "SUCCESS":
                    o.update({"trade_state": "SUCCESS", "transaction_id": "42" + secrets.token_hex(13),
                              "success_time": time.strftime("%Y-%m-%dT%H:%M:%S+08:00", time.gmtime(time.time() + 8 * 3600))})
                else:
                    o["trade_state"] = "PAYERROR"
            statuses = self.notify(o, int(body.get("deliveries", 1)), body.get("total"), bool(body.get("tamper")),
                                   bool(body.get("atOnce")))
            return 200, {"tradeState": o["trade_state"], "deliveries": statuses}
        if method == "POST" and path == "/control/paysign":
            message = "\n".join(str(body.get(k, "")) for k in ("appId", "timeStamp", "nonceStr", "package")) + "\n"
            try:
                self.merchant_key.verify(base64.b64decode(body.get("paySign", "")), message.encode(),
                                         padding.PKCS1v15(), hashes.SHA256())
                return 200, {"valid": True}
            except Exception:
                return 200, {"valid": False}
        if method == "GET" and path == "/control/state":
            return 200, {"orders": list(self.orders.values()), "refunds": list(self.refunds.values()),
                         "deliveries": self.deliveries}
        return 404, {"error": f"no control endpoint {method} {path}"}

    def handle(self, method, path, query, headers, raw):
        if path == "/health":
            return Answer(200, {"ok": True})
        if path.startswith("/control/"):
            try:
                body = json.loads(raw) if raw.strip() else {}
            except ValueError:
                return Answer(400, {"error": "control bodies are JSON"})
            status, out = self.control(method, path, body)
            return Answer(status, out)
        if path.startswith("/v3/"):
            status, out = self.api(method, path, query, headers, raw)
            return self.signed(status, out)
        return Answer(404, {"error": f"the WeChat Pay sandbox has no {method} {path}"})


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--port", type=int, default=9120)
    p.add_argument("--keys", required=True, help="JSON: spMchid, spAppid, serialNo, merchantPublicKey, apiV3Key, "
                                                 "platformPrivateKey, platformCertificate, platformSerial")
    args = p.parse_args()
    with open(args.keys) as f:
        keys = json.load(f)
    sandbox = Sandbox(keys)
    serve(args.port, sandbox.handle, f"WeChat Pay sandbox on http://127.0.0.1:{args.port} for merchant {keys['spMchid']}")


if __name__ == "__main__":
    main()
