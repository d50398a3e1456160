"""The `regions:` list (the primary first, then any secondaries: each a VPC, Transit Gateway ASN and role) and
the `recovery:` section (what replicates to the secondaries), with the checks that span regions and stages."""

from __future__ import annotations

import ipaddress
from itertools import combinations
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import Field

from environments.schema.base import (
    AZ_COUNT,
    Cidr,
    ConfigModel,
    PrivateAsn,
    YamlList,
    availability_zone_problems,
)
from environments.schema.network import network_problems

if TYPE_CHECKING:
    from environments.schema.stage import StageConfig


ReplicableBucket = Literal[
    "knowledge_documents", "document_chunks", "user_uploads", "backups", "images", "models"
]  # fmt: skip

RegionRole = Literal["active", "standby"]
"""`active` serves traffic (latency records, full capacity); `standby` keeps minimum capacity until failover."""

PRIMARY_FIELDS = {
    "region": "region",
    "availability_zones": "availability_zones",
    "network.cidr": "cidr",
    "network.transit_gateway_asn": "transit_gateway_asn",
}
"""Where the primary region's entry lands in the stage model (field path -> key of `regions.0`): every
construct reads the region it is built in from these, so a secondary is the same stage with them replaced."""


class RegionConfig(ConfigModel):
    """One region the stage runs in (seed 000: us-east-1, eu-west-1, ap-southeast-1, each its own /16)."""

    region: str = Field(pattern=r"^[a-z]{2}(-gov)?-[a-z]+-\d$")
    availability_zones: Annotated[tuple[str, ...], YamlList]
    cidr: Cidr
    transit_gateway_asn: PrivateAsn = Field(
        default=64512, description="this region's Transit Gateway ASN; built only with peers, which need distinct ones"
    )
    role: RegionRole = "active"

    @property
    def key(self) -> str:
        """What names this region's stacks and constructs: the region itself."""
        return self.region


RecoveryComponent = Literal[
    "database", "tables.conversations", "tables.sessions", "buckets.knowledge_documents", "buckets.document_chunks",
    "buckets.user_uploads", "buckets.backups", "buckets.audit_logs", "buckets.images", "buckets.models", "secrets",
    "file_system", "cache", "graph", "time_series", "accelerator", "messaging", "lake", "stream", "stream_state",
    "kafka", "search", "container_images",
]  # fmt: skip
"""The stateful components of a stage, as environments/recovery.py names them (the keys of `outside_rpo`)."""


class RecoveryConfig(ConfigModel):
    """What replicates from the primary to every secondary region, and what a regional loss may cost: the
    targets the loader holds the design to (environments/recovery.py, docs/recovery.md)."""

    replicate_tables: Annotated[tuple[Literal["conversations", "sessions"], ...], YamlList] = Field(
        default=(), description="DynamoDB tables made global tables with a replica in every secondary region"
    )
    replicate_buckets: Annotated[tuple[ReplicableBucket, ...], YamlList] = Field(
        default=(), description="S3 buckets replicated (cross-region replication) to every secondary region"
    )
    rto_minutes: int | None = Field(
        default=None,
        ge=5,
        description="longest time from losing the primary region to serving from a secondary; null: no target",
    )
    rpo_minutes: int | None = Field(
        default=None,
        ge=1,
        description="most recent writes a regional loss may lose, in minutes; null: no target. With a target, S3 "
        "replication runs with Replication Time Control (the only S3 replication with a time bound)",
    )
    decision_minutes: int = Field(
        default=15,
        ge=1,
        le=240,
        description="from the loss to the decision to fail over: the page, confirming the outage, the go",
    )
    outside_rpo: dict[RecoveryComponent, Annotated[str, Field(min_length=20)]] = Field(
        default_factory=dict,
        description="components whose data a regional loss may lose by decision, each with the reason (shown "
        "in docs/recovery.md); everything else must meet rpo_minutes by its replication",
    )


BUCKET_SLUGS = {"knowledge_documents": "knowledge-docs", "document_chunks": "doc-chunks", "user_uploads": "uploads"}
"""Shorter words for the longer bucket names in replica names (S3 names end at 63 characters)."""

BUCKET_NAME_LENGTH = 63


