"""Acknowledge a compliance finding on the construct it concerns, with the reason it is accepted."""

from __future__ import annotations

import aws_cdk as cdk
from constructs import IConstruct


def acknowledge(scope: IConstruct, finding_id: str, reason: str) -> None:
    """Accept exactly `finding_id` (e.g. `AwsSolutions-IAM5[Action::s3:*]`) on `scope` and its children."""
    cdk.Validations.of(scope).acknowledge(cdk.Acknowledgment(id=finding_id, reason=reason))
