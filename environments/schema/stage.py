"""The stage model (environments/<stage>.yaml) that composes every section, and the checks that span them.

Field validators check one value; `cross_field_problems` checks what needs several (the subnet plan, AZs
against the region, prod rules), one section module at a time."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import Field

from environments.schema.analytics import AnalyticsConfig, analytics_problems
from environments.schema.base import AZ_COUNT, PRODUCTION_STAGE, ConfigModel, TagsConfig, YamlList
from environments.schema.compute import PlatformConfig, platform_problems
from environments.schema.data import DataConfig, KmsConfig, data_problems
from environments.schema.edge import EdgeConfig, edge_problems
from environments.schema.network import NetworkConfig, network_problems
from environments.schema.observability import ObservabilityConfig
from environments.schema.regions import DisasterRecoveryConfig, region_problems


class StageConfig(ConfigModel):
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

    problems += network_problems(config)
    problems += data_problems(config)
    problems += platform_problems(config)
    problems += analytics_problems(config)
    problems += edge_problems(config)
    problems += region_problems(config)
    alerting = config.observability.alerting
    if (alerting.slack_workspace_id is None) != (alerting.slack_channel_id is None):
        problems.append(("observability.alerting", "set both slack_workspace_id and slack_channel_id, or neither"))

    if config.is_production:
        if config.allow_destroy:
            problems.append(("allow_destroy", "prod must retain its data; allow_destroy cannot be true"))
        if config.network.nat_gateways != len(azs):
            problems.append(
                ("network.nat_gateways", "prod needs one NAT gateway per availability zone to survive an AZ loss")
            )
    return problems
