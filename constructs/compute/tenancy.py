"""Tenant namespaces (seeds 000, 002): quota, default limits, default-deny networking, a priority class and
the `workload` service account that Pod Identity binds to a role."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aws_cdk import aws_eks_v2 as eks
from aws_cdk import aws_iam as iam
from constructs import Construct

from environments.schema.compute import NamespaceConfig

WORKLOAD_SERVICE_ACCOUNT = "workload"


def namespace_manifests(namespace: NamespaceConfig) -> list[dict[str, Any]]:
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
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": {"name": "default-deny", **meta},
            "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]},
        },
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": {"name": "allow-dns", **meta},
            "spec": {
                "podSelector": {},
                "policyTypes": ["Egress"],
                "egress": [
                    {
                        "to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}}}],
                        "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
                    }
                ],
            },
        },
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": {"name": "allow-same-namespace", **meta},
            "spec": {
                "podSelector": {},
                "policyTypes": ["Ingress", "Egress"],
                "ingress": [{"from": [{"podSelector": {}}]}],
                "egress": [{"to": [{"podSelector": {}}]}],
            },
        },
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
        workload_roles: Mapping[str, iam.IRole],
    ) -> None:
        super().__init__(scope, construct_id)
        self.objects: dict[str, list[dict[str, Any]]] = {}
        self.manifests: dict[str, eks.KubernetesManifest] = {}
        self.associations: dict[str, eks.CfnPodIdentityAssociation] = {}
        for namespace in namespaces:
            construct_name = "".join(part.capitalize() for part in namespace.name.split("-"))
            self.objects[namespace.name] = namespace_manifests(namespace)
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
