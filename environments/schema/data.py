"""The `kms:` and `data:` sections: keys, PostgreSQL, Valkey, buckets, EFS, messaging, AWS Backup, and the
toggled stores (Neptune, Timestream for InfluxDB, DAX) (constructs/data/), and the checks across their fields
(engine blocks, bounds, prod rules)."""

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


class CacheClusterModeConfig(ConfigModel):
    """Valkey cluster mode (seeds 000, 004): the key space split over `shards`, each a primary with
    `replicas_per_shard` replicas in other AZs."""

    shards: int = Field(ge=1, le=500)
    replicas_per_shard: int = Field(ge=0, le=5)


class CacheConfig(ConfigModel):
    """ElastiCache for Valkey replication group (seeds 001, 002): `nodes` with cluster mode off, or
    `cluster_mode` (seed 004), one of the two."""

    engine_version: str = Field(pattern=r"^[78]\.\d+$")
    node_type: str = Field(pattern=r"^cache\.[a-z0-9]+\.[a-z0-9]+$")
    nodes: int | None = Field(default=None, ge=1, le=6, description="primary + replicas, cluster mode off")
    cluster_mode: CacheClusterModeConfig | None = None
    automatic_failover: bool
    snapshot_retention_days: int = Field(ge=0, le=35)
    log_retention_days: RetentionDays

    @property
    def nodes_per_shard(self) -> int:
        """The primary and its replicas: every node with cluster mode off, one shard's with it on."""
        if self.cluster_mode:
            return 1 + self.cluster_mode.replicas_per_shard
        return self.nodes or 0


class GraphConfig(ConfigModel):
    """Amazon Neptune (seed 000: topology and dependencies): `mode` off, serverless (NCUs) or provisioned
    (an instance class), with `instances` (a writer and readers in other AZs)."""

    mode: Literal["off", "serverless", "provisioned"]
    engine_version: str | None = Field(default=None, pattern=r"^1\.[3-9]\.\d+\.\d+$", description="e.g. 1.4.5.0")
    instance_class: str | None = Field(default=None, pattern=r"^db\.[a-z0-9]+\.[a-z0-9]+$")
    min_capacity_ncu: float | None = Field(default=None, ge=1, le=128, multiple_of=0.5)
    max_capacity_ncu: float | None = Field(default=None, ge=2.5, le=128, multiple_of=0.5)
    instances: int | None = Field(default=None, ge=1, le=16)
    backup_retention_days: int | None = Field(default=None, ge=1, le=35)
    log_retention_days: RetentionDays | None = None


InfluxInstanceType = Literal[
    "db.influx.medium", "db.influx.large", "db.influx.xlarge", "db.influx.2xlarge", "db.influx.4xlarge",
    "db.influx.8xlarge", "db.influx.12xlarge", "db.influx.16xlarge", "db.influx.24xlarge",
]  # fmt: skip


class TimeSeriesConfig(ConfigModel):
    """Timestream for InfluxDB (seed 000's time series; LiveAnalytics is closed to new customers)."""

    enabled: bool
    instance_type: InfluxInstanceType | None = None
    storage_type: Literal["InfluxIOIncludedT1", "InfluxIOIncludedT2", "InfluxIOIncludedT3"] | None = None
    allocated_storage_gib: int | None = Field(default=None, ge=20, le=16384)
    multi_az: bool | None = None
    log_retention_days: int | None = Field(default=None, ge=1, description="the engine logs in their bucket")


