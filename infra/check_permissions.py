"""Least privilege, checked: every function's IAM policy in template.yaml grants only what infra/permissions.yaml
declares for it. Fails on an undeclared action, a wildcard, a SAM policy template, a resource beyond the table, the
bucket prefixes, the secrets or the bus it declares, and on a function missing from either file; and when the
library calls a DynamoDB operation with an IAM action of its own (BatchGetItem, BatchWriteItem, Scan) that no
function is granted, which only AWS would refuse.

    python infra/check_permissions.py           # check (make lint)
    python infra/check_permissions.py --write   # rewrite each function's Policies from permissions.yaml
"""
import os
import re
import sys

import yaml

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "local"))
import cfn  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TEMPLATE = os.path.join(ROOT, "template.yaml")
DECLARED = os.path.join(ROOT, "infra", "permissions.yaml")

TABLE = ["!GetAtt StateTable.Arn", '!Sub "${StateTable.Arn}/index/*"']
COMPONENT_SECRETS = '!Sub "arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:${AWS::StackName}/component/*"'
PAY_SECRETS = '!Sub "arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:${AWS::StackName}/pay/*"'
ALIPAY_SECRETS = '!Sub "arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:${AWS::StackName}/alipay/*"'
JWT = "!Ref JwtSigningKey"
BUS = "!GetAtt EventBus.Arn"
BUCKET = "!GetAtt AssetBucket.Arn"
QUEUE = "!GetAtt BatchQueue.Arn"
SOCKETS = '!Sub "arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:${ChatSocketApi}/live/POST/@connections/*"'
QUEUES = {"batch": QUEUE, "forward": "!GetAtt ForwardQueue.Arn", "forward-dlq": "!GetAtt ForwardDeadLetterQueue.Arn"}


def objects(prefix):
    return f'!Sub "${{AssetBucket.Arn}}/{prefix}*"'


def statements(spec):
    """The statements a declaration allows: (actions, resources, condition) each."""
    out = [([f"dynamodb:{a}" for a in spec["dynamodb"]], TABLE, None)] if spec.get("dynamodb") else []
    secrets = spec.get("secrets", [])
    readable = {"jwt": JWT, "component-read": COMPONENT_SECRETS, "alipay-read": ALIPAY_SECRETS, "pay-read": PAY_SECRETS}
    resources = [arn for kind, arn in readable.items() if kind in secrets]
    if resources:
        out.append((["secretsmanager:GetSecretValue"], resources, None))
    for kind, arn in (("component-write", COMPONENT_SECRETS), ("alipay-write", ALIPAY_SECRETS),
                      ("pay-write", PAY_SECRETS)):
        if kind in secrets:
            out.append((["secretsmanager:CreateSecret", "secretsmanager:PutSecretValue"], [arn], None))
    if spec.get("events"):
        out.append((["events:PutEvents"], [BUS], None))
    if spec.get("sockets"):
        out.append((["execute-api:ManageConnections"], [SOCKETS], None))
    sqs = spec.get("sqs") or {}
    if isinstance(sqs, list):  # the batch queue
        sqs = {"batch": sqs}
    for queue, actions in sqs.items():
        out.append(([f"sqs:{a}" for a in actions], [QUEUES[queue]], None))
    for action, prefixes in (spec.get("s3") or {}).items():
        if action == "ListBucket":
            out.append(([f"s3:{action}"], [BUCKET], {"StringLike": {"s3:prefix": [f"{p}*" for p in prefixes]}}))
        else:
            out.append(([f"s3:{action}"], [objects(p) for p in prefixes], None))
    return out


def render(spec):
    lines = ["      Policies:", "        - Statement:"]
    for actions, resources, condition in statements(spec):
        lines.append("            - Effect: Allow")
        lines.append(f"              Action: [{', '.join(actions)}]")
        lines.append(f"              Resource: [{', '.join(resources)}]")
        if condition:
            (op, body), = condition.items()
            (key, values), = body.items()
            lines.append(f"              Condition: {{ {op}: {{ \"{key}\": [{', '.join(repr(v) for v in values)}] }} }}")
    return "\n".join(lines) + "\n"


