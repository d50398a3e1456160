"""`make preflight STAGE=<stage>`: everything that would make a deploy of the stage fail or do nothing
useful, one line each (`<file>: <field>: <what> — <fix>`; warnings start with `warning:`), and exit 1 when
anything blocks. `make deploy` and `make diff` run it first (`--for deploy`), and so does the pipeline
before each stage.

From the stage file: placeholder accounts and ARNs, example domains and e-mail addresses, repositories and
zone ids, and the pipeline file's placeholders (an empty alert route in prod is a config error already).
From the assembly, checked in AWS when the credentials in use belong to the stage's account (and said to be
unchecked otherwise): the bootstrap of every account/region pair, third-party secrets still holding their
generated placeholder, service-linked roles CloudFormation cannot create, the Shield Advanced subscription
and the cost-allocation tag.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import yaml

from environments.loader import PIPELINE_FILE, ConfigError, load_stage
from environments.schema.stage import StageConfig
from tools import aws
from tools.assembly import LIVE_CONFIG, REPO_ROOT, AssemblyError, StageAssembly, ensure

PLACEHOLDER_ACCOUNT = re.compile(r"(?<!\d)(?:(\d)\1{11}|123456789012)(?!\d)")
EXAMPLE_DOMAIN = re.compile(r"(?:^|[./@])example\.(?:com|org|net)\b")
EXAMPLE_REPOSITORY = re.compile(r"(?:^|[/:])example-org/")
PLACEHOLDER_ID = re.compile(r"EXAMPLE|0{8}-0{4}-0{4}-0{4}-0{12}")
PLACEHOLDER_SECRET = "placeholder until set"
"""What the description of a secret an operator must fill in says (constructs/data/app_secrets.py, gitops)."""
COST_TAG = "stage"
"""The tag the stage's budget filters on (constructs/observability/cost_controls.py)."""


@dataclass(frozen=True)
class ServiceLinkedRole:
    """A role AWS creates per account on first use, or that must exist before CloudFormation can create
    the resource (`blocks`)."""

    role: str
    service: str
    field: str
    blocks: bool


SERVICE_LINKED_ROLES: dict[str, ServiceLinkedRole] = {
    "AWS::OpenSearchService::Domain": ServiceLinkedRole(
        "AWSServiceRoleForAmazonOpenSearchService", "opensearchservice.amazonaws.com", "analytics.opensearch", True
    ),
    "AWS::EKS::Nodegroup": ServiceLinkedRole(
        "AWSServiceRoleForAutoScaling", "autoscaling.amazonaws.com", "platform.node_groups", False
    ),
    "AWS::ECS::Cluster": ServiceLinkedRole("AWSServiceRoleForECS", "ecs.amazonaws.com", "platform.ecs_tasks", False),
    "AWS::ElastiCache::ReplicationGroup": ServiceLinkedRole(
        "AWSServiceRoleForElastiCache", "elasticache.amazonaws.com", "data.cache", False
    ),
}
SAGEMAKER_SCALING_ROLE = ServiceLinkedRole(
    "AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint",
    "sagemaker.application-autoscaling.amazonaws.com",
    "ai.sagemaker",
    False,
)
"""The role the SageMaker endpoint's scaling target names (constructs/ai/inference_endpoint.py)."""
SPOT_ROLE = ServiceLinkedRole("AWSServiceRoleForEC2Spot", "spot.amazonaws.com", "platform.node_groups", True)
"""Spot node groups and Karpenter's Spot pools launch Spot instances, which need this role first."""


@dataclass(frozen=True)
class Finding:
    file: str
    field: str
    what: str
    fix: str
    blocks: bool = True

    def line(self) -> str:
        return f"{'' if self.blocks else 'warning: '}{self.file}: {self.field}: {self.what} — {self.fix}"


