"""Typed, frozen schema of one stage's configuration (environments/<stage>.yaml).

Field validators check one value; `cross_field_problems` checks what needs several (the subnet plan, AZs
against the region, prod rules). Nothing here imports aws_cdk: config is validated before any construct.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

PRODUCTION_STAGE = "prod"
AZ_COUNT = 3
"""Every tier has one subnet in each of exactly three AZs (seed 000/001); OpenSearch and MSK need three."""

TIER_NAMES = ("public", "app", "data")
"""VPC tiers in address order; each owns one quarter of the VPC CIDR, the fourth quarter stays free."""

CLOUDWATCH_RETENTION_DAYS = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731,
    1096, 1827, 2192, 2557, 2922, 3288, 3653,
)  # fmt: skip
"""The only retention periods CloudWatch Logs accepts (RetentionInDays)."""


def _cidr(value: str) -> str:
    try:
        network = ipaddress.IPv4Network(value, strict=True)
    except ValueError:
        raise ValueError(f"{value} is not a valid CIDR") from None
    if not 16 <= network.prefixlen <= 28:
        raise ValueError(f"{value}: a VPC CIDR must be between /16 and /28")
    return value


def _retention(value: int) -> int:
    if value not in CLOUDWATCH_RETENTION_DAYS:
        raise ValueError(
            f"{value} days is not a retention CloudWatch Logs accepts "
            f"({', '.join(map(str, CLOUDWATCH_RETENTION_DAYS))})"
        )
    return value


def _private_asn(value: int) -> int:
    if not (64512 <= value <= 65534 or 4_200_000_000 <= value <= 4_294_967_294):
        raise ValueError(f"{value} is not a private ASN (64512-65534 or 4200000000-4294967294)")
    return value


def _endpoint_service(value: str) -> str:
    if not re.fullmatch(r"[a-z0-9-]+(\.[a-z0-9-]+)*", value):
        raise ValueError(f"{value!r} is not an AWS service endpoint name such as 'ecr.api'")
    return value


def _yaml_list(value: Any) -> Any:
    """YAML has lists, the frozen models hold tuples; strict mode would refuse the conversion."""
    return tuple(value) if isinstance(value, list) else value


Cidr = Annotated[str, AfterValidator(_cidr)]
RetentionDays = Annotated[int, AfterValidator(_retention)]
PrivateAsn = Annotated[int, AfterValidator(_private_asn)]
EndpointService = Annotated[str, AfterValidator(_endpoint_service)]
SubnetPrefix = Annotated[int, Field(ge=16, le=28)]
CountryCode = Annotated[str, Field(pattern=r"^[A-Z]{2}$")]
YamlList = BeforeValidator(_yaml_list)


class _Model(BaseModel):
    """Strict, frozen, closed: unknown keys and coerced types are errors, not surprises."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class TagsConfig(_Model):
    """Cost-allocation tags put on every resource (with `stage`, which comes from the file name)."""

    project: str = Field(min_length=1, max_length=256)
    cost_center: str = Field(min_length=1, max_length=256)


class KmsConfig(_Model):
    """The stage's customer-managed keys: one shared key (dev) or one per purpose (prod), seed 001."""

    key_strategy: Literal["shared", "per_service"]
    deletion_window_days: int = Field(ge=7, le=30)


class SubnetPrefixConfig(_Model):
    """Prefix length of each tier's subnets (one per AZ); seed 001 uses /20 for all three."""

    public: SubnetPrefix
    app: SubnetPrefix
    data: SubnetPrefix


class FlowLogConfig(_Model):
    """VPC flow logs (all traffic) to a KMS-encrypted CloudWatch log group."""

    retention_days: RetentionDays


class WafConfig(_Model):
    """Regional WAF web ACL in front of the application load balancer."""

    rate_limit: int = Field(ge=10, le=2_000_000_000, description="requests per IP per 5 minutes")
    geo_block: Annotated[tuple[CountryCode, ...], YamlList] = ()
    log_retention_days: RetentionDays


