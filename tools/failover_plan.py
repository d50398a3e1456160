"""`make failover-plan STAGE=<stage>`: the ordered regional failover of a stage, read from its synthesized
assembly in cdk.out/ (never synthesizing: the plan is of what was built): the global database's clusters,
the secret replicas, the EFS replication destination, the DynamoDB replicas and replica buckets, the node
groups and Karpenter NodePools to scale per region, the Route 53 records and health checks and CloudFront's
origin groups, in the order of docs/recovery.md's runbook.

The stage file says which regions the stage has and which one it fails over to (`regions.1`); the templates
say what exists. A piece the failover needs that the assembly lacks is named and makes the exit status 1,
as does a stage with no secondary region or an assembly without the stage (one line each).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from environments.loader import ConfigError, load_stage
from environments.schema.stage import StageConfig
from tools.assembly import (
    LIVE_CONFIG,
    AssemblyError,
    CloudAssembly,
    Resource,
    StageAssembly,
    outdir_for,
    stale,
)

__all__ = ["AssemblyError", "FailoverPlan", "main", "plan"]

TOKEN = "<resolved at deploy>"


@dataclass
class FailoverPlan:
    """`steps`: (title, lines) in the runbook's order; `missing`: what the failover needs and lacks."""

    stage: str
    primary: str
    target: str
    steps: list[tuple[str, list[str]]] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)

    def render(self) -> str:
        lines = [f"Failover plan for {self.stage}: {self.primary} -> {self.target}"]
        for number, (title, body) in enumerate(self.steps, start=1):
            lines.append(f"{number}. {title}")
            lines += [f"   {line}" for line in body]
        lines += [f"missing: {item}" for item in self.missing]
        return "\n".join(lines)


def plan(assembly: StageAssembly, config: StageConfig) -> FailoverPlan:
    """The failover of `config`'s stage from `assembly`, its primary region to `regions.1`."""
    target = config.failover_region
    if target is None:
        raise AssemblyError(f"{config.name}: no secondary region in its stage file: nothing to fail over to")
    result = FailoverPlan(config.name, config.region, target.region)
    resources = list(assembly.resources())
    result.steps.append(
        (
            "Decide",
            [
                f"budget {config.recovery.decision_minutes} min (recovery.decision_minutes): AWS Health for "
                f"{config.region}, the PlatformDegraded alarm, the load balancer's alarms; announce the failover"
            ],
        )
    )
    result.steps.append(("Keep the traffic off the primary (Route 53)", _traffic(resources)))
    result.steps.append(("Promote the global database", _database(resources, config, target.region, result)))
    result.steps.append(
        ("Secrets: replicas to read, promote only to write", _secrets(resources, config.region, target.region, result))
    )
    result.steps.append(("Make the models file system writable", _file_system(resources, target.region, result)))
    result.steps.append(("DynamoDB and S3: nothing to promote", _tables_and_buckets(resources, target.region)))
    result.steps.append(("Scale the compute", _compute(resources, config, target.region, result)))
    result.steps.append(
        (
            "Verify",
            [
                "the public name answers from the target, the promoted cluster takes writes, every table replica is "
                "ACTIVE, the file system is writable, the target's alarms are green (docs/recovery.md)"
            ],
        )
    )
    return result


def _traffic(resources: list[Resource]) -> list[str]:
    checks = [r for r in resources if r.type == "AWS::Route53::HealthCheck"]
    records = [r for r in resources if r.type == "AWS::Route53::RecordSet"]
    lines = [
        f"health check {r.stack.name}/{r.logical_id} ({r.stack.region}): {_health_check_target(r)}; force it "
        f"unhealthy: aws route53 update-health-check --health-check-id <its id> --inverted"
        for r in checks
    ]
    if not checks:
        lines.append(
            "no Route 53 health checks in the assembly: nothing switches by itself; UPSERT the records below to "
            "the target's load balancer (aws route53 change-resource-record-sets)"
        )
    for record in records:
        p = record.properties
        routing = ", ".join(
            f"{key} {_text(p[key])}" for key in ("SetIdentifier", "Failover", "Region", "HealthCheckId") if key in p
        )
        lines.append(
            f"record {_text(p.get('Name'))} {p.get('Type')} in {record.stack.name}"
            + (f" ({routing})" if routing else " (a single record, no failover routing)")
        )
    if not records:
        lines.append("no Route 53 records in the assembly")
    return lines + _origin_groups(resources)


def _origin_groups(resources: list[Resource]) -> list[str]:
    """Each CloudFront origin group: which origin it falls back to, on what (automatic, request by request)."""
    lines = []
    for distribution in (r for r in resources if r.type == "AWS::CloudFront::Distribution"):
        config = distribution.properties.get("DistributionConfig", {})
        domains = {origin.get("Id"): _text(origin.get("DomainName")) for origin in config.get("Origins", [])}
        paths = {b.get("TargetOriginId"): b.get("PathPattern") for b in config.get("CacheBehaviors", [])}
        for group in config.get("OriginGroups", {}).get("Items", []):
            members = [domains.get(m.get("OriginId"), "?") for m in group.get("Members", {}).get("Items", [])]
            codes = group.get("FailoverCriteria", {}).get("StatusCodes", {}).get("Items", [])
            path = paths.get(group.get("Id"), "default")
            lines.append(
                f"CloudFront {distribution.stack.name} {path}: {' then '.join(members)} on "
                f"{', '.join(map(str, codes))} or no connection; nothing to do (per request)"
            )
    return lines


