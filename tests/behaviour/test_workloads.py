"""The workloads Argo CD deploys work once deployed (tests/workload_objects.py renders them, per stage):

- scheduling: each service's pods land, by nodeSelector and tolerations, on a node group that keeps nodes or a
  Karpenter NodePool that launches them, GPU pods on GPU nodes only (Argo CD and the Secrets Store CSI charts
  are placed by the scheduling contract, tests/behaviour/scheduling.py, with the other charts);
- reachability (tests/behaviour/reachability.py): the load balancer reaches the nodes each service's pods land on
  at the service's port (its target group's IP targets are the pods, on their node's network interfaces and
  groups), and GPU pods' nodes reach the shared models' EFS on 2049.

Each contract is also run on workloads or templates broken on purpose. The placement check here reads
nodeSelector and tolerations only.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import pytest

from tests.behaviour import reachability
from tests.behaviour.create_time import Nodes, node_providers
from tests.behaviour.reachability import GroupPeer, Kind, Party, Placed, Traffic, VpcModel
from tests.behaviour.templates import StackTemplate, copied, stage_stacks
from tests.synthesis import SynthesizedPlatform
from tests.workload_objects import applications

GPU = "nvidia.com/gpu"
GPU_FAMILY = re.compile(r"^[gp]\d")
"""NVIDIA instance families (g4dn, g5, g6, p4d, p5 ...): the nodes a GPU request can use."""
EFS_PORT = 2049


@dataclass(frozen=True)
class Workload:
    """A service's pods, as the scheduler and the network see them."""

    name: str
    namespace: str
    pod: dict[str, Any]
    port: int
    gpus: int

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}"


def workloads(platform: SynthesizedPlatform, stage: str) -> list[Workload]:
    found = []
    for app in applications(platform, stage):
        objects = {obj["kind"]: obj for obj in app.objects}
        pod = objects["Deployment"]["spec"]["template"]["spec"]
        (port,) = objects["Service"]["spec"]["ports"]
        gpus = sum(int(c["resources"].get("requests", {}).get(GPU, 0)) for c in pod["containers"])
        found.append(Workload(app.name, app.namespace, pod, port["port"], gpus))
    if not found:
        pytest.skip(f"{stage} deploys no workloads (no platform.gitops)")
    return found


def platform_stacks(stacks: Sequence[StackTemplate]) -> dict[str, StackTemplate]:
    """By region, the stack with that region's cluster: every region of a stage runs the workloads."""
    found = [s for s in stacks if any(True for _ in s.of_type("AWS::EKS::Cluster"))]
    assert len({s.region for s in found}) == len(found), "two clusters in one region"
    return {s.region: s for s in found}


def _platform_stack(stacks: Sequence[StackTemplate], region: str) -> StackTemplate:
    return platform_stacks(stacks)[region]


def gpu_nodes(provider: Nodes) -> bool:
    return bool(provider.instance_types) and all(GPU_FAMILY.match(t) for t in provider.instance_types)


def landing(providers: Sequence[Nodes], pod: dict[str, Any], gpus: int) -> list[Nodes]:
    """The node groups and NodePools a pod fits and that can hold a node: a managed group above zero, or a
    NodePool (Karpenter launches for pending pods); GPU requests on GPU nodes only."""
    return [p for p in providers if p.run(pod) and (p.fixed > 0 or p.node_class) and (not gpus or gpu_nodes(p))]


def placement_problems(stage: str, providers: Sequence[Nodes], found: Sequence[Workload]) -> list[str]:
    problems = []
    for workload in found:
        if not landing(providers, workload.pod, workload.gpus):
            selector = workload.pod.get("nodeSelector", {})
            tolerated = [t.get("key") for t in workload.pod.get("tolerations", [])]
            problems.append(
                f"{stage}: {workload} lands on no node group or NodePool that holds nodes "
                f"(nodeSelector {selector}, tolerates {tolerated}, {workload.gpus} GPUs)"
            )
    return problems


def _parties(model: VpcModel, region: str, provider: Nodes) -> list[Party]:
    """The network placements of a node provider: its node group, or its NodePool's EC2NodeClass."""
    return [
        Party(f"{p.kind.value} {p.name}", p.subnets, p.groups, origin=p.origin)
        for p in model.placements_in(region)
        if (p.kind is Kind.NODE_GROUP and not provider.node_class and p.resource.logical_id == provider.logical_id)
        or (p.kind is Kind.KARPENTER_NODES and provider.node_class and p.name == f"EC2NodeClass {provider.node_class}")
    ]