class NetworkConfig(_Model):
    """The VPC, its three tiers, egress and private access to AWS services."""

    cidr: Cidr
    subnet_prefix: SubnetPrefixConfig
    nat_gateways: int = Field(ge=1)
    interface_endpoints: Annotated[tuple[EndpointService, ...], YamlList] = Field(min_length=1)
    flow_logs: FlowLogConfig
    waf: WafConfig
    transit_gateway_asn: PrivateAsn = Field(
        default=64512, description="the Transit Gateway's ASN; built only when dr is enabled (seed 000)"
    )


class AuroraConfig(_Model):
    """Aurora Serverless v2: a writer and `readers` in other AZs, scaling between the ACU bounds."""

    min_capacity_acu: float = Field(ge=0, le=256, multiple_of=0.5, description="0 pauses an idle cluster")
    max_capacity_acu: float = Field(ge=1, le=256, multiple_of=0.5)
    readers: int = Field(ge=0, le=15)


class RdsConfig(_Model):
    """A provisioned RDS for PostgreSQL instance (seed 001)."""

    instance_class: str = Field(pattern=r"^[a-z0-9]+\.[a-z0-9]+$", description="e.g. r6g.large, without 'db.'")
    multi_az: bool
    allocated_storage_gib: int = Field(ge=20, le=65536)
    max_allocated_storage_gib: int = Field(ge=20, le=65536)


class DatabaseConfig(_Model):
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


class CacheConfig(_Model):
    """ElastiCache for Valkey replication group (seeds 001, 002)."""

    engine_version: str = Field(pattern=r"^[78]\.\d+$")
    node_type: str = Field(pattern=r"^cache\.[a-z0-9]+\.[a-z0-9]+$")
    nodes: int = Field(ge=1, le=6, description="primary + replicas")
    automatic_failover: bool
    snapshot_retention_days: int = Field(ge=0, le=35)
    log_retention_days: RetentionDays


StorageClass = Literal["STANDARD_IA", "ONEZONE_IA", "INTELLIGENT_TIERING", "GLACIER_IR", "GLACIER", "DEEP_ARCHIVE"]


class TransitionConfig(_Model):
    """Move objects to `storage_class` once they are `after_days` old."""

    after_days: int = Field(ge=0)
    storage_class: StorageClass


Transitions = Annotated[tuple[TransitionConfig, ...], YamlList]


class ObjectLockConfig(_Model):
    """Default Object Lock retention of the audit-logs bucket."""

    mode: Literal["GOVERNANCE", "COMPLIANCE"]
    retention_days: int = Field(ge=1, le=36500)


class BucketsConfig(_Model):
    """The data buckets of seeds 001 and 002 and how long each keeps what."""

    versioned: bool = Field(description="every bucket; knowledge-documents and audit-logs always are")
    noncurrent_version_expiration_days: int = Field(ge=1)
    access_log_retention_days: int = Field(ge=1)
    user_uploads_expiration_days: int = Field(ge=1)
    backups_transitions: Transitions
    images_transitions: Transitions
    audit_logs_object_lock: ObjectLockConfig


class EfsConfig(_Model):
    """The shared-models file system (seed 002)."""

    transition_to_ia_days: Literal[1, 7, 14, 30, 60, 90, 180, 270, 365]
    models_path: str = Field(pattern=r"^/[A-Za-z0-9_./-]+$")


class MessagingConfig(_Model):
    """SNS topics with SQS subscribers and DLQs, a FIFO queue, an EventBridge bus (seeds 000, 001)."""

    queue_retention_days: int = Field(ge=1, le=14)
    dlq_retention_days: int = Field(ge=1, le=14)
    max_receive_count: int = Field(ge=1, le=1000)
    event_archive_retention_days: int = Field(ge=1)


class BackupConfig(_Model):
    """AWS Backup (seed 002): daily database and table backups, weekly EFS backups."""

    daily_retention_days: int = Field(ge=1)
    efs_weekly_retention_days: int = Field(ge=1)
    vault_lock: bool


class DataConfig(_Model):
    """Everything the data stack sizes per stage."""

    database: DatabaseConfig
    cache: CacheConfig
    buckets: BucketsConfig
    efs: EfsConfig
    messaging: MessagingConfig
    backup: BackupConfig