class AwsView(Protocol):
    """What preflight asks AWS, in the stage's account (tools/aws.py's Boto3View; a fake in the tests)."""

    def bootstrap_version(self, region: str, parameter: str) -> int | None: ...

    def secret_versions(self, region: str, name: str) -> int | None: ...

    def role_exists(self, name: str) -> bool: ...

    def shield_subscribed(self) -> bool: ...

    def cost_tag_active(self, key: str) -> bool: ...


def placeholders(file: str, data: Any, path: str = "", blocks: bool = True) -> Iterator[Finding]:
    """Every string in the file that is still one of the shipped placeholders, with the field it is in."""
    if isinstance(data, dict):
        for key, value in data.items():
            yield from placeholders(file, value, f"{path}.{key}" if path else str(key), blocks)
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from placeholders(file, value, f"{path}.{index}", blocks)
    elif isinstance(data, str):
        if PLACEHOLDER_ACCOUNT.fullmatch(data):
            yield Finding(
                file, path, f"{data} is a placeholder account", "set the 12-digit id of your account, quoted", blocks
            )
        elif data.startswith("arn:") and PLACEHOLDER_ACCOUNT.search(data):
            yield Finding(file, path, f"{data} names a placeholder account", "use an ARN in your account", blocks)
        elif data.startswith("arn:") and PLACEHOLDER_ID.search(data):
            yield Finding(file, path, f"{data} is a placeholder ARN", "put the ARN of the resource you created", blocks)
        elif EXAMPLE_DOMAIN.search(data) and "@" in data:
            yield Finding(file, path, f"{data} is an example address", "use an address someone reads", blocks)
        elif EXAMPLE_DOMAIN.search(data):
            yield Finding(file, path, f"{data} is an example domain", "use a name in a hosted zone you own", blocks)
        elif EXAMPLE_REPOSITORY.search(data):
            yield Finding(file, path, f"{data} is the example repository", "point it at your own repository", blocks)
        elif PLACEHOLDER_ID.search(data):
            yield Finding(file, path, f"{data} is a placeholder id", "use the id of your own resource", blocks)


def config_findings(config: StageConfig, config_dir: Path) -> list[Finding]:
    """What the stage file (and the pipeline file that promotes it) still holds of the examples."""
    file = _shown(config_dir / f"{config.name}.yaml")
    findings = list(placeholders(file, yaml.safe_load((config_dir / f"{config.name}.yaml").read_text())))
    pipeline_file = config_dir / f"{PIPELINE_FILE}.yaml"
    if pipeline_file.is_file():
        pipeline = yaml.safe_load(pipeline_file.read_text())
        if config.name in pipeline.get("stages", []):
            for finding in placeholders(_shown(pipeline_file), pipeline, blocks=False):
                findings.append(
                    Finding(finding.file, finding.field, finding.what, f"{finding.fix} (pipeline deploys)", False)
                )
    return findings


def assembly_needs(stage: StageAssembly) -> dict[str, Any]:
    """What the stage's templates need in the account before they deploy: bootstrap per pair, the secrets
    an operator fills in, service-linked roles, Shield Advanced, the cost-allocation tag."""
    bootstrap: dict[tuple[str, str], tuple[int, str]] = {}
    secrets: list[tuple[str, str]] = []
    roles: dict[str, ServiceLinkedRole] = {}
    shield = budget = False
    for stack in stage.stacks:
        pair = (stack.account, stack.region)
        version, parameter = bootstrap.get(pair, (0, stack.bootstrap_parameter))
        bootstrap[pair] = (max(version, stack.bootstrap_version), parameter or stack.bootstrap_parameter)
    for resource in stage.resources():
        properties = resource.properties
        if resource.type == "AWS::SecretsManager::Secret" and PLACEHOLDER_SECRET in str(
            properties.get("Description", "")
        ):
            secrets.append((resource.stack.region, str(properties.get("Name", resource.logical_id))))
        if resource.type in SERVICE_LINKED_ROLES:
            needed = SERVICE_LINKED_ROLES[resource.type]
            if resource.type != "AWS::OpenSearchService::Domain" or "VPCOptions" in properties:
                roles[needed.role] = needed
        if (resource.type == "AWS::EKS::Nodegroup" and properties.get("CapacityType") == "SPOT") or (
            resource.type == "Custom::AWSCDK-EKS-KubernetesResource" and '"spot"' in str(properties.get("Manifest", ""))
        ):
            roles[SPOT_ROLE.role] = SPOT_ROLE
        if resource.type == "AWS::ApplicationAutoScaling::ScalableTarget" and (
            properties.get("ServiceNamespace") == "sagemaker"
        ):
            roles[SAGEMAKER_SCALING_ROLE.role] = SAGEMAKER_SCALING_ROLE
        shield = shield or resource.type.startswith("AWS::Shield::")
        budget = budget or resource.type == "AWS::Budgets::Budget"
    return {"bootstrap": bootstrap, "secrets": secrets, "roles": roles, "shield": shield, "budget": budget}


