"""template.yaml's data-plane resources, created on a local AWS endpoint (moto's server, LocalStack).

The buckets, queues, notification and idempotency table are made from the Properties written in
template.yaml itself (serverless-test-samples' ``mock_test.py`` pattern), so the local platform and
the integration tests use the names, queue settings and notification filter that deploy. Creating is
idempotent: a LocalStack that keeps its state between runs gets the same stack back.
"""

from __future__ import annotations

import contextlib
import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

__all__ = [
    "FunctionSettings",
    "Stack",
    "Template",
    "create_stack",
    "delete_stack",
    "load_template",
]

DEFAULT_REGION = "us-east-1"
DEFAULT_ACCOUNT = "123456789012"  # SAM's placeholder account (infra/events)


# ---------------------------------------------------------------- reading template.yaml


def _cfn_loader() -> type:
    """A safe YAML loader that turns CloudFormation's short tags into their long form (``!Ref x`` ->
    ``{"Ref": "x"}``, ``!Sub s`` -> ``{"Fn::Sub": s}``, ``!GetAtt a.b`` -> ``{"Fn::GetAtt": [a, b]}``), as
    cfn-lint's decoder does, without needing cfn-lint at run time."""
    import yaml

    base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

    class CfnLoader(base):  # type: ignore[misc, valid-type]
        pass

    def construct(loader: Any, tag_suffix: str, node: Any) -> Any:
        if isinstance(node, yaml.ScalarNode):
            value: Any = loader.construct_scalar(node)
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            value = loader.construct_mapping(node, deep=True)
        if tag_suffix == "Ref":
            return {"Ref": value}
        if tag_suffix == "Condition":
            return {"Condition": value}
        if tag_suffix == "GetAtt" and isinstance(value, str):
            value = value.split(".", 1)
        return {f"Fn::{tag_suffix}": value}

    CfnLoader.add_multi_constructor("!", construct)
    return CfnLoader


@cache
def _template_doc(path: str) -> dict[str, Any]:
    import yaml

    with open(path, encoding="utf-8") as fh:
        return yaml.load(fh, Loader=_cfn_loader())  # a SafeLoader subclass


def load_template(path: str | Path) -> dict[str, Any]:
    """template.yaml as a document (intrinsics in their long form); read once per process."""
    return _template_doc(str(Path(path).resolve()))


class Template:
    """template.yaml with a resolver for the intrinsics its data-plane resources use."""

    def __init__(self, path: str | Path, refs: dict[str, Any]) -> None:
        self.doc = load_template(path)
        params = {k: v.get("Default") for k, v in self.doc.get("Parameters", {}).items()}
        self.refs: dict[str, Any] = {**params, **refs}

    def resolve(self, node: Any) -> Any:
        if isinstance(node, list):
            return [self.resolve(n) for n in node]
        if not isinstance(node, dict):
            return node
        if set(node) == {"Ref"}:
            return self.refs[node["Ref"]]
        if set(node) == {"Fn::GetAtt"}:
            att = node["Fn::GetAtt"]
            return self.refs[att if isinstance(att, str) else ".".join(att)]
        if set(node) == {"Fn::Sub"}:
            def sub(match: re.Match[str]) -> str:
                name = match.group(1)
                return "${" + name[1:] + "}" if name.startswith("!") else str(self.refs[name])

            return re.sub(r"\$\{([^}]+)\}", sub, node["Fn::Sub"])
        if set(node) == {"Fn::Join"}:
            sep, parts = node["Fn::Join"]
            return sep.join(str(self.resolve(p)) for p in parts)
        return {k: self.resolve(v) for k, v in node.items()}

    def properties(self, logical_id: str) -> dict[str, Any]:
        return json.loads(json.dumps(self.resolve(self.doc["Resources"][logical_id]["Properties"])))

    def function(self, logical_id: str) -> FunctionSettings:
        """A function's name, timeout and memory (its own Properties over Globals), its SQS batch
        size and its schedule rule's name, as deployed."""
        props = self.doc["Resources"][logical_id]["Properties"]
        glob = (self.doc.get("Globals") or {}).get("Function") or {}
        batch_size, rule = None, None
        for event in (props.get("Events") or {}).values():
            event_props = event.get("Properties") or {}
            if event.get("Type") == "SQS":
                batch_size = int(event_props.get("BatchSize", 10))
            if event.get("Type") == "Schedule" and "Name" in event_props:
                rule = str(self.resolve(event_props["Name"]))
        return FunctionSettings(
            name=str(self.resolve(props.get("FunctionName", logical_id))),
            timeout_seconds=int(self.resolve(props.get("Timeout", glob.get("Timeout", 3)))),
            memory_mb=int(self.resolve(props.get("MemorySize", glob.get("MemorySize", 128)))),
            batch_size=batch_size,
            schedule_rule=rule,
        )


