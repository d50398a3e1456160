"""What a service that places its own ENIs in the VPC for a resource (Managed Flink, Firehose's VPC delivery)
needs from the role it assumes: describe the network (no resource-level permissions), create interfaces only in
the given subnets and group, and change or delete interfaces only in those subnets (ec2:Subnet)."""

from __future__ import annotations

from collections.abc import Sequence

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam

DESCRIBE = ("ec2:DescribeVpcs", "ec2:DescribeVpcAttribute", "ec2:DescribeSubnets", "ec2:DescribeSecurityGroups",
            "ec2:DescribeDhcpOptions", "ec2:DescribeNetworkInterfaces")  # fmt: skip
ANY_INTERFACE_REASON = (
    "The interfaces the service makes for this resource: their IDs are not known before; it may create them only "
    "in the given subnets and group, and change or delete them only in those subnets (ec2:Subnet)."
)
DESCRIBE_REASON = "EC2's Describe calls (the VPC, subnets, groups, interfaces) have no resource-level permissions."


def any_interface(stack: cdk.Stack) -> str:
    return stack.format_arn(service="ec2", resource="network-interface", resource_name="*")


def any_interface_finding(stack: cdk.Stack) -> str:
    """The cdk-nag finding for the interfaces statements, as the stack's account and region write it."""
    return f"AwsSolutions-IAM5[Resource::{any_interface(stack)}]"


def interface_statements(
    scope: cdk.Stack, subnets: Sequence[ec2.ISubnet], security_group: ec2.ISecurityGroup
) -> list[iam.PolicyStatement]:
    subnet_arns = [scope.format_arn(service="ec2", resource="subnet", resource_name=s.subnet_id) for s in subnets]
    group_arn = scope.format_arn(
        service="ec2", resource="security-group", resource_name=security_group.security_group_id
    )
    interfaces = any_interface(scope)
    return [
        iam.PolicyStatement(sid="DescribeNetwork", actions=list(DESCRIBE), resources=["*"]),
        iam.PolicyStatement(
            sid="CreateInterfaces",
            actions=["ec2:CreateNetworkInterface"],
            resources=[*subnet_arns, group_arn, interfaces],
        ),
        iam.PolicyStatement(
            sid="ManageInterfaces",
            actions=["ec2:CreateNetworkInterfacePermission", "ec2:DeleteNetworkInterface"],
            resources=[interfaces],
            conditions={"ArnEquals": {"ec2:Subnet": subnet_arns}},
        ),
    ]
