"""Contract 4, network policy: the VPC CNI enforces NetworkPolicy, every tenant namespace denies by default,
and each pod path the platform needs is allowed while paths it must not open stay closed.

The paths come from the templates: subnets and their CIDRs, the ports the data tier's security groups open
to workloads, the service ports the workload group opens to the load balancer (and to a peered region's app
tier) and the subnets of the interface endpoints, all from the network stack; tenant namespaces and policies
from the objects the platform stack applies.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from tests.behaviour.network_policy import Endpoint, NetworkPolicies
from tests.behaviour.platform_template import ClusterTemplate, with_objects, with_resource
from tests.support import logical_id
from tests.synthesis import SynthesizedPlatform

TENANT_LABEL = "platform/tenant"
COREDNS_LABELS = {"k8s-app": "kube-dns"}
"""The coredns add-on's pod labels (its Service and anti-affinity select k8s-app=kube-dns)."""
POD_IDENTITY_AGENT = Endpoint("the Pod Identity agent (hostNetwork)", "169.254.170.23")
INSTANCE_METADATA = Endpoint("instance metadata", "169.254.169.254")
AWS_PUBLIC_ADDRESS = Endpoint("S3 through the gateway endpoint (an AWS public address)", "52.216.8.10")
INTERNET = Endpoint("an internet address", "203.0.113.10")
OTHER_PRIVATE = Endpoint("a private address outside the VPC", "172.16.5.5")


@dataclass(frozen=True)
class NetworkFacts:
    """What the network stack's template says pods talk to."""

    subnets: dict[str, list[str]]
    """Tier -> its subnets' CIDRs."""
    data_ports: list[int]
    service_ports: tuple[tuple[int, int], ...]
    peer_service_clients: list[str]
    """CIDRs the workload group admits on the service ports besides the load balancer (a peered region)."""
    endpoint_subnets: list[str]


def network_facts(network: dict[str, Any], workload_group: str, alb_group: str) -> NetworkFacts:
    resources = network["Resources"]
    subnets: dict[str, list[str]] = {}
    cidr_of = {}
    for key, resource in resources.items():
        if resource["Type"] == "AWS::EC2::Subnet":
            tags = {t["Key"]: t["Value"] for t in resource["Properties"]["Tags"]}
            subnets.setdefault(tags["aws-cdk:subnet-name"], []).append(resource["Properties"]["CidrBlock"])
            cidr_of[key] = resource["Properties"]["CidrBlock"]
    rules = [
        r["Properties"]
        for r in resources.values()
        if r["Type"] == "AWS::EC2::SecurityGroupIngress" and "SourceSecurityGroupId" in r["Properties"]
    ]
    inline = resources[workload_group]["Properties"].get("SecurityGroupIngress", [])

    def group(value: Any) -> str:
        return str(value["Fn::GetAtt"][0])

    data_ports = sorted(
        port
        for rule in rules
        if group(rule["SourceSecurityGroupId"]) == workload_group and group(rule["GroupId"]) != workload_group
        for port in range(rule["FromPort"], rule["ToPort"] + 1)
    )
    service_ports = tuple(
        sorted(
            (r["FromPort"], r["ToPort"])
            for r in rules
            if group(r["SourceSecurityGroupId"]) == alb_group and group(r["GroupId"]) == workload_group
        )
    )
    peers = sorted({r["CidrIp"] for r in inline if (r["FromPort"], r["ToPort"]) in service_ports})
    endpoint_subnets = sorted(
        {
            cidr_of[subnet["Ref"]]
            for r in resources.values()
            if r["Type"] == "AWS::EC2::VPCEndpoint" and r["Properties"].get("VpcEndpointType") == "Interface"
            for subnet in r["Properties"]["SubnetIds"]
        }
    )
    return NetworkFacts(subnets, data_ports, service_ports, peers, endpoint_subnets)


def host(cidr: str, index: int = 10) -> str:
    return str(ipaddress.IPv4Network(cidr)[index])


Path = tuple[str, Endpoint, Endpoint, int, str]
"""(what it is, source, destination, port, protocol), seen from one tenant namespace."""