K8sName = Annotated[str, Field(pattern=r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")]
InstanceType = Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]*\.[a-z0-9]+$")]


class TaintConfig(_Model):
    key: str = Field(pattern=r"^[A-Za-z0-9./_-]+$")
    value: str = Field(pattern=r"^[A-Za-z0-9._-]*$")
    effect: Literal["NO_SCHEDULE", "PREFER_NO_SCHEDULE", "NO_EXECUTE"]


class NodeGroupConfig(_Model):
    """One EKS managed node group on an AL2023 launch template (seeds 000, 001, 002)."""

    name: K8sName
    instance_types: Annotated[tuple[InstanceType, ...], YamlList] = Field(min_length=1)
    capacity_type: Literal["ON_DEMAND", "SPOT"]
    min_size: int = Field(ge=0, le=450)
    max_size: int = Field(ge=1, le=450)
    desired_size: int = Field(ge=0, le=450)
    gpu: bool = False
    disk_size_gib: int = Field(ge=20, le=16384)
    labels: dict[str, str] = Field(default_factory=dict)
    taints: Annotated[tuple[TaintConfig, ...], YamlList] = ()


class KarpenterConfig(_Model):
    """Karpenter v1 for GPU burst capacity (seed 002)."""

    chart_version: str = Field(pattern=r"^1\.\d+\.\d+$")
    gpu_instance_types: Annotated[tuple[InstanceType, ...], YamlList] = Field(min_length=1)
    gpu_limit: int = Field(ge=1)


class ChartVersionsConfig(_Model):
    """Pinned Helm chart versions."""

    aws_load_balancer_controller: str = Field(pattern=r"^\d+\.\d+\.\d+$")
    metrics_server: str = Field(pattern=r"^\d+\.\d+\.\d+$")
    nvidia_device_plugin: str = Field(pattern=r"^\d+\.\d+\.\d+$")


class NamespaceConfig(_Model):
    """A tenant namespace with its quota and scheduling priority (seed 002)."""

    name: K8sName
    cpu: int = Field(ge=1)
    memory_gib: int = Field(ge=1)
    gpu: int = Field(ge=0)
    priority: int = Field(ge=0, le=1_000_000_000)
    workload_role: Literal["app", "gpu"] = Field(description="which Pod Identity role its `workload` account gets")


class EcsTaskConfig(_Model):
    """A Fargate task definition (seed 003)."""

    name: K8sName
    cpu: Literal[256, 512, 1024, 2048, 4096, 8192, 16384]
    memory_mib: int = Field(ge=512, le=122880)


class PlatformConfig(_Model):
    """The compute platform: EKS, Karpenter, tenancy, ECR, ECS and the Lambda consumer."""

    kubernetes_version: Literal["1.36"]
    public_endpoint_cidrs: Annotated[tuple[str, ...], YamlList] = ()
    admin_role_arn: str = Field(pattern=r"^arn:aws[a-z-]*:iam::\d{12}:role/[A-Za-z0-9+=,.@_/-]+$")
    node_groups: Annotated[tuple[NodeGroupConfig, ...], YamlList] = Field(min_length=1)
    karpenter: KarpenterConfig
    charts: ChartVersionsConfig
    namespaces: Annotated[tuple[NamespaceConfig, ...], YamlList] = Field(min_length=1)
    ecr_repositories: Annotated[tuple[K8sName, ...], YamlList] = Field(min_length=1)
    ecr_keep_images: int = Field(ge=1, le=10000)
    ecs_tasks: Annotated[tuple[EcsTaskConfig, ...], YamlList] = Field(min_length=1)
    consumer_reserved_concurrency: int = Field(ge=1, le=1000)
    log_retention_days: RetentionDays


class LakeZoneConfig(_Model):
    """Lifecycle of one data-lake zone (seed 003: raw, processed, curated)."""

    transitions: Transitions = ()
    expiration_days: int | None = Field(default=None, ge=1)


class LakeConfig(_Model):
    raw: LakeZoneConfig
    processed: LakeZoneConfig
    curated: LakeZoneConfig


GlueSchedule = Annotated[str, Field(pattern=r"^cron\([^)]+\)$", description="a Glue cron() expression")]


class GlueConfig(_Model):
    """Glue catalog, crawlers, the ETL and data-quality jobs and the workflow that chains them (seed 003)."""

    version: Literal["4.0", "5.0"]
    crawler_schedule: GlueSchedule
    workflow_schedule: GlueSchedule
    etl_workers: int = Field(ge=2, le=100, description="G.1X workers; seed 003: 2 DPU")
    etl_timeout_minutes: int = Field(ge=1, le=2880)


class StreamingConfig(_Model):
    """Kinesis on demand -> Firehose -> raw zone, and the Lambda stream processor (seed 000)."""

    retention_hours: int = Field(ge=24, le=8760)
    buffer_seconds: int = Field(ge=0, le=900)
    buffer_mib: int = Field(ge=1, le=128)
    processor_batch_size: int = Field(ge=1, le=10000)
    processor_reserved_concurrency: int = Field(ge=1, le=1000)


class MskConfig(_Model):
    """Kafka (seeds 000, 004): provisioned brokers, serverless, or none."""

    mode: Literal["provisioned", "serverless", "off"]
    kafka_version: str = Field(default="3.8.x", pattern=r"^\d+\.\d+\.(\d+|x)$")
    broker_instance_type: str = Field(default="kafka.m5.large", pattern=r"^kafka\.[a-z0-9]+\.[a-z0-9]+$")
    brokers: int = Field(default=3, ge=2)
    volume_gib: int = Field(default=100, ge=1, le=16384)


class OpenSearchConfig(_Model):
    """The log-analytics search domain (seeds 000, 004)."""

    engine_version: str = Field(pattern=r"^OpenSearch_\d+\.\d+$")
    data_nodes: int = Field(ge=1, le=80)
    data_instance_type: str = Field(pattern=r"^[a-z0-9]+\.[a-z0-9]+\.search$")
    dedicated_masters: Literal[0, 3, 5]
    master_instance_type: str = Field(pattern=r"^[a-z0-9]+\.[a-z0-9]+\.search$")
    volume_gib: int = Field(ge=10, le=16384)


class AnalyticsConfig(_Model):
    """The analytics stack: lake, Glue, Athena, streaming, Kafka, search."""

    lake: LakeConfig
    glue: GlueConfig
    athena_bytes_scanned_cutoff_gib: int = Field(ge=1)
    streaming: StreamingConfig
    msk: MskConfig
    opensearch: OpenSearchConfig
    log_retention_days: RetentionDays


Email = Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]


