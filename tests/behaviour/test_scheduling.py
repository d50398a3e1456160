"""Contract 2, scheduling: every workload the platform installs lands where it must (tests/behaviour/scheduling.py
has the model), device plugins on the GPU nodes, a GPU workload in a namespace with a GPU quota somewhere,
and every Karpenter node joins: its EC2NodeClass gives it a role with an EC2_LINUX access entry and the
cluster security group."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from environments.schema.base import SYSTEM_GROUP
from tests.behaviour.platform_template import (
    HELM_CHART,
    MANIFEST,
    ClusterTemplate,
    placeholder,
    text,
    with_chart_values,
    with_objects,
    with_resource,
)
from tests.behaviour.scheduling import DEFAULTS, Workload, fargate_pod, scheduling_problems
from tests.synthesis import SynthesizedPlatform


def fargate_pods(platform: SynthesizedPlatform, stage: str) -> list[Workload]:
    """A pod for each Fargate selector of the stage's config: its namespace, its labels."""
    fargate = platform.configs[stage].platform.fargate
    profiles = fargate.profiles if fargate else ()
    return [fargate_pod(s.namespace, s.labels) for profile in profiles for s in profile.selectors]


def _problems(
    platform: SynthesizedPlatform, stage: str, template: dict[str, Any], defaults: dict[str, Any] = DEFAULTS
) -> list[str]:
    config = platform.configs[stage]
    cluster = ClusterTemplate.read(template)
    return scheduling_problems(
        stage, cluster, config.availability_zones, config.region, fargate_pods(platform, stage), defaults
    )


def test_every_workload_lands_where_it_must(platform: SynthesizedPlatform, stage: str) -> None:
    assert _problems(platform, stage, platform.template_json(stage, "platform")) == []


def _role_of(cluster: ClusterTemplate, node_class: dict[str, Any]) -> str | None:
    """The logical id of the IAM role the node class's instances get (`role`, or `instanceProfile`'s role)."""
    spec = node_class["spec"]
    if "role" in spec:
        return spec["role"].removeprefix("<Ref ").removesuffix(">") if spec["role"].startswith("<Ref ") else None
    for resource in cluster.resources.values():
        properties = resource.get("Properties", {})
        if resource["Type"] == "AWS::IAM::InstanceProfile" and properties.get("InstanceProfileName") == spec.get(
            "instanceProfile"
        ):
            return str(properties["Roles"][0]["Ref"])
    return None


def node_role_problems(stage: str, cluster: ClusterTemplate) -> list[str]:
    """Every NodePool's EC2NodeClass exists and gives its nodes a role with an EC2_LINUX access entry on the
    cluster and no access policies (EKS refuses policies on node entries)."""
    classes = {o["metadata"]["name"]: o for o in cluster.objects_of("EC2NodeClass")}
    entries = {
        p["PrincipalArn"]["Fn::GetAtt"][0]: p
        for r in cluster.resources.values()
        if r["Type"] == "AWS::EKS::AccessEntry" and isinstance((p := r["Properties"])["PrincipalArn"], dict)
    }
    problems = []
    for pool in cluster.objects_of("NodePool"):
        name, ref = pool["metadata"]["name"], pool["spec"]["template"]["spec"]["nodeClassRef"]["name"]
        if ref not in classes:
            problems.append(f"{stage}: NodePool {name}: no EC2NodeClass {ref}")
            continue
        role = _role_of(cluster, classes[ref])
        entry = entries.get(role or "")
        if entry is None or entry.get("Type") != "EC2_LINUX" or entry.get("AccessPolicies"):
            problems.append(f"{stage}: NodePool {name}: EC2NodeClass {ref}'s role {role} has no EC2_LINUX access entry")
    return problems


