"""The edge stack: CloudFront, its WAF web ACL, certificate and DNS, in us-east-1 whatever the stage's
region (CloudFront's certificates and CLOUDFRONT-scope web ACLs live there)."""

from __future__ import annotations

from constructs import Construct
from constructs.compute.ingress_load_balancer import ORIGIN_VERIFY_HEADER
from constructs.edge.edge_distribution import EdgeDistribution, ImagesReplica

from environments.schema.edge import EDGE_REGION
from environments.schema.regions import replica_bucket_name
from environments.schema.stage import StageConfig
from stacks.base import PlatformStack
from stacks.data import DataStack
from stacks.data_replica import DataReplicaStack
from stacks.platform import PlatformComputeStack


class EdgeStack(PlatformStack):
    """`edge` (EdgeDistribution) in front of the stage's ingress load balancer and images bucket, whose replica in
    `images_replica`'s region (the stage's images_failover_region) the images path falls back to."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StageConfig,
        data: DataStack,
        platform: PlatformComputeStack,
        images_replica: DataReplicaStack | None = None,
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            config=config,
            region=EDGE_REGION,
            description=f"{config.name}: CloudFront, global WAF, certificate and DNS (us-east-1)",
        )
        verification = platform.origin_verification
        assert verification is not None, "the platform creates the origin secret whenever the edge is enabled"
        self.edge = EdgeDistribution(
            self,
            "Edge",
            edge=config.edge,
            waf=config.network.waf,
            name_prefix=f"{config.tags.project}-{config.name}",
            origin_hostname=platform.ingress.origin_hostname,
            origin_headers={ORIGIN_VERIFY_HEADER: verification.sent},
            images_bucket_name=data.buckets.images.bucket_name,
            images_replica=ImagesReplica(
                bucket_name=replica_bucket_name(config, "images", images_replica.region), region=images_replica.region
            )
            if images_replica
            else None,
            key_alias=f"alias/{config.tags.project}/{config.name}/edge-logs",
            deletion_window_days=config.kms.deletion_window_days,
            removal_policy=self.stateful_removal_policy,
        )
        # The origin's name and its secret cross by name (both strings of the platform's construct): the
        # platform's alias, certificate and secret (and its replica here) must exist first.
        self.add_stack_dependency(platform)
        if images_replica:  # named, not referenced: the replica and CloudFront's grants on it must exist first
            self.add_stack_dependency(images_replica)
