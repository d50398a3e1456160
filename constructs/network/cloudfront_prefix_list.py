"""CloudFront's origin-facing managed prefix list, found at deploy time: AWS gives it a different id in every
region, and synthesis looks nothing up."""

from __future__ import annotations

from collections.abc import Sequence

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import custom_resources as cr
from constructs import Construct
from constructs.common.acknowledgments import acknowledge_all
from constructs.common.encrypted_log_group import EncryptedLogGroup
from constructs.common.managed_policy_role import ManagedPolicyRole

CLOUDFRONT_ORIGIN_FACING = "com.amazonaws.global.cloudfront.origin-facing"
"""The AWS-managed list of the addresses CloudFront connects to origins from (IPv4)."""
LAMBDA_POLICIES = ("service-role/AWSLambdaBasicExecutionRole", "service-role/AWSLambdaVPCAccessExecutionRole")


class CloudFrontPrefixList(Construct):
    """`prefix_list_id`: the id of CLOUDFRONT_ORIGIN_FACING in this stack's region, which an AwsCustomResource
    reads with ec2:DescribeManagedPrefixLists when it is created (and again if the call changes). It runs in
    `subnets` (the app tier, which reaches the EC2 API through NAT)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        vpc: ec2.IVpc,
        subnets: Sequence[ec2.ISubnet],
        logs_key: kms.IKey,
        log_retention_days: int,
        removal_policy: cdk.RemovalPolicy,
    ) -> None:
        super().__init__(scope, construct_id)
        role = ManagedPolicyRole(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"Reads the id of {CLOUDFRONT_ORIGIN_FACING} in this region",
            statements=[iam.PolicyStatement(actions=["ec2:DescribeManagedPrefixLists"], resources=["*"])],
            aws_managed_policies=LAMBDA_POLICIES,
        )
        call = cr.AwsSdkCall(
            service="EC2",
            action="describeManagedPrefixLists",
            parameters={"Filters": [{"Name": "prefix-list-name", "Values": [CLOUDFRONT_ORIGIN_FACING]}]},
            physical_resource_id=cr.PhysicalResourceId.of(CLOUDFRONT_ORIGIN_FACING),
            output_paths=["PrefixLists.0.PrefixListId"],
        )
        lookup = cr.AwsCustomResource(
            self,
            "Lookup",
            on_create=call,
            on_update=call,
            role=role.immutable_role,
            install_latest_aws_sdk=False,
            log_group=EncryptedLogGroup(
                self, "Logs", encryption_key=logs_key, retention_days=log_retention_days, removal_policy=removal_policy
            ).log_group,
            vpc=vpc,
            vpc_subnets=ec2.SubnetSelection(subnets=list(subnets)),
        )
        self.prefix_list_id = lookup.get_response_field("PrefixLists.0.PrefixListId")
        # The function behind every AwsCustomResource of a stack is a singleton at the stack's root.
        function = cdk.Stack.of(self).node.find_child(
            "AWS" + cr.AwsCustomResource.PROVIDER_FUNCTION_UUID.replace("-", "")
        )
        acknowledge_all(
            function,
            [
                ("NIST.800.53.R5-LambdaConcurrency", "Runs only while CloudFormation deploys this stack: one call."),
                ("NIST.800.53.R5-LambdaDLQ", "Invoked synchronously by CloudFormation, which reports failures itself."),
            ],
        )
        acknowledge_all(
            role,
            [
                *(
                    (
                        f"AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/{name}]",
                        "AWS's execution policies for a function in a VPC: its own log streams and its ENIs.",
                    )
                    for name in LAMBDA_POLICIES
                ),
                ("AwsSolutions-IAM5[Resource::*]", "ec2:DescribeManagedPrefixLists has no resource-level permissions."),
            ],
        )
