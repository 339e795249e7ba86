"""Generates encrypted, signed verify-ticket pushes (as WeChat sends them) for the push throughput benchmark."""
import json
import secrets
import string
import sys
import time

sys.path.insert(0, "infra/sandbox")
from wechat_sandbox import MsgCrypt  # noqa: E402

count, out = int(sys.argv[1]), sys.argv[2]
alnum = string.ascii_letters + string.digits
comp = {"appid": "wx" + secrets.token_hex(8), "token": "".join(secrets.choice(alnum) for _ in range(16)),
        "encodingAesKey": "".join(secrets.choice(alnum) for _ in range(43))}
crypt = MsgCrypt(comp["token"], comp["encodingAesKey"], comp["appid"])
messages = []
for i in range(count):
    ts, nonce = str(int(time.time()) + i), str(secrets.randbelow(10**9))
    plain = (f"<xml><AppId><![CDATA[{comp['appid']}]]></AppId><CreateTime>{ts}</CreateTime>"
             f"<InfoType><![CDATA[component_verify_ticket]]></InfoType>"
             f"<ComponentVerifyTicket><![CDATA[ticket@@@{secrets.token_urlsafe(60)}]]></ComponentVerifyTicket></xml>")
    enc = crypt.encrypt(plain)
    messages.append({"timestamp": ts, "nonce": nonce, "msg_signature": crypt.signature(crypt.token, ts, nonce, enc),
                     "body": f"<xml><AppId><![CDATA[{comp['appid']}]]></AppId><Encrypt><![CDATA[{enc}]]></Encrypt></xml>"})
with open(out, "w") as f:
    json.dump({**comp, "messages": messages}, f)