class AcceleratorConfig(ConfigModel):
    """DynamoDB Accelerator (seed 000: DynamoDB with a DAX cache) in front of the conversations and sessions."""

    enabled: bool
    node_type: str | None = Field(default=None, pattern=r"^dax\.[a-z0-9]+\.[a-z0-9]+$")
    nodes: int | None = Field(default=None, ge=1, le=11, description="the replication factor: primary + replicas")
    item_ttl_minutes: int | None = Field(default=None, ge=1, le=1440)


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
    graph: GraphConfig
    time_series: TimeSeriesConfig
    accelerator: AcceleratorConfig


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
    if (cache.nodes is None) == (cache.cluster_mode is None):
        problems.append(("data.cache.nodes", "set either nodes (cluster mode off) or cluster_mode, not both"))
    elif cache.cluster_mode and not cache.automatic_failover:
        problems.append(("data.cache.automatic_failover", "cluster mode needs automatic failover"))
    elif cache.automatic_failover and cache.nodes_per_shard < 2:
        problems.append(
            (
                "data.cache.automatic_failover",
                f"needs at least 2 nodes{' per shard' if cache.cluster_mode else ''}, got {cache.nodes_per_shard}",
            )
        )
    problems += _toggled_problems(data)

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
        if not (cache.automatic_failover and cache.nodes_per_shard >= 2):
            problems.append(("data.cache.automatic_failover", "prod needs Multi-AZ failover with 2 or more nodes"))
        graph, accelerator = data.graph, data.accelerator
        if graph.mode != "off" and (graph.instances or 0) < 2:
            problems.append(("data.graph.instances", "prod needs a reader in a second AZ for failover"))
        if data.time_series.enabled and not data.time_series.multi_az:
            problems.append(("data.time_series.multi_az", "prod needs the Multi-AZ standby"))
        if accelerator.enabled and (accelerator.nodes or 0) < 3:
            problems.append(("data.accelerator.nodes", "prod needs 3 or more nodes, one per AZ (DAX's guidance)"))
        if not data.buckets.versioned:
            problems.append(("data.buckets.versioned", "prod buckets must be versioned"))
        if config.kms.key_strategy != "per_service":
            problems.append(("kms.key_strategy", "prod uses one key per service (seed 001)"))
    return problems


REQUIRED_WHEN_ON = {
    "graph": ("engine_version", "instances", "backup_retention_days", "log_retention_days"),
    "time_series": ("instance_type", "storage_type", "allocated_storage_gib", "multi_az", "log_retention_days"),
    "accelerator": ("node_type", "nodes", "item_ttl_minutes"),
}
"""What each toggled store needs once it is on (off, it may be the toggle alone)."""
INFLUX_MIN_STORAGE_GIB = {"InfluxIOIncludedT1": 20, "InfluxIOIncludedT2": 400, "InfluxIOIncludedT3": 400}
"""Timestream for InfluxDB's smallest allocation per storage type (its CreateDbInstance reference)."""


def _toggled_problems(data: DataConfig) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    graph, series = data.graph, data.time_series
    on = {"graph": graph.mode != "off", "time_series": series.enabled, "accelerator": data.accelerator.enabled}
    for section, fields in REQUIRED_WHEN_ON.items():
        block = getattr(data, section)
        for name in fields if on[section] else ():
            if getattr(block, name) is None:
                problems.append((f"data.{section}.{name}", "required when it is on"))
    serverless = graph.mode == "serverless"
    for name in ("min_capacity_ncu", "max_capacity_ncu"):
        if serverless and getattr(graph, name) is None:
            problems.append((f"data.graph.{name}", "required when mode is serverless"))
        if not serverless and getattr(graph, name) is not None:
            problems.append((f"data.graph.{name}", "only allowed when mode is serverless"))
    if (graph.mode == "provisioned") != (graph.instance_class is not None):
        problems.append(("data.graph.instance_class", "required when mode is provisioned, and only then"))
    low, high = graph.min_capacity_ncu, graph.max_capacity_ncu
    if low is not None and high is not None and low > high:
        problems.append(("data.graph.min_capacity_ncu", f"{low} is above max_capacity_ncu {high}"))
    if series.storage_type and series.allocated_storage_gib is not None:
        floor = INFLUX_MIN_STORAGE_GIB[series.storage_type]
        if series.allocated_storage_gib < floor:
            problems.append(
                ("data.time_series.allocated_storage_gib", f"{series.storage_type} takes at least {floor} GiB")
            )
    return problems
