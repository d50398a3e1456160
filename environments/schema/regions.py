"""The `dr:` section: the stage's secondary region, its VPC, Transit Gateway ASN and what replicates there."""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import Field

from environments.schema.base import AZ_COUNT, ConfigModel, PrivateAsn, YamlList, availability_zone_problems, cidr

if TYPE_CHECKING:
    from environments.schema.stage import StageConfig


ReplicableBucket = Literal[
    "knowledge_documents", "document_chunks", "user_uploads", "backups", "images", "models"
]  # fmt: skip


class DisasterRecoveryConfig(ConfigModel):
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


def region_problems(config: StageConfig) -> list[tuple[str, str]]:
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
    if dr.region:
        problems += availability_zone_problems("dr.region", dr.region, "dr.availability_zones", dr.availability_zones)
    if dr.cidr:
        try:
            cidr(dr.cidr)
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


def stage_networks(config: StageConfig) -> list[tuple[str, str, str]]:
    """(field, region, CIDR) of every VPC the stage builds: its own and its secondary region's."""
    networks = [("network.cidr", config.region, config.network.cidr)]
    if config.dr.enabled and config.dr.cidr:
        networks.append(("dr.cidr", config.dr.region, config.dr.cidr))
    return networks


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
