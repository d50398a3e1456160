"""Contract 3, versions: every Helm chart and EKS add-on the platform stack installs runs on the cluster's
Kubernetes version (environments/schema/versions.py), CRDs are upgraded with their chart, and Karpenter's
controller holds the permissions its version calls."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest

from environments.schema.compute import GPU_BURST_POOL
from environments.schema.instance_types import INSTANCE_TYPES
from environments.schema.versions import ADDONS, CHARTS, version_problem
from tests.behaviour.platform_template import HELM_CHART, MANIFEST, ClusterTemplate, text, with_resource
from tests.synthesis import SynthesizedPlatform

KARPENTER_CONTROLLER_ACTIONS = frozenset({
    "ec2:RunInstances", "ec2:CreateFleet", "ec2:CreateLaunchTemplate", "ec2:CreateTags",
    "ec2:TerminateInstances", "ec2:DeleteLaunchTemplate",
    "iam:PassRole", "iam:CreateInstanceProfile", "iam:TagInstanceProfile", "iam:AddRoleToInstanceProfile",
    "iam:RemoveRoleFromInstanceProfile", "iam:DeleteInstanceProfile", "iam:GetInstanceProfile",
    "iam:ListInstanceProfiles",
    "eks:DescribeCluster",
    "sqs:DeleteMessage", "sqs:GetQueueUrl", "sqs:ReceiveMessage",
    "ec2:DescribeCapacityReservations", "ec2:DescribeImages", "ec2:DescribeInstances", "ec2:DescribeInstanceStatus",
    "ec2:DescribeInstanceTypeOfferings", "ec2:DescribeInstanceTypes", "ec2:DescribeLaunchTemplates",
    "ec2:DescribeSecurityGroups", "ec2:DescribeSpotPriceHistory", "ec2:DescribeSubnets",
    "ssm:GetParameter", "pricing:GetProducts",
})  # fmt: skip
"""The actions of Karpenter 1.14.1's reference controller policy (aws/karpenter-provider-aws@1d927085,
website/content/en/v1.14/getting-started/getting-started-with-karpenter/cloudformation.yaml), less the two
for features the platform leaves off: ec2:DescribePlacementGroups (placement groups, 1.11+) and
arc-zonal-shift:GetManagedResource (settings.enableZonalShift, 1.12+)."""
CRD_CHARTS = {"karpenter": "karpenter-crd"}
"""Charts whose CRDs Helm would install once and never upgrade -> the upstream chart that owns them."""


def version_problems(stage: str, cluster: ClusterTemplate) -> list[str]:
    """One line per chart or add-on outside its supported range, CRD left to a chart's crds/ folder, or
    controller permission missing."""
    kubernetes = cluster.kubernetes_version
    releases = {release.chart: release for release in cluster.releases}
    owners = {crds: chart for chart, crds in CRD_CHARTS.items()}
    problems = []
    for release in cluster.releases:
        component = owners.get(release.chart, release.chart)
        if problem := version_problem(CHARTS, component, release.version, kubernetes):
            problems.append(f"{stage}: chart {release.chart}: {problem}")
    for chart, crds in CRD_CHARTS.items():
        if chart not in releases:
            continue
        if crds not in releases or releases[crds].version != releases[chart].version:
            problems.append(f"{stage}: chart {chart}: its CRDs need the {crds} chart at {releases[chart].version}")
        if not releases[chart].skip_crds:
            problems.append(f"{stage}: chart {chart}: installs its own crds/ (never upgraded); skip them")
    for addon in cluster.addons:
        if addon.version and (problem := version_problem(ADDONS, addon.name, addon.version, kubernetes)):
            problems.append(f"{stage}: add-on {addon.name}: {problem}")
    missing = KARPENTER_CONTROLLER_ACTIONS - _service_account_actions(cluster, "kube-system", "karpenter")
    if "karpenter" in releases and missing:
        problems.append(f"{stage}: Karpenter controller role lacks {', '.join(sorted(missing))}")
    return problems


def ami_architecture(ami_type: str) -> str:
    """The CPU architecture of an EKS AMI type (AL2023_ARM_64_STANDARD, AL2023_X86_64_NVIDIA, ...)."""
    return "arm64" if "ARM_64" in ami_type else "amd64"


def architecture_problems(stage: str, cluster: ClusterTemplate) -> list[str]:
    """EKS refuses a managed node group whose AMI type is of another architecture than its instance types,
    and Karpenter launches nothing for a NodePool whose kubernetes.io/arch requirement no instance type meets:
    each group's AMI and each pool's requirement agree with environments/schema/instance_types.py."""
    problems = []
    for key, group in cluster.node_groups.items():
        ami = ami_architecture(group["AmiType"])
        for instance_type in group["InstanceTypes"]:
            if (arch := INSTANCE_TYPES[instance_type].arch) != ami:
                problems.append(f"{stage}: node group {key}: {instance_type} is {arch} but AMI type "
                                f"{group['AmiType']} is {ami}")  # fmt: skip
    for pool in cluster.objects_of("NodePool"):
        requirements = {r["key"]: r for r in pool["spec"]["template"]["spec"].get("requirements", [])}
        wanted = requirements.get("kubernetes.io/arch", {}).get("values")
        types = requirements.get("node.kubernetes.io/instance-type", {}).get("values", [])
        for instance_type in types if wanted else ():
            if (arch := INSTANCE_TYPES[instance_type].arch) not in wanted:
                problems.append(f"{stage}: NodePool {pool['metadata']['name']}: {instance_type} is {arch}, "
                                f"the pool requires {', '.join(wanted)}")  # fmt: skip
    return problems


def _service_account_actions(cluster: ClusterTemplate, namespace: str, service_account: str) -> set[str]:
    """Every action the policies of the role bound to `namespace/service_account` allow."""
    resources = cluster.resources
    (role,) = [
        r["Properties"]["RoleArn"]["Fn::GetAtt"][0]
        for r in resources.values()
        if r["Type"] == "AWS::EKS::PodIdentityAssociation"
        and (r["Properties"]["Namespace"], r["Properties"]["ServiceAccount"]) == (namespace, service_account)
    ]
    actions: set[str] = set()
    for resource in resources.values():
        if resource["Type"] in ("AWS::IAM::ManagedPolicy", "AWS::IAM::Policy") and {"Ref": role} in resource[
            "Properties"
        ].get("Roles", []):
            for statement in resource["Properties"]["PolicyDocument"]["Statement"]:
                granted = statement["Action"]
                actions.update([granted] if isinstance(granted, str) else granted)
    return actions


def _template(platform: SynthesizedPlatform, stage: str) -> dict[str, Any]:
    return platform.template_json(stage, "platform")


def test_charts_and_addons_run_on_the_cluster_version(platform: SynthesizedPlatform, stage: str) -> None:
    cluster = ClusterTemplate.read(_template(platform, stage))
    assert {r.chart for r in cluster.releases} >= {"karpenter", "karpenter-crd"}
    assert version_problems(stage, cluster) == []


def test_node_images_match_their_instance_types(platform: SynthesizedPlatform, stage: str) -> None:
    cluster = ClusterTemplate.read(_template(platform, stage))
    assert architecture_problems(stage, cluster) == []
    config = platform.configs[stage].platform
    arm = {g.name for g in config.node_groups if g.architecture == "arm64"}
    required = {
        p["metadata"]["name"]
        for p in cluster.objects_of("NodePool")
        if any(r["key"] == "kubernetes.io/arch" for r in p["spec"]["template"]["spec"]["requirements"])
    }
    assert required == {g.name for g in config.node_groups if g.name in arm and g.headroom}


def _other_architecture(template: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """The first node group's AMI swapped for the standard AMI of the other architecture."""
    changed = copy.deepcopy(template)
    key, group = next(
        (k, r["Properties"]) for k, r in changed["Resources"].items() if r["Type"] == "AWS::EKS::Nodegroup"
    )
    group["AmiType"] = "AL2023_X86_64_STANDARD" if "ARM_64" in group["AmiType"] else "AL2023_ARM_64_STANDARD"
    return changed, key


