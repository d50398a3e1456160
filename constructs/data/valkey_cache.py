"""ElastiCache for Valkey (the current engine for the seeds' Redis): a replication group with TLS, AUTH,
KMS at rest, snapshots and logs. The seeds' Redis Sentinel becomes Multi-AZ automatic failover; seed 004's
cluster mode shards the key space (config `cluster_mode`)."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_elasticache as elasticache
from aws_cdk import aws_kms as kms
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct
from constructs.common.acknowledgments import acknowledge
from constructs.common.encrypted_log_group import EncryptedLogGroup

from environments.schema.data import CacheConfig

PORT = 6379
LOG_TYPES = ("slow-log", "engine-log")
CLUSTER_MODE_PARAMETERS = "default.valkey{major}.cluster.on"
"""Cluster mode needs a parameter group with cluster-enabled yes: the engine's default one for it."""


def member_suffixes(cache: CacheConfig) -> list[str]:
    """What ElastiCache appends to the replication group's id to name each node's member cluster (its
    CacheClusterId): `001`... with cluster mode off, `0001-001`... (shard, then node) with it on."""
    if cache.cluster_mode is None:
        return [f"{node:03d}" for node in range(1, cache.nodes_per_shard + 1)]
    return [
        f"{shard:04d}-{node:03d}"
        for shard in range(1, cache.cluster_mode.shards + 1)
        for node in range(1, cache.nodes_per_shard + 1)
    ]


class ValkeyCache(Construct):
    """`replication_group`, its `primary_endpoint` (the configuration endpoint with cluster mode on) /
    `reader_endpoint` (None with cluster mode on), `member_suffixes` (its nodes' cluster ids are
    `<group>-<suffix>`, what ElastiCache's metrics are published by), and `auth_secret` (the AUTH token,
    generated in Secrets Manager and resolved by CloudFormation: it never appears in a template)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        cache: CacheConfig,
        subnets: ec2.SelectedSubnets,
        security_group: ec2.ISecurityGroup,
        cache_key: kms.IKey,
        secrets_key: kms.IKey,
        logs_key: kms.IKey,
        secret_name: str,
        removal_policy: cdk.RemovalPolicy,
        snapshot_removal_policy: cdk.RemovalPolicy,
    ) -> None:
        super().__init__(scope, construct_id)
        self.auth_secret = secretsmanager.Secret(
            self,
            "AuthToken",
            secret_name=secret_name,
            description="Valkey AUTH token",
            encryption_key=secrets_key,
            # AUTH tokens are 16-128 printable characters without @, " or /.
            generate_secret_string=secretsmanager.SecretStringGenerator(password_length=64, exclude_punctuation=True),
            removal_policy=removal_policy,
        )
        acknowledge(
            self.auth_secret,
            "AwsSolutions-SMG4",
            "The AUTH token is rotated with ElastiCache's ROTATE strategy (both tokens valid during the switch), "
            "which Secrets Manager rotation cannot drive; see README 'Rotating the cache AUTH token'.",
        )

        subnet_group = elasticache.CfnSubnetGroup(
            self, "SubnetGroup", description="Valkey: isolated data subnets", subnet_ids=subnets.subnet_ids
        )
        self.log_groups = {
            log_type: EncryptedLogGroup(
                self,
                f"{log_type.title().replace('-', '')}",
                encryption_key=logs_key,
                retention_days=cache.log_retention_days,
                removal_policy=removal_policy,
            ).log_group
            for log_type in LOG_TYPES
        }
        sharded = cache.cluster_mode
        self.replication_group = elasticache.CfnReplicationGroup(
            self,
            "ReplicationGroup",
            replication_group_description="Platform cache (sessions, queues, rate limits)",
            engine="valkey",
            engine_version=cache.engine_version,
            cache_node_type=cache.node_type,
            num_cache_clusters=cache.nodes,
            cluster_mode="enabled" if sharded else None,
            num_node_groups=sharded.shards if sharded else None,
            replicas_per_node_group=sharded.replicas_per_shard if sharded else None,
            cache_parameter_group_name=CLUSTER_MODE_PARAMETERS.format(major=cache.engine_version.split(".")[0])
            if sharded
            else None,
            automatic_failover_enabled=cache.automatic_failover,
            multi_az_enabled=cache.automatic_failover,
            port=PORT,
            cache_subnet_group_name=subnet_group.ref,
            security_group_ids=[security_group.security_group_id],
            at_rest_encryption_enabled=True,
            kms_key_id=cache_key.key_arn,
            transit_encryption_enabled=True,
            transit_encryption_mode="required",
            auth_token=self.auth_secret.secret_value.unsafe_unwrap(),  # a {{resolve:...}} reference, not a value
            snapshot_retention_limit=cache.snapshot_retention_days,
            snapshot_window="03:00-04:00",
            preferred_maintenance_window="sun:05:00-sun:06:00",
            auto_minor_version_upgrade=True,
            log_delivery_configurations=[
                elasticache.CfnReplicationGroup.LogDeliveryConfigurationRequestProperty(
                    destination_type="cloudwatch-logs",
                    log_format="json",
                    log_type=log_type,
                    destination_details=elasticache.CfnReplicationGroup.DestinationDetailsProperty(
                        cloud_watch_logs_details=elasticache.CfnReplicationGroup.CloudWatchLogsDestinationDetailsProperty(
                            log_group=log_group.log_group_name
                        )
                    ),
                )
                for log_type, log_group in self.log_groups.items()
            ],
        )
        self.replication_group.apply_removal_policy(snapshot_removal_policy)
        group = self.replication_group
        self.primary_endpoint = (
            group.attr_configuration_end_point_address if sharded else group.attr_primary_end_point_address
        )
        self.reader_endpoint = None if sharded else group.attr_reader_end_point_address
        self.member_suffixes = member_suffixes(cache)
        self.port = PORT
        acknowledge(
            self.replication_group,
            "AwsSolutions-AEC5",
            "Valkey keeps its standard port 6379 (seed 002's security-group chain): only the cache group's "
            "sources reach it, so another port adds no protection.",
        )
        acknowledge(
            self.replication_group,
            "NIST.800.53.R5-ElastiCacheRedisClusterAutomaticBackup",
            "Snapshots are kept per config (seed 002: 7 days): the cache holds sessions and queues that "
            "rebuild from PostgreSQL and DynamoDB, which are the systems of record with 30+ days of backups.",
        )
        if not cache.automatic_failover:
            acknowledge(
                self.replication_group,
                "AwsSolutions-AEC4",
                "A single node without Multi-AZ by config in this non-production stage (seed 002: dev standalone).",
            )
