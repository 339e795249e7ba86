"""Reads template.yaml for the local stack, so the table, routes, schedules and environment come from the same
definitions that SAM deploys (no second copy to drift)."""
import os
import re

import yaml

STACK_NAME = "wxtpl-local"
REGION = "us-east-1"
ACCOUNT_ID = "123456789012"


class _Tag:
    def __init__(self, tag, value):
        self.tag, self.value = tag, value


def _construct(loader, suffix, node):
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return _Tag(suffix, value)


class _Loader(yaml.SafeLoader):
    pass


_Loader.add_multi_constructor("!", _construct)


def load(path):
    with open(path) as f:
        return yaml.load(f, Loader=_Loader)


class Resolver:
    """Resolves the intrinsics the template uses (Ref, Sub, GetAtt, If with Equals and Not) to local names."""

    def __init__(self, template, parameters):
        self.template = template
        self.parameters = parameters
        self.pseudo = {"AWS::StackName": STACK_NAME, "AWS::Region": REGION, "AWS::AccountId": ACCOUNT_ID,
                       "AWS::Partition": "aws", "AWS::URLSuffix": "amazonaws.com"}

    def physical_name(self, logical_id):
        res = self.template["Resources"][logical_id]
        props = res.get("Properties") or {}
        for field in ("TableName", "BucketName", "Name", "LogGroupName", "QueueName"):
            if field in props:
                return self.resolve(props[field])
        return f"{STACK_NAME}-{logical_id}"

    def ref(self, name):
        if name in self.parameters:
            return self.parameters[name]
        if name in self.pseudo:
            return self.pseudo[name]
        if name in self.template.get("Parameters", {}):
            return str(self.template["Parameters"][name].get("Default", ""))
        if self.template["Resources"].get(name, {}).get("Type") == "AWS::SQS::Queue":
            return queue_url(self.physical_name(name))
        return self.physical_name(name)

    def condition(self, name):
        return bool(self.resolve(self.template["Conditions"][name]))

    def _sub_var(self, name):
        return self.get_att(name) if "." in name and not name.startswith("AWS::") else self.ref(name)

    def get_att(self, spec):
        logical, attr = spec.split(".", 1) if isinstance(spec, str) else spec
        kind = self.template["Resources"][logical]["Type"]
        name = self.physical_name(logical)
        if attr == "Arn" and kind == "AWS::Logs::LogGroup":
            return f"arn:aws:logs:{REGION}:{ACCOUNT_ID}:log-group:{name}"
        if attr == "Arn" and kind == "AWS::SQS::Queue":
            return f"arn:aws:sqs:{REGION}:{ACCOUNT_ID}:{name}"
        if attr == "Arn" and kind == "AWS::Events::EventBus":
            return f"arn:aws:events:{REGION}:{ACCOUNT_ID}:event-bus/{name}"
        return f"arn:aws:local:::{logical}.{attr}"

    def resolve(self, value):
        if isinstance(value, _Tag):
            if value.tag == "Ref":
                return self.ref(value.value)
            if value.tag == "Sub":
                return re.sub(r"\$\{([^}]+)\}", lambda m: self._sub_var(m.group(1)), value.value)
            if value.tag == "GetAtt":
                return self.get_att(value.value)
            if value.tag == "If":
                name, then, otherwise = value.value
                return self.resolve(then if self.condition(name) else otherwise)
            if value.tag == "Equals":
                a, b = (self.resolve(v) for v in value.value)
                return a == b
            if value.tag == "Not":
                return not self.resolve(value.value[0])
            raise ValueError(f"unsupported intrinsic !{value.tag}")
        if isinstance(value, dict):
            return {k: self.resolve(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        return value


def queue_url(name):
    """A queue's URL as the SDK uses it: on the emulator locally (AWS_ENDPOINT_URL), on SQS otherwise."""
    base = os.environ.get("AWS_ENDPOINT_URL") or f"https://sqs.{REGION}.amazonaws.com"
    return f"{base}/{ACCOUNT_ID}/{name}"


def functions(template, resolver):
    """Every AWS::Serverless::Function: binary, environment, timeout, HTTP routes and schedules."""
    glob = (template.get("Globals") or {}).get("Function") or {}
    global_env = ((glob.get("Environment") or {}).get("Variables")) or {}
    out = []
    for logical_id, res in template["Resources"].items():
        if res["Type"] != "AWS::Serverless::Function":
            continue
        props = res.get("Properties") or {}
        env = dict(global_env)
        env.update(((props.get("Environment") or {}).get("Variables")) or {})
        routes, schedules, queues = [], [], []
        for event in (props.get("Events") or {}).values():
            ep = event.get("Properties") or {}
            if event["Type"] == "HttpApi":
                routes.append((ep["Method"].upper(), ep["Path"]))
            elif event["Type"] in ("Schedule", "ScheduleV2"):
                schedules.append(ep["ScheduleExpression"])
            elif event["Type"] == "SQS":
                arn = resolver.resolve(ep["Queue"])
                queues.append({"url": queue_url(arn.rsplit(":", 1)[1]), "batch": int(ep.get("BatchSize", 10)),
                               "concurrency": int((ep.get("ScalingConfig") or {}).get("MaximumConcurrency", 5)),
                               "partial": "ReportBatchItemFailures" in (ep.get("FunctionResponseTypes") or [])})
        out.append({
            # The function's name is its Handler; every function runs the same binary, which reads `_HANDLER`.
            "name": props["Handler"],
            "binary": res["Metadata"]["BuildProperties"]["Binary"],
            "env": {k: str(resolver.resolve(v)) for k, v in env.items()},
            "timeout": int(props.get("Timeout", glob.get("Timeout", 3))),
            "reserved": props.get("ReservedConcurrentExecutions"),
            "routes": routes,
            "schedules": schedules,
            "queues": queues,
        })
    return out


def socket_routes(template):
    """The WebSocket API's routes: {route key: the Handler of the function its Lambda proxy integration invokes}."""
    resources = template["Resources"]
    out = {}
    for res in resources.values():
        if res["Type"] != "AWS::ApiGatewayV2::Route":
            continue
        props = res["Properties"]
        target = props["Target"].value if isinstance(props["Target"], _Tag) else props["Target"]
        integration = resources[re.search(r"\$\{(\w+)\}", target).group(1)]["Properties"]
        uri = integration["IntegrationUri"]
        uri = uri.value if isinstance(uri, _Tag) else uri
        function = re.search(r"\$\{(\w+)\.Arn\}", uri).group(1)
        out[props["RouteKey"]] = resources[function]["Properties"]["Handler"]
    return out


def rate_seconds(expression):
    m = re.fullmatch(r"rate\((\d+) (minute|minutes|hour|hours)\)", expression)
    if not m:
        raise ValueError(f"unsupported schedule {expression}")
    return int(m.group(1)) * (60 if m.group(2).startswith("minute") else 3600)


def route_throttles(template):
    """The HTTP API's throttling: (default (burst, rate), {"METHOD /path": (burst, rate)})."""
    for res in template["Resources"].values():
        if res["Type"] != "AWS::Serverless::HttpApi":
            continue
        props = res.get("Properties") or {}
        pair = lambda s: (int(s.get("ThrottlingBurstLimit", 5000)), float(s.get("ThrottlingRateLimit", 10000)))
        default = pair(props.get("DefaultRouteSettings") or {})
        return default, {route: pair(v) for route, v in (props.get("RouteSettings") or {}).items()}
    return (5000, 10000.0), {}
