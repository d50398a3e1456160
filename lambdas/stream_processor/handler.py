"""Kinesis stream processor (seed 000: Lambda processor -> DynamoDB state): keeps, per entity, the latest
event seen, and reports failed records so the event source bisects and retries only those."""

from __future__ import annotations

import base64
import json
import os
from functools import cache
from typing import Any


@cache
def _table() -> Any:
    """The state table (boto3 ships with the Lambda runtime; imported here so tests need no AWS SDK)."""
    import boto3

    return boto3.resource("dynamodb").Table(os.environ["STATE_TABLE"])


def state_update(record: dict[str, Any]) -> dict[str, Any]:
    """The state item one Kinesis record produces."""
    event = json.loads(base64.b64decode(record["kinesis"]["data"]))
    return {
        "entityId": str(event["entityId"]),
        "lastEventType": str(event.get("eventType", "unknown")),
        "lastSequenceNumber": record["kinesis"]["sequenceNumber"],
    }


def handler(event: dict[str, Any], _context: object) -> dict[str, list[dict[str, str]]]:
    """Lambda entry point with partial batch responses (ReportBatchItemFailures)."""
    failures = []
    for record in event.get("Records", []):
        try:
            item = state_update(record)
            if "STATE_TABLE" in os.environ:
                _table().put_item(Item=item)
        except (ValueError, KeyError, json.JSONDecodeError):
            failures.append({"itemIdentifier": record["kinesis"]["sequenceNumber"]})
    return {"batchItemFailures": failures}
