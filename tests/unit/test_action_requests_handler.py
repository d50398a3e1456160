"""The action-requests consumer reports failures per message (partial batch responses)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

from tests.conftest import REPO_ROOT

HANDLER = REPO_ROOT / "lambdas" / "action_requests" / "handler.py"


def _handler() -> ModuleType:
    spec = importlib.util.spec_from_file_location("action_requests_handler", HANDLER)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


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
    assert Path(HANDLER).is_file()