def _arch_requirement_on_x86(template: dict[str, Any]) -> dict[str, Any]:
    """An arm64 requirement on a pool of x86 instance types (Karpenter would launch nothing)."""
    changed = copy.deepcopy(template)
    for resource in changed["Resources"].values():
        if resource["Type"] != MANIFEST:
            continue
        objects = json.loads(text(resource["Properties"]["Manifest"]))
        for obj in objects:
            if obj["kind"] == "NodePool" and obj["metadata"]["name"] == GPU_BURST_POOL:
                obj["spec"]["template"]["spec"]["requirements"].append(
                    {"key": "kubernetes.io/arch", "operator": "In", "values": ["arm64"]}
                )
        resource["Properties"]["Manifest"] = json.dumps(objects)
    return changed


def test_an_image_of_the_wrong_architecture_is_caught(platform: SynthesizedPlatform, stage: str) -> None:
    template = _template(platform, stage)
    swapped, key = _other_architecture(template)
    problems = architecture_problems(stage, ClusterTemplate.read(swapped))
    assert any(p.startswith(f"{stage}: node group {key}: ") for p in problems), problems
    problems = architecture_problems(stage, ClusterTemplate.read(_arch_requirement_on_x86(template)))
    assert any(p.startswith(f"{stage}: NodePool {GPU_BURST_POOL}: ") for p in problems), problems