def replica_bucket_name(config: StageConfig, bucket: str, region: str) -> str:
    """The fixed name of a bucket's replica in `region`: the primary region's replication rules name it
    directly. S3 names are global and a retained replica keeps its name, so it carries account and region."""
    slug = BUCKET_SLUGS.get(bucket, bucket.replace("_", "-"))
    return f"{config.tags.project}-{config.name}-{slug}-{config.account}-{region}"


def with_primary_fields(data: Any) -> Any:
    """The raw stage with `regions.0` copied into the fields the constructs read (PRIMARY_FIELDS)."""
    if not isinstance(data, dict):
        return data
    regions = data.get("regions")
    if not (isinstance(regions, list | tuple) and regions and isinstance(regions[0], dict)):
        return data
    primary = regions[0]
    data = dict(data)
    network = dict(data["network"]) if isinstance(data.get("network"), dict) else None
    for path, key in PRIMARY_FIELDS.items():
        if key not in primary:
            continue
        if path.startswith("network."):
            if network is not None:
                network[path.removeprefix("network.")] = primary[key]
        else:
            data[path] = primary[key]
    if network is not None:
        data["network"] = network
    return data


def primary_field_path(field: str) -> str:
    """A problem found on a PRIMARY_FIELDS path, named where the author wrote it (`regions.0.<key>`)."""
    for path, key in PRIMARY_FIELDS.items():
        if field == path or field.startswith(f"{path}."):
            return f"regions.0.{key}{field.removeprefix(path)}"
    return field


def region_problems(config: StageConfig) -> list[tuple[str, str]]:
    """Each secondary's AZs and subnet plan; distinct regions and ASNs, disjoint VPCs; what replicates."""
    regions = config.regions
    problems: list[tuple[str, str]] = []
    if regions[0].role != "active":
        problems.append(("regions.0.role", "the primary region serves traffic; it must be active"))
    for index, region in enumerate(regions[1:], start=1):
        field = f"regions.{index}"
        azs = region.availability_zones
        if len(azs) != AZ_COUNT:
            problems.append((f"{field}.availability_zones", f"expected {AZ_COUNT} availability zones, got {len(azs)}"))
        if len(set(azs)) != len(azs):
            problems.append((f"{field}.availability_zones", "lists the same availability zone twice"))
        problems += availability_zone_problems(f"{field}.region", region.region, f"{field}.availability_zones", azs)
        problems += [
            (path, message.replace(config.network.cidr, region.cidr))
            for path, message in network_problems(config.in_region(region))
            if path.startswith("network.subnet_prefix")
        ]
    for (i, first), (j, second) in combinations(enumerate(regions), 2):
        if first.region == second.region:
            problems.append((f"regions.{j}.region", f"{second.region} is regions.{i} already"))
        if ipaddress.IPv4Network(first.cidr).overlaps(ipaddress.IPv4Network(second.cidr)):
            problems.append((f"regions.{j}.cidr", f"{second.cidr} overlaps regions.{i}.cidr {first.cidr}"))
        if first.transit_gateway_asn == second.transit_gateway_asn:
            problems.append(
                (
                    f"regions.{j}.transit_gateway_asn",
                    f"{second.transit_gateway_asn} is regions.{i}'s; peers need distinct ASNs",
                )
            )
    recovery = config.recovery
    for name in ("replicate_tables", "replicate_buckets"):
        if getattr(recovery, name) and len(regions) == 1:
            problems.append((f"recovery.{name}", "nothing to replicate to: the stage has one region"))
    for bucket in recovery.replicate_buckets:
        for region in config.secondaries:
            name = replica_bucket_name(config, bucket, region.region)
            if len(name) > BUCKET_NAME_LENGTH:
                problems.append(
                    ("recovery.replicate_buckets", f"the replica name {name} is longer than S3's 63 characters; "
                     "shorten tags.project")
                )  # fmt: skip
    if config.secondaries:
        problems += working_copy_problems(config)
    if recovery.replicate_buckets and not config.data.buckets.versioned:
        problems.append(("recovery.replicate_buckets", "replication needs versioned buckets (data.buckets.versioned)"))
    return problems


WORKING_COPY_TABLES = ("conversations", "sessions")
"""The tables the app role uses in every region (WorkloadRoles): a secondary region's workloads need replicas."""