def text(value):
    """A template value as written (tags included), to compare resources."""
    if isinstance(value, cfn._Tag):
        inner = value.value
        if value.tag == "GetAtt" and isinstance(inner, str):
            return f"!GetAtt {inner}"
        if value.tag == "Ref":
            return f"!Ref {inner}"
        if value.tag == "Sub" and isinstance(inner, str):
            return f'!Sub "{inner}"'
        return f"!{value.tag} {inner!r}"
    return str(value)


def as_list(value):
    return value if isinstance(value, list) else [value]


def functions(template):
    for name, res in template["Resources"].items():
        if res.get("Type") == "AWS::Serverless::Function":
            yield name, res["Properties"]["Handler"], res["Properties"].get("Policies") or []


def check():
    template = cfn.load(TEMPLATE)
    declared = yaml.safe_load(open(DECLARED))["functions"]
    problems, seen = [], set()
    for logical, binary, policies in functions(template):
        seen.add(binary)
        spec = declared.get(binary)
        if spec is None:
            problems.append(f"{binary}: not declared in infra/permissions.yaml")
            continue
        allowed = {}
        for actions, resources, condition in statements(spec):
            for a in actions:
                allowed.setdefault(a, set()).update(resources)
        granted = {a for p in policies if isinstance(p, dict) for st in p.get("Statement") or []
                   for a in as_list(st.get("Action", []))}
        for missing in sorted(set(allowed) - granted):
            problems.append(f"{binary}: declares {missing} but template.yaml does not grant it (run with --write)")
        for policy in policies:
            if not isinstance(policy, dict) or "Statement" not in policy:
                problems.append(f"{binary}: policy {policy!r} is not an explicit Statement (SAM templates hide their actions)")
                continue
            for st in policy["Statement"]:
                if st.get("Effect") != "Allow":
                    continue
                for action in as_list(st.get("Action", [])):
                    if "*" in action:
                        problems.append(f"{binary}: wildcard action {action}")
                    elif action not in allowed:
                        problems.append(f"{binary}: {action} is not declared for it")
                    else:
                        for r in as_list(st.get("Resource", [])):
                            if "*" == r or text(r) not in allowed[action]:
                                problems.append(f"{binary}: {action} on {text(r)} is beyond what it declares")
    for binary in set(declared) - seen:
        problems.append(f"{binary}: declared but no such function in template.yaml")
    problems.extend(ungranted(declared))
    return problems


# DynamoDB calls whose IAM action is their own (transactions need only the per-item actions, which every writer has).
SDK_CALLS = {".batch_get_item()": "BatchGetItem", ".batch_write_item()": "BatchWriteItem", ".scan()": "Scan"}


def ungranted(declared):
    """A DynamoDB operation the library's code makes that no function is granted: it would fail only on AWS, where
    IAM is enforced (the local emulator does not)."""
    granted = {a for spec in declared.values() for a in spec.get("dynamodb", [])}
    root = os.path.join(os.path.dirname(TEMPLATE), "shared", "src")
    for folder, _, files in os.walk(root):
        for name in files:
            path = os.path.join(folder, name)
            if name.endswith(".rs"):
                code = open(path).read()
                for call, action in SDK_CALLS.items():
                    if call in code and action not in granted:
                        yield f"{os.path.relpath(path, root)} calls {call} but no function is granted dynamodb:{action}"


def write():
    declared = yaml.safe_load(open(DECLARED))["functions"]
    src = open(TEMPLATE).read()
    pattern = re.compile(r"(    Properties:\n      Handler: ([a-z0-9-]+)\n(?:      (?!Policies:).*\n)*)"
                         r"      Policies:\n(?:        .*\n)+")
    out = pattern.sub(lambda m: m.group(1) + render(declared[m.group(2)]), src)
    open(TEMPLATE, "w").write(out)


if __name__ == "__main__":
    if "--write" in sys.argv:
        write()
    problems = check()
    for p in problems:
        print("permissions:", p)
    print(f"permissions: {len(problems)} problem(s) in {TEMPLATE}")
    sys.exit(1 if problems else 0)
