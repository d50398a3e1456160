"""The audit trail: a multi-region CloudTrail with log-file validation and KMS, delivered to the data
stack's object-locked audit-logs bucket and to an encrypted CloudWatch log group, with S3 data events
for the data buckets."""

from __future__ import annotations

from collections.abc import Sequence

import aws_cdk as cdk
from aws_cdk import aws_cloudtrail as cloudtrail
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct
from constructs.common.encrypted_log_group import EncryptedLogGroup
from constructs.common.encryption_key import EncryptionKey
from constructs.common.managed_policy_role import ManagedPolicyRole


class AuditTrail(Construct):
    """`trail` (named `trail_name`, which the audit-logs bucket's policy admits), `key` and `log_group`."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        trail_name: str,
        bucket: s3.IBucket,
        data_event_buckets: Sequence[s3.IBucket],
        logs_key: kms.IKey,
        key_alias: str,
        deletion_window_days: int,
        log_retention_days: int,
        removal_policy: cdk.RemovalPolicy,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        trail_arn = stack.format_arn(service="cloudtrail", resource="trail", resource_name=trail_name)
        key = EncryptionKey(
            self,
            "Key",
            alias=key_alias,
            description="CloudTrail log files",
            deletion_window_days=deletion_window_days,
            removal_policy=removal_policy,
        )
        key.allow_services(
            "AllowCloudTrailEncrypt",
            ["cloudtrail.amazonaws.com"],
            ["kms:GenerateDataKey*", "kms:DescribeKey"],
            {"StringEquals": {"aws:SourceArn": trail_arn}},
        )
        self.key = key.key
        self.log_group = EncryptedLogGroup(
            self, "Logs", encryption_key=logs_key, retention_days=log_retention_days, removal_policy=removal_policy
        ).log_group
        delivery = ManagedPolicyRole(
            self,
            "LogDelivery",
            assumed_by=iam.ServicePrincipal("cloudtrail.amazonaws.com"),
            description="CloudTrail delivery to its CloudWatch log group",
            statements=[
                iam.PolicyStatement(
                    actions=["logs:CreateLogStream", "logs:PutLogEvents"], resources=[self.log_group.log_group_arn]
                )
            ],
        )
        self.trail = cloudtrail.CfnTrail(
            self,
            "Trail",
            trail_name=trail_name,
            is_logging=True,
            is_multi_region_trail=True,
            include_global_service_events=True,
            enable_log_file_validation=True,
            s3_bucket_name=bucket.bucket_name,
            kms_key_id=self.key.key_arn,
            cloud_watch_logs_log_group_arn=self.log_group.log_group_arn,
            cloud_watch_logs_role_arn=delivery.role.role_arn,
            event_selectors=[
                cloudtrail.CfnTrail.EventSelectorProperty(
                    include_management_events=True,
                    read_write_type="All",
                    data_resources=[
                        cloudtrail.CfnTrail.DataResourceProperty(
                            type="AWS::S3::Object", values=[f"{b.bucket_arn}/" for b in data_event_buckets]
                        )
                    ]
                    if data_event_buckets
                    else None,
                )
            ],
        )
        self.trail.node.add_dependency(delivery)
