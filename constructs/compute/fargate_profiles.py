"""EKS on Fargate (seed 004): a Fargate profile per config entry, each with its own pod execution role, in the
app tier's private subnets; the pods' logs through Fargate's built-in Fluent Bit to one pre-created encrypted
group; and a SecurityGroupPolicy per selector that gives the selected pods the cluster and `workload` groups."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_eks_v2 as eks
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct
from constructs.common.acknowledgments import acknowledge
from constructs.common.encrypted_log_group import EncryptedLogGroup
from constructs.common.managed_policy_role import ManagedPolicyRole

from environments.schema.compute import FargateConfig, FargateProfileConfig

LOGGING_NAMESPACE = "aws-observability"
"""The namespace and ConfigMap (`aws-logging`) Fargate's log router reads (EKS user guide, Fargate logging)."""
POD_EXECUTION_POLICY = "AmazonEKSFargatePodExecutionRolePolicy"
PARSERS = """[PARSER]
    Name crio
    Format Regex
    Regex ^(?<time>[^ ]+) (?<stream>stdout|stderr) (?<logtag>P|F) (?<log>.*)$
    Time_Key time
    Time_Format %Y-%m-%dT%H:%M:%S.%L%z
"""
FILTERS = """[FILTER]
    Name parser
    Match *
    Key_name log
    Parser crio
"""


def logging_config_map(region: str, log_group_name: str) -> dict[str, Any]:
    """The log router's configuration: container lines parsed from the CRI format into the pre-created group,
    which the router must not create (its group would be unencrypted and kept forever)."""
    output = (
        "[OUTPUT]\n"
        "    Name cloudwatch_logs\n"
        "    Match kube.*\n"
        f"    region {region}\n"
        f"    log_group_name {log_group_name}\n"
        "    log_stream_prefix fargate-\n"
        "    auto_create_group false\n"
    )
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "aws-logging", "namespace": LOGGING_NAMESPACE},
        "data": {"flb_log_cw": "false", "filters.conf": FILTERS, "output.conf": output, "parsers.conf": PARSERS},
    }


class FargateProfiles(Construct):
    """`log_group`, `profiles` and `roles` (by profile name), and `manifest`: the logging namespace and
    ConfigMap and the SecurityGroupPolicies (`objects`), applied once the selected namespaces exist."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        fargate: FargateConfig,
        cluster: eks.ICluster,
        cluster_name: str,
        subnets: Sequence[ec2.ISubnet],
        vpc: ec2.IVpc,
        workload_security_group: ec2.ISecurityGroup,
        logs_key: kms.IKey,
        log_retention_days: int,
        removal_policy: cdk.RemovalPolicy,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        log_group_name = f"/aws/eks/{cluster_name}/fargate"
        self.log_group = EncryptedLogGroup(
            self,
            "Logs",
            encryption_key=logs_key,
            retention_days=log_retention_days,
            removal_policy=removal_policy,
            log_group_name=log_group_name,
        ).log_group
        self.roles: dict[str, iam.IRole] = {}
        self.profiles: dict[str, eks.FargateProfile] = {}
        for profile in fargate.profiles:
            construct_name = "".join(part.capitalize() for part in profile.name.split("-"))
            role = self._pod_execution_role(construct_name, stack, cluster_name, profile)
            self.roles[profile.name] = role
            self.profiles[profile.name] = eks.FargateProfile(
                self,
                construct_name,
                # Profiles attach to the Cluster class behind the ICluster (aws_eks_v2's stubs keep them apart).
                cluster=cast(eks.Cluster, cluster),
                fargate_profile_name=profile.name,
                pod_execution_role=role,
                selectors=[eks.Selector(namespace=s.namespace, labels=dict(s.labels)) for s in profile.selectors],
                vpc=vpc,
                subnet_selection=ec2.SubnetSelection(subnets=list(subnets)),
            )
        groups = [cluster.cluster_security_group_id, workload_security_group.security_group_id]
        self.objects: list[dict[str, Any]] = [
            {
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": {"name": LOGGING_NAMESPACE, "labels": {"aws-observability": "enabled"}},
            },
            logging_config_map(stack.region, log_group_name),
            *(
                _security_group_policy(profile, index, groups)
                for profile in fargate.profiles
                for index in range(len(profile.selectors))
            ),
        ]
        self.manifest = eks.KubernetesManifest(self, "Manifests", cluster=cluster, manifest=self.objects)

    def _pod_execution_role(
        self, construct_name: str, stack: cdk.Stack, cluster_name: str, profile: FargateProfileConfig
    ) -> iam.IRole:
        """Trusted by Fargate for this profile only (aws:SourceArn, the confused-deputy guard the EKS user
        guide gives); pulls images (AWS's policy) and writes its pods' log streams in the one group."""
        source = (
            f"arn:{stack.partition}:eks:{stack.region}:{stack.account}:fargateprofile/{cluster_name}/{profile.name}/*"
        )
        role = ManagedPolicyRole(
            self,
            f"{construct_name}PodExecution",
            assumed_by=iam.ServicePrincipal(
                "eks-fargate-pods.amazonaws.com", conditions={"ArnLike": {"aws:SourceArn": source}}
            ),
            description=f"{cluster_name}: Fargate profile {profile.name}'s pods",
            aws_managed_policies=[POD_EXECUTION_POLICY],
            statements=[
                iam.PolicyStatement(
                    sid="WritePodLogs",
                    actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                    resources=[self.log_group.log_group_arn],
                )
            ],
        )
        acknowledge(
            role,
            f"AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/{POD_EXECUTION_POLICY}]",
            f"{POD_EXECUTION_POLICY} is the AWS-maintained policy EKS documents for Fargate's image pulls.",
        )
        return role.role


def _security_group_policy(profile: FargateProfileConfig, index: int, group_ids: list[str]) -> dict[str, Any]:
    """The selector's pods get the cluster security group (the control plane and CoreDNS, as every node) and
    `workload` (the data tier and the load balancer's IP targets, as the pods on nodes): EKS requires the
    cluster group among a Fargate pod's groups."""
    selector = profile.selectors[index]
    return {
        "apiVersion": "vpcresources.k8s.aws/v1beta1",
        "kind": "SecurityGroupPolicy",
        "metadata": {"name": f"fargate-{profile.name}-{index}", "namespace": selector.namespace},
        "spec": {"podSelector": {"matchLabels": dict(selector.labels)}, "securityGroups": {"groupIds": group_ids}},
    }