def cluster_security_group_problems(stage: str, cluster: ClusterTemplate) -> list[str]:
    """Every EC2NodeClass selects the cluster security group (by id, or by the tags EKS puts on it), which
    managed nodes get and the API endpoint and kubelet paths need."""
    ((cluster_id, properties),) = [
        (k, r["Properties"]) for k, r in cluster.resources.items() if r["Type"] == "AWS::EKS::Cluster"
    ]
    group_id = placeholder({"Fn::GetAtt": [cluster_id, "ClusterSecurityGroupId"]})
    name = text(properties["Name"])
    eks_tags = {f"kubernetes.io/cluster/{name}": "owned", "aws:eks:cluster-name": name}
    problems = []
    for node_class in cluster.objects_of("EC2NodeClass"):
        terms = node_class["spec"].get("securityGroupSelectorTerms", [])
        if not any(t.get("id") == group_id or (t.get("tags") and t["tags"].items() <= eks_tags.items()) for t in terms):
            problems.append(
                f"{stage}: EC2NodeClass {node_class['metadata']['name']}: no term selects the cluster security group"
            )
    return problems


def test_every_node_class_joins_with_an_access_entry(platform: SynthesizedPlatform, stage: str) -> None:
    cluster = ClusterTemplate.read(platform.template_json(stage, "platform"))
    assert cluster.objects_of("EC2NodeClass")
    assert node_role_problems(stage, cluster) == []


def test_every_node_class_gives_its_nodes_the_cluster_security_group(platform: SynthesizedPlatform, stage: str) -> None:
    cluster = ClusterTemplate.read(platform.template_json(stage, "platform"))
    assert cluster_security_group_problems(stage, cluster) == []


@dataclass(frozen=True)
class Stage:
    """What a mutation and its expected line need to know about the stage under test."""

    name: str
    versions: dict[str, str]
    """Chart -> pinned version."""
    system_labels: dict[str, str]
    karpenter_pool: str
    """A NodePool of the stage (any will do)."""
    gpu_namespace: str
    """A namespace whose quota grants GPUs."""

    @classmethod
    def of(cls, platform: SynthesizedPlatform, stage: str, cluster: ClusterTemplate) -> Stage:
        config = platform.configs[stage].platform
        return cls(
            stage,
            {release.chart: release.version for release in cluster.releases},
            dict(next(g for g in config.node_groups if g.name == SYSTEM_GROUP).labels),
            cluster.objects_of("NodePool")[0]["metadata"]["name"],
            next(namespace.name for namespace in config.namespaces if namespace.gpu),
        )

    def workload(self, kind: str, name: str, chart: str) -> str:
        return f"{self.name}: {kind} kube-system/{name} (chart {chart} {self.versions[chart]})"


def _with_deployment(template: dict[str, Any], stage: Stage) -> dict[str, Any]:
    """A copy of `template` whose first manifest also applies a Deployment that selects a label no node has."""
    changed = copy.deepcopy(template)
    manifest = next(r["Properties"] for r in changed["Resources"].values() if r["Type"] == MANIFEST)
    objects = json.loads(text(manifest["Manifest"]))
    pod = {"nodeSelector": {"disktype": "ssd"}, "containers": []}
    objects.append({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "reports", "namespace": "app"},
                    "spec": {"replicas": 1, "template": {"spec": pod}}})  # fmt: skip
    manifest["Manifest"] = json.dumps(objects)
    return changed


def _karpenter_on_its_own_nodes(template: dict[str, Any], stage: Stage) -> dict[str, Any]:
    """Karpenter's values selecting one of its NodePools, tolerating everything, without its DoesNotExist term."""
    (pool,) = [
        p
        for p in ClusterTemplate.read(template).objects_of("NodePool")
        if p["metadata"]["name"] == stage.karpenter_pool
    ]
    terms = [{"matchExpressions": [{"key": "kubernetes.io/os", "operator": "In", "values": ["linux"]}]}]

    def change(values: dict[str, Any]) -> None:
        values.update(nodeSelector=pool["spec"]["template"]["metadata"]["labels"], tolerations=[{"operator": "Exists"}])
        values["affinity"] = {
            "nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": terms}}
        }

    return with_chart_values(template, "karpenter", change)


def _chart_affinity_on_unlabelled_gpu_nodes(template: dict[str, Any], stage: Stage) -> dict[str, Any]:
    """The device plugin left with its chart's default affinity, on GPU nodes whose AMI does not label them."""

    def change(obj: dict[str, Any]) -> None:
        if obj["kind"] == "EC2NodeClass" and "gpu" in obj["metadata"]["name"]:
            obj["spec"]["amiSelectorTerms"] = [{"alias": "bottlerocket@latest"}]

    unlabelled = with_objects(template, change)
    return with_chart_values(unlabelled, "nvidia-device-plugin", lambda values: values.pop("affinity"))


