"""The data stack's counterpart in the secondary region: the replicas' key and the buckets the data
stack replicates into."""

from __future__ import annotations

from constructs import Construct
from constructs.common.encryption_key import EncryptionKey
from constructs.common.secure_bucket import SecureBucket
from constructs.data.data_buckets import construct_name

from environments.schema.stage import StageConfig
from stacks.base import PlatformStack


def replica_bucket_name(config: StageConfig, bucket: str) -> str:
    """The fixed name of a bucket's replica: the primary region's replication rules name it directly. S3 names
    are global and a retained replica keeps its name, so the name carries the account and the region."""
    return f"{config.tags.project}-{config.name}-{bucket.replace('_', '-')}-{config.account}-{config.dr.region}"


class DataReplicaStack(PlatformStack):
    """`replica_key` (table and bucket replicas in this, the secondary, region) and `replica_buckets` by
    the name of the bucket they mirror."""

    def __init__(self, scope: Construct, construct_id: str, *, config: StageConfig) -> None:
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
        buckets = config.data.buckets
        self.access_logs = self.own_access_log_bucket(versioned=True)
        self.replica_buckets = {
            name: SecureBucket(
                self,
                construct_name(name),
                encryption_key=self.replica_key,
                access_log_bucket=self.access_logs,
                versioned=True,
                noncurrent_version_expiration_days=buckets.noncurrent_version_expiration_days,
                removal_policy=self.stateful_removal_policy,
                bucket_name=replica_bucket_name(config, name),
                stays_in_region_because="This is the secondary region's copy of the primary bucket, which "
                "replicates into it; after a failover the stage's config moves the primary here.",
            ).bucket
            for name in config.dr.replicate_buckets
        }
