"""A CloudWatch log group encrypted with a customer-managed key and kept for a configured time."""

from __future__ import annotations

from typing import cast

import aws_cdk as cdk
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from constructs import Construct


class EncryptedLogGroup(Construct):
    """`log_group` is encrypted with `encryption_key` and keeps events for `retention_days`. A group its
    stack retains (`removal_policy` RETAIN: every stage that does not allow destroying data) is also
    deletion-protected, so it cannot be deleted by hand either."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        encryption_key: kms.IKey,
        retention_days: int,
        removal_policy: cdk.RemovalPolicy,
        log_group_name: str | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.log_group = logs.LogGroup(
            self,
            "LogGroup",
            log_group_name=log_group_name,
            encryption_key=encryption_key,
            removal_policy=removal_policy,
        )
        # The L2 takes a RetentionDays enum whose Python members carry no day count; the schema has
        # already checked that the number is one CloudWatch accepts, so set it on the L1 directly.
        group = cast(logs.CfnLogGroup, self.log_group.node.default_child)
        group.retention_in_days = retention_days
        group.deletion_protection_enabled = removal_policy == cdk.RemovalPolicy.RETAIN


def log_custom_resource_providers(
    stack: cdk.Stack, *, encryption_key: kms.IKey, retention_days: int, removal_policy: cdk.RemovalPolicy
) -> None:
    """CDK's singleton custom-resource providers (`Custom::...CustomResourceProvider`: the VPC's default
    security group restriction, S3's auto-delete of objects) take no log group, and their handlers have
    generated names: Lambda would create `/aws/lambda/<name>` on the first write, unencrypted and kept forever.
    Each handler gets an EncryptedLogGroup through LoggingConfig, which CloudFormation creates first. Call it
    once the stack holds every construct that may add such a provider."""
    for provider in stack.node.children:
        name = provider.node.id
        if not (isinstance(provider, Construct) and name.startswith("Custom::") and name.endswith("ResourceProvider")):
            continue
        handler = provider.node.try_find_child("Handler")
        if isinstance(handler, cdk.CfnResource) and handler.cfn_resource_type == "AWS::Lambda::Function":
            group = EncryptedLogGroup(
                provider,
                "Logs",
                encryption_key=encryption_key,
                retention_days=retention_days,
                removal_policy=removal_policy,
            )
            handler.add_property_override("LoggingConfig.LogGroup", group.log_group.log_group_name)
