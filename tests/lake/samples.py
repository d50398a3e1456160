"""Sample raw deliveries the tests make: two delivery days with duplicates within a batch and across runs, a
late event and one whose offset moves it to the next UTC day, both timestamp forms, a malformed line, a
record without a required column and one with a bad event type."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

TODAY = datetime.now(UTC).date()
DAY1, DAY2, LATE = TODAY - timedelta(days=1), TODAY, TODAY - timedelta(days=4)
"""Relative to today, so the freshness rule sees fresh data."""


def at(day: date, clock: str, offset: str = "Z") -> str:
    return f"{day.isoformat()}T{clock}{offset}"


def millis(day: date, clock: str) -> int:
    return int(datetime.fromisoformat(at(day, clock)).timestamp() * 1000)


def event(event_id: str, tenant: str, event_type: str, entity: str, time: str | int) -> dict[str, Any]:
    return {"eventId": event_id, "eventType": event_type, "tenantId": tenant, "entityId": entity, "eventTime": time}


E1 = event("e1", "t1", "order.created", "a", at(DAY1, "10:00:00"))
E2 = event("e2", "t1", "order.created", "b", millis(DAY1, "10:30:00"))
E3 = event("e3", "t2", "page.view", "c", at(DAY1, "23:30:00", "-02:00"))  # 01:30 UTC the next day
L1 = {**event("l1", "t1", "log.error", "a", at(DAY1, "11:00:00.250")), "attributes": {"level": "error"}}
F1 = event("f1", "t2", "feed.item", "d", millis(DAY1, "12:00:00"))
E4 = event("e4", "t1", "order.created", "a", at(DAY2, "00:05:00"))
E5 = event("e5", "t2", "page.view", "c", at(LATE, "08:00:00"))  # delivered four days late
MALFORMED = '{"eventId": "bad-1", "eventType": '
MISSING_TENANT = json.dumps({k: v for k, v in event("bad-2", "t1", "order.created", "a", at(DAY1, "09:00:00")).items()
                             if k != "tenantId"})  # fmt: skip
BAD_TYPE = json.dumps(event("bad-3", "t1", "Order Created", "a", at(DAY1, "09:00:00")))

DAY1_DELIVERIES = {
    "events": [json.dumps(E1), json.dumps(E2), json.dumps(E2), json.dumps(E3), MALFORMED, MISSING_TENANT, BAD_TYPE],
    "logs": [json.dumps(L1)],
    "feeds": [json.dumps(F1)],
}
DAY2_DELIVERIES = {"events": [json.dumps(E4), json.dumps(E1), json.dumps(E5)]}
"""e1 again on day 2: a producer's resend, which must not count twice."""
UNIQUE_EVENTS = {"e1": DAY1, "e2": DAY1, "l1": DAY1, "f1": DAY1, "e3": DAY2, "e4": DAY2, "e5": LATE}
"""Every conforming event once, on its UTC event day."""


def deliver(root: Path, deliveries: dict[str, list[str]], day: date) -> None:
    """Write each source's lines as Firehose does: gzip, newline-delimited, under <source>/dt=<day>/."""
    for source, lines in deliveries.items():
        folder = root / "raw" / source / f"dt={day.isoformat()}"
        folder.mkdir(parents=True, exist_ok=True)
        with gzip.open(folder / f"{source}-1-{day.isoformat()}-00-00-00-0000.gz", "wt") as handle:
            handle.write("".join(line + "\n" for line in lines))
