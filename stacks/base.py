"""What every stack of a stage shares: its environment, explicit AZs and data-protection policy."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct
from constructs.common.encrypted_log_group import log_custom_resource_providers
from constructs.common.secure_bucket import access_log_bucket

from environments.schema.stage import StageConfig


class PlatformStack(cdk.Stack):
    """A stack deployed to the stage's account and region; prod stacks are termination-protected."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StageConfig,
        description: str,
        region: str | None = None,
        cross_region_references: bool = False,
    ) -> None:
        """`region` places the stack outside the stage's region (the edge lives in us-east-1); references
        from the stage's other stacks then cross regions, which CDK writes as weak references
        (`Fn::GetStackOutput` naming the other region). A stack that reads from another region
        (`cross_region_references`) needs the same switch."""
        self.config = config
        super().__init__(
            scope,
            construct_id,
            env=cdk.Environment(account=config.account, region=region or config.region),
            termination_protection=config.is_production,
            description=description,
            cross_region_references=cross_region_references or bool(region and region != config.region),
        )

    @property
    def availability_zones(self) -> list[str]:
        """The AZs from config; overriding this is what keeps synth from looking AZs up in the account."""
        return list(self.config.availability_zones)

    @property
    def stateful_removal_policy(self) -> cdk.RemovalPolicy:
        """RETAIN unless the stage's config explicitly allows destroying data (never in prod)."""
        return cdk.RemovalPolicy.DESTROY if self.config.allow_destroy else cdk.RemovalPolicy.RETAIN

    @property
    def snapshot_removal_policy(self) -> cdk.RemovalPolicy:
        """For databases and caches: a final snapshot on delete unless the stage allows destroying data."""
        return cdk.RemovalPolicy.DESTROY if self.config.allow_destroy else cdk.RemovalPolicy.SNAPSHOT

    @property
    def deletion_protection(self) -> bool:
        """Deletion protection wherever a resource has it, unless the stage allows destroying data."""
        return not self.config.allow_destroy

    def own_access_log_bucket(self, *, versioned: bool | None = None) -> s3.Bucket:
        """The stack's own server-access-log bucket (`AccessLogs`), kept as the stage keeps its data; `versioned`
        overrides the stage's setting (a replica region's buckets are always versioned)."""
        buckets = self.config.data.buckets
        return access_log_bucket(
            self,
            "AccessLogs",
            retention_days=buckets.access_log_retention_days,
            versioned=buckets.versioned if versioned is None else versioned,
            noncurrent_version_expiration_days=buckets.noncurrent_version_expiration_days,
            removal_policy=self.stateful_removal_policy,
        )

    def log_custom_resource_providers(self, *, logs_key: kms.IKey, retention_days: int) -> None:
        """Pre-create the log groups of CDK's singleton custom-resource providers in this stack (call last)."""
        log_custom_resource_providers(
            self, encryption_key=logs_key, retention_days=retention_days, removal_policy=self.stateful_removal_policy
        )
