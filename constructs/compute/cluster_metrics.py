"""What Managed Prometheus scrapes in the cluster (seed 002's metrics collection): kube-state-metrics (the
Kubernetes objects' state), the Prometheus node exporter on every node (hostNetwork: it serves the node's own
address), NVIDIA's DCGM exporter on the GPU nodes only, the Kubernetes permissions of the managed collector's
user, and the scrape configuration that names exactly these jobs."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import yaml
from aws_cdk import aws_eks_v2 as eks
from constructs import Construct, IDependable
from constructs.compute.eks_cluster import SYSTEM_NODE_SELECTOR, SYSTEM_TOLERATION

from environments.schema.compute import ChartVersionsConfig

NAMESPACE = "kube-system"
COLLECTOR_USER = "aps-collector-user"
"""The Kubernetes user the managed collector's access entry maps its role to (Amazon Managed Service for
Prometheus user guide, "Configuring your Amazon EKS cluster" for AWS managed collectors)."""
SCRAPE_INTERVAL = "30s"
GPU_TOLERATION = {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}


@dataclass(frozen=True)
class Exporter:
    """One chart whose Service the collector scrapes: the chart (its release and Service share its name) and the
    port it serves metrics on."""

    chart: str
    repository: str
    port: int


EXPORTERS = {
    "kube-state-metrics": Exporter("kube-state-metrics", "https://prometheus-community.github.io/helm-charts", 8080),
    "node-exporter": Exporter("prometheus-node-exporter", "https://prometheus-community.github.io/helm-charts", 9100),
    "dcgm-exporter": Exporter("dcgm-exporter", "https://nvidia.github.io/dcgm-exporter/helm-charts", 9400),
}
"""Scrape job -> its exporter. The ports are the charts' defaults (values.yaml service.port)."""

COLLECTOR_RULES = [
    {
        "apiGroups": [""],
        "resources": ["nodes", "nodes/proxy", "nodes/metrics", "services", "endpoints", "pods", "configmaps"],
        "verbs": ["get", "list", "watch"],
    },
    {
        "apiGroups": ["discovery.k8s.io"],
        "resources": ["endpointslices"],
        "verbs": ["get", "list", "watch"],
    },
    {"nonResourceURLs": ["/metrics"], "verbs": ["get"]},
]
"""What the collector discovers targets with (the AMP user guide's aps-collector-role, read-only)."""


class ClusterMetrics(Construct):
    """`charts` (by scrape job), `collector_access` (the ClusterRole and binding for COLLECTOR_USER) and
    `scrape_configuration` (the managed collector's Prometheus configuration, YAML). kube-state-metrics waits for
    the system nodes it runs on; the DCGM exporter, like NVIDIA's device plugin, for the GPU NodePools."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        cluster: eks.ICluster,
        charts: ChartVersionsConfig,
        system_nodes: IDependable,
        gpu_nodes: IDependable,
    ) -> None:
        super().__init__(scope, construct_id)
        values: dict[str, dict[str, Any]] = {
            # One replica on the system nodes; the chart's own RBAC reads every object it reports on.
            "kube-state-metrics": {
                "replicas": 1,
                "tolerations": [SYSTEM_TOLERATION],
                "nodeSelector": SYSTEM_NODE_SELECTOR,
            },
            # Every node: the chart tolerates every NoSchedule taint by default, said here because it must.
            "node-exporter": {"tolerations": [{"effect": "NoSchedule", "operator": "Exists"}]},
            # GPU nodes only (the chart has no affinity and tolerates no GPU taint by default), and no ServiceMonitor:
            # no Prometheus Operator runs here, the managed collector scrapes the Service.
            "dcgm-exporter": {
                "nodeSelector": {"workload": "gpu"},
                "tolerations": [GPU_TOLERATION],
                "serviceMonitor": {"enabled": False},
            },
        }
        versions = {
            "kube-state-metrics": charts.kube_state_metrics,
            "node-exporter": charts.prometheus_node_exporter,
            "dcgm-exporter": charts.dcgm_exporter,
        }
        self.charts = {
            job: eks.HelmChart(
                self,
                _id(job),
                cluster=cluster,
                repository=exporter.repository,
                chart=exporter.chart,
                release=exporter.chart,
                version=versions[job],
                namespace=NAMESPACE,
                values=values[job],
                wait=True,
            )
            for job, exporter in EXPORTERS.items()
        }
        for job in ("kube-state-metrics", "node-exporter"):
            self.charts[job].node.add_dependency(system_nodes)
        self.charts["dcgm-exporter"].node.add_dependency(gpu_nodes)
        self.collector_access = eks.KubernetesManifest(
            self,
            "CollectorAccess",
            cluster=cluster,
            manifest=[
                {
                    "apiVersion": "rbac.authorization.k8s.io/v1",
                    "kind": "ClusterRole",
                    "metadata": {"name": "aps-collector-role"},
                    "rules": COLLECTOR_RULES,
                },
                {
                    "apiVersion": "rbac.authorization.k8s.io/v1",
                    "kind": "ClusterRoleBinding",
                    "metadata": {"name": "aps-collector-user-role-binding"},
                    "roleRef": {
                        "apiGroup": "rbac.authorization.k8s.io",
                        "kind": "ClusterRole",
                        "name": "aps-collector-role",
                    },
                    "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": COLLECTOR_USER}],
                },
            ],
        )
        self.collector_access.node.add_dependency(system_nodes)
        self.scrape_configuration = scrape_configuration(EXPORTERS)


def scrape_configuration(exporters: Mapping[str, Exporter]) -> str:
    """One job per exporter: the endpoints of its Service (by the chart's app.kubernetes.io/name label) on its
    port, each target labelled with its namespace, pod and node."""
    jobs = [
        {
            "job_name": job,
            "kubernetes_sd_configs": [{"role": "endpoints", "namespaces": {"names": [NAMESPACE]}}],
            "relabel_configs": [
                {
                    "source_labels": [
                        "__meta_kubernetes_service_label_app_kubernetes_io_name",
                        "__meta_kubernetes_endpoint_port_number",
                    ],
                    "regex": f"{exporter.chart};{exporter.port}",
                    "action": "keep",
                },
                {"source_labels": ["__meta_kubernetes_pod_node_name"], "target_label": "node"},
                {"source_labels": ["__meta_kubernetes_pod_name"], "target_label": "pod"},
            ],
        }
        for job, exporter in exporters.items()
    ]
    return yaml.safe_dump(
        {"global": {"scrape_interval": SCRAPE_INTERVAL}, "scrape_configs": jobs}, sort_keys=False, width=200
    )


def _id(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("-"))
