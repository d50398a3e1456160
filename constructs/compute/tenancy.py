"""Tenant namespaces (seeds 000, 002): quota, default limits, default-deny networking with the allow rules
their pods need, a priority class and the `workload` service account that Pod Identity binds to a role."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aws_cdk import aws_eks_v2 as eks
from aws_cdk import aws_iam as iam
from constructs import Construct

from environments.schema.compute import NamespaceConfig

WORKLOAD_SERVICE_ACCOUNT = "workload"
COREDNS = {
    "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
    "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
}
"""The CoreDNS pods of the coredns add-on (both selectors in one peer: pods with that label in kube-system)."""
POD_IDENTITY_AGENT = ("169.254.170.23/32", 80)
"""Where the EKS Pod Identity agent (a hostNetwork DaemonSet) serves credentials: EKS user guide, EKS Pod
Identity considerations; its 2703 is the agent's own health probe, which pods never call."""
HTTPS = 443
PRIVATE_RANGES = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "169.254.0.0/16")
"""RFC 1918, RFC 6598 shared and link-local space (instance metadata among it): the public HTTPS rule never
reaches these; what pods may reach inside them is listed rule by rule."""


@dataclass(frozen=True)
class TenantNetwork:
    """Where tenant pods may connect outside their namespace, by address: NetworkPolicy cannot name security
    groups or prefix lists, so each peer is the CIDRs of the subnets it lives in.

    `service_clients` reach pods on `service_ports`: the public subnets, where the internet-facing ALB (IP
    targets) sits, and with a secondary region that region's app tier. Pods reach the data tier's
    `data_cidrs` on `data_ports` and the interface endpoints in `endpoint_cidrs` on 443. S3 and DynamoDB
    answer on AWS's public ranges through the gateway endpoints, which no policy can name (the prefix lists
    change), so HTTPS to public addresses is open; `vpc_cidr` and the private ranges stay closed unless listed.
    """

    vpc_cidr: str
    service_clients: tuple[str, ...]
    service_ports: tuple[tuple[int, int], ...]
    """Inclusive port ranges, as the network's groups open them."""
    data_cidrs: tuple[str, ...]
    data_ports: tuple[int, ...]
    endpoint_cidrs: tuple[str, ...]

    @property
    def closed_ranges(self) -> list[str]:
        """The private ranges, plus the VPC when it is outside them."""
        vpc = ipaddress.IPv4Network(self.vpc_cidr)
        inside = any(vpc.subnet_of(ipaddress.IPv4Network(r)) for r in PRIVATE_RANGES)
        return [*PRIVATE_RANGES, *(() if inside else (self.vpc_cidr,))]


def _policy(namespace: str, name: str, **spec: Any) -> dict[str, Any]:
    """A NetworkPolicy for every pod of `namespace`."""
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"podSelector": {}, **spec},
    }


def _blocks(cidrs: tuple[str, ...]) -> list[dict[str, Any]]:
    return [{"ipBlock": {"cidr": cidr}} for cidr in cidrs]


