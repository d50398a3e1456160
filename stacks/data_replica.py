"""The data stack's counterpart in the secondary region: what replicas there are encrypted with."""

from __future__ import annotations

from constructs import Construct
from constructs.encryption_key import EncryptionKey

from environments.schema import StageConfig
from stacks.base import PlatformStack


class DataReplicaStack(PlatformStack):
    """`replica_key`, the customer-managed key of the table replicas in this (the secondary) region."""

    def __init__(self, scope: Construct, construct_id: str, *, config: StageConfig) -> None:
        super().__init__(
            scope, construct_id, config=config, description=f"{config.name}: replica keys ({config.region})"
        )
        self.replica_key = EncryptionKey(
            self,
            "ReplicaKey",
            alias=f"alias/{config.tags.project}/{config.name}/dr-replicas",
            description=f"{config.name}: DynamoDB replicas in {config.region}",
            deletion_window_days=config.kms.deletion_window_days,
            removal_policy=self.stateful_removal_policy,
        ).key
