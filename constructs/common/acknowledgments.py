"""Acknowledge a compliance finding on the construct it concerns, with the reason it is accepted."""

from __future__ import annotations

from collections.abc import Iterable

import aws_cdk as cdk
from constructs import IConstruct


def acknowledge(scope: IConstruct, finding_id: str, reason: str) -> None:
    """Accept exactly `finding_id` (e.g. `AwsSolutions-IAM5[Action::s3:*]`) on `scope` and its children."""
    acknowledge_all(scope, [(finding_id, reason)])


def acknowledge_all(scope: IConstruct, findings: Iterable[tuple[str, str]]) -> None:
    """Accept each (finding ID, reason) on `scope` at once: one call into CDK however many they are."""
    cdk.Validations.of(scope).acknowledge(*(cdk.Acknowledgment(id=i, reason=r) for i, r in findings))


def acknowledge_vpc_function_role(function: IConstruct, *, inline_policy_reason: str) -> None:
    """Accept what the role CDK makes for a Lambda function in a VPC always carries: AWS's two execution
    policies and the grants written as the role's inline default policy."""
    managed = "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/{}]"
    acknowledge_all(
        function,
        [
            (
                managed.format("AWSLambdaBasicExecutionRole"),
                "AWS's basic execution policy: write the function's own log streams.",
            ),
            (
                managed.format("AWSLambdaVPCAccessExecutionRole"),
                "AWS's VPC access policy: the ENIs a function in a VPC needs.",
            ),
            ("NIST.800.53.R5-IAMNoInlinePolicy", inline_policy_reason),
        ],
    )
