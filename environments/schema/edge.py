"""The `edge:` section: CloudFront, its certificate, DNS, Shield and origin verification (constructs/edge/)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import Field

from environments.schema.base import ConfigModel, RetentionDays

if TYPE_CHECKING:
    from environments.schema.stage import StageConfig

EDGE_REGION = "us-east-1"
"""Where CloudFront's certificates and CLOUDFRONT-scope web ACLs live, and so the edge stack."""
IMAGES_CONNECTION_ATTEMPTS = 2
IMAGES_CONNECTION_TIMEOUT_SECONDS = 5
"""How long CloudFront tries the images bucket before its replica when it cannot connect: 2 attempts of 5 s
(CloudFront's default is 3 of 10 s, 30 s per request before failing over); one retry still rides out a blip.
Here, not in the construct, because the recovery model times the images path's failover with them."""
RETIRED_FIELDS = {
    "edge.origin_domain_name": "derived now: CloudFront's origin is the ingress load balancer's name in the "
    "zone, platform.ingress.domain_name; remove this key",
    "edge.primary_origin_target": "derived now: CloudFront's origin is the ingress load balancer the platform "
    "stack creates; remove this key",
    "edge.secondary_origin_target": "derived now: a secondary origin would be the ingress load balancer of a "
    "platform stack in dr.region, which this release does not build; remove this key",
}
"""Keys stage files used to have, with why they are gone."""
VersionId = Field(default=None, pattern=r"^[A-Za-z0-9-]{32,64}$")


class OriginVerifyConfig(ConfigModel):
    """Which versions of the origin-verification secret are in use (README: rotating it). Unset: its current
    value. During a rotation the listener accepts both, and CloudFront sends the current one."""

    current_version_id: str | None = VersionId
    previous_version_id: str | None = VersionId


class EdgeConfig(ConfigModel):
    """CloudFront in front of the stage (seeds 000, 002), served from us-east-1 whatever the stage's region."""

    enabled: bool
    domain_name: str = Field(default="", pattern=r"^$|^([a-z0-9-]+\.)+[a-z]{2,}$")
    hosted_zone_id: str = Field(default="", pattern=r"^$|^Z[A-Z0-9]{8,31}$")
    hosted_zone_name: str = Field(default="", pattern=r"^$|^([a-z0-9-]+\.)+[a-z]{2,}$")
    shield_advanced: bool = Field(default=False, description="needs an existing Shield Advanced subscription")
    log_retention_days: RetentionDays = 365
    origin_verify: OriginVerifyConfig = OriginVerifyConfig()


def edge_problems(config: StageConfig) -> list[tuple[str, str]]:
    edge = config.edge
    if not edge.enabled:
        return []
    problems = [
        (f"edge.{field}", "required when the edge is enabled")
        for field in ("domain_name", "hosted_zone_id", "hosted_zone_name")
        if not getattr(edge, field)
    ]
    if (
        edge.domain_name
        and edge.hosted_zone_name
        and not (edge.domain_name == edge.hosted_zone_name or edge.domain_name.endswith(f".{edge.hosted_zone_name}"))
    ):
        problems.append(("edge.domain_name", f"{edge.domain_name} is not in the zone {edge.hosted_zone_name}"))
    if edge.domain_name == config.platform.ingress.domain_name:
        problems.append(
            ("edge.domain_name", "must differ from platform.ingress.domain_name, the origin CloudFront connects to")
        )
    versions = edge.origin_verify
    if versions.previous_version_id and not versions.current_version_id:
        problems.append(("edge.origin_verify.previous_version_id", "needs current_version_id (the value sent now)"))
    if versions.previous_version_id and versions.previous_version_id == versions.current_version_id:
        problems.append(("edge.origin_verify.previous_version_id", "is current_version_id; leave it unset instead"))
    return problems
