"""Kubernetes scheduling over a platform template: which node pools can run each workload it installs.

Node pools are the managed node groups and Karpenter's NodePools, each as the nodes it can launch: their
labels (the pool's own, plus the well-known ones every such node carries) and taints. Workloads are every
DaemonSet and Deployment of every Helm release (the template's values merged over the chart's defaults in
chart_defaults.json, as Helm merges them: maps merge, lists and scalars replace), of every EKS add-on (its
configuration values over its defaults) and of every manifest the template applies.

Placement follows the scheduler's filters: every nodeSelector pair is a node label; one of the required node
affinity's nodeSelectorTerms matches (its matchExpressions ANDed; In, NotIn, Exists, DoesNotExist, Gt, Lt);
every NoSchedule and NoExecute taint is tolerated (PreferNoSchedule only steers). Preferred affinities,
spread constraints and resources do not filter nodes here; a required pod anti-affinity on
kubernetes.io/hostname between a workload's replicas means one node per replica.

Architecture: every node is amd64 or arm64 (a managed group by its AMI type, a Karpenter node by its instance
type, environments/schema/instance_types.py); a chart's or add-on's workload lands only on nodes of an
architecture its images are built for (chart_defaults.json `architectures`).

Fargate: each AWS::EKS::FargateProfile is a pool of one node per pod. EKS's admission webhook hands every pod a
profile selects (its namespace, and every label of the selector) to the Fargate scheduler, so such a pod lands
on Fargate only and any other never does; DaemonSets never run there; Fargate nodes are amd64 and carry
eks.amazonaws.com/compute-type=fargate (EKS user guide, Fargate and Fargate profiles).

Well-known labels: kubernetes.io/os, kubernetes.io/arch, node.kubernetes.io/instance-type and
topology.kubernetes.io/zone and region on every node (Kubernetes' well-known labels); on managed nodes
eks.amazonaws.com/nodegroup, nodegroup-image, sourceLaunchTemplateId and capacityType (EKS user guide,
managed-node-groups and managed-node-update-behavior); on Karpenter's nodes karpenter.sh/nodepool,
karpenter.sh/capacity-type, karpenter.k8s.aws/ec2nodeclass and the instance labels (aws/karpenter-provider-aws
pkg/apis/v1/labels.go, pkg/providers/instancetype/types.go: gpu-manufacturer `nvidia`); and from Kubernetes 1.35
on, nvidia.com/gpu.present=true on AL2023 nodes with an NVIDIA GPU (awslabs/amazon-eks-ami@81fec2e8
nodeadm/internal/kubelet/config.go), which is what the device plugin's default affinity selects.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from environments.schema.compute import KUBERNETES_TAINT_EFFECTS
from environments.schema.instance_types import INSTANCE_TYPES
from tests.behaviour.platform_template import ClusterTemplate

DEFAULTS: dict[str, Any] = json.loads((Path(__file__).parent / "chart_defaults.json").read_text())
BLOCKING_EFFECTS = {"NoSchedule", "NoExecute"}
GPU_LABEL_SINCE = (1, 35)
"""nodeadm labels NVIDIA nodes nvidia.com/gpu.present=true from this Kubernetes version on."""
WORKLOAD_KINDS = {"Deployment", "DaemonSet", "StatefulSet", "ReplicaSet"}
KARPENTER_LABELS = {
    "kubernetes.io/os",
    "kubernetes.io/arch",
    "kubernetes.io/hostname",
    "node.kubernetes.io/instance-type",
    "topology.kubernetes.io/zone",
    "topology.kubernetes.io/region",
    "karpenter.sh/nodepool",
    "karpenter.sh/capacity-type",
    "karpenter.sh/registered",
    "karpenter.sh/initialized",
    "karpenter.k8s.aws/ec2nodeclass",
    "karpenter.k8s.aws/instance-family",
    "karpenter.k8s.aws/instance-size",
    "karpenter.k8s.aws/instance-cpu",
    "karpenter.k8s.aws/instance-memory",
    "karpenter.k8s.aws/instance-gpu-manufacturer",
    "karpenter.k8s.aws/instance-gpu-count",
    "nvidia.com/gpu.present",
}
"""The labels the model puts on a Karpenter node itself; requirements on other keys label nodes with their value."""


def _minor(version: str) -> tuple[int, int]:
    major, minor = version.split(".")[:2]
    return int(major), int(minor)


@dataclass(frozen=True)
class NodePool:
    """A set of nodes with the same taints: a managed node group or a Karpenter NodePool."""

    name: str
    karpenter: bool
    gpu: bool
    nodes: tuple[Mapping[str, str], ...]
    """The label sets of the nodes it can launch (one per instance type, zone and capacity type)."""
    taints: tuple[Mapping[str, str], ...]
    fixed_nodes: int
    """Nodes it keeps without Karpenter (a managed group's minimum; 0 for a NodePool)."""
    can_launch: bool
    """Whether it can hold a node at all (a managed group above 0, a NodePool whose limits are above 0)."""
    fargate_selectors: tuple[tuple[str, Mapping[str, str]], ...] = ()
    """A Fargate profile's (namespace, labels) selectors; empty for node pools."""

    @property
    def fargate(self) -> bool:
        return bool(self.fargate_selectors)

    def selects(self, workload: Workload) -> bool:
        """Whether this Fargate profile takes `workload`'s pods."""
        return any(
            namespace == workload.namespace and labels.items() <= workload.labels.items()
            for namespace, labels in self.fargate_selectors
        )


@dataclass(frozen=True)
class Workload:
    kind: str
    namespace: str
    name: str
    origin: str
    runs_on: str = "some"
    """some (at least one pool), every (every pool), gpu (exactly the GPU pools) or none (no pool)."""
    node_selector: Mapping[str, str] = field(default_factory=dict)
    affinity: Mapping[str, Any] = field(default_factory=dict)
    tolerations: Sequence[Mapping[str, Any]] = ()
    replicas: int | None = None
    outside_karpenter: bool = False
    """Karpenter's own controller: it cannot launch the nodes it runs on."""
    note: str | None = None
    labels: Mapping[str, str] = field(default_factory=dict)
    """Its pods' labels (what Fargate profiles select on)."""
    architectures: frozenset[str] | None = None
    """The CPU architectures its images are built for; None when the template cannot tell (tenant images)."""

    def __str__(self) -> str:
        return f"{self.kind} {self.namespace}/{self.name} ({self.origin})"

    @property
    def one_replica_per_node(self) -> bool:
        terms = self.affinity.get("podAntiAffinity", {}).get("requiredDuringSchedulingIgnoredDuringExecution", [])
        return any(term.get("topologyKey") == "kubernetes.io/hostname" for term in terms)


# --- matching ------------------------------------------------------------------------------------------


def expression_matches(expression: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    """One NodeSelectorRequirement against a node's labels."""
    key, operator, values = expression["key"], expression["operator"], list(expression.get("values", []))
    value = labels.get(key)
    if operator == "In":
        return value is not None and value in values
    if operator == "NotIn":
        return value is None or value not in values
    if operator == "Exists":
        return value is not None
    if operator == "DoesNotExist":
        return value is None
    if operator in ("Gt", "Lt"):
        if value is None or not re.fullmatch(r"-?\d+", value):
            return False
        return int(value) > int(values[0]) if operator == "Gt" else int(value) < int(values[0])
    raise ValueError(f"unknown node selector operator {operator!r}")


def term_matches(term: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    """A NodeSelectorTerm: its expressions ANDed; an empty term matches no node."""
    if term.get("matchFields"):
        raise ValueError("matchFields names nodes by name, which a template cannot know")
    expressions = term.get("matchExpressions", [])
    return bool(expressions) and all(expression_matches(e, labels) for e in expressions)


def required_affinity_matches(affinity: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    required = affinity.get("nodeAffinity", {}).get("requiredDuringSchedulingIgnoredDuringExecution")
    if required is None:
        return True
    return any(term_matches(term, labels) for term in required.get("nodeSelectorTerms", []))


def tolerates(toleration: Mapping[str, Any], taint: Mapping[str, str]) -> bool:
    """A toleration matches a taint by effect (empty: all), then by key and operator (Exists without a key
    matches every key; Equal, the default, needs the same value)."""
    if toleration.get("effect") and toleration["effect"] != taint["effect"]:
        return False
    if toleration.get("operator", "Equal") == "Exists":
        return not toleration.get("key") or toleration["key"] == taint["key"]
    return bool(toleration.get("key") == taint["key"] and toleration.get("value", "") == taint.get("value", ""))


def why_not(workload: Workload, labels: Mapping[str, str], taints: Iterable[Mapping[str, str]]) -> str | None:
    """Why a node with `labels` and `taints` cannot run `workload` (the first filter that fails), or None."""
    arch = labels.get("kubernetes.io/arch", "")
    if workload.architectures is not None and arch not in workload.architectures:
        return f"its images have no {arch} build (only {', '.join(sorted(workload.architectures))})"
    for key, value in workload.node_selector.items():
        if labels.get(key) != value:
            return f"nodeSelector {key}={value}: its nodes have {key}={labels.get(key, '(none)')}"
    if not required_affinity_matches(workload.affinity, labels):
        return "its required node affinity matches none of its nodes"
    for taint in taints:
        if taint["effect"] in BLOCKING_EFFECTS and not any(tolerates(t, taint) for t in workload.tolerations):
            return f"taint {taint['key']}={taint.get('value', '')}:{taint['effect']} is not tolerated"
    return None


def pool_refusal(workload: Workload, pool: NodePool, pools: Sequence[NodePool] = ()) -> str | None:
    """None when one of the pool's nodes can run `workload`, else why the first node cannot. Of `pools`, a
    Fargate profile that selects it takes it from every other pool."""
    if pool.fargate and not pool.selects(workload):
        return "no selector of its Fargate profile matches the pod's namespace and labels"
    if pool.fargate and workload.kind == "DaemonSet":
        return "DaemonSets do not run on Fargate"
    if not pool.fargate and (taken := next((p for p in pools if p.fargate and p.selects(workload)), None)):
        return f"{taken.name} selects it, so it runs on Fargate"
    reasons = [why_not(workload, labels, pool.taints) for labels in pool.nodes]
    return None if any(reason is None for reason in reasons) else reasons[0]


# --- node pools from the template ----------------------------------------------------------------------


def node_pools(cluster: ClusterTemplate, zones: Sequence[str], region: str) -> list[NodePool]:
    """Every managed node group and Karpenter NodePool of the template, as the nodes each can launch."""
    gpu_labelled = _minor(cluster.kubernetes_version) >= GPU_LABEL_SINCE
    return [
        *(_managed_pool(key, p, zones, region, gpu_labelled) for key, p in cluster.node_groups.items()),
        *(_karpenter_pool(pool, cluster, zones, region, gpu_labelled) for pool in cluster.objects_of("NodePool")),
        *(_fargate_pool(key, p, zones, region) for key, p in cluster.fargate_profiles.items()),
    ]


def _fargate_pool(key: str, profile: Mapping[str, Any], zones: Sequence[str], region: str) -> NodePool:
    """One Fargate node per pod, in any zone of the profile's subnets: x86_64 only, no GPU, no taints the pod
    must tolerate (the Fargate scheduler places only the pods the profile selects)."""
    nodes = tuple(
        {
            "kubernetes.io/os": "linux",
            "kubernetes.io/arch": "amd64",
            "kubernetes.io/hostname": "<fargate node>",
            "eks.amazonaws.com/compute-type": "fargate",
            "topology.kubernetes.io/zone": zone,
            "topology.kubernetes.io/region": region,
        }
        for zone in zones
    )
    selectors = tuple(
        (s["Namespace"], {label["Key"]: label["Value"] for label in s.get("Labels", [])}) for s in profile["Selectors"]
    )
    name = profile.get("FargateProfileName", key)
    return NodePool(f"Fargate profile {name}", False, False, nodes, (), 0, True, selectors)


def _managed_pool(
    key: str, group: Mapping[str, Any], zones: Sequence[str], region: str, gpu_labelled: bool
) -> NodePool:
    ami = group["AmiType"]
    gpu = ami.endswith("_NVIDIA")
    base = {
        "kubernetes.io/os": "linux",
        "kubernetes.io/arch": "arm64" if "ARM_64" in ami else "amd64",
        "topology.kubernetes.io/region": region,
        "eks.amazonaws.com/nodegroup": f"<generated {key}>",
        "eks.amazonaws.com/nodegroup-image": "<ami>",
        "eks.amazonaws.com/capacityType": group.get("CapacityType", "ON_DEMAND"),
        **({"eks.amazonaws.com/sourceLaunchTemplateId": "<launch template>"} if "LaunchTemplate" in group else {}),
        **({"nvidia.com/gpu.present": "true"} if gpu and gpu_labelled and ami.startswith("AL2023") else {}),
        **group.get("Labels", {}),
    }
    nodes = tuple(
        {
            **base,
            "node.kubernetes.io/instance-type": t,
            "topology.kubernetes.io/zone": z,
            "kubernetes.io/hostname": "<node>",
        }
        for t, z in itertools.product(group["InstanceTypes"], zones)
    )
    taints = tuple(
        {"key": t["Key"], "value": t.get("Value", ""), "effect": KUBERNETES_TAINT_EFFECTS[t["Effect"]]}
        for t in group.get("Taints", [])
    )
    size = group["ScalingConfig"]["MinSize"]
    return NodePool(f"node group {key}", False, gpu, nodes, taints, size, size > 0)


def _requirement_values(requirements: Sequence[Mapping[str, Any]], key: str) -> list[str] | None:
    for requirement in requirements:
        if requirement["key"] == key and requirement["operator"] == "In":
            return list(requirement["values"])
    return None


def _karpenter_pool(
    pool: Mapping[str, Any], cluster: ClusterTemplate, zones: Sequence[str], region: str, gpu_labelled: bool
) -> NodePool:
    name = pool["metadata"]["name"]
    spec = pool["spec"]["template"]["spec"]
    requirements = spec.get("requirements", [])
    instance_types = _requirement_values(requirements, "node.kubernetes.io/instance-type")
    if instance_types is None:
        raise ValueError(
            f"NodePool {name}: the model needs its instance types listed (node.kubernetes.io/instance-type In)"
        )
    node_class = next(
        (o for o in cluster.objects_of("EC2NodeClass") if o["metadata"]["name"] == spec["nodeClassRef"]["name"]), {}
    )
    al2023 = any(
        term.get("alias", "").startswith("al2023@") for term in node_class.get("spec", {}).get("amiSelectorTerms", [])
    )
    custom = {r["key"]: r["values"] for r in requirements if r["operator"] == "In" and r["key"] not in KARPENTER_LABELS}
    nodes = []
    capacity_types = _requirement_values(requirements, "karpenter.sh/capacity-type") or ["on-demand"]
    for instance_type, zone, capacity_type, *custom_values in itertools.product(
        instance_types, _requirement_values(requirements, "topology.kubernetes.io/zone") or zones, capacity_types,
        *custom.values(),
    ):  # fmt: skip
        size = INSTANCE_TYPES[instance_type]
        family, instance_size = instance_type.split(".")
        labels = {
            "kubernetes.io/os": "linux",
            "kubernetes.io/arch": size.arch,
            "kubernetes.io/hostname": "<node>",
            "node.kubernetes.io/instance-type": instance_type,
            "topology.kubernetes.io/zone": zone,
            "topology.kubernetes.io/region": region,
            "karpenter.sh/nodepool": name,
            "karpenter.sh/capacity-type": capacity_type,
            "karpenter.sh/registered": "true",
            "karpenter.sh/initialized": "true",
            "karpenter.k8s.aws/ec2nodeclass": spec["nodeClassRef"]["name"],
            "karpenter.k8s.aws/instance-family": family,
            "karpenter.k8s.aws/instance-size": instance_size,
            "karpenter.k8s.aws/instance-cpu": str(size.vcpus),
            "karpenter.k8s.aws/instance-memory": str(size.memory_gib * 1024),
            **(
                {
                    "karpenter.k8s.aws/instance-gpu-manufacturer": "nvidia",
                    "karpenter.k8s.aws/instance-gpu-count": str(size.gpus),
                }
                if size.gpus
                else {}
            ),
            **({"nvidia.com/gpu.present": "true"} if size.gpus and al2023 and gpu_labelled else {}),
            **dict(zip(custom, custom_values, strict=True)),
            **pool["spec"]["template"].get("metadata", {}).get("labels", {}),
        }
        if all(expression_matches(r, labels) for r in requirements):
            nodes.append(labels)
    limits = pool["spec"].get("limits", {})
    can_launch = bool(nodes) and all(_quantity(value) > 0 for value in limits.values())
    gpu = any(INSTANCE_TYPES[t].gpus for t in instance_types)
    taints = tuple(
        {"key": t["key"], "value": t.get("value", ""), "effect": t["effect"]} for t in spec.get("taints", [])
    )
    return NodePool(f"NodePool {name}", True, gpu, tuple(nodes), taints, 0, can_launch)


def _quantity(value: str | int) -> float:
    """A Kubernetes quantity's magnitude (enough to tell zero from more)."""
    return float(re.sub(r"[A-Za-z]+$", "", str(value)) or 0)


# --- workloads from the template -----------------------------------------------------------------------


def helm_merge(defaults: Any, overrides: Any) -> Any:
    """Helm's values merge: maps merge key by key, anything else (lists included) replaces."""
    if isinstance(defaults, dict) and isinstance(overrides, dict):
        return {**defaults, **{k: helm_merge(defaults.get(k), v) for k, v in overrides.items()}}
    return overrides


_UNSET = object()


def _lookup(values: Mapping[str, Any], paths: str | Sequence[str] | None) -> Any:
    """The value at `paths` (dotted), else _UNSET. Of a list of paths the first set and not empty wins, as a
    chart's `default` fallback renders it (an empty map or list there counts as unset)."""
    fallbacks = [] if paths is None or isinstance(paths, str) else list(paths)
    for path in [paths] if isinstance(paths, str) else fallbacks:
        node: Any = values
        for part in path.split("."):
            node = node.get(part, _UNSET) if isinstance(node, Mapping) else _UNSET
        if node is _UNSET or node is None or (len(fallbacks) > 1 and node in ({}, [], "")):
            continue
        return node
    return _UNSET


HOSTNAME_ANTI_AFFINITY = {
    "podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [{"topologyKey": "kubernetes.io/hostname"}]}
}
"""What a chart's `hard` anti-affinity preset renders: one replica per node."""


def _rendered(
    spec: Mapping[str, Any], values: Mapping[str, Any], namespace: str, origin: str, architectures: Sequence[str]
) -> Workload:
    """One of a chart's or add-on's workloads, placed as its template renders `values`."""

    def get(field_name: str, default: Any) -> Any:
        found = _lookup(values, spec.get(field_name))
        return default if found is _UNSET else found

    replicas = get("replicas", None)
    affinity = get("affinity", {})
    if spec.get("affinityPreset") and get("affinityPreset", {}).get("podAntiAffinity") == "hard":
        affinity = {**affinity, **HOSTNAME_ANTI_AFFINITY}
    return Workload(
        kind=spec["kind"],
        namespace=namespace,
        name=spec["name"],
        origin=origin,
        runs_on=spec["runs_on"],
        node_selector={**spec.get("fixedNodeSelector", {}), **get("nodeSelector", {})},
        affinity=affinity,
        tolerations=[*spec.get("fixedTolerations", []), *get("tolerations", [])],
        replicas=int(replicas) if replicas is not None else None,
        outside_karpenter=bool(spec.get("outside_karpenter")),
        note=spec.get("note"),
        architectures=frozenset(architectures),
    )


def workloads(cluster: ClusterTemplate, defaults: Mapping[str, Any] = DEFAULTS) -> tuple[list[Workload], list[str]]:
    """Every workload the template installs, and what the recorded `defaults` do not cover (a chart or
    add-on without defaults, defaults recorded for another chart version)."""
    found: list[Workload] = []
    gaps: list[str] = []
    for release in cluster.releases:
        recorded = defaults["charts"].get(release.chart)
        if recorded is None or recorded["version"] != release.version:
            have = recorded["version"] if recorded else "none"
            gaps.append(f"chart {release.chart} {release.version}: chart_defaults.json has defaults for {have}")
            continue
        values = helm_merge(recorded["values"], release.values)
        origin = f"chart {release.chart} {release.version}"
        found += [
            _rendered(spec, values, release.namespace, origin, recorded["architectures"])
            for spec in recorded["workloads"]
            if not spec.get("enabled") or _lookup(values, spec["enabled"]) not in (_UNSET, False)
        ]
    for addon in cluster.addons:
        recorded = defaults["addons"].get(addon.name)
        if recorded is None:
            gaps.append(f"add-on {addon.name}: chart_defaults.json has no defaults for it")
            continue
        values = helm_merge(recorded["values"], addon.configuration)
        origin = f"add-on {addon.name}"
        found += [
            _rendered(spec, values, spec["namespace"], origin, recorded["architectures"])
            for spec in recorded["workloads"]
        ]
    for obj in cluster.objects:
        if obj["kind"] in WORKLOAD_KINDS:
            pod = obj["spec"]["template"]["spec"]
            found.append(
                Workload(
                    kind=obj["kind"],
                    namespace=obj["metadata"].get("namespace", "default"),
                    name=obj["metadata"]["name"],
                    origin="manifest",
                    node_selector=pod.get("nodeSelector", {}),
                    affinity=pod.get("affinity", {}),
                    tolerations=pod.get("tolerations", []),
                    replicas=obj["spec"].get("replicas"),
                    labels=obj["spec"]["template"].get("metadata", {}).get("labels", {}),
                )
            )
    return found, gaps


# --- the contract --------------------------------------------------------------------------------------


def placement_problems(stage: str, pools: Sequence[NodePool], workload: Workload) -> list[str]:
    """Where `workload` lands against where it must: one line per mismatch, naming what is missing."""
    refusals = {pool.name: pool_refusal(workload, pool, pools) for pool in pools}
    landing = [pool for pool in pools if refusals[pool.name] is None]
    usable = [pool for pool in landing if pool.can_launch]
    where = f"{stage}: {workload}"
    why = "; ".join(f"{name}: {reason}" for name, reason in refusals.items() if reason)
    if workload.runs_on == "none":
        return (
            [f"{where} should run nowhere ({workload.note}) but lands on {', '.join(p.name for p in landing)}"]
            if landing
            else []
        )
    if workload.runs_on == "every":
        return [
            f"{where} must run on every node but not on {p.name}: {refusals[p.name]}"
            for p in pools
            if refusals[p.name] and not p.fargate
        ]
    if workload.runs_on == "gpu":
        problems = [
            f"{where} must run on every GPU node but not on {p.name}: {refusals[p.name]}"
            for p in pools
            if p.gpu and refusals[p.name]
        ]
        problems += [f"{where} must run on GPU nodes only but lands on {p.name}" for p in landing if not p.gpu]
        return problems
    if not usable:
        return [f"{where} lands on no pool that can hold a node ({why or 'the pools it fits have no nodes'})"]
    problems = []
    if workload.outside_karpenter:
        problems += [f"{where} lands on {p.name}, a node Karpenter launched itself" for p in landing if p.karpenter]
    if workload.replicas and workload.one_replica_per_node:
        elastic = any(p.karpenter or p.fargate for p in usable) and not workload.outside_karpenter
        fixed = sum(p.fixed_nodes for p in usable if not p.karpenter)
        if not elastic and fixed < workload.replicas:
            problems.append(f"{where} needs {workload.replicas} nodes, one per replica, but its pools keep {fixed}")
    return problems


def gpu_pod(namespace: str) -> Workload:
    """A GPU workload as a tenant writes one: it requests nvidia.com/gpu and tolerates the GPU taint."""
    return Workload(
        "Pod", namespace, "gpu-job", "a GPU workload", runs_on="some",
        tolerations=[{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}],
    )  # fmt: skip


def plain_pod(namespace: str) -> Workload:
    """A tenant pod with no placement of its own."""
    return Workload("Pod", namespace, "service", "a tenant workload")


def gpu_quota(cluster: ClusterTemplate, namespace: str) -> int:
    return sum(
        int(q["spec"]["hard"].get("requests.nvidia.com/gpu", "0"))
        for q in cluster.objects_of("ResourceQuota")
        if q["metadata"]["namespace"] == namespace
    )


def fargate_pod(namespace: str, labels: Mapping[str, str]) -> Workload:
    """A tenant pod a Fargate profile's selector is meant to take."""
    return Workload("Pod", namespace, "fargate-pod", "a pod a Fargate profile selects", labels=dict(labels))


def scheduling_problems(
    stage: str,
    cluster: ClusterTemplate,
    zones: Sequence[str],
    region: str,
    fargate_pods: Sequence[Workload] = (),
    defaults: Mapping[str, Any] = DEFAULTS,
) -> list[str]:
    """Every workload placed where it must run; tenant pods land; GPU pods land on a GPU pool that runs the
    device plugin, in every namespace whose quota grants GPUs; each of `fargate_pods` lands on Fargate only."""
    pools = node_pools(cluster, zones, region)
    installed, gaps = workloads(cluster, defaults)
    problems = [f"{stage}: {gap}" for gap in gaps]
    for workload in installed:
        problems += placement_problems(stage, pools, workload)
    plugins = [w for w in installed if w.runs_on == "gpu" and "device-plugin" in w.name]
    advertised = {p.name for p in pools if p.gpu and any(pool_refusal(w, p) is None for w in plugins)}
    tenants = [
        o["metadata"]["name"]
        for o in cluster.objects_of("Namespace")
        if "platform/tenant" in o["metadata"].get("labels", {})
    ]
    for namespace in tenants:
        problems += placement_problems(stage, pools, plain_pod(namespace))
        if gpu_quota(cluster, namespace):
            pod = gpu_pod(namespace)
            serving = [
                p for p in pools if p.gpu and p.can_launch and p.name in advertised and pool_refusal(pod, p) is None
            ]
            if not serving:
                problems.append(
                    f"{stage}: {pod}: no GPU pool that can launch a node, runs the device plugin and admits it"
                )
    for pod in fargate_pods:
        landing = [p.name for p in pools if pool_refusal(pod, p, pools) is None]
        if not landing or any(not p.fargate for p in pools if p.name in landing):
            where = ", ".join(landing) or "no pool"
            problems.append(f"{stage}: {pod} with labels {dict(pod.labels)}: lands on {where}, not on Fargate")
    return problems
