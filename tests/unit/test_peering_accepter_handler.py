"""The peering accepter finds the attachment to accept, accepts it once, and waits for `available`."""

from __future__ import annotations

from types import ModuleType
from typing import Any

import pytest

from tests.support import load_handler


def _handler() -> ModuleType:
    return load_handler("peering_accepter")


def _attachment(attachment_id: str, requester: str, state: str) -> dict[str, Any]:
    return {
        "TransitGatewayAttachmentId": attachment_id,
        "RequesterTgwInfo": {"TransitGatewayId": requester},
        "State": state,
    }


class FakeEc2:
    """Answers the two calls the handler makes and records acceptances."""

    def __init__(self, attachments: list[dict[str, Any]]) -> None:
        self.attachments = attachments
        self.accepted: list[str] = []

    def get_paginator(self, name: str) -> Any:
        assert name == "describe_transit_gateway_peering_attachments"
        fake = self

        class Paginator:
            def paginate(self, **_: Any) -> list[dict[str, Any]]:
                return [{"TransitGatewayPeeringAttachments": fake.attachments}]

        return Paginator()

    def accept_transit_gateway_peering_attachment(self, TransitGatewayAttachmentId: str) -> None:
        self.accepted.append(TransitGatewayAttachmentId)

    def describe_transit_gateway_peering_attachments(
        self,
        TransitGatewayAttachmentIds: list[str],
    ) -> dict[str, Any]:
        return {
            "TransitGatewayPeeringAttachments": [
                a for a in self.attachments if a["TransitGatewayAttachmentId"] in TransitGatewayAttachmentIds
            ]
        }


def _with_ec2(attachments: list[dict[str, Any]]) -> tuple[ModuleType, FakeEc2]:
    handler = _handler()
    fake = FakeEc2(attachments)
    vars(handler)["_ec2"] = lambda: fake  # the module's AWS client, replaced
    return handler, fake


CREATE = {
    "RequestType": "Create",
    "ResourceProperties": {
        "AttachmentId": "tgw-attach-1",
        "RequesterTransitGatewayId": "tgw-requester",
        "AccepterTransitGatewayId": "tgw-accepter",
    },
}


def test_accepts_the_pending_attachment_and_reports_its_id() -> None:
    handler, ec2 = _with_ec2([_attachment("tgw-attach-1", "tgw-requester", "pendingAcceptance")])
    assert handler.on_event(CREATE, None) == {
        "PhysicalResourceId": "tgw-attach-1",
        "Data": {"AttachmentId": "tgw-attach-1"},
    }
    assert ec2.accepted == ["tgw-attach-1"]


def test_finds_it_by_requester_when_this_side_has_another_id() -> None:
    handler, ec2 = _with_ec2(
        [
            _attachment("tgw-attach-old", "tgw-requester", "deleted"),
            _attachment("tgw-attach-other", "tgw-someone-else", "pendingAcceptance"),
            _attachment("tgw-attach-2", "tgw-requester", "pendingAcceptance"),
        ]
    )
    assert handler.on_event(CREATE, None)["PhysicalResourceId"] == "tgw-attach-2"
    assert ec2.accepted == ["tgw-attach-2"]


def test_an_already_accepted_attachment_is_not_accepted_again() -> None:
    handler, ec2 = _with_ec2([_attachment("tgw-attach-1", "tgw-requester", "available")])
    handler.on_event({**CREATE, "RequestType": "Update", "PhysicalResourceId": "tgw-attach-1"}, None)
    assert ec2.accepted == []


def test_no_matching_attachment_fails_the_deployment() -> None:
    handler, _ = _with_ec2([_attachment("tgw-attach-9", "tgw-someone-else", "pendingAcceptance")])
    with pytest.raises(RuntimeError, match="no peering attachment tgw-attach-1 from tgw-requester"):
        handler.on_event(CREATE, None)


def test_delete_leaves_the_attachment_to_the_requester() -> None:
    handler, ec2 = _with_ec2([])
    event = {**CREATE, "RequestType": "Delete", "PhysicalResourceId": "tgw-attach-1"}
    assert handler.on_event(event, None) == {"PhysicalResourceId": "tgw-attach-1"}
    assert handler.is_complete(event, None) == {"IsComplete": True}
    assert ec2.accepted == []


@pytest.mark.parametrize(("state", "complete"), [("pendingAcceptance", False), ("pending", False), ("available", True)])
def test_waits_until_available(state: str, complete: bool) -> None:
    handler, _ = _with_ec2([_attachment("tgw-attach-1", "tgw-requester", state)])
    event = {**CREATE, "PhysicalResourceId": "tgw-attach-1"}
    assert handler.is_complete(event, None) == {"IsComplete": complete}


@pytest.mark.parametrize("state", ["rejected", "failed", "deleted"])
def test_a_dead_attachment_fails_instead_of_waiting(state: str) -> None:
    handler, _ = _with_ec2([_attachment("tgw-attach-1", "tgw-requester", state)])
    with pytest.raises(RuntimeError, match=f"tgw-attach-1 is {state}"):
        handler.is_complete({**CREATE, "PhysicalResourceId": "tgw-attach-1"}, None)