@dataclass(frozen=True)
class FunctionSettings:
    name: str
    timeout_seconds: int
    memory_mb: int
    batch_size: int | None = None
    schedule_rule: str | None = None


# ---------------------------------------------------------------- the stack on an endpoint


@dataclass
class Stack:
    """The data-plane resources of template.yaml, created on some endpoint."""

    upload_bucket: str
    lake_bucket: str
    queue_url: str
    queue_arn: str
    dlq_url: str
    table: str
    account: str
    region: str = DEFAULT_REGION
    max_receive_count: int = 3

    @property
    def lake_uri(self) -> str:
        return f"s3://{self.lake_bucket}"


def _bucket_api_rules(rules: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """CloudFormation lifecycle rules -> the S3 API's shape."""
    out = []
    for rule in rules:
        api: dict[str, Any] = {"ID": rule["Id"], "Status": rule["Status"], "Filter": {"Prefix": rule.get("Prefix", "")}}
        if "ExpirationInDays" in rule:
            api["Expiration"] = {"Days": int(rule["ExpirationInDays"])}
        if "Transitions" in rule:
            api["Transitions"] = [
                {"Days": int(t["TransitionInDays"]), "StorageClass": t["StorageClass"]} for t in rule["Transitions"]
            ]
        if "AbortIncompleteMultipartUpload" in rule:
            days = int(rule["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"])
            api["AbortIncompleteMultipartUpload"] = {"DaysAfterInitiation": days}
        out.append(api)
    return out


def _error_code(exc: Exception) -> str:
    return str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))


def stack_template(template_path: str | Path, name_prefix: str = "retail-lake", stage: str = "dev", *,
                   account: str = DEFAULT_ACCOUNT, region: str = DEFAULT_REGION) -> Template:
    return Template(template_path, {"NamePrefix": name_prefix, "Stage": stage, "AWS::AccountId": account,
                                    "AWS::Region": region, "AWS::Partition": "aws"})


