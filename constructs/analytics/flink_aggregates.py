"""Managed Service for Apache Flink (seed 000: Kinesis -> Flink -> the lake): the PyFlink job of flink_jobs/,
shipped as a zip asset of exactly its modules, the event schema and its connector jars, reading the Kinesis
stream and writing per-window counts to the processed zone. It runs in the app tier, checkpoints, keeps
snapshots, and logs to an encrypted group; its role reads the stream and the code and writes one lake prefix."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kinesis as kinesis
from aws_cdk import aws_kinesisanalyticsv2 as flink
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_assets as assets
from constructs import Construct, IConstruct
from constructs.common.acknowledgments import acknowledge_all
from constructs.common.encrypted_log_group import EncryptedLogGroup
from constructs.common.managed_policy_role import ManagedPolicyRole
from constructs.common.network_interfaces import (
    ANY_INTERFACE_REASON,
    DESCRIBE_REASON,
    any_interface_finding,
    interface_statements,
)
from constructs.common.staged_modules import staged_modules

from environments.schema.stream_processing import FLINK_RUNTIME, FlinkConfig
from lambdas.stream_processor import event_schema

JOBS = Path(__file__).resolve().parents[2] / "flink_jobs"
CODE_FILES = {
    "main.py": JOBS / "main.py",
    "aggregates.py": JOBS / "aggregates.py",
    "event_schema.py": Path(event_schema.__file__),
}
"""The job's modules in its zip, beside the event schema it validates with (the connector jar joins them)."""
CONNECTOR_JAR = "flink-sql-connector-aws-kinesis-streams-5.0.0-1.20.jar"
"""The AWS Kinesis SQL connector for Flink 1.20 (the 'kinesis' table connector): Managed Flink runs only the
jars the zip brings. `make flink-connectors` puts it in flink_jobs/lib/ (not in git, and not reachable from a
developer's machine here); the deploy pipeline's synth fetches it first and refuses to go on without it."""
REQUIRE_CONNECTORS = "CODEBUILD_BUILD_ID"
"""Set in CodeBuild, where the pipeline synthesizes what it deploys: there a zip without the connector is an
error. Local and CI synths (tests) build the zip without it."""
OUTPUT_PREFIX = "real-time/"
"""Where in the processed zone the job writes: seed 003's processed/real-time/ (dt=<day>/ folders under it)."""
STREAM_READ = ("kinesis:DescribeStream", "kinesis:DescribeStreamSummary", "kinesis:GetShardIterator",
               "kinesis:GetRecords", "kinesis:ListShards")  # fmt: skip
"""What the connector's KinesisStreamsSource calls on the stream (polling consumption)."""
LAKE_WRITE = ("s3:PutObject", "s3:GetObject", "s3:DeleteObject", "s3:AbortMultipartUpload",
              "s3:ListMultipartUploadParts")  # fmt: skip
"""Flink's S3 file sink: multipart uploads it resumes from a checkpoint, in-progress files it removes."""


def connector_jar() -> Path:
    return JOBS / "lib" / CONNECTOR_JAR