class AlertingConfig(_Model):
    """Where alarms go: e-mail per severity, an HTTPS pager for critical, Slack through AWS Chatbot."""

    critical_emails: Annotated[tuple[Email, ...], YamlList] = ()
    warning_emails: Annotated[tuple[Email, ...], YamlList] = ()
    pager_https_endpoint: str | None = Field(default=None, pattern=r"^https://\S+$")
    slack_workspace_id: str | None = Field(default=None, pattern=r"^[A-Z0-9]{9,11}$")
    slack_channel_id: str | None = Field(default=None, pattern=r"^[A-Z0-9]{9,11}$")


class DetectionConfig(_Model):
    """Account-and-region services: one stage per account and region may own each."""

    guardduty: bool
    security_hub: bool
    config_recorder: bool
    detective: bool = False
    macie: bool = False


class ObservabilityConfig(_Model):
    """Alarms, dashboards, tracing, Prometheus, audit trail, threat detection and cost controls."""

    alerting: AlertingConfig
    load_balancer: str = Field(
        pattern=r"^app/[A-Za-z0-9-]+/[0-9a-f]{16}$",
        description="the ingress ALB's CloudWatch dimension (app/<name>/<id>), set once the ingress exists",
    )
    xray_sampling_rate: float = Field(ge=0, le=1)
    grafana: bool = False
    trail_data_events: bool
    detection: DetectionConfig
    monthly_budget_usd: int = Field(ge=1)
    cost_anomaly_threshold_usd: int = Field(ge=1)
    log_retention_days: RetentionDays


