"""The Kinesis stream processor validates against the lake's event schema, keeps per-entity state, counts and
skips records that do not conform, and reports only records it failed to store."""

from __future__ import annotations

import base64
import json
from types import ModuleType
from typing import Any

import pytest

from lambdas.stream_processor import event_schema
from tests.support import load_handler

GOOD = {"eventId": "e-1", "eventType": "ticket.created", "tenantId": "t-1", "entityId": "42",
        "eventTime": "2025-01-31T12:00:00Z"}  # fmt: skip


def _handler() -> ModuleType:
    return load_handler("stream_processor")


def _record(sequence: str, payload: object) -> dict[str, dict[str, str]]:
    data = payload.encode() if isinstance(payload, str) else json.dumps(payload).encode()
    return {"kinesis": {"sequenceNumber": sequence, "data": base64.b64encode(data).decode()}}


def test_state_item_from_a_conforming_record() -> None:
    handler = _handler()
    event, found = handler.decode(_record("1", GOOD))
    assert found == [] and event is not None
    assert handler.state_update(event, "1") == {"entityId": "42", "lastEventType": "ticket.created",
                                                "lastSequenceNumber": "1"}  # fmt: skip


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"eventId": None}, "eventId is missing"),
        ({"eventType": "Ticket Created"}, "does not match"),
        ({"eventTime": "2025-01-31T12:00:00"}, "eventTime"),  # a local time: no offset
        ({"eventTime": "yesterday"}, "eventTime"),
        ({"eventTime": True}, "eventTime"),
        ({"entityId": 42}, "entityId is not a string"),
        ({"attributes": {"n": 1}}, "attributes is not an object of strings"),
    ],
)
def test_the_schema_names_what_does_not_conform(change: dict[str, Any], problem: str) -> None:
    record = {k: v for k, v in {**GOOD, **change}.items() if v is not None}
    assert any(problem in found for found in event_schema.problems(record))


def test_both_timestamp_forms_conform() -> None:
    iso = event_schema.parse_event_time("2025-01-31T12:00:00.250+01:00")
    millis = event_schema.parse_event_time(1738321200250)
    assert iso == millis
    assert event_schema.problems({**GOOD, "eventTime": 1738321200250, "attributes": {"k": "v"}}) == []


def test_bad_records_are_counted_and_skipped_failed_writes_retried(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    handler = _handler()
    monkeypatch.setenv("STATE_TABLE", "state")
    monkeypatch.setenv("METRICS_NAMESPACE", "ai-platform/dev/lake")

    class Table:
        def put_item(self, Item: dict[str, str]) -> None:
            if Item["entityId"] == "unstorable":
                raise RuntimeError("throttled")

    monkeypatch.setattr(handler, "_table", Table)
    event = {"Records": [_record("1", GOOD), _record("2", {"no": "id"}), _record("3", "{"),
                         _record("4", {**GOOD, "entityId": "unstorable"})]}  # fmt: skip
    assert handler.handler(event, None) == {"batchItemFailures": [{"itemIdentifier": "4"}]}
    metric = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert metric["QuarantinedRecords"] == 2 and metric["Source"] == "stream-processor"
    assert metric["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "ai-platform/dev/lake"