def reachability_problems(
    stage: str, region: str, model: VpcModel, providers: Sequence[Nodes], found: Sequence[Workload]
) -> list[str]:
    problems = []
    balancers = model.parties(region, Placed(frozenset({Kind.LOAD_BALANCER})))
    file_systems = model.parties(region, Placed(frozenset({Kind.FILE_SYSTEM})))
    assert balancers and file_systems, f"{stage}: no load balancer or EFS placement to reach"
    for workload in found:
        nodes = [party for p in landing(providers, workload.pod, workload.gpus) for party in _parties(model, region, p)]
        if not nodes:
            problems.append(f"{stage}: {workload}: no network placement of the nodes it lands on")
        paths = [(b, n, Traffic.tcp(workload.port), "its target group") for b in balancers for n in nodes]
        if workload.gpus:
            paths += [(n, f, Traffic.tcp(EFS_PORT), "the shared models") for n in nodes for f in file_systems]
        for source, destination, traffic, what in paths:
            missing = model.required(source, destination, traffic)
            if missing:
                details = "; ".join(map(str, missing))
                problems.append(f"{stage}: {workload}: {what}: {source} -> {destination} {traffic}: {details}")
    return problems


def _model(stacks: Sequence[StackTemplate], stage: str) -> VpcModel:
    return VpcModel(stage, [reachability.StackTemplate(s.name, s.region, dict(s.template)) for s in stacks])


def test_every_service_lands_where_it_can_run(platform: SynthesizedPlatform, stage: str) -> None:
    """In every region: a standby region's pools hold no managed nodes, so its pods land on Karpenter's."""
    found = workloads(platform, stage)
    stacks = platform_stacks(stage_stacks(platform, stage))
    assert set(stacks) == {region.region for region in platform.configs[stage].regions}
    assert [p for stack in stacks.values() for p in placement_problems(stage, node_providers(stack), found)] == []


def test_the_load_balancer_reaches_every_service_and_gpu_pods_the_shared_models(
    platform: SynthesizedPlatform, stage: str
) -> None:
    stacks = stage_stacks(platform, stage)
    found = workloads(platform, stage)
    model = _model(stacks, stage)
    assert [
        problem
        for region, stack in platform_stacks(stacks).items()
        for problem in reachability_problems(stage, region, model, node_providers(stack), found)
    ] == []


# --- each contract fails on what is broken on purpose ----------------------------------------------------


def _first(found: Sequence[Workload], gpu: bool) -> int:
    return next(i for i, w in enumerate(found) if bool(w.gpus) == gpu)


def test_a_gpu_pod_without_its_toleration_lands_nowhere(platform: SynthesizedPlatform, stage: str) -> None:
    found = workloads(platform, stage)
    index = _first(found, gpu=True)
    broken = list(found)
    broken[index] = replace(found[index], pod={**found[index].pod, "tolerations": []})
    providers = node_providers(_platform_stack(stage_stacks(platform, stage), platform.configs[stage].region))
    assert placement_problems(stage, providers, broken) == [
        f"{stage}: {found[index]} lands on no node group or NodePool that holds nodes "
        f"(nodeSelector {found[index].pod['nodeSelector']}, tolerates [], {found[index].gpus} GPUs)"
    ]


def test_a_service_port_the_network_does_not_admit_is_unreachable(platform: SynthesizedPlatform, stage: str) -> None:
    stacks = stage_stacks(platform, stage)
    found = workloads(platform, stage)
    index = _first(found, gpu=False)
    broken = [replace(found[index], port=9000)]
    region = platform.configs[stage].region
    problems = reachability_problems(
        stage, region, _model(stacks, stage), node_providers(_platform_stack(stacks, region)), broken
    )
    assert problems and all(f"{found[index]}: its target group:" in p and "tcp/9000" in p for p in problems), problems


def test_gpu_nodes_without_the_efs_ingress_miss_the_shared_models(platform: SynthesizedPlatform, stage: str) -> None:
    """The EFS group's rules admitting other groups are removed from a copy of the templates."""
    stacks = stage_stacks(platform, stage)
    region = platform.configs[stage].region
    model = _model(stacks, stage)
    copies = {s.name: copied(dict(s.template)) for s in stacks}
    for placement in model.placements_in(region):
        if placement.kind is Kind.FILE_SYSTEM:
            for group in placement.groups:
                for rule in model.groups[group].ingress:
                    if isinstance(rule.peer, GroupPeer) and rule.written_in and rule.index is None:
                        copies[rule.written_in.stack]["Resources"].pop(rule.written_in.logical_id)
    broken = [s.relabelled(template=copies[s.name]) for s in stacks]
    assert json.dumps([s.template for s in broken]) != json.dumps([s.template for s in stacks]), "no EFS rule found"
    found = [w for w in workloads(platform, stage) if w.gpus]
    problems = reachability_problems(
        stage, region, _model(broken, stage), node_providers(_platform_stack(stacks, region)), found
    )
    assert problems and all(": the shared models:" in p and "tcp/2049" in p for p in problems), problems