def _health_check_target(check: Resource) -> str:
    config = check.properties.get("HealthCheckConfig", {})
    where = config.get("FullyQualifiedDomainName") or config.get("IPAddress") or "?"
    return (
        f"{config.get('Type', '?')} {_text(where)}{_text(config.get('ResourcePath', ''))} every "
        f"{config.get('RequestInterval', 30)} s, unhealthy after {config.get('FailureThreshold', 3)}"
    )


def _database(resources: list[Resource], config: StageConfig, target: str, result: FailoverPlan) -> list[str]:
    globals_ = [r for r in resources if r.type == "AWS::RDS::GlobalCluster"]
    if config.data.database.engine != "aurora-serverless-v2":
        return ["PostgreSQL runs on RDS: no global database; restore from the newest copy in the target's "
                "BackupCopies vault (aws backup start-restore-job)"]  # fmt: skip
    if not globals_:
        result.missing.append("no AWS::RDS::GlobalCluster in the assembly: the database has no global database")
        return ["no global database"]
    (global_cluster,) = globals_
    identifier = _text(global_cluster.properties.get("GlobalClusterIdentifier"))
    members = {r.stack.region: r for r in resources if _joins(r, global_cluster)}
    lines = [f"global cluster {identifier} (primary {global_cluster.stack.region})"]
    for region in [r.region for r in config.secondaries]:
        member = members.get(region)
        if member is None:
            result.missing.append(f"no Aurora secondary cluster in {region} joined to {identifier}")
            continue
        cluster = _text(member.properties.get("DBClusterIdentifier"))
        lines.append(f"secondary cluster {cluster} in {region} ({member.stack.name})")
        if region == target:
            arn = f"arn:aws:rds:{region}:{member.stack.account}:cluster:{cluster}"
            lines += [
                f"aws rds failover-global-cluster --region {region} --global-cluster-identifier {identifier} "
                f"--target-db-cluster-identifier {arn} --allow-data-loss",
                f"  or, if the global cluster cannot be changed: aws rds remove-from-global-cluster --region {region} "
                f"--global-cluster-identifier {identifier} --db-cluster-identifier {arn}",
            ]
    return lines


def _joins(resource: Resource, global_cluster: Resource) -> bool:
    """Whether `resource` is a DB cluster that is a member of `global_cluster` (by name or by reference)."""
    if resource.type != "AWS::RDS::DBCluster":
        return False
    value = resource.properties.get("GlobalClusterIdentifier")
    if value == global_cluster.properties.get("GlobalClusterIdentifier"):
        return True
    output = value.get("Fn::GetStackOutput", {}) if isinstance(value, dict) else {}
    return (
        bool(output)
        and output.get("StackName") == global_cluster.stack.name
        and (global_cluster.logical_id in str(output.get("OutputName", "")))
    )


def _secrets(resources: list[Resource], primary: str, target: str, result: FailoverPlan) -> list[str]:
    """The primary's secrets with their replicas (a replicated one must reach the target), those that stay
    behind, and the target's own (created there, nothing to promote)."""
    lines = []
    alone = []
    own = []
    for secret in (r for r in resources if r.type == "AWS::SecretsManager::Secret"):
        name = _text(secret.properties.get("Name", secret.logical_id))
        regions = [entry.get("Region") for entry in secret.properties.get("ReplicaRegions", [])]
        if secret.stack.region == target:
            own.append(name)
        elif secret.stack.region != primary:
            continue
        elif not regions:
            alone.append(name)
        elif target not in regions:
            result.missing.append(f"secret {name} is replicated to {', '.join(regions)} but not to {target}")
        else:
            lines.append(f"{name}: replica in {', '.join(regions)}")
    lines.append(f"to write one in {target}: aws secretsmanager stop-replication-to-replica --region {target} "
                 "--secret-id <name>")  # fmt: skip
    if alone:
        lines.append(f"not replicated (stay with the primary's stores): {', '.join(sorted(alone))}")
    if own:
        lines.append(f"{target}'s own (its stores'): {', '.join(sorted(set(own)))}")
    return lines


