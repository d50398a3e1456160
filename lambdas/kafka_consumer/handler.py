"""Kafka consumer (seed 000: MSK -> Lambda -> DynamoDB state), fed by an MSK event source mapping: the same
per-entity state as the Kinesis processor, from the platform's Kafka topics. The asset stages that processor as
kinesis_processor.py and the event schema beside this file, so both paths validate and store alike. A record that
does not conform is counted and skipped; a write that fails fails the batch, which the event source retries and
then sends to its on-failure queue (Kafka event sources have no partial batch responses)."""

from __future__ import annotations

import base64
import json
import os
from typing import Any

import event_schema
import kinesis_processor

SOURCE = "kafka-consumer"
"""The QuarantinedRecords metric's Source dimension for what this function skips."""


def records(event: dict[str, Any]) -> list[dict[str, Any]]:
    """Every record of an MSK event, in partition order (`records` maps "topic-partition" to its records)."""
    return [record for batch in event.get("records", {}).values() for record in batch]


def position(record: dict[str, Any]) -> str:
    """Where the record sits in Kafka: topic, partition and offset."""
    return f"{record['topic']}-{record['partition']}:{record['offset']}"


def decode(record: dict[str, Any]) -> tuple[dict[str, Any] | None, list[str]]:
    """The event one Kafka record's value carries, and why it does not conform (if it does not)."""
    try:
        event = json.loads(base64.b64decode(record.get("value") or ""))
    except (ValueError, UnicodeDecodeError):
        return None, ["not JSON"]
    found = event_schema.problems(event)
    return (None if found else event), found


def handler(event: dict[str, Any], _context: object) -> None:
    quarantined = 0
    for record in records(event):
        decoded, found = decode(record)
        if decoded is None:
            quarantined += 1
            print(json.dumps({"quarantined": position(record), "problems": found}))
            continue
        if "STATE_TABLE" in os.environ:
            kinesis_processor._table().put_item(Item=kinesis_processor.state_update(decoded, position(record)))
    if quarantined and "METRICS_NAMESPACE" in os.environ:
        line = json.loads(kinesis_processor.quarantine_metric(quarantined, os.environ["METRICS_NAMESPACE"]))
        print(json.dumps({**line, "Source": SOURCE}))
