"""CloudWatch metrics into the lake (seed 000: CloudWatch metrics in the ingestion column): a metric stream of the
namespaces in config (every namespace when none is named) to a Direct PUT Firehose, encrypted with the stage's
stream key, delivering newline-delimited records into the raw zone under metrics/dt=<delivery day>/."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kinesisfirehose as firehose
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct
from constructs.analytics.stream_ingestion import DATE_PARTITION, acknowledge_generated_role
from constructs.common.encrypted_log_group import EncryptedLogGroup
from constructs.common.managed_policy_role import ManagedPolicyRole

from environments.schema.stream_processing import MetricStreamConfig

METRICS_PREFIX = "metrics/"
"""The raw zone's folder for CloudWatch metrics (beside seed 003's logs/, events/ and feeds/)."""


class MetricStream(Construct):
    """`metric_stream` (AWS::CloudWatch::MetricStream), its `delivery_stream` into the raw zone and `role`."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        metrics: MetricStreamConfig,
        raw_bucket: s3.IBucket,
        stream_key: kms.IKey,
        logs_key: kms.IKey,
        log_retention_days: int,
        removal_policy: cdk.RemovalPolicy,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        delivery_logs = EncryptedLogGroup(
            self, "DeliveryLogs", encryption_key=logs_key, retention_days=log_retention_days,
            removal_policy=removal_policy,
        ).log_group  # fmt: skip
        self.delivery_stream = firehose.DeliveryStream(
            self,
            "ToRawZone",
            encryption=firehose.StreamEncryption.customer_managed_key(stream_key),
            destination=firehose.S3Bucket(
                raw_bucket,
                data_output_prefix=f"{METRICS_PREFIX}{DATE_PARTITION}",
                error_output_prefix=f"errors/metrics/!{{firehose:error-output-type}}/{DATE_PARTITION}",
                buffering_interval=cdk.Duration.seconds(metrics.buffer_seconds),
                buffering_size=cdk.Size.mebibytes(metrics.buffer_mib),
                compression=firehose.Compression.GZIP,
                encryption_key=raw_bucket.encryption_key,
                logging_config=firehose.EnableLogging(delivery_logs),
            ),
        )
        acknowledge_generated_role(
            self.delivery_stream,
            stack.get_logical_id(raw_bucket.node.default_child),  # type: ignore[arg-type]
        )
        self.role = ManagedPolicyRole(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("streams.metrics.cloudwatch.amazonaws.com").with_conditions(
                {"StringEquals": {"aws:SourceAccount": stack.account}}
            ),
            description="CloudWatch metric stream: put metric records on its Firehose",
            statements=[
                iam.PolicyStatement(
                    sid="PutRecords",
                    actions=["firehose:PutRecord", "firehose:PutRecordBatch"],
                    resources=[self.delivery_stream.delivery_stream_arn],
                )
            ],
        ).role
        self.metric_stream = cloudwatch.CfnMetricStream(
            self,
            "MetricStream",
            firehose_arn=self.delivery_stream.delivery_stream_arn,
            role_arn=self.role.role_arn,
            output_format=metrics.output_format,
            include_filters=[
                cloudwatch.CfnMetricStream.MetricStreamFilterProperty(namespace=namespace)
                for namespace in metrics.include_namespaces
            ]
            or None,
        )
