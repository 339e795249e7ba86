"""Reads the platform's events back from the emulator: the bus's rule copies every event into a CloudWatch Logs
group (template.yaml: EventLogRule), exactly as it does in AWS."""
import json

import boto3

import cfn


def log_group(template, resolver):
    """The log group an EventBridge rule of the template delivers to (the functions have a log group of their own)."""
    resources = template["Resources"]
    # `!GetAtt Group.Arn`, as the template loader keeps it
    targets = {str(getattr(t["Arn"], "value", t["Arn"])).split(".")[0]
               for r in resources.values() if r["Type"] == "AWS::Events::Rule"
               for t in r["Properties"].get("Targets", [])}
    for logical_id, res in resources.items():
        if res["Type"] == "AWS::Logs::LogGroup" and logical_id in targets:
            return resolver.physical_name(logical_id)
    raise SystemExit("template.yaml declares no log group for events")


def recent(endpoint, group, limit=50, ma_app_id=None):
    """The newest `limit` events (EventBridge envelopes), oldest first; optionally of one mini-program."""
    logs = boto3.client("logs", endpoint_url=endpoint, region_name=cfn.REGION,
                        aws_access_key_id="test", aws_secret_access_key="test")
    events, token = [], None
    while True:
        args = {"logGroupName": group, **({"nextToken": token} if token else {})}
        page = logs.filter_log_events(**args)
        events.extend(page.get("events", []))
        token = page.get("nextToken")
        if not token:
            break
    envelopes = []
    for e in sorted(events, key=lambda e: (e["timestamp"], e.get("eventId", ""))):
        try:
            env = json.loads(e["message"])
        except ValueError:
            continue
        if ma_app_id and env.get("detail", {}).get("maAppId") != ma_app_id:
            continue
        envelopes.append(env)
    return envelopes[-limit:]
