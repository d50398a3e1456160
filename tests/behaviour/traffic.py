"""How requests find a region, read from a stage's templates (every region's): each DNS name the stage's zone
holds resolves, through its records and the aliases between them, to the load balancers it can answer with,
and each record says what takes it out of the answers (its health check, its target's health).

`traffic_failures` states what a stage with several regions needs: every region's load balancer has its own
name and a record that Route 53 checks (a health check on an alarm in that region watching that load balancer,
or the load balancer's target health); every active region is in the active latency set, a standby only in
the standby set, which only the shared name's failover SECONDARY reaches; and CloudFront's origin resolves to
load balancers the stage creates. CloudFront's read-only images path fails over too (`images_failover_failures`):
an origin group whose primary is a bucket of the primary region and whose fallback is a bucket that bucket
replicates to, in the stage's images_failover_region. A single-region stage: the shared name aliases its load
balancer, and no distribution has an origin group.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from constructs.edge.edge_distribution import IMAGES_PATH

from environments.schema.regions import images_failover_region, regional_hostname, role_set_hostname
from environments.schema.stage import StageConfig
from tests.behaviour.templates import StackTemplate, attribute, literal, nested_dicts, target

LOAD_BALANCER = "AWS::ElasticLoadBalancingV2::LoadBalancer"
S3_FAILURE_CODES = frozenset({500, 502, 503, 504, 403, 404})
"""What an S3 origin answers when it cannot serve an object (CloudFront's origin-group guide for S3 origins:
its 5xx, and 403/404 for an object it lacks or a key it cannot use): each must send the request on."""
S3_REGIONAL_DOMAIN = re.compile(r"^(?P<name>.*)\.s3\.(?P<region>[a-z0-9-]+)\.amazonaws\.com$")


@dataclass(frozen=True)
class Record:
    """One record set: where it is, its name, routing and what its alias points at."""

    stack: StackTemplate
    logical_id: str
    props: dict[str, Any]

    @property
    def name(self) -> str:
        return (literal(self.props.get("Name")) or "").lower().rstrip(".")

    @property
    def where(self) -> str:
        return self.stack.where(self.logical_id)

    @property
    def balancer(self) -> tuple[StackTemplate, str] | None:
        """The load balancer the record aliases (through its dual-stack name), if any."""
        for value in nested_dicts(self.props.get("AliasTarget", {}).get("DNSName")):
            found = target(self.stack, value, [self.stack])
            if found and found[0].type_of(found[1]) == LOAD_BALANCER:
                return found
        return None

    @property
    def aliased_name(self) -> str | None:
        """The name in the stage's zone the record aliases, when it aliases a record there."""
        alias = self.props.get("AliasTarget", {})
        if alias and literal(alias.get("HostedZoneId")) == literal(self.props.get("HostedZoneId")):
            return (literal(alias.get("DNSName")) or "").lower().rstrip(".") or None
        return None

    @property
    def evaluates_target(self) -> bool:
        return bool(self.props.get("AliasTarget", {}).get("EvaluateTargetHealth"))


def records(stacks: Sequence[StackTemplate]) -> dict[str, list[Record]]:
    """Every record set of the stage's templates, by name."""
    found: dict[str, list[Record]] = defaultdict(list)
    for stack in stacks:
        for logical_id, props in stack.of_type("AWS::Route53::RecordSet"):
            record = Record(stack, logical_id, props)
            found[record.name].append(record)
    return found


def resolves_to(name: str, by_name: dict[str, list[Record]], seen: frozenset[str] = frozenset()) -> set[str]:
    """The regions whose load balancers `name` can answer with, following aliases within the zone."""
    regions: set[str] = set()
    for record in by_name.get(name, []):
        inner = record.aliased_name
        if record.balancer or (inner and inner not in seen):
            regions |= answers(record, by_name, seen | {name})
    return regions


def answers(record: Record, by_name: dict[str, list[Record]], seen: frozenset[str] = frozenset()) -> set[str]:
    """The regions one record can answer with."""
    if record.balancer:
        return {record.balancer[0].region}
    inner = record.aliased_name
    return resolves_to(inner, by_name, seen | {record.name}) if inner and inner not in seen else set()


