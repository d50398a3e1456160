"""The three-tier VPC: public, private app and isolated data subnets in every AZ, NAT, flow logs and
private access to AWS services."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

import aws_cdk as cdk
import jsii
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from constructs import Construct
from constructs.common.acknowledgments import acknowledge, acknowledge_provider_handler
from constructs.common.encrypted_log_group import EncryptedLogGroup
from constructs.common.managed_policy_role import ManagedPolicyRole

from environments.schema.network import TIER_NAMES, NetworkConfig, subnet_cidrs, tier_blocks

SUBNET_TYPES = {
    "public": ec2.SubnetType.PUBLIC,
    "app": ec2.SubnetType.PRIVATE_WITH_EGRESS,
    "data": ec2.SubnetType.PRIVATE_ISOLATED,
}
"""Tier name -> CDK subnet type. Data is isolated: no route to the internet at all."""


@jsii.implements(ec2.IIpAddresses)
class TierIpAddresses:
    """Gives each tier its own quarter of the VPC CIDR and carves that tier's per-AZ subnets from it.

    CDK's default allocator packs subnets back to back, so adding an AZ or resizing a tier renumbers
    every subnet after it. Fixed quarters keep addresses stable, reproduce seed 001's plan exactly
    (10.0.0.0/20.., 10.0.64.0/20.., 10.0.128.0/20..) and let a NACL name a whole tier in one rule.
    """

    def __init__(self, network: NetworkConfig, availability_zones: Sequence[str]) -> None:
        self._network = network
        self._azs = list(availability_zones)
        self.plan = {
            tier: subnet_cidrs(network.cidr, tier, getattr(network.subnet_prefix, tier), len(self._azs))
            for tier in TIER_NAMES
        }
        """Tier name -> its subnets' CIDRs, in AZ order."""

    def allocate_vpc_cidr(self) -> ec2.VpcIpamOptions:
        return ec2.VpcIpamOptions(cidr_block=self._network.cidr)

    def allocate_subnets_cidr(
        self, *, requested_subnets: Sequence[ec2.RequestedSubnet | dict[str, Any]], vpc_cidr: str
    ) -> ec2.SubnetIpamOptions:
        # vpc_cidr is a token (the VPC's CidrBlock attribute); the configured CIDR is the same value.
        # The Vpc always hands over RequestedSubnet structs; the dict form exists only in the type.
        requests = cast(Sequence[ec2.RequestedSubnet], requested_subnets)
        return ec2.SubnetIpamOptions(
            allocated_subnets=[
                ec2.AllocatedSubnet(
                    cidr=self.plan[request.configuration.name][self._azs.index(request.availability_zone)]
                )
                for request in requests
            ]
        )


