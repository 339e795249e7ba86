"""Cold start of each function (the shared `every-function` binary with its Handler): exec → ready (the binary asks the Runtime API for its first event, with its config,
SDK clients and, for API functions, the JWT key loaded), beside a hello-world lambda_http binary started alternately with it.
Needs the local stack up (the functions read their secrets from the emulator). Median of N runs each."""
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, "infra/local")
import cfn  # noqa: E402

bin_dir, runs = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 7
ready = threading.Event()


class Runtime(BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def do_GET(self):
        ready.set()
        time.sleep(5)  # never hand out an event: only readiness is measured


server = ThreadingHTTPServer(("127.0.0.1", 0), Runtime)
server.daemon_threads = True
threading.Thread(target=server.serve_forever, daemon=True).start()
env_file = dict(l.strip().split("=", 1) for l in open(".local/stack.env") if "=" in l)
template = cfn.load("template.yaml")
resolver = cfn.Resolver(template, {"WechatApiBase": env_file["SANDBOX_URL"]})
baseline = ("hello_lambda (baseline)", os.path.join(bin_dir, "examples", "hello_lambda"), {})
specs = []
for f in cfn.functions(template, resolver):
    specs.append((f["name"], os.path.join(bin_dir, f["binary"]), {**f["env"], "_HANDLER": f["name"]}))
    # A binary of its own for the function, when one was built (the alternative measured in docs/performance.md).
    if os.path.exists(os.path.join(bin_dir, f["name"])):
        specs.append((f"{f['name']} (own binary)", os.path.join(bin_dir, f["name"]), f["env"]))


def start_once(name, path, fenv):
    """ms from exec until the process asks for its first event, and its peak RSS in MB."""
    ready.clear()
    env = {**os.environ, **{k: v for k, v in env_file.items() if k.startswith("AWS_")}, **fenv,
           "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{server.server_address[1]}", "AWS_LAMBDA_FUNCTION_NAME": name,
           "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128", "AWS_LAMBDA_FUNCTION_VERSION": "1", "RUST_LOG": "off"}
    t0 = time.perf_counter()
    proc = subprocess.Popen([path], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ok = ready.wait(10)
    ms = (time.perf_counter() - t0) * 1000 if ok else float("nan")
    rss = None
    try:
        with open(f"/proc/{proc.pid}/status") as f:
            rss = next((int(l.split()[1]) // 1024 for l in f if l.startswith("VmHWM")), None)
    except OSError:
        pass
    proc.kill()
    proc.wait()
    return ms, rss


# The baseline is started right before each run of each function, so a ratio compares starts made under the same
# machine conditions; the ratio is of the two medians.
results = []
for name, path, fenv in specs:
    samples, base, rss = [], [], []
    for _ in range(runs):
        base.append(start_once(*baseline)[0])
        ms, r = start_once(name, path, fenv)
        samples.append(ms)
        rss.append(r or 0)
    results.append({"function": name, "medianMs": round(statistics.median(samples), 2),
                    "baselineMedianMs": round(statistics.median(base), 2),
                    "ratio": round(statistics.median(samples) / statistics.median(base), 2),
                    "peakRssMb": max(rss), "sizeKb": os.path.getsize(path) // 1024})
print(json.dumps(results, indent=1))
