"""EKS Pod Identity: an IAM role for one Kubernetes service account (the current replacement for IRSA)."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import aws_eks_v2 as eks
from aws_cdk import aws_iam as iam
from constructs import Construct
from constructs.common.acknowledgments import acknowledge
from constructs.common.managed_policy_role import ManagedPolicyRole

POD_IDENTITY_PRINCIPAL = "pods.eks.amazonaws.com"


class PodIdentityRole(Construct):
    """`role` (assumable only by the EKS Pod Identity agent) bound to `namespace`/`service_account`."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        cluster: eks.ICluster,
        namespace: str,
        service_account: str,
        description: str,
        statements: Sequence[iam.PolicyStatement] = (),
        aws_managed_policies: Sequence[str] = (),
    ) -> None:
        super().__init__(scope, construct_id)
        managed = ManagedPolicyRole(
            self,
            "Role",
            assumed_by=iam.SessionTagsPrincipal(iam.ServicePrincipal(POD_IDENTITY_PRINCIPAL)),
            description=description,
            statements=statements,
            aws_managed_policies=aws_managed_policies,
        )
        self.role = managed.role
        self.policy = managed.policy
        for name in aws_managed_policies:
            acknowledge(
                managed,
                f"AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/{name}]",
                f"{name} is the AWS-maintained policy this add-on documents; AWS updates it with the add-on.",
            )
        self.association = eks.CfnPodIdentityAssociation(
            self,
            "Association",
            cluster_name=cluster.cluster_name,
            namespace=namespace,
            service_account=service_account,
            role_arn=self.role.role_arn,
        )