def _no_gpu_capacity(template: dict[str, Any], stage: Stage) -> dict[str, Any]:
    def change(obj: dict[str, Any]) -> None:
        if obj["kind"] == "NodePool" and "nvidia.com/gpu" in obj["spec"].get("limits", {}):
            obj["spec"]["limits"]["nvidia.com/gpu"] = "0"

    return with_objects(template, change)


def _one_system_node(template: dict[str, Any], stage: Stage) -> dict[str, Any]:
    one = {"MinSize": 1, "DesiredSize": 1, "MaxSize": 1}
    return with_resource(template, "AWS::EKS::Nodegroup", {"Labels": stage.system_labels}, ScalingConfig=one)


def _values(chart: str, **values: Any) -> Callable[[dict[str, Any], Stage], dict[str, Any]]:
    return lambda template, stage: with_chart_values(template, chart, lambda current: current.update(values))


def _coredns_without_tolerations(template: dict[str, Any], stage: Stage) -> dict[str, Any]:
    configuration = json.dumps({"nodeSelector": stage.system_labels, "tolerations": []})
    return with_resource(template, "AWS::EKS::Addon", {"AddonName": "coredns"}, ConfigurationValues=configuration)


def _unrecorded_version(template: dict[str, Any], stage: Stage) -> dict[str, Any]:
    return with_resource(template, HELM_CHART, {"Chart": "nvidia-device-plugin"}, Version="0.21.0")


def _system_on_graviton(template: dict[str, Any], stage: Stage) -> dict[str, Any]:
    """The system group on arm64 nodes (whatever the stage runs it on)."""
    return with_resource(
        template,
        "AWS::EKS::Nodegroup",
        {"Labels": stage.system_labels},
        AmiType="AL2023_ARM_64_STANDARD",
        InstanceTypes=["m6g.large"],
    )


MUTATIONS: dict[str, tuple[Callable[[dict[str, Any], Stage], dict[str, Any]], Callable[[Stage], str]]] = {
    "device plugin without its GPU toleration": (
        _values("nvidia-device-plugin", tolerations=[]),
        lambda s: (
            s.workload("DaemonSet", "nvidia-device-plugin", "nvidia-device-plugin") + " must run on every GPU "
            "node but not on NodePool gpu-burst: taint nvidia.com/gpu=true:NoSchedule is not tolerated"
        ),
    ),
    "chart selecting a label no node has": (
        _values("metrics-server", nodeSelector={"workload": "nowhere"}),
        lambda s: (
            s.workload("Deployment", "metrics-server", "metrics-server") + " lands on no pool that can hold a "
            "node (node group "
        ),
    ),
    "coredns not tolerating the system taint": (
        _coredns_without_tolerations,
        lambda s: f"{s.name}: Deployment kube-system/coredns (add-on coredns) lands on no pool",
    ),
    "manifest Deployment selecting a label no node has": (
        _with_deployment,
        lambda s: f"{s.name}: Deployment app/reports (manifest) lands on no pool that can hold a node",
    ),
    "Karpenter allowed onto its own nodes": (
        _karpenter_on_its_own_nodes,
        lambda s: (
            s.workload("Deployment", "karpenter", "karpenter") + f" lands on NodePool {s.karpenter_pool}, a "
            "node Karpenter launched itself"
        ),
    ),
    "one system node for Karpenter's two replicas": (
        _one_system_node,
        lambda s: (
            s.workload("Deployment", "karpenter", "karpenter") + " needs 2 nodes, one per replica, but its pools keep 1"
        ),
    ),
    "the chart's default affinity on GPU nodes no AMI labels": (
        _chart_affinity_on_unlabelled_gpu_nodes,
        lambda s: (
            s.workload("DaemonSet", "nvidia-device-plugin", "nvidia-device-plugin") + " must run on every GPU "
            "node but not on NodePool gpu-burst: its required node affinity matches none of its nodes"
        ),
    ),
    "no GPU capacity for the GPU workloads": (
        _no_gpu_capacity,
        lambda s: (
            f"{s.name}: Pod {s.gpu_namespace}/gpu-job (a GPU workload): no GPU pool that can launch a node, "
            "runs the device plugin and admits it"
        ),
    ),
    "chart pinned to a version whose defaults are not recorded": (
        _unrecorded_version,
        lambda s: (
            f"{s.name}: chart nvidia-device-plugin 0.21.0: chart_defaults.json has defaults for "
            f"{s.versions['nvidia-device-plugin']}"
        ),
    ),
}


