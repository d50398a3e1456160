"""What every cluster runs: EKS managed add-ons (roles through Pod Identity) and the pinned Helm charts for
load balancing, metrics and GPUs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_eks_v2 as eks
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct, IDependable
from constructs.common.acknowledgments import acknowledge
from constructs.common.encrypted_log_group import EncryptedLogGroup
from constructs.common.pod_identity import PodIdentityRole
from constructs.compute.eks_cluster import SYSTEM_NODE_SELECTOR, SYSTEM_TOLERATION
from constructs.compute.ingress_load_balancer import TLS_POLICY_NAME

from environments.schema.compute import ChartVersionsConfig

TARGET_GROUP_BINDING_ONLY = {
    # No Service reconciler (no NLBs for type LoadBalancer) and no Gateway API controllers.
    "controllerConfig": {
        "featureGates": {"EnableServiceController": False, "NLBGatewayAPI": False, "ALBGatewayAPI": False}
    },
    "enableServiceMutatorWebhook": False,
    # The Ingress reconciler cannot be turned off: without an IngressClass for it and with the class
    # annotation ignored, no Ingress reaches it (and its role could not create a load balancer anyway).
    "createIngressClassResource": False,
    "ingressClassParams": {"create": False},
    "disableIngressClassAnnotation": True,
    "enableBackendSecurityGroup": False,
    # Otherwise ELBSecurityPolicy-2016-08, which allows TLS 1.0.
    "defaultSSLPolicy": TLS_POLICY_NAME,
}
"""The AWS Load Balancer Controller's values for registering pods through TargetGroupBindings only: the
platform's load balancer is CloudFormation's (constructs/compute/ingress_load_balancer.py)."""
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
    # The add-on's schema takes the PDB (EKS user guide, CoreDNS add-on); written out, it is declared here.
    "coredns": {**SYSTEM_PLACEMENT, "podDisruptionBudget": {"enabled": True, "maxUnavailable": 1}},
}
"""Add-on -> its configuration values (the add-on's own schema, `aws eks describe-addon-configuration`)."""
CONTAINER_INSIGHTS_LOGS = ("application", "dataplane", "host", "performance")
"""The groups `/aws/containerinsights/<cluster>/...` the amazon-cloudwatch-observability add-on writes: its
Fluent Bit the first three, its CloudWatch agent the performance events (CloudWatch user guide, Container
Insights)."""


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
        target_group_arns: Sequence[str],
        system_nodes: IDependable,
        gpu_nodes: IDependable,
        cluster_name: str,
        logs_key: kms.IKey,
        log_retention_days: int,
        removal_policy: cdk.RemovalPolicy,
    ) -> None:
        super().__init__(scope, construct_id)
        # The add-on's agents would create these groups unencrypted and kept forever; created first under the
        # names they use, they get the logs key and the retention.
        self.container_insights_logs = [
            EncryptedLogGroup(
                self,
                f"ContainerInsights{kind.title()}Logs",
                encryption_key=logs_key,
                retention_days=log_retention_days,
                removal_policy=removal_policy,
                log_group_name=f"/aws/containerinsights/{cluster_name}/{kind}",
            )
            for kind in CONTAINER_INSIGHTS_LOGS
        ]
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
        self.addons["amazon-cloudwatch-observability"].node.add_dependency(*self.container_insights_logs)

        # What registering pods through TargetGroupBindings calls: the webhooks and the reconciler describe the
        # target groups and their targets, the reconciler reads the VPC's CIDRs (a pod IP outside them is
        # registered for every AZ) and registers and deregisters pods, in these target groups only.
        alb_role = PodIdentityRole(
            self,
            "LoadBalancerControllerIdentity",
            cluster=cluster,
            namespace=KUBE_SYSTEM,
            service_account="aws-load-balancer-controller",
            description="AWS Load Balancer Controller (TargetGroupBinding only)",
            statements=[
                iam.PolicyStatement(
                    sid="Describe",
                    actions=[
                        "elasticloadbalancing:DescribeTargetGroups",
                        "elasticloadbalancing:DescribeTargetHealth",
                        "ec2:DescribeVpcs",
                    ],
                    resources=["*"],
                ),
                iam.PolicyStatement(
                    sid="RegisterPods",
                    actions=["elasticloadbalancing:RegisterTargets", "elasticloadbalancing:DeregisterTargets"],
                    resources=list(target_group_arns),
                ),
            ],
        )
        acknowledge(
            alb_role,
            "AwsSolutions-IAM5[Resource::*]",
            "DescribeTargetGroups, DescribeTargetHealth and ec2:DescribeVpcs have no resource-level permissions.",
        )
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
                    "podDisruptionBudget": {"maxUnavailable": 1},
                    **TARGET_GROUP_BINDING_ONLY,
                    **SYSTEM_PLACEMENT,
                },
            ),
            "metrics-server": self._chart(
                cluster,
                "MetricsServer",
                repository="https://kubernetes-sigs.github.io/metrics-server/",
                chart="metrics-server",
                version=charts.metrics_server,
                # Two replicas and a budget: the HPAs scale on its metrics while a system node drains.
                values={"replicas": 2, "podDisruptionBudget": {"enabled": True, "minAvailable": 1}, **SYSTEM_PLACEMENT},
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
