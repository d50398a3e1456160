"""The stage model (environments/<stage>.yaml) that composes every section, and the checks that span them.

Field validators check one value; `cross_field_problems` checks what needs several (the subnet plan, AZs
against the region, prod rules), one section module at a time."""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import Field, model_validator

from environments.recovery import recovery_problems
from environments.schema import compute, edge, observability
from environments.schema.ai import AiConfig, ai_interface_endpoints, ai_problems
from environments.schema.analytics import AnalyticsConfig, analytics_problems
from environments.schema.base import (
    AZ_COUNT,
    PRODUCTION_STAGE,
    SYSTEM_GROUP,
    ConfigModel,
    TagsConfig,
    YamlList,
    availability_zone_problems,
)
from environments.schema.compliance import ComplianceConfig
from environments.schema.compute import PlatformConfig, platform_problems
from environments.schema.data import DataConfig, KmsConfig, data_problems
from environments.schema.edge import EdgeConfig, edge_problems
from environments.schema.network import NetworkConfig, network_problems
from environments.schema.observability import ObservabilityConfig, observability_problems
from environments.schema.regions import (
    RecoveryConfig,
    RegionConfig,
    RegionRole,
    region_problems,
    with_primary_fields,
)
from environments.schema.workloads import workload_problems

RETIRED_FIELDS = {
    **compute.RETIRED_FIELDS,
    **observability.RETIRED_FIELDS,
    **edge.RETIRED_FIELDS,
    "dr": "replaced by regions: (the primary first, then each secondary with its role) and recovery: "
    "(replicate_tables, replicate_buckets); remove this key",
}
"""Every section's retired keys: the loader prints why one is gone instead of "unknown key"."""


class StageConfig(ConfigModel):
    """One deployable stage: where it goes, how it is tagged and protected, and what it contains.

    `region`, `availability_zones`, `network.cidr` and `network.transit_gateway_asn` are the primary's
    (`regions.0`), filled in from it: a stage file writes them only in `regions`."""

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
    ai: AiConfig = AiConfig()
    edge: EdgeConfig = EdgeConfig(enabled=False)
    regions: Annotated[tuple[RegionConfig, ...], YamlList]
    recovery: RecoveryConfig = RecoveryConfig()
    compliance: ComplianceConfig = ComplianceConfig()

    @model_validator(mode="before")
    @classmethod
    def _fill_primary(cls, data: Any) -> Any:
        return with_primary_fields(data)

    @property
    def is_production(self) -> bool:
        return self.name == PRODUCTION_STAGE

    @property
    def primary(self) -> RegionConfig:
        return self.regions[0]

    @property
    def secondaries(self) -> tuple[RegionConfig, ...]:
        return self.regions[1:]

    @property
    def failover_region(self) -> RegionConfig | None:
        """Where a regional loss fails over first: `regions.1`, which holds every copy, the models file system's
        EFS replica included (EFS replicates to one destination); None in a single-region stage."""
        return self.secondaries[0] if self.secondaries else None

    def in_region(self, region: RegionConfig) -> StageConfig:
        """The same stage as seen from one of its regions: that region, its AZs, VPC CIDR and ASN; a `standby`
        region keeps only its system nodes running (every other pool's managed minimum is 0, Karpenter adds
        the pool's nodes up to the same maximum once pods arrive after a failover)."""
        platform = self.platform
        if region.role == "standby":
            platform = platform.model_copy(
                update={
                    "node_groups": tuple(
                        group if group.name == SYSTEM_GROUP else group.model_copy(update={"min_size": 0})
                        for group in platform.node_groups
                    )
                }
            )
        return self.model_copy(
            update={
                "region": region.region,
                "availability_zones": region.availability_zones,
                "network": self.network.model_copy(
                    update={"cidr": region.cidr, "transit_gateway_asn": region.transit_gateway_asn}
                ),
                "platform": platform,
            }
        )

    @property
    def region_config(self) -> RegionConfig:
        """The entry of `regions` this view of the stage is in."""
        return next(region for region in self.regions if region.region == self.region)

    @property
    def is_primary(self) -> bool:
        """Whether this is the stage in its primary region (`regions.0`), not a secondary's view of it."""
        return self.region == self.primary.region

    @property
    def traffic_role(self) -> RegionRole | None:
        """This region's role in the stage's traffic (Route 53 records by role); None in a single-region stage,
        whose load balancer has just its name."""
        return next(r.role for r in self.regions if r.region == self.region) if self.secondaries else None

    @property
    def region_suffix(self) -> str:
        """What a name that must be unique across the stage's regions (IAM, Route 53) adds in a secondary
        region: `-<region>`; nothing in the primary, whose names are those of a single-region stage."""
        return "" if self.is_primary else f"-{self.region}"

    @property
    def interface_endpoints(self) -> tuple[str, ...]:
        """network.interface_endpoints and those the enabled AI services are called through."""
        return (*self.network.interface_endpoints, *ai_interface_endpoints(self))

    @property
    def trail_name(self) -> str:
        """The CloudTrail trail's name; the data stack's audit-logs bucket admits exactly this trail."""
        return f"{self.tags.project}-{self.name}"

    @property
    def cluster_name(self) -> str:
        """The EKS cluster's name; the network stack tags the subnets Karpenter may use with it. A secondary
        region's carries the region: the cluster-admin role is named after it, and IAM names are global."""
        return f"{self.tags.project}-{self.name}{self.region_suffix}"


