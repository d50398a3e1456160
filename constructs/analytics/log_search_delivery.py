"""Firehose -> OpenSearch for the log flow (seed 000: Fluent Bit's logs, Firehose to OpenSearch): a Direct PUT
delivery stream encrypted with the stage's stream key, delivering into the search domain from the app tier (its
ENIs in the app subnets with the `workload` group, which the domain's `search` group admits on 443), indexing
into a rotated index, and backing up the documents the domain rejects to the raw zone under errors/search/.

The domain's IAM policy admits the account's principals; fine-grained access control must also map the delivery
role to a backend role with write access to the index (an administrator does it once; README, The analytics)."""

from __future__ import annotations

from collections.abc import Sequence

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kinesisfirehose as firehose
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from constructs import Construct
from constructs.common.acknowledgments import acknowledge_all
from constructs.common.encrypted_log_group import EncryptedLogGroup
from constructs.common.managed_policy_role import ManagedPolicyRole
from constructs.common.network_interfaces import (
    ANY_INTERFACE_REASON,
    DESCRIBE_REASON,
    any_interface_finding,
    interface_statements,
)

from environments.schema.stream_processing import LogDeliveryConfig

BACKUP_PREFIX = "errors/search/"
"""Where in the raw zone documents the domain rejected land (with the raw sources' errors/<source>/)."""
SEARCH_WRITE = ("es:ESHttpPost", "es:ESHttpPut")
SEARCH_READ = ("es:ESHttpGet",)
"""Firehose indexes with _bulk (POST/PUT) and reads the domain's _cluster and _nodes stats and index mappings."""
SEARCH_DESCRIBE = ("es:DescribeDomain", "es:DescribeDomains", "es:DescribeDomainConfig")


class LogSearchDelivery(Construct):
    """`delivery_stream` (AWS::KinesisFirehose::DeliveryStream into the domain), its `role` and `log_group`."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        delivery: LogDeliveryConfig,
        domain_arn: str,
        backup_bucket: s3.IBucket,
        backup_key: kms.IKey,
        stream_key: kms.IKey,
        logs_key: kms.IKey,
        subnets: Sequence[ec2.ISubnet],
        security_group: ec2.ISecurityGroup,
        log_retention_days: int,
        removal_policy: cdk.RemovalPolicy,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        self.log_group = EncryptedLogGroup(
            self, "Logs", encryption_key=logs_key, retention_days=log_retention_days, removal_policy=removal_policy
        ).log_group
        streams = {
            name: logs.LogStream(self, f"{name}Stream", log_group=self.log_group, removal_policy=removal_policy)
            for name in ("Search", "Backup")
        }
        backup_objects = backup_bucket.arn_for_objects(f"{BACKUP_PREFIX}*")
        managed = ManagedPolicyRole(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("firehose.amazonaws.com").with_conditions(
                {"StringEquals": {"aws:SourceAccount": stack.account}}
            ),
            description="Firehose: index logs into the search domain, back up rejected documents to the raw zone",
            statements=[
                iam.PolicyStatement(sid="Describe", actions=list(SEARCH_DESCRIBE), resources=[domain_arn]),
                iam.PolicyStatement(sid="Index", actions=[*SEARCH_WRITE, *SEARCH_READ], resources=[f"{domain_arn}/*"]),
                iam.PolicyStatement(
                    sid="Backup",
                    actions=["s3:PutObject", "s3:AbortMultipartUpload"],
                    resources=[backup_objects],
                ),
                iam.PolicyStatement(
                    sid="BackupBucket",
                    actions=["s3:GetBucketLocation", "s3:ListBucket", "s3:ListBucketMultipartUploads"],
                    resources=[backup_bucket.bucket_arn],
                ),
                iam.PolicyStatement(
                    sid="BackupKey",
                    actions=["kms:GenerateDataKey", "kms:Decrypt"],
                    resources=[backup_key.key_arn],
                    conditions={"StringEquals": {"kms:ViaService": f"s3.{stack.region}.amazonaws.com"}},
                ),
                iam.PolicyStatement(
                    sid="Logs", actions=["logs:PutLogEvents"], resources=[self.log_group.log_group_arn]
                ),
                *interface_statements(stack, subnets, security_group),
            ],
        )
        self.role = managed.role
        logging = {
            name: firehose.CfnDeliveryStream.CloudWatchLoggingOptionsProperty(
                enabled=True, log_group_name=self.log_group.log_group_name, log_stream_name=stream.log_stream_name
            )
            for name, stream in streams.items()
        }
        self.delivery_stream = firehose.CfnDeliveryStream(
            self,
            "DeliveryStream",
            delivery_stream_type="DirectPut",
            delivery_stream_encryption_configuration_input=(
                firehose.CfnDeliveryStream.DeliveryStreamEncryptionConfigurationInputProperty(
                    key_type="CUSTOMER_MANAGED_CMK", key_arn=stream_key.key_arn
                )
            ),
            amazonopensearchservice_destination_configuration=(
                firehose.CfnDeliveryStream.AmazonopensearchserviceDestinationConfigurationProperty(
                    domain_arn=domain_arn,
                    index_name=delivery.index,
                    index_rotation_period=delivery.index_rotation,
                    role_arn=self.role.role_arn,
                    buffering_hints=firehose.CfnDeliveryStream.AmazonopensearchserviceBufferingHintsProperty(
                        interval_in_seconds=delivery.buffer_seconds, size_in_m_bs=delivery.buffer_mib
                    ),
                    retry_options=firehose.CfnDeliveryStream.AmazonopensearchserviceRetryOptionsProperty(
                        duration_in_seconds=delivery.retry_seconds
                    ),
                    s3_backup_mode="FailedDocumentsOnly",
                    s3_configuration=firehose.CfnDeliveryStream.S3DestinationConfigurationProperty(
                        bucket_arn=backup_bucket.bucket_arn,
                        role_arn=self.role.role_arn,
                        prefix=BACKUP_PREFIX,
                        error_output_prefix=f"{BACKUP_PREFIX}!{{firehose:error-output-type}}/",
                        compression_format="GZIP",
                        encryption_configuration=firehose.CfnDeliveryStream.EncryptionConfigurationProperty(
                            kms_encryption_config=firehose.CfnDeliveryStream.KMSEncryptionConfigProperty(
                                awskms_key_arn=backup_key.key_arn
                            )
                        ),
                        cloud_watch_logging_options=logging["Backup"],
                    ),
                    cloud_watch_logging_options=logging["Search"],
                    vpc_configuration=firehose.CfnDeliveryStream.VpcConfigurationProperty(
                        role_arn=self.role.role_arn,
                        subnet_ids=[subnet.subnet_id for subnet in subnets],
                        security_group_ids=[security_group.security_group_id],
                    ),
                )
            ),
        )
        self.delivery_stream.node.add_dependency(managed)
        self.delivery_stream_name = self.delivery_stream.ref
        acknowledge_all(
            managed.policy,  # type: ignore[arg-type]
            [
                ("AwsSolutions-IAM5[Resource::*]", DESCRIBE_REASON),
                (any_interface_finding(stack), ANY_INTERFACE_REASON),
                (f"AwsSolutions-IAM5[Resource::<{stack.get_logical_id(backup_bucket.node.default_child)}.Arn>/"  # type: ignore[arg-type]
                 f"{BACKUP_PREFIX}*]", "The raw zone's errors/search/ prefix only: the documents the domain rejected."),
                (f"AwsSolutions-IAM5[Resource::{domain_arn}/*]",
                 "Every path of the search domain: _bulk into the rotated index, and the stats Firehose reads."),
            ],
        )  # fmt: skip