def health_check_failures(record: Record, stacks: Sequence[StackTemplate]) -> list[str]:
    """A record's health check reads an alarm in the load balancer's region that watches that load balancer."""
    balancer = record.balancer
    health_check = record.props.get("HealthCheckId")
    if health_check is None:
        return [] if record.evaluates_target else [f"{record.where}: neither a health check nor target health"]
    found = target(record.stack, health_check, stacks)
    if not (found and found[0].type_of(found[1]) == "AWS::Route53::HealthCheck"):
        return [f"{record.where}: its HealthCheckId is no health check of the stage"]
    config = found[0].resources[found[1]]["Properties"]["HealthCheckConfig"]
    alarm_id = config.get("AlarmIdentifier", {})
    if config.get("Type") != "CLOUDWATCH_METRIC":
        return []
    alarm = target(found[0], alarm_id.get("Name"), stacks)
    if not (alarm and alarm[0].type_of(alarm[1]) == "AWS::CloudWatch::Alarm"):
        return [f"{record.where}: its health check names an alarm the stage does not create"]
    if alarm[0].region != alarm_id.get("Region"):
        return [f"{record.where}: its health check looks for its alarm in {alarm_id.get('Region')}, "
                f"not {alarm[0].region} where it is"]  # fmt: skip
    dimensions = alarm[0].resources[alarm[1]]["Properties"].get("Dimensions", [])
    watched = [d["Value"] for d in dimensions if d.get("Name") == "LoadBalancer"]
    if balancer and not any(
        target(alarm[0], value, stacks) == balancer and attribute(value) == "LoadBalancerFullName" for value in watched
    ):
        return [f"{record.where}: its health check's alarm does not watch {balancer[0].where(balancer[1])}"]
    return []


def ingress_balancers(stacks: Sequence[StackTemplate]) -> dict[str, tuple[StackTemplate, str]]:
    """The internet-facing load balancer of each region, by region."""
    return {
        stack.region: (stack, logical_id)
        for stack in stacks
        for logical_id, props in stack.of_type(LOAD_BALANCER)
        if props.get("Scheme") == "internet-facing"
    }


def cloudfront_origins(stacks: Sequence[StackTemplate]) -> Iterator[tuple[str, str]]:
    """(distribution, origin domain) of every custom origin a distribution's behaviours use."""
    for stack in stacks:
        for logical_id, props in stack.of_type("AWS::CloudFront::Distribution"):
            config = props["DistributionConfig"]
            for origin in config.get("Origins", []):
                if "CustomOriginConfig" in origin:
                    domain = (literal(origin.get("DomainName")) or json.dumps(origin.get("DomainName"))).lower()
                    yield stack.where(logical_id), domain


def traffic_failures(stacks: Sequence[StackTemplate], config: StageConfig) -> list[str]:
    """What keeps a stage's regions from serving or failing over (see the module's docstring)."""
    domain = config.platform.ingress.domain_name
    by_name = records(stacks)
    balancers = ingress_balancers(stacks)
    failures = [
        f"{config.name}: {region.region} has no ingress load balancer"
        for region in config.regions
        if region.region not in balancers
    ]
    failures += images_failover_failures(stacks, config)
    failures += [
        f"{where}: CloudFront's origin {origin} reaches no load balancer of the stage"
        for where, origin in cloudfront_origins(stacks)
        if origin.startswith(domain) or origin.endswith(f".{domain}")
        if not resolves_to(origin, by_name)
    ]
    if not config.secondaries:
        if not resolves_to(domain, by_name):
            failures.append(f"{config.name}: {domain} aliases no load balancer")
        return failures
    for region in config.regions:
        own = regional_hostname(domain, region.region)
        if resolves_to(own, by_name) != {region.region}:
            failures.append(f"{config.name}: {own} answers with {sorted(resolves_to(own, by_name))}")
        members = [r for r in by_name.get(role_set_hostname(domain, region.role), []) if r.balancer
                   and r.balancer[0].region == region.region]  # fmt: skip
        if not members:
            failures.append(f"{config.name}: {region.region} is not in the {region.role} latency set")
        for record in members:
            if (record.props.get("Region"), record.props.get("SetIdentifier")) != (region.region, region.region):
                failures.append(f"{record.where}: latency Region and SetIdentifier are not {region.region}")
            failures += health_check_failures(record, stacks)
    standbys = {region.region for region in config.regions if region.role == "standby"}
    actives = {region.region for region in config.regions if region.role == "active"}
    served = resolves_to(role_set_hostname(domain, "active"), by_name)
    if served != actives:
        failures.append(f"{config.name}: the active set answers with {sorted(served)}, not {sorted(actives)}")
    for failover, regions in (("PRIMARY", actives), ("SECONDARY", standbys)):
        reached = {
            region
            for record in by_name.get(domain, [])
            if record.props.get("Failover", "PRIMARY") == failover
            for region in answers(record, by_name)
        }
        if reached != regions:
            failures.append(
                f"{config.name}: {domain} answers {'first' if failover == 'PRIMARY' else 'on failover'} with "
                f"{sorted(reached)}, not {sorted(regions)}"
            )
    return failures


