"""Secrets reach pods: every secret a SecretProviderClass mounts is readable by the role Pod Identity gives the
service account that mounts it (tests/behaviour/secret_access.py): the tenants' accounts, the workloads Argo CD
deploys, Argo CD's repo server; on every stage. Each check is proven on a copy of the templates with the
permission taken away."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from constructs.compute import gitops
from constructs.compute.secrets_store import WORKLOAD_SECRETS
from constructs.compute.tenancy import WORKLOAD_SERVICE_ACCOUNT

from tests.behaviour.secret_access import Mount, access_problems, secret_provider_classes
from tests.behaviour.templates import StackTemplate, copied, stage_stacks
from tests.synthesis import SynthesizedPlatform
from tests.workload_objects import applications


def tenant_mounts(stacks: list[StackTemplate]) -> list[Mount]:
    """The tenants' `workload` accounts mounting their namespace's class."""
    return [
        Mount(namespace, WORKLOAD_SERVICE_ACCOUNT, name)
        for namespace, name in secret_provider_classes(stacks)
        if name == WORKLOAD_SECRETS
    ]


def test_every_secret_a_tenant_mounts_is_readable_by_its_role(platform: SynthesizedPlatform, stage: str) -> None:
    stacks = stage_stacks(platform, stage)
    mounts = tenant_mounts(stacks)
    assert mounts, f"{stage}: no tenant mounts secrets"
    assert access_problems(stage, stacks, mounts) == []


def test_every_secret_a_workload_mounts_is_readable_by_its_role(platform: SynthesizedPlatform, stage: str) -> None:
    """The pods Argo CD deploys (tests/workload_objects.py), by their service account and CSI volumes."""
    mounts = [
        Mount(app.namespace, pod["serviceAccountName"], volume["csi"]["volumeAttributes"]["secretProviderClass"])
        for app in applications(platform, stage)
        for obj in app.objects
        if obj["kind"] == "Deployment"
        for pod in [obj["spec"]["template"]["spec"]]
        for volume in pod.get("volumes", [])
        if "csi" in volume
    ]
    if not mounts:
        pytest.skip(f"{stage} deploys no workload that mounts secrets")
    assert access_problems(stage, stage_stacks(platform, stage), mounts) == []


def test_argo_cds_repo_server_may_read_the_repository_credentials(platform: SynthesizedPlatform, stage: str) -> None:
    if platform.configs[stage].platform.gitops is None:
        pytest.skip(f"{stage} has no platform.gitops")
    mount = Mount(gitops.NAMESPACE, gitops.REPO_SERVER, gitops.REPOSITORY_CLASS)
    assert access_problems(stage, stage_stacks(platform, stage), [mount]) == []


def _without_action(action: str) -> Callable[[dict[str, Any]], bool]:
    """Every managed policy loses `action` (on a shared key, other statements also grant kms:Decrypt)."""

    def edit(template: dict[str, Any]) -> bool:
        changed = False
        for resource in template["Resources"].values():
            if resource["Type"] == "AWS::IAM::ManagedPolicy":
                for statement in resource["Properties"]["PolicyDocument"]["Statement"]:
                    actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
                    kept = [a for a in actions if a != action]
                    changed |= kept != actions
                    statement["Action"] = kept
        return changed

    return edit


@pytest.mark.parametrize("action", ["secretsmanager:GetSecretValue", "kms:Decrypt"])
def test_a_missing_permission_is_reported(platform: SynthesizedPlatform, stage: str, action: str) -> None:
    stacks = stage_stacks(platform, stage)
    edit = _without_action(action)
    broken = []
    for stack in stacks:
        template = copied(dict(stack.template))
        broken.append(stack.relabelled(template=template) if edit(template) else stack)
    assert broken != stacks, f"no policy grants {action}"
    problems = access_problems(stage, broken, tenant_mounts(stacks))
    assert problems and all(f"may not {action} /" in p and p.startswith(f"{stage}: ") for p in problems), problems


def test_a_secret_left_in_one_region_cannot_be_mounted_elsewhere(platform: SynthesizedPlatform, stage: str) -> None:
    """The secrets lose their replicas: every secondary region's tenants report each one they mount."""
    config = platform.configs[stage]
    if not config.secondaries:
        pytest.skip(f"{stage} has one region")
    stacks = stage_stacks(platform, stage)
    broken = []
    for stack in stacks:
        template = copied(dict(stack.template))
        for resource in template["Resources"].values():
            if resource["Type"] == "AWS::SecretsManager::Secret":
                resource.get("Properties", {}).pop("ReplicaRegions", None)
        broken.append(stack.relabelled(template=template))
    problems = access_problems(stage, broken, tenant_mounts(stacks))
    regions = {region.region for region in config.secondaries}
    assert {p.split(": ")[1] for p in problems} == regions, problems
    assert all("nor a replica there" in p for p in problems), problems
