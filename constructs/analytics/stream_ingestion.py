"""Ingestion (seeds 000, 003): one Firehose per raw source (seed 003's logs/, events/, feeds/) into the raw zone
by delivery day, newline-delimited; events come through a Kinesis stream (on demand, KMS) whose Lambda
processor validates them against the event schema and keeps per-entity state in DynamoDB."""

from __future__ import annotations

from collections.abc import Sequence

import aws_cdk as cdk
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kinesis as kinesis
from aws_cdk import aws_kinesisfirehose as firehose
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_s3 as s3
from constructs import Construct
from constructs.common.acknowledgments import acknowledge, acknowledge_all
from constructs.common.encrypted_log_group import EncryptedLogGroup
from constructs.common.event_function import EventFunction
from constructs.common.managed_policy_role import grant_policy
from constructs.data.app_tables import protected_table_props
from constructs.data.messaging import encrypted_queue

from environments.schema.analytics import StreamingConfig
from lambdas.stream_processor.event_schema import SOURCES

DATE_PARTITION = "dt=!{timestamp:yyyy-MM-dd}/"
"""The raw tables' one partition, the day Firehose delivered the record (the ETL reads the event's own time)."""
STREAMED_SOURCE = "events"
DELIVERY_IDS = {"events": "ToRawZone", "logs": "LogsToRawZone", "feeds": "FeedsToRawZone"}
FAILURE_RETENTION = cdk.Duration.days(14)
KMS_GRANT_WILDCARDS = ("Action::kms:GenerateDataKey*", "Action::kms:ReEncrypt*")
"""What CDK's encrypt/decrypt grants on a single key are written as."""


def acknowledge_generated_role(delivery: firehose.DeliveryStream, bucket_id: str) -> None:
    """What the role CDK generates for a Firehose into a lake bucket (logical ID `bucket_id`) is granted."""
    generated = "Firehose's generated role: CDK's grants to write the raw zone (objects) with its key."
    acknowledge(
        delivery,
        "NIST.800.53.R5-IAMNoInlinePolicy",
        "Firehose's generated role holds only its read-the-source and write-the-bucket grants.",
    )
    acknowledge_all(
        delivery,
        [
            (f"AwsSolutions-IAM5[{finding}]", generated)
            for finding in (
                *(f"Action::s3:{a}" for a in ("Abort*", "DeleteObject*", "GetBucket*", "GetObject*", "List*")),
                *KMS_GRANT_WILDCARDS,
                f"Resource::<{bucket_id}.Arn>/*",
            )
        ],
    )


def raw_prefix(source: str) -> str:
    """Where a source's Firehose writes in the raw zone: `<source>/dt=<delivery day>/`."""
    return f"{source}/{DATE_PARTITION}"


