"""The same work as shared/examples/push_throughput.rs with wechatpy: verify + decrypt + parse each push."""
import json
import sys
import time

from wechatpy.crypto import WeChatCrypto
from wechatpy.utils import to_text
import xmltodict

doc = json.load(open(sys.argv[1]))
rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 5
crypto = WeChatCrypto(doc["token"], doc["encodingAesKey"], doc["appid"])
handled = 0
started = time.perf_counter()
for _ in range(rounds):
    for m in doc["messages"]:
        plain = crypto.decrypt_message(m["body"], m["msg_signature"], m["timestamp"], m["nonce"])
        event = xmltodict.parse(to_text(plain))["xml"]
        handled += int(int(event["CreateTime"]) > 0)
secs = time.perf_counter() - started
print(json.dumps({"impl": "wechatpy", "messages": handled, "seconds": round(secs, 4), "perSecond": round(handled / secs)}))
