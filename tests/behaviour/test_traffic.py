"""It works once deployed, across regions (tests/behaviour/traffic.py): every region's load balancer has its
own name and a checked record, every active region answers for the shared name first, the standby only on
failover, CloudFront's origin reaches the stage's load balancers, and its images path falls back to the images
replica in the stage's images_failover_region. Each break below is made on a copy of a stage's templates and
must be named; a stage with one region has only the breaks that apply to it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from environments.schema.regions import (
    images_failover_region,
    regional_hostname,
    replica_bucket_name,
    role_set_hostname,
)
from environments.schema.stage import StageConfig
from tests.behaviour.templates import StackTemplate, copied, stage_stacks
from tests.behaviour.traffic import traffic_failures
from tests.synthesis import SynthesizedPlatform

Break = Callable[[list[StackTemplate], StageConfig], bool]
"""Changes copies of the stage's templates in place; False when the stage has nothing it breaks."""


def test_every_region_is_reachable_and_checked(platform: SynthesizedPlatform, stage: str) -> None:
    stacks, config = stage_stacks(platform, stage), platform.configs[stage]
    assert not (failures := traffic_failures(stacks, config)), "\n".join(failures)


def _records(stacks: list[StackTemplate], name: str) -> list[tuple[StackTemplate, str, dict[str, Any]]]:
    return [
        (stack, logical_id, resource)
        for stack in stacks
        for logical_id, resource in stack.resources.items()
        if resource["Type"] == "AWS::Route53::RecordSet"
        and str(resource["Properties"].get("Name", "")).lower().rstrip(".") == name
    ]


def _drop_a_region(stacks: list[StackTemplate], config: StageConfig) -> bool:
    """The last region's record in its role's set goes (a single region: the shared name's record)."""
    domain = config.platform.ingress.domain_name
    region = config.regions[-1]
    name = role_set_hostname(domain, region.role) if config.secondaries else domain
    for stack, logical_id, _ in _records(stacks, name):
        if stack.region == region.region:
            del stack.resources[logical_id]  # type: ignore[attr-defined]
            return True
    return False


def _same_name_in_two_regions(stacks: list[StackTemplate], config: StageConfig) -> bool:
    """The second region's own name is set to the primary's (as a copy-pasted record would be)."""
    if not config.secondaries:
        return False
    domain = config.platform.ingress.domain_name
    second = config.regions[1].region
    for _, _, resource in _records(stacks, regional_hostname(domain, second)):
        resource["Properties"]["Name"] = f"{regional_hostname(domain, config.region)}."
        return True
    return False


def _standby_in_the_active_set(stacks: list[StackTemplate], config: StageConfig) -> bool:
    """A standby region's latency record joins the active set: it would take traffic before any failover."""
    domain = config.platform.ingress.domain_name
    found = _records(stacks, role_set_hostname(domain, "standby"))
    for _, _, resource in found:
        resource["Properties"]["Name"] = f"{role_set_hostname(domain, 'active')}."
    return bool(found)


def _unchecked_region(stacks: list[StackTemplate], config: StageConfig) -> bool:
    """An active region's latency record loses its health check and its target health."""
    found = _records(stacks, role_set_hostname(config.platform.ingress.domain_name, "active"))
    for _, _, resource in found[-1:]:
        resource["Properties"].pop("HealthCheckId")
        resource["Properties"]["AliasTarget"]["EvaluateTargetHealth"] = False
    return bool(found)


def _alarm_elsewhere(stacks: list[StackTemplate], config: StageConfig) -> bool:
    """A health check looks for its alarm in another region than the alarm's."""
    found = [r for s in stacks for r in s.resources.values() if r["Type"] == "AWS::Route53::HealthCheck"]
    for resource in found[-1:]:
        resource["Properties"]["HealthCheckConfig"]["AlarmIdentifier"]["Region"] = "us-west-2"
    return bool(found)


def _origin_without_a_load_balancer(stacks: list[StackTemplate], config: StageConfig) -> bool:
    """CloudFront's origin is the name of a region the stage has no load balancer in."""
    changed = False
    for stack in stacks:
        for _, props in stack.of_type("AWS::CloudFront::Distribution"):
            for origin in props["DistributionConfig"]["Origins"]:
                if "CustomOriginConfig" in origin:
                    origin["DomainName"] = regional_hostname(config.platform.ingress.domain_name, "us-west-2")
                    changed = True
    return changed