def test_a_daemonset_without_an_arm64_image_on_graviton_nodes_is_caught(
    platform: SynthesizedPlatform, stage: str
) -> None:
    template = platform.template_json(stage, "platform")
    facts = Stage.of(platform, stage, ClusterTemplate.read(template))
    x86_only = copy.deepcopy(DEFAULTS)
    x86_only["charts"]["prometheus-node-exporter"]["architectures"] = ["amd64"]
    problems = _problems(platform, stage, _system_on_graviton(template, facts), x86_only)
    expected = (
        facts.workload("DaemonSet", "prometheus-node-exporter", "prometheus-node-exporter")
        + " must run on every node but not on node group "
    )
    found = [p for p in problems if p.startswith(expected)]
    assert found, "\n".join(problems)
    assert all(p.endswith("its images have no arm64 build (only amd64)") for p in found), "\n".join(found)


def _fargate_profile_elsewhere(template: dict[str, Any]) -> dict[str, Any]:
    changed = copy.deepcopy(template)
    for resource in changed["Resources"].values():
        if resource["Type"] == "AWS::EKS::FargateProfile":
            for selector in resource["Properties"]["Selectors"]:
                selector["Namespace"] = "elsewhere"
    return changed


def test_a_pod_a_fargate_selector_names_lands_on_fargate(platform: SynthesizedPlatform, stage: str) -> None:
    """The contract holds where the stage configures Fargate, and fails once the profile selects elsewhere."""
    pods = fargate_pods(platform, stage)
    if not pods:
        pytest.skip(f"{stage} configures no Fargate profile")
    template = platform.template_json(stage, "platform")
    assert _problems(platform, stage, template) == []
    problems = _problems(platform, stage, _fargate_profile_elsewhere(template))
    for pod in pods:
        assert any(p.startswith(f"{stage}: {pod} with labels") and p.endswith("not on Fargate") for p in problems), (
            "\n".join(problems)
        )


@pytest.mark.parametrize("mutation", MUTATIONS)
def test_a_broken_placement_is_caught(platform: SynthesizedPlatform, stage: str, mutation: str) -> None:
    template = platform.template_json(stage, "platform")
    facts = Stage.of(platform, stage, ClusterTemplate.read(template))
    change, expected = MUTATIONS[mutation]
    problems = _problems(platform, stage, change(template, facts))
    assert any(p.startswith(expected(facts)) for p in problems), "\n".join(problems)


def test_the_security_group_check_tells_a_node_class_with_the_cluster_group_from_one_without(
    platform: SynthesizedPlatform, stage: str
) -> None:
    template = platform.template_json(stage, "platform")
    cluster_id = next(k for k, r in template["Resources"].items() if r["Type"] == "AWS::EKS::Cluster")
    by_id = {"id": placeholder({"Fn::GetAtt": [cluster_id, "ClusterSecurityGroupId"]})}

    def terms(*extra: dict[str, Any]) -> Callable[[dict[str, Any]], None]:
        def change(obj: dict[str, Any]) -> None:
            if obj["kind"] == "EC2NodeClass":
                discovery = [t for t in obj["spec"]["securityGroupSelectorTerms"] if t != by_id]
                obj["spec"]["securityGroupSelectorTerms"] = [*discovery, *extra]

        return change

    with_group = ClusterTemplate.read(with_objects(template, terms(by_id)))
    without = ClusterTemplate.read(with_objects(template, terms()))
    assert cluster_security_group_problems(stage, with_group) == []
    names = [o["metadata"]["name"] for o in without.objects_of("EC2NodeClass")]
    expected = [f"{stage}: EC2NodeClass {name}: no term selects the cluster security group" for name in names]
    assert cluster_security_group_problems(stage, without) == expected