class TieredVpc(Construct):
    """VPC with public / app / data tiers, NAT per config, all-traffic flow logs, gateway endpoints for
    S3 and DynamoDB and interface endpoints in the app tier reachable only from inside the VPC."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        network: NetworkConfig,
        availability_zones: Sequence[str],
        log_encryption_key: kms.IKey,
        removal_policy: cdk.RemovalPolicy,
    ) -> None:
        super().__init__(scope, construct_id)
        ip_addresses = TierIpAddresses(network, availability_zones)
        self.subnet_cidrs = ip_addresses.plan
        """Tier name -> its subnets' CIDRs in AZ order, as plain strings (no cross-stack reference needed)."""
        self.vpc = ec2.Vpc(
            self,
            "Vpc",
            ip_addresses=ip_addresses,
            availability_zones=list(availability_zones),
            nat_gateways=network.nat_gateways,
            restrict_default_security_group=True,
            subnet_configuration=[
                ec2.SubnetConfiguration(
                    name=tier,
                    subnet_type=SUBNET_TYPES[tier],
                    cidr_mask=getattr(network.subnet_prefix, tier),
                    # Nothing in the public tier needs a public IP of its own: NAT gateways have
                    # Elastic IPs and load balancers are reached through their own addresses.
                    map_public_ip_on_launch=False if tier == "public" else None,
                )
                for tier in TIER_NAMES
            ],
        )
        acknowledge_provider_handler(
            cdk.Stack.of(self),
            "Custom::VpcRestrictDefaultSGCustomResourceProvider",
            calls="EC2's API, to remove the default security group's rules",
        )
        for subnet in self.vpc.public_subnets:
            acknowledge(
                subnet,
                "NIST.800.53.R5-VPCNoUnrestrictedRouteToIGW",
                "Only the public tier routes to the internet gateway: it holds the NAT gateways and the "
                "internet-facing load balancer. App and data tiers have no such route.",
            )
        for subnet in [*self.vpc.public_subnets, *self.vpc.private_subnets, *self.vpc.isolated_subnets]:
            # cfn-lint's W3010 "avoid hardcoding availability zones": explicit AZs are deliberate (synth
            # stays offline and reproducible; the config loader checked them against the region).
            cast(ec2.CfnSubnet, subnet.node.default_child).add_metadata(
                "cfn-lint", {"config": {"ignore_checks": ["W3010"]}}
            )
        self.tier_blocks = {tier: str(block) for tier, block in tier_blocks(network.cidr).items()}
        """Tier name -> the quarter of the VPC CIDR that holds all of that tier's subnets."""
        self.public_subnets = self.vpc.select_subnets(subnet_group_name="public")
        self.app_subnets = self.vpc.select_subnets(subnet_group_name="app")
        self.data_subnets = self.vpc.select_subnets(subnet_group_name="data")

        self.flow_log_group = EncryptedLogGroup(
            self,
            "FlowLogs",
            encryption_key=log_encryption_key,
            retention_days=network.flow_logs.retention_days,
            removal_policy=removal_policy,
        ).log_group
        self.flow_log = ec2.FlowLog(
            self,
            "FlowLog",
            resource_type=ec2.FlowLogResourceType.from_vpc(self.vpc),
            destination=ec2.FlowLogDestination.to_cloud_watch_logs(
                self.flow_log_group, self._flow_log_role(self.flow_log_group)
            ),
            traffic_type=ec2.FlowLogTrafficType.ALL,
            max_aggregation_interval=ec2.FlowLogMaxAggregationInterval.ONE_MINUTE,
        )

        private_subnets = [ec2.SubnetSelection(subnet_group_name=tier) for tier in ("app", "data")]
        self.s3_endpoint = self.vpc.add_gateway_endpoint(
            "S3Endpoint", service=ec2.GatewayVpcEndpointAwsService.S3, subnets=private_subnets
        )
        self.dynamodb_endpoint = self.vpc.add_gateway_endpoint(
            "DynamoDbEndpoint", service=ec2.GatewayVpcEndpointAwsService.DYNAMODB, subnets=private_subnets
        )

        self.endpoint_security_group = ec2.SecurityGroup(
            self,
            "EndpointSecurityGroup",
            vpc=self.vpc,
            description="Interface endpoints: HTTPS from inside the VPC only",
            allow_all_outbound=False,
        )
        self.endpoint_security_group.add_ingress_rule(
            ec2.Peer.ipv4(network.cidr), ec2.Port.tcp(443), "HTTPS from inside the VPC"
        )
        self.interface_endpoints = {
            service: self.vpc.add_interface_endpoint(
                _endpoint_id(service),
                service=ec2.InterfaceVpcEndpointAwsService(service),
                subnets=ec2.SubnetSelection(subnet_group_name="app"),
                security_groups=[self.endpoint_security_group],
                private_dns_enabled=True,
                open=False,
            )
            for service in network.interface_endpoints
        }

    def _flow_log_role(self, log_group: logs.ILogGroup) -> iam.IRole:
        """The role VPC Flow Logs assumes (confused-deputy guarded), limited to writing `log_group`."""
        stack = cdk.Stack.of(self)
        return ManagedPolicyRole(
            self,
            "FlowLogRole",
            assumed_by=iam.ServicePrincipal(
                "vpc-flow-logs.amazonaws.com",
                conditions={
                    "StringEquals": {"aws:SourceAccount": stack.account},
                    "ArnLike": {
                        "aws:SourceArn": stack.format_arn(service="ec2", resource="vpc-flow-log", resource_name="*")
                    },
                },
            ),
            description="VPC Flow Logs delivery to its CloudWatch log group",
            statements=[
                iam.PolicyStatement(
                    actions=["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
                    resources=[log_group.log_group_arn],
                )
            ],
        ).immutable_role


def _endpoint_id(service: str) -> str:
    """`ecr.api` -> `EcrApiEndpoint`: a stable construct id per service."""
    return "".join(part.capitalize() for part in service.replace("-", ".").split(".")) + "Endpoint"
