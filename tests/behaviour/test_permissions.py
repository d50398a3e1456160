"""It works once deployed, contract 2: permissions. On the model tests/behaviour/permissions.py builds from each
stage's templates (every region):

- flows: every data flow the seeds describe, as (principal, actions, resource), is allowed: the principal's
  identity policies allow it (or the resource policy names it), no resource policy or identity policy denies it,
  and the key the resource is encrypted with lets the principal (or the service acting for it) use it; and what
  must stay denied is (Karpenter on what its tags do not mark, a workload on another's data);
- least privilege, the other way round: no principal may change anything on `*` unless a condition scopes it to
  the cluster or the stage, or the action takes no resource; no role trusts a whole account where a named
  principal would do; service principals on queues, topics, keys and buckets carry their source;
- acknowledgments: a reason that claims a property of what it excuses (tag-conditioned, read-only, no resource-
  level permissions, scoped, a non-production stage) is true of it.

Each contract is also run on templates broken on purpose, and must name the break.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from constructs.compute.karpenter import NAMESPACE as KARPENTER_NAMESPACE
from constructs.compute.karpenter import SERVICE_ACCOUNT as KARPENTER_SERVICE_ACCOUNT
from constructs.compute.tenancy import WORKLOAD_SERVICE_ACCOUNT
from constructs.data.workload_identities import DB_USER

from environments.schema.base import PRODUCTION_STAGE
from environments.schema.compute import GPU_BURST_POOL
from environments.schema.regions import images_failover_region
from environments.schema.stage import StageConfig
from tests.behaviour.permissions import (
    OBJECT,
    Acknowledgment,
    Caller,
    PermissionModel,
    Principal,
    Service,
    Statement,
    Target,
    dig,
    glob_match,
    has_no_resource_level,
    in_any_region,
    is_mutating,
    listed,
)
from tests.behaviour.reachability import ModelError, ResourceId
from tests.behaviour.templates import StackTemplate, copied, stage_stacks
from tests.behaviour.traffic import origin_bucket
from tests.stage_files import REPO_ROOT
from tests.synthesis import SynthesizedPlatform

Callers = Callable[[PermissionModel, StageConfig], list[Caller]]
Targets = Callable[[PermissionModel, StageConfig], list[Target]]
UPSTREAM_POLICIES = REPO_ROOT / "constructs" / "compute" / "policies"
"""Upstream IAM policies the platform vendors as published (what upstream leaves unscoped is upstream's call)."""


# --- principals, by what they are -----------------------------------------------------------------------


def workload(kind: str) -> Callers:
    """The role Pod Identity gives the `workload` account of every namespace whose workload role is `kind`."""

    def find(model: PermissionModel, config: StageConfig) -> list[Caller]:
        namespaces = [n.name for n in config.platform.namespaces if n.workload_role == kind]
        found = {p.id: p for n in namespaces for p in model.pod_identity(n, WORKLOAD_SERVICE_ACCOUNT)}
        return list(found.values())

    return find


def role_of(resource_type: str, *properties: str, path: str | None = None) -> Callers:
    """The roles `resource_type` resources name in `properties` (dotted), those under construct `path` (in any
    region) only."""

    def find(model: PermissionModel, config: StageConfig) -> list[Caller]:
        return roles_named(model, resource_type, properties, path)

    return find


def roles_named(
    model: PermissionModel, resource_type: str, properties: Sequence[str], path: str | None
) -> list[Caller]:
    found: dict[ResourceId, Caller] = {}
    for rid, props in model.symbols.each(resource_type):
        if path and not in_any_region(model.symbols.path(rid)).startswith(path):
            continue
        for value in (dig(props, dotted) for dotted in properties):
            if value is not None:
                principal = model.principal(rid.stack, value)
                found[principal.id] = principal
    return list(found.values())


def peering_function(construct: str) -> Callable[[PermissionModel, Target], Caller]:
    """The role of the accepting stack's function `construct` for a peering attachment: each pair of regions
    has its own accepter (`peering-accept-<pair>`), which must manage that pair's attachment."""

    def caller(model: PermissionModel, target: Target) -> Caller:
        pair = model.symbols.path(target.id).split("/", 1)[0].removeprefix("peering-")
        path = f"peering-accept-{pair}/Acceptance/{construct}/"
        (role,) = roles_named(model, "AWS::Lambda::Function", ("Role",), path)
        return role

    return caller


def fed_by(source: Targets) -> Callers:
    """The roles of the Lambda functions an event source mapping feeds from `source`."""

    def find(model: PermissionModel, config: StageConfig) -> list[Caller]:
        sources = {t.id for t in source(model, config)}
        found: list[Caller] = []
        for rid, props in model.symbols.each("AWS::Lambda::EventSourceMapping"):
            if model.symbols.identity(rid.stack, props["EventSourceArn"]) in sources:
                function = model.symbols.identity(rid.stack, props["FunctionName"])
                assert function is not None
                found.append(model.principal(function.stack, model.symbols.properties(function)["Role"]))
        return found

    return find


def rotation(model: PermissionModel, config: StageConfig) -> list[Caller]:
    """The hosted applications rotation schedules name as their function."""
    found: list[Caller] = []
    for rid, props in model.symbols.each("AWS::SecretsManager::RotationSchedule"):
        application = model.symbols.target(rid.stack, props["RotationLambdaARN"])
        if application and application[0] in model.principals:
            found.append(model.principals[application[0]])
    return found


def pod_identity(namespace: str, service_account: str) -> Callers:
    """The roles Pod Identity associations give `namespace`/`service_account`."""

    def find(model: PermissionModel, config: StageConfig) -> list[Caller]:
        return list(model.pod_identity(namespace, service_account))

    return find


def service(name: str, source: Targets) -> Callers:
    """An AWS service acting for each `source` resource (its ARN as aws:SourceArn)."""

    def find(model: PermissionModel, config: StageConfig) -> list[Caller]:
        return [Service(name, t.arn, model.symbols.stacks[t.id.stack].account) for t in source(model, config)]

    return find


# --- resources, by identity -------------------------------------------------------------------------------


def at(*paths: str, suffix: str = "") -> Targets:
    """The resources at these construct paths (without the stage), in every region that builds them; the request
    names `ARN + suffix`."""

    def find(model: PermissionModel, config: StageConfig) -> list[Target]:
        return [
            Target(rid, model.symbols.arn(rid) + suffix) for path in paths for rid in model.at(path, every_region=True)
        ]

    return find


def at_once(*selectors: Targets) -> Targets:
    """What each of `selectors` finds."""

    def find(model: PermissionModel, config: StageConfig) -> list[Target]:
        return [target for select in selectors for target in select(model, config)]

    return find


def objects(*paths: str) -> Targets:
    """Any object in each of these buckets."""
    return at(*paths, suffix=f"/{OBJECT}")


def under(path: str, resource_type: str) -> Targets:
    """Every `resource_type` resource under construct `path`."""

    def find(model: PermissionModel, config: StageConfig) -> list[Target]:
        return [
            Target(rid, model.symbols.arn(rid))
            for rid, _ in model.symbols.each(resource_type)
            if model.symbols.path(rid).startswith(f"{path}/")
        ]

    return find


def indexes(path: str) -> Targets:
    """Each global secondary index of each table under `path`."""

    def find(model: PermissionModel, config: StageConfig) -> list[Target]:
        tables = under(path, "AWS::DynamoDB::GlobalTable")(model, config) + under(path, "AWS::DynamoDB::Table")(
            model, config
        )
        return [
            Target(t.id, f"{t.arn}/index/{index['IndexName']}")
            for t in tables
            for index in model.symbols.properties(t.id).get("GlobalSecondaryIndexes", [])
        ]

    return find


def kafka(part: str) -> Targets:
    """The Kafka cluster (`cluster`), any topic of it (`topic`) or any consumer group of it (`group`)."""

    def find(model: PermissionModel, config: StageConfig) -> list[Target]:
        clusters = [rid for rid, _ in model.symbols.each("AWS::MSK::Cluster", "AWS::MSK::ServerlessCluster")]
        arns = {rid: model.symbols.arn(rid) for rid in clusters}
        if part == "cluster":
            return [Target(rid, arn) for rid, arn in arns.items()]
        return [Target(rid, arn.replace(":cluster/", f":{part}/") + f"/{OBJECT}") for rid, arn in arns.items()]

    return find


def subscribed_queues(model: PermissionModel, config: StageConfig) -> list[Target]:
    return [
        Target(queue, model.symbols.arn(queue))
        for rid, props in model.symbols.each("AWS::SNS::Subscription")
        if props.get("Protocol") == "sqs" and (queue := model.symbols.identity(rid.stack, props["Endpoint"]))
    ]


def topic_of(queue: Target, model: PermissionModel) -> str:
    """The ARN of the topic subscribed to `queue`."""
    for rid, props in model.symbols.each("AWS::SNS::Subscription"):
        if model.symbols.identity(rid.stack, props["Endpoint"]) == queue.id:
            return model.symbols.text(rid.stack, props["TopicArn"])
    raise AssertionError(f"no subscription delivers to {queue.arn}")


def replicas(kind: str) -> Targets:
    """Buckets that replicate (`source`, their objects `source-objects`) or the replicas' objects (`replica`)."""

    def find(model: PermissionModel, config: StageConfig) -> list[Target]:
        found = []
        for rid, props in model.symbols.each("AWS::S3::Bucket"):
            rules = props.get("ReplicationConfiguration", {}).get("Rules", [])
            if kind == "source" and rules:
                found.append(Target(rid, model.symbols.arn(rid)))
            elif kind == "source-objects" and rules:
                found.append(Target(rid, f"{model.symbols.arn(rid)}/{OBJECT}"))
            for rule in rules if kind == "replica" else []:
                destination = model.symbols.text(rid.stack, rule["Destination"]["Bucket"])
                buckets = [b for b, _ in model.symbols.each("AWS::S3::Bucket") if model.symbols.arn(b) == destination]
                if not buckets:
                    raise ModelError(f"{rid} replicates to {destination}, which no template of the stage holds")
                found += [Target(b, f"{destination}/{OBJECT}") for b in buckets]
        return found

    return find


def glue_catalog(model: PermissionModel, config: StageConfig) -> list[Target]:
    """The catalog, each Glue database and any table in it."""
    found = []
    for rid, _ in model.symbols.each("AWS::Glue::Database"):
        stack = model.symbols.stacks[rid.stack]
        name = model.symbols.name(rid)
        prefix = f"arn:aws:glue:{stack.region}:{stack.account}"
        found += [Target(rid, f"{prefix}:catalog"), Target(rid, f"{prefix}:database/{name}"),
                  Target(rid, f"{prefix}:table/{name}/{OBJECT}")]  # fmt: skip
    return found


def peering_attachment(model: PermissionModel, config: StageConfig) -> list[Target]:
    """Each Transit Gateway peering attachment, as its accepter's region names it."""
    return [
        Target(rid, f"arn:aws:ec2:{props['PeerRegion']}:{model.symbols.stacks[rid.stack].account}:"
                    f"transit-gateway-attachment/{model.symbols.text(rid.stack, {'Ref': rid.logical_id})}")
        for rid, props in model.symbols.each("AWS::EC2::TransitGatewayPeeringAttachment")
    ]  # fmt: skip


def unscoped(resources: Targets) -> Targets:
    """Each of `resources`, as a request for an action that takes no resource names it: `*`."""

    def find(model: PermissionModel, config: StageConfig) -> list[Target]:
        return [Target(t.id, "*") for t in resources(model, config)]

    return find


def secrets_granted(principals: Callers) -> Targets:
    """Every secret the principals' identity policies grant GetSecretValue on (none: the flow fails)."""

    def find(model: PermissionModel, config: StageConfig) -> list[Target]:
        granted = [
            s
            for p in principals(model, config)
            if isinstance(p, Principal)
            for s in p.identity
            if s.allows and s.covers_action("secretsmanager:GetSecretValue")
        ]
        secrets = [Target(rid, model.symbols.arn(rid)) for rid, _ in model.symbols.each("AWS::SecretsManager::Secret")]
        return [t for t in secrets if any(s.covers_resource(t.arn) for s in granted)]

    return find


def runtime(shape: str, tags: Callable[[StageConfig], Mapping[str, str]] = lambda config: {}) -> Targets:
    """What the cluster's controllers create or use at run time (`shape`, with {region} and {account}), owned by
    the cluster, with the tags it carries."""

    def find(model: PermissionModel, config: StageConfig) -> list[Target]:
        return [
            Target(
                rid, shape.format(region=stack.region, account=stack.account) + OBJECT, tags(regional(config, stack))
            )
            for rid, _ in model.symbols.each("AWS::EKS::Cluster")
            if (stack := model.symbols.stacks[rid.stack])
        ]

    return find


def regional(config: StageConfig, stack: Any) -> StageConfig:
    """The stage as seen from `stack`'s region (its cluster's name, its CIDR)."""
    return next((config.in_region(r) for r in config.secondaries if r.region == stack.region), config)


def karpenter_tags(config: StageConfig, *, pool: bool = True) -> dict[str, str]:
    """The tags Karpenter puts on what it launches for a NodePool (without `pool`: what a managed node group's
    instance carries)."""
    name = config.cluster_name
    return {f"kubernetes.io/cluster/{name}": "owned", "eks:eks-cluster-name": name,
            **({"karpenter.sh/nodepool": GPU_BURST_POOL} if pool else {})}  # fmt: skip


def profile_tags(config: StageConfig) -> dict[str, str]:
    """The tags Karpenter puts on an instance profile it creates for an EC2NodeClass."""
    name = config.cluster_name
    return {f"kubernetes.io/cluster/{name}": "owned", "eks:eks-cluster-name": name,
            "karpenter.k8s.aws/ec2nodeclass": GPU_BURST_POOL,
            "topology.kubernetes.io/region": config.region}  # fmt: skip


def requesting(tags: Callable[[StageConfig], Mapping[str, str]]) -> Callable[[StageConfig], dict[str, Any]]:
    """A request that tags what it creates with `tags`."""

    def context(config: StageConfig) -> dict[str, Any]:
        found = tags(config)
        return {**{f"aws:RequestTag/{k}": v for k, v in found.items()}, "aws:TagKeys": list(found)}

    return context


# --- the flows --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Flow:
    name: str
    principals: Callers
    actions: tuple[str, ...]
    resources: Targets
    seed: str
    enabled: Callable[[StageConfig], bool] = lambda config: True
    """Whether the stage's config builds the resource (off: the row skips)."""
    caller_for: Callable[[PermissionModel, Target], Caller] | None = None
    """The one caller of each resource, where it depends on the resource (the topic that delivers to a queue)."""
    context: Callable[[StageConfig], Mapping[str, str | Sequence[str]]] | None = None
    """What the request carries besides TLS and its caller: request tags, the service a role is passed to."""
    context_for: Callable[[PermissionModel, Target], Mapping[str, str | Sequence[str]]] | None = None
    """What the request carries that the templates decide (the guardrail a Bedrock invocation names)."""


DECRYPT, ENCRYPT = ("kms:Decrypt",), ("kms:GenerateDataKey",)
TABLE_ITEMS = ("dynamodb:GetItem", "dynamodb:Query", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem",
               "dynamodb:BatchWriteItem")  # fmt: skip
KEY_USE: dict[str, tuple[str, ...]] = {
    **dict.fromkeys(("s3:GetObject", "s3:GetObjectVersionForReplication", "sqs:ReceiveMessage", "kinesis:GetRecords",
                     "secretsmanager:GetSecretValue", *TABLE_ITEMS), DECRYPT),
    **dict.fromkeys(("s3:PutObject", "kinesis:PutRecord", "kinesis:PutRecords", "secretsmanager:PutSecretValue"),
                    ENCRYPT),
    **dict.fromkeys(("sqs:SendMessage", "sns:Publish"), (*ENCRYPT, *DECRYPT)),
    "s3:ReplicateObject": ("kms:Encrypt",),
}  # fmt: skip
"""The KMS calls the service makes with the caller's credentials when it reads or writes data encrypted with a
customer-managed key (each service's encryption-at-rest guide; DynamoDB decrypts its table key for any item
call)."""
KEY_USED_BY_SERVICE = {
    "events:PutEvents": ("events.amazonaws.com", (*ENCRYPT, *DECRYPT), "kms:EncryptionContext:aws:events:event-bus:arn")
}
"""Where the service uses the key on its own behalf instead, with the resource as source and encryption context
(a bus encrypted with a customer key: EventBridge, per its key-policy guide)."""
REQUEST_CONTEXT = {"elasticfilesystem": {"elasticfilesystem:AccessedViaMountTarget": "true"}}
"""What a service adds to every request of the flows (pods mount the file system through a mount target)."""

OBJECT_READ_WRITE = ("s3:GetObject", "s3:PutObject", "s3:DeleteObject")
QUEUE_CONSUMER = ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueAttributes")
STREAM_READER = ("kinesis:DescribeStream", "kinesis:GetShardIterator", "kinesis:GetRecords", "kinesis:ListShards")
SECRET_READER = ("secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret")
APP_DATA = ("data/Buckets/KnowledgeDocuments/Bucket", "data/Buckets/DocumentChunks/Bucket",
            "data/Buckets/UserUploads/Bucket", "data/Buckets/Backups/Bucket")  # fmt: skip
IMAGES, MODELS = "data/Buckets/Images/Bucket", "data/Buckets/Models/Bucket"
LAKE = ("analytics/Lake/Raw/Bucket", "analytics/Lake/Processed/Bucket", "analytics/Lake/Curated/Bucket")
APP, GPU = workload("app"), workload("gpu")
GLUE = role_of("AWS::Glue::Job", "Role")
DAX = role_of("AWS::DAX::Cluster", "IAMRoleARN")
INFLUXDB = service("timestream-influxdb.amazonaws.com", at("data/TimeSeries/Instance"))
GRAPH_QUERIES = ("neptune-db:connect", "neptune-db:ReadDataViaQuery", "neptune-db:WriteDataViaQuery",
                 "neptune-db:DeleteDataViaQuery")  # fmt: skip
DAX_ITEMS = ("dax:GetItem", "dax:BatchGetItem", "dax:Query", "dax:PutItem", "dax:UpdateItem", "dax:DeleteItem",
             "dax:BatchWriteItem")  # fmt: skip
TASKS = role_of("AWS::ECS::TaskDefinition", "TaskRoleArn")
PROXY = role_of("AWS::RDS::DBProxy", "RoleArn")
FIREHOSE_SOURCE = role_of("AWS::KinesisFirehose::DeliveryStream", "KinesisStreamSourceConfiguration.RoleARN")
FIREHOSE_DESTINATION = role_of("AWS::KinesisFirehose::DeliveryStream", "ExtendedS3DestinationConfiguration.RoleARN")
REPLICATION = role_of("AWS::S3::Bucket", "ReplicationConfiguration.Role")
FLINK = role_of("AWS::KinesisAnalyticsV2::Application", "ServiceExecutionRole")
KAFKA_CONSUMER = role_of("AWS::Lambda::Function", "Role", path="analytics/KafkaConsumer/")
SEARCH_DELIVERY_ROLE = "AmazonopensearchserviceDestinationConfiguration.RoleARN"
LOG_DELIVERY = role_of("AWS::KinesisFirehose::DeliveryStream", SEARCH_DELIVERY_ROLE)
METRIC_STREAM = role_of("AWS::CloudWatch::MetricStream", "RoleArn")
METRICS_DELIVERY = role_of(
    "AWS::KinesisFirehose::DeliveryStream", "ExtendedS3DestinationConfiguration.RoleARN", path="analytics/MetricStream/"
)
ACCEPTER, WAITER = (peering_function(construct) for construct in ("Accept", "WaitUntilAvailable"))
CLOUDFRONT = service("cloudfront.amazonaws.com", at("edge/Edge/Distribution"))
KARPENTER = pod_identity(KARPENTER_NAMESPACE, KARPENTER_SERVICE_ACCOUNT)
LAUNCH = ("ec2:RunInstances", "ec2:CreateFleet")
CREATED = at_once(*(runtime(f"arn:aws:ec2:{{region}}:{{account}}:{kind}/")
                    for kind in ("instance", "volume", "network-interface", "fleet")))  # fmt: skip
INSTANCES = runtime("arn:aws:ec2:{region}:{account}:instance/", karpenter_tags)
REFERENCED = at_once(runtime("arn:aws:ec2:{region}:{account}:subnet/"),
                     runtime("arn:aws:ec2:{region}:{account}:security-group/"),
                     runtime("arn:aws:ec2:{region}::image/"))  # fmt: skip
STREAM = at("analytics/Streaming/Stream")
PROCESSOR = fed_by(STREAM)
ACTION_REQUESTS = at("data/Messaging/ActionRequestsQueue")
MASTER_SECRET = at("data/Postgres/MasterSecret")
APP_SECRETS = under("data/Secrets", "AWS::SecretsManager::Secret")
TABLES = under("data/Tables", "AWS::DynamoDB::GlobalTable")
TOPICS = under("data/Messaging", "AWS::SNS::Topic")
DOMAIN_PATHS = at("analytics/Search/Domain", suffix=f"/{OBJECT}")
ROTATION_ACTIONS = ("secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue",
                    "secretsmanager:PutSecretValue", "secretsmanager:UpdateSecretVersionStage")  # fmt: skip
STREAM_PRODUCER = ("kinesis:PutRecord", "kinesis:PutRecords", "kinesis:ListShards", "kinesis:DescribeStreamSummary")
KAFKA_CLUSTER = ("kafka-cluster:Connect", "kafka-cluster:DescribeCluster", "kafka-cluster:WriteDataIdempotently")
KAFKA_TOPICS = ("kafka-cluster:DescribeTopic", "kafka-cluster:CreateTopic", "kafka-cluster:WriteData",
                "kafka-cluster:ReadData")  # fmt: skip
KAFKA_GROUPS = ("kafka-cluster:DescribeGroup", "kafka-cluster:AlterGroup")
SEARCH_HTTP = ("es:ESHttpGet", "es:ESHttpHead", "es:ESHttpPost", "es:ESHttpPut")
CATALOG = ("glue:GetDatabase", "glue:GetTable", "glue:CreateTable", "glue:UpdateTable", "glue:BatchCreatePartition")


def graph_data(model: PermissionModel, config: StageConfig) -> list[Target]:
    """Any data of each Neptune cluster, as `neptune-db:` actions name it (the cluster's resource id, a path)."""
    found = []
    for rid, _ in model.symbols.each("AWS::Neptune::DBCluster"):
        stack = model.symbols.stacks[rid.stack]
        resource_id = model.symbols.text(rid.stack, {"Fn::GetAtt": [rid.logical_id, "ClusterResourceId"]})
        found.append(Target(rid, f"arn:aws:neptune-db:{stack.region}:{stack.account}:{resource_id}/{OBJECT}"))
    return found


def with_graph(config: StageConfig) -> bool:
    return config.data.graph.mode != "off"


def with_time_series(config: StageConfig) -> bool:
    return config.data.time_series.enabled


def with_accelerator(config: StageConfig) -> bool:
    return config.data.accelerator.enabled


def proxy_users(model: PermissionModel, config: StageConfig) -> list[Target]:
    """The database user applications log in as through each RDS Proxy (`rds-db:connect` names it)."""
    return [
        Target(
            rid, model.symbols.arn(rid).replace(":rds:", ":rds-db:").replace(":db-proxy:", ":dbuser:") + f"/{DB_USER}"
        )
        for rid, _ in model.symbols.each("AWS::RDS::DBProxy")
    ]


def table_replicas(model: PermissionModel, config: StageConfig) -> list[Target]:
    """Each global table's replica in every other region of its Replicas, by the ARN a request there names."""
    found = []
    for rid, props in model.symbols.each("AWS::DynamoDB::GlobalTable"):
        home = model.symbols.stacks[rid.stack].region
        arn = model.symbols.arn(rid)
        found += [
            Target(rid, arn.replace(f":{home}:", f":{replica['Region']}:"), region=replica["Region"])
            for replica in props.get("Replicas", [])
            if replica["Region"] != home
        ]
    return found


def secondary_database_users(model: PermissionModel, config: StageConfig) -> list[Target]:
    """The database user on each global-database secondary cluster: no proxy there, IAM authentication to the
    cluster itself (its resource id names it)."""
    found = []
    for rid, props in model.symbols.each("AWS::RDS::DBCluster"):
        stack = model.symbols.stacks[rid.stack]
        if "GlobalClusterIdentifier" in props and stack.region != config.region:
            resource_id = model.symbols.text(rid.stack, {"Fn::GetAtt": [rid.logical_id, "DBClusterResourceId"]})
            found.append(Target(rid, f"arn:aws:rds-db:{stack.region}:{stack.account}:dbuser:{resource_id}/{DB_USER}"))
    return found


def topic_delivery(model: PermissionModel, queue: Target) -> Caller:
    """SNS, delivering for the topic subscribed to `queue`."""
    return Service("sns.amazonaws.com", topic_of(queue, model), model.symbols.stacks[queue.id.stack].account)


def with_kafka(config: StageConfig) -> bool:
    return config.analytics.msk.mode != "off"


def with_flink(config: StageConfig) -> bool:
    return config.analytics.stream_processing.flink.enabled


def with_kafka_consumer(config: StageConfig) -> bool:
    return config.analytics.stream_processing.kafka_consumer.enabled and with_kafka(config)


def with_log_delivery(config: StageConfig) -> bool:
    return config.analytics.stream_processing.log_delivery.enabled


def with_metric_stream(config: StageConfig) -> bool:
    return config.analytics.stream_processing.metric_stream.enabled


def with_secondaries(config: StageConfig) -> bool:
    return bool(config.secondaries)


def with_active_secondaries(config: StageConfig) -> bool:
    """Whether a secondary region runs a lake (analytics runs in every active region)."""
    return any(region.role == "active" for region in config.secondaries)


def with_replicas(config: StageConfig) -> bool:
    return bool(config.secondaries and config.recovery.replicate_buckets)


def with_edge(config: StageConfig) -> bool:
    return config.edge.enabled


def with_images_failover(config: StageConfig) -> bool:
    return images_failover_region(config) is not None


def origin_buckets(model: PermissionModel, config: StageConfig) -> list[Target]:
    """Any object of each bucket a distribution's S3 origins read, as their domain names name them: the images
    bucket and, where the images path fails over, the replica its origin group falls back to."""
    stacks = list(model.symbols.stacks.values())
    found: dict[ResourceId, Target] = {}
    for rid, props in model.symbols.each("AWS::CloudFront::Distribution"):
        for origin in props["DistributionConfig"].get("Origins", []):
            if "S3OriginConfig" not in origin:
                continue
            bucket = origin_bucket(model.symbols.stacks[rid.stack], origin, stacks)
            if bucket is None:
                raise ModelError(f"{rid}: its S3 origin {origin.get('Id')} reads no bucket of the stage")
            named = ResourceId(bucket[0].name, bucket[1])
            found[named] = Target(named, f"{model.symbols.arn(named)}/{OBJECT}")
    return list(found.values())


def with_dr(config: StageConfig) -> bool:
    return bool(config.secondaries)


def no_principal(model: PermissionModel, config: StageConfig) -> list[Caller]:
    return []


RAW, PROCESSED, CURATED = LAKE
OBJECT_WRITE = ("s3:PutObject",)


def secrets_named(task: str) -> Targets:
    """The secrets the ECS task definition under platform/Jobs/<task>Task (in every region) names in its
    containers' `Secrets`: a secret of the templates, or its replica in the task's region by complete ARN."""

    def find(model: PermissionModel, config: StageConfig) -> list[Target]:
        found: dict[tuple[ResourceId, str], Target] = {}
        for rid, props in model.symbols.each("AWS::ECS::TaskDefinition"):
            if not in_any_region(model.symbols.path(rid)).startswith(f"platform/Jobs/{task}Task"):
                continue
            region = model.symbols.stacks[rid.stack].region
            for container in props.get("ContainerDefinitions", []):
                for secret in container.get("Secrets", []):
                    named = model.symbols.identity(rid.stack, secret["ValueFrom"])
                    if named is not None:
                        found[named, region] = Target(named, model.symbols.arn(named))
                    elif replica := replica_named(model, model.symbols.text(rid.stack, secret["ValueFrom"]), region):
                        found[replica.id, region] = replica
        return list(found.values())

    return find


def replica_named(model: PermissionModel, arn: str, region: str) -> Target | None:
    """The replica in `region` of the templates' secret whose ARN there is `arn` (the primary's, in that region)."""
    for rid, props in model.symbols.each("AWS::SecretsManager::Secret"):
        home = model.symbols.stacks[rid.stack].region
        replicated = {model.symbols.text(rid.stack, r["Region"]) for r in props.get("ReplicaRegions", [])}
        if region in replicated and model.symbols.arn(rid).replace(f":{home}:", f":{region}:", 1) == arn:
            return Target(rid, arn, region=region)
    return None


def objects_under(path: str, prefix: str) -> Targets:
    """Any object under `prefix` in the bucket at `path`."""
    return at(path, suffix=f"/{prefix}{OBJECT}")


def glue_job_role(job: str) -> Callers:
    """The role of the Glue job `job` (its construct is `<job>Role`)."""
    return role_of("AWS::Glue::Job", "Role", path=f"analytics/Glue/{job}")


def ecs_task_flows(task: str) -> list[Flow]:
    """The ECS task's role reads (and, where its config writes, writes) the lake zones the config names; its
    execution role reads the secrets the task names (ECS injects them as it starts the container)."""
    role = role_of("AWS::ECS::TaskDefinition", "TaskRoleArn", path=f"platform/Jobs/{task}Task")
    execution = role_of("AWS::ECS::TaskDefinition", "ExecutionRoleArn", path=f"platform/Jobs/{task}Task")
    name = "-".join(part.lower() for part in re.findall(r"[A-Z][a-z]*", task))

    def zones(kind: str) -> Targets:
        def find(model: PermissionModel, config: StageConfig) -> list[Target]:
            (spec,) = [t for t in config.platform.ecs_tasks if t.name == name]
            used = getattr(spec, kind) if kind == "writes" else (*spec.reads, *spec.writes)
            return objects(*(ZONE_PATHS[zone] for zone in used))(model, config)

        return find

    return [
        Flow(f"the {name} task reads its lake zones", role, ("s3:GetObject",), zones("reads"),
             "seed 003: data processing and Spark tasks (S3 access)"),
        Flow(f"the {name} task writes its lake zones", role, OBJECT_WRITE, zones("writes"),
             "seed 003: data processing and Spark tasks (S3 access)"),
        Flow(f"the {name} task's execution role reads the secrets it names", execution, SECRET_READER,
             secrets_named(task), "seed 003: Secrets Manager credentials for the tasks",
             enabled=lambda config: any(t.name == name and t.secrets for t in config.platform.ecs_tasks)),
    ]  # fmt: skip


ZONE_PATHS = dict(zip(("raw", "processed", "curated"), LAKE, strict=True))

GUARDRAIL = "ai/Bedrock/Guardrail"
BEDROCK_INVOKE = ("bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream")
UNCONFIGURED_MODEL = "anthropic.claude-3-opus-20240229-v1:0"
"""A model Bedrock serves that no stage configures."""
PROFILE_DESTINATIONS = {"us": "us-west-2", "eu": "eu-central-1", "apac": "ap-northeast-1"}
"""A Region of each geography other than the stages' own, where a cross-Region profile may land a request."""
INFERENCE = "ai/Inference"
MODEL_ROLE = role_of("AWS::SageMaker::Model", "ExecutionRoleArn")


def bedrock_models(which: str) -> Targets:
    """Each configured model as Bedrock authorises a request for it (`configured`): its inference profile here and
    the model in this Region and in another of the profile's geography, or the model here; or a model no stage
    configures (`other`). They belong to the guardrail's stack, which grants them."""

    def find(model: PermissionModel, config: StageConfig) -> list[Target]:
        found = []
        for rid in model.at(GUARDRAIL):
            stack = model.symbols.stacks[rid.stack]
            here = f"arn:aws:bedrock:{stack.region}::foundation-model/"
            if which == "other":
                found.append(Target(rid, here + UNCONFIGURED_MODEL, {}))
                continue
            for spec in config.ai.bedrock.models:
                found.append(Target(rid, here + spec.id, {}))
                if spec.inference_profile:
                    profile = f"arn:aws:bedrock:{stack.region}:{stack.account}:inference-profile/{spec.invoked_id}"
                    elsewhere = f"arn:aws:bedrock:{PROFILE_DESTINATIONS[spec.inference_profile]}::foundation-model/"
                    found += [Target(rid, profile, {}), Target(rid, elsewhere + spec.id, {})]
        return found

    return find


def through_guardrail(model: PermissionModel, target: Target) -> dict[str, str]:
    """The guardrail a workload's request names: the published version of the stage's guardrail (ARN:version)."""
    (version,) = [rid for rid, _ in model.symbols.each("AWS::Bedrock::GuardrailVersion")]
    guardrail = model.symbols.identity(version.stack, model.symbols.properties(version)["GuardrailIdentifier"])
    assert guardrail is not None
    number = model.symbols.text(version.stack, {"Fn::GetAtt": [version.logical_id, "Version"]})
    return {"bedrock:GuardrailIdentifier": f"{model.symbols.arn(guardrail)}:{number}"}


def bedrock_callers(model: PermissionModel, config: StageConfig) -> list[Caller]:
    """The workload roles the config lets invoke Bedrock."""
    return [p for kind in config.ai.bedrock.workload_roles for p in workload(kind)(model, config)]


def endpoint_callers(model: PermissionModel, config: StageConfig) -> list[Caller]:
    return [p for kind in config.ai.sagemaker.invoked_by for p in workload(kind)(model, config)]


def model_data(model: PermissionModel, config: StageConfig) -> list[Target]:
    """The endpoint's model data: one object of the models bucket."""
    return at(MODELS, suffix=f"/{config.ai.sagemaker.model_data_key}")(model, config)


def endpoint_image(model: PermissionModel, config: StageConfig) -> list[Target]:
    """The ECR repository the endpoint's image comes from."""
    name = "".join(part.capitalize() for part in config.ai.sagemaker.image_repository.split("-"))
    return at(f"platform/Registries/{name}")(model, config)


def invocation_log_objects(model: PermissionModel, config: StageConfig) -> list[Target]:
    """Where Bedrock writes invocation logs: under the prefix, AWSLogs/<account>/."""
    found = []
    for rid in model.at("ai/Bedrock/InvocationLogBucket/Bucket"):
        account = model.symbols.stacks[rid.stack].account
        found.append(Target(rid, f"{model.symbols.arn(rid)}/invocations/AWSLogs/{account}/{OBJECT}"))
    return found


def with_bedrock(config: StageConfig) -> bool:
    return config.ai.bedrock.enabled


def with_invocation_logs(config: StageConfig) -> bool:
    return config.ai.bedrock.enabled and config.ai.bedrock.invocation_logs is not None


def with_sagemaker(config: StageConfig) -> bool:
    return config.ai.sagemaker.enabled


BEDROCK_LOG_DELIVERY = service("bedrock.amazonaws.com", at(GUARDRAIL))
"""Bedrock, delivering logs for a request of this account and Region (a resource of Bedrock's here as source)."""


FLOWS = (
    # seed 001: an agent pod calls Secrets Manager, RDS, DynamoDB, S3, the cache and SNS/SQS ([4a]-[4f])
    Flow("app workloads read the application secrets", APP, SECRET_READER, APP_SECRETS, "seed 001 [4a]"),
    Flow("app workloads read the cache AUTH token", APP, SECRET_READER, at("data/Cache/AuthToken"),
         "seed 001 [4e] (Redis with AUTH); seed 003 (Redis credentials)"),
    Flow("app workloads read and write the conversations and sessions", APP, TABLE_ITEMS, TABLES, "seed 001 [4c]"),
    Flow("app workloads query the tables' indexes", APP, ("dynamodb:Query",), indexes("data/Tables"), "seed 001 [4c]"),
    Flow("app workloads read and write documents, chunks, uploads and backups", APP, OBJECT_READ_WRITE,
         objects(*APP_DATA), "seed 001 [4d] and its knowledge-update flow"),
    Flow("app workloads list those buckets", APP, ("s3:ListBucket",), at(*APP_DATA), "seed 001 [4d]"),
    Flow("app workloads publish to the four topics", APP, ("sns:Publish",), TOPICS, "seed 001 [4f]"),
    Flow("app workloads consume the four queues", APP, QUEUE_CONSUMER, subscribed_queues, "seed 001 [4f]"),
    Flow("app workloads log in to PostgreSQL through the proxy (IAM)", APP, ("rds-db:connect",), proxy_users,
         "seed 001 [4b]; README, The data: clients connect to the proxy"),
    Flow("app workloads in a secondary region use the tables' replicas there", APP, TABLE_ITEMS, table_replicas,
         "issue: every region a working copy", with_secondaries),
    Flow("app workloads in a secondary region log in to its global-database secondary (IAM)", APP,
         ("rds-db:connect",), secondary_database_users, "issue: every region a working copy", with_secondaries),
    Flow("each topic delivers to its queue", no_principal, ("sqs:SendMessage",), subscribed_queues,
         "seed 001: each topic has an SQS subscriber", caller_for=topic_delivery),
    Flow("the action-requests consumer consumes its queue", fed_by(ACTION_REQUESTS), QUEUE_CONSUMER, ACTION_REQUESTS,
         "seed 001: Lambda handler / EKS consumer"),
    Flow("the RDS Proxy reads the master credentials", PROXY, ("secretsmanager:GetSecretValue",), MASTER_SECRET,
         "seed 001: RDS master password in Secrets Manager"),
    Flow("rotation rotates the master credentials", rotation, ROTATION_ACTIONS, MASTER_SECRET,
         "seed 001: RDS master password (auto-rotated)"),
    # seed 000: the graph, the time series and DAX in front of the tables, where the stage turns them on
    Flow("app workloads query the graph (IAM)", APP, GRAPH_QUERIES, graph_data,
         "seed 000: Neptune (topology and dependencies)", with_graph),
    Flow("app workloads read the time-series API token", APP, SECRET_READER, at("data/TimeSeries/ApiToken"),
         "seed 000: time series (Timestream for InfluxDB)", with_time_series),
    Flow("Timestream for InfluxDB delivers its engine logs", INFLUXDB, ("s3:PutObject",),
         objects_under("data/TimeSeries/Logs/Bucket", "InfluxLogs/"),
         "https://docs.aws.amazon.com/timestream/latest/developerguide/timestream-for-influx-managing-view-influx-"
         "logs.html", with_time_series),
    Flow("app workloads read and write the tables through DAX", APP, DAX_ITEMS, at("data/Accelerator/Cluster"),
         "seed 000: DynamoDB with a DAX cache", with_accelerator),
    Flow("DAX reads and writes the conversations and sessions", DAX, (*TABLE_ITEMS, "dynamodb:DescribeTable"), TABLES,
         "seed 000: DAX in front of the tables", with_accelerator),
    Flow("DAX queries the tables' indexes", DAX, ("dynamodb:Query",), indexes("data/Tables"),
         "seed 000: DAX in front of the tables", with_accelerator),
    # seed 002: the payment service's Lemon Squeezy keys and the user service's OAuth client
    Flow("app workloads (payment) read the Lemon Squeezy credentials", APP, SECRET_READER,
         at("data/Secrets/LemonSqueezy"), "seed 002: Lemon Squeezy API keys in Secrets Manager"),
    Flow("app workloads (user) read the OAuth client credentials", APP, SECRET_READER, at("data/Secrets/OAuthClient"),
         "seed 002: OAuth client secrets in Secrets Manager"),
    # seed 002: the gallery and generation services, GPU workers, the shared models, CloudFront
    Flow("app workloads (gallery, generation) read and write images", APP, OBJECT_READ_WRITE, objects(IMAGES),
         "seed 002: the generation and gallery services"),
    Flow("GPU workers read the model weights", GPU, ("s3:GetObject",), objects(MODELS), "seed 002: S3 models-shared"),
    Flow("GPU workers list the model weights", GPU, ("s3:ListBucket",), at(MODELS), "seed 002: S3 models-shared"),
    Flow("GPU workers write generated images", GPU, ("s3:PutObject",), objects(IMAGES), "seed 002: Write Images"),
    Flow("GPU workers mount the shared models (IAM)", GPU, ("elasticfilesystem:ClientMount",),
         at("data/SharedModels/FileSystem"), "seed 002: Read Models from EFS"),
    Flow("CloudFront reads images (origin access control)", CLOUDFRONT, ("s3:GetObject",), objects(IMAGES),
         "seed 002: S3 images behind CloudFront", with_edge),
    Flow("CloudFront reads every bucket its origins name, the images replica it fails over to included",
         CLOUDFRONT, ("s3:GetObject",), origin_buckets, "issue: every region a working copy (CloudFront fails over)",
         with_edge),
    # seed 002: Karpenter provisions (Spot GPU) nodes for the cluster and removes them
    Flow("Karpenter launches nodes tagged for this cluster", KARPENTER, LAUNCH, CREATED, "seed 002: Karpenter",
         context=requesting(karpenter_tags)),
    Flow("Karpenter launches from its launch templates", KARPENTER, LAUNCH,
         runtime("arn:aws:ec2:{region}:{account}:launch-template/", karpenter_tags), "seed 002: Karpenter"),
    Flow("Karpenter launches into the subnets and groups with AWS's images", KARPENTER, LAUNCH, REFERENCED,
         "seed 002: Karpenter"),
    Flow("Karpenter terminates its own nodes", KARPENTER, ("ec2:TerminateInstances",), INSTANCES,
         "seed 002: Karpenter (consolidation, expiry)"),
    Flow("Karpenter creates instance profiles for its node classes", KARPENTER, ("iam:CreateInstanceProfile",),
         runtime("arn:aws:iam::{account}:instance-profile/"), "seed 002: Karpenter", context=requesting(profile_tags)),
    Flow("Karpenter puts the node role in its instance profiles", KARPENTER, ("iam:AddRoleToInstanceProfile",),
         runtime("arn:aws:iam::{account}:instance-profile/", profile_tags), "seed 002: Karpenter"),
    Flow("Karpenter passes the node role to EC2", KARPENTER, ("iam:PassRole",), at("platform/Karpenter/NodeRole/Role"),
         "seed 002: Karpenter", context=lambda config: {"iam:PassedToService": "ec2.amazonaws.com"}),
    Flow("Karpenter reads its interruption queue", KARPENTER, ("sqs:ReceiveMessage", "sqs:DeleteMessage"),
         at("platform/Karpenter/InterruptionQueue"), "seed 002: Spot GPU capacity (interruption notices)"),
    # seed 000: Kinesis, EventBridge, MSK, OpenSearch and the processors; seed 004: pods publish to MSK
    Flow("app workloads put records on the stream", APP, STREAM_PRODUCER, STREAM,
         "seed 000: collectors -> Kinesis Data Streams"),
    Flow("app workloads put events on the platform bus", APP, ("events:PutEvents",), at("data/Messaging/EventBus"),
         "seed 000: EventBridge custom bus"),
    Flow("app workloads connect to Kafka (IAM)", APP, KAFKA_CLUSTER, kafka("cluster"),
         "seed 000: Fluent Bit -> MSK; seed 004: EKS publishes to MSK", with_kafka),
    Flow("app workloads produce and consume Kafka topics", APP, KAFKA_TOPICS, kafka("topic"), "seeds 000, 004",
         with_kafka),
    Flow("app workloads join Kafka consumer groups", APP, KAFKA_GROUPS, kafka("group"), "seeds 000, 004", with_kafka),
    Flow("app workloads search and index OpenSearch", APP, SEARCH_HTTP, DOMAIN_PATHS,
         "seed 000: OpenSearch log analytics; seed 004"),
    Flow("the stream processor reads the stream", PROCESSOR, STREAM_READER, STREAM,
         "seed 000: Kinesis -> Lambda processor"),
    Flow("the stream processor keeps entity state", PROCESSOR, ("dynamodb:PutItem", "dynamodb:UpdateItem"),
         at("analytics/Streaming/StateTable"), "seed 000: Lambda processor -> DynamoDB (state)"),
    Flow("the stream processor parks failed records", PROCESSOR, ("sqs:SendMessage",),
         at("analytics/Streaming/ProcessorFailures"), "seed 000; README, The analytics"),
    Flow("Firehose reads the stream", FIREHOSE_SOURCE, STREAM_READER, STREAM,
         "seed 000: Kinesis Firehose; seed 004: Firehose -> S3"),
    Flow("Firehose delivers to the raw zone", FIREHOSE_DESTINATION, ("s3:PutObject", "s3:AbortMultipartUpload"),
         objects(LAKE[0]), "seed 000; seed 004: Firehose -> S3"),
    # seed 000's processing column (analytics.stream_processing): each row only where its toggle is on
    Flow("Flink reads the stream", FLINK, STREAM_READER, STREAM, "seed 000: Kinesis -> Flink", with_flink),
    Flow("Flink writes its aggregates to the processed zone's real-time/", FLINK,
         ("s3:PutObject", "s3:AbortMultipartUpload"), objects_under(PROCESSED, "real-time/"),
         "seed 000: Flink -> S3 (lake); seed 003: processed/real-time", with_flink),
    Flow("the Kafka consumer connects to the cluster (IAM)", KAFKA_CONSUMER,
         ("kafka-cluster:Connect", "kafka-cluster:DescribeClusterDynamicConfiguration"), kafka("cluster"),
         "seed 000: MSK -> Lambda; Lambda's MSK event source permissions", with_kafka_consumer),
    Flow("the Kafka consumer reads its topics", KAFKA_CONSUMER,
         ("kafka-cluster:DescribeTopic", "kafka-cluster:ReadData"), kafka("topic"),
         "seed 000: MSK -> Lambda", with_kafka_consumer),
    Flow("the Kafka consumer's mappings join their consumer groups", KAFKA_CONSUMER, KAFKA_GROUPS, kafka("group"),
         "seed 000: MSK -> Lambda", with_kafka_consumer),
    Flow("the Kafka consumer keeps entity state", KAFKA_CONSUMER, ("dynamodb:PutItem",),
         at("analytics/Streaming/StateTable"), "seed 000: Lambda processor -> DynamoDB (state)", with_kafka_consumer),
    Flow("the Kafka consumer's mappings park failed batches", KAFKA_CONSUMER, ("sqs:SendMessage",),
         at("analytics/KafkaConsumer/Failures"), "seed 000; Lambda: on-failure destinations", with_kafka_consumer),
    Flow("Firehose indexes logs into the search domain", LOG_DELIVERY, ("es:ESHttpPost", "es:ESHttpPut"), DOMAIN_PATHS,
         "seed 000: Kinesis Firehose to OpenSearch", with_log_delivery),
    Flow("Firehose backs up rejected log documents to the raw zone", LOG_DELIVERY, ("s3:PutObject",),
         objects_under(RAW, "errors/search/"), "seed 000: Firehose to S3", with_log_delivery),
    Flow("the metric stream puts records on its Firehose", METRIC_STREAM,
         ("firehose:PutRecord", "firehose:PutRecordBatch"), at("analytics/MetricStream/ToRawZone"),
         "seed 000: CloudWatch metrics -> ingestion", with_metric_stream),
    Flow("the metrics Firehose writes the raw zone's metrics/", METRICS_DELIVERY, OBJECT_WRITE,
         objects_under(RAW, "metrics/"), "seed 000: CloudWatch metrics -> S3 (lake)", with_metric_stream),
    Flow("replication copies the marked buckets' objects", REPLICATION,
         ("s3:GetObjectVersionForReplication", "s3:GetObjectVersionAcl"), replicas("source-objects"),
         "seed 000: a second region (DR)", with_replicas),
    Flow("replication reads the marked buckets' configuration", REPLICATION,
         ("s3:GetReplicationConfiguration", "s3:ListBucket"), replicas("source"), "seed 000: a second region",
         with_replicas),
    Flow("replication writes the replicas", REPLICATION, ("s3:ReplicateObject", "s3:ReplicateDelete"),
         replicas("replica"), "seed 000: a second region", with_replicas),
    Flow("the peering accepter accepts the attachment", no_principal, ("ec2:AcceptTransitGatewayPeeringAttachment",),
         peering_attachment, "seed 000: Transit Gateway between regions", with_dr, caller_for=ACCEPTER),
    Flow("the peering waiter watches the attachment", no_principal, ("ec2:DescribeTransitGatewayPeeringAttachments",),
         unscoped(peering_attachment), "seed 000: Transit Gateway between regions", with_dr, caller_for=WAITER),
    # seed 003: the lake, Glue and the ECS tasks. Each job's role reaches the zones and prefixes its job uses.
    Flow("Glue's ETL reads the raw deliveries", glue_job_role("RawToProcessed"), ("s3:GetObject",),
         objects_under(RAW, "events/"), "seed 003: ETL job (raw -> processed)"),
    Flow("Glue's ETL writes clean events and the quarantine", glue_job_role("RawToProcessed"), OBJECT_WRITE,
         at_once(objects_under(PROCESSED, "events/"), objects_under(RAW, "quarantine/")),
         "seed 003: ETL job (raw -> processed)"),
    Flow("Glue's aggregates read clean events", glue_job_role("ProcessedAggregates"), ("s3:GetObject",),
         objects_under(PROCESSED, "events/"), "seed 003: processed daily/hourly/real-time"),
    Flow("Glue's aggregates write the aggregates and curated datasets", glue_job_role("ProcessedAggregates"),
         OBJECT_WRITE, at_once(objects_under(PROCESSED, "daily/"), objects_under(PROCESSED, "hourly/"),
                               objects_under(PROCESSED, "real-time/"), objects_under(CURATED, "analytics/"),
                               objects_under(CURATED, "reporting/"), objects_under(CURATED, "ml/")),
         "seed 003: processed and curated zones"),
    Flow("Glue's quality job reads processed and curated", glue_job_role("QualityJob"), ("s3:GetObject",),
         at_once(objects_under(PROCESSED, "events/"), objects_under(CURATED, "analytics/")),
         "seed 003: data quality jobs"),
    Flow("Glue lists the lake zones it reads", glue_job_role("RawToProcessed"), ("s3:ListBucket",), at(RAW, PROCESSED),
         "seed 003: Glue ETL"),
    Flow("Glue keeps the catalog", GLUE, CATALOG, glue_catalog, "seed 003: Data Catalog"),
    *(task_flow for task in ("DataProcessing", "Spark") for task_flow in ecs_task_flows(task)),
    # seed 000: LLM inference on Bedrock, custom models on a SageMaker endpoint
    Flow("workloads invoke the configured Bedrock models through the guardrail", bedrock_callers, BEDROCK_INVOKE,
         bedrock_models("configured"), "seed 000: Bedrock (Claude 3.5, Llama 3)", with_bedrock,
         context_for=through_guardrail),
    Flow("workloads apply the guardrail", bedrock_callers, ("bedrock:ApplyGuardrail",), at(GUARDRAIL),
         "seed 000: Bedrock; the guardrail every invocation names", with_bedrock),
    Flow("Bedrock delivers invocation logs to their bucket", BEDROCK_LOG_DELIVERY, ("s3:PutObject",),
         invocation_log_objects, "seed 000: Bedrock; model invocation logging", with_invocation_logs),
    Flow("workloads invoke the SageMaker endpoint", endpoint_callers, ("sagemaker:InvokeEndpoint",),
         at(f"{INFERENCE}/Endpoint"), "seed 000: SageMaker endpoints", with_sagemaker),
    Flow("SageMaker reads the endpoint's model data", MODEL_ROLE, ("s3:GetObject",), model_data,
         "seed 000: SageMaker custom models (model data in the models bucket)", with_sagemaker),
    Flow("SageMaker pulls the endpoint's image", MODEL_ROLE, ("ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"),
         endpoint_image, "seed 000: SageMaker custom models (the container from ECR)", with_sagemaker),
    Flow("SageMaker writes the endpoint's data capture", MODEL_ROLE, OBJECT_WRITE,
         objects_under(f"{INFERENCE}/Capture/Bucket", "capture/"), "seed 000: SageMaker; data capture",
         with_sagemaker),
)  # fmt: skip
"""Every data flow the seeds describe, as (principal by what it is, actions, resource by identity, source)."""


@dataclass(frozen=True)
class Failure:
    """A contract broken on one stage: what, who, and what to fix."""

    stage: str
    contract: str
    subject: str
    reference: str
    problems: tuple[str, ...]

    def __str__(self) -> str:
        details = "".join(f"\n    - {problem}" for problem in self.problems)
        return f"{self.stage}: {self.contract}: {self.subject} [{self.reference}]{details}"


def report(failures: Sequence[Failure]) -> str:
    return "\n".join(map(str, failures))


def key_problems(model: PermissionModel, caller: Caller, action: str, target: Target) -> list[str]:
    """What stops the KMS calls `action` makes on the key `target` is encrypted with."""
    key = model.key_of(target.id, target.region)
    by_service = KEY_USED_BY_SERVICE.get(action)
    needed = by_service[1] if by_service else KEY_USE.get(action, ())
    if key is None or not needed:
        return []
    if key.id is None:
        return (
            []
            if key.name.startswith("alias/aws/")
            else [f"{target.arn} is encrypted with {key.name}, not in the templates"]
        )
    stack = model.symbols.stacks[key.id.stack]
    key_target = Target(key.id, key.name)
    if by_service:
        name, _, context_key = by_service
        user: Caller = Service(name, target.arn, stack.account)
        context = {context_key: target.arn}
    else:
        user, context = caller, {}
        if action.split(":")[0] != "kms" and isinstance(caller, Principal):
            context["kms:ViaService"] = f"{action.split(':')[0]}.{stack.region}.amazonaws.com"
    return [problem for kms_action in needed for problem in model.check(user, kms_action, key_target, context)]


def flow_problems(model: PermissionModel, config: StageConfig, flow: Flow) -> list[str]:
    """Everything that stops the flow, per caller, action and resource (none found: a problem too)."""
    targets = flow.resources(model, config)
    if not targets:
        return ["the model found no resource for it in the templates"]
    pairs = (
        [(flow.caller_for(model, t), t) for t in targets]
        if flow.caller_for
        else [(caller, t) for caller in flow.principals(model, config) for t in targets]
    )
    if not pairs:
        return ["the model found no principal for it in the templates"]
    serving = serving_regions(model)
    pairs = [(caller, target) for caller, target in pairs if in_reach(model, caller, target, serving)]
    problems = []
    for caller, target in pairs:
        for action in flow.actions:
            context = {
                **REQUEST_CONTEXT.get(action.split(":")[0], {}),
                **(flow.context(regional(config, model.symbols.stacks[target.id.stack])) if flow.context else {}),
                **(flow.context_for(model, target) if flow.context_for else {}),
            }
            found = model.check(caller, action, target, context) + key_problems(model, caller, action, target)
            problems += [f"{caller}: {model.symbols.readable(problem)}" for problem in found]
    return problems


@lru_cache(maxsize=4)
def serving_regions(model: PermissionModel) -> Mapping[ResourceId, frozenset[str]]:
    """Each role's regions: where it is made and where a workload is given it (a secondary region's cluster
    binds the workload roles made in the primary region: IAM is global). Once per model: every flow asks."""
    found: dict[ResourceId, set[str]] = defaultdict(set)
    for resource_type, dotted, _ in BINDINGS:
        for rid, props in model.symbols.each(resource_type):
            if (value := dig(props, dotted)) is not None:
                found[model.principal(rid.stack, value).id].add(model.symbols.stacks[rid.stack].region)
    return {rid: frozenset(regions) for rid, regions in found.items()}


def in_reach(
    model: PermissionModel, caller: Caller, target: Target, serving: Mapping[ResourceId, frozenset[str]]
) -> bool:
    """Whether a flow's caller works in the target's region, the region of the stack that makes it: a region's
    workloads use their own region's resources (the workload roles, made once, work in every region)."""
    region = target.region or model.symbols.stacks[target.id.stack].region
    if not isinstance(caller, Principal):
        return True
    return region in {caller.region, *serving.get(caller.id, ())}


BINDINGS: tuple[tuple[str, str, str], ...] = (
    ("AWS::EKS::PodIdentityAssociation", "RoleArn", "pods.eks.amazonaws.com"),
    ("AWS::Lambda::Function", "Role", "lambda.amazonaws.com"),
    ("AWS::ECS::TaskDefinition", "TaskRoleArn", "ecs-tasks.amazonaws.com"),
    ("AWS::ECS::TaskDefinition", "ExecutionRoleArn", "ecs-tasks.amazonaws.com"),
    ("AWS::Glue::Job", "Role", "glue.amazonaws.com"),
    ("AWS::Glue::Crawler", "Role", "glue.amazonaws.com"),
    ("AWS::KinesisFirehose::DeliveryStream", "KinesisStreamSourceConfiguration.RoleARN", "firehose.amazonaws.com"),
    ("AWS::KinesisFirehose::DeliveryStream", "ExtendedS3DestinationConfiguration.RoleARN", "firehose.amazonaws.com"),
    ("AWS::RDS::DBProxy", "RoleArn", "rds.amazonaws.com"),
    ("AWS::KinesisAnalyticsV2::Application", "ServiceExecutionRole", "kinesisanalytics.amazonaws.com"),
    ("AWS::KinesisFirehose::DeliveryStream", SEARCH_DELIVERY_ROLE, "firehose.amazonaws.com"),
    ("AWS::CloudWatch::MetricStream", "RoleArn", "streams.metrics.cloudwatch.amazonaws.com"),
    ("AWS::DAX::Cluster", "IAMRoleARN", "dax.amazonaws.com"),
    ("AWS::S3::Bucket", "ReplicationConfiguration.Role", "s3.amazonaws.com"),
    ("AWS::SageMaker::Model", "ExecutionRoleArn", "sagemaker.amazonaws.com"),
)
"""What hands a role to a workload, and the service that assumes it for the workload."""
POD_IDENTITY_ACTIONS = ("sts:AssumeRole", "sts:TagSession")
"""EKS Pod Identity assumes the role and tags the session (EKS user guide, pod-id-role)."""


def binding_failures(model: PermissionModel, config: StageConfig) -> list[Failure]:
    """Every role a workload runs as trusts the service that hands it out."""
    failures = []
    for resource_type, dotted, name in BINDINGS:
        for principal in role_of(resource_type, dotted)(model, config):
            assert isinstance(principal, Principal)
            actions = POD_IDENTITY_ACTIONS if name.startswith("pods.") else ("sts:AssumeRole",)
            if problems := model.trust_problems(name, principal, actions):
                failures.append(Failure(model.stage, "binding", f"{principal} ({resource_type})",
                                        "the service that runs the workload assumes it", tuple(problems)))  # fmt: skip
    return failures


def only(caller: Caller) -> Callers:
    def find(model: PermissionModel, config: StageConfig) -> list[Caller]:
        return [caller]

    return find


PRIMARY_REGION_ONLY = ("data/TimeSeries/",)
"""Credentials of stores the stage builds in its primary region only (Timestream for InfluxDB replicates to no
other region): nothing in a secondary region could use them."""


def replica_failures(model: PermissionModel, config: StageConfig) -> list[Failure]:
    """Every secret a workload role may read is there in each region the role works in: the secret itself, its
    replica, or that region's own secret of the same name (each region's cache has its own token). A workload
    that fails over reads its secrets in its own region, not across an ocean from the region that failed."""
    properties = dict(model.symbols.each("AWS::SecretsManager::Secret"))
    made_in = {(model.symbols.stacks[rid.stack].region, props.get("Name")) for rid, props in properties.items()}
    serving = serving_regions(model)
    failures = []
    for resource_type, dotted, _ in BINDINGS:
        for principal in role_of(resource_type, dotted)(model, config):
            assert isinstance(principal, Principal)
            regions = {principal.region, *serving.get(principal.id, ())}
            for secret in secrets_granted(only(principal))(model, config):
                if model.symbols.path(secret.id).startswith(PRIMARY_REGION_ONLY):
                    continue
                name = properties[secret.id].get("Name")
                replicas = {r["Region"] for r in properties[secret.id].get("ReplicaRegions", [])}
                if missing := sorted(r for r in regions - replicas if (r, name) not in made_in):
                    problem = f"{principal} reads it; no replica in {', '.join(missing)}"
                    failures.append(Failure(model.stage, "replica", model.symbols.label(secret.id),
                                            "issue: every region a working copy", (problem,)))  # fmt: skip
    return failures


def task_secret_failures(model: PermissionModel, config: StageConfig) -> list[Failure]:
    """Every secret an ECS task names exists in the task's region: a secret made there, or the replica there of
    the primary's (ECS reads it as the task starts; one left in another region fails the task after a failover)."""
    failures = []
    for rid, props in model.symbols.each("AWS::ECS::TaskDefinition"):
        region = model.symbols.stacks[rid.stack].region
        for container in props.get("ContainerDefinitions", []):
            for secret in container.get("Secrets", []):
                named = model.symbols.identity(rid.stack, secret["ValueFrom"])
                if named is not None and model.symbols.stacks[named.stack].region == region:
                    continue
                if replica_named(model, model.symbols.text(rid.stack, secret["ValueFrom"]), region) is None:
                    failures.append(Failure(model.stage, "task secret", model.symbols.label(rid),
                                            "issue: every region a working copy",
                                            (f"{secret['Name']} names no secret in {region}",)))  # fmt: skip
    return failures


def flow_failures(model: PermissionModel, config: StageConfig, flows: Sequence[Flow] = FLOWS) -> list[Failure]:
    return [
        Failure(model.stage, "flow", flow.name, flow.seed, tuple(problems))
        for flow in flows
        if flow.enabled(config) and (problems := flow_problems(model, config, flow))
    ]


FORBIDDEN = (
    Flow("Karpenter terminates a managed node group's instance", KARPENTER, ("ec2:TerminateInstances",),
         runtime("arn:aws:ec2:{region}:{account}:instance/", lambda config: karpenter_tags(config, pool=False)),
         "the managed minimum outlives Karpenter (README, The platform); upstream's AllowScopedDeletion"),
    Flow("Karpenter launches instances without this cluster's tags", KARPENTER, LAUNCH, CREATED,
         "upstream's AllowScopedEC2InstanceActionsWithTags"),
    Flow("Karpenter passes the node role to another service", KARPENTER, ("iam:PassRole",),
         at("platform/Karpenter/NodeRole/Role"), "upstream's AllowPassingInstanceRole",
         context=lambda config: {"iam:PassedToService": "lambda.amazonaws.com"}),
    Flow("the app workloads write the model weights", APP, ("s3:PutObject",), objects(MODELS),
         "seed 002: the GPU workers read the models"),
    Flow("the GPU workers read the application secrets", GPU, SECRET_READER, APP_SECRETS,
         "seed 001: the agents' API keys are the app's"),
    Flow("DAX writes a table other than the two it fronts", DAX, ("dynamodb:PutItem",),
         at("analytics/Streaming/StateTable"), "seed 000: DAX caches the conversations and sessions", with_accelerator),
    Flow("the app workloads read the InfluxDB admin login", APP, SECRET_READER, at("data/TimeSeries/AdminCredentials"),
         "README, The data: workloads use an API token; the admin login is break-glass", with_time_series),
    Flow("workloads invoke a Bedrock model without the guardrail", bedrock_callers, BEDROCK_INVOKE,
         bedrock_models("configured"), "seed 000: Bedrock; every invocation applies the guardrail", with_bedrock),
    Flow("workloads invoke a Bedrock model the config does not name", bedrock_callers, BEDROCK_INVOKE,
         bedrock_models("other"), "the configured model ids, no wildcard", with_bedrock,
         context_for=through_guardrail),
    Flow("SageMaker reads model data other than its own", MODEL_ROLE, ("s3:GetObject",), objects(MODELS),
         "the execution role reads the endpoint's model data only", with_sagemaker),
    Flow("SageMaker writes the models bucket", MODEL_ROLE, ("s3:PutObject",), objects(MODELS),
         "seed 002: the models are read, not written, by what serves them", with_sagemaker),
)  # fmt: skip
"""What must stay denied: each caller may do none of the actions on any of the resources."""


def forbidden_failures(model: PermissionModel, config: StageConfig) -> list[Failure]:
    failures = []
    for flow in FORBIDDEN:
        if not flow.enabled(config):
            continue
        callers, targets = flow.principals(model, config), flow.resources(model, config)

        def context(target: Target, flow: Flow = flow) -> dict[str, str | Sequence[str]]:
            return {**(flow.context(config) if flow.context else {}),
                    **(flow.context_for(model, target) if flow.context_for else {})}  # fmt: skip

        allowed = [
            f"{caller} may call {action} on {model.symbols.readable(t.arn)}"
            for caller in callers
            for t in targets
            for action in flow.actions
            if not model.check(caller, action, t, context(t))
        ]
        if allowed or not (callers and targets):
            found = tuple(allowed) or ("the model found no caller or resource for it in the templates",)
            failures.append(Failure(model.stage, "forbidden", flow.name, flow.seed, found))
    return failures


# --- least privilege --------------------------------------------------------------------------------------

SCOPING_KEYS = ("aws:sourceaccount", "aws:sourcearn", "aws:sourceowner")
NARROWING_KEYS = ("aws:principalarn", "aws:principaltag/", "aws:userid", "sts:externalid")
"""Conditions that narrow a trust in a whole account to the principals meant (IAM rejects a trust policy that
names a principal that does not exist yet, so the stage's admin roles are matched by ARN pattern)."""


def scopes(condition_key: str, values: Sequence[str], config: StageConfig) -> bool:
    """Whether a condition confines a statement to this cluster or stage: the request's or resource's source, or a
    tag (key or value) that names the cluster or the stage."""
    key, cluster = condition_key.lower(), config.cluster_name
    if key in SCOPING_KEYS:
        return True
    if key.startswith(("aws:resourcetag/", "aws:requesttag/")):
        tag = key.split("/", 1)[1]
        return cluster in tag or any(v == cluster or (tag == "stage" and v == config.name) for v in values)
    return any(cluster in v for v in values)


def tag_scoped(statement: Statement, config: StageConfig) -> bool:
    return any(
        c.key.lower().startswith(("aws:resourcetag/", "aws:requesttag/")) and scopes(c.key, c.values, config)
        for c in statement.conditions
    )


Conditions = dict[tuple[str, str], list[str]]
"""(operator, key) -> values."""


def _upstream_grants() -> list[tuple[str, str, Conditions]]:
    """(action, resource, conditions) of every statement of the vendored upstream policies, `${...}` as `*`."""

    def statements(document: dict[str, Any]) -> Iterator[dict[str, Any]]:
        yield from document.get("Statement", [])
        for nested in document.get("policies", {}).values():
            yield from nested["PolicyDocument"]["Statement"]

    def placeholder(text: str) -> str:
        return re.sub(r"\$\{[^}]+\}", "*", text)

    grants = []
    for path in sorted(UPSTREAM_POLICIES.glob("*.json")):
        for raw in statements(json.loads(path.read_text())):
            conditions = {
                (operator, key): sorted(placeholder(v) for v in listed(values))
                for operator, keys in (raw.get("Condition") or {}).items()
                for key, values in keys.items()
            }
            grants += [
                (action.lower(), placeholder(resource), conditions)
                for action in listed(raw["Action"])
                for resource in listed(raw["Resource"])
            ]
    return grants


UPSTREAM_GRANTS = _upstream_grants()


def from_upstream(statement: Statement, action: str, resource: str) -> bool:
    """Whether upstream's vendored policy grants exactly this action on this resource under the same conditions
    (upstream's `${...}` variables match any value)."""
    conditions = {(c.operator, c.key): sorted(c.values) for c in statement.conditions}

    def same(upstream: Conditions) -> bool:
        return conditions.keys() == upstream.keys() and all(
            len(values) == len(conditions[k]) and all(map(glob_match, values, conditions[k]))
            for k, values in upstream.items()
        )

    return any(action.lower() == a and glob_match(r, resource) and same(u) for a, r, u in UPSTREAM_GRANTS)


def everything(resource: str) -> bool:
    """`*`, or every resource of a service (`arn:aws:ec2:*:*:*`)."""
    return resource == "*" or re.fullmatch(r"arn:[^:]*:[^:]*:[^:]*:[^:]*:\*", resource) is not None


def mutation_failures(model: PermissionModel, config: StageConfig) -> list[Failure]:
    """No principal may change anything on `*` unless a condition scopes it to the cluster or stage, the action
    takes no resource, or upstream's vendored policy grants it so. AWS-managed policies are AWS's (IAM4)."""
    failures = []
    for principal in model.principals.values():
        problems = [
            f"{model.where(s)}: {action} on {resource}"
            for s in principal.identity
            if s.allows and not s.managed and not any(scopes(c.key, c.values, config) for c in s.conditions)
            for action in s.actions
            for resource in s.resources
            if is_mutating(action) and everything(resource) and not has_no_resource_level(action)
            and not from_upstream(s, action, resource)
        ]  # fmt: skip
        if problems:
            reference = "a mutation on * needs a condition naming the cluster or stage"
            failures.append(Failure(model.stage, "least privilege", str(principal), reference, tuple(problems)))
    return failures


def trust_failures(model: PermissionModel, config: StageConfig) -> list[Failure]:
    """No role trusts a whole account (or anyone) without a condition naming the principals meant."""
    failures = []
    for principal in model.principals.values():
        problems = [
            f"{model.where(s)} trusts {', '.join(s.principals or ())}"
            for s in principal.trust
            if s.allows
            and any(p == "*" or p.endswith(":root") for p in s.principals or ())
            and not any(c.key.lower().startswith(NARROWING_KEYS) for c in s.conditions)
        ]
        if problems:
            failures.append(Failure(model.stage, "trust", str(principal), "trust a named role, or narrow the account",
                                    tuple(problems)))  # fmt: skip
    return failures


GUARDED_TYPES = ("AWS::SQS::Queue", "AWS::SNS::Topic", "AWS::KMS::Key", "AWS::S3::Bucket")


def source_failures(model: PermissionModel, config: StageConfig) -> list[Failure]:
    """Service principals granted on queues, topics, keys and buckets carry aws:SourceAccount or aws:SourceArn (a
    key's encryption context naming the account's resources, as CloudWatch Logs documents, does the same)."""
    failures = []
    for rid, statements in model.resource_policies.items():
        if model.symbols.type_of(rid) not in GUARDED_TYPES:
            continue
        account = model.symbols.stacks[rid.stack].account
        problems = [
            f"{model.where(s)} allows {', '.join(p for p in s.principals or () if p.startswith('service:'))}"
            for s in statements
            if s.allows
            and any(p.startswith("service:") for p in s.principals or ())
            and not any(
                c.key.lower() in SCOPING_KEYS
                or (c.key.lower().startswith("kms:encryptioncontext:") and all(f":{account}:" in v for v in c.values))
                for c in s.conditions
            )
        ]
        if problems:
            failures.append(Failure(model.stage, "service source", model.symbols.label(rid),
                                    "confused deputy: name the source", tuple(problems)))  # fmt: skip
    return failures


# --- acknowledgments ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Claim:
    """A property a reason asserts, and the statements of those it excuses that do not have it."""

    name: str
    pattern: re.Pattern[str]
    untrue_of: Callable[[Statement, StageConfig], bool]


CLAIMS = (
    Claim("tag-conditioned", re.compile(r"tag-conditioned|conditioned on (?:(?!\. ).)*?\btags?\b", re.I),
          lambda s, config: any(map(is_mutating, s.actions)) and not tag_scoped(s, config)),
    Claim("read-only", re.compile(r"read-only", re.I), lambda s, config: any(map(is_mutating, s.actions))),
    Claim("no resource-level permissions", re.compile(r"no resource-level permissions|no resource scope", re.I),
          lambda s, config: not all(map(has_no_resource_level, s.actions))),
    Claim("scoped", re.compile(r"\bscoped to\b|\bonly\.$", re.I), lambda s, config: "*" in s.resources),
)  # fmt: skip
"""The claims the platform's reasons make. Each is checked on the statements an IAM5 acknowledgment excuses."""
NON_PRODUCTION = re.compile(r"non-production stage", re.I)


def excused(model: PermissionModel, acknowledgment: Acknowledgment) -> list[Statement]:
    """The Allow statements under the acknowledged construct that carry the finding's wildcard (cdk-nag's
    AwsSolutions-IAM5[Action::...] or [Resource::...])."""
    found = re.fullmatch(r"AwsSolutions-IAM5\[(Action|Resource)::(.*)\]", acknowledgment.finding)
    if not found:
        return []
    kind, wildcard = found.groups()
    return [
        s
        for s in own_allows(model)
        if (wildcard in s.actions if kind == "Action" else wildcard in s.flattened)
        and (model.symbols.path(s.written_in) + "/").startswith(acknowledgment.path + "/")
    ]


@lru_cache(maxsize=4)
def own_allows(model: PermissionModel) -> tuple[Statement, ...]:
    """The Allow statements the stage's principals carry, each once, AWS managed policies aside: what an
    acknowledgment may excuse. Once per model: every acknowledgment asks."""
    statements = [s for p in model.principals.values() for s in p.identity if not s.managed and s.allows]
    return tuple({(s.written_in, s.index, s.sid): s for s in statements}.values())


def acknowledgment_failures(model: PermissionModel, config: StageConfig) -> list[Failure]:
    """Every reason's claims hold for what it excuses; an IAM5 acknowledgment excuses something."""
    failures = []
    for ack in model.acknowledgments:
        problems = []
        if NON_PRODUCTION.search(ack.reason) and config.name == PRODUCTION_STAGE:
            problems.append("says 'non-production stage' on the production stage")
        if ack.finding.startswith("AwsSolutions-IAM5["):
            statements = excused(model, ack)
            if not statements:
                problems.append("excuses nothing: no statement under it carries the wildcard")
            for claim in (c for c in CLAIMS if c.pattern.search(ack.reason)):
                untrue = [model.where(s) for s in statements if claim.untrue_of(s, config)]
                problems += [f"claims {claim.name}, which {where} is not" for where in untrue]
        if problems:
            failures.append(Failure(model.stage, "acknowledgment", f"{ack.path} {ack.finding}", ack.reason,
                                    tuple(problems)))  # fmt: skip
    return failures


# --- the model of each stage --------------------------------------------------------------------------------


def acknowledgments(platform: SynthesizedPlatform, stage: str) -> list[Acknowledgment]:
    """The acknowledgments of the stage's stacks, as the cloud assembly records them: `aws:cdk:acknowledged-rules`
    entries in each stack's metadata file, keyed by the construct path they sit on."""
    found = []
    for stack in platform.stacks(stage):
        assembly = Path(cdk.Stage.of(stack).outdir)  # type: ignore[union-attr]
        metadata = assembly / stack.template_file.replace(".template.json", ".metadata.json")
        for path, entries in json.loads(metadata.read_text()).items():
            for entry in entries:
                if entry["type"] == "aws:cdk:acknowledged-rules":
                    found += [
                        Acknowledgment(
                            stack.stack_name, path.split("/", 2)[2], finding.removeprefix("Annotation::"), reason
                        )
                        for finding, reason in entry["data"].items()
                    ]
    return found


@dataclass
class StageInput:
    stacks: list[StackTemplate]
    acknowledgments: list[Acknowledgment] = field(default_factory=list)

    def model(self, stage: str) -> PermissionModel:
        return PermissionModel(stage, self.stacks, self.acknowledgments)


@pytest.fixture(scope="module")
def inputs(platform: SynthesizedPlatform) -> Callable[[str], StageInput]:
    loaded: dict[str, StageInput] = {}

    def load(stage: str) -> StageInput:
        if stage not in loaded:
            loaded[stage] = StageInput(stage_stacks(platform, stage), acknowledgments(platform, stage))
        return loaded[stage]

    return load


@pytest.fixture(scope="module")
def models(inputs: Callable[[str], StageInput]) -> Callable[[str], PermissionModel]:
    built: dict[str, PermissionModel] = {}

    def model(stage: str) -> PermissionModel:
        if stage not in built:
            built[stage] = inputs(stage).model(stage)
        return built[stage]

    return model


@pytest.fixture
def model(models: Callable[[str], PermissionModel], stage: str) -> PermissionModel:
    return models(stage)


@pytest.fixture
def config(platform: SynthesizedPlatform, stage: str) -> StageConfig:
    return platform.configs[stage]


# --- the contracts, over every stage -----------------------------------------------------------------------


@pytest.mark.parametrize("flow", [pytest.param(flow, id=flow.name) for flow in FLOWS])
def test_every_flow_the_seeds_describe_is_allowed(model: PermissionModel, config: StageConfig, flow: Flow) -> None:
    if not flow.enabled(config):
        pytest.skip(f"{config.name}'s config does not build what '{flow.name}' reaches")
    assert not (failures := flow_failures(model, config, [flow])), report(failures)


def test_no_forbidden_flow_is_allowed(model: PermissionModel, config: StageConfig) -> None:
    assert not (failures := forbidden_failures(model, config)), report(failures)


def test_every_workload_role_trusts_the_service_that_runs_it(model: PermissionModel, config: StageConfig) -> None:
    assert not (failures := binding_failures(model, config)), report(failures)


def test_no_principal_changes_anything_on_everything(model: PermissionModel, config: StageConfig) -> None:
    assert not (failures := mutation_failures(model, config)), report(failures)


def test_no_role_trusts_a_whole_account(model: PermissionModel, config: StageConfig) -> None:
    assert not (failures := trust_failures(model, config)), report(failures)


def test_service_principals_carry_their_source(model: PermissionModel, config: StageConfig) -> None:
    assert not (failures := source_failures(model, config)), report(failures)


def test_every_secret_a_workload_reads_has_a_replica_in_every_region(
    model: PermissionModel, config: StageConfig
) -> None:
    assert not (failures := replica_failures(model, config)), report(failures)


def test_every_secret_an_ecs_task_names_is_in_its_region(model: PermissionModel, config: StageConfig) -> None:
    assert not (failures := task_secret_failures(model, config)), report(failures)


def test_every_acknowledgment_reason_is_true(model: PermissionModel, config: StageConfig) -> None:
    assert not (failures := acknowledgment_failures(model, config)), report(failures)


def test_the_vendored_karpenter_policy_is_the_charts_release(platform: SynthesizedPlatform, stage: str) -> None:
    """Upstream's controller policy changes between releases (1.12 added DescribeInstanceStatus): the vendored copy
    must be the chart's minor version."""
    vendored = json.loads((UPSTREAM_POLICIES / "karpenter-controller-v1.14.1.json").read_text())["source"]
    chart = platform.configs[stage].platform.karpenter.chart_version
    assert chart.rsplit(".", 1)[0] == vendored["karpenter_version"].rsplit(".", 1)[0], (chart, vendored)


# --- each contract fails on a template broken on purpose ---------------------------------------------------


@dataclass
class Broken:
    """A deep copy of one stage's input for a mutation to edit: templates by stack name, and acknowledgments."""

    stacks: dict[str, StackTemplate]
    acknowledgments: list[Acknowledgment]

    def resource(self, rid: ResourceId) -> dict[str, Any]:
        found: dict[str, Any] = self.stacks[rid.stack].template["Resources"][rid.logical_id]
        return found

    def statements(self, rid: ResourceId, document: str = "PolicyDocument") -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self.resource(rid)["Properties"][document]["Statement"]
        return found


def the(model: PermissionModel, path: str) -> ResourceId:
    found = model.at(path)
    assert len(found) == 1, f"{model.stage}: {len(found)} resources at {path}"
    return found[0]


def policy_of(model: PermissionModel, resource_type: str, governs: str, rid: ResourceId) -> ResourceId:
    """The policy resource of `resource_type` whose `governs` property names `rid`."""
    return next(
        policy
        for policy, props in model.symbols.each(resource_type)
        if rid in [model.symbols.identity(policy.stack, v) for v in listed(props[governs])]
    )


def drop_the_app_roles_tables_statement(model: PermissionModel, broken: Broken) -> None:
    statements = broken.statements(the(model, "data/WorkloadRoles/App/Policy"))
    statements[:] = [s for s in statements if s.get("Sid") != "Tables"]


def drop_the_kafka_consumers_topic_reads(model: PermissionModel, broken: Broken) -> None:
    policy = the(model, "analytics/KafkaConsumer/Consumer/Function/ServiceRole/DefaultPolicy")
    statements = broken.statements(policy)
    statements[:] = [s for s in statements if "kafka-cluster:ReadData" not in listed(s["Action"])]


def drop_the_secondary_regions_table_and_database_grants(model: PermissionModel, broken: Broken) -> None:
    for policy, _ in model.symbols.each("AWS::IAM::ManagedPolicy"):
        if "/RegionalWorkloadAccess/App" not in model.symbols.path(policy):
            continue
        statements = broken.statements(policy)
        statements[:] = [s for s in statements if s.get("Sid") not in ("Tables", "Database")]


def drop_a_secondary_regions_lake_grants(model: PermissionModel, broken: Broken) -> None:
    """The app role's policy in each active secondary region's analytics stack, emptied."""
    for policy, _ in model.symbols.each("AWS::IAM::ManagedPolicy"):
        if in_any_region(model.symbols.path(policy)) != model.symbols.path(policy) and "/AppAccess/" in (
            model.symbols.path(policy)
        ):
            broken.statements(policy)[:] = []


def deny_the_app_role_in_a_bucket_policy(model: PermissionModel, broken: Broken) -> None:
    bucket = the(model, "data/Buckets/KnowledgeDocuments/Bucket")
    role = the(model, "data/WorkloadRoles/App/Role")
    arn = {"Fn::GetAtt": [bucket.logical_id, "Arn"]}
    broken.statements(policy_of(model, "AWS::S3::BucketPolicy", "Bucket", bucket)).append({
        "Effect": "Deny", "Principal": {"AWS": {"Fn::GetAtt": [role.logical_id, "Arn"]}}, "Action": "s3:*",
        "Resource": [arn, {"Fn::Join": ["", [arn, "/*"]]}],
    })  # fmt: skip


def remove_the_account_from_the_cache_tokens_key(model: PermissionModel, broken: Broken) -> None:
    key = model.key_of(the(model, "data/Cache/AuthToken"))
    assert key and key.id
    statements = broken.statements(key.id, "KeyPolicy")
    root = f"arn:aws:iam::{model.symbols.stacks[key.id.stack].account}:root"
    statements[:] = [s for s in statements if s.get("Principal") != {"AWS": root}]


def remove_the_account_from_the_table_replicas_keys(model: PermissionModel, broken: Broken) -> None:
    """Each secondary region's key of the table replicas there, its account statement taken away (a replica is
    decrypted with its own region's key, not the primary's)."""
    for table, props in model.symbols.each("AWS::DynamoDB::GlobalTable"):
        home = model.symbols.stacks[table.stack].region
        for region in {replica["Region"] for replica in props.get("Replicas", [])} - {home}:
            key = model.key_of(table, region)
            assert key and key.id
            root = f"arn:aws:iam::{model.symbols.stacks[key.id.stack].account}:root"
            statements = broken.statements(key.id, "KeyPolicy")
            statements[:] = [s for s in statements if s.get("Principal") != {"AWS": root}]


def drop_a_secondary_regions_task_secrets_key_grant(model: PermissionModel, broken: Broken) -> None:
    """The kms:Decrypt a secondary region's ECS execution roles have on that region's secrets key, taken away."""
    for policy, _ in model.symbols.each("AWS::IAM::Policy"):
        path = model.symbols.path(policy)
        if path != in_any_region(path) and "/Jobs/" in path and "ExecutionRole" in path:
            statements = broken.statements(policy)
            statements[:] = [s for s in statements if s.get("Action") != "kms:Decrypt"]


def leave_the_task_secrets_in_the_primary_region(model: PermissionModel, broken: Broken) -> None:
    """The app's secrets replicated nowhere: a secondary region's ECS tasks name replicas that do not exist."""
    for rid, _ in model.symbols.each("AWS::SecretsManager::Secret"):
        if model.symbols.path(rid).startswith("data/Secrets/"):
            broken.resource(rid)["Properties"].pop("ReplicaRegions", None)


def leave_the_cache_token_grant_undecided(model: PermissionModel, broken: Broken) -> None:
    for statement in broken.statements(the(model, "data/WorkloadRoles/App/Policy")):
        if statement.get("Sid") == "CacheAuthToken":
            statement["Condition"] = {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}


def let_lambda_assume_the_app_role(model: PermissionModel, broken: Broken) -> None:
    trust = broken.resource(the(model, "data/WorkloadRoles/App/Role"))["Properties"]["AssumeRolePolicyDocument"]
    for statement in trust["Statement"]:
        statement["Principal"] = {"Service": "lambda.amazonaws.com"}


def widen_karpenters_deletion_to_everything(model: PermissionModel, broken: Broken) -> None:
    for statement in broken.statements(the(model, "platform/Karpenter/ControllerIdentity/NodeLifecyclePolicy")):
        if statement.get("Sid") == "AllowScopedDeletion":
            statement["Resource"] = "*"
            del statement["Condition"]


def key_karpenters_deletion_to_the_cluster_tag_alone(model: PermissionModel, broken: Broken) -> None:
    """The hand-written policy's TerminateOwned: any instance of the cluster, managed node groups' included."""
    for statement in broken.statements(the(model, "platform/Karpenter/ControllerIdentity/NodeLifecyclePolicy")):
        if statement.get("Sid") == "AllowScopedDeletion":
            del statement["Condition"]["StringLike"]


def trust_the_whole_account_with_the_app_role(model: PermissionModel, broken: Broken) -> None:
    role = the(model, "data/WorkloadRoles/App/Role")
    account = model.symbols.stacks[role.stack].account
    broken.resource(role)["Properties"]["AssumeRolePolicyDocument"]["Statement"].append(
        {"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"AWS": f"arn:aws:iam::{account}:root"}}
    )


def let_any_topic_deliver_to_a_queue(model: PermissionModel, broken: Broken) -> None:
    queue = the(model, "data/Messaging/ActionRequestsQueue")
    for statement in broken.statements(policy_of(model, "AWS::SQS::QueuePolicy", "Queues", queue)):
        if statement.get("Principal") == {"Service": "sns.amazonaws.com"}:
            del statement["Condition"]


def claim_a_tag_condition_for_x_ray(model: PermissionModel, broken: Broken) -> None:
    broken.acknowledgments[:] = [
        dataclasses.replace(a, reason=a.reason + " Every write is tag-conditioned.")
        if a.path == "platform/ActionRequestsConsumer/Function" and a.finding == "AwsSolutions-IAM5[Resource::*]"
        else a
        for a in broken.acknowledgments
    ]


def write_through_a_read_only_acknowledgment(model: PermissionModel, broken: Broken) -> None:
    for statement in broken.statements(the(model, "platform/Karpenter/ControllerIdentity/ResourceDiscoveryPolicy")):
        if statement.get("Sid") == "AllowSSMReadActions":
            statement["Action"] = ["ssm:GetParameter", "ssm:PutParameter"]


def keep_the_signing_key_in_one_region(model: PermissionModel, broken: Broken) -> None:
    broken.resource(the(model, "data/Secrets/JwtSigningKey"))["Properties"].pop("ReplicaRegions")


def acknowledge_a_wildcard_nobody_has(model: PermissionModel, broken: Broken) -> None:
    broken.acknowledgments.append(
        Acknowledgment("", "data/WorkloadRoles/App", "AwsSolutions-IAM5[Resource::arn:aws:s3:::nobody/*]", "Stale.")
    )


def drop_the_influxdb_log_delivery_statement(model: PermissionModel, broken: Broken) -> None:
    bucket = the(model, "data/TimeSeries/Logs/Bucket")
    statements = broken.statements(policy_of(model, "AWS::S3::BucketPolicy", "Bucket", bucket), "PolicyDocument")
    statements[:] = [s for s in statements if s.get("Sid") != "InfluxDbLogDelivery"]


def let_dax_write_every_table(model: PermissionModel, broken: Broken) -> None:
    for statement in broken.statements(the(model, "data/Accelerator/ServiceRole/Policy")):
        if statement.get("Sid") == "Tables":
            statement["Resource"] = "*"


def drop_the_guardrail_condition(model: PermissionModel, broken: Broken) -> None:
    for statement in broken.statements(the(model, "ai/Bedrock/InvokePolicy")):
        if statement.get("Sid") == "InvokeThroughGuardrail":
            del statement["Condition"]


def grant_every_model(model: PermissionModel, broken: Broken) -> None:
    for statement in broken.statements(the(model, "ai/Bedrock/InvokePolicy")):
        if statement.get("Sid") == "InvokeThroughGuardrail":
            statement["Resource"] = "arn:aws:bedrock:*::foundation-model/*"


def let_sagemaker_read_every_model(model: PermissionModel, broken: Broken) -> None:
    for statement in broken.statements(the(model, f"{INFERENCE}/ExecutionRole/Policy")):
        if statement.get("Sid") == "ModelData":
            statement["Resource"] = "arn:aws:s3:::*/*"


def drop_cloudfront_from_the_replica_regions(sid: str, resource_type: str, document: str) -> Callable[..., None]:
    """Statement `sid` goes from every `resource_type` (its `document`) of the secondary regions' data stacks."""

    def apply(model: PermissionModel, broken: Broken) -> None:
        for rid, _ in model.symbols.each(resource_type):
            if model.symbols.path(rid).startswith("data-"):
                statements = broken.statements(rid, document)
                statements[:] = [s for s in statements if s.get("Sid") != sid]

    return apply


@dataclass(frozen=True)
class Mutation:
    breaks: str
    apply: Callable[[PermissionModel, Broken], None]
    contract: str
    subjects: frozenset[str]
    """What the contract must report (flows by name; other contracts: a failure whose subject contains each)."""
    names: str
    """What every reported failure must name."""
    applies: Callable[[StageConfig], bool] = lambda config: True
    """Whether the stage has what the mutation breaks (a store it may turn off)."""


CONTRACTS: dict[str, Callable[[PermissionModel, StageConfig], list[Failure]]] = {
    "flows": lambda model, config: flow_failures(model, config, FLOWS),
    "bindings": binding_failures,
    "forbidden": forbidden_failures,
    "mutations": mutation_failures,
    "trust": trust_failures,
    "sources": source_failures,
    "acknowledgments": acknowledgment_failures,
    "replicas": replica_failures,
    "task secrets": task_secret_failures,
}

MUTATIONS = (
    Mutation("a secondary region's table and database grants", drop_the_secondary_regions_table_and_database_grants,
             "flows", frozenset({"app workloads in a secondary region use the tables' replicas there",
                                 "app workloads in a secondary region log in to its global-database secondary (IAM)"}),
             "no statement of data/WorkloadRoles/App/Role's policies allows it", applies=with_secondaries),
    Mutation("a secondary region's lake grants", drop_a_secondary_regions_lake_grants, "flows",
             frozenset({"app workloads put records on the stream", "app workloads search and index OpenSearch"}),
             "no statement of data/WorkloadRoles/App/Role's policies allows it", applies=with_active_secondaries),
    Mutation("the account in the table replicas' keys", remove_the_account_from_the_table_replicas_keys, "flows",
             frozenset({"app workloads in a secondary region use the tables' replicas there"}), "names neither",
             applies=with_secondaries),
    Mutation("a secondary region's task execution role without its secrets key",
             drop_a_secondary_regions_task_secrets_key_grant, "flows",
             frozenset({"the data-processing task's execution role reads the secrets it names"}), "kms:Decrypt",
             applies=with_active_secondaries),
    Mutation("the images replica's grant to CloudFront",
             drop_cloudfront_from_the_replica_regions("CloudFrontOriginAccessControl", "AWS::S3::BucketPolicy",
                                                      "PolicyDocument"),
             "flows", frozenset({"CloudFront reads every bucket its origins name, the images replica it fails over to "
                                 "included"}),
             "does not allow cloudfront.amazonaws.com", applies=with_images_failover),
    Mutation("the replica key's grant to CloudFront",
             drop_cloudfront_from_the_replica_regions("CloudFrontReadsImages", "AWS::KMS::Key", "KeyPolicy"),
             "flows", frozenset({"CloudFront reads every bucket its origins name, the images replica it fails over to "
                                 "included"}),
             "names neither cloudfront.amazonaws.com", applies=with_images_failover),
    Mutation("the task secrets left in the primary region", leave_the_task_secrets_in_the_primary_region,
             "task secrets", frozenset({"platform-"}), "names no secret in", applies=with_active_secondaries),
    Mutation("the app role's Tables statement", drop_the_app_roles_tables_statement, "flows",
             frozenset({"app workloads read and write the conversations and sessions",
                        "app workloads query the tables' indexes"}),
             "no statement of data/WorkloadRoles/App/Role's policies allows it"),
    Mutation("the Kafka consumer's topic statement", drop_the_kafka_consumers_topic_reads, "flows",
             frozenset({"the Kafka consumer reads its topics"}), "kafka-cluster:"),
    Mutation("a Deny in a bucket policy", deny_the_app_role_in_a_bucket_policy, "flows",
             frozenset({"app workloads read and write documents, chunks, uploads and backups",
                        "app workloads list those buckets"}), "denies it"),
    Mutation("the account in the cache token's key policy", remove_the_account_from_the_cache_tokens_key, "flows",
             frozenset({"app workloads read the cache AUTH token"}), "names neither"),
    Mutation("an undecided condition on an Allow", leave_the_cache_token_grant_undecided, "flows",
             frozenset({"app workloads read the cache AUTH token"}), "undecided: aws:SourceIp"),
    Mutation("Pod Identity in the app role's trust", let_lambda_assume_the_app_role, "bindings",
             frozenset({"data/WorkloadRoles/App/Role"}), "pods.eks.amazonaws.com"),
    Mutation("a Karpenter statement widened to * without conditions", widen_karpenters_deletion_to_everything,
             "mutations", frozenset({"platform/Karpenter/ControllerIdentity/Role/Role"}),
             "ec2:TerminateInstances on *"),
    Mutation("Karpenter's deletion keyed to the cluster tag alone", key_karpenters_deletion_to_the_cluster_tag_alone,
             "forbidden", frozenset({"Karpenter terminates a managed node group's instance"}),
             "may call ec2:TerminateInstances"),
    Mutation("a role trusting its whole account", trust_the_whole_account_with_the_app_role, "trust",
             frozenset({"data/WorkloadRoles/App/Role"}), ":root"),
    Mutation("the source of a topic's delivery", let_any_topic_deliver_to_a_queue, "sources",
             frozenset({"data/Messaging/ActionRequestsQueue"}), "service:sns.amazonaws.com"),
    Mutation("an acknowledgment reworded falsely", claim_a_tag_condition_for_x_ray, "acknowledgments",
             frozenset({"platform/ActionRequestsConsumer/Function AwsSolutions-IAM5[Resource::*]"}),
             "claims tag-conditioned"),
    Mutation("a write under a read-only acknowledgment", write_through_a_read_only_acknowledgment, "acknowledgments",
             frozenset({"platform/Karpenter/ControllerIdentity AwsSolutions-IAM5[Resource::arn:aws:ssm:"}),
             "claims read-only"),
    Mutation("an acknowledgment that excuses nothing", acknowledge_a_wildcard_nobody_has, "acknowledgments",
             frozenset({"data/WorkloadRoles/App AwsSolutions-IAM5[Resource::arn:aws:s3:::nobody/*]"}),
             "excuses nothing"),
    Mutation("a secret the app reads left in one region", keep_the_signing_key_in_one_region, "replicas",
             frozenset({"data/Secrets/JwtSigningKey"}), "no replica in", applies=with_secondaries),
    Mutation("InfluxDB's log delivery statement", drop_the_influxdb_log_delivery_statement, "flows",
             frozenset({"Timestream for InfluxDB delivers its engine logs"}), "s3:PutObject",
             applies=with_time_series),
    Mutation("DAX's role on every table", let_dax_write_every_table, "forbidden",
             frozenset({"DAX writes a table other than the two it fronts"}), "may call dynamodb:PutItem",
             applies=with_accelerator),
    Mutation("Bedrock without the guardrail condition", drop_the_guardrail_condition, "forbidden",
             frozenset({"workloads invoke a Bedrock model without the guardrail"}), "may call bedrock:InvokeModel",
             with_bedrock),
    Mutation("Bedrock on every model", grant_every_model, "forbidden",
             frozenset({"workloads invoke a Bedrock model the config does not name"}), UNCONFIGURED_MODEL,
             with_bedrock),
    Mutation("SageMaker's role on every model", let_sagemaker_read_every_model, "forbidden",
             frozenset({"SageMaker reads model data other than its own"}), "may call s3:GetObject", with_sagemaker),
)  # fmt: skip


def test_every_contract_has_a_mutation() -> None:
    assert {m.contract for m in MUTATIONS} == set(CONTRACTS)


@pytest.mark.parametrize("mutation", MUTATIONS, ids=lambda mutation: mutation.breaks)
def test_each_contract_reports_what_a_mutation_breaks(
    mutation: Mutation,
    model: PermissionModel,
    inputs: Callable[[str], StageInput],
    config: StageConfig,
    stage: str,
) -> None:
    if not mutation.applies(config):
        pytest.skip(f"{stage} does not build what {mutation.breaks} breaks")
    contract = CONTRACTS[mutation.contract]
    assert not contract(model, config), "the unbroken templates must pass first"
    original = inputs(stage)
    broken = Broken({s.name: copied(s) for s in original.stacks}, list(original.acknowledgments))
    mutation.apply(model, broken)
    failures = contract(PermissionModel(stage, list(broken.stacks.values()), broken.acknowledgments), config)
    subjects = {f.subject for f in failures}
    if mutation.contract == "flows":
        assert mutation.subjects <= subjects, report(failures)
    else:
        assert all(any(s in subject for subject in subjects) for s in mutation.subjects), report(failures)
    unnamed = [f for f in failures if mutation.names not in str(f)]
    assert not unnamed, f"these do not name {mutation.names!r}:\n{report(unnamed)}"