def pod_paths(cluster: ClusterTemplate, facts: NetworkFacts) -> dict[str, tuple[list[Path], list[Path]]]:
    """Tenant namespace -> (required, forbidden) connections of a pod in it."""
    tenants = [
        obj["metadata"]["name"]
        for obj in cluster.objects_of("Namespace")
        if TENANT_LABEL in obj["metadata"].get("labels", {})
    ]
    app = facts.subnets["app"]
    coredns = Endpoint("CoreDNS", host(app[0], 5), "kube-system", COREDNS_LABELS)
    karpenter = Endpoint(
        "the Karpenter controller", host(app[0], 6), "kube-system", {"app.kubernetes.io/name": "karpenter"}
    )
    first = facts.service_ports[0][0]
    range_ends = sorted({port for ports in facts.service_ports for port in ports})
    paths = {}
    for index, tenant in enumerate(tenants):
        pod = Endpoint(f"a {tenant} pod", host(app[index % len(app)], 20 + index), tenant, {"app": "service"})
        peer = Endpoint(f"another {tenant} pod", host(app[-1], 40 + index), tenant, {"app": "other"})
        required: list[Path] = [
            ("DNS over UDP", pod, coredns, 53, "UDP"),
            ("DNS over TCP", pod, coredns, 53, "TCP"),
            ("Pod Identity credentials", pod, POD_IDENTITY_AGENT, 80, "TCP"),
            *((f"data tier {cidr} port {port}", pod, Endpoint(cidr, host(cidr)), port, "TCP")
              for cidr in facts.subnets["data"] for port in facts.data_ports),
            *((f"interface endpoint in {cidr}", pod, Endpoint(cidr, host(cidr, 7)), 443, "TCP")
              for cidr in facts.endpoint_subnets),
            ("S3/DynamoDB via the gateway endpoints", pod, AWS_PUBLIC_ADDRESS, 443, "TCP"),
            *((f"load balancer in {cidr} -> service port {port}", Endpoint(cidr, host(cidr)), pod, port, "TCP")
              for cidr in facts.subnets["public"] for port in range_ends),
            *((f"peered region {cidr} -> service port {first}", Endpoint(cidr, host(cidr)), pod, first, "TCP")
              for cidr in facts.peer_service_clients),
            ("same namespace, any port", pod, peer, 8080, "TCP"),
        ]  # fmt: skip
        strangers = [Endpoint(f"a {t} pod", host(app[1], 60), t, {"app": "service"}) for t in tenants if t != tenant]
        data, public = facts.subnets["data"][0], facts.subnets["public"][0]
        forbidden: list[Path] = [
            *((f"-> {s.namespace} pod on service port {first}", pod, s, first, "TCP") for s in strangers),
            *((f"{s.namespace} pod -> service port {first}", s, pod, first, "TCP") for s in strangers),
            ("-> data tier on SSH", pod, Endpoint(data, host(data)), 22, "TCP"),
            ("-> internet on port 80", pod, INTERNET, 80, "TCP"),
            ("-> internet on SSH", pod, INTERNET, 22, "TCP"),
            ("-> instance metadata", pod, INSTANCE_METADATA, 80, "TCP"),
            ("-> private address outside the VPC on 443", pod, OTHER_PRIVATE, 443, "TCP"),
            ("-> Karpenter's metrics", pod, karpenter, 8080, "TCP"),
            ("app tier address -> service port", Endpoint("an app-tier address", host(app[2], 80)), pod, first, "TCP"),
            ("load balancer -> a port outside the service ports", Endpoint(public, host(public)), pod, 22, "TCP"),
        ]
        paths[tenant] = (required, forbidden)
    return paths


def network_policy_problems(stage: str, cluster: ClusterTemplate, facts: NetworkFacts) -> list[str]:
    """One line per missing enforcement, tenant without default deny, blocked required path or open forbidden one."""
    problems = []
    (cni,) = [addon for addon in cluster.addons if addon.name == "vpc-cni"]
    if cni.configuration.get("enableNetworkPolicy") != "true":
        problems.append(f'{stage}: add-on vpc-cni: enableNetworkPolicy is not "true", so no policy is enforced')
    problems += _ingress_targets_pods(stage, cluster)
    policies = NetworkPolicies(cluster.objects)
    for tenant, (required, forbidden) in pod_paths(cluster, facts).items():
        for what, source, destination, port, protocol in required:
            if why := policies.blocked(source, destination, port, protocol):
                problems.append(f"{stage}: {tenant}: {what} ({port}/{protocol}) is blocked: {why}")
        for what, source, destination, port, protocol in forbidden:
            if policies.blocked(source, destination, port, protocol) is None:
                problems.append(f"{stage}: {tenant}: {what} ({port}/{protocol}) is allowed but must not be")
    return problems


def _ingress_targets_pods(stage: str, cluster: ClusterTemplate) -> list[str]:
    """Every TargetGroupBinding registers pod IPs (targetType ip), the source the policies admit: instance
    targets would reach pods from node addresses through a NodePort."""
    return [
        f"{stage}: TargetGroupBinding {binding['metadata']['name']}: targetType "
        f"{binding['spec'].get('targetType')!r}, not 'ip': the load balancer would reach pods from node addresses"
        for binding in cluster.objects_of("TargetGroupBinding")
        if binding["spec"].get("targetType") != "ip"
    ]