def cross_field_problems(config: StageConfig) -> list[tuple[str, str]]:
    """Checks that span fields, as (field path, message) pairs; empty when the stage is consistent."""
    problems: list[tuple[str, str]] = []
    azs = config.availability_zones
    if len(azs) != AZ_COUNT:
        problems.append(("availability_zones", f"expected {AZ_COUNT} availability zones, got {len(azs)}"))
    if len(set(azs)) != len(azs):
        problems.append(("availability_zones", "lists the same availability zone twice"))
    problems += availability_zone_problems("region", config.region, "availability_zones", azs)
    problems += arn_account_problems(config)

    problems += network_problems(config)
    problems += data_problems(config)
    problems += platform_problems(config)
    problems += workload_problems(config)
    problems += analytics_problems(config)
    problems += edge_problems(config)
    problems += region_problems(config)
    problems += observability_problems(config)
    problems += ai_problems(config)
    problems += recovery_problems(config)

    if config.is_production:
        if config.allow_destroy:
            problems.append(("allow_destroy", "prod must retain its data; allow_destroy cannot be true"))
        if config.network.nat_gateways != len(azs):
            problems.append(
                ("network.nat_gateways", "prod needs one NAT gateway per availability zone to survive an AZ loss")
            )
    return problems


ARN_ACCOUNT = re.compile(r"^arn:aws[a-z-]*:[a-z0-9-]+:[a-z0-9-]*:(\d{12}):")


def arn_account_problems(config: StageConfig) -> list[tuple[str, str]]:
    """Every ARN in the stage file names the stage's account: a principal or resource in another account
    fails the deploy (EKS rejects an access entry whose role it cannot find) or grants a stranger."""
    problems = []
    for field, value in _strings(config.model_dump(exclude={"name"})):
        found = ARN_ACCOUNT.match(value)
        if found and found.group(1) != config.account:
            problems.append((field, f"{value} is in account {found.group(1)}, not the stage's {config.account}"))
    return problems


def _strings(value: object, path: str = "") -> list[tuple[str, str]]:
    """(dotted field path, value) of every string in a dumped config."""
    if isinstance(value, dict):
        return [found for key, item in value.items() for found in _strings(item, f"{path}{key}.")]
    if isinstance(value, list | tuple):
        return [found for index, item in enumerate(value) for found in _strings(item, f"{path}{index}.")]
    return [(path.rstrip("."), value)] if isinstance(value, str) else []
