"""The data stack's counterpart in each secondary region: the replicas' key and the buckets the data
stack replicates into, with their sources' lifecycle."""

from __future__ import annotations

from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_s3 as s3
from constructs import Construct
from constructs.common.acknowledgments import acknowledge
from constructs.common.encryption_key import EncryptionKey
from constructs.common.secure_bucket import SecureBucket
from constructs.data.backup_plans import backup_vault
from constructs.data.data_buckets import construct_name, lifecycle
from constructs.data.shared_file_system import SharedFileSystem

from environments.schema.regions import replica_bucket_name
from environments.schema.stage import StageConfig
from stacks.base import PlatformStack
from stacks.network import NetworkStack


class DataReplicaStack(PlatformStack):
    """`replica_key` (table, bucket and secret replicas in this, a secondary, region), `replica_buckets` by
    the name of the bucket they mirror, each with that bucket's lifecycle (`lifecycle`), `backup_vault`
    (copies of the primary's recovery points, locked like the primary's vault) and, in the region that holds
    it, `file_system` (the shared-models file system's replica)."""

    def __init__(
        self, scope: Construct, construct_id: str, *, config: StageConfig, network: NetworkStack, models: bool
    ) -> None:
        """`models`: this region holds the replica of the shared-models file system (`file_system`)."""
        super().__init__(
            scope, construct_id, config=config, description=f"{config.name}: replica keys ({config.region})"
        )
        self.replica_key = EncryptionKey(
            self,
            "ReplicaKey",
            alias=f"alias/{config.tags.project}/{config.name}/dr-replicas",
            description=f"{config.name}: DynamoDB replicas in {config.region}",
            deletion_window_days=config.kms.deletion_window_days,
            removal_policy=self.stateful_removal_policy,
        ).key
        self.access_logs = self.own_access_log_bucket(versioned=True)
        self.replica_buckets = {name: self._replica(name) for name in config.recovery.replicate_buckets}
        self.file_system = (
            SharedFileSystem(
                self,
                "SharedModels",
                efs_config=config.data.efs,
                vpc=network.vpc,
                subnets=ec2.SubnetSelection(subnets=network.data_subnets.subnets),
                security_group=network.security_groups.efs,
                encryption_key=self.replica_key,
                removal_policy=self.stateful_removal_policy,
                replica=True,
            )
            if models
            else None
        )
        if self.file_system:
            acknowledge(
                self.file_system.file_system,
                "NIST.800.53.R5-EFSInBackupPlan",
                "A read-only replication copy of the primary's file system, whose weekly AWS Backup recovery "
                "points are copied into this region's BackupCopies vault.",
            )
        # The primary's backup plans copy every recovery point here, so this region restores on its own.
        self.backup_vault = backup_vault(
            self,
            "BackupCopies",
            backup_config=config.data.backup,
            encryption_key=self.replica_key,
            removal_policy=self.stateful_removal_policy,
        )

    def _replica(self, name: str) -> s3.IBucket:
        buckets = self.config.data.buckets
        rules, tiering = lifecycle(name, buckets)
        return SecureBucket(
            self,
            construct_name(name),
            encryption_key=self.replica_key,
            access_log_bucket=self.access_logs,
            versioned=True,
            noncurrent_version_expiration_days=buckets.noncurrent_version_expiration_days,
            removal_policy=self.stateful_removal_policy,
            bucket_name=replica_bucket_name(self.config, name, self.config.region),
            lifecycle_rules=rules,
            intelligent_tiering=tiering,
            stays_in_region_because="This is a secondary region's copy of the primary bucket, which replicates "
            "into it; after a failover the stage's config moves the primary here.",
        ).bucket