class EdgeConfig(_Model):
    """CloudFront in front of the stage (seeds 000, 002), served from us-east-1 whatever the stage's region."""

    enabled: bool
    domain_name: str = Field(default="", pattern=r"^$|^([a-z0-9-]+\.)+[a-z]{2,}$")
    hosted_zone_id: str = Field(default="", pattern=r"^$|^Z[A-Z0-9]{8,31}$")
    hosted_zone_name: str = Field(default="", pattern=r"^$|^([a-z0-9-]+\.)+[a-z]{2,}$")
    origin_domain_name: str = Field(
        default="", pattern=r"^$|^([a-z0-9-]+\.)+[a-z]{2,}$", description="HTTPS name of the ingress load balancer"
    )
    shield_advanced: bool = Field(default=False, description="needs an existing Shield Advanced subscription")
    log_retention_days: RetentionDays = 365
    primary_origin_target: str = Field(
        default="", pattern=r"^$|^([A-Za-z0-9-]+\.)+[a-z]{2,}$", description="the primary region's ALB DNS name"
    )
    secondary_origin_target: str = Field(
        default="", pattern=r"^$|^([A-Za-z0-9-]+\.)+[a-z]{2,}$", description="the secondary region's ALB DNS name"
    )


ReplicableBucket = Literal[
    "knowledge_documents", "document_chunks", "user_uploads", "backups", "images", "models"
]  # fmt: skip


class DisasterRecoveryConfig(_Model):
    """A secondary region for the stage (seed 000: eu-west-1 with 10.1.0.0/16; seed 002: active-passive)."""

    enabled: bool
    region: str = Field(default="", pattern=r"^$|^[a-z]{2}(-gov)?-[a-z]+-\d$")
    availability_zones: Annotated[tuple[str, ...], YamlList] = ()
    cidr: str = Field(default="", description="the secondary VPC's CIDR; must not overlap the stage's others")
    transit_gateway_asn: PrivateAsn = Field(
        default=64513, description="the secondary region's Transit Gateway ASN; peers need distinct ASNs"
    )
    replicate_tables: Annotated[tuple[Literal["conversations", "sessions"], ...], YamlList] = Field(
        default=(), description="DynamoDB tables made global tables with a replica in the secondary region"
    )
    replicate_buckets: Annotated[tuple[ReplicableBucket, ...], YamlList] = Field(
        default=(), description="S3 buckets replicated (cross-region replication) to the secondary region"
    )


class StageConfig(_Model):
    """One deployable stage: where it goes, how it is tagged and protected, and what it contains."""

    name: str = Field(pattern=r"^[a-z][a-z0-9-]{1,19}$")
    account: str = Field(pattern=r"^\d{12}$")
    region: str = Field(pattern=r"^[a-z]{2}(-gov)?-[a-z]+-\d$")
    availability_zones: Annotated[tuple[str, ...], YamlList]
    allow_destroy: bool = False
    tags: TagsConfig
    kms: KmsConfig
    network: NetworkConfig
    data: DataConfig
    platform: PlatformConfig
    analytics: AnalyticsConfig
    observability: ObservabilityConfig
    edge: EdgeConfig = EdgeConfig(enabled=False)
    dr: DisasterRecoveryConfig = DisasterRecoveryConfig(enabled=False)

    @property
    def is_production(self) -> bool:
        return self.name == PRODUCTION_STAGE

    def in_dr_region(self) -> StageConfig:
        """The same stage as seen from its secondary region: that region, its AZs and its VPC CIDR."""
        return self.model_copy(
            update={
                "region": self.dr.region,
                "availability_zones": self.dr.availability_zones,
                "network": self.network.model_copy(
                    update={"cidr": self.dr.cidr, "transit_gateway_asn": self.dr.transit_gateway_asn}
                ),
            }
        )

    @property
    def trail_name(self) -> str:
        """The CloudTrail trail's name; the data stack's audit-logs bucket admits exactly this trail."""
        return f"{self.tags.project}-{self.name}"

    @property
    def cluster_name(self) -> str:
        """The EKS cluster's name; the network stack tags the subnets Karpenter may use with it."""
        return f"{self.tags.project}-{self.name}"


