"""The cross-region stack of a stage with several regions, in its primary region and deployed after every
region's platform: the shared ingress name's records (which alias each role's latency set, so those must exist
first) and the primary registry's replication of the stage's repositories to every secondary region (after the
secondaries' own repositories exist: replication would otherwise create them first, under other settings, and
their stacks would fail on the names)."""

from __future__ import annotations

from aws_cdk import aws_ecr as ecr
from constructs import Construct
from constructs.compute.ingress_records import SharedIngressRecords

from environments.schema.stage import StageConfig
from stacks.base import PlatformStack


class CrossRegionStack(PlatformStack):
    """`ingress` (SharedIngressRecords) and `replication` (the registry's one replication configuration)."""

    def __init__(self, scope: Construct, construct_id: str, *, config: StageConfig) -> None:
        super().__init__(
            scope,
            construct_id,
            config=config,
            description=f"{config.name}: the shared ingress name across regions, ECR replication to the secondaries",
        )
        ingress = config.platform.ingress
        self.ingress = SharedIngressRecords(
            self,
            "Ingress",
            zone_id=ingress.hosted_zone_id,
            domain_name=ingress.domain_name,
            has_standby=any(region.role == "standby" for region in config.regions),
        )
        # Replicated images land in the secondaries' own repositories (same names), under those repositories'
        # settings: their region's storage key, immutable tags, scanning, lifecycle.
        self.replication = ecr.CfnReplicationConfiguration(
            self,
            "Replication",
            replication_configuration=ecr.CfnReplicationConfiguration.ReplicationConfigurationProperty(
                rules=[
                    ecr.CfnReplicationConfiguration.ReplicationRuleProperty(
                        destinations=[
                            ecr.CfnReplicationConfiguration.ReplicationDestinationProperty(
                                region=region.region, registry_id=config.account
                            )
                            for region in config.secondaries
                        ],
                        repository_filters=[
                            ecr.CfnReplicationConfiguration.RepositoryFilterProperty(
                                filter=f"{config.tags.project}/{config.name}/", filter_type="PREFIX_MATCH"
                            )
                        ],
                    )
                ]
            ),
        )
