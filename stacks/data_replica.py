"""The data stack's counterpart in each secondary region, built before it: the region's own keys, the
buckets the data stack replicates into (with their sources' lifecycle), the vault its backups are copied
to, the models file system (the primary's replica in the first secondary), and the region's own cache and
messaging, which hold no state worth replicating (the cache is rebuilt from the stores; a region's queues
carry its own work)."""

from __future__ import annotations

from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_s3 as s3
from constructs import Construct
from constructs.common.acknowledgments import acknowledge
from constructs.common.secure_bucket import SecureBucket
from constructs.data.backup_plans import backup_vault
from constructs.data.data_buckets import allow_cloudfront_reads, construct_name, lifecycle
from constructs.data.data_keys import DataKeys
from constructs.data.messaging import Messaging
from constructs.data.shared_file_system import SharedFileSystem
from constructs.data.valkey_cache import ValkeyCache

from environments.schema.regions import images_failover_region, replica_bucket_name
from environments.schema.stage import StageConfig
from stacks.base import PlatformStack
from stacks.network import NetworkStack


class DataReplicaStack(PlatformStack):
    """`keys` (the region's DataKeys: its replicas, cache, queues, cluster and logs), `replica_buckets` by
    the name of the bucket they mirror, each with that bucket's lifecycle (`lifecycle`) and, where
    `serves_images`, readable by CloudFront (the images path's fallback origin), `backup_vault`
    (copies of the primary's recovery points, locked like the primary's vault), `cache` and `messaging` (the
    region's own) and `file_system` (the models file system GPU pods mount here)."""

    def __init__(self, scope: Construct, construct_id: str, *, config: StageConfig, network: NetworkStack) -> None:
        super().__init__(
            scope,
            construct_id,
            config=config,
            description=f"{config.name}: keys, replicas, backup copies, Valkey, messaging ({config.region})",
        )
        self.keys = stage_keys(self)
        self.cache = stage_cache(self, network, self.keys)
        self.messaging = stage_messaging(self, self.keys)
        self.access_logs = self.own_access_log_bucket(versioned=True)
        self.replica_buckets = {name: self._replica(name) for name in config.recovery.replicate_buckets}
        # CloudFront's images path falls back to this region's images replica (when it is the one chosen), read
        # through origin access control like the primary's: granted here, as the edge stack deploys after this.
        failover = images_failover_region(config)
        self.serves_images = failover is not None and failover.region == config.region
        """Whether CloudFront's images origin group falls back to this region's images replica."""
        if self.serves_images:
            allow_cloudfront_reads(self.replica_buckets["images"], self.keys.encryption_key("storage"))
        # Every region's GPU pods mount the models file system: the failover region holds the replica of the
        # primary's (EFS replicates to one destination), any other its own, filled from the models bucket.
        failover_region = config.failover_region
        models = failover_region is not None and failover_region.region == config.region
        self.file_system = SharedFileSystem(
            self,
            "SharedModels",
            efs_config=config.data.efs,
            vpc=network.vpc,
            subnets=ec2.SubnetSelection(subnets=network.data_subnets.subnets),
            security_group=network.security_groups.efs,
            encryption_key=self.keys.storage,
            removal_policy=self.stateful_removal_policy,
            replica=models,
        )
        self.models_replica = models
        """Whether `file_system` is the replication destination of the primary's (else this region's own)."""
        backup_coverage = (
            "A read-only replication copy of the primary's file system, whose weekly AWS Backup recovery points "
            "are copied into this region's BackupCopies vault."
            if models
            else "A cache of the models bucket's replica in this region (GPU workers load weights from the "
            "bucket, which is versioned and replicated); nothing here exists only on this file system."
        )
        acknowledge(self.file_system.file_system, "NIST.800.53.R5-EFSInBackupPlan", backup_coverage)
        # The primary's backup plans copy every recovery point here, so this region restores on its own.
        self.backup_vault = backup_vault(
            self,
            "BackupCopies",
            backup_config=config.data.backup,
            encryption_key=self.keys.storage,
            removal_policy=self.stateful_removal_policy,
        )

    def _replica(self, name: str) -> s3.IBucket:
        buckets = self.config.data.buckets
        rules, tiering = lifecycle(name, buckets)
        return SecureBucket(
            self,
            construct_name(name),
            encryption_key=self.keys.storage,
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


def stage_keys(stack: PlatformStack) -> DataKeys:
    """The stage's data keys in `stack`'s region (its key strategy, aliases under `<project>/<stage>`)."""
    config = stack.config
    return DataKeys(
        stack,
        "Keys",
        strategy=config.kms.key_strategy,
        alias_prefix=f"alias/{config.tags.project}/{config.name}",
        deletion_window_days=config.kms.deletion_window_days,
        removal_policy=stack.stateful_removal_policy,
    )


def stage_cache(stack: PlatformStack, network: NetworkStack, keys: DataKeys) -> ValkeyCache:
    """The region's Valkey in its data tier, with its own AUTH token under the stage's one secret name."""
    config = stack.config
    return ValkeyCache(
        stack,
        "Cache",
        cache=config.data.cache,
        subnets=network.data_subnets,
        security_group=network.security_groups.cache,
        cache_key=keys.cache,
        secrets_key=keys.secrets,
        logs_key=keys.logs,
        secret_name=f"/{config.tags.project}/{config.name}/cache-auth-token",
        removal_policy=stack.stateful_removal_policy,
        snapshot_removal_policy=stack.snapshot_removal_policy,
    )


def stage_messaging(stack: PlatformStack, keys: DataKeys) -> Messaging:
    """The region's topics, queues and event bus."""
    config = stack.config
    return Messaging(
        stack,
        "Messaging",
        messaging=config.data.messaging,
        encryption_key=keys.messaging,
        event_bus_name=f"{config.tags.project}-{config.name}",
        removal_policy=stack.stateful_removal_policy,
    )
