"""Contract 3, versions: every Helm chart and EKS add-on the platform stack installs runs on the cluster's
Kubernetes version (environments/schema/versions.py), CRDs are upgraded with their chart, and Karpenter's
controller holds the permissions its version calls."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from environments.schema.versions import ADDONS, CHARTS, version_problem
from tests.behaviour.platform_template import HELM_CHART, ClusterTemplate, with_resource
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
