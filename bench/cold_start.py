"""Cold start of each function: exec → ready (the binary asks the Runtime API for its first event, with its config,
SDK clients and, for API functions, the JWT key loaded), beside a hello-world lambda_http binary, in the same run.
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
specs = [("hello_lambda (baseline)", os.path.join(bin_dir, "examples", "hello_lambda"), {})]
specs += [(f["name"], os.path.join(bin_dir, f["name"]), f["env"]) for f in cfn.functions(template, resolver)]
results = []
for name, path, fenv in specs:
    samples, rss = [], []
    for _ in range(runs):
        ready.clear()
        env = {**os.environ, **{k: v for k, v in env_file.items() if k.startswith("AWS_")}, **fenv,
               "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{server.server_address[1]}", "AWS_LAMBDA_FUNCTION_NAME": name,
               "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128", "AWS_LAMBDA_FUNCTION_VERSION": "1", "RUST_LOG": "off"}
        t0 = time.perf_counter()
        proc = subprocess.Popen([path], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        ok = ready.wait(10)
        samples.append((time.perf_counter() - t0) * 1000 if ok else float("nan"))
        try:
            with open(f"/proc/{proc.pid}/status") as f:
                rss += [int(l.split()[1]) // 1024 for l in f if l.startswith("VmHWM")]
        except OSError:
            pass
        proc.kill()
        proc.wait()
    results.append({"function": name, "medianMs": round(statistics.median(samples), 1),
                    "minMs": round(min(samples), 1), "peakRssMb": max(rss) if rss else None,
                    "sizeKb": os.path.getsize(path) // 1024})
print(json.dumps(results, indent=1))
