"""Schema-driven fuzzing of every route of the local stack (schemathesis, from docs/openapi.yaml as the stack serves
it), once with a valid token of each role: no answer may be a 5xx, and every answer must be one the document lists,
with its content type and schema. Bounded: FUZZ_EXAMPLES cases per operation and phase (default 12) and
FUZZ_SECONDS per role (default 30). Run by `make test` after the black-box tests, against the same stack; by hand:
`make up && .venv/bin/python infra/fuzz_api.py`. Failures are printed with a curl line to reproduce each.

What fails the run: a response that breaks a check, and a request the stack never answered (network error or
timeout). An error inside the fuzzer itself while it generates a case (a Hypothesis internal error on Python 3.11,
"AST constructor recursion depth mismatch") is printed and counted, but it is not the API's fault."""
import glob
import os
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "local"))
import stack  # noqa: E402

ROLES = ("admin", "developer", "operator", "merchant")
CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"
UNANSWERED = ("Network Error", "Connection", "Timeout", "timed out")


def verdicts(report_dir):
    """(what failed, fuzzer errors) in the run's JUnit report."""
    failed, tool_errors = [], []
    for path in glob.glob(os.path.join(report_dir, "*.xml")):
        for case in ET.parse(path).getroot().iter("testcase"):
            for outcome in case:
                text = (outcome.get("message") or "") + (outcome.text or "")
                if outcome.tag == "failure" or (outcome.tag == "error" and any(u in text for u in UNANSWERED)):
                    failed.append(case.get("name"))
                elif outcome.tag == "error":
                    tool_errors.append(f"{case.get('name')}: {text.strip().splitlines()[0][:120]}")
    return failed, tool_errors


def main():
    env = stack.read_env()
    key = stack.jwt_key(env)
    examples = os.environ.get("FUZZ_EXAMPLES", "12")
    seconds = os.environ.get("FUZZ_SECONDS", "30")
    st = os.path.join(os.path.dirname(sys.executable), "st")
    failed = []
    for role in ROLES:
        token = stack.sign_jwt(key, role, env["TENANT"], env["COMPONENT_APPID"])
        print(f"== fuzzing every route as {role}", flush=True)
        with tempfile.TemporaryDirectory() as report:
            run = subprocess.run([
                st, "run", env["API_URL"] + "/openapi.json", "--url", env["API_URL"],
                "-H", f"Authorization: Bearer {token}",
                "--checks", CHECKS, "--phases", "examples,coverage,fuzzing",
                "--max-examples", examples, "--max-time", seconds, "--seed", "7",
                "--workers", "2", "--request-timeout", "30", "--no-shrink", "--warnings", "off",
                "--report", "junit", "--report-dir", report,
            ], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            # Long lines are cut: a fuzzer error can print the source of a whole module.
            print("\n".join(line[:300] for line in run.stdout.splitlines()), flush=True)
            bad, tool_errors = verdicts(report)
        for e in tool_errors:
            print(f"fuzzer error (not the API's): {e}")
        failed += [f"{role}: {name}" for name in bad]
    print("fuzzing: " + ("failures:\n  " + "\n  ".join(failed) if failed else
                         "no 5xx, no unanswered request and no answer outside the contract, for every role"))
    roles_failed = len({f.split(":")[0] for f in failed})
    print(f"fuzzing: {len(ROLES) - roles_failed} passed, {roles_failed} failed")
    if failed:
        sys.exit(1)


if __name__ == "__main__":
    main()
