"""A customer-managed KMS key with the platform's defaults: rotation, a stage alias, a deletion window."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct


class EncryptionKey(Construct):
    """One KMS key for one purpose; `key` is what resources encrypt with."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        alias: str,
        description: str,
        deletion_window_days: int,
        removal_policy: cdk.RemovalPolicy,
    ) -> None:
        super().__init__(scope, construct_id)
        self.key = kms.Key(
            self,
            "Key",
            alias=alias,
            description=description,
            enable_key_rotation=True,
            pending_window=cdk.Duration.days(deletion_window_days),
            removal_policy=removal_policy,
        )

    def allow_services(
        self, sid: str, services: Sequence[str], actions: Sequence[str], conditions: Mapping[str, Any]
    ) -> None:
        """Let AWS services use the key: service principals are named in the key policy, never in IAM."""
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid=sid,
                principals=[iam.ServicePrincipal(service) for service in services],
                actions=list(actions),
                resources=["*"],
                conditions=dict(conditions),
            )
        )

    def allow_cloudwatch_logs(self) -> None:
        """Let CloudWatch Logs in this account and region encrypt log groups with the key.

        Logs is a service principal, so it cannot be granted through IAM; the key policy must name it,
        and the encryption-context condition keeps it to this account's log groups.
        """
        stack = cdk.Stack.of(self)
        self.allow_services(
            "AllowCloudWatchLogs",
            [f"logs.{stack.region}.amazonaws.com"],
            ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
            {
                "ArnLike": {
                    "kms:EncryptionContext:aws:logs:arn": stack.format_arn(
                        service="logs",
                        resource="log-group",
                        resource_name="*",
                        arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
                    )
                }
            },
        )
