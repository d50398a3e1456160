"""The stage's data keys (seed 001): one shared key in dev, one key per purpose in prod."""

from __future__ import annotations

from typing import Literal

import aws_cdk as cdk
from aws_cdk import aws_kms as kms
from constructs import Construct
from constructs.common.encryption_key import EncryptionKey

KEY_PURPOSES = ("storage", "rds", "dynamodb", "messaging", "cache", "secrets", "eks", "logs")
"""Seed 001's seven prod keys plus `logs`, for the log groups of the data, platform and later stacks."""


class DataKeys(Construct):
    """Exposes one `kms.IKey` per purpose (`storage`, `rds`, ..., `logs`); with the `shared` strategy they
    are all the same key. `keys` lists the distinct keys created."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        strategy: Literal["shared", "per_service"],
        alias_prefix: str,
        deletion_window_days: int,
        removal_policy: cdk.RemovalPolicy,
    ) -> None:
        super().__init__(scope, construct_id)
        names = ("shared",) if strategy == "shared" else KEY_PURPOSES
        self.keys: dict[str, EncryptionKey] = {
            name: EncryptionKey(
                self,
                name.capitalize(),
                alias=f"{alias_prefix}/{name}",
                description=f"{alias_prefix.removeprefix('alias/')}: {name} data",
                deletion_window_days=deletion_window_days,
                removal_policy=removal_policy,
            )
            for name in names
        }
        self.keys["shared" if strategy == "shared" else "logs"].allow_cloudwatch_logs()

        self._strategy = strategy

        def key(purpose: str) -> kms.IKey:
            return self.encryption_key(purpose).key

        self.storage = key("storage")
        self.rds = key("rds")
        self.dynamodb = key("dynamodb")
        self.messaging = key("messaging")
        self.cache = key("cache")
        self.secrets = key("secrets")
        self.eks = key("eks")
        self.logs = key("logs")

    def encryption_key(self, purpose: str) -> EncryptionKey:
        """The EncryptionKey serving `purpose` (to extend its policy); the shared key under `shared`."""
        return self.keys["shared" if self._strategy == "shared" else purpose]
