"""Stateless subnet-level isolation between the VPC's tiers (seed 001: Public <-> Private <-> Database).

Security groups already decide who talks to whom; these ACLs are the second layer that still holds
if a security group is misconfigured: the data tier accepts nothing but its data ports from the app tier.
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import aws_ec2 as ec2
from constructs import Construct
from constructs.common.acknowledgments import acknowledge
from constructs.network.tier_security_groups import PortRange
from constructs.network.tiered_vpc import TieredVpc

EPHEMERAL_PORTS = ec2.AclTraffic.tcp_port_range(1024, 65535)
"""Return traffic: NAT gateways and load balancers use source ports from the whole range."""
ANYWHERE = ec2.AclCidr.any_ipv4()


class TierNetworkAcls(Construct):
    """One network ACL per tier, exposed as `public_acl`, `app_acl` and `data_acl`."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        tiered_vpc: TieredVpc,
        service_ports: Sequence[PortRange],
        data_ports: Sequence[int],
        peer_app_blocks: Sequence[str] = (),
    ) -> None:
        """`service_ports`: the ranges the load balancer (public tier) reaches the services on in the app tier;
        `peer_app_blocks`: the peered regions' app tiers, admitted to the same ports."""
        super().__init__(scope, construct_id)
        acknowledge(
            self,
            "AwsSolutions-VPC3",
            "Tier isolation by network ACL is a requirement (seed 001, defence in depth under the security "
            "groups); every rule is generated here from the tier plan, so they stay reviewable.",
        )
        blocks = {tier: ec2.AclCidr.ipv4(block) for tier, block in tiered_vpc.tier_blocks.items()}
        workload = [
            (_suffix(index), ec2.AclTraffic.tcp_port_range(*ports)) for index, ports in enumerate(service_ports)
        ]
        everything = ec2.AclTraffic.all_traffic()
        peers = [
            (f"Peer{index + 1}" if index else "Peer", ec2.AclCidr.ipv4(block))
            for index, block in enumerate(peer_app_blocks)
        ]

        self.public_acl = self._acl(
            "Public",
            tiered_vpc,
            tiered_vpc.public_subnets,
            inbound=[
                ("Https", ANYWHERE, ec2.AclTraffic.tcp_port(443)),
                ("Http", ANYWHERE, ec2.AclTraffic.tcp_port(80)),
                ("ReturnTraffic", ANYWHERE, EPHEMERAL_PORTS),
                # NAT gateways forward the app tier's egress on any port; targets answer the ALB.
                ("FromApp", blocks["app"], everything),
            ],
            outbound=[("Anywhere", ANYWHERE, everything)],
        )
        self.app_acl = self._acl(
            "App",
            tiered_vpc,
            tiered_vpc.app_subnets,
            inbound=[
                # Nodes, pods, the EKS control-plane ENIs and the interface endpoints share this tier.
                ("WithinTier", blocks["app"], everything),
                *((f"WorkloadFromPublic{suffix}", blocks["public"], ports) for suffix, ports in workload),
                ("ReturnTraffic", ANYWHERE, EPHEMERAL_PORTS),
                # Over the Transit Gateway peering; the data tier has no route to the peer at all.
                *((f"WorkloadFrom{name}{suffix}", peer, ports) for name, peer in peers for suffix, ports in workload),
            ],
            outbound=[("Anywhere", ANYWHERE, everything)],
        )
        self.data_acl = self._acl(
            "Data",
            tiered_vpc,
            tiered_vpc.data_subnets,
            inbound=[
                *((f"Port{port}FromApp", blocks["app"], ec2.AclTraffic.tcp_port(port)) for port in data_ports),
                # Replicas, proxies and cluster members talk to each other inside the tier.
                ("WithinTier", blocks["data"], everything),
            ],
            outbound=[
                ("ReturnToApp", blocks["app"], EPHEMERAL_PORTS),
                ("WithinTier", blocks["data"], everything),
            ],
        )

    def _acl(
        self,
        name: str,
        tiered_vpc: TieredVpc,
        subnets: ec2.SelectedSubnets,
        *,
        inbound: Sequence[tuple[str, ec2.AclCidr, ec2.AclTraffic]],
        outbound: Sequence[tuple[str, ec2.AclCidr, ec2.AclTraffic]],
    ) -> ec2.NetworkAcl:
        """An ACL for `subnets` allowing exactly `inbound` and `outbound`; anything else hits the deny."""
        acl = ec2.NetworkAcl(
            self, f"{name}Acl", vpc=tiered_vpc.vpc, subnet_selection=ec2.SubnetSelection(subnets=subnets.subnets)
        )
        for direction, rules in ((ec2.TrafficDirection.INGRESS, inbound), (ec2.TrafficDirection.EGRESS, outbound)):
            label = "In" if direction == ec2.TrafficDirection.INGRESS else "Out"
            for index, (rule_name, cidr, traffic) in enumerate(rules):
                acl.add_entry(
                    f"{label}{rule_name}",
                    cidr=cidr,
                    traffic=traffic,
                    rule_number=100 + 10 * index,
                    direction=direction,
                    rule_action=ec2.Action.ALLOW,
                )
        return acl


def _suffix(index: int) -> str:
    """'' for the first of several entries, then '2', '3', ...: the first keeps its original construct id."""
    return str(index + 1) if index else ""