def tier_blocks(cidr: str) -> dict[str, ipaddress.IPv4Network]:
    """Split the VPC CIDR in quarters and give one to each tier, in TIER_NAMES order (seed 001's plan)."""
    quarters = list(ipaddress.IPv4Network(cidr).subnets(prefixlen_diff=2))
    return dict(zip(TIER_NAMES, quarters, strict=False))


def subnet_cidrs(cidr: str, tier: str, prefix: int, az_count: int) -> list[str]:
    """The first `az_count` subnets of size `prefix` inside the tier's block, one per AZ, in AZ order."""
    block = tier_blocks(cidr)[tier]
    return [str(net) for _, net in zip(range(az_count), block.subnets(new_prefix=prefix), strict=False)]


def cross_field_problems(config: StageConfig) -> list[tuple[str, str]]:
    """Checks that span fields, as (field path, message) pairs; empty when the stage is consistent."""
    problems: list[tuple[str, str]] = []
    azs = config.availability_zones
    if len(azs) != AZ_COUNT:
        problems.append(("availability_zones", f"expected {AZ_COUNT} availability zones, got {len(azs)}"))
    if len(set(azs)) != len(azs):
        problems.append(("availability_zones", "lists the same availability zone twice"))
    for index, az in enumerate(azs):
        if not re.fullmatch(rf"{re.escape(config.region)}[a-z]", az):
            problems.append((f"availability_zones.{index}", f"{az} is not an availability zone of {config.region}"))

    network = config.network
    if network.nat_gateways > len(azs):
        problems.append(
            ("network.nat_gateways", f"{network.nat_gateways} NAT gateways but only {len(azs)} availability zones")
        )
    tier_prefix = ipaddress.IPv4Network(network.cidr).prefixlen + 2
    for tier in TIER_NAMES:
        prefix = getattr(network.subnet_prefix, tier)
        fits = prefix >= tier_prefix and 2 ** (prefix - tier_prefix) >= len(azs)
        if not fits:
            problems.append(
                (
                    f"network.subnet_prefix.{tier}",
                    f"{len(azs)} subnets of /{prefix} do not fit in the {tier} tier's quarter "
                    f"({tier_blocks(network.cidr)[tier]}) of {network.cidr}",
                )
            )
    if len(set(network.interface_endpoints)) != len(network.interface_endpoints):
        problems.append(("network.interface_endpoints", "lists the same service twice"))

    problems += _data_problems(config)
    problems += _platform_problems(config)
    problems += _analytics_problems(config)
    problems += _edge_problems(config)
    problems += _dr_problems(config)
    alerting = config.observability.alerting
    if (alerting.slack_workspace_id is None) != (alerting.slack_channel_id is None):
        problems.append(("observability.alerting", "set both slack_workspace_id and slack_channel_id, or neither"))

    if config.is_production:
        if config.allow_destroy:
            problems.append(("allow_destroy", "prod must retain its data; allow_destroy cannot be true"))
        if network.nat_gateways != len(azs):
            problems.append(
                ("network.nat_gateways", "prod needs one NAT gateway per availability zone to survive an AZ loss")
            )
    return problems


def _data_problems(config: StageConfig) -> list[tuple[str, str]]:
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


