"""The `network:` section: the three-tier VPC plan, endpoints, flow logs, the regional WAF and the Transit
Gateway ASN (constructs/network/), and the checks that the subnet plan fits the VPC."""

from __future__ import annotations

import ipaddress
import re
from typing import TYPE_CHECKING, Annotated

from pydantic import AfterValidator, Field

from environments.schema.base import Cidr, ConfigModel, PrivateAsn, RetentionDays, YamlList

if TYPE_CHECKING:
    from environments.schema.stage import StageConfig

TIER_NAMES = ("public", "app", "data")
"""VPC tiers in address order; each owns one quarter of the VPC CIDR, the fourth quarter stays free."""


def _endpoint_service(value: str) -> str:
    if not re.fullmatch(r"[a-z0-9-]+(\.[a-z0-9-]+)*", value):
        raise ValueError(f"{value!r} is not an AWS service endpoint name such as 'ecr.api'")
    return value


EndpointService = Annotated[str, AfterValidator(_endpoint_service)]


SubnetPrefix = Annotated[int, Field(ge=16, le=28)]


CountryCode = Annotated[str, Field(pattern=r"^[A-Z]{2}$")]


class SubnetPrefixConfig(ConfigModel):
    """Prefix length of each tier's subnets (one per AZ); seed 001 uses /20 for all three."""

    public: SubnetPrefix
    app: SubnetPrefix
    data: SubnetPrefix


class FlowLogConfig(ConfigModel):
    """VPC flow logs (all traffic) to a KMS-encrypted CloudWatch log group."""

    retention_days: RetentionDays


class WafConfig(ConfigModel):
    """Regional WAF web ACL in front of the application load balancer."""

    rate_limit: int = Field(ge=10, le=2_000_000_000, description="requests per IP per 5 minutes")
    geo_block: Annotated[tuple[CountryCode, ...], YamlList] = ()
    log_retention_days: RetentionDays


class NetworkConfig(ConfigModel):
    """The VPC, its three tiers, egress and private access to AWS services."""

    cidr: Cidr = Field(description="the region's VPC: filled in from regions (StageConfig)")
    subnet_prefix: SubnetPrefixConfig
    nat_gateways: int = Field(ge=1)
    interface_endpoints: Annotated[tuple[EndpointService, ...], YamlList] = Field(min_length=1)
    flow_logs: FlowLogConfig
    waf: WafConfig
    transit_gateway_asn: PrivateAsn = Field(
        default=64512, description="the region's Transit Gateway ASN, from regions; built only with peers (seed 000)"
    )


def tier_blocks(cidr: str) -> dict[str, ipaddress.IPv4Network]:
    """Split the VPC CIDR in quarters and give one to each tier, in TIER_NAMES order (seed 001's plan)."""
    quarters = list(ipaddress.IPv4Network(cidr).subnets(prefixlen_diff=2))
    return dict(zip(TIER_NAMES, quarters, strict=False))


def subnet_cidrs(cidr: str, tier: str, prefix: int, az_count: int) -> list[str]:
    """The first `az_count` subnets of size `prefix` inside the tier's block, one per AZ, in AZ order."""
    block = tier_blocks(cidr)[tier]
    return [str(net) for _, net in zip(range(az_count), block.subnets(new_prefix=prefix), strict=False)]


def network_problems(config: StageConfig) -> list[tuple[str, str]]:
    """The subnet plan fits the VPC, NAT gateways fit the AZs, no endpoint is listed twice."""
    problems: list[tuple[str, str]] = []
    azs = config.availability_zones
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

    return problems