def create_stack(
    name_prefix: str = "retail-lake",
    *,
    template_path: str | Path | None = None,
    stage: str = "dev",
    notifications: bool = True,
    idempotency_table: bool = True,
) -> Stack:
    """Create the buckets, queues (ingest + DLQ), the upload bucket's S3 -> SQS notification and the
    idempotency table from template.yaml on the current endpoint (``AWS_ENDPOINT_URL``).

    Bucket policies (and the queue's TLS-only statement) are left out: they deny plain-HTTP requests,
    and local endpoints speak HTTP. Resources that already exist are reused.
    """
    import boto3

    if template_path is None:
        from retail_lake.local._repo import find_repo_root

        template_path = find_repo_root() / "template.yaml"
    s3, sqs, ddb = boto3.client("s3"), boto3.client("sqs"), boto3.client("dynamodb")
    region = s3.meta.region_name or DEFAULT_REGION
    account = boto3.client("sts").get_caller_identity()["Account"]
    tpl = stack_template(template_path, name_prefix, stage, account=account, region=region)

    # Queues first: the upload bucket's notification names the queue's ARN.
    urls: dict[str, str] = {}
    max_receive = 3
    for logical_id in ("IngestDeadLetterQueue", "IngestQueue"):
        props = tpl.properties(logical_id)
        attrs = {k: str(props[k]).lower() if isinstance(props[k], bool) else str(props[k])
                 for k in ("VisibilityTimeout", "MessageRetentionPeriod", "SqsManagedSseEnabled") if k in props}
        if "RedrivePolicy" in props:
            attrs["RedrivePolicy"] = json.dumps(props["RedrivePolicy"])
            max_receive = int(props["RedrivePolicy"].get("maxReceiveCount", 3))
        try:
            url = sqs.create_queue(QueueName=props["QueueName"], Attributes=attrs)["QueueUrl"]
        except Exception as exc:  # exists with other attributes: take it and set ours
            if "QueueAlreadyExists" not in _error_code(exc) and "QueueNameExists" not in _error_code(exc):
                raise
            url = sqs.get_queue_url(QueueName=props["QueueName"])["QueueUrl"]
            sqs.set_queue_attributes(QueueUrl=url, Attributes=attrs)
        urls[logical_id] = url
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        tpl.refs[logical_id] = url
        tpl.refs[f"{logical_id}.Arn"] = arn

    for logical_id in ("UploadBucket", "LakeBucket"):
        props = tpl.properties(logical_id)
        bucket = props["BucketName"]
        create: dict[str, Any] = {"Bucket": bucket}
        if region != "us-east-1":
            create["CreateBucketConfiguration"] = {"LocationConstraint": region}
        try:
            s3.create_bucket(**create)
        except Exception as exc:
            if _error_code(exc) not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                raise
        tpl.refs[logical_id] = bucket
        tpl.refs[f"{logical_id}.Arn"] = f"arn:aws:s3:::{bucket}"
        sse = props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
        s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={"Rules": [
            {"ApplyServerSideEncryptionByDefault": r["ServerSideEncryptionByDefault"],
             "BucketKeyEnabled": r.get("BucketKeyEnabled", False)} for r in sse]})
        s3.put_public_access_block(Bucket=bucket,
                                   PublicAccessBlockConfiguration=props["PublicAccessBlockConfiguration"])
        s3.put_bucket_lifecycle_configuration(
            Bucket=bucket,
            LifecycleConfiguration={"Rules": _bucket_api_rules(props["LifecycleConfiguration"]["Rules"])},
        )

    policy = tpl.properties("IngestQueuePolicy")["PolicyDocument"]
    policy["Statement"] = [s for s in policy["Statement"] if s["Effect"] == "Allow"]
    sqs.set_queue_attributes(QueueUrl=urls["IngestQueue"], Attributes={"Policy": json.dumps(policy)})

    table = tpl.properties("IdempotencyTable")
    if idempotency_table:
        try:
            ddb.create_table(
                **{k: table[k] for k in ("TableName", "AttributeDefinitions", "KeySchema", "BillingMode")},
                SSESpecification={"Enabled": table["SSESpecification"]["SSEEnabled"]},  # CFN spells it SSEEnabled
            )
            created = True
        except Exception as exc:
            if _error_code(exc) != "ResourceInUseException":
                raise
            created = False
        ddb.get_waiter("table_exists").wait(TableName=table["TableName"],
                                            WaiterConfig={"Delay": 1, "MaxAttempts": 30})
        if created:
            ddb.update_time_to_live(TableName=table["TableName"],
                                    TimeToLiveSpecification=table["TimeToLiveSpecification"])

    if notifications:
        upload = tpl.properties("UploadBucket")
        configs = []
        for cfg in upload["NotificationConfiguration"]["QueueConfigurations"]:
            rules = [{"Name": r["Name"], "Value": r["Value"]} for r in cfg["Filter"]["S3Key"]["Rules"]]
            configs.append({"QueueArn": cfg["Queue"], "Events": [cfg["Event"]],
                            "Filter": {"Key": {"FilterRules": rules}}})
        s3.put_bucket_notification_configuration(
            Bucket=upload["BucketName"], NotificationConfiguration={"QueueConfigurations": configs}
        )

    return Stack(
        upload_bucket=tpl.refs["UploadBucket"],
        lake_bucket=tpl.refs["LakeBucket"],
        queue_url=urls["IngestQueue"],
        queue_arn=tpl.refs["IngestQueue.Arn"],
        dlq_url=urls["IngestDeadLetterQueue"],
        table=table["TableName"],
        account=account,
        region=region,
        max_receive_count=max_receive,
    )


def delete_stack(stack: Stack) -> None:
    """Best-effort removal (a LocalStack that outlives the run stays clean)."""
    import boto3

    s3, sqs, ddb = boto3.client("s3"), boto3.client("sqs"), boto3.client("dynamodb")
    # Cleanup must never mask the caller's own result.
    for bucket in (stack.upload_bucket, stack.lake_bucket):
        with contextlib.suppress(Exception):
            for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
                keys = [{"Key": o["Key"]} for o in page.get("Contents", [])]
                if keys:
                    s3.delete_objects(Bucket=bucket, Delete={"Objects": keys})
            s3.delete_bucket(Bucket=bucket)
    for url in (stack.queue_url, stack.dlq_url):
        with contextlib.suppress(Exception):
            sqs.delete_queue(QueueUrl=url)
    with contextlib.suppress(Exception):
        ddb.delete_table(TableName=stack.table)
