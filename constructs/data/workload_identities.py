"""IAM roles for the tenants' `workload` service accounts (seeds 001, 002), written statement by statement
against the data stack's resources: app workloads and GPU workers get exactly what they use.

The roles live beside the data (DataStack) so their policies name resources of the same stack; the
platform stack binds them to namespaces with Pod Identity associations, and the analytics stack grants the
app role its stream, Kafka and search (constructs/analytics/workload_access.py).
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct
from constructs.common.acknowledgments import acknowledge
from constructs.common.managed_policy_role import ManagedPolicyRole
from constructs.common.pod_identity import POD_IDENTITY_PRINCIPAL
from constructs.data.app_secrets import AppSecrets
from constructs.data.app_tables import AppTables
from constructs.data.data_buckets import DataBuckets
from constructs.data.data_keys import DataKeys
from constructs.data.graph_database import GraphDatabase
from constructs.data.messaging import Messaging
from constructs.data.postgres_database import PostgresDatabase
from constructs.data.shared_file_system import SharedFileSystem
from constructs.data.table_accelerator import DATA_ACTIONS as ACCELERATOR_ACTIONS
from constructs.data.table_accelerator import TableAccelerator
from constructs.data.time_series_database import TimeSeriesDatabase

DB_USER = "app"
"""The PostgreSQL role applications log in as through the proxy (IAM auth); created by the schema migration."""
TABLE_ACTIONS = [
    "dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query", "dynamodb:PutItem", "dynamodb:UpdateItem",
    "dynamodb:DeleteItem", "dynamodb:BatchWriteItem", "dynamodb:ConditionCheckItem", "dynamodb:DescribeTable",
]  # fmt: skip
GRAPH_ACTIONS = [
    "neptune-db:connect", "neptune-db:ReadDataViaQuery", "neptune-db:WriteDataViaQuery",
    "neptune-db:DeleteDataViaQuery", "neptune-db:GetQueryStatus", "neptune-db:CancelQuery",
]  # fmt: skip
"""Queries on the graph with IAM authentication (Neptune's data-access actions); no bulk loads or resets."""
QUEUE_ACTIONS = [
    "sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueAttributes",
    "sqs:GetQueueUrl",
]  # fmt: skip


class WorkloadRoles(Construct):
    """`app_role` and `gpu_role`, assumable only through EKS Pod Identity; `by_kind` maps "app"/"gpu" to them
    and `secrets_by_kind` to the full names of the secrets each may read (what the pods' secret volumes name)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        keys: DataKeys,
        secrets: AppSecrets,
        cache_token: secretsmanager.ISecret,
        tables: AppTables,
        buckets: DataBuckets,
        messaging: Messaging,
        database: PostgresDatabase,
        file_system: SharedFileSystem,
        graph: GraphDatabase | None = None,
        time_series: TimeSeriesDatabase | None = None,
        accelerator: TableAccelerator | None = None,
    ) -> None:
        """`graph`, `time_series`, `accelerator`: the stores the stage turns on (seed 000), which the app
        workloads query."""
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        self._stack = stack
        # Seed 001's documents, uploads and backups; seed 002's images, which the gallery and generation services
        # serve and write.
        app_buckets = [
            buckets.knowledge_documents,
            buckets.user_uploads,
            buckets.document_chunks,
            buckets.backups,
            buckets.images,
        ]
        proxy_id = cdk.Fn.select(6, cdk.Fn.split(":", database.proxy.db_proxy_arn))
        readable = {"app": list(secrets.by_name), "gpu": []}
        app = ManagedPolicyRole(
            self,
            "App",
            assumed_by=iam.SessionTagsPrincipal(iam.ServicePrincipal(POD_IDENTITY_PRINCIPAL)),
            description="Application workloads (EKS Pod Identity)",
            statements=[
                iam.PolicyStatement(
                    sid="Secrets",
                    actions=["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
                    resources=[secrets.by_name[name].secret_arn for name in readable["app"]],
                ),
                self._key_use("SecretsKey", keys.secrets.key_arn, "secretsmanager", ["kms:Decrypt"]),
                iam.PolicyStatement(
                    sid="CacheAuthToken",
                    actions=["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
                    resources=[cache_token.secret_arn],
                ),
                iam.PolicyStatement(
                    sid="Tables",
                    actions=TABLE_ACTIONS,
                    resources=[*(table.table_arn for table in tables.tables), *tables.index_arns],
                ),
                self._key_use(
                    "TablesKey",
                    keys.dynamodb.key_arn,
                    "dynamodb",
                    ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"],
                ),
                *self._bucket_statements("AppData", app_buckets, write=True),
                self._key_use("BucketsKey", keys.storage.key_arn, "s3", ["kms:Decrypt", "kms:GenerateDataKey"]),
                iam.PolicyStatement(
                    sid="Publish", actions=["sns:Publish"], resources=[t.topic_arn for t in messaging.topics.values()]
                ),
                iam.PolicyStatement(
                    sid="Consume", actions=QUEUE_ACTIONS, resources=[q.queue_arn for q in messaging.queues.values()]
                ),
                iam.PolicyStatement(
                    sid="Events", actions=["events:PutEvents"], resources=[messaging.event_bus.event_bus_arn]
                ),
                iam.PolicyStatement(
                    sid="MessagingKey",
                    actions=["kms:Decrypt", "kms:GenerateDataKey"],
                    resources=[keys.messaging.key_arn],
                ),
                iam.PolicyStatement(
                    sid="Database",
                    actions=["rds-db:connect"],
                    resources=[
                        stack.format_arn(
                            service="rds-db",
                            resource="dbuser",
                            resource_name=f"{proxy_id}/{DB_USER}",
                            arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
                        )
                    ],
                ),
            ],
        )
        self._acknowledge_objects(app, app_buckets, "Application data and images: objects under the bucket, by key.")
        # The stores a stage turns on get a policy of their own: with them the app's would pass IAM's 6,144
        # characters per managed policy.
        stores = self._store_statements(graph, time_series, accelerator)
        stores_policy = iam.ManagedPolicy(self, "AppStores", roles=[app.role], statements=stores) if stores else None
        if graph and stores_policy:
            cluster_id = stack.get_logical_id(graph.cluster)
            acknowledge(
                stores_policy,
                f"AwsSolutions-IAM5[Resource::arn:aws:neptune-db:{stack.region}:{stack.account}:"
                f"<{cluster_id}.ClusterResourceId>/*]",
                "Neptune's data actions take the cluster's resource id followed by a path into its graph; /* is "
                "this stage's one cluster's data, nothing else.",
            )
        gpu = ManagedPolicyRole(
            self,
            "Gpu",
            assumed_by=iam.SessionTagsPrincipal(iam.ServicePrincipal(POD_IDENTITY_PRINCIPAL)),
            description="GPU inference and training workers (EKS Pod Identity)",
            statements=[
                *self._bucket_statements("Models", [buckets.models], write=False),
                iam.PolicyStatement(
                    sid="WriteImages",
                    actions=["s3:PutObject", "s3:AbortMultipartUpload"],
                    resources=[buckets.images.arn_for_objects("*")],
                ),
                self._key_use("BucketsKey", keys.storage.key_arn, "s3", ["kms:Decrypt", "kms:GenerateDataKey"]),
                iam.PolicyStatement(
                    sid="SharedModels",
                    actions=["elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite"],
                    resources=[file_system.file_system.file_system_arn],
                ),
            ],
        )
        self._acknowledge_objects(gpu, [buckets.models], "Model weights: objects under the models bucket, by key.")
        self._acknowledge_objects(gpu, [buckets.images], "Generated images: objects under the images bucket, by key.")
        self.app_role = app.role
        self.gpu_role = gpu.role
        self.by_kind = {"app": self.app_role, "gpu": self.gpu_role}
        self.secrets_by_kind = {kind: [secrets.names[name] for name in names] for kind, names in readable.items()}
        if time_series:  # the app pods mount the InfluxDB API token with their other secrets
            self.secrets_by_kind["app"].append(time_series.token_secret_name)

    def _store_statements(
        self,
        graph: GraphDatabase | None,
        time_series: TimeSeriesDatabase | None,
        accelerator: TableAccelerator | None,
    ) -> list[iam.PolicyStatement]:
        statements = []
        if graph:
            statements.append(
                iam.PolicyStatement(
                    sid="Graph",
                    actions=GRAPH_ACTIONS,
                    resources=[
                        self._stack.format_arn(
                            service="neptune-db",
                            resource=graph.resource_id,
                            resource_name="*",
                            arn_format=cdk.ArnFormat.SLASH_RESOURCE_NAME,
                        )
                    ],
                )
            )
        if time_series:
            statements.append(
                iam.PolicyStatement(
                    sid="TimeSeriesToken",
                    actions=["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
                    resources=[time_series.token_secret.secret_arn],
                )
            )
        if accelerator:
            statements.append(iam.PolicyStatement(sid="Accelerator", actions=ACCELERATOR_ACTIONS,
                                                  resources=[accelerator.arn]))  # fmt: skip
        return statements

    def _key_use(self, sid: str, key_arn: str, service: str, actions: list[str]) -> iam.PolicyStatement:
        """Use of a data key, only on behalf of `service`."""
        return iam.PolicyStatement(
            sid=sid,
            actions=actions,
            resources=[key_arn],
            conditions={"StringEquals": {"kms:ViaService": f"{service}.{self._stack.region}.amazonaws.com"}},
        )

    @staticmethod
    def _bucket_statements(sid: str, buckets: list[s3.Bucket], *, write: bool) -> list[iam.PolicyStatement]:
        object_actions = ["s3:GetObject"] + (
            ["s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"] if write else []
        )
        return [
            iam.PolicyStatement(sid=f"{sid}List", actions=["s3:ListBucket"], resources=[b.bucket_arn for b in buckets]),
            iam.PolicyStatement(
                sid=f"{sid}Objects", actions=object_actions, resources=[b.arn_for_objects("*") for b in buckets]
            ),
        ]

    def _acknowledge_objects(self, role: ManagedPolicyRole, buckets: list[s3.Bucket], reason: str) -> None:
        for bucket in buckets:
            logical_id = self._stack.get_logical_id(bucket.node.default_child)  # type: ignore[arg-type]
            acknowledge(role, f"AwsSolutions-IAM5[Resource::<{logical_id}.Arn>/*]", reason)
