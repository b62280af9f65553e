"""Issue 10, item 4 (duplicate and reordered events), through the real ingest handler on moto.

S3 notifications reach the ingest function through SQS at least once and in any order. A property
test writes a few objects (overwrites of one key included, same-millisecond event times, A -> B -> A
with identical bytes, sequencers of different lengths), then delivers every notification one to
three times, shuffled, in batches, each copy with a fresh SQS message id. The lake must equal one
ordered delivery of each notification, and it must hold what S3's own order says: per invoice the
latest write (event time, then key), and for one key the write with the highest ``sequencer``
(S3 compares the sequencers of one key as hex values, the shorter left-padded with zeros).

Metrics: an upload redelivered with a fresh message id is counted once.
"""

from __future__ import annotations

import copy
import hashlib
import json
import random
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import ModuleType
from typing import Any

import boto3
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from retail_lake.ingest._pipeline import sequencer_order
from retail_lake.query import connect
from tests.integration.conftest import EVENTS, emitted_metrics

HEADER = "invoice_no,customer_id,gender,age,category,quantity,price,payment_method,invoice_date,shopping_mall\n"
# Bodies share invoices I1 and I2 (across keys too), so who wins is visible in `quantity`;
# body 3 also carries a bad row (quarantine) and body 0 an invoice of its own.
BODIES = [
    HEADER + "I1,C1,Female,28,Clothing,1,300.08,Cash,5/8/2022,Kanyon\n"
    "I3,C3,Male,40,Books,1,15.15,Cash,6/8/2022,Kanyon\n",
    HEADER + "I1,C1,Female,28,Clothing,2,600.16,Cash,5/8/2022,Kanyon\n"
    "I2,C2,Male,35,Shoes,1,50.00,Cash,7/9/2022,Zorlu Center\n",
    HEADER + "I1,C1,Female,28,Clothing,3,900.24,Cash,5/8/2022,Kanyon\n"
    "I2,C2,Male,35,Shoes,4,200.00,Cash,7/9/2022,Zorlu Center\n",
    HEADER + "I2,C2,Male,35,Shoes,5,250.00,Cash,7/9/2022,Zorlu Center\n"
    "I9,,Male,35,Shoes,0,x,Cash,7/9/2022,Kanyon\n",
]
KEYS = ["raw/sales/a.csv", "raw/sales/b.csv", "raw/sales/sub/c.csv"]
BASE_TIME = datetime(2024, 3, 1, 12, 0, 0, tzinfo=UTC)
_TEMPLATE = json.loads((EVENTS / "sqs_s3_put.json").read_text())["Records"][0]


@dataclass(frozen=True)
class Write:
    """One PutObject and the notification S3 sends for it."""

    key: str
    body: int  # index into BODIES
    event_time: datetime  # millisecond resolution, like S3's eventTime
    sequencer: str  # increasing per key; different lengths (leading zeros) on purpose
    etag: str = ""
    version_id: str | None = None

    def notification(self, bucket: str) -> str:
        obj: dict[str, Any] = {"key": self.key, "size": len(BODIES[self.body]), "eTag": self.etag,
                               "sequencer": self.sequencer}
        if self.version_id:
            obj["versionId"] = self.version_id
        return json.dumps({"Records": [{
            "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
            "eventTime": self.event_time.strftime("%Y-%m-%dT%H:%M:%S.") + f"{self.event_time.microsecond // 1000:03d}Z",
            "eventName": "ObjectCreated:Put",
            "s3": {"s3SchemaVersion": "1.0", "bucket": {"name": bucket, "arn": f"arn:aws:s3:::{bucket}"},
                   "object": obj},
        }]})


def sqs_record(body: str, message_id: str | None = None) -> dict[str, Any]:
    """An SQS record as Lambda hands it over, with a fresh message id (a redelivery by SQS, or a
    second notification S3 sent for the same event)."""
    record = copy.deepcopy(_TEMPLATE)
    record.update(messageId=message_id or str(uuid.uuid4()), receiptHandle=str(uuid.uuid4()), body=body,
                  md5OfBody=hashlib.md5(body.encode()).hexdigest())
    return record


def sequencer_value(sequencer: str) -> int:
    return int(sequencer, 16)


# --- the scenario ---------------------------------------------------------------------------------

