"""The action-requests consumer reports failures per message (partial batch responses)."""

from __future__ import annotations

import json
from types import ModuleType

from tests.support import load_handler


def _handler() -> ModuleType:
    return load_handler("action_requests")


def _record(message_id: str, body: object) -> dict[str, str]:
    return {"messageId": message_id, "body": body if isinstance(body, str) else json.dumps(body)}


def test_only_the_bad_messages_are_reported() -> None:
    event = {
        "Records": [
            _record("ok", {"actionId": "a1", "type": "create-ticket"}),
            _record("missing-type", {"actionId": "a2"}),
            _record("not-json", "{"),
        ]
    }
    assert _handler().handler(event, None) == {
        "batchItemFailures": [{"itemIdentifier": "missing-type"}, {"itemIdentifier": "not-json"}]
    }


def test_an_empty_batch_succeeds() -> None:
    assert _handler().handler({"Records": []}, None) == {"batchItemFailures": []}