def _origin_groups(stacks: list[StackTemplate]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(distribution config, origin group) of every origin group of the stage's distributions."""
    return [
        (props["DistributionConfig"], group)
        for stack in stacks
        for _, props in stack.of_type("AWS::CloudFront::Distribution")
        for group in props["DistributionConfig"].get("OriginGroups", {}).get("Items", [])
    ]


def _images_without_failover(stacks: list[StackTemplate], config: StageConfig) -> bool:
    """The images behaviour reads the primary bucket's origin itself, not the group (as before the group)."""
    found = _origin_groups(stacks)
    for distribution, group in found:
        for behaviour in distribution.get("CacheBehaviors", []):
            if behaviour["TargetOriginId"] == group["Id"]:
                behaviour["TargetOriginId"] = group["Members"]["Items"][0]["OriginId"]
    return bool(found)


def _fallback_to(bucket: str, region: Callable[[StageConfig], str]) -> Break:
    """The group's fallback origin reads the replica of `bucket` in `region` instead (a copy-pasted name)."""

    def apply(stacks: list[StackTemplate], config: StageConfig) -> bool:
        found = _origin_groups(stacks)
        for distribution, group in found:
            fallback = group["Members"]["Items"][1]["OriginId"]
            for origin in distribution["Origins"]:
                if origin["Id"] == fallback:
                    where = region(config)
                    origin["DomainName"] = f"{replica_bucket_name(config, bucket, where)}.s3.{where}.amazonaws.com"
        return bool(found)

    return apply


def _other_secondary(config: StageConfig) -> str:
    chosen = images_failover_region(config)
    return next(r.region for r in config.secondaries if chosen and r.region != chosen.region)


def _failover_region(config: StageConfig) -> str:
    chosen = images_failover_region(config)
    assert chosen is not None
    return chosen.region


def _no_failover_on_404(stacks: list[StackTemplate], config: StageConfig) -> bool:
    """The group fails over on 5xx only (CDK's default), not on the 403/404 an S3 origin answers."""
    found = _origin_groups(stacks)
    for _, group in found:
        group["FailoverCriteria"]["StatusCodes"] = {"Quantity": 4, "Items": [500, 502, 503, 504]}
    return bool(found)


BREAKS: dict[str, Break] = {
    "drop-a-region": _drop_a_region,
    "same-name-in-two-regions": _same_name_in_two_regions,
    "standby-in-the-active-set": _standby_in_the_active_set,
    "unchecked-region": _unchecked_region,
    "alarm-elsewhere": _alarm_elsewhere,
    "origin-without-a-load-balancer": _origin_without_a_load_balancer,
    "images-without-failover": _images_without_failover,
    "images-fall-back-to-another-region": _fallback_to("images", _other_secondary),
    "images-fall-back-to-a-bucket-nothing-replicates-to": _fallback_to("models", _failover_region),
    "images-fail-over-on-5xx-only": _no_failover_on_404,
}


@pytest.mark.parametrize("name", BREAKS)
def test_each_break_is_named(platform: SynthesizedPlatform, stage: str, name: str) -> None:
    config = platform.configs[stage]
    stacks = [stack.relabelled(template=copied(dict(stack.template))) for stack in stage_stacks(platform, stage)]
    if not BREAKS[name](stacks, config):
        pytest.skip(f"{stage} has nothing this break applies to")
    failures = traffic_failures(stacks, config)
    assert failures, f"{name} went unnoticed"
    assert all(stage in failure for failure in failures), failures


def test_every_break_applies_to_a_stage(platform: SynthesizedPlatform) -> None:
    """No break is skipped on every stage: each proves the contract somewhere."""
    unused = []
    for name, breaks in BREAKS.items():
        applied = False
        for stage in platform.stages:
            stacks = [s.relabelled(template=copied(dict(s.template))) for s in stage_stacks(platform, stage)]
            applied = applied or breaks(stacks, platform.configs[stage])
        if not applied:
            unused.append(name)
    assert not unused, f"breaks no stage has anything for: {unused}"
