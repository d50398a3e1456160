"""PlatformStage: every stack of one stage, wired together. app.py and the pipeline both use it."""

from __future__ import annotations

from typing import TYPE_CHECKING

import aws_cdk as cdk
from constructs import Construct

from environments.schema.stage import StageConfig
from stacks.ai import AiStack
from stacks.analytics import AnalyticsStack
from stacks.data import DataStack
from stacks.data_replica import DataReplicaStack
from stacks.database_dr import DatabaseReplicaStack
from stacks.network import NetworkStack
from stacks.observability import ObservabilityStack
from stacks.platform import PlatformComputeStack
from stacks.transit_peering import PeeringAcceptStack, PeeringRequestStack, PeeringRoutesStack

if TYPE_CHECKING:
    from stacks.edge import EdgeStack

UNTAGGABLE_TYPES = ["AWS::RDS::DBProxyTargetGroup"]
"""CDK marks these taggable, but CloudFormation rejects Tags on them."""
GENERATED_TAG_SHAPES = {"AWS::IAM::Role": list, "AWS::Lambda::Function": list, "AWS::SSM::Parameter": dict}
"""Types CDK writes as raw CfnResources (custom-resource provider roles and handlers, aws_eks_v2's kubectl
barrier), which Tags.of cannot reach, with the shape their Tags property takes."""


class PlatformStage(cdk.Stage):
    """The stage `config.name` (dev, staging, prod): stacks `network` ... as `<stage>-<stack>`."""

    def __init__(self, scope: Construct, *, config: StageConfig) -> None:
        super().__init__(scope, config.name, env=cdk.Environment(account=config.account, region=config.region))
        tags = {"project": config.tags.project, "stage": config.name, "cost-center": config.tags.cost_center}
        for key, value in tags.items():
            cdk.Tags.of(self).add(key, value, exclude_resource_types=UNTAGGABLE_TYPES)
        dr_config = config.in_dr_region()
        self.network = NetworkStack(
            self, "network", config=config, peer_cidr=config.dr.cidr if config.dr.enabled else None
        )
        # The secondary region: its own network (same tiers, groups and WAF, another CIDR) and the keys of
        # the replicas the data stack places there.
        self.network_dr = (
            NetworkStack(self, "network-dr", config=dr_config, peer_cidr=config.network.cidr)
            if config.dr.enabled
            else None
        )
        self.peering = self._peer_regions(config, dr_config, self.network_dr) if self.network_dr else None
        self.data_dr = DataReplicaStack(self, "data-dr", config=dr_config) if config.dr.enabled else None
        self.data = DataStack(self, "data", config=config, network=self.network, replica=self.data_dr)
        self.database_dr = (
            DatabaseReplicaStack(
                self,
                "database-dr",
                config=dr_config,
                network=self.network_dr,
                replica=self.data_dr,
                global_cluster_identifier=self.data.database.global_cluster_identifier,
            )
            if self.network_dr and self.data_dr and self.data.database.global_cluster_identifier
            else None
        )
        self.analytics = AnalyticsStack(self, "analytics", config=config, network=self.network, data=self.data)
        self.platform = PlatformComputeStack(
            self, "platform", config=config, network=self.network, data=self.data, analytics=self.analytics
        )
        self.ai = (
            AiStack(self, "ai", config=config, network=self.network, data=self.data, platform=self.platform)
            if config.ai.bedrock.enabled or config.ai.sagemaker.enabled
            else None
        )
        self.observability = ObservabilityStack(
            self,
            "observability",
            config=config,
            network=self.network,
            data=self.data,
            platform=self.platform,
            analytics=self.analytics,
            ai=self.ai,
        )
        self.edge: EdgeStack | None = None
        if config.edge.enabled:
            # Imported here: CloudFront's and Shield's bindings cost a stage without the edge 0.1 s to load.
            from stacks.edge import EdgeStack

            self.edge = EdgeStack(self, "edge", config=config, data=self.data, platform=self.platform)
        self._tag_generated_resources(tags)

    def _tag_generated_resources(self, tags: dict[str, str]) -> None:
        """Tag what CDK generated as raw CfnResources (GENERATED_TAG_SHAPES) by property override."""
        for construct in self.node.find_all():
            if type(construct) is cdk.CfnResource and construct.cfn_resource_type in GENERATED_TAG_SHAPES:
                shape = GENERATED_TAG_SHAPES[construct.cfn_resource_type]
                rendered = dict(tags) if shape is dict else [{"Key": k, "Value": v} for k, v in tags.items()]
                construct.add_property_override("Tags", rendered)

    def _peer_regions(
        self, config: StageConfig, dr_config: StageConfig, network_dr: NetworkStack
    ) -> tuple[PeeringRequestStack, PeeringAcceptStack, PeeringRoutesStack]:
        """The Transit Gateway peering between the regions: request, accept (and route), route."""
        request = PeeringRequestStack(self, "peering", config=config, network=self.network, peer=network_dr)
        accept = PeeringAcceptStack(
            self, "peering-dr", config=dr_config, network=network_dr, requester=self.network, request=request
        )
        routes = PeeringRoutesStack(
            self, "peering-routes", config=config, network=self.network, request=request, acceptance=accept
        )
        return request, accept, routes