@st.composite
def scenarios(draw: st.DrawFn) -> tuple[bool, list[Write], list[int]]:
    """(versioned bucket?, writes in S3's order, the delivery order: indexes of writes, each 1-3 times)."""
    versioned = draw(st.booleans())
    n = draw(st.integers(2, 6))
    writes, clock, counters = [], BASE_TIME, dict.fromkeys(KEYS, 0)
    for _ in range(n):
        key = draw(st.sampled_from(KEYS[:2]) if draw(st.integers(0, 4)) else st.just(KEYS[2]))
        body = draw(st.integers(0, len(BODIES) - 1))
        clock += timedelta(milliseconds=draw(st.sampled_from([0, 0, 1, 1000])))  # 0: same millisecond
        counters[key] += draw(st.integers(1, 300))
        pad = draw(st.integers(0, 3))
        writes.append(Write(key, body, clock, "0" * pad + f"{0x5E3B2E1A3B1C00 + counters[key]:X}"))
    copies = [draw(st.integers(1, 3)) for _ in writes]
    deliveries = [i for i, c in enumerate(copies) for _ in range(c)]
    return versioned, writes, draw(st.permutations(deliveries))


def put_all(bucket: str, versioned: bool, writes: list[Write]) -> list[Write]:
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=bucket)
    if versioned:
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    done = []
    for w in writes:
        resp = s3.put_object(Bucket=bucket, Key=w.key, Body=BODIES[w.body].encode())
        done.append(Write(w.key, w.body, w.event_time, w.sequencer, resp["ETag"].strip('"'),
                          resp.get("VersionId") if versioned else None))
    return done


