"""The Transit Gateway peering between two of the stage's regions (every pair is peered), as three stacks
because CloudFormation cannot accept a peering in the other region: request (the earlier region of the
pair in `regions`), accept and route (the later), route (the earlier). Stack dependencies order them;
`cdk deploy '<stage>/*'` runs them in that order."""

from __future__ import annotations

from constructs import Construct
from constructs.network.transit_hub import TransitHub
from constructs.network.transit_peering import TransitPeeringAcceptance, TransitPeeringRequest, TransitPeerRoute

from environments.schema.stage import StageConfig
from stacks.base import PlatformStack
from stacks.network import NetworkStack


def _hub(network: NetworkStack) -> TransitHub:
    if network.transit_hub is None:
        raise ValueError(f"{network.stack_name} has no Transit Gateway: it was built without a peer CIDR")
    return network.transit_hub


class PeeringRequestStack(PlatformStack):
    """In the requesting region: the peering attachment from its Transit Gateway to the peer's."""

    def __init__(
        self, scope: Construct, construct_id: str, *, config: StageConfig, network: NetworkStack, peer: NetworkStack
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            config=config,
            description=f"{config.name}: Transit Gateway peering request to {peer.region}",
            cross_region_references=True,
        )
        self.request = TransitPeeringRequest(
            self,
            "Peering",
            name=f"{config.name}-{config.region}-{peer.region}",
            transit_gateway_id=_hub(network).transit_gateway_id,
            peer_transit_gateway_id=_hub(peer).transit_gateway_id,
            peer_region=peer.region,
            peer_account=peer.account,
        )


class PeeringAcceptStack(PlatformStack):
    """In the accepting region: accepts the peering, waits for it, and routes the requester's VPC through it."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StageConfig,
        network: NetworkStack,
        requester: NetworkStack,
        request: PeeringRequestStack,
    ) -> None:
        """`config` is the stage as seen from the accepting region (`StageConfig.in_region`)."""
        super().__init__(
            scope,
            construct_id,
            config=config,
            description=f"{config.name}: accepts the Transit Gateway peering from {requester.region}",
            cross_region_references=True,
        )
        hub = _hub(network)
        self.acceptance = TransitPeeringAcceptance(
            self,
            "Acceptance",
            attachment_id=request.request.attachment_id,
            requester_transit_gateway_id=_hub(requester).transit_gateway_id,
            accepter_transit_gateway_id=hub.transit_gateway_id,
            vpc=network.vpc,
            subnets=network.app_subnets.subnets,
            logs_key=network.log_key.key,
            log_retention_days=config.network.flow_logs.retention_days,
            removal_policy=self.stateful_removal_policy,
        )
        TransitPeerRoute(
            self,
            "RouteToRequester",
            route_table_id=hub.route_table_id,
            attachment_id=self.acceptance.accepted_attachment_id,
            peer_cidr=requester.config.network.cidr,
        )


class PeeringRoutesStack(PlatformStack):
    """In the requesting region, after acceptance: routes the accepter's VPC through the peering."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StageConfig,
        network: NetworkStack,
        request: PeeringRequestStack,
        acceptance: PeeringAcceptStack,
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            config=config,
            description=f"{config.name}: routes to {acceptance.region} over the accepted Transit Gateway peering",
        )
        # Nothing flows from the accepter's stack to this one, so the order is stated: the association
        # fails while the attachment still waits for acceptance.
        self.add_stack_dependency(acceptance, "the peering must be accepted before it can be routed")
        TransitPeerRoute(
            self,
            "RouteToAccepter",
            route_table_id=_hub(network).route_table_id,
            attachment_id=request.request.attachment_id,
            peer_cidr=acceptance.config.network.cidr,
        )