class PipelineSourceConfig(_Model):
    """Where the pipeline reads the app from: a CodeConnections connection, repository and branch."""

    connection_arn: str = Field(
        pattern=r"^arn:aws[a-z-]*:(codeconnections|codestar-connections):[a-z0-9-]+:\d{12}:connection/[0-9a-f-]{36}$"
    )
    repository: str = Field(pattern=r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$", description="owner/name")
    branch: str = Field(min_length=1, max_length=255)


class PipelineConfig(_Model):
    """The self-mutating delivery pipeline (environments/pipeline.yaml), in the tooling account."""

    account: str = Field(pattern=r"^\d{12}$")
    region: str = Field(pattern=r"^[a-z]{2}(-gov)?-[a-z]+-\d$")
    tags: TagsConfig
    source: PipelineSourceConfig
    stages: Annotated[tuple[str, ...], YamlList] = Field(min_length=1, description="promotion order")
    manual_approval_before: Annotated[tuple[str, ...], YamlList] = ()
    notification_emails: Annotated[tuple[str, ...], YamlList] = ()


def pipeline_problems(pipeline: PipelineConfig, available: list[str]) -> list[tuple[str, str]]:
    """Checks across the pipeline file and the stage files."""
    problems: list[tuple[str, str]] = []
    if len(set(pipeline.stages)) != len(pipeline.stages):
        problems.append(("stages", "lists the same stage twice"))
    for index, stage in enumerate(pipeline.stages):
        if stage not in available:
            problems.append((f"stages.{index}", f"{stage} has no environments/{stage}.yaml"))
    for index, stage in enumerate(pipeline.manual_approval_before):
        if stage not in pipeline.stages:
            problems.append((f"manual_approval_before.{index}", f"{stage} is not one of the pipeline's stages"))
    if PRODUCTION_STAGE in pipeline.stages and PRODUCTION_STAGE not in pipeline.manual_approval_before:
        problems.append(("manual_approval_before", "prod must be behind a manual approval"))
    for index, email in enumerate(pipeline.notification_emails):
        if not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", email):
            problems.append((f"notification_emails.{index}", f"{email!r} is not an email address"))
    return problems


def _platform_problems(config: StageConfig) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    platform = config.platform
    for index, cidr in enumerate(platform.public_endpoint_cidrs):
        try:
            network = ipaddress.IPv4Network(cidr, strict=True)
        except ValueError:
            problems.append((f"platform.public_endpoint_cidrs.{index}", f"{cidr} is not a valid CIDR"))
            continue
        if network.prefixlen == 0:
            problems.append(
                (f"platform.public_endpoint_cidrs.{index}", "the API endpoint may not be open to the internet")
            )
    names = [group.name for group in platform.node_groups]
    if len(set(names)) != len(names):
        problems.append(("platform.node_groups", "two node groups share a name"))
    for index, group in enumerate(platform.node_groups):
        where = f"platform.node_groups.{index}"
        if group.min_size > group.max_size:
            problems.append((f"{where}.min_size", f"{group.min_size} is above max_size {group.max_size}"))
        if not group.min_size <= group.desired_size <= group.max_size:
            problems.append(
                (f"{where}.desired_size", f"{group.desired_size} is outside {group.min_size}-{group.max_size}")
            )
    if "system" not in names:
        problems.append(("platform.node_groups", "a node group named system runs the cluster add-ons and Karpenter"))
    namespaces = [namespace.name for namespace in platform.namespaces]
    if len(set(namespaces)) != len(namespaces):
        problems.append(("platform.namespaces", "two namespaces share a name"))
    for index, namespace in enumerate(namespaces):
        if namespace.startswith("kube-") or namespace == "default":
            problems.append((f"platform.namespaces.{index}", f"{namespace} is reserved by Kubernetes"))
    if len(set(platform.ecr_repositories)) != len(platform.ecr_repositories):
        problems.append(("platform.ecr_repositories", "lists the same repository twice"))
    if config.is_production and any(g.name == "system" and g.min_size < 2 for g in platform.node_groups):
        problems.append(("platform.node_groups", "prod's system node group needs at least 2 nodes"))
    return problems


def _analytics_problems(config: StageConfig) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    analytics = config.analytics
    for zone in ("raw", "processed", "curated"):
        lake = getattr(analytics.lake, zone)
        days = [t.after_days for t in lake.transitions]
        if days != sorted(set(days)):
            problems.append((f"analytics.lake.{zone}.transitions", "after_days must strictly increase"))
        if lake.expiration_days is not None and days and lake.expiration_days <= days[-1]:
            problems.append((f"analytics.lake.{zone}.expiration_days", "must come after the last transition"))
    msk = analytics.msk
    if msk.mode == "provisioned" and msk.brokers % len(config.availability_zones):
        problems.append(("analytics.msk.brokers", f"{msk.brokers} brokers do not spread evenly over 3 AZs"))
    search = analytics.opensearch
    if config.is_production:
        if search.data_nodes < 3 or search.dedicated_masters == 0:
            problems.append(("analytics.opensearch", "prod needs 3+ data nodes across AZs and dedicated masters"))
        if msk.mode == "off":
            problems.append(
                ("analytics.msk.mode", "prod streams through Kafka (seed 000); use provisioned or serverless")
            )
    if search.data_nodes > 1 and search.data_nodes % 3 and search.data_nodes % 2:
        problems.append(("analytics.opensearch.data_nodes", "zone awareness needs a multiple of 2 or 3 data nodes"))
    return problems


ACCOUNT_WIDE_SERVICES = ("guardduty", "security_hub", "config_recorder", "detective", "macie")


def shared_account_problems(configs: list[StageConfig]) -> list[tuple[str, str, str]]:
    """(stage, field, message) for every account-and-region service that two stages both turn on."""
    problems: list[tuple[str, str, str]] = []
    owners: dict[tuple[str, str, str], str] = {}
    for config in configs:
        for service in ACCOUNT_WIDE_SERVICES:
            if getattr(config.observability.detection, service):
                key = (config.account, config.region, service)
                if key in owners:
                    problems.append(
                        (
                            config.name,
                            f"observability.detection.{service}",
                            f"{owners[key]} already enables it in {config.account}/{config.region}; "
                            "turn it off in one of them",
                        )
                    )
                owners.setdefault(key, config.name)
    return problems


def _edge_problems(config: StageConfig) -> list[tuple[str, str]]:
    edge = config.edge
    if not edge.enabled:
        return []
    problems = [
        (f"edge.{field}", "required when the edge is enabled")
        for field in ("domain_name", "hosted_zone_id", "hosted_zone_name", "origin_domain_name")
        if not getattr(edge, field)
    ]
    if config.dr.enabled:
        problems += [
            (f"edge.{field}", "required when the edge and dr are enabled (Route 53 fails over between them)")
            for field in ("primary_origin_target", "secondary_origin_target")
            if not getattr(edge, field)
        ]
        if edge.origin_domain_name and not edge.origin_domain_name.endswith(f".{edge.hosted_zone_name}"):
            problems.append(("edge.origin_domain_name", "must be in the hosted zone: it becomes the failover record"))
    if (
        edge.domain_name
        and edge.hosted_zone_name
        and not (edge.domain_name == edge.hosted_zone_name or edge.domain_name.endswith(f".{edge.hosted_zone_name}"))
    ):
        problems.append(("edge.domain_name", f"{edge.domain_name} is not in the zone {edge.hosted_zone_name}"))
    return problems


def _dr_problems(config: StageConfig) -> list[tuple[str, str]]:
    dr = config.dr
    if not dr.enabled:
        return []
    problems = [
        (f"dr.{field}", "required when dr is enabled") for field in ("region", "cidr") if not getattr(dr, field)
    ]
    if dr.replicate_buckets and not config.data.buckets.versioned:
        problems.append(("dr.replicate_buckets", "replication needs versioned buckets (data.buckets.versioned)"))
    if dr.region == config.region:
        problems.append(("dr.region", f"must differ from the stage's region {config.region}"))
    if len(dr.availability_zones) != AZ_COUNT:
        problems.append(("dr.availability_zones", f"expected {AZ_COUNT} availability zones"))
    for index, az in enumerate(dr.availability_zones):
        if not re.fullmatch(rf"{re.escape(dr.region)}[a-z]", az):
            problems.append((f"dr.availability_zones.{index}", f"{az} is not an availability zone of {dr.region}"))
    if dr.cidr:
        try:
            _cidr(dr.cidr)
        except ValueError as error:
            problems.append(("dr.cidr", str(error)))
        else:
            if ipaddress.IPv4Network(dr.cidr).overlaps(ipaddress.IPv4Network(config.network.cidr)):
                problems.append(("dr.cidr", f"{dr.cidr} overlaps the stage's VPC {config.network.cidr}"))
    if dr.transit_gateway_asn == config.network.transit_gateway_asn:
        problems.append(
            ("dr.transit_gateway_asn", f"{dr.transit_gateway_asn} is network.transit_gateway_asn; peers need two")
        )
    return problems
