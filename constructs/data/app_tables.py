"""The application's DynamoDB tables (seed 001): conversations and sessions."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_kms as kms
from constructs import Construct

STRING = dynamodb.AttributeType.STRING


def protected_table_props(deletion_protection: bool, removal_policy: cdk.RemovalPolicy) -> dict[str, Any]:
    """TableV2 settings every platform table shares: on demand, point-in-time recovery, protection."""
    return {
        "billing": dynamodb.Billing.on_demand(),
        # Always on: the cost is per GB, and a 35-day restore window matters in every stage.
        "point_in_time_recovery_specification": dynamodb.PointInTimeRecoverySpecification(
            point_in_time_recovery_enabled=True
        ),
        "deletion_protection": deletion_protection,
        "removal_policy": removal_policy,
    }


class AppTables(Construct):
    """`conversations` and `sessions` (both in `tables`, their indexes' ARNs in `index_arns`): on demand,
    KMS-encrypted, point-in-time recovery, TTL.

    TableV2 (AWS::DynamoDB::GlobalTable) so a replica region can be added later without replacing data.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        encryption_key: kms.IKey,
        deletion_protection: bool,
        removal_policy: cdk.RemovalPolicy,
        replicas: Mapping[str, Mapping[str, str]] | None = None,
    ) -> None:
        """`replicas` maps a table name to {region: replica key ARN} for the tables made global tables."""
        super().__init__(scope, construct_id)
        replicas = replicas or {}

        def placement(table: str) -> dict[str, Any]:
            """Encryption (with the replicas' keys) and the replica regions of one table."""
            regions = dict(replicas.get(table, {}))
            return {
                "encryption": dynamodb.TableEncryptionV2.customer_managed_key(
                    encryption_key, replica_key_arns=regions or None
                ),
                "replicas": [
                    dynamodb.ReplicaTableProps(region=region, deletion_protection=deletion_protection)
                    for region in regions
                ]
                or None,
            }

        common = protected_table_props(deletion_protection, removal_policy)
        self.conversations = dynamodb.TableV2(
            self,
            "Conversations",
            partition_key=dynamodb.Attribute(name="userId", type=STRING),
            sort_key=dynamodb.Attribute(name="conversationId", type=STRING),
            time_to_live_attribute="ttl",
            dynamo_stream=dynamodb.StreamViewType.NEW_AND_OLD_IMAGES,
            **placement("conversations"),
            # A user's conversations newest first: createdAt (ISO 8601) sorts within the user.
            global_secondary_indexes=[
                dynamodb.GlobalSecondaryIndexPropsV2(
                    index_name="createdAt-index",
                    partition_key=dynamodb.Attribute(name="userId", type=STRING),
                    sort_key=dynamodb.Attribute(name="createdAt", type=STRING),
                )
            ],
            **common,
        )
        self.sessions = dynamodb.TableV2(
            self,
            "Sessions",
            partition_key=dynamodb.Attribute(name="sessionId", type=STRING),
            time_to_live_attribute="expiresAt",
            **placement("sessions"),
            global_secondary_indexes=[
                dynamodb.GlobalSecondaryIndexPropsV2(
                    index_name="userId-index", partition_key=dynamodb.Attribute(name="userId", type=STRING)
                )
            ],
            **common,
        )
        self.tables = [self.conversations, self.sessions]
        self._indexes = [(self.conversations, "createdAt-index"), (self.sessions, "userId-index")]
        self.index_arns = [f"{table.table_arn}/index/{index}" for table, index in self._indexes]
        self.replicated = [table for name, table in zip(("conversations", "sessions"), self.tables, strict=True)
                           if name in replicas]  # fmt: skip
        """The global tables with replicas in the secondary regions."""
        self._replicas: dict[str, dict[str, dynamodb.ITableV2]] = {}

    def replicas_in(self, region: str) -> dict[str, dynamodb.ITableV2]:
        """By table construct id (`Conversations`, `Sessions`), the replicas in `region`, a secondary region of
        the `replicated` tables (each made once)."""
        if region not in self._replicas:
            self._replicas[region] = {table.node.id: table.replica(region) for table in self.replicated}
        return self._replicas[region]

    def arns_in(self, region: str) -> list[str]:
        """The ARNs of the replicas in `region` and of their indexes."""
        replicas = self.replicas_in(region)
        return [
            *(replica.table_arn for replica in replicas.values()),
            *(f"{replicas[t.node.id].table_arn}/index/{index}" for t, index in self._indexes if t.node.id in replicas),
        ]
