"""Custom resource: accept a Transit Gateway peering attachment in the accepter's region, then report
complete once it is available, so the routes that use it can follow. CloudFormation can request a
peering (AWS::EC2::TransitGatewayPeeringAttachment) but has no resource that accepts one."""

from __future__ import annotations

from functools import cache
from typing import Any

WAITING_STATES = frozenset({"initiatingRequest", "pendingAcceptance", "pending", "modifying"})
"""States on the way to `available`; any other state (failed, rejected, deleted ...) ends in an error."""


@cache
def _ec2() -> Any:
    """The EC2 client (boto3 ships with the Lambda runtime; imported here so tests need no AWS SDK)."""
    import boto3

    return boto3.client("ec2")


def select_attachment(
    attachments: list[dict[str, Any]], *, attachment_id: str, requester_transit_gateway_id: str
) -> dict[str, Any]:
    """The attachment to accept among those of the accepter's gateway: the one with the requester's ID,
    or else the one from the requester's gateway (across accounts the two sides' IDs can differ)."""
    live = [a for a in attachments if a["State"] in WAITING_STATES | {"available"}]
    for attachment in live:
        if attachment["TransitGatewayAttachmentId"] == attachment_id:
            return attachment
    for attachment in live:
        if attachment["RequesterTgwInfo"]["TransitGatewayId"] == requester_transit_gateway_id:
            return attachment
    raise RuntimeError(f"no peering attachment {attachment_id} from {requester_transit_gateway_id} to accept")


def _attachments(accepter_transit_gateway_id: str) -> list[dict[str, Any]]:
    pages = (
        _ec2()
        .get_paginator("describe_transit_gateway_peering_attachments")
        .paginate(Filters=[{"Name": "transit-gateway-id", "Values": [accepter_transit_gateway_id]}])
    )
    return [a for page in pages for a in page["TransitGatewayPeeringAttachments"]]


def on_event(event: dict[str, Any], _context: object) -> dict[str, Any]:
    """Create/Update: accept the attachment if it still waits for it. Delete: nothing; the requester's
    stack deletes the attachment itself."""
    if event["RequestType"] == "Delete":
        return {"PhysicalResourceId": event["PhysicalResourceId"]}
    properties = event["ResourceProperties"]
    attachment = select_attachment(
        _attachments(properties["AccepterTransitGatewayId"]),
        attachment_id=properties["AttachmentId"],
        requester_transit_gateway_id=properties["RequesterTransitGatewayId"],
    )
    attachment_id = attachment["TransitGatewayAttachmentId"]
    if attachment["State"] == "pendingAcceptance":
        _ec2().accept_transit_gateway_peering_attachment(TransitGatewayAttachmentId=attachment_id)
    return {"PhysicalResourceId": attachment_id, "Data": {"AttachmentId": attachment_id}}


def completion(event: dict[str, Any], state: str) -> dict[str, Any]:
    """The waiter's answer for an attachment in `state`."""
    if state == "available":
        return {"IsComplete": True}
    if state in WAITING_STATES:
        return {"IsComplete": False}
    raise RuntimeError(f"peering attachment {event['PhysicalResourceId']} is {state}, not available")


def is_complete(event: dict[str, Any], _context: object) -> dict[str, Any]:
    """Polled by the provider framework until the accepted attachment is available."""
    if event["RequestType"] == "Delete":
        return {"IsComplete": True}
    response = _ec2().describe_transit_gateway_peering_attachments(
        TransitGatewayAttachmentIds=[event["PhysicalResourceId"]]
    )
    (attachment,) = response["TransitGatewayPeeringAttachments"]
    return completion(event, attachment["State"])
