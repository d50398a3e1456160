"""SQS consumer for the action-requests queue (seed 001): validates each request and reports failures per
message, so one bad message is retried (and finally dead-lettered) without redelivering the batch."""

from __future__ import annotations

import json
import logging
from typing import Any

LOGGER = logging.getLogger()
LOGGER.setLevel(logging.INFO)
REQUIRED_FIELDS = ("actionId", "type")


def handle_action(request: dict[str, Any]) -> None:
    """Apply one action request. The platform ships the plumbing; services plug their actions in here."""
    missing = [field for field in REQUIRED_FIELDS if field not in request]
    if missing:
        raise ValueError(f"action request without {', '.join(missing)}")
    LOGGER.info("action %s of type %s accepted", request["actionId"], request["type"])


def handler(event: dict[str, Any], _context: object) -> dict[str, list[dict[str, str]]]:
    """Lambda entry point with partial batch responses (ReportBatchItemFailures)."""
    failures = []
    for record in event.get("Records", []):
        try:
            handle_action(json.loads(record["body"]))
        except (ValueError, KeyError, json.JSONDecodeError) as error:
            LOGGER.warning("message %s failed: %s", record.get("messageId"), error)
            failures.append({"itemIdentifier": record["messageId"]})
    return {"batchItemFailures": failures}
