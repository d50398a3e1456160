"""The `kms:` and `data:` sections: keys, PostgreSQL, Valkey, buckets, EFS, messaging and AWS Backup
(constructs/data/), and the checks across their fields (engine blocks, bounds, prod rules)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import Field

from environments.schema.base import ConfigModel, RetentionDays, YamlList

if TYPE_CHECKING:
    from environments.schema.stage import StageConfig


class KmsConfig(ConfigModel):
    """The stage's customer-managed keys: one shared key (dev) or one per purpose (prod), seed 001."""

    key_strategy: Literal["shared", "per_service"]
    deletion_window_days: int = Field(ge=7, le=30)


class AuroraConfig(ConfigModel):
    """Aurora Serverless v2: a writer and `readers` in other AZs, scaling between the ACU bounds."""

    min_capacity_acu: float = Field(ge=0, le=256, multiple_of=0.5, description="0 pauses an idle cluster")
    max_capacity_acu: float = Field(ge=1, le=256, multiple_of=0.5)
    readers: int = Field(ge=0, le=15)


class RdsConfig(ConfigModel):
    """A provisioned RDS for PostgreSQL instance (seed 001)."""

    instance_class: str = Field(pattern=r"^[a-z0-9]+\.[a-z0-9]+$", description="e.g. r6g.large, without 'db.'")
    multi_az: bool
    allocated_storage_gib: int = Field(ge=20, le=65536)
    max_allocated_storage_gib: int = Field(ge=20, le=65536)


class DatabaseConfig(ConfigModel):
    """PostgreSQL behind an RDS Proxy: Aurora Serverless v2 or RDS, with the block for that engine."""

    engine: Literal["aurora-serverless-v2", "rds"]
    engine_version: str = Field(pattern=r"^1[78]\.\d+$", description="PostgreSQL 17 or 18 minor, e.g. 17.6")
    database_name: str = Field(pattern=r"^[a-z][a-z0-9_]{0,62}$")
    backup_retention_days: int = Field(ge=1, le=35)
    performance_insights: bool
    monitoring_interval_seconds: Literal[0, 1, 5, 10, 15, 30, 60]
    log_retention_days: RetentionDays
    aurora: AuroraConfig | None = None
    rds: RdsConfig | None = None


class CacheConfig(ConfigModel):
    """ElastiCache for Valkey replication group (seeds 001, 002)."""

    engine_version: str = Field(pattern=r"^[78]\.\d+$")
    node_type: str = Field(pattern=r"^cache\.[a-z0-9]+\.[a-z0-9]+$")
    nodes: int = Field(ge=1, le=6, description="primary + replicas")
    automatic_failover: bool
    snapshot_retention_days: int = Field(ge=0, le=35)
    log_retention_days: RetentionDays


StorageClass = Literal["STANDARD_IA", "ONEZONE_IA", "INTELLIGENT_TIERING", "GLACIER_IR", "GLACIER", "DEEP_ARCHIVE"]


class TransitionConfig(ConfigModel):
    """Move objects to `storage_class` once they are `after_days` old."""

    after_days: int = Field(ge=0)
    storage_class: StorageClass


Transitions = Annotated[tuple[TransitionConfig, ...], YamlList]


class ObjectLockConfig(ConfigModel):
    """Default Object Lock retention of the audit-logs bucket."""

    mode: Literal["GOVERNANCE", "COMPLIANCE"]
    retention_days: int = Field(ge=1, le=36500)


class BucketsConfig(ConfigModel):
    """The data buckets of seeds 001 and 002 and how long each keeps what."""

    versioned: bool = Field(description="every bucket; knowledge-documents and audit-logs always are")
    noncurrent_version_expiration_days: int = Field(ge=1)
    access_log_retention_days: int = Field(ge=1)
    user_uploads_expiration_days: int = Field(ge=1)
    backups_transitions: Transitions
    images_transitions: Transitions
    audit_logs_object_lock: ObjectLockConfig