def _file_system(resources: list[Resource], target: str, result: FailoverPlan) -> list[str]:
    lines = []
    for source in (r for r in resources if r.type == "AWS::EFS::FileSystem"):
        for destination in source.properties.get("ReplicationConfiguration", {}).get("Destinations", []):
            target_fs = destination.get("FileSystemId")
            output = target_fs.get("Fn::GetStackOutput", {}) if isinstance(target_fs, dict) else {}
            where = f"{output.get('StackName')}" if output else _text(target_fs)
            lines.append(
                f"{source.stack.name}/{source.logical_id} ({source.stack.region}) replicates to "
                f"{destination.get('Region')} ({where})"
            )
            if destination.get("Region") == target:
                lines.append(
                    f"aws efs delete-replication-configuration --region {target} --source-file-system-id <id of "
                    f"{source.logical_id}: aws cloudformation describe-stack-resource --region "
                    f"{source.stack.region} --stack-name {source.stack.name} --logical-resource-id "
                    f"{source.logical_id}>"
                )
    if not any(f"replicates to {target}" in line for line in lines):
        result.missing.append(f"no EFS replication destination in {target}: the models file system stays behind")
    return lines


def _tables_and_buckets(resources: list[Resource], target: str) -> list[str]:
    lines = []
    for table in (r for r in resources if r.type == "AWS::DynamoDB::GlobalTable"):
        regions = [replica.get("Region") for replica in table.properties.get("Replicas", [])]
        if target in regions:
            name = _text(table.properties.get("TableName", table.logical_id))
            lines.append(f"global table {table.stack.name}/{name}: replicas in {', '.join(map(_text, regions))}")
    lines += [
        f"replica bucket {_text(bucket.properties['BucketName'])}"
        for bucket in resources
        if bucket.type == "AWS::S3::Bucket" and bucket.stack.region == target and "BucketName" in bucket.properties
    ]
    return lines or [f"no table replicas or replica buckets in {target}"]


def _compute(resources: list[Resource], config: StageConfig, target: str, result: FailoverPlan) -> list[str]:
    roles = {region.region: region.role for region in config.regions}
    lines = []
    for region in [target, *(r.region for r in config.regions if r.region != target)]:
        groups = [r for r in resources if r.type == "AWS::EKS::Nodegroup" and r.stack.region == region]
        pools = [pool for r in resources if r.stack.region == region for pool in _node_pools(r)]
        if not groups and not pools:
            if region == target:
                result.missing.append(f"no node groups or Karpenter NodePools in {target}: nothing runs the workloads")
            lines.append(f"{region} ({roles[region]}): no compute in the assembly")
            continue
        lines.append(f"{region} ({roles[region]}):")
        for group in groups:
            scaling = group.properties.get("ScalingConfig", {})
            name = _text(group.properties.get("NodegroupName") or group.logical_id)
            lines.append(
                f"  node group {group.stack.name}/{name}: min {scaling.get('MinSize')}, desired "
                f"{scaling.get('DesiredSize')}, max {scaling.get('MaxSize')} (aws eks update-nodegroup-config)"
            )
        lines += [
            f"  Karpenter NodePool {name}: limits {limits} (kubectl patch nodepool {name})" for name, limits in pools
        ]
    return lines


def _node_pools(resource: Resource) -> Iterator[tuple[str, str]]:
    """(name, limits) of each Karpenter NodePool a Kubernetes manifest resource applies."""
    if resource.type != "Custom::AWSCDK-EKS-KubernetesResource":
        return
    manifest = resource.properties.get("Manifest")
    # Deploy-time values sit inside the manifest's JSON strings: a placeholder keeps it parseable.
    parts = manifest["Fn::Join"][1] if isinstance(manifest, dict) else [manifest]
    text = "".join(part if isinstance(part, str) else "?" for part in parts)
    if "NodePool" not in text:
        return
    for document in json.loads(text):
        if document.get("kind") == "NodePool":
            limits = document.get("spec", {}).get("limits", {})
            yield document["metadata"]["name"], ", ".join(f"{k} {v}" for k, v in limits.items()) or "none"


def _text(value: Any) -> str:
    """A template value as text: literals as they are, intrinsics as the marker of a deploy-time value."""
    return value if isinstance(value, str) else str(value) if isinstance(value, int | float) else TOKEN


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make failover-plan", description=__doc__)
    parser.add_argument("--stage", required=True)
    parser.add_argument("--config-dir", type=Path, default=LIVE_CONFIG)
    parser.add_argument("--outdir", type=Path, help="the cloud assembly (default: cdk.out/ for --config-dir)")
    args = parser.parse_args(argv)
    try:
        config = load_stage(args.stage, args.config_dir)
        if not config.secondaries:
            raise AssemblyError(f"{args.stage}: no secondary region in its stage file: nothing to fail over to")
        outdir = args.outdir or outdir_for(args.config_dir)
        assembly = CloudAssembly.read(outdir).stage(args.stage)
        reason = stale(outdir, [args.stage], config_dir=args.config_dir)
        if reason is not None:
            print(f"warning: {outdir} may not be what a deploy would build ({reason}): run make synth "
                  f"STAGE={args.stage} for the current plan", file=sys.stderr)  # fmt: skip
        result = plan(assembly, config)
    except ConfigError as error:
        print("\n".join(error.problems), file=sys.stderr)
        return 1
    except AssemblyError as error:
        print(error, file=sys.stderr)
        return 1
    print(result.render())
    if result.missing:
        print(f"{args.stage}: the failover cannot run as planned: {len(result.missing)} missing", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
