"""The edge stack: CloudFront, its WAF web ACL, certificate and DNS, in us-east-1 whatever the stage's
region (CloudFront's certificates and CLOUDFRONT-scope web ACLs live there)."""

from __future__ import annotations

from constructs import Construct
from constructs.edge.edge_distribution import EdgeDistribution

from environments.schema.stage import StageConfig
from stacks.base import PlatformStack
from stacks.data import DataStack

EDGE_REGION = "us-east-1"


class EdgeStack(PlatformStack):
    """`edge` (EdgeDistribution) in front of the stage's ingress and images bucket."""

    def __init__(self, scope: Construct, construct_id: str, *, config: StageConfig, data: DataStack) -> None:
        super().__init__(
            scope,
            construct_id,
            config=config,
            region=EDGE_REGION,
            description=f"{config.name}: CloudFront, global WAF, certificate and DNS (us-east-1)",
        )
        self.edge = EdgeDistribution(
            self,
            "Edge",
            edge=config.edge,
            waf=config.network.waf,
            name_prefix=f"{config.tags.project}-{config.name}",
            images_bucket_name=data.buckets.images.bucket_name,
            key_alias=f"alias/{config.tags.project}/{config.name}/edge-logs",
            deletion_window_days=config.kms.deletion_window_days,
            removal_policy=self.stateful_removal_policy,
        )
