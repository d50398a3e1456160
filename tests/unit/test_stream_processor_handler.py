"""The Kinesis stream processor keeps per-entity state and reports bad records by sequence number."""

from __future__ import annotations

import base64
import json
from types import ModuleType

from tests.support import load_handler


def _handler() -> ModuleType:
    return load_handler("stream_processor")


def _record(sequence: str, payload: object) -> dict[str, dict[str, str]]:
    data = payload.encode() if isinstance(payload, str) else json.dumps(payload).encode()
    return {"kinesis": {"sequenceNumber": sequence, "data": base64.b64encode(data).decode()}}


def test_state_item_from_a_record() -> None:
    item = _handler().state_update(_record("1", {"entityId": 42, "eventType": "ticket.created"}))
    assert item == {"entityId": "42", "lastEventType": "ticket.created", "lastSequenceNumber": "1"}


def test_bad_records_are_reported_for_bisecting() -> None:
    event = {"Records": [_record("1", {"entityId": "a"}), _record("2", {"no": "id"}), _record("3", "{")]}
    assert _handler().handler(event, None) == {"batchItemFailures": [{"itemIdentifier": "2"}, {"itemIdentifier": "3"}]}
