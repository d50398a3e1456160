"""The lake's one event schema: what every producer writes to the raw zone's logs/, events/ and feeds/ and
every consumer reads (the stream processor validates against it, the raw Glue tables declare its columns, the
ETL parses with it). Standard library only: it ships in the stream processor's asset and as a Glue extra file.

A record is one JSON object per line:
    {"eventId": "...", "eventType": "order.created", "tenantId": "...", "entityId": "...",
     "eventTime": "2025-01-31T12:00:00Z" | 1738324800000, "attributes": {"key": "value"}}
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

EVENT_TYPE_PATTERN = r"^[a-z][a-z0-9_.-]*$"
"""Dotted lower-case names such as order.created; the ETL and the quality rules check the same pattern."""
ISO_TIME_PATTERN = r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})$"
"""The ISO 8601 form accepted: date, time, optional fraction and a required offset (no local times)."""
MAX_ID_LENGTH = 128
MAX_EPOCH_MILLIS = 253402300799999
"""9999-12-31T23:59:59.999Z: a larger integer is not a timestamp in milliseconds."""


@dataclass(frozen=True)
class Field:
    """One field of the record: its JSON name, the raw table's column type, and whether it must be present."""

    name: str
    glue_type: str
    required: bool
    description: str

    @property
    def column(self) -> str:
        """The column name Glue gives the field (Glue lower-cases names; the JSON SerDe matches them)."""
        return self.name.lower()


FIELDS = (
    Field("eventId", "string", True, "Unique per event; the ETL de-duplicates on it"),
    Field("eventType", "string", True, f"Matches {EVENT_TYPE_PATTERN}"),
    Field("tenantId", "string", True, "The tenant the event belongs to"),
    Field("entityId", "string", True, "The entity whose state the event changes"),
    Field("eventTime", "string", True, "ISO 8601 with an offset, or epoch milliseconds"),
    Field("attributes", "map<string,string>", False, "Free-form string attributes"),
)
SOURCES = ("logs", "events", "feeds")
"""seed 003's raw folders: one ingestion path (a Firehose) and one raw table each."""


def parse_event_time(value: Any) -> datetime | None:
    """The instant an eventTime names (ISO 8601 with an offset, or epoch milliseconds), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return datetime.fromtimestamp(value / 1000, UTC) if 0 <= value <= MAX_EPOCH_MILLIS else None
    if not isinstance(value, str) or not re.match(ISO_TIME_PATTERN, value):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed


def problems(record: Any) -> list[str]:
    """Why `record` does not conform to the schema (empty when it does)."""
    if not isinstance(record, dict):
        return ["not a JSON object"]
    found = []
    for field in FIELDS:
        value = record.get(field.name)
        if value is None:
            if field.required:
                found.append(f"{field.name} is missing")
            continue
        if field.name == "eventTime":
            if parse_event_time(value) is None:
                found.append("eventTime is neither ISO 8601 with an offset nor epoch milliseconds")
        elif field.glue_type == "string":
            if not isinstance(value, str) or not 0 < len(value) <= MAX_ID_LENGTH:
                found.append(f"{field.name} is not a string of 1-{MAX_ID_LENGTH} characters")
        elif not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
            found.append(f"{field.name} is not an object of strings")
    event_type = record.get("eventType")
    if isinstance(event_type, str) and not re.match(EVENT_TYPE_PATTERN, event_type):
        found.append(f"eventType {event_type!r} does not match {EVENT_TYPE_PATTERN}")
    return found