def origin_bucket(
    stack: StackTemplate, origin: dict[str, Any], stacks: Sequence[StackTemplate]
) -> tuple[StackTemplate, str] | None:
    """The stage's bucket an S3 origin reads, by its regional domain name: a bucket the distribution's stack
    references (`<Ref>.s3.<region>.amazonaws.com`), or one named in that region; None for anything else."""
    domain = origin.get("DomainName")
    if "S3OriginConfig" not in origin:
        return None
    if isinstance(domain, dict) and set(domain) == {"Fn::Join"} and domain["Fn::Join"][0] == "":
        head, *rest = domain["Fn::Join"][1]
        suffix = "".join(rest) if all(isinstance(part, str) for part in rest) else ""
        found = S3_REGIONAL_DOMAIN.fullmatch(f"x{suffix}")
        bucket = target(stack, head, stacks)
        if found and bucket and bucket[0].type_of(bucket[1]) == "AWS::S3::Bucket":
            return bucket if bucket[0].region == found["region"] else None
        return None
    found = S3_REGIONAL_DOMAIN.match(domain) if isinstance(domain, str) else None
    return next(
        (
            (other, logical_id)
            for other in stacks
            if found and other.region == found["region"]
            for logical_id, props in other.of_type("AWS::S3::Bucket")
            if props.get("BucketName") == found["name"]
        ),
        None,
    )


def replicates_to(source: tuple[StackTemplate, str], replica: tuple[StackTemplate, str]) -> bool:
    """Whether `source`'s replication rules copy its objects into `replica` (named, as replicas are)."""
    name = replica[0].resources[replica[1]]["Properties"].get("BucketName")
    rules = source[0].resources[source[1]]["Properties"].get("ReplicationConfiguration", {}).get("Rules", [])
    destinations = [literal(rule.get("Destination", {}).get("Bucket")) or "" for rule in rules]
    return any(rule.get("Status") == "Enabled" for rule in rules) and any(
        destination.split(":::", 1)[-1] == name for destination in destinations
    )


def images_failover_failures(stacks: Sequence[StackTemplate], config: StageConfig) -> list[str]:
    """What keeps CloudFront's images path from failing over to the stage's images_failover_region (see the
    module's docstring); without one, no distribution may have an origin group."""
    failures = []
    expected = images_failover_region(config)
    for stack in stacks:
        for logical_id, props in stack.of_type("AWS::CloudFront::Distribution"):
            where, distribution = stack.where(logical_id), props["DistributionConfig"]
            origins = {origin.get("Id"): origin for origin in distribution.get("Origins", [])}
            groups = {group.get("Id"): group for group in distribution.get("OriginGroups", {}).get("Items", [])}
            if expected is None:
                failures += [f"{where}: origin group {group}, but no region to fail over to" for group in groups]
                continue
            behaviours = [b for b in distribution.get("CacheBehaviors", []) if b.get("PathPattern") == IMAGES_PATH]
            group = groups.get(behaviours[0].get("TargetOriginId")) if behaviours else None
            if group is None:
                failures.append(f"{where}: {IMAGES_PATH} reads no origin group, so it never fails over")
                continue
            members = [member.get("OriginId") for member in group.get("Members", {}).get("Items", [])]
            found = [origin_bucket(stack, origins.get(member, {}), stacks) for member in members]
            buckets = [bucket for bucket in found if bucket is not None]
            codes = set(group.get("FailoverCriteria", {}).get("StatusCodes", {}).get("Items", []))
            if missing := sorted(S3_FAILURE_CODES - codes):
                failures.append(f"{where}: {IMAGES_PATH}'s origin group does not fail over on {missing}")
            if len(found) != 2 or len(buckets) != 2:
                failures.append(f"{where}: {IMAGES_PATH}'s origin group is {members}, not two buckets of the stage")
                continue
            primary, fallback = buckets
            if primary[0].region != config.region:
                failures.append(f"{where}: {IMAGES_PATH} reads {primary[0].where(primary[1])} first, not a bucket "
                                f"of the primary region {config.region}")  # fmt: skip
            if fallback[0].region != expected.region:
                failures.append(f"{where}: {IMAGES_PATH} falls back to {fallback[0].where(fallback[1])}, not a "
                                f"bucket in {expected.region} (images_failover_region)")  # fmt: skip
            if not replicates_to(primary, fallback):
                failures.append(f"{where}: {IMAGES_PATH} falls back to {fallback[0].where(fallback[1])}, which "
                                f"{primary[0].where(primary[1])} does not replicate to")  # fmt: skip
    return failures