def working_copy_problems(config: StageConfig) -> list[tuple[str, str]]:
    """What a secondary region's platform needs from the primary's data: a global database to fail over to,
    the tables the app uses and the models the GPU workers load."""
    problems = []
    if config.data.database.engine != "aurora-serverless-v2":
        problems.append(("data.database.engine", "secondary regions need aurora-serverless-v2 (an Aurora Global "
                         "Database); RDS has no secondary to fail over to"))  # fmt: skip
    if missing := [table for table in WORKING_COPY_TABLES if table not in config.recovery.replicate_tables]:
        problems.append(("recovery.replicate_tables", f"lacks {', '.join(missing)}: the workloads in the secondary "
                         "regions use every table"))  # fmt: skip
    if "models" not in config.recovery.replicate_buckets:
        problems.append(("recovery.replicate_buckets", "lacks models: GPU workers in the secondary regions load "
                         "their weights from its replica"))  # fmt: skip
    if config.edge.enabled and "images" not in config.recovery.replicate_buckets:
        problems.append(("recovery.replicate_buckets", "lacks images: CloudFront's images path fails over to its "
                         "replica in a secondary region"))  # fmt: skip
    return problems


def images_failover_region(config: StageConfig) -> RegionConfig | None:
    """The secondary region whose images replica CloudFront's images path falls back to (None: no edge, or one
    region). The first `active` secondary, else the first: it mirrors the shared ingress name, which fails over
    to the other active regions and to a standby only when none is left, so after losing the primary the images
    and the API are served from the same region. An origin group holds two origins, so one secondary is named."""
    if not (config.edge.enabled and config.secondaries):
        return None
    return next((region for region in config.secondaries if region.role == "active"), config.secondaries[0])


def stage_networks(config: StageConfig) -> list[tuple[str, str, str]]:
    """(field, region, CIDR) of every VPC the stage builds, one per region."""
    return [(f"regions.{index}.cidr", region.region, region.cidr) for index, region in enumerate(config.regions)]


def overlapping_networks(configs: list[StageConfig]) -> list[tuple[str, str, str, bool]]:
    """(stage, field, message, same account) for each VPC that overlaps a VPC of an earlier stage. In one
    account that breaks routing between them (and the Transit Gateway peering); across accounts it only
    rules out connecting them later, so callers warn instead."""
    found: list[tuple[str, str, str, bool]] = []
    seen: list[tuple[StageConfig, str, str]] = []
    for config in configs:
        for field, region, block in stage_networks(config):
            for other, other_field, other_block in seen:
                if ipaddress.IPv4Network(block).overlaps(ipaddress.IPv4Network(other_block)):
                    same = other.account == config.account
                    where = "the same account" if same else f"account {other.account}"
                    message = f"{block} ({region}) overlaps {other.name}'s {other_field} {other_block} in {where}"
                    found.append((config.name, field, message, same))
        seen += [(config, field, block) for field, _, block in stage_networks(config)]
    return found


def regional_hostname(domain_name: str, region: str) -> str:
    """The name of one region's ingress load balancer in a stage with several regions: `<region>.<domain_name>`
    (its certificate covers it beside the shared name), so that every region's load balancer can be reached,
    and checked, on its own."""
    return f"{region}.{domain_name}"


def role_set_hostname(domain_name: str, role: RegionRole) -> str:
    """The latency-routed set of one role's regions, `<role>.<domain_name>`: the shared name fails over from
    the `active` set to the `standby` one (Route 53 keeps one routing policy per name, so they need names)."""
    return f"{role}.{domain_name}"


def shared_registry_problems(configs: list[StageConfig]) -> list[tuple[str, str, str]]:
    """(stage, field, message) for a second stage with secondaries in one account and primary region: a
    registry has a single replication configuration, which each of them would overwrite with its own."""
    problems: list[tuple[str, str, str]] = []
    owners: dict[tuple[str, str], str] = {}
    for config in configs:
        if not config.secondaries:
            continue
        key = (config.account, config.region)
        if key in owners:
            problems.append(
                (
                    config.name,
                    "regions",
                    f"{owners[key]} already replicates the ECR registry of {config.account}/{config.region} "
                    "to its secondaries (one replication configuration per registry); use another account",
                )
            )
        owners.setdefault(key, config.name)
    return problems