def aws_findings(config: StageConfig, file: str, stage: StageAssembly, view: AwsView) -> list[Finding]:
    """The checks that need the stage's account, answered by `view`."""
    needs = assembly_needs(stage)
    findings = []
    for (account, region), (version, parameter) in sorted(needs["bootstrap"].items()):
        found = view.bootstrap_version(region, parameter)
        if found is None or found < version:
            what = (
                "not bootstrapped" if found is None else f"bootstrapped at version {found}, the deploy needs {version}"
            )
            findings.append(
                Finding(file, "account", f"aws://{account}/{region} is {what}", f"make bootstrap STAGE={config.name}")
            )
    for region, name in needs["secrets"]:
        versions = view.secret_versions(region, name)
        if versions is None:
            findings.append(
                Finding(file, "secrets", f"{name} will be created with a placeholder", _put(name, region), False)
            )
        elif versions <= 1:
            findings.append(
                Finding(file, "secrets", f"{name} still holds its generated placeholder", _put(name, region), False)
            )
    for role in sorted(needs["roles"].values(), key=lambda r: r.role):
        if not view.role_exists(role.role):
            findings.append(
                Finding(
                    file,
                    role.field,
                    f"the service-linked role {role.role} does not exist"
                    + ("" if role.blocks else " (AWS creates it on first use if the deploy role may)"),
                    f"aws iam create-service-linked-role --aws-service-name {role.service}",
                    role.blocks,
                )
            )
    if needs["shield"] and not view.shield_subscribed():
        findings.append(
            Finding(
                file,
                "edge.shield_advanced",
                "the account has no Shield Advanced subscription",
                "subscribe first (aws shield create-subscription), or set it to false",
            )
        )
    if needs["budget"] and not view.cost_tag_active(COST_TAG):
        findings.append(
            Finding(
                file,
                "observability.monthly_budget_usd",
                f"the cost-allocation tag `{COST_TAG}` is not active, so the budget sees no spend",
                f"Billing > Cost allocation tags > activate `{COST_TAG}` (aws ce update-cost-allocation-tags-status)",
                False,
            )
        )
    return findings


def unchecked(config: StageConfig, file: str, stage: StageAssembly, why: str) -> list[Finding]:
    """What could not be checked without the stage's credentials, one warning per kind."""
    needs = assembly_needs(stage)
    pairs = ", ".join(f"aws://{a}/{r}" for a, r in sorted(needs["bootstrap"]))
    lines = [
        Finding(
            file,
            "account",
            f"not checked ({why}): the bootstrap of {pairs}",
            f"make bootstrap STAGE={config.name} once",
            False,
        )
    ]
    if needs["secrets"]:
        names = ", ".join(name for _, name in needs["secrets"])
        lines.append(
            Finding(
                file,
                "secrets",
                f"not checked ({why}): whether {names} are set",
                "put their values after the first deploy (README)",
                False,
            )
        )
    if needs["roles"]:
        roles = ", ".join(sorted(needs["roles"]))
        lines.append(
            Finding(
                file,
                "service-linked roles",
                f"not checked ({why}): {roles}",
                "aws iam create-service-linked-role for any missing",
                False,
            )
        )
    if needs["shield"]:
        lines.append(
            Finding(
                file,
                "edge.shield_advanced",
                f"not checked ({why}): the Shield Advanced subscription",
                "subscribe the account first",
                False,
            )
        )
    if needs["budget"]:
        lines.append(
            Finding(
                file,
                "observability.monthly_budget_usd",
                f"not checked ({why}): the cost-allocation tag `{COST_TAG}`",
                "activate it once in Billing",
                False,
            )
        )
    return lines


