"""Kafka on MSK (seeds 000, 004): provisioned brokers across the AZs or serverless, TLS everywhere, IAM
client authentication, KMS at rest, broker logs to CloudWatch; reachable only through the `kafka` group."""

from __future__ import annotations

from collections.abc import Sequence

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_msk as msk
from constructs import Construct
from constructs.common.acknowledgments import acknowledge_all
from constructs.common.encrypted_log_group import EncryptedLogGroup
from constructs.common.managed_policy_role import grant_policy

from environments.schema.analytics import MskConfig

CLIENT_ACTIONS = {
    "cluster": ("kafka-cluster:Connect", "kafka-cluster:DescribeCluster", "kafka-cluster:WriteDataIdempotently"),
    "topic": ("kafka-cluster:DescribeTopic", "kafka-cluster:CreateTopic", "kafka-cluster:WriteData",
              "kafka-cluster:ReadData"),
    "group": ("kafka-cluster:DescribeGroup", "kafka-cluster:AlterGroup"),
}  # fmt: skip
"""What an IAM-authenticated producer and consumer calls, by resource (MSK developer guide, IAM access control:
a client connects and describes the cluster, writes idempotently, creates, describes, writes and reads its
topics, and joins consumer groups)."""
IAM_AUTH = msk.CfnCluster.ClientAuthenticationProperty(
    sasl=msk.CfnCluster.SaslProperty(iam=msk.CfnCluster.IamProperty(enabled=True)),
    unauthenticated=msk.CfnCluster.UnauthenticatedProperty(enabled=False),
)


class KafkaCluster(Construct):
    """`cluster` (provisioned, `msk.CfnCluster`) or `serverless_cluster`; `cluster_arn` for either (None when the
    config turns Kafka off)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        msk_config: MskConfig,
        name: str,
        subnets: Sequence[ec2.ISubnet],
        security_group: ec2.ISecurityGroup,
        encryption_key: kms.IKey,
        logs_key: kms.IKey,
        log_retention_days: int,
        removal_policy: cdk.RemovalPolicy,
    ) -> None:
        super().__init__(scope, construct_id)
        subnet_ids = [subnet.subnet_id for subnet in subnets]
        self._name = name
        self.cluster_arn: str | None = None
        self.cluster: msk.CfnCluster | None = None
        self.serverless_cluster: msk.CfnServerlessCluster | None = None
        if msk_config.mode == "provisioned":
            broker_logs = EncryptedLogGroup(
                self,
                "BrokerLogs",
                encryption_key=logs_key,
                retention_days=log_retention_days,
                removal_policy=removal_policy,
            ).log_group
            self.cluster = msk.CfnCluster(
                self,
                "Cluster",
                cluster_name=name,
                kafka_version=msk_config.kafka_version,
                number_of_broker_nodes=msk_config.brokers,
                broker_node_group_info=msk.CfnCluster.BrokerNodeGroupInfoProperty(
                    instance_type=msk_config.broker_instance_type,
                    client_subnets=subnet_ids,
                    security_groups=[security_group.security_group_id],
                    storage_info=msk.CfnCluster.StorageInfoProperty(
                        ebs_storage_info=msk.CfnCluster.EBSStorageInfoProperty(volume_size=msk_config.volume_gib)
                    ),
                ),
                encryption_info=msk.CfnCluster.EncryptionInfoProperty(
                    encryption_at_rest=msk.CfnCluster.EncryptionAtRestProperty(
                        data_volume_kms_key_id=encryption_key.key_arn
                    ),
                    encryption_in_transit=msk.CfnCluster.EncryptionInTransitProperty(
                        client_broker="TLS", in_cluster=True
                    ),
                ),
                client_authentication=IAM_AUTH,
                enhanced_monitoring="PER_BROKER",
                logging_info=msk.CfnCluster.LoggingInfoProperty(
                    broker_logs=msk.CfnCluster.BrokerLogsProperty(
                        cloud_watch_logs=msk.CfnCluster.CloudWatchLogsProperty(
                            enabled=True, log_group=broker_logs.log_group_name
                        )
                    )
                ),
            )
            self.cluster.apply_removal_policy(removal_policy)
            self.cluster_arn = self.cluster.attr_arn
        elif msk_config.mode == "serverless":
            # Serverless MSK always encrypts at rest with an AWS-managed key and in transit with TLS.
            self.serverless_cluster = msk.CfnServerlessCluster(
                self,
                "ServerlessCluster",
                cluster_name=name,
                client_authentication=msk.CfnServerlessCluster.ClientAuthenticationProperty(
                    sasl=msk.CfnServerlessCluster.SaslProperty(iam=msk.CfnServerlessCluster.IamProperty(enabled=True))
                ),
                vpc_configs=[
                    msk.CfnServerlessCluster.VpcConfigProperty(
                        subnet_ids=subnet_ids, security_groups=[security_group.security_group_id]
                    )
                ],
            )
            self.serverless_cluster.apply_removal_policy(removal_policy)
            self.cluster_arn = self.serverless_cluster.attr_arn

    def grant_clients(self, role: iam.IRole, *, shared: iam.ManagedPolicy | None = None) -> None:
        """Let `role` produce and consume with IAM authentication: the cluster, and its topics and consumer groups
        by the cluster's name (unique in the account and region; the UUID part of their ARNs is MSK's); in `shared`
        when given (grant_policy)."""
        if self.cluster_arn is None:
            return
        stack = cdk.Stack.of(self)
        by_name = {
            part: stack.format_arn(service="kafka", resource=part, resource_name=f"{self._name}/*")
            for part in ("topic", "group")
        }
        policy = grant_policy(
            self,
            "ClientPolicy",
            role=role,
            shared=shared,
            statements=[
                iam.PolicyStatement(
                    sid="Cluster", actions=list(CLIENT_ACTIONS["cluster"]), resources=[self.cluster_arn]
                ),
                *(
                    iam.PolicyStatement(sid=f"{part.title()}s", actions=list(CLIENT_ACTIONS[part]), resources=[arn])
                    for part, arn in by_name.items()
                ),
            ],
        )
        acknowledge_all(
            policy,
            [
                (f"AwsSolutions-IAM5[Resource::{arn}]", f"Every {part} of this cluster: the applications name them.")
                for part, arn in by_name.items()
            ],
        )
