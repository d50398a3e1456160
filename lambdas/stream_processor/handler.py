"""Kinesis stream processor (seed 000: Lambda processor -> DynamoDB state): keeps, per entity, the latest
event seen. Records are checked against the lake's event schema (event_schema.py, beside this file): one that
does not conform is counted (the QuarantinedRecords metric, in CloudWatch's embedded metric format) and
skipped, since retrying it cannot help; the ETL moves its raw copy to the quarantine table. A record that
conforms but cannot be stored is reported, so the event source bisects and retries only that one."""

from __future__ import annotations

import base64
import json
import os
import time
from functools import cache
from typing import Any

import event_schema

QUARANTINE_METRIC = "QuarantinedRecords"
SOURCE = "stream-processor"
"""The metric's Source dimension for what this function skips (the ETL counts per raw source)."""


@cache
def _table() -> Any:
    """The state table (boto3 ships with the Lambda runtime; imported here so tests need no AWS SDK)."""
    import boto3

    return boto3.resource("dynamodb").Table(os.environ["STATE_TABLE"])


def decode(record: dict[str, Any]) -> tuple[dict[str, Any] | None, list[str]]:
    """The event one Kinesis record carries, and why it does not conform to the schema (if it does not)."""
    try:
        event = json.loads(base64.b64decode(record["kinesis"]["data"]))
    except (ValueError, UnicodeDecodeError):
        return None, ["not JSON"]
    found = event_schema.problems(event)
    return (None if found else event), found


def state_update(event: dict[str, Any], sequence_number: str) -> dict[str, Any]:
    """The state item a conforming event produces."""
    return {"entityId": event["entityId"], "lastEventType": event["eventType"], "lastSequenceNumber": sequence_number}


def quarantine_metric(count: int, namespace: str) -> str:
    """An embedded-metric-format log line: CloudWatch turns it into QuarantinedRecords{Source}."""
    return json.dumps({
        "_aws": {
            "Timestamp": int(time.time() * 1000),
            "CloudWatchMetrics": [
                {"Namespace": namespace, "Dimensions": [["Source"]],
                 "Metrics": [{"Name": QUARANTINE_METRIC, "Unit": "Count"}]}
            ],
        },
        "Source": SOURCE,
        QUARANTINE_METRIC: count,
    })  # fmt: skip


def handler(event: dict[str, Any], _context: object) -> dict[str, list[dict[str, str]]]:
    """Lambda entry point with partial batch responses (ReportBatchItemFailures)."""
    failures = []
    quarantined = 0
    for record in event.get("Records", []):
        sequence_number = record["kinesis"]["sequenceNumber"]
        decoded, found = decode(record)
        if decoded is None:
            quarantined += 1
            print(json.dumps({"quarantined": sequence_number, "problems": found}))
            continue
        try:
            if "STATE_TABLE" in os.environ:
                _table().put_item(Item=state_update(decoded, sequence_number))
        except Exception:  # the write failed: this record is retried alone (bisect), then goes to the DLQ
            failures.append({"itemIdentifier": sequence_number})
    if quarantined and "METRICS_NAMESPACE" in os.environ:
        print(quarantine_metric(quarantined, os.environ["METRICS_NAMESPACE"]))
    return {"batchItemFailures": failures}
