"""`make destroy STAGE=<stage>`: tear a stage down, stack by stack in the reverse of the deploy order, after
the operator types the stage's name (or passes CONFIRM=<stage>); refused for a stage whose file does not
set `allow_destroy: true`. Then it lists what survives by design, retained and snapshotted resources,
object-locked buckets and what exists once per account, with how to remove each.

Needs credentials for the stage's account; the survivors' names are read from CloudFormation before the
stacks go.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from environments.loader import ConfigError, load_stage
from tools import aws
from tools.assembly import LIVE_CONFIG, AssemblyError, Resource, StageAssembly, ensure
from tools.preflight import assembly_needs

REMOVAL: dict[str, str] = {
    "AWS::S3::Bucket": "aws s3 rb s3://{id} --force",
    "AWS::KMS::Key": "aws kms schedule-key-deletion --key-id {id} --pending-window-in-days 7",
    "AWS::Logs::LogGroup": "aws logs delete-log-group --log-group-name {id}",
    "AWS::Logs::LogStream": "goes with its log group",
    "AWS::DynamoDB::GlobalTable": (
        "aws dynamodb update-table --table-name {id} --no-deletion-protection-enabled, then aws dynamodb delete-table"
        " --table-name {id}"
    ),
    "AWS::DynamoDB::Table": "aws dynamodb delete-table --table-name {id}",
    "AWS::RDS::DBCluster": (
        "its final snapshot stays: aws rds delete-db-cluster-snapshot --db-cluster-snapshot-identifier ..."
    ),
    "AWS::RDS::DBInstance": "its final snapshot stays: aws rds delete-db-snapshot --db-snapshot-identifier",
    "AWS::RDS::GlobalCluster": "aws rds delete-global-cluster --global-cluster-identifier {id} (after its clusters)",
    "AWS::ElastiCache::ReplicationGroup": "its final snapshot stays: aws elasticache delete-snapshot --snapshot-name",
    "AWS::ECR::Repository": "aws ecr delete-repository --repository-name {id} --force",
    "AWS::SecretsManager::Secret": "aws secretsmanager delete-secret --secret-id {id} --force-delete-without-recovery",
    "AWS::EFS::FileSystem": "aws efs delete-file-system --file-system-id {id}",
    "AWS::Backup::BackupVault": (
        "delete its recovery points, then aws backup delete-backup-vault --backup-vault-name {id} (a vault lock in"
        " compliance mode forbids it until its retention ends)"
    ),
    "AWS::Kinesis::Stream": "aws kinesis delete-stream --stream-name {id}",
    "AWS::MSK::Cluster": "aws kafka delete-cluster --cluster-arn {id}",
    "AWS::OpenSearchService::Domain": "aws opensearch delete-domain --domain-name {id}",
    "AWS::SQS::Queue": "aws sqs delete-queue --queue-url {id}",
}  # fmt: skip
"""How to remove each kind of survivor by hand; {id} is its physical id (its logical id before deploy)."""

Runner = Callable[[Sequence[str]], int]


@dataclass(frozen=True)
class Survivor:
    stack: str
    what: str
    why: str
    how: str


def survivors(stage: StageAssembly, physical: dict[tuple[str, str], str]) -> Iterator[Survivor]:
    """What stays after the stacks are deleted, resource by resource, then once per account/region."""
    for resource in stage.resources():
        locked = bool(resource.properties.get("ObjectLockEnabled"))
        if resource.deletion_policy == "Delete" and not locked:
            continue
        name = physical.get((resource.stack.name, resource.logical_id), resource.logical_id)
        why = {"Retain": "retained", "RetainExceptOnUpdate": "retained", "Snapshot": "snapshotted"}.get(
            resource.deletion_policy, "deleted with its stack, unless objects are still locked"
        )
        how = REMOVAL.get(resource.type, "delete it in its service's console").format(id=name)
        if locked:
            why += ", object-locked"
            how = f"once every object's retention has passed: {how}"
        yield Survivor(resource.stack.name, f"{_short(resource)} {name}", why, how)
    needs = assembly_needs(stage)
    for account, region in stage.environments:
        how = "when no stage deploys there any more: empty its assets bucket, then aws cloudformation delete-stack"
        yield Survivor(
            "account", f"CDKToolkit in aws://{account}/{region}", "account-wide (bootstrap)",
            f"{how} --stack-name CDKToolkit --region {region}",
        )  # fmt: skip
    for role in sorted(needs["roles"].values(), key=lambda r: r.role):
        how = f"aws iam delete-service-linked-role --role-name {role.role}"
        yield Survivor("account", f"service-linked role {role.role}", "account-wide", f"{how} (once nothing uses it)")
    if needs["budget"]:
        yield Survivor(
            "account",
            "cost-allocation tag `stage`",
            "account-wide (Billing)",
            "deactivate it under Billing > Cost allocation tags",
        )
    if needs["shield"]:
        yield Survivor(
            "account",
            "Shield Advanced subscription",
            "account-wide, a one-year commitment",
            "it ends with its term (aws shield update-subscription --auto-renew DISABLED)",
        )


def _short(resource: Resource) -> str:
    return resource.type.removeprefix("AWS::").replace("::", " ")


def physical_ids(session: Any, stage: StageAssembly) -> dict[tuple[str, str], str]:
    """(stack, logical id) -> physical id of every resource CloudFormation holds for the stage now."""
    found: dict[tuple[str, str], str] = {}
    for stack in stage.stacks:
        client = session.client("cloudformation", region_name=stack.region)
        try:
            for page in client.get_paginator("list_stack_resources").paginate(StackName=stack.name):
                for summary in page["StackResourceSummaries"]:
                    found[(stack.name, summary["LogicalResourceId"])] = summary.get("PhysicalResourceId", "")
        except Exception as error:  # a stack never deployed (or already gone) has nothing to name
            if "does not exist" not in str(error):
                raise
    return found


def destroy(stage: StageAssembly, run: Runner) -> list[str]:
    """Delete the stacks in the reverse of the deploy order, one at a time; stop at the first failure."""
    lines = []
    for stack in reversed(stage.deploy_order()):
        code = run(["cdk", "destroy", "--no-notices", "--force", "--app", "cdk.out", stack.path])
        if code != 0:
            lines.append(
                f"stopped: cdk destroy {stack.path} exited {code} (messages above); the stacks before it are gone"
            )
            break
        lines.append(f"destroyed {stack.name} ({stack.region})")
    return lines


def _run(command: Sequence[str]) -> int:
    print("$ " + " ".join(command), flush=True)
    return subprocess.run(list(command), check=False).returncode


def main(argv: list[str] | None = None, run: Runner = _run, ask: Callable[[str], str] = input) -> int:
    parser = argparse.ArgumentParser(prog="make destroy", description=__doc__)
    parser.add_argument("--stage", required=True)
    parser.add_argument("--confirm", default="", help="the stage's name, instead of typing it")
    parser.add_argument("--config-dir", type=Path, default=LIVE_CONFIG)
    args = parser.parse_args(argv)
    try:
        config = load_stage(args.stage, args.config_dir)
    except ConfigError as error:
        print("\n".join(error.problems), file=sys.stderr)
        return 1
    if not config.allow_destroy:
        print(f"{args.stage} does not allow destroy (allow_destroy is not true in its stage file); "
              "its data is retained and its stacks are protected", file=sys.stderr)  # fmt: skip
        return 1
    try:
        session = aws.session_with_credentials("make destroy")
        mismatch = aws.account_mismatch(config.account, aws.identity(session), args.stage)
        if mismatch:
            raise aws.NoCredentials(mismatch)
        stage = ensure([args.stage], args.config_dir).stage(args.stage)
    except (aws.NoCredentials, AssemblyError) as error:
        print(error, file=sys.stderr)
        return 1
    order = [stack.name for stack in reversed(stage.deploy_order())]
    print(f"make destroy {args.stage} deletes, in this order: {', '.join(order)}")
    answer = args.confirm or ask(f"type {args.stage} to go on: ")
    if answer.strip() != args.stage:
        print("nothing was destroyed", file=sys.stderr)
        return 1
    kept = list(survivors(stage, physical_ids(session, stage)))
    lines = destroy(stage, run)
    print("\n".join(lines))
    print("what survives by design, and how to remove it:")
    for survivor in kept:
        print(f"  {survivor.stack}: {survivor.what} ({survivor.why}) — {survivor.how}")
    return 1 if lines and lines[-1].startswith("stopped") else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
