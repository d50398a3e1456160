"""PlatformStage: every stack of one stage, wired together. app.py and the pipeline both use it."""

from __future__ import annotations

from itertools import combinations
from typing import TYPE_CHECKING

import aws_cdk as cdk
from constructs import Construct

from environments.schema.regions import RegionConfig
from environments.schema.stage import StageConfig
from stacks.ai import AiStack
from stacks.analytics import AnalyticsStack
from stacks.cross_region import CrossRegionStack
from stacks.data import DataStack
from stacks.data_replica import DataReplicaStack
from stacks.database_dr import DatabaseReplicaStack
from stacks.network import NetworkStack
from stacks.observability import ObservabilityStack
from stacks.platform import PlatformComputeStack, Secondary
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
        # Every region gets its own network (same tiers, groups and WAF, its own CIDR), peered with every
        # other region; the primary's stacks keep their plain ids, a secondary's carry its region.
        self.networks = {
            region.region: NetworkStack(
                self,
                stack_id("network", config, region),
                config=config.in_region(region),
                peer_cidrs=[other.cidr for other in config.regions if other != region],
            )
            for region in config.regions
        }
        self.network = self.networks[config.region]
        self.peerings = [
            self._peer_regions(self.networks[first.region], self.networks[second.region])
            for first, second in combinations(config.regions, 2)
        ]
        # The keys and buckets of the replicas the data stack places in each secondary region (the failover
        # region's also holds the models file system's EFS replica).
        self.replicas = {
            region.region: DataReplicaStack(
                self,
                stack_id("data", config, region),
                config=config.in_region(region),
                network=self.networks[region.region],
            )
            for region in config.secondaries
        }
        self.data = DataStack(self, "data", config=config, network=self.network, replicas=list(self.replicas.values()))
        global_cluster = self.data.database.global_cluster_identifier
        self.database_replicas = {
            region.region: DatabaseReplicaStack(
                self,
                stack_id("database", config, region),
                config=config.in_region(region),
                network=self.networks[region.region],
                replica=self.replicas[region.region],
                global_cluster_identifier=global_cluster,
            )
            for region in config.secondaries
            if global_cluster
        }
        # The lake, stream, Kafka and search run in the primary and in every active secondary region, each over
        # its own keys and written to by the same app role (IAM is global); a standby region runs none.
        self.analytics_stacks = {
            region.region: AnalyticsStack(
                self,
                stack_id("analytics", config, region),
                config=config.in_region(region),
                network=self.networks[region.region],
                keys=self.replicas[region.region].keys if region != config.primary else self.data.keys,
                app_role=self.data.workload_roles.app_role,
            )
            for region in config.regions
            if region.role == "active"
        }
        self.analytics = self.analytics_stacks[config.region]
        self.platform = PlatformComputeStack(
            self, "platform", config=config, network=self.network, data=self.data, analytics=self.analytics
        )
        # Every secondary region runs the platform too, with the same roles, its own stores and the replicas.
        self.platforms = {config.region: self.platform} | {
            region.region: self._secondary_platform(config, region) for region in config.secondaries
        }
        self.cross_region: CrossRegionStack | None = None
        if config.secondaries:
            self.cross_region = CrossRegionStack(self, "cross-region", config=config)
            for platform in self.platforms.values():
                self.cross_region.add_stack_dependency(platform)
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
        # Each secondary region's alarms, Prometheus and detection, over its platform and stores.
        self.observabilities = {config.region: self.observability} | {
            region.region: self._secondary_observability(config, region) for region in config.secondaries
        }
        self.edge: EdgeStack | None = None
        if config.edge.enabled:
            # Imported here: CloudFront's and Shield's bindings cost a stage without the edge 0.1 s to load.
            from stacks.edge import EdgeStack

            self.edge = EdgeStack(
                self,
                "edge",
                config=config,
                data=self.data,
                platform=self.platform,
                images_replica=next((replica for replica in self.replicas.values() if replica.serves_images), None),
            )
            if self.cross_region:  # CloudFront's origin is the shared name, whose records are there
                self.edge.add_stack_dependency(self.cross_region)
        self._tag_generated_resources(tags)

    def _tag_generated_resources(self, tags: dict[str, str]) -> None:
        """Tag what CDK generated as raw CfnResources (GENERATED_TAG_SHAPES) by property override."""
        for construct in self.node.find_all():
            if type(construct) is cdk.CfnResource and construct.cfn_resource_type in GENERATED_TAG_SHAPES:
                shape = GENERATED_TAG_SHAPES[construct.cfn_resource_type]
                rendered = dict(tags) if shape is dict else [{"Key": k, "Value": v} for k, v in tags.items()]
                construct.add_property_override("Tags", rendered)

    def _secondary_platform(self, config: StageConfig, region: RegionConfig) -> PlatformComputeStack:
        """`platform-<region>`: the platform in a secondary region, after the primary's (whose origin secret
        and Git credentials it reads through their replicas there)."""
        platform = PlatformComputeStack(
            self,
            stack_id("platform", config, region),
            config=config.in_region(region),
            network=self.networks[region.region],
            data=None,
            analytics=self.analytics_stacks.get(region.region),
            secondary=Secondary(
                primary_data=self.data,
                primary_platform=self.platform,
                data=self.replicas[region.region],
                database=self.database_replicas.get(region.region),
            ),
        )
        platform.add_stack_dependency(self.platform)
        return platform

    def _secondary_observability(self, config: StageConfig, region: RegionConfig) -> ObservabilityStack:
        """`observability-<region>`: a secondary region's alarms (to its own topics, with the same subscribers),
        dashboards, Prometheus and threat detection."""
        platform = self.platforms[region.region]
        assert platform.secondary is not None
        return ObservabilityStack(
            self,
            stack_id("observability", config, region),
            config=config.in_region(region),
            network=self.networks[region.region],
            data=self.data,
            platform=platform,
            analytics=self.analytics_stacks.get(region.region),
            secondary=platform.secondary,
        )

    def _peer_regions(
        self, requester: NetworkStack, accepter: NetworkStack
    ) -> tuple[PeeringRequestStack, PeeringAcceptStack, PeeringRoutesStack]:
        """The Transit Gateway peering between two regions: request, accept (and route), route."""
        pair = f"{requester.region}-{accepter.region}"
        request = PeeringRequestStack(
            self, f"peering-{pair}", config=requester.config, network=requester, peer=accepter
        )
        accept = PeeringAcceptStack(
            self,
            f"peering-accept-{pair}",
            config=accepter.config,
            network=accepter,
            requester=requester,
            request=request,
        )
        routes = PeeringRoutesStack(
            self,
            f"peering-routes-{pair}",
            config=requester.config,
            network=requester,
            request=request,
            acceptance=accept,
        )
        return request, accept, routes


def stack_id(stack: str, config: StageConfig, region: RegionConfig) -> str:
    """`stack` in the primary region (ids of a single-region stage are unchanged), `stack-<region>` elsewhere."""
    return stack if region == config.primary else f"{stack}-{region.region}"
