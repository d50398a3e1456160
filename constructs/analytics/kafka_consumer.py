"""MSK -> Lambda (seed 000: Kafka -> Lambda processor -> DynamoDB state): one event source mapping per topic in
config on the platform's cluster, with IAM authentication, feeding a consumer function in the app tier that keeps
the same per-entity state as the Kinesis processor. Batches that keep failing go to an encrypted queue.

The mappings run in provisioned mode: their pollers sit in the cluster's subnets with the cluster's security
group, and in that mode Lambda needs no PrivateLink endpoints or NAT for Lambda and STS from the cluster's
subnets (Lambda developer guide, Kafka cluster networking: required for on-demand pollers only), which the data
tier does not have. The group admits itself on the IAM port for them."""

from __future__ import annotations

from collections.abc import Sequence

import aws_cdk as cdk
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from constructs import Construct
from constructs.analytics.stream_ingestion import FAILURE_RETENTION, KMS_GRANT_WILDCARDS
from constructs.common.acknowledgments import acknowledge, acknowledge_all
from constructs.common.event_function import LAMBDAS, EventFunction
from constructs.common.staged_modules import staged_modules
from constructs.data.messaging import encrypted_queue
from constructs.network.tier_security_groups import KAFKA_IAM_PORT

from environments.schema.stream_processing import KafkaConsumerConfig

CODE_FILES = {
    "handler.py": LAMBDAS / "kafka_consumer" / "handler.py",
    "kinesis_processor.py": LAMBDAS / "stream_processor" / "handler.py",
    "event_schema.py": LAMBDAS / "stream_processor" / "event_schema.py",
}
"""The consumer's asset: its handler, the Kinesis processor it shares the state logic with, the event schema."""
CONSUMER_ACTIONS = {
    "cluster": ("kafka-cluster:Connect", "kafka-cluster:DescribeClusterDynamicConfiguration"),
    "topic": ("kafka-cluster:DescribeTopic", "kafka-cluster:ReadData"),
    "group": ("kafka-cluster:DescribeGroup", "kafka-cluster:AlterGroup"),
}
"""What Lambda's MSK poller calls with the function's role under IAM authentication (Lambda developer guide, MSK
event source permissions). CDK's event source attaches AWSLambdaMSKExecutionRole for the rest: the cluster's
description and bootstrap brokers, and the network checks and interfaces of the poller."""
MIN_POLLERS = 1
MAX_POLLERS = 10


class KafkaConsumer(Construct):
    """`consumer` (the EventFunction), its event sources in `mappings` by topic, and `failure_queue`."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        consumer_config: KafkaConsumerConfig,
        cluster_name: str,
        cluster_arn: str,
        cluster_security_group: ec2.ISecurityGroup,
        state_table: dynamodb.ITableV2,
        queue_key: kms.IKey,
        logs_key: kms.IKey,
        vpc: ec2.IVpc,
        subnets: Sequence[ec2.ISubnet],
        security_group: ec2.ISecurityGroup,
        log_retention_days: int,
        metrics_namespace: str,
        removal_policy: cdk.RemovalPolicy,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        self.failure_queue = encrypted_queue(
            self, "Failures", encryption_key=queue_key, retention=FAILURE_RETENTION, removal_policy=removal_policy
        )
        acknowledge(
            self.failure_queue,
            "AwsSolutions-SQS3",
            "This queue is the Kafka mappings' on-failure destination (a dead-letter queue in all but name).",
        )
        self.mappings = {
            topic: sources.ManagedKafkaEventSource(
                cluster_arn=cluster_arn,
                topic=topic,
                consumer_group_id=f"{cluster_name}-lambda-{topic}",
                starting_position=lambda_.StartingPosition[consumer_config.starting_position],
                batch_size=consumer_config.batch_size,
                max_batching_window=cdk.Duration.seconds(consumer_config.batching_window_seconds),
                provisioned_poller_config=sources.ProvisionedPollerConfig(
                    minimum_pollers=MIN_POLLERS, maximum_pollers=MAX_POLLERS
                ),
                bisect_batch_on_error=True,
                retry_attempts=3,
                on_failure=sources.SqsDlq(self.failure_queue),
            )
            for topic in consumer_config.topics
        }
        first, *others = self.mappings.values()
        self.consumer = EventFunction(
            self,
            "Consumer",
            code=lambda_.Code.from_asset(staged_modules(CODE_FILES), exclude=["__pycache__"]),  # tests import from it
            event_source=first,
            vpc=vpc,
            subnets=subnets,
            security_group=security_group,
            reserved_concurrency=consumer_config.reserved_concurrency,
            logs_key=logs_key,
            log_retention_days=log_retention_days,
            removal_policy=removal_policy,
            environment={"STATE_TABLE": state_table.table_name, "METRICS_NAMESPACE": metrics_namespace},
        )
        function = self.consumer.function
        for source in others:
            function.add_event_source(source)
        by_name = {
            part: stack.format_arn(service="kafka", resource=part, resource_name=f"{cluster_name}/*")
            for part in ("topic", "group")
        }
        function.add_to_role_policy(
            iam.PolicyStatement(actions=list(CONSUMER_ACTIONS["cluster"]), resources=[cluster_arn])
        )
        for part, arn in by_name.items():
            function.add_to_role_policy(iam.PolicyStatement(actions=list(CONSUMER_ACTIONS[part]), resources=[arn]))
        state_table.grant_write_data(function)
        # The pollers use the cluster's own group: it admits itself on the IAM port, and lets itself reach it.
        group_id = cluster_security_group.security_group_id
        ec2.CfnSecurityGroupIngress(
            self,
            "PollerIngress",
            group_id=group_id,
            ip_protocol="tcp",
            from_port=KAFKA_IAM_PORT,
            to_port=KAFKA_IAM_PORT,
            source_security_group_id=group_id,
            description="Lambda's MSK pollers (the cluster's group) to the brokers (TLS + IAM)",
        )
        ec2.CfnSecurityGroupEgress(
            self,
            "PollerEgress",
            group_id=group_id,
            ip_protocol="tcp",
            from_port=KAFKA_IAM_PORT,
            to_port=KAFKA_IAM_PORT,
            destination_security_group_id=group_id,
            description="Lambda's MSK pollers (the cluster's group) to the brokers (TLS + IAM)",
        )
        acknowledge_all(
            function,
            [
                ("CKV_AWS_173", "The environment holds the state table's name and the metrics namespace, no secret; "
                 "Lambda encrypts it at rest with its service key."),
                ("AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaMSKExecution"
                 "Role]", "AWS's policy for an MSK event source: describe the cluster, its brokers and the VPC, and "
                 "the poller's network interfaces."),
                *(
                    (f"AwsSolutions-IAM5[{finding}]", "CDK's table write grant: data keys for the state table's key.")
                    for finding in KMS_GRANT_WILDCARDS
                ),
                *(
                    (f"AwsSolutions-IAM5[Resource::{arn}]",
                     f"Every {part} of this cluster by its name: the mappings name the topics, Lambda the groups.")
                    for part, arn in by_name.items()
                ),
            ],
        )  # fmt: skip
