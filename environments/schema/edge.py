"""The `edge:` section: CloudFront, its certificate, DNS and Shield (constructs/edge/)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import Field

from environments.schema.base import ConfigModel, RetentionDays

if TYPE_CHECKING:
    from environments.schema.stage import StageConfig


class EdgeConfig(ConfigModel):
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


def edge_problems(config: StageConfig) -> list[tuple[str, str]]:
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
