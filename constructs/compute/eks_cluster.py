"""The EKS cluster (aws_eks_v2): private API, envelope-encrypted secrets, every control-plane log,
access entries instead of aws-auth, and managed node groups on IMDSv2-only AL2023 launch templates."""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_eks_v2 as eks
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk.lambda_layer_kubectl_v36 import KubectlV36Layer
from constructs import Construct
from constructs.common.acknowledgments import acknowledge, acknowledge_all
from constructs.common.encrypted_log_group import EncryptedLogGroup
from constructs.common.managed_policy_role import ManagedPolicyRole

from environments.schema.compute import NodeGroupConfig, PlatformConfig

LOG_TYPES = list(eks.ClusterLoggingTypes)
NODE_POLICIES = (
    "AmazonEKSWorkerNodePolicy",
    "AmazonEKS_CNI_Policy",
    "AmazonEC2ContainerRegistryReadOnly",
    "AmazonSSMManagedInstanceCore",
)
"""What a worker node needs: join the cluster, run the VPC CNI, pull images, be reached through SSM."""
TAINT_EFFECTS = {
    "NO_SCHEDULE": eks.TaintEffect.NO_SCHEDULE,
    "PREFER_NO_SCHEDULE": eks.TaintEffect.PREFER_NO_SCHEDULE,
    "NO_EXECUTE": eks.TaintEffect.NO_EXECUTE,
}
SYSTEM_TOLERATION = {"key": "system", "operator": "Equal", "value": "true", "effect": "NoSchedule"}
SYSTEM_NODE_SELECTOR = {"workload": "system"}
"""How cluster add-ons and controllers land on the tainted system node group."""


def worker_node_role(scope: Construct, construct_id: str, *, description: str) -> iam.Role:
    """An EC2 role with the AWS-managed worker-node policies (managed node groups, Karpenter's nodes)."""
    role = ManagedPolicyRole(
        scope,
        construct_id,
        assumed_by=iam.ServicePrincipal("ec2.amazonaws.com"),
        description=description,
        aws_managed_policies=NODE_POLICIES,
    )
    acknowledge_all(
        role,
        [
            (
                f"AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/{name}]",
                f"{name} is the AWS-maintained policy EKS documents for worker nodes.",
            )
            for name in NODE_POLICIES
        ],
    )
    return role.role