def _facts(platform: SynthesizedPlatform, stage: str) -> NetworkFacts:
    groups = platform.stages[stage].network.security_groups
    return network_facts(platform.template_json(stage, "network"), logical_id(groups.workload), logical_id(groups.alb))


def test_required_pod_paths_are_allowed_and_forbidden_ones_are_not(platform: SynthesizedPlatform, stage: str) -> None:
    cluster = ClusterTemplate.read(platform.template_json(stage, "platform"))
    facts = _facts(platform, stage)
    paths = pod_paths(cluster, facts)
    assert paths and all(required and forbidden for required, forbidden in paths.values())
    assert network_policy_problems(stage, cluster, facts) == []


def test_every_tenant_namespace_denies_by_default(platform: SynthesizedPlatform, stage: str) -> None:
    cluster = ClusterTemplate.read(platform.template_json(stage, "platform"))
    tenants = {
        o["metadata"]["name"] for o in cluster.objects_of("Namespace") if TENANT_LABEL in o["metadata"]["labels"]
    }
    denying = {
        p["metadata"]["namespace"]
        for p in cluster.objects_of("NetworkPolicy")
        if p["spec"]["podSelector"] == {}
        and set(p["spec"]["policyTypes"]) == {"Ingress", "Egress"}
        and not p["spec"].get("ingress")
        and not p["spec"].get("egress")
    }
    assert tenants and tenants <= denying, tenants - denying


def _editing(name: str, edit: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """A mutation that edits the NetworkPolicy `name` in every tenant namespace."""

    def change(obj: dict[str, Any]) -> None:
        if obj["kind"] == "NetworkPolicy" and obj["metadata"]["name"] == name:
            edit(obj["spec"])

    return lambda template: with_objects(template, change)


def _without_data_port(spec: dict[str, Any], port: int = 5432) -> None:
    spec["egress"][0]["ports"] = [p for p in spec["egress"][0]["ports"] if p["port"] != port]


def _instance_targets(obj: dict[str, Any]) -> None:
    if obj["kind"] == "TargetGroupBinding":
        obj["spec"]["targetType"] = "instance"


ANY_NAMESPACE: dict[str, Any] = {
    "ingress": [{"from": [{"namespaceSelector": {}}]}],
    "egress": [{"to": [{"namespaceSelector": {}}]}],
}
MUTATIONS: dict[str, tuple[Callable[[dict[str, Any]], dict[str, Any]], str]] = {
    "vpc-cni without enforcement": (
        lambda t: with_resource(t, "AWS::EKS::Addon", {"AddonName": "vpc-cni"}, ConfigurationValues=None),
        '{stage}: add-on vpc-cni: enableNetworkPolicy is not "true"',
    ),
    "no DNS rule": (
        _editing("allow-dns", lambda spec: spec.update(egress=[])),
        "{stage}: {tenant}: DNS over UDP (53/UDP) is blocked",
    ),
    "no PostgreSQL port": (
        _editing("allow-data-tier", _without_data_port),
        "{stage}: {tenant}: data tier {data} port 5432",
    ),
    "public egress on every port": (
        _editing("allow-aws-apis", lambda spec: spec["egress"][1].pop("ports")),
        "{stage}: {tenant}: -> internet on port 80 (80/TCP) is allowed but must not be",
    ),
    "same-namespace rule open to every namespace": (
        _editing("allow-same-namespace", lambda spec: spec.update(ANY_NAMESPACE)),
        "{stage}: {tenant}: {other} pod -> service port",
    ),
    "no rule for the load balancer": (
        _editing("allow-service-clients", lambda spec: spec.update(ingress=[])),
        "{stage}: {tenant}: load balancer in {public} -> service port",
    ),
    "instance targets": (
        lambda t: with_objects(t, _instance_targets),
        "{stage}: TargetGroupBinding ",
    ),
}


@pytest.mark.parametrize("mutation", MUTATIONS)
def test_a_broken_policy_is_caught(platform: SynthesizedPlatform, stage: str, mutation: str) -> None:
    template = platform.template_json(stage, "platform")
    facts = _facts(platform, stage)
    tenants = [namespace.name for namespace in platform.configs[stage].platform.namespaces]
    change, expected = MUTATIONS[mutation]
    problems = network_policy_problems(stage, ClusterTemplate.read(change(template)), facts)
    line = expected.format(
        stage=stage,
        tenant=tenants[0],
        other=tenants[-1],
        data=facts.subnets["data"][0],
        public=facts.subnets["public"][0],
    )
    assert any(p.startswith(line) for p in problems), problems