class StreamIngestion(Construct):
    """`stream`, one Firehose per raw source in `delivery_streams` (events: from the stream), `state_table`,
    `processor` and its `failure_queue`."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        streaming: StreamingConfig,
        raw_bucket: s3.IBucket,
        stream_key: kms.IKey,
        table_key: kms.IKey,
        logs_key: kms.IKey,
        vpc: ec2.IVpc,
        subnets: Sequence[ec2.ISubnet],
        security_group: ec2.ISecurityGroup,
        reserved_concurrency: int,
        log_retention_days: int,
        metrics_namespace: str,
        deletion_protection: bool,
        removal_policy: cdk.RemovalPolicy,
    ) -> None:
        super().__init__(scope, construct_id)
        self._stream_key = stream_key
        self.stream = kinesis.Stream(
            self,
            "Stream",
            stream_mode=kinesis.StreamMode.ON_DEMAND,
            encryption=kinesis.StreamEncryption.KMS,
            encryption_key=stream_key,
            retention_period=cdk.Duration.hours(streaming.retention_hours),
            removal_policy=removal_policy,
        )
        raw_id = cdk.Stack.of(self).get_logical_id(raw_bucket.node.default_child)  # type: ignore[arg-type]
        self.delivery_streams: dict[str, firehose.DeliveryStream] = {}
        for source in SOURCES:
            # Each delivery stream writes its own log stream, named after its destination: a group each.
            delivery_logs = EncryptedLogGroup(
                self,
                "DeliveryLogs" if source == STREAMED_SOURCE else f"{source.capitalize()}DeliveryLogs",
                encryption_key=logs_key,
                retention_days=log_retention_days,
                removal_policy=removal_policy,
            ).log_group
            delivery = firehose.DeliveryStream(
                self,
                DELIVERY_IDS[source],
                # events come through the Kinesis stream (and its processor); logs and feeds are put directly.
                source=firehose.KinesisStreamSource(self.stream) if source == STREAMED_SOURCE else None,
                encryption=None
                if source == STREAMED_SOURCE
                else firehose.StreamEncryption.customer_managed_key(stream_key),
                destination=firehose.S3Bucket(
                    raw_bucket,
                    data_output_prefix=raw_prefix(source),
                    error_output_prefix=f"errors/{source}/!{{firehose:error-output-type}}/{DATE_PARTITION}",
                    buffering_interval=cdk.Duration.seconds(streaming.buffer_seconds),
                    buffering_size=cdk.Size.mebibytes(streaming.buffer_mib),
                    compression=firehose.Compression.GZIP,
                    # One record per line, whatever the producer sent: Athena and Spark split on newlines.
                    processors=[firehose.AppendDelimiterToRecordProcessor()],
                    encryption_key=raw_bucket.encryption_key,
                    logging_config=firehose.EnableLogging(delivery_logs),
                ),
            )
            if source == STREAMED_SOURCE:
                acknowledge(
                    delivery,
                    "AwsSolutions-KDF1",
                    "Firehose cannot add server-side encryption to a Kinesis-sourced stream: the source stream "
                    "is KMS-encrypted and the delivered objects are encrypted with the raw zone's key.",
                )
            acknowledge_generated_role(delivery, raw_id)
            self.delivery_streams[source] = delivery
        acknowledge(
            self.stream,
            "AwsSolutions-KDS3",
            "The stream uses the stage's customer-managed key (seed 001's key strategy), not aws/kinesis.",
        )

        self.state_table = dynamodb.TableV2(
            self,
            "StateTable",
            partition_key=dynamodb.Attribute(name="entityId", type=dynamodb.AttributeType.STRING),
            encryption=dynamodb.TableEncryptionV2.customer_managed_key(table_key),
            **protected_table_props(deletion_protection, removal_policy),
        )
        self.failure_queue = encrypted_queue(
            self,
            "ProcessorFailures",
            encryption_key=stream_key,
            retention=FAILURE_RETENTION,
            removal_policy=removal_policy,
        )
        acknowledge(
            self.failure_queue,
            "AwsSolutions-SQS3",
            "This queue is the processor's on-failure destination (a dead-letter queue in all but name).",
        )
        self.processor = EventFunction(
            self,
            "Processor",
            code_directory="stream_processor",
            event_source=sources.KinesisEventSource(
                self.stream,
                starting_position=lambda_.StartingPosition.TRIM_HORIZON,
                batch_size=streaming.processor_batch_size,
                bisect_batch_on_error=True,
                retry_attempts=3,
                report_batch_item_failures=True,
                on_failure=sources.SqsDlq(self.failure_queue),
            ),
            vpc=vpc,
            subnets=subnets,
            security_group=security_group,
            reserved_concurrency=reserved_concurrency,
            logs_key=logs_key,
            log_retention_days=log_retention_days,
            removal_policy=removal_policy,
            environment={"STATE_TABLE": self.state_table.table_name, "METRICS_NAMESPACE": metrics_namespace},
        )
        self.state_table.grant_write_data(self.processor.function)
        acknowledge(
            self.processor.function,
            "CKV_AWS_173",
            "The environment holds the state table's name and the metrics namespace, no secret; Lambda encrypts "
            "it at rest with its service key.",
        )
        for finding in KMS_GRANT_WILDCARDS:
            acknowledge(
                self.processor.function,
                f"AwsSolutions-IAM5[{finding}]",
                "CDK's table write grant: data keys for the state table's KMS key only.",
            )

    def grant_producers(self, role: iam.IRole, *, shared: iam.ManagedPolicy | None = None) -> None:
        """Let `role` put records on the stream (seed 000's collectors), encrypting them with its key; in `shared`
        when given (grant_policy)."""
        via_kinesis = {"StringEquals": {"kms:ViaService": f"kinesis.{cdk.Stack.of(self).region}.amazonaws.com"}}
        grant_policy(
            self,
            "ProducerPolicy",
            role=role,
            shared=shared,
            statements=[
                iam.PolicyStatement(
                    sid="PutRecords",
                    actions=[
                        "kinesis:PutRecord", "kinesis:PutRecords", "kinesis:ListShards", "kinesis:DescribeStreamSummary"
                    ],
                    resources=[self.stream.stream_arn],
                ),
                iam.PolicyStatement(
                    sid="StreamKey",
                    actions=["kms:GenerateDataKey"],
                    resources=[self._stream_key.key_arn],
                    conditions=via_kinesis,
                ),
            ],
        )  # fmt: skip