class EfsConfig(ConfigModel):
    """The shared-models file system (seed 002)."""

    transition_to_ia_days: Literal[1, 7, 14, 30, 60, 90, 180, 270, 365]
    models_path: str = Field(pattern=r"^/[A-Za-z0-9_./-]+$")


class MessagingConfig(ConfigModel):
    """SNS topics with SQS subscribers and DLQs, a FIFO queue, an EventBridge bus (seeds 000, 001)."""

    queue_retention_days: int = Field(ge=1, le=14)
    dlq_retention_days: int = Field(ge=1, le=14)
    max_receive_count: int = Field(ge=1, le=1000)
    event_archive_retention_days: int = Field(ge=1)


class BackupConfig(ConfigModel):
    """AWS Backup (seed 002): daily database and table backups, weekly EFS backups."""

    daily_retention_days: int = Field(ge=1)
    efs_weekly_retention_days: int = Field(ge=1)
    vault_lock: bool


class DataConfig(ConfigModel):
    """Everything the data stack sizes per stage."""

    database: DatabaseConfig
    cache: CacheConfig
    buckets: BucketsConfig
    efs: EfsConfig
    messaging: MessagingConfig
    backup: BackupConfig


def data_problems(config: StageConfig) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    data = config.data
    database = data.database
    engine_block = "aurora" if database.engine == "aurora-serverless-v2" else "rds"
    for block in ("aurora", "rds"):
        present = getattr(database, block) is not None
        if block == engine_block and not present:
            problems.append((f"data.database.{block}", f"required when engine is {database.engine}"))
        if block != engine_block and present:
            problems.append((f"data.database.{block}", f"only allowed when engine is {block}"))
    aurora, rds = database.aurora, database.rds
    if aurora and aurora.min_capacity_acu > aurora.max_capacity_acu:
        problems.append(
            (
                "data.database.aurora.min_capacity_acu",
                f"{aurora.min_capacity_acu} is above max_capacity_acu {aurora.max_capacity_acu}",
            )
        )
    if rds and rds.allocated_storage_gib > rds.max_allocated_storage_gib:
        problems.append(
            (
                "data.database.rds.allocated_storage_gib",
                f"{rds.allocated_storage_gib} is above max_allocated_storage_gib {rds.max_allocated_storage_gib}",
            )
        )

    cache = data.cache
    if cache.automatic_failover and cache.nodes < 2:
        problems.append(("data.cache.automatic_failover", f"needs at least 2 nodes, got {cache.nodes}"))

    for name in ("backups_transitions", "images_transitions"):
        days = [t.after_days for t in getattr(data.buckets, name)]
        if days != sorted(set(days)):
            problems.append((f"data.buckets.{name}", "after_days must strictly increase"))
        for index, transition in enumerate(getattr(data.buckets, name)):
            if transition.storage_class in ("STANDARD_IA", "ONEZONE_IA") and transition.after_days < 30:
                problems.append(
                    (f"data.buckets.{name}.{index}.after_days", f"S3 moves objects to {transition.storage_class} "
                     "only after 30 days")
                )  # fmt: skip

    if data.messaging.dlq_retention_days < data.messaging.queue_retention_days:
        problems.append(
            ("data.messaging.dlq_retention_days", "must be at least queue_retention_days, or failed messages expire")
        )

    if config.is_production:
        if aurora and aurora.min_capacity_acu == 0:
            problems.append(("data.database.aurora.min_capacity_acu", "prod may not scale to zero (cold starts)"))
        if aurora and aurora.readers < 1:
            problems.append(("data.database.aurora.readers", "prod needs a reader in a second AZ for failover"))
        if rds and not rds.multi_az:
            problems.append(("data.database.rds.multi_az", "prod must be Multi-AZ"))
        if not (cache.automatic_failover and cache.nodes >= 2):
            problems.append(("data.cache.automatic_failover", "prod needs Multi-AZ failover with 2 or more nodes"))
        if not data.buckets.versioned:
            problems.append(("data.buckets.versioned", "prod buckets must be versioned"))
        if config.kms.key_strategy != "per_service":
            problems.append(("kms.key_strategy", "prod uses one key per service (seed 001)"))
    return problems
