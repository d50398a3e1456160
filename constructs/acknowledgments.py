"""Acknowledge a compliance finding on the construct it concerns, with the reason it is accepted."""

from __future__ import annotations

import aws_cdk as cdk
from constructs import IConstruct


def acknowledge(scope: IConstruct, finding_id: str, reason: str) -> None:
    """Accept exactly `finding_id` (e.g. `AwsSolutions-IAM5[Action::s3:*]`) on `scope` and its children."""
    cdk.Validations.of(scope).acknowledge(cdk.Acknowledgment(id=finding_id, reason=reason))


def acknowledge_vpc_function_role(function: IConstruct, *, inline_policy_reason: str) -> None:
    """Accept what the role CDK makes for a Lambda function in a VPC always carries: AWS's two execution
    policies and the grants written as the role's inline default policy."""
    for policy, what in (
        ("AWSLambdaBasicExecutionRole", "AWS's basic execution policy: write the function's own log streams."),
        ("AWSLambdaVPCAccessExecutionRole", "AWS's VPC access policy: the ENIs a function in a VPC needs."),
    ):
        acknowledge(
            function, f"AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/{policy}]", what
        )
    acknowledge(function, "NIST.800.53.R5-IAMNoInlinePolicy", inline_policy_reason)
