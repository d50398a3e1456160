"""Acknowledge a compliance concern on the construct it concerns, with the reason it is accepted: one call
covers the concern's ID in every cdk-nag pack a stage may choose, the project pack's, and checkov's checks
for it (guardrails/nag_rules.py), so a team that turns on HIPAA or PCI DSS, or runs `make scan`, reads the
same reason under its own rule ID."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, cast

import aws_cdk as cdk
from constructs import IConstruct

from guardrails.nag_rules import CHECKOV_CHECKS, concern_of, equivalent_ids

_ACKNOWLEDGED: dict[str, dict[str, str]] = {}
"""The concerns `_acknowledged_concerns` returns, per construct (jsii object ids are unique in a process)."""
CHECKOV_METADATA = "checkov"
"""The template metadata key checkov reads skips from: {"skip": [{"id": "CKV_AWS_18", "comment": reason}]}."""


def acknowledge(scope: IConstruct, finding_id: str, reason: str) -> None:
    """Accept the concern of `finding_id` (e.g. `NIST.800.53.R5-LambdaDLQ`, `AwsSolutions-IAM5[Action::s3:*]`,
    `CKV_AWS_173`) on `scope` and its children."""
    acknowledge_all(scope, [(finding_id, reason)])


def acknowledge_all(scope: IConstruct, findings: Iterable[tuple[str, str]]) -> None:
    """Accept each (finding ID, reason) on `scope` at once, each finding under every ID of its concern:
    cdk-nag's through CDK's acknowledgments, checkov's as skips in the template metadata of the resources
    under `scope` of the type each check reads. A concern acknowledged twice on one construct is an error:
    one reason per concern (the same reason again, from each construct that shares a stack's provider, is
    a no-op)."""
    acknowledgments: dict[str, str] = {}
    skips: dict[str, str] = {}
    concerns = dict(_acknowledged_concerns(scope))
    for finding_id, reason in findings:
        concern = concern_of(finding_id)
        if concerns.get(concern, reason) != reason:
            raise ValueError(f"{scope.node.path}: {finding_id} is acknowledged already (one reason per concern)")
        if concern in concerns:
            continue
        concerns[concern] = reason
        for rule_id in equivalent_ids(finding_id):
            (skips if rule_id in CHECKOV_CHECKS else acknowledgments)[rule_id] = reason
    if acknowledgments:
        cdk.Validations.of(scope).acknowledge(*(cdk.Acknowledgment(id=i, reason=r) for i, r in acknowledgments.items()))
        _acknowledged_concerns(scope).update({concern_of(i): r for i, r in acknowledgments.items()})
    if skips:
        resources = [(r, r.cfn_resource_type) for r in scope.node.find_all() if isinstance(r, cdk.CfnResource)]
        for check, reason in skips.items():
            for resource, resource_type in resources:
                if resource_type in CHECKOV_CHECKS[check][0]:
                    _add_checkov_skip(resource, check, reason)


def checkov_skips(resource: cdk.CfnResource) -> list[dict[str, str]]:
    """The checkov skips written on `resource` (id and comment each)."""
    metadata: dict[str, Any] = resource.get_metadata(CHECKOV_METADATA) or {}
    return list(metadata.get("skip", []))


def _add_checkov_skip(resource: cdk.CfnResource, check: str, reason: str) -> None:
    skips = [skip for skip in checkov_skips(resource) if skip["id"] != check]
    resource.add_metadata(CHECKOV_METADATA, {"skip": [*skips, {"id": check, "comment": reason}]})


def _acknowledged_concerns(scope: IConstruct) -> dict[str, str]:
    """Concern -> reason of what CDK's acknowledgments accept on `scope` itself, kept here by the construct's jsii
    object id as they are made: CDK keeps them in the construct's metadata, but reading that back costs three
    calls into Node per entry, and CDK writes an entry for every L2 method call (two fifths of a synth's calls)."""
    return _ACKNOWLEDGED.setdefault(str(cast(Any, scope).__jsii_ref__.ref), {})


def acknowledge_provider_handler(stack: cdk.Stack, provider_id: str, *, calls: str) -> None:
    """Accept what the handler of CDK's singleton custom-resource provider `provider_id` (a raw
    AWS::Lambda::Function that only the project pack sees) lacks: it runs while CloudFormation deploys,
    synchronously, and `calls` says which AWS API it calls instead of anything in the VPC."""
    acknowledge_all(
        stack.node.find_child(provider_id),
        [
            ("Platform-LambdaDLQ", "Invoked synchronously by CloudFormation, which reports its failures itself."),
            ("Platform-LambdaConcurrency", "Runs only while CloudFormation deploys this stack, one call a change."),
            ("Platform-LambdaInsideVPC", f"It calls only {calls}; CDK's provider has no VPC option."),
        ],
    )


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