def run(
    config: StageConfig,
    config_dir: Path,
    stage: StageAssembly,
    session: Any | None,
    for_deploy: bool,
    view: AwsView | None = None,
) -> list[Finding]:
    """Every finding for the stage. `session` is a boto3 session with credentials (None: none found);
    `for_deploy` makes credentials of another account, or none, blocking; `view` answers the account's
    questions (by default through `session`)."""
    file = _shown(config_dir / f"{config.name}.yaml")
    findings = config_findings(config, config_dir)
    if session is None:
        if for_deploy:
            findings.append(Finding(file, "account", "no AWS credentials", _profile_fix(config.account)))
        return findings + unchecked(config, file, stage, "no AWS credentials")
    try:
        identity = aws.identity(session)
    except aws.NoCredentials as error:
        findings.append(Finding(file, "account", str(error), _profile_fix(config.account), for_deploy))
        return findings + unchecked(config, file, stage, "the credentials do not work")
    mismatch = aws.account_mismatch(config.account, identity, config.name)
    if mismatch is not None:
        what, _, fix = mismatch.partition(" — ")
        findings.append(Finding(file, "account", what, fix, for_deploy))
        return findings + unchecked(config, file, stage, f"credentials of account {identity.account}")
    return findings + aws_findings(config, file, stage, view or aws.Boto3View(session))


def _put(name: str, region: str) -> str:
    return f"aws secretsmanager put-secret-value --region {region} --secret-id {name} --secret-string ..."


def _profile_fix(account: str) -> str:
    profiles = aws.profiles_for_account(account)
    return f"set AWS_PROFILE={profiles[0]}" if profiles else f"set AWS_PROFILE to a profile for account {account}"


def _shown(path: Path) -> str:
    return str(path.relative_to(REPO_ROOT)) if path.resolve().is_relative_to(REPO_ROOT) else str(path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make preflight", description=__doc__)
    parser.add_argument("--stage", required=True)
    parser.add_argument("--for", dest="purpose", choices=["check", "deploy", "diff"], default="check")
    parser.add_argument("--config-dir", type=Path, default=LIVE_CONFIG)
    args = parser.parse_args(argv)
    try:
        config = load_stage(args.stage, args.config_dir)
        stage = ensure([args.stage], args.config_dir).stage(args.stage)
    except ConfigError as error:
        print("\n".join(error.problems), file=sys.stderr)
        return 1
    except AssemblyError as error:
        print(error, file=sys.stderr)
        return 1
    try:
        session = aws.session_with_credentials(f"make {args.purpose}")
    except aws.NoCredentials:
        if args.purpose != "check":  # deploy and diff cannot start: one line, not the whole list
            print(f"make {args.purpose} needs AWS credentials for {args.stage}'s account {config.account} and found"
                  f" none — {_profile_fix(config.account)}", file=sys.stderr)  # fmt: skip
            return 1
        session = None
    findings = run(config, args.config_dir, stage, session, args.purpose != "check")
    for finding in findings:
        print(finding.line())
    blocking = sum(finding.blocks for finding in findings)
    print(
        f"preflight {args.stage}: {blocking} blocking, {len(findings) - blocking} warnings"
        + (f" — fix the blocking ones before `make {args.purpose}`" if blocking and args.purpose != "check" else "")
    )
    return 1 if blocking else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