class EksCluster(Construct):
    """`cluster`, `admin_role` (cluster-admin through an access entry), `node_role` and `node_groups` (by name:
    the managed groups, at their configured minimum)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        platform: PlatformConfig,
        cluster_name: str,
        vpc: ec2.IVpc,
        app_subnets: Sequence[ec2.ISubnet],
        workload_security_group: ec2.ISecurityGroup,
        secrets_key: kms.IKey,
        logs_key: kms.IKey,
        log_retention_days: int,
        removal_policy: cdk.RemovalPolicy,
        deletion_protection: bool,
    ) -> None:
        super().__init__(scope, construct_id)
        # EKS would create this group unencrypted and kept forever; created first under EKS's name, it
        # gets the logs key and a retention.
        control_plane_logs = EncryptedLogGroup(
            self,
            "ControlPlaneLogs",
            encryption_key=logs_key,
            retention_days=log_retention_days,
            removal_policy=removal_policy,
            log_group_name=f"/aws/eks/{cluster_name}/cluster",
        ).log_group
        subnets = ec2.SubnetSelection(subnets=list(app_subnets))
        cluster = eks.Cluster(
            self,
            "Cluster",
            cluster_name=cluster_name,
            version=eks.KubernetesVersion.of(platform.kubernetes_version),
            vpc=vpc,
            vpc_subnets=[subnets],
            endpoint_access=eks.EndpointAccess.PUBLIC_AND_PRIVATE.only_from(*platform.public_endpoint_cidrs)
            if platform.public_endpoint_cidrs
            else eks.EndpointAccess.PRIVATE,
            secrets_encryption_key=secrets_key,
            cluster_logging=LOG_TYPES,
            default_capacity_type=eks.DefaultCapacityType.NODEGROUP,
            default_capacity=0,
            bootstrap_cluster_creator_admin_permissions=False,
            kubectl_provider_options=eks.KubectlProviderOptions(
                kubectl_layer=KubectlV36Layer(self, "KubectlLayer"), private_subnets=list(app_subnets)
            ),
        )
        # The generated Python protocol ICluster lists kubectl_provider_options, which Cluster's stub lacks;
        # the object is an ICluster at runtime, so type it as one for every consumer.
        self.cluster = cast(eks.ICluster, cluster)
        self.cluster.node.add_dependency(control_plane_logs)
        # aws_eks_v2 has no prop for EKS's deletion protection; the L1 has.
        cast(eks.CfnCluster, cluster.node.default_child).deletion_protection = deletion_protection
        acknowledge(
            self.cluster,
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/AmazonEKSClusterPolicy]",
            "The EKS service role uses the AWS-managed policy EKS documents for the control plane.",
        )
        self._acknowledge_kubectl_provider()
        self._encrypt_kubectl_provider_logs(logs_key, log_retention_days, deletion_protection)
        self.admin_role = self._admin_role(cluster_name, platform.cluster_admin_principals)
        cluster.grant_access(
            "PlatformAdmin",
            self.admin_role.role_arn,
            [
                eks.AccessPolicy.from_access_policy_name(
                    "AmazonEKSClusterAdminPolicy", access_scope_type=eks.AccessScopeType.CLUSTER
                )
            ],
        )

        self.node_role = worker_node_role(self, "NodeRole", description=f"{cluster_name}: managed node groups")
        cluster_security_group = ec2.SecurityGroup.from_security_group_id(
            self, "ClusterSecurityGroup", self.cluster.cluster_security_group_id
        )
        # Each group's minimum (Karpenter's NodePools hold the headroom above it); a group whose minimum is 0
        # is Karpenter's alone.
        self.node_groups = {
            group.name: self._node_group(group, subnets, [cluster_security_group, workload_security_group])
            for group in platform.node_groups
            if group.min_size
        }

    def _admin_role(self, cluster_name: str, principals: Sequence[str]) -> iam.Role:
        """`<cluster>-cluster-admin`, assumable by the principals matching `principals`. EKS rejects an access
        entry whose principal does not exist, so the stage creates the role itself. Its trust policy names the
        stage's account, not the principals: IAM rejects a trust policy naming a principal that does not exist
        (and takes no wildcards there, while SSO permission-set roles carry generated suffixes), so
        `ArnLike aws:PrincipalArn` narrows the account to the configured patterns instead."""
        stack = cdk.Stack.of(self)
        return ManagedPolicyRole(
            self,
            "AdminRole",
            role_name=f"{cluster_name}-cluster-admin",
            assumed_by=iam.AccountPrincipal(stack.account).with_conditions(
                {"ArnLike": {"aws:PrincipalArn": list(principals)}}
            ),
            description=f"{cluster_name}: Kubernetes cluster-admin (EKS access entry)",
            # `aws eks update-kubeconfig` reads the endpoint; everything else is Kubernetes RBAC.
            statements=[
                iam.PolicyStatement(
                    sid="DescribeCluster", actions=["eks:DescribeCluster"], resources=[self.cluster.cluster_arn]
                )
            ],
        ).role

    def _acknowledge_kubectl_provider(self) -> None:
        """CDK's kubectl provider (a Lambda pair that applies manifests and charts) is generated code: accept
        its findings, each by id, on the provider."""
        stack = cdk.Stack.of(self)
        provider = self.cluster.node.find_child("KubectlProvider")  # created by the Cluster
        handler = provider.node.find_child("Handler")
        function_id = stack.get_logical_id(cast(cdk.CfnElement, handler.node.default_child))
        ecr_public_condition = stack.get_logical_id(cast(cdk.CfnElement, handler.node.find_child("HasEcrPublic")))
        ecr_public_policy = (
            '{"Fn::If":["' + ecr_public_condition + '",{"Fn::Join":["",["arn:",{"Ref":"AWS::Partition"},'
            '":iam::aws:policy/AmazonElasticContainerRegistryPublicReadOnly"]]},{"Ref":"AWS::NoValue"}]}'
        )
        generated = "CDK's kubectl provider: generated by aws_eks_v2, not configurable from here."
        managed = (
            "service-role/AWSLambdaBasicExecutionRole",
            "service-role/AWSLambdaVPCAccessExecutionRole",
            "AmazonEC2ContainerRegistryReadOnly",
        )
        acknowledge_all(
            provider,
            [
                (f"AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/{name}]", generated)
                for name in managed
            ],
        )
        findings = (
            (f"AwsSolutions-IAM4[Policy::{ecr_public_policy}]", generated),
            (
                f"AwsSolutions-IAM5[Resource::<{function_id}.Arn>:*]",
                "The provider framework invokes the handler's versions.",
            ),
            (
                "AwsSolutions-L1",
                "The handler's runtime is pinned by aws_eks_v2 to what its kubectl/helm layer supports.",
            ),
            ("NIST.800.53.R5-IAMNoInlinePolicy", generated),
            (
                "NIST.800.53.R5-LambdaConcurrency",
                "Runs only during deployments, one CloudFormation operation at a time.",
            ),
            ("NIST.800.53.R5-LambdaDLQ", "Invoked synchronously by CloudFormation, which reports failures itself."),
            (
                "CKV_AWS_173",
                "The environments hold no secret: the handler's STS endpoint setting, the framework's handler ARN.",
            ),
        )
        acknowledge_all(provider, findings)

    def _encrypt_kubectl_provider_logs(self, logs_key: kms.IKey, retention_days: int, protect: bool) -> None:
        """The provider's log groups get the stage's logs key, retention and deletion protection like every
        other log group (aws_eks_v2 exposes no option for them, so their L1s are set directly). aws_eks_v2
        names each group after its function, so CloudFormation creates it after the function, and the
        function's first invocation can create the group itself first (unencrypted, and the group's creation
        then fails); each function names its group through LoggingConfig instead, and the group takes a
        generated name, so it exists before the function."""
        provider = self.cluster.node.find_child("KubectlProvider")
        stack = cdk.Stack.of(self)
        functions = {
            stack.get_logical_id(child): child
            for child in provider.node.find_all()
            if isinstance(child, lambda_.CfnFunction)
        }
        for child in provider.node.find_all():
            if isinstance(child, logs.CfnLogGroup):
                child.kms_key_id = logs_key.key_arn
                child.retention_in_days = retention_days
                child.deletion_protection_enabled = protect
                name = stack.resolve(child.log_group_name)
                parts = name["Fn::Join"][1] if isinstance(name, dict) and "Fn::Join" in name else []
                named_after = [part["Ref"] for part in parts if isinstance(part, dict) and "Ref" in part]
                function = functions.get(named_after[0]) if named_after else None
                if function is not None:
                    child.log_group_name = None
                    function.logging_config = lambda_.CfnFunction.LoggingConfigProperty(log_group=child.ref)

    def _node_group(
        self, group: NodeGroupConfig, subnets: ec2.SubnetSelection, security_groups: list[ec2.ISecurityGroup]
    ) -> eks.Nodegroup:
        construct_name = group.name.title().replace("-", "")
        launch_template = ec2.LaunchTemplate(
            self,
            f"{construct_name}LaunchTemplate",
            require_imdsv2=True,
            # System nodes run host agents that read instance metadata through a container hop; elsewhere
            # pods get credentials from Pod Identity and are kept away from the node's metadata.
            http_put_response_hop_limit=2 if group.name == "system" else 1,
            block_devices=[
                ec2.BlockDevice(
                    device_name="/dev/xvda",
                    volume=ec2.BlockDeviceVolume.ebs(
                        group.disk_size_gib, encrypted=True, volume_type=ec2.EbsDeviceVolumeType.GP3
                    ),
                )
            ],
            security_group=security_groups[0],
        )
        for security_group in security_groups[1:]:
            launch_template.add_security_group(security_group)
        return eks.Nodegroup(
            self,
            f"{construct_name}NodeGroup",
            cluster=self.cluster,
            node_role=self.node_role,
            subnets=subnets,
            ami_type=_ami_type(group),
            capacity_type=eks.CapacityType.SPOT if group.capacity_type == "SPOT" else eks.CapacityType.ON_DEMAND,
            instance_types=[ec2.InstanceType(t) for t in group.instance_types],
            min_size=group.min_size,
            max_size=group.max_size - group.headroom,
            desired_size=group.min_size,
            labels=dict(group.labels),
            taints=[eks.TaintSpec(key=t.key, value=t.value, effect=TAINT_EFFECTS[t.effect]) for t in group.taints],
            launch_template_spec=eks.LaunchTemplateSpec(
                id=launch_template.launch_template_id or "", version=launch_template.latest_version_number
            ),
        )


def _ami_type(group: NodeGroupConfig) -> eks.NodegroupAmiType:
    """AL2023, NVIDIA for GPU groups, ARM64 for Graviton groups (the loader checks that every instance type
    is of the group's architecture, environments/schema/instance_types.py)."""
    graviton = group.architecture == "arm64"
    if group.gpu:
        return eks.NodegroupAmiType.AL2023_ARM_64_NVIDIA if graviton else eks.NodegroupAmiType.AL2023_X86_64_NVIDIA
    return eks.NodegroupAmiType.AL2023_ARM_64_STANDARD if graviton else eks.NodegroupAmiType.AL2023_X86_64_STANDARD