class FlinkAggregates(Construct):
    """`application` (AWS::KinesisAnalyticsV2::Application), its `role`, `log_group` and `code` asset."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        flink_config: FlinkConfig,
        name: str,
        stream: kinesis.IStream,
        stream_key: kms.IKey,
        processed_bucket: s3.IBucket,
        storage_key: kms.IKey,
        logs_key: kms.IKey,
        subnets: Sequence[ec2.ISubnet],
        security_group: ec2.ISecurityGroup,
        log_retention_days: int,
        removal_policy: cdk.RemovalPolicy,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        files = dict(CODE_FILES)
        jar = connector_jar()
        if jar.is_file():
            files[f"lib/{CONNECTOR_JAR}"] = jar
        elif os.environ.get(REQUIRE_CONNECTORS):
            raise FileNotFoundError(f"flink_jobs/lib/{CONNECTOR_JAR} is missing: run `make flink-connectors`")
        self.code = assets.Asset(self, "Code", path=staged_modules(files), exclude=["__pycache__"])  # tests import it
        self.log_group = EncryptedLogGroup(
            self, "Logs", encryption_key=logs_key, retention_days=log_retention_days, removal_policy=removal_policy
        ).log_group
        log_stream = logs.LogStream(self, "LogStream", log_group=self.log_group, removal_policy=removal_policy)
        via = {"StringEquals": {"kms:ViaService": f"s3.{stack.region}.amazonaws.com"}}
        output = f"{OUTPUT_PREFIX}*"
        managed = ManagedPolicyRole(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("kinesisanalytics.amazonaws.com").with_conditions(
                {"StringEquals": {"aws:SourceAccount": stack.account}}
            ),
            description=f"Managed Flink {name}: read the stream, write the processed zone's {OUTPUT_PREFIX}",
            statements=[
                iam.PolicyStatement(
                    sid="Code",
                    actions=["s3:GetObject", "s3:GetObjectVersion"],
                    resources=[self.code.bucket.arn_for_objects(self.code.s3_object_key)],
                ),
                iam.PolicyStatement(sid="ReadStream", actions=list(STREAM_READ), resources=[stream.stream_arn]),
                iam.PolicyStatement(
                    sid="StreamKey",
                    actions=["kms:Decrypt"],
                    resources=[stream_key.key_arn],
                    conditions={"StringEquals": {"kms:ViaService": f"kinesis.{stack.region}.amazonaws.com"}},
                ),
                iam.PolicyStatement(
                    sid="WriteAggregates",
                    actions=list(LAKE_WRITE),
                    resources=[processed_bucket.arn_for_objects(output)],
                ),
                iam.PolicyStatement(
                    sid="ListAggregates",
                    actions=["s3:ListBucket", "s3:ListBucketMultipartUploads"],
                    resources=[processed_bucket.bucket_arn],
                    conditions={"StringLike": {"s3:prefix": [output]}},
                ),
                iam.PolicyStatement(
                    sid="LakeKey",
                    actions=["kms:GenerateDataKey", "kms:Decrypt"],
                    resources=[storage_key.key_arn],
                    conditions=via,
                ),
                iam.PolicyStatement(
                    sid="Logs",
                    actions=["logs:DescribeLogStreams", "logs:PutLogEvents"],
                    resources=[self.log_group.log_group_arn, log_stream_arn(stack, self.log_group, log_stream)],
                ),
                *interface_statements(stack, subnets, security_group),
            ],
        )
        self.role = managed.role
        processed_url = f"s3://{processed_bucket.bucket_name}/{OUTPUT_PREFIX}"
        self.application = flink.CfnApplication(
            self,
            "Application",
            application_name=name,
            application_description="Kinesis events -> per-tenant, per-event-type counts per window -> the lake",
            runtime_environment=FLINK_RUNTIME,
            service_execution_role=self.role.role_arn,
            application_configuration=flink.CfnApplication.ApplicationConfigurationProperty(
                application_code_configuration=flink.CfnApplication.ApplicationCodeConfigurationProperty(
                    code_content_type="ZIPFILE",
                    code_content=flink.CfnApplication.CodeContentProperty(
                        s3_content_location=flink.CfnApplication.S3ContentLocationProperty(
                            bucket_arn=self.code.bucket.bucket_arn, file_key=self.code.s3_object_key
                        )
                    ),
                ),
                environment_properties=flink.CfnApplication.EnvironmentPropertiesProperty(
                    property_groups=[
                        flink.CfnApplication.PropertyGroupProperty(
                            property_group_id="kinesis.analytics.flink.run.options",
                            property_map={
                                "python": "main.py",
                                "pyFiles": "aggregates.py,event_schema.py",
                                "jarfile": f"lib/{CONNECTOR_JAR}",
                            },
                        ),
                        flink.CfnApplication.PropertyGroupProperty(
                            property_group_id="StreamAggregates",
                            property_map={
                                "stream.arn": stream.stream_arn,
                                "aws.region": stack.region,
                                "output.path": processed_url,
                                "window.seconds": str(flink_config.window_seconds),
                            },
                        ),
                    ]
                ),
                flink_application_configuration=flink.CfnApplication.FlinkApplicationConfigurationProperty(
                    checkpoint_configuration=flink.CfnApplication.CheckpointConfigurationProperty(
                        configuration_type="CUSTOM",
                        checkpointing_enabled=True,
                        checkpoint_interval=flink_config.checkpoint_interval_seconds * 1000,
                        min_pause_between_checkpoints=5000,
                    ),
                    monitoring_configuration=flink.CfnApplication.MonitoringConfigurationProperty(
                        configuration_type="CUSTOM", log_level=flink_config.log_level, metrics_level="APPLICATION"
                    ),
                    parallelism_configuration=flink.CfnApplication.ParallelismConfigurationProperty(
                        configuration_type="CUSTOM",
                        parallelism=flink_config.parallelism,
                        parallelism_per_kpu=flink_config.parallelism_per_kpu,
                        auto_scaling_enabled=flink_config.auto_scaling,
                    ),
                ),
                application_snapshot_configuration=flink.CfnApplication.ApplicationSnapshotConfigurationProperty(
                    snapshots_enabled=True
                ),
                application_system_rollback_configuration=(
                    flink.CfnApplication.ApplicationSystemRollbackConfigurationProperty(rollback_enabled=True)
                ),
                vpc_configurations=[
                    flink.CfnApplication.VpcConfigurationProperty(
                        subnet_ids=[subnet.subnet_id for subnet in subnets],
                        security_group_ids=[security_group.security_group_id],
                    )
                ],
            ),
        )
        # Snapshots (the job's state) go with the application: retained wherever the stage keeps data.
        self.application.apply_removal_policy(removal_policy)
        self.application.node.add_dependency(managed)
        logging = flink.CfnApplicationCloudWatchLoggingOption(
            self,
            "Logging",
            application_name=name,
            cloud_watch_logging_option=flink.CfnApplicationCloudWatchLoggingOption.CloudWatchLoggingOptionProperty(
                log_stream_arn=log_stream_arn(stack, self.log_group, log_stream)
            ),
        )
        logging.node.add_dependency(self.application)
        self.application_name = name
        assert managed.policy is not None
        acknowledge_all(
            managed.policy,
            [
                ("AwsSolutions-IAM5[Resource::*]", DESCRIBE_REASON),
                (any_interface_finding(stack), ANY_INTERFACE_REASON),
                (f"AwsSolutions-IAM5[Resource::<{_logical_id(processed_bucket)}.Arn>/{output}]",
                 f"The job's one output prefix in the processed zone ({OUTPUT_PREFIX}): files per window and day."),
            ],
        )  # fmt: skip


def log_stream_arn(stack: cdk.Stack, group: logs.ILogGroup, stream: logs.LogStream) -> str:
    """The log stream's ARN (CloudFormation gives a stream no ARN attribute)."""
    return stack.format_arn(
        service="logs",
        resource="log-group",
        resource_name=f"{group.log_group_name}:log-stream:{stream.log_stream_name}",
        arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
    )


def _logical_id(construct: IConstruct) -> str:
    return cdk.Stack.of(construct).get_logical_id(construct.node.default_child)  # type: ignore[arg-type]
