"""IAM roles for the tenants' `workload` service accounts (seeds 001, 002), written statement by statement
against the data stack's resources: app workloads and GPU workers get exactly what they use.

The roles live beside the data (DataStack) so their policies name resources of the same stack; the
platform stack binds them to namespaces with Pod Identity associations, and the analytics stack grants the
app role its stream, Kafka and search (constructs/analytics/workload_access.py).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

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
APP_BUCKETS = ("knowledge_documents", "user_uploads", "document_chunks", "backups", "images")
"""The buckets the app role reads and writes, by their DataBuckets attribute (and config) names: seed 001's
documents, uploads and backups; seed 002's images, which the gallery and generation services serve and write.
A secondary region grants their replicas there by the same names."""
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
TABLE_KEY_ACTIONS = ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"]
QUEUE_ACTIONS = [
    "sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueAttributes",
    "sqs:GetQueueUrl",
]  # fmt: skip


@dataclass(frozen=True)
class WorkloadStores:
    """What the workload roles use in one region: that region's keys and messaging, and the ARNs there of the
    secrets the app reads, its cache token, its tables and their indexes, its buckets (`app_buckets`; the GPU
    workers' `models` and `images`, None where the region has no copy), its database user (None where the
    region has no database) and its shared file system (None without one)."""

    keys: DataKeys
    messaging: Messaging
    secret_arns: Sequence[str]
    cache_token_arn: str
    table_arns: Sequence[str]
    app_buckets: Sequence[s3.IBucket]
    models: s3.IBucket | None
    images: s3.IBucket | None
    database_user_arn: str | None
    file_system_arn: str | None


def app_statements(stores: WorkloadStores, region: str) -> list[iam.PolicyStatement]:
    """The application workloads' statements on `stores`, the stores of `region`."""
    keys, messaging = stores.keys, stores.messaging
    return [
        iam.PolicyStatement(
            sid="Secrets",
            actions=["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
            resources=list(stores.secret_arns),
        ),
        _key_use("SecretsKey", keys.secrets.key_arn, "secretsmanager", region, ["kms:Decrypt"]),
        iam.PolicyStatement(
            sid="CacheAuthToken",
            actions=["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
            resources=[stores.cache_token_arn],
        ),
        *(
            [
                iam.PolicyStatement(sid="Tables", actions=TABLE_ACTIONS, resources=list(stores.table_arns)),
                _key_use("TablesKey", keys.dynamodb.key_arn, "dynamodb", region, TABLE_KEY_ACTIONS),
            ]
            if stores.table_arns
            else []
        ),
        *(_bucket_statements("AppData", stores.app_buckets, write=True) if stores.app_buckets else []),
        _key_use("BucketsKey", keys.storage.key_arn, "s3", region, ["kms:Decrypt", "kms:GenerateDataKey"]),
        iam.PolicyStatement(
            sid="Publish", actions=["sns:Publish"], resources=[t.topic_arn for t in messaging.topics.values()]
        ),
        iam.PolicyStatement(
            sid="Consume", actions=QUEUE_ACTIONS, resources=[q.queue_arn for q in messaging.queues.values()]
        ),
        iam.PolicyStatement(sid="Events", actions=["events:PutEvents"], resources=[messaging.event_bus.event_bus_arn]),
        iam.PolicyStatement(
            sid="MessagingKey", actions=["kms:Decrypt", "kms:GenerateDataKey"], resources=[keys.messaging.key_arn]
        ),
        *(
            [iam.PolicyStatement(sid="Database", actions=["rds-db:connect"], resources=[stores.database_user_arn])]
            if stores.database_user_arn
            else []
        ),
    ]


def gpu_statements(stores: WorkloadStores, region: str) -> list[iam.PolicyStatement]:
    """The GPU workers' statements on `stores`, the stores of `region`: model weights read, images written."""
    return [
        *(_bucket_statements("Models", [stores.models], write=False) if stores.models else []),
        *(
            [
                iam.PolicyStatement(
                    sid="WriteImages",
                    actions=["s3:PutObject", "s3:AbortMultipartUpload"],
                    resources=[stores.images.arn_for_objects("*")],
                )
            ]
            if stores.images
            else []
        ),
        _key_use("BucketsKey", stores.keys.storage.key_arn, "s3", region, ["kms:Decrypt", "kms:GenerateDataKey"]),
        *(
            [
                iam.PolicyStatement(
                    sid="SharedModels",
                    actions=["elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite"],
                    resources=[stores.file_system_arn],
                )
            ]
            if stores.file_system_arn
            else []
        ),
    ]


class WorkloadRoles(Construct):
    """`app_role` and `gpu_role`, assumable only through EKS Pod Identity; `by_kind` maps "app"/"gpu" to them
    and `secrets_by_kind` to the full names of the secrets each may read (what the pods' secret volumes name).
    IAM is global: a secondary region's cluster binds these same roles, and RegionalWorkloadPolicies grants
    them that region's stores."""

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
        app_buckets: list[s3.Bucket] = [getattr(buckets, name) for name in APP_BUCKETS]
        proxy_id = cdk.Fn.select(6, cdk.Fn.split(":", database.proxy.db_proxy_arn))
        readable = {"app": list(secrets.by_name), "gpu": []}
        stores = WorkloadStores(
            keys=keys,
            messaging=messaging,
            secret_arns=[secrets.by_name[name].secret_arn for name in readable["app"]],
            cache_token_arn=cache_token.secret_arn,
            table_arns=[*(table.table_arn for table in tables.tables), *tables.index_arns],
            app_buckets=app_buckets,
            models=buckets.models,
            images=buckets.images,
            database_user_arn=database_user_arn(stack, f"{proxy_id}/{DB_USER}"),
            file_system_arn=file_system.file_system.file_system_arn,
        )
        app = ManagedPolicyRole(
            self,
            "App",
            assumed_by=iam.SessionTagsPrincipal(iam.ServicePrincipal(POD_IDENTITY_PRINCIPAL)),
            description="Application workloads (EKS Pod Identity)",
            statements=app_statements(stores, stack.region),
        )
        self._acknowledge_objects(app, app_buckets, "Application data and images: objects under the bucket, by key.")
        # The stores a stage turns on get a policy of their own: with them the app's would pass IAM's 6,144
        # characters per managed policy.
        store_statements = self._store_statements(graph, time_series, accelerator)
        stores_policy = (
            iam.ManagedPolicy(self, "AppStores", roles=[app.role], statements=store_statements)
            if store_statements
            else None
        )
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
            statements=gpu_statements(stores, stack.region),
        )
        self._acknowledge_objects(gpu, [buckets.models], "Model weights: objects under the models bucket, by key.")
        self._acknowledge_objects(gpu, [buckets.images], "Generated images: objects under the images bucket, by key.")
        self.app_role = app.role
        self.gpu_role = gpu.role
        self.by_kind = {"app": self.app_role, "gpu": self.gpu_role}
        self.secrets_by_kind = {kind: [secrets.names[name] for name in names] for kind, names in readable.items()}
        self.replicated_secrets_by_kind = {kind: list(names) for kind, names in self.secrets_by_kind.items()}
        """What a secondary region's pods mount: the same secrets, through their replicas there (the stores
        that are not replicated, such as InfluxDB, are not in a secondary region, nor are their secrets)."""
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

    def _acknowledge_objects(self, role: ManagedPolicyRole, buckets: list[s3.Bucket], reason: str) -> None:
        for bucket in buckets:
            logical_id = self._stack.get_logical_id(bucket.node.default_child)  # type: ignore[arg-type]
            acknowledge(role, f"AwsSolutions-IAM5[Resource::<{logical_id}.Arn>/*]", reason)


def database_user_arn(stack: cdk.Stack, resource: str) -> str:
    """rds-db:connect's resource for DB_USER on `resource` (a proxy's or cluster's resource id and the user)."""
    return stack.format_arn(
        service="rds-db", resource="dbuser", resource_name=resource, arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME
    )


def _key_use(sid: str, key_arn: str, service: str, region: str, actions: list[str]) -> iam.PolicyStatement:
    """Use of a data key, only on behalf of `service` in `region`."""
    return iam.PolicyStatement(
        sid=sid,
        actions=actions,
        resources=[key_arn],
        conditions={"StringEquals": {"kms:ViaService": f"{service}.{region}.amazonaws.com"}},
    )


def _bucket_statements(sid: str, buckets: Sequence[s3.IBucket], *, write: bool) -> list[iam.PolicyStatement]:
    object_actions = ["s3:GetObject"] + (
        ["s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"] if write else []
    )
    return [
        iam.PolicyStatement(sid=f"{sid}List", actions=["s3:ListBucket"], resources=[b.bucket_arn for b in buckets]),
        iam.PolicyStatement(
            sid=f"{sid}Objects", actions=object_actions, resources=[b.arn_for_objects("*") for b in buckets]
        ),
    ]


class RegionalWorkloadPolicies(Construct):
    """The workload roles' access to a secondary region's stores: one managed policy per role (`app`, `gpu`)
    with the statements WorkloadRoles gives them in the primary region, over `stores` (this region's), attached
    to the roles themselves (`roles` by kind, made once in the primary region: IAM is global)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        roles: Mapping[str, iam.IRole],
        stores: WorkloadStores,
    ) -> None:
        """`stores`: secrets and buckets by ARNs the template writes out (the replicas' fixed names), which the
        acknowledgments name as cdk-nag prints them."""
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        self.app = iam.ManagedPolicy(self, "App", roles=[roles["app"]], statements=app_statements(stores, stack.region))
        self.gpu = iam.ManagedPolicy(self, "Gpu", roles=[roles["gpu"]], statements=gpu_statements(stores, stack.region))
        replica_names = (
            "Secrets Manager names a replica as its primary: the name and the same six random characters, which "
            "-?????? stands for; these are exactly the app's secrets."
        )
        for arn in stores.secret_arns:
            acknowledge(self.app, f"AwsSolutions-IAM5[Resource::{stack.resolve(arn)}]", replica_names)
        gpu_buckets = [bucket for bucket in (stores.models, stores.images) if bucket]
        for policy, buckets in ((self.app, stores.app_buckets), (self.gpu, gpu_buckets)):
            for bucket in buckets:
                acknowledge(
                    policy,
                    f"AwsSolutions-IAM5[Resource::{stack.resolve(bucket.arn_for_objects('*'))}]",
                    "A replica bucket's objects, by key, as in the primary region.",
                )


def replica_secret_arn(stack: cdk.Stack, name: str) -> str:
    """The ARN of the replica in `stack`'s region of the secret `name`: its name and six random characters."""
    return stack.format_arn(
        service="secretsmanager",
        resource="secret",
        resource_name=f"{name}-??????",
        arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
    )


def replica_secret_complete_arn(stack: cdk.Stack, replica_name: cdk.CfnOutput) -> str:
    """The complete ARN of a secret's replica in `stack`'s region (ECS's task secrets take no wildcard), from the
    output in the primary's stack holding its name and random suffix (AppSecrets.replica_names)."""
    producer = cdk.Stack.of(replica_name)
    suffixed_name = cdk.Fn.get_stack_output(
        stack_name=producer.stack_name, output_name=producer.resolve(replica_name.logical_id), region=producer.region
    )
    return stack.format_arn(
        service="secretsmanager",
        resource="secret",
        resource_name=suffixed_name,
        arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
    )
