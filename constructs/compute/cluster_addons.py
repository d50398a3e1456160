"""What every cluster runs: EKS managed add-ons (roles through Pod Identity) and the pinned Helm charts for
load balancing, metrics and GPUs."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_eks_v2 as eks
from aws_cdk import aws_iam as iam
from constructs import Construct, IDependable
from constructs.common.acknowledgments import acknowledge_all
from constructs.common.pod_identity import PodIdentityRole
from constructs.compute.eks_cluster import SYSTEM_NODE_SELECTOR, SYSTEM_TOLERATION

from environments.schema.compute import ChartVersionsConfig

ALB_CONTROLLER_POLICY = Path(__file__).parent / "policies" / "aws-load-balancer-controller-v2.17.1.json"
"""The controller's upstream IAM policy (kubernetes-sigs/aws-load-balancer-controller, Apache-2.0), vendored
as the file the controller's install guide publishes for this version."""
ALB_CONTROLLER_WILDCARDS = (
    "*",
    "arn:aws:ec2:*:*:security-group/*",
    *(f"arn:aws:elasticloadbalancing:*:*:{kind}/{lb}/*/*" for kind in ("loadbalancer",) for lb in ("app", "net")),
    "arn:aws:elasticloadbalancing:*:*:targetgroup/*/*",
    *(
        f"arn:aws:elasticloadbalancing:*:*:{kind}/{lb}/*/*/*"
        for kind in ("listener", "listener-rule")
        for lb in ("app", "net")
    ),
)
"""The resource patterns of the upstream policy, as cdk-nag names them."""
KUBE_SYSTEM = "kube-system"
SYSTEM_PLACEMENT = {"tolerations": [SYSTEM_TOLERATION], "nodeSelector": SYSTEM_NODE_SELECTOR}

ADDON_SERVICE_ACCOUNTS = {
    "aws-ebs-csi-driver": (KUBE_SYSTEM, "ebs-csi-controller-sa", "service-role/AmazonEBSCSIDriverPolicy"),
    "aws-efs-csi-driver": (KUBE_SYSTEM, "efs-csi-controller-sa", "service-role/AmazonEFSCSIDriverPolicy"),
    "amazon-cloudwatch-observability": ("amazon-cloudwatch", "cloudwatch-agent", "CloudWatchAgentServerPolicy"),
}
"""Add-on -> (namespace, service account, AWS-managed policy) for the add-ons that call AWS APIs."""
ADDONS_WITHOUT_ROLES = ("vpc-cni", "kube-proxy", "eks-pod-identity-agent", "coredns")
"""vpc-cni uses the node role's AmazonEKS_CNI_Policy; the others call no AWS API."""
ADDON_CONFIGURATION: dict[str, dict[str, Any]] = {
    "vpc-cni": {"enableNetworkPolicy": "true"},  # a string in the add-on's schema; the tenants' policies need it
    "coredns": SYSTEM_PLACEMENT,
}
"""Add-on -> its configuration values (the add-on's own schema, `aws eks describe-addon-configuration`)."""