def deliver(ingest_app: ModuleType, context: Any, monkeypatch: pytest.MonkeyPatch, prefix: str, bucket: str,
            writes: list[Write], order: list[int], batches: random.Random) -> None:
    """The real handler, in SQS batches of 1-5 records, with its own lake prefix and idempotency table."""
    table = f"idem-{prefix}"
    boto3.client("dynamodb").create_table(
        TableName=table, KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST")
    monkeypatch.setenv("LAKE_PREFIX", prefix)
    monkeypatch.setenv("IDEMPOTENCY_TABLE", table)
    records = [sqs_record(writes[i].notification(bucket)) for i in order]
    while records:
        size = batches.randint(1, 5)
        batch, records = records[:size], records[size:]
        response = ingest_app.lambda_handler({"Records": batch}, context)
        assert response == {"batchItemFailures": []}, response


def lake_state(lake: str) -> dict[str, list[tuple]]:
    con = connect(lake)
    return {
        "sales": con.execute(
            "SELECT invoice_no, customer_id, quantity, price, invoice_date, source, upload_id, uploaded_at, "
            '"row_number" FROM sales ORDER BY ALL').fetchall(),
        "log": con.execute(
            "SELECT upload_id, source, status, rows_in, rows_accepted, rows_quarantined, rows_flagged, etag, "
            "version_id, sequencer, uploaded_at FROM ingest_log ORDER BY ALL").fetchall(),
        "quarantine": con.execute("SELECT count(*) FROM quarantine_sales").fetchall(),
    }


def expected_winners(versioned: bool, writes: list[Write]) -> dict[str, Write]:
    """Per invoice, the write S3's order says is the latest, among the writes whose bytes can still be
    read: every version on a versioned bucket; on an unversioned one only the key's current bytes
    (a notification for bytes overwritten since is stale; one for identical bytes, A -> B -> A, is not)."""
    last = {w.key: w for w in writes}  # writes are in S3's order
    readable = [w for w in writes if versioned or w.etag == last[w.key].etag]
    winners: dict[str, Write] = {}
    for w in readable:
        for line in BODIES[w.body].splitlines()[1:]:
            invoice, customer, *_ = line.split(",")
            if not customer:
                continue  # quarantined
            best = winners.get(invoice)
            rank = (w.event_time, f"s3://{w.key}", sequencer_value(w.sequencer))
            if best is None or rank > (best.event_time, f"s3://{best.key}", sequencer_value(best.sequencer)):
                winners[invoice] = w
    return winners


_PROPERTY = {"deadline": None, "derandomize": True, "database": None,
             "suppress_health_check": [HealthCheck.function_scoped_fixture, HealthCheck.too_slow]}


@settings(max_examples=6, **_PROPERTY)
@given(scenario=scenarios())
def test_shuffled_duplicated_notifications_give_the_lake_of_one_ordered_delivery(
    scenario, moto_stack, ingest_app: ModuleType, lambda_context, monkeypatch
) -> None:
    check_scenario(scenario, moto_stack, ingest_app, lambda_context, monkeypatch)


@pytest.mark.slow
@settings(max_examples=80, **_PROPERTY)
@given(scenario=scenarios())
def test_shuffled_duplicated_notifications_many_examples(
    scenario, moto_stack, ingest_app: ModuleType, lambda_context, monkeypatch
) -> None:
    check_scenario(scenario, moto_stack, ingest_app, lambda_context, monkeypatch)


def check_scenario(scenario: tuple[bool, list[Write], list[int]], moto_stack: Any, ingest_app: ModuleType,
                   lambda_context: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    versioned, planned, order = scenario
    run = uuid.uuid4().hex[:8]
    bucket = f"upload-{run}"
    writes = put_all(bucket, versioned, planned)
    lake = moto_stack.lake_bucket
    deliver(ingest_app, lambda_context, monkeypatch, f"ordered-{run}", bucket, writes,
            list(range(len(writes))), random.Random(0))
    deliver(ingest_app, lambda_context, monkeypatch, f"shuffled-{run}", bucket, writes, order,
            random.Random(len(order)))

    ordered, shuffled = lake_state(f"s3://{lake}/ordered-{run}"), lake_state(f"s3://{lake}/shuffled-{run}")
    assert shuffled == ordered

    # Every write (version) ingested once, whatever the number of copies.
    ids = [row[0] for row in shuffled["log"]]
    assert len(ids) == len(set(ids))
    # No invoice twice, and each is the one S3's order says wins: the latest event time, then the
    # key, then, for one key written twice in the same millisecond, the higher sequencer.
    winners = expected_winners(versioned, writes)
    sales = shuffled["sales"]
    assert sorted(r[0] for r in sales) == sorted(winners)
    sequencer_of = {row[0]: row[9] for row in shuffled["log"]}
    for row in sales:
        invoice, quantity = row[0], row[2]
        w = winners[invoice]
        assert row[5] == f"s3://{bucket}/{w.key}"
        assert sequencer_of[row[6]] == w.sequencer, (invoice, w, row)
        line = next(x for x in BODIES[w.body].splitlines() if x.startswith(invoice + ","))
        assert quantity == int(line.split(",")[5])


def test_a_later_write_of_one_key_in_the_same_millisecond_wins(
    moto_stack, ingest_app: ModuleType, lambda_context, monkeypatch
) -> None:
    """The case the property found first, spelled out: a versioned bucket, two writes of one key in
    the same millisecond; the older one is delivered last. The event time ties, the key ties; the
    sequencer (shorter, so a plain string comparison would get it wrong: 'F' > '010') decides."""
    at = BASE_TIME
    writes = put_all("upload-same-ms", True, [Write(KEYS[0], 0, at, "F"), Write(KEYS[0], 2, at, "010")])
    deliver(ingest_app, lambda_context, monkeypatch, "same-ms", "upload-same-ms",
            writes, [1, 0], random.Random(0))
    con = connect(f"s3://{moto_stack.lake_bucket}/same-ms")
    # I1 and I2: the later write; I3 only ever was in the earlier one
    assert con.execute("SELECT invoice_no, quantity FROM sales ORDER BY 1").fetchall() == [
        ("I1", 3), ("I2", 4), ("I3", 1)]
    assert con.execute("SELECT count(*) FROM ingest_log").fetchone() == (2,)


def test_sequencer_order_sorts_like_the_hex_value() -> None:
    values = ["0", "F", "010", "0011", "5E3B2E1A3B1C0A5F", "0055AED6DCD90281E5", "0055AED6DCD90281E6"]
    assert sorted(values, key=sequencer_order) == sorted(values, key=sequencer_value)
    assert sequencer_order("0a") == sequencer_order("00A") == "01a"
    assert sequencer_order("../x") == sequencer_order("") == sequencer_order(None) == ""  # never in a file name


# --- metrics -----------------------------------------------------------------------------------

def test_metrics_count_an_upload_once_when_sqs_redelivers_it_with_a_fresh_message_id(
    moto_stack, ingest_app: ModuleType, lambda_context, monkeypatch
) -> None:
    """test_hardening_sqs re-sends the same SQS message; here the copies carry fresh message ids (S3
    sending an event twice, or a redrive from the DLQ), alone and side by side in one batch."""
    monkeypatch.setenv("LAKE_PREFIX", "metrics")
    [write] = put_all("upload-metrics", False, [Write(KEYS[0], 1, BASE_TIME, "0A")])
    body = write.notification("upload-metrics")
    with emitted_metrics(ingest_app) as counted:
        assert ingest_app.lambda_handler({"Records": [sqs_record(body)]}, lambda_context)["batchItemFailures"] == []
        first = list(counted)
        assert ingest_app.lambda_handler({"Records": [sqs_record(body)]}, lambda_context)["batchItemFailures"] == []
        assert ingest_app.lambda_handler({"Records": [sqs_record(body), sqs_record(body)]},
                                         lambda_context)["batchItemFailures"] == []
    assert first.count("UploadsSucceeded") == 1
    assert counted == first
    con = connect(f"s3://{moto_stack.lake_bucket}/metrics")
    assert con.execute("SELECT count(*) FROM ingest_log").fetchone() == (1,)
