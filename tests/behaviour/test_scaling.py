"""Contract 5, scaling: every pool the stage sizes with min/max can reach its max. A managed node group keeps
the minimum, fixed, and a Karpenter NodePool with the group's labels, taints, instance types and capacity type
adds the rest, its limits `max - min` nodes of the group's size; nothing else (no Cluster Autoscaler) scales
the same capacity; the system group is Karpenter-free; and the GPU pools can run every GPU the namespaces'
quotas grant."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
from constructs.compute.karpenter import CAPACITY_TYPES

from environments.schema.base import SYSTEM_GROUP
from environments.schema.compute import GPU_BURST_POOL, KUBERNETES_TAINT_EFFECTS, NodeGroupConfig
from environments.schema.instance_types import INSTANCE_TYPES
from tests.behaviour.platform_template import ClusterTemplate, with_objects, with_resource
from tests.synthesis import SynthesizedPlatform

CLUSTER_AUTOSCALER_TAG = "k8s.io/cluster-autoscaler/enabled"


def _requirement(pool: dict[str, Any], key: str) -> list[str]:
    for requirement in pool["spec"]["template"]["spec"].get("requirements", []):
        if requirement["key"] == key and requirement["operator"] == "In":
            return list(requirement["values"])
    return []


def _pool_shape(pool: dict[str, Any]) -> tuple[Any, ...]:
    template = pool["spec"]["template"]
    taints = sorted((t["key"], t.get("value", ""), t["effect"]) for t in template["spec"].get("taints", []))
    return (
        template.get("metadata", {}).get("labels", {}),
        taints,
        sorted(_requirement(pool, "node.kubernetes.io/instance-type")),
        _requirement(pool, "karpenter.sh/capacity-type"),
    )


def _group_shape(group: NodeGroupConfig) -> tuple[Any, ...]:
    taints = sorted((t.key, t.value, KUBERNETES_TAINT_EFFECTS[t.effect]) for t in group.taints)
    return (dict(group.labels), taints, sorted(group.instance_types), [CAPACITY_TYPES[group.capacity_type]])


def _managed_group(cluster: ClusterTemplate, group: NodeGroupConfig) -> dict[str, Any] | None:
    for properties in cluster.node_groups.values():
        taints = sorted(
            (t["Key"], t.get("Value", ""), KUBERNETES_TAINT_EFFECTS[t["Effect"]]) for t in properties.get("Taints", [])
        )
        shape = (properties.get("Labels", {}), taints, sorted(properties["InstanceTypes"]))
        if shape == _group_shape(group)[:3]:
            return properties
    return None


def _gpus(instance_types: list[str]) -> int:
    return max(INSTANCE_TYPES[t].gpus for t in instance_types)


def scaling_problems(stage: str, cluster: ClusterTemplate, node_groups: tuple[NodeGroupConfig, ...]) -> list[str]:
    """One line per pool that cannot reach its max, capacity scaled twice, unbounded NodePool, or GPU quota the
    GPU pools cannot serve."""
    problems = []
    pools = cluster.objects_of("NodePool")
    for group in node_groups:
        where = f"{stage}: node group {group.name} ({group.min_size}-{group.max_size})"
        managed = _managed_group(cluster, group)
        system = group.name == SYSTEM_GROUP
        expected_max = group.max_size if system else group.min_size
        if group.min_size and managed is None:
            problems.append(f"{where}: no managed node group keeps its {group.min_size} nodes")
        if managed is not None:
            scaling = managed["ScalingConfig"]
            wanted = {"MinSize": group.min_size, "DesiredSize": group.min_size, "MaxSize": expected_max}
            if scaling != wanted:
                problems.append(f"{where}: managed group scales {scaling}, expected {wanted} (Karpenter adds the rest)")
        matching = [p for p in pools if _pool_shape(p) == _group_shape(group)]
        if system and matching:
            problems.append(f"{where}: NodePool {matching[0]['metadata']['name']} adds system nodes; Karpenter's "
                            "controller and the add-ons must stay on nodes Karpenter did not launch")  # fmt: skip
        if not group.headroom:
            continue
        if not matching:
            problems.append(f"{where}: no NodePool with its labels, taints, instance types and capacity type "
                            f"adds the {group.headroom} nodes above its minimum")  # fmt: skip
            continue
        size = group.size
        limits = {"cpu": str(group.headroom * size.vcpus), "memory": f"{group.headroom * size.memory_gib}Gi"}
        if size.gpus:
            limits["nvidia.com/gpu"] = str(group.headroom * size.gpus)
        if not any(p["spec"].get("limits") == limits for p in matching):
            found = [p["spec"].get("limits") for p in matching]
            problems.append(f"{where}: NodePool limits {found}, expected {limits} ({group.headroom} nodes)")
    for pool in pools:
        limits = pool["spec"].get("limits", {})
        if "cpu" not in limits and "nvidia.com/gpu" not in limits:
            problems.append(f"{stage}: NodePool {pool['metadata']['name']}: no cpu or GPU limit, so nothing bounds it")
    problems += _cluster_autoscaler_problems(stage, cluster)
    return problems + _gpu_quota_problems(stage, cluster)


def _cluster_autoscaler_problems(stage: str, cluster: ClusterTemplate) -> list[str]:
    problems = [
        f"{stage}: chart {r.chart}: Cluster Autoscaler and Karpenter would scale the same capacity"
        for r in cluster.releases
        if "cluster-autoscaler" in r.chart
    ]
    return problems + [
        f"{stage}: node group {key}: tagged for Cluster Autoscaler discovery, but Karpenter holds the headroom"
        for key, properties in cluster.node_groups.items()
        if CLUSTER_AUTOSCALER_TAG in properties.get("Tags", {})
    ]


def _gpu_quota_problems(stage: str, cluster: ClusterTemplate) -> list[str]:
    """The GPU pools at their limits hold at least the GPUs the namespaces' quotas grant: managed GPU groups at
    MinSize (nothing scales them; their MaxSize counts for nothing) and GPU NodePools at their nvidia.com/gpu
    limit."""
    supply: dict[str, int] = {}
    problems = []
    for key, properties in cluster.node_groups.items():
        if properties["AmiType"].endswith("_NVIDIA"):
            supply[f"node group {key}"] = properties["ScalingConfig"]["MinSize"] * _gpus(properties["InstanceTypes"])
    for pool in cluster.objects_of("NodePool"):
        if _gpus(_requirement(pool, "node.kubernetes.io/instance-type")):
            limit = pool["spec"].get("limits", {}).get("nvidia.com/gpu")
            if limit is None:
                problems.append(
                    f"{stage}: NodePool {pool['metadata']['name']}: GPU instances without an nvidia.com/gpu limit"
                )
            else:
                supply[f"NodePool {pool['metadata']['name']}"] = int(limit)
    quotas = {
        quota["metadata"]["namespace"]: int(quota["spec"]["hard"].get("requests.nvidia.com/gpu", "0"))
        for quota in cluster.objects_of("ResourceQuota")
    }
    if sum(quotas.values()) > sum(supply.values()):
        problems.append(
            f"{stage}: the namespaces' GPU quotas total {sum(quotas.values())} ({quotas}) but the GPU pools "
            f"provide at most {sum(supply.values())} ({supply})"
        )
    return problems


def test_every_pool_scales_to_its_max(platform: SynthesizedPlatform, stage: str) -> None:
    cluster = ClusterTemplate.read(platform.template_json(stage, "platform"))
    node_groups = platform.configs[stage].platform.node_groups
    assert cluster.objects_of("NodePool")
    assert scaling_problems(stage, cluster, node_groups) == []


Mutation = Callable[[dict[str, Any], NodeGroupConfig], dict[str, Any]]


def _pool(name: str | None, change: Callable[[dict[str, Any]], None]) -> Mutation:
    """Edit the spec of NodePool `name` (None: the headroom pool of the group under test, named after it)."""

    def mutate(template: dict[str, Any], group: NodeGroupConfig) -> dict[str, Any]:
        def edit(obj: dict[str, Any]) -> None:
            if obj["kind"] == "NodePool" and obj["metadata"]["name"] == (name or group.name):
                change(obj["spec"])

        return with_objects(template, edit)

    return mutate


def _self_scaling(template: dict[str, Any], group: NodeGroupConfig) -> dict[str, Any]:
    scaling = {"MinSize": group.min_size, "DesiredSize": group.min_size, "MaxSize": group.max_size}
    return with_resource(template, "AWS::EKS::Nodegroup", {"Labels": dict(group.labels)}, ScalingConfig=scaling)


def _with_cluster_autoscaler(template: dict[str, Any], group: NodeGroupConfig) -> dict[str, Any]:
    changed = copy.deepcopy(template)
    (release,) = [r for r in changed["Resources"].values() if r.get("Properties", {}).get("Chart") == "metrics-server"]
    changed["Resources"]["ClusterAutoscaler"] = {
        **release,
        "Properties": {**release["Properties"], "Chart": "cluster-autoscaler"},
    }
    return changed


MUTATIONS: dict[str, tuple[Mutation, str]] = {
    "GPU burst limit below the quotas": (
        _pool(GPU_BURST_POOL, lambda spec: spec["limits"].update({"nvidia.com/gpu": "0"})),
        "{stage}: the namespaces' GPU quotas total",
    ),
    "GPU pool without a GPU limit": (
        _pool(GPU_BURST_POOL, lambda spec: spec.update(limits={})),
        f"{{stage}}: NodePool {GPU_BURST_POOL}: GPU instances without an nvidia.com/gpu limit",
    ),
    "headroom pool for other labels": (
        _pool(None, lambda spec: spec["template"]["metadata"].update(labels={"workload": "elsewhere"})),
        "{group}: no NodePool with its labels",
    ),
    "headroom pool too small": (_pool(None, lambda spec: spec["limits"].update(cpu="1")), "{group}: NodePool limits"),
    "managed group left to scale on its own": (_self_scaling, "{group}: managed group scales"),
    "Cluster Autoscaler next to Karpenter": (
        _with_cluster_autoscaler,
        "{stage}: chart cluster-autoscaler: Cluster Autoscaler and Karpenter would scale the same capacity",
    ),
}  # fmt: skip


@pytest.mark.parametrize("mutation", MUTATIONS)
def test_a_broken_scaling_is_caught(platform: SynthesizedPlatform, stage: str, mutation: str) -> None:
    node_groups = platform.configs[stage].platform.node_groups
    group = next(g for g in node_groups if g.headroom and g.min_size)  # a managed minimum and Karpenter headroom
    change, expected = MUTATIONS[mutation]
    broken = ClusterTemplate.read(change(platform.template_json(stage, "platform"), group))
    problems = scaling_problems(stage, broken, node_groups)
    where = f"{stage}: node group {group.name} ({group.min_size}-{group.max_size})"
    assert any(p.startswith(expected.format(stage=stage, group=where)) for p in problems), problems