def network_policies(namespace: str, network: TenantNetwork) -> list[dict[str, Any]]:
    """Default deny both ways, then each path a tenant pod needs (DNS, Pod Identity, the data tier, AWS APIs,
    its service clients, its own namespace)."""
    return [
        _policy(namespace, "default-deny", policyTypes=["Ingress", "Egress"]),
        _policy(
            namespace,
            "allow-dns",
            policyTypes=["Egress"],
            egress=[{"to": [COREDNS], "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]}],
        ),
        _policy(
            namespace,
            "allow-same-namespace",
            policyTypes=["Ingress", "Egress"],
            ingress=[{"from": [{"podSelector": {}}]}],
            egress=[{"to": [{"podSelector": {}}]}],
        ),
        _policy(
            namespace,
            "allow-pod-identity",
            policyTypes=["Egress"],
            egress=[
                {"to": _blocks((POD_IDENTITY_AGENT[0],)), "ports": [{"protocol": "TCP", "port": POD_IDENTITY_AGENT[1]}]}
            ],
        ),
        _policy(
            namespace,
            "allow-data-tier",
            policyTypes=["Egress"],
            egress=[
                {
                    "to": _blocks(network.data_cidrs),
                    "ports": [{"protocol": "TCP", "port": port} for port in network.data_ports],
                }
            ],
        ),
        _policy(
            namespace,
            "allow-aws-apis",
            policyTypes=["Egress"],
            egress=[
                {"to": _blocks(network.endpoint_cidrs), "ports": [{"protocol": "TCP", "port": HTTPS}]},
                {
                    "to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": network.closed_ranges}}],
                    "ports": [{"protocol": "TCP", "port": HTTPS}],
                },
            ],
        ),
        _policy(
            namespace,
            "allow-service-clients",
            policyTypes=["Ingress"],
            ingress=[
                {
                    "from": _blocks(network.service_clients),
                    "ports": [
                        {"protocol": "TCP", "port": first, **({"endPort": last} if last > first else {})}
                        for first, last in network.service_ports
                    ],
                }
            ],
        ),
    ]


def namespace_manifests(namespace: NamespaceConfig, network: TenantNetwork) -> list[dict[str, Any]]:
    """Every object one tenant namespace consists of, as plain Kubernetes manifests."""
    name = namespace.name
    meta = {"namespace": name}
    return [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": {"platform/tenant": name}}},
        {
            "apiVersion": "v1",
            "kind": "ResourceQuota",
            "metadata": {"name": "compute", **meta},
            "spec": {
                "hard": {
                    "requests.cpu": str(namespace.cpu),
                    "limits.cpu": str(namespace.cpu * 2),
                    "requests.memory": f"{namespace.memory_gib}Gi",
                    "limits.memory": f"{namespace.memory_gib * 2}Gi",
                    "requests.nvidia.com/gpu": str(namespace.gpu),
                }
            },
        },
        {
            "apiVersion": "v1",
            "kind": "LimitRange",
            "metadata": {"name": "defaults", **meta},
            "spec": {
                "limits": [
                    {
                        "type": "Container",
                        "defaultRequest": {"cpu": "100m", "memory": "128Mi"},
                        "default": {"cpu": "500m", "memory": "512Mi"},
                    }
                ]
            },
        },
        *network_policies(name, network),
        {
            "apiVersion": "scheduling.k8s.io/v1",
            "kind": "PriorityClass",
            "metadata": {"name": f"{name}-priority"},
            "value": namespace.priority,
            "globalDefault": False,
            "description": f"Default priority of {name} workloads",
        },
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": WORKLOAD_SERVICE_ACCOUNT, **meta}},
    ]


class Tenancy(Construct):
    """Per namespace: a KubernetesManifest of its objects (`manifests`, the objects in `objects`) and the
    Pod Identity association of its `workload` account with the role of its kind (`associations`)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        cluster: eks.ICluster,
        namespaces: tuple[NamespaceConfig, ...],
        network: TenantNetwork,
        workload_roles: Mapping[str, iam.IRole],
    ) -> None:
        super().__init__(scope, construct_id)
        self.objects: dict[str, list[dict[str, Any]]] = {}
        self.manifests: dict[str, eks.KubernetesManifest] = {}
        self.associations: dict[str, eks.CfnPodIdentityAssociation] = {}
        for namespace in namespaces:
            construct_name = "".join(part.capitalize() for part in namespace.name.split("-"))
            self.objects[namespace.name] = namespace_manifests(namespace, network)
            self.manifests[namespace.name] = eks.KubernetesManifest(
                self, construct_name, cluster=cluster, manifest=self.objects[namespace.name]
            )
            self.associations[namespace.name] = eks.CfnPodIdentityAssociation(
                self,
                f"{construct_name}Identity",
                cluster_name=cluster.cluster_name,
                namespace=namespace.name,
                service_account=WORKLOAD_SERVICE_ACCOUNT,
                role_arn=workload_roles[namespace.workload_role].role_arn,
            )
