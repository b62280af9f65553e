"""Issue 10, item 7: nothing is lost in AWS either, checked on template.yaml itself.

Versioning and noncurrent expiry on the lake bucket, Retain on everything that holds data, a failure
queue (alarmed) behind the scheduled functions, the alarm topic on a customer-managed key CloudWatch
may use, and ingest's IAM narrowed to the prefixes and actions it uses.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[3]


@cache
def template() -> dict[str, Any]:
    from cfnlint.decode import decode

    doc, errors = decode(str(ROOT / "template.yaml"))
    assert not errors, errors
    return doc


def resources(kind: str | None = None) -> dict[str, dict[str, Any]]:
    res = template()["Resources"]
    return {k: v for k, v in res.items() if kind is None or v["Type"] == kind}


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def plain(node: Any) -> Any:
    """cfn-lint's decoded nodes as plain dicts/lists/strings."""
    if isinstance(node, dict):
        return {str(k): plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [plain(v) for v in node]
    return str(node) if isinstance(node, str) else node


DATA_TYPES = ("AWS::S3::Bucket", "AWS::SQS::Queue", "AWS::DynamoDB::Table", "AWS::Logs::LogGroup", "AWS::KMS::Key")


@pytest.mark.parametrize("name", sorted(n for n, r in resources().items() if r["Type"] in DATA_TYPES))
def test_every_resource_holding_data_is_retained(name):
    res = resources()[name]
    assert res.get("DeletionPolicy") == "Retain", name
    assert res.get("UpdateReplacePolicy") == "Retain", name


def test_lake_bucket_is_versioned_with_noncurrent_expiry():
    lake = resources()["LakeBucket"]["Properties"]
    assert plain(lake["VersioningConfiguration"]) == {"Status": "Enabled"}
    rules = {r["Id"]: plain(r) for r in lake["LifecycleConfiguration"]["Rules"]}
    expiry = rules["expire-noncurrent-versions"]
    assert expiry["Status"] == "Enabled"
    assert expiry["NoncurrentVersionExpiration"]["NoncurrentDays"] == {"Ref": "NoncurrentVersionRetentionDays"}
    assert int(template()["Parameters"]["NoncurrentVersionRetentionDays"]["Default"]) >= 7
    assert "Prefix" not in expiry and "Filter" not in expiry  # every prefix: compaction deletes curated files


@pytest.mark.parametrize("function", ["AnalyticsFunction", "TrainFunction"])
def test_scheduled_functions_have_an_alarmed_failure_queue(function):
    props = resources()[function]["Properties"]
    on_failure = plain(props["EventInvokeConfig"]["DestinationConfig"]["OnFailure"])
    assert on_failure == {"Type": "SQS", "Destination": {"Fn::GetAtt": ["ScheduledJobsFailureQueue", "Arn"]}}
    [schedule] = [e for e in props["Events"].values() if e["Type"] == "Schedule"]
    assert plain(schedule["Properties"]["DeadLetterConfig"]) == {
        "Arn": {"Fn::GetAtt": ["ScheduledJobsFailureQueue", "Arn"]}}
    alarms = [a["Properties"] for a in resources("AWS::CloudWatch::Alarm").values()]
    watching = [a for a in alarms if plain(a["Dimensions"]) == [
        {"Name": "QueueName", "Value": {"Fn::GetAtt": ["ScheduledJobsFailureQueue", "QueueName"]}}]]
    assert watching and plain(watching[0]["AlarmActions"]) == [{"Ref": "AlarmTopic"}]
    assert watching[0]["MetricName"] == "ApproximateNumberOfMessagesVisible"
    # EventBridge may put undeliverable events there
    [policy] = [p["Properties"] for p in resources("AWS::SQS::QueuePolicy").values()
                if plain(p["Properties"]["Queues"]) == [{"Ref": "ScheduledJobsFailureQueue"}]]
    principals = [s["Principal"] for s in plain(policy["PolicyDocument"]["Statement"]) if s["Effect"] == "Allow"]
    assert {"Service": "events.amazonaws.com"} in principals


def test_alarm_topic_uses_a_customer_managed_key_cloudwatch_may_use():
    topic = plain(resources()["AlarmTopic"]["Properties"])
    assert topic["KmsMasterKeyId"] == {"Fn::GetAtt": ["AlarmTopicKey", "Arn"]}
    key = plain(resources()["AlarmTopicKey"]["Properties"])
    assert key["EnableKeyRotation"] is True
    statements = key["KeyPolicy"]["Statement"]
    cloudwatch = [s for s in statements if s.get("Principal") == {"Service": "cloudwatch.amazonaws.com"}]
    assert cloudwatch and cloudwatch[0]["Effect"] == "Allow"
    assert {"kms:Decrypt", "kms:GenerateDataKey*"} <= set(as_list(cloudwatch[0]["Action"]))
    assert all(str(r["Properties"].get("KmsMasterKeyId")) != "alias/aws/sns"
               for r in resources("AWS::SNS::Topic").values())


def _ingest_statements() -> list[dict[str, Any]]:
    policies = plain(resources()["IngestFunction"]["Properties"]["Policies"])
    assert all(isinstance(p, dict) and "Statement" in p for p in policies), "no SAM policy templates (bucket-wide)"
    return [s for p in policies for s in p["Statement"]]


def _sub(value: Any) -> str:
    return value["Fn::Sub"] if isinstance(value, dict) and "Fn::Sub" in value else str(value)


def test_ingest_iam_is_narrowed_to_its_prefixes_and_actions():
    statements = _ingest_statements()
    actions = {a for s in statements for a in as_list(s["Action"])}
    assert not any(a.endswith("*") for a in actions)
    assert not {"s3:DeleteObject", "dynamodb:Scan", "dynamodb:BatchWriteItem", "dynamodb:Query"} & actions
    for s in statements:
        for resource in as_list(s["Resource"]):
            text = _sub(resource) if not (isinstance(resource, dict) and "Fn::GetAtt" in resource) else ""
            if isinstance(resource, dict) and "Fn::GetAtt" in resource:
                assert s["Action"] in ("s3:ListBucket",) or resource["Fn::GetAtt"][0] == "IdempotencyTable", s["Sid"]
                if s["Action"] == "s3:ListBucket":
                    assert "s3:prefix" in s["Condition"]["StringLike"], s["Sid"]
            else:
                assert text.startswith(("${LakeBucket.Arn}/", "${UploadBucket.Arn}/")) and not text.endswith(
                    ".Arn}/*"), (s["Sid"], text)
    writes = [s for s in statements if "s3:PutObject" in as_list(s["Action"])]
    written = {_sub(r) for s in writes for r in as_list(s["Resource"])}
    assert written == {"${LakeBucket.Arn}/curated/sales/*", "${LakeBucket.Arn}/curated/stores/*",
                       "${LakeBucket.Arn}/quarantine/*", "${LakeBucket.Arn}/audit/ingest_log/*"}
    uploads = {_sub(r) for s in statements if s["Action"] != "s3:ListBucket" for r in as_list(s["Resource"])
               if "UploadBucket" in _sub(r)}
    assert uploads == {"${UploadBucket.Arn}/raw/*"}
    dynamo = [s for s in statements if any(a.startswith("dynamodb:") for a in as_list(s["Action"]))]
    assert {a for s in dynamo for a in as_list(s["Action"])} == {
        "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"}


def test_ingest_writes_only_where_the_layout_puts_its_files():
    """The narrowed policy and retail_lake.layout agree: every key ingest writes is allowed."""
    from retail_lake import layout

    allowed = [p.removeprefix("${LakeBucket.Arn}/").removesuffix("*") for s in _ingest_statements()
               if "s3:PutObject" in as_list(s["Action"]) for p in map(_sub, as_list(s["Resource"]))]
    for key in (layout.sales_file_key(2022, 8, "u"), layout.STORES_KEY, layout.quarantine_key("u"),
                layout.quarantine_key("u", "stores"), layout.ingest_log_key("u")):
        assert any(key.startswith(prefix) for prefix in allowed), key


def test_the_analytics_lock_may_be_written_only_conditionally():
    statements = plain(resources()["AnalyticsFunction"]["Properties"]["Policies"][0]["Statement"])
    [lock] = [s for s in statements if s["Sid"] == "LockOnlyIfAbsent"]
    assert lock["Effect"] == "Deny"
    # denied unless the PUT carries If-None-Match (take) or If-Match (take over a stale lock)
    assert lock["Condition"] == {"Null": {"s3:if-none-match": "true", "s3:if-match": "true"}}
