"""A region's Transit Gateway (seed 000: one per region, peered between them) with the VPC attached."""

from __future__ import annotations

from collections.abc import Sequence

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from constructs import Construct


class TransitHub(Construct):
    """`transit_gateway_id` with its own `route_table_id`, the VPC attached in `attachment_subnets`, and
    those subnets routing each of `peer_cidrs` (the peered regions' VPCs) to it.

    Default association and propagation are off: every attachment is associated on purpose (the VPC
    here, the peering by TransitPeerRoute once it is accepted), so nothing joins the routing domain by
    being created. Only the app tier routes to the peer; the data tier stays without a route out.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        name: str,
        vpc: ec2.IVpc,
        attachment_subnets: ec2.SelectedSubnets,
        amazon_side_asn: int,
        peer_cidrs: Sequence[str],
    ) -> None:
        super().__init__(scope, construct_id)
        transit_gateway = ec2.CfnTransitGateway(
            self,
            "TransitGateway",
            description=f"{name}: VPC attachment and the peerings with the other regions",
            amazon_side_asn=amazon_side_asn,
            auto_accept_shared_attachments="disable",
            default_route_table_association="disable",
            default_route_table_propagation="disable",
            dns_support="enable",
            vpn_ecmp_support="enable",
            tags=[cdk.CfnTag(key="Name", value=name)],
        )
        route_table = ec2.CfnTransitGatewayRouteTable(
            self, "RouteTable", transit_gateway_id=transit_gateway.ref, tags=[cdk.CfnTag(key="Name", value=name)]
        )
        self.vpc_attachment = ec2.CfnTransitGatewayVpcAttachment(
            self,
            "VpcAttachment",
            transit_gateway_id=transit_gateway.ref,
            vpc_id=vpc.vpc_id,
            subnet_ids=attachment_subnets.subnet_ids,
            options={"DnsSupport": "enable", "Ipv6Support": "disable", "ApplianceModeSupport": "disable"},
            tags=[cdk.CfnTag(key="Name", value=name)],
        )
        ec2.CfnTransitGatewayRouteTableAssociation(
            self,
            "VpcAssociation",
            transit_gateway_attachment_id=self.vpc_attachment.attr_id,
            transit_gateway_route_table_id=route_table.attr_transit_gateway_route_table_id,
        )
        ec2.CfnTransitGatewayRouteTablePropagation(
            self,
            "VpcPropagation",
            transit_gateway_attachment_id=self.vpc_attachment.attr_id,
            transit_gateway_route_table_id=route_table.attr_transit_gateway_route_table_id,
        )
        for peer, peer_cidr in enumerate(peer_cidrs):
            for index, subnet in enumerate(attachment_subnets.subnets):
                route = ec2.CfnRoute(
                    self,
                    f"PeerRoute{index + 1}" if peer == 0 else f"Peer{peer + 1}Route{index + 1}",
                    route_table_id=subnet.route_table.route_table_id,
                    destination_cidr_block=peer_cidr,
                    transit_gateway_id=transit_gateway.ref,
                )
                # A route to a Transit Gateway is only accepted once the VPC is attached to it.
                route.add_resource_dependency(self.vpc_attachment)
        self.transit_gateway_id = transit_gateway.ref
        self.route_table_id = route_table.attr_transit_gateway_route_table_id