class ClusterAddons(Construct):
    """`addons` (by name), `pod_identity_roles` (by add-on or chart) and `charts` (by release); each chart
    waits for the nodes its pods run on: `system_nodes`, or `gpu_nodes` for the device plugin.
    `addon_versions` pins add-ons by name; the others get EKS's default for the cluster's Kubernetes version."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        cluster: eks.ICluster,
        charts: ChartVersionsConfig,
        addon_versions: Mapping[str, str],
        vpc_id: str,
        alb_security_group_id: str,
        web_acl_arn: str,
        system_nodes: IDependable,
        gpu_nodes: IDependable,
    ) -> None:
        super().__init__(scope, construct_id)
        self.addons: dict[str, eks.Addon] = {}
        self.pod_identity_roles: dict[str, PodIdentityRole] = {}

        def addon(name: str) -> eks.Addon:
            self.addons[name] = eks.Addon(
                self,
                _id(name),
                cluster=cluster,
                addon_name=name,
                addon_version=addon_versions.get(name),
                configuration_values=ADDON_CONFIGURATION.get(name),
            )
            return self.addons[name]

        for name in ADDONS_WITHOUT_ROLES:
            addon(name)
        for name, (namespace, service_account, policy) in ADDON_SERVICE_ACCOUNTS.items():
            role = PodIdentityRole(
                self,
                f"{_id(name)}Identity",
                cluster=cluster,
                namespace=namespace,
                service_account=service_account,
                description=f"{name} add-on",
                aws_managed_policies=[policy],
            )
            self.pod_identity_roles[name] = role
            addon(name).node.add_dependency(role.association)

        alb_role = PodIdentityRole(
            self,
            "LoadBalancerControllerIdentity",
            cluster=cluster,
            namespace=KUBE_SYSTEM,
            service_account="aws-load-balancer-controller",
            description="AWS Load Balancer Controller",
            statements=[
                iam.PolicyStatement.from_json(s) for s in json.loads(ALB_CONTROLLER_POLICY.read_text())["Statement"]
            ],
        )
        upstream = (
            "The controller's upstream policy, as vendored: it creates and tags load balancers, target groups and "
            "security groups whose ARNs do not exist yet. Upstream keys most changes to the presence of an "
            "elbv2.k8s.aws/cluster tag (any cluster's) and leaves security-group ingress, CreateSecurityGroup, "
            "listeners and their tags, rules, certificates, target registration, and WAF and Shield associations "
            "unconditioned."
        )
        acknowledge_all(alb_role, [(f"AwsSolutions-IAM5[Resource::{r}]", upstream) for r in ALB_CONTROLLER_WILDCARDS])
        self.pod_identity_roles["aws-load-balancer-controller"] = alb_role
        self.charts = {
            "aws-load-balancer-controller": self._chart(
                cluster,
                "LoadBalancerController",
                repository="https://aws.github.io/eks-charts",
                chart="aws-load-balancer-controller",
                version=charts.aws_load_balancer_controller,
                values={
                    "clusterName": cluster.cluster_name,
                    "region": cdk.Stack.of(self).region,
                    "vpcId": vpc_id,
                    "serviceAccount": {"create": True, "name": "aws-load-balancer-controller"},
                    "replicaCount": 2,
                    **SYSTEM_PLACEMENT,
                },
            ),
            "metrics-server": self._chart(
                cluster,
                "MetricsServer",
                repository="https://kubernetes-sigs.github.io/metrics-server/",
                chart="metrics-server",
                version=charts.metrics_server,
                values=SYSTEM_PLACEMENT,
            ),
            "nvidia-device-plugin": self._chart(
                cluster,
                "NvidiaDevicePlugin",
                repository="https://nvidia.github.io/k8s-device-plugin",
                chart="nvidia-device-plugin",
                version=charts.nvidia_device_plugin,
                values={
                    # Only GPU nodes, which carry the GPU taint. The chart's default affinity asks for labels
                    # that only node-feature discovery or a recent AMI set; our pools label their GPU nodes.
                    "nodeSelector": {"workload": "gpu"},
                    "affinity": {
                        "nodeAffinity": {
                            "requiredDuringSchedulingIgnoredDuringExecution": {
                                "nodeSelectorTerms": [
                                    {"matchExpressions": [{"key": "workload", "operator": "In", "values": ["gpu"]}]}
                                ]
                            }
                        }
                    },
                    "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}],
                },
            ),
        }
        self.charts["aws-load-balancer-controller"].node.add_dependency(alb_role.association)
        # The charts wait for their pods; on a first deploy the nodes those run on must exist before the release.
        for release in ("aws-load-balancer-controller", "metrics-server"):
            self.charts[release].node.add_dependency(system_nodes)
        self.charts["nvidia-device-plugin"].node.add_dependency(gpu_nodes)

        # Ingress defaults: an internet-facing ALB behind the network stack's WAF web ACL. The security group
        # is per Ingress in this controller (annotation), so its id is published for application charts.
        self.ingress_manifests: list[dict[str, Any]] = [
            {
                "apiVersion": "elbv2.k8s.aws/v1beta1",
                "kind": "IngressClassParams",
                "metadata": {"name": "platform-alb"},
                # IP targets: the ALB connects to pod IPs from the public subnets, which is what the tenants'
                # NetworkPolicies admit (instance targets would arrive from node IPs through a NodePort).
                "spec": {
                    "scheme": "internet-facing",
                    "ipAddressType": "ipv4",
                    "targetType": "ip",
                    "wafv2AclArn": web_acl_arn,
                },
            },
            {
                "apiVersion": "networking.k8s.io/v1",
                "kind": "IngressClass",
                "metadata": {
                    "name": "platform-alb",
                    "annotations": {"ingressclass.kubernetes.io/is-default-class": "true"},
                },
                "spec": {
                    "controller": "ingress.k8s.aws/alb",
                    "parameters": {"apiGroup": "elbv2.k8s.aws", "kind": "IngressClassParams", "name": "platform-alb"},
                },
            },
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": "platform-ingress-defaults", "namespace": KUBE_SYSTEM},
                "data": {"albSecurityGroupId": alb_security_group_id, "wafv2AclArn": web_acl_arn},
            },
        ]
        ingress = eks.KubernetesManifest(self, "IngressDefaults", cluster=cluster, manifest=self.ingress_manifests)
        ingress.node.add_dependency(self.charts["aws-load-balancer-controller"])

    def _chart(
        self,
        cluster: eks.ICluster,
        construct_id: str,
        *,
        repository: str,
        chart: str,
        version: str,
        values: dict[str, Any],
    ) -> eks.HelmChart:
        return eks.HelmChart(
            self,
            construct_id,
            cluster=cluster,
            repository=repository,
            chart=chart,
            release=chart,
            version=version,
            namespace=KUBE_SYSTEM,
            values=values,
            wait=True,
        )


def _id(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("-"))
