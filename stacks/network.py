"""The network stack: the VPC and everything other stacks place resources behind."""

from __future__ import annotations

from collections.abc import Sequence

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from constructs import Construct
from constructs.common.encryption_key import EncryptionKey
from constructs.compute.karpenter import DISCOVERY_TAG
from constructs.network.cloudfront_prefix_list import CloudFrontPrefixList
from constructs.network.tier_network_acls import TierNetworkAcls
from constructs.network.tier_security_groups import TierSecurityGroups, port_ranges
from constructs.network.tiered_vpc import TieredVpc
from constructs.network.transit_hub import TransitHub
from constructs.network.web_acl import WebAcl

from environments.schema.network import tier_blocks
from environments.schema.stage import StageConfig
from stacks.base import PlatformStack


class NetworkStack(PlatformStack):
    """VPC (public/app/data tiers), NACLs, tier security groups and the regional WAF web ACL.

    It deploys first and depends on nothing, so it owns the key for its own log groups rather than
    taking one from the data stack (which depends on it).
    """

    def __init__(
        self, scope: Construct, construct_id: str, *, config: StageConfig, peer_cidrs: Sequence[str] = ()
    ) -> None:
        """`peer_cidrs` are the stage's other regions' VPCs: this region then gets a Transit Gateway routing
        to them, and their app tiers may reach the workloads here."""
        super().__init__(
            scope, construct_id, config=config, description=f"{config.name}: VPC, tiers, security groups and WAF"
        )
        network = config.network
        self.log_key = EncryptionKey(
            self,
            "LogKey",
            alias=f"alias/{config.tags.project}/{config.name}/network-logs",
            description=f"{config.name}: VPC flow logs and WAF logs",
            deletion_window_days=config.kms.deletion_window_days,
            removal_policy=self.stateful_removal_policy,
        )
        self.log_key.allow_cloudwatch_logs()

        self.tiered_vpc = TieredVpc(
            self,
            "Network",
            network=network.model_copy(update={"interface_endpoints": config.interface_endpoints}),
            availability_zones=config.availability_zones,
            log_encryption_key=self.log_key.key,
            removal_policy=self.stateful_removal_policy,
        )
        self.vpc: ec2.IVpc = self.tiered_vpc.vpc
        self.public_subnets = self.tiered_vpc.public_subnets
        self.app_subnets = self.tiered_vpc.app_subnets
        self.data_subnets = self.tiered_vpc.data_subnets

        self.peer_app_blocks = [str(tier_blocks(peer_cidr)["app"]) for peer_cidr in peer_cidrs]
        """The peered regions' app tiers, which call the workloads here on the service ports."""
        self.service_ports = port_ranges(service.port for service in config.platform.services)
        # With the edge on, the load balancer takes connections from CloudFront only.
        self.cloudfront_prefix_list = (
            CloudFrontPrefixList(
                self,
                "CloudFrontPrefixList",
                vpc=self.vpc,
                subnets=self.app_subnets.subnets,
                logs_key=self.log_key.key,
                log_retention_days=network.flow_logs.retention_days,
                removal_policy=self.stateful_removal_policy,
            )
            if config.edge.enabled
            else None
        )
        self.security_groups = TierSecurityGroups(
            self,
            "SecurityGroups",
            vpc=self.vpc,
            service_ports=self.service_ports,
            cloudfront_prefix_list_id=self.cloudfront_prefix_list.prefix_list_id
            if self.cloudfront_prefix_list
            else None,
            peer_app_blocks=self.peer_app_blocks,
            graph=config.data.graph.mode != "off",
            time_series=config.data.time_series.enabled,
            accelerator=config.data.accelerator.enabled,
        )
        self.network_acls = TierNetworkAcls(
            self,
            "NetworkAcls",
            tiered_vpc=self.tiered_vpc,
            service_ports=self.service_ports,
            data_ports=self.security_groups.data_ports,
            peer_app_blocks=self.peer_app_blocks,
        )
        self.transit_hub = (
            TransitHub(
                self,
                "TransitHub",
                name=f"{config.name}-{config.region}",
                vpc=self.vpc,
                attachment_subnets=self.app_subnets,
                amazon_side_asn=network.transit_gateway_asn,
                peer_cidrs=peer_cidrs,
            )
            if peer_cidrs
            else None
        )

        self.web_acl = WebAcl(
            self,
            "Waf",
            waf=network.waf,
            acl_scope="REGIONAL",
            name_prefix=f"{config.name}-regional",
            log_encryption_key=self.log_key.key,
            removal_policy=self.stateful_removal_policy,
        )
        self.web_acl_arn = self.web_acl.web_acl_arn

        # Karpenter launches GPU nodes into the subnets and security group tagged for its cluster.
        for resource in (*self.app_subnets.subnets, self.security_groups.workload):
            cdk.Tags.of(resource.node.default_child).add(DISCOVERY_TAG, config.cluster_name)  # type: ignore[arg-type]
        self.log_custom_resource_providers(logs_key=self.log_key.key, retention_days=network.flow_logs.retention_days)