def _without_instance_status(template: dict[str, Any]) -> dict[str, Any]:
    changed = copy.deepcopy(template)
    for resource in changed["Resources"].values():
        for statement in resource.get("Properties", {}).get("PolicyDocument", {}).get("Statement", []):
            if isinstance(statement["Action"], list) and "ec2:DescribeInstanceStatus" in statement["Action"]:
                statement["Action"].remove("ec2:DescribeInstanceStatus")
    return changed


MUTATIONS: dict[str, tuple[Callable[[dict[str, Any]], dict[str, Any]], str]] = {
    "Karpenter back to 1.8.2": (
        lambda t: with_resource(t, HELM_CHART, {"Chart": "karpenter"}, Version="1.8.2"),
        "chart karpenter: karpenter 1.8.2 supports Kubernetes 1.26-1.34, not {kubernetes}",
    ),
    "Karpenter CRDs from its crds/ folder": (
        lambda t: with_resource(t, HELM_CHART, {"Chart": "karpenter"}, SkipCrds=None),
        "chart karpenter: installs its own crds/ (never upgraded); skip them",
    ),
    "CRD chart left behind": (
        lambda t: with_resource(t, HELM_CHART, {"Chart": "karpenter-crd"}, Version="1.13.0"),
        "chart karpenter: its CRDs need the karpenter-crd chart at {karpenter}",
    ),
    "unchecked chart version": (
        lambda t: with_resource(t, HELM_CHART, {"Chart": "metrics-server"}, Version="3.12.2"),
        "chart metrics-server: metrics-server 3.12.2 has no row in environments/schema/versions.py",
    ),
    "kube-proxy pinned to another minor": (
        lambda t: with_resource(t, "AWS::EKS::Addon", {"AddonName": "kube-proxy"}, AddonVersion="v1.33.0-eksbuild.1"),
        "add-on kube-proxy: kube-proxy v1.33.0-eksbuild.1 has no row",
    ),
    "Karpenter 1.12+ permission missing": (
        _without_instance_status,
        "Karpenter controller role lacks ec2:DescribeInstanceStatus",
    ),
}  # fmt: skip


@pytest.mark.parametrize("mutation", MUTATIONS)
def test_a_broken_version_is_caught(platform: SynthesizedPlatform, stage: str, mutation: str) -> None:
    template = _template(platform, stage)
    cluster = ClusterTemplate.read(template)
    change, expected = MUTATIONS[mutation]
    problems = version_problems(stage, ClusterTemplate.read(change(template)))
    line = f"{stage}: " + expected.format(
        kubernetes=cluster.kubernetes_version, karpenter=cluster.release("karpenter").version
    )
    assert any(p.startswith(line) for p in problems), problems
