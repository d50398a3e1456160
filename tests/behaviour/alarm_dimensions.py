"""What CloudWatch publishes, and what each alarm of a stage watches: a metric exists only under the namespace,
name and exact set of dimensions its service publishes it with (an alarm on any other combination waits for data
that never comes), and each dimension's value must be the resource the alarm claims to watch.

`PUBLISHED` holds, per namespace, the dimension sets each metric the platform alarms on is published with, from
the service's CloudWatch metrics page (cited). `IDENTIFIED_BY` says what each dimension's value is: an attribute
(or the Ref) of a resource type, followed through Ref, Fn::GetAtt and the weak cross-stack Fn::GetStackOutput to
the resource itself (identity, never a string match), or for the few names CloudFormation exposes no attribute
for, the name property of a resource of that type in the stage. `alarm_failures` checks every
AWS::CloudWatch::Alarm of every stack, single metrics and the members of metric math alike.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from lambdas.stream_processor.event_schema import SOURCES
from tests.behaviour.templates import StackTemplate, output

ELB_DOC = "https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-cloudwatch-metrics.html"
SQS_DOC = (
    "https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-available-cloudwatch-metrics.html"
)
RDS_DOC = "https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/dimensions.html"
AURORA_DOC = "https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/Aurora.AuroraMonitoring.Metrics.html"
ELASTICACHE_DOC = "https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/CacheMetrics.html"
DYNAMODB_DOC = "https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/metrics-dimensions.html"
LAMBDA_DOC = "https://docs.aws.amazon.com/lambda/latest/dg/monitoring-metrics-types.html"
KINESIS_DOC = "https://docs.aws.amazon.com/streams/latest/dev/monitoring-with-cloudwatch.html"
MSK_DOC = "https://docs.aws.amazon.com/msk/latest/developerguide/metrics-details.html"
OPENSEARCH_DOC = (
    "https://docs.aws.amazon.com/opensearch-service/latest/developerguide/managedomains-cloudwatchmetrics.html"
)
FLINK_DOC = "https://docs.aws.amazon.com/managed-flink/latest/java/metrics-dimensions.html"
FIREHOSE_DOC = "https://docs.aws.amazon.com/firehose/latest/dev/monitoring-with-cloudwatch-metrics.html"
NEPTUNE_DOC = "https://docs.aws.amazon.com/neptune/latest/userguide/cw-dimensions.html"
DAX_DOC = "https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/dax-metrics-dimensions-dax.html"
INFLUXDB_DOC = (
    "https://docs.aws.amazon.com/timestream/latest/developerguide/timestream-for-influx-monitoring-configuration-"
    "optimization.html (dimension DbInstanceName); the namespace as AWS's agent toolkit for Timestream for InfluxDB "
    "lists it (github.com/aws/agent-toolkit-for-aws, timestream-influxdb/references/monitoring-metrics.md)"
)
SAGEMAKER_DOC = "https://docs.aws.amazon.com/sagemaker/latest/dg/monitoring-cloudwatch.html"
"""Endpoint invocation metrics (AWS/SageMaker), published per EndpointName and VariantName."""
BEDROCK_DOC = "https://docs.aws.amazon.com/bedrock/latest/userguide/monitoring.html"
"""Runtime metrics (AWS/Bedrock), published per ModelId: the model or inference profile the request names."""
CONTAINER_INSIGHTS_DOC = (
    "https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/Container-Insights-metrics-EKS.html"
)

Sets = tuple[frozenset[str], ...]


def sets(*groups: str) -> Sets:
    """Dimension sets written as comma-separated names."""
    return tuple(frozenset(name.strip() for name in group.split(",")) for group in groups)


_LB_REQUESTS = sets("LoadBalancer", "LoadBalancer, AvailabilityZone", "LoadBalancer, TargetGroup",
                    "LoadBalancer, AvailabilityZone, TargetGroup")  # fmt: skip
_LB_TARGETS = sets("LoadBalancer, TargetGroup", "LoadBalancer, AvailabilityZone, TargetGroup")
_QUEUE = sets("QueueName")
_CACHE_NODE = sets("CacheClusterId", "CacheClusterId, CacheNodeId")
_DOMAIN = sets("ClientId, DomainName", "ClientId, DomainName, NodeId")

PUBLISHED: dict[str, tuple[str, dict[str, Sets]]] = {
    "AWS/ApplicationELB": (ELB_DOC, {
        "RequestCount": _LB_REQUESTS,
        "HTTPCode_Target_5XX_Count": _LB_REQUESTS,
        "TargetResponseTime": _LB_REQUESTS,
        "HTTPCode_ELB_5XX_Count": sets("LoadBalancer", "LoadBalancer, AvailabilityZone"),
        "UnHealthyHostCount": _LB_TARGETS,
        "HealthyHostCount": _LB_TARGETS,
    }),
    "AWS/SQS": (SQS_DOC, {
        "ApproximateNumberOfMessagesVisible": _QUEUE,
        "ApproximateNumberOfMessagesNotVisible": _QUEUE,
        "ApproximateAgeOfOldestMessage": _QUEUE,
    }),
    "AWS/RDS": (f"{RDS_DOC}; {AURORA_DOC}", {
        "CPUUtilization": sets("DBInstanceIdentifier", "DBClusterIdentifier", "DBClusterIdentifier, Role",
                               "DatabaseClass", "EngineName"),
        "FreeStorageSpace": sets("DBInstanceIdentifier", "DatabaseClass", "EngineName"),
        "ServerlessDatabaseCapacity": sets("DBClusterIdentifier", "DBClusterIdentifier, Role", "DBInstanceIdentifier"),
        "ACUUtilization": sets("DBClusterIdentifier", "DBClusterIdentifier, Role", "DBInstanceIdentifier"),
        # A global database's secondary cluster publishes how far it trails the primary, in milliseconds.
        "AuroraGlobalDBReplicationLag": sets("DBClusterIdentifier"),
    }),
    "AWS/ElastiCache": (ELASTICACHE_DOC, {
        "EngineCPUUtilization": _CACHE_NODE,
        "Evictions": _CACHE_NODE,
        "DatabaseMemoryUsagePercentage": _CACHE_NODE,
    }),
    "AWS/Neptune": (NEPTUNE_DOC, {
        "CPUUtilization": sets("DBInstanceIdentifier", "DBClusterIdentifier", "DBClusterIdentifier, Role",
                               "DatabaseClass", "EngineName"),
        "ServerlessDatabaseCapacity": sets("DBClusterIdentifier", "DBInstanceIdentifier"),
    }),
    "AWS/DAX": (DAX_DOC, {
        "CPUUtilization": sets("ClusterId", "ClusterId, NodeId"),
        "ThrottledRequestCount": sets("ClusterId", "ClusterId, NodeId"),
    }),
    "AWS/TimestreamInfluxDB": (INFLUXDB_DOC, {
        "CPUUtilization": sets("DbInstanceName"),
        "MemoryUtilization": sets("DbInstanceName"),
    }),
    "AWS/DynamoDB": (DYNAMODB_DOC, {
        "ReadThrottleEvents": sets("TableName", "TableName, GlobalSecondaryIndexName"),
        "WriteThrottleEvents": sets("TableName", "TableName, GlobalSecondaryIndexName"),
    }),
    "AWS/Lambda": (LAMBDA_DOC, {
        "Errors": sets("FunctionName", "FunctionName, Resource", "FunctionName, ExecutedVersion"),
        "Throttles": sets("FunctionName", "FunctionName, Resource", "FunctionName, ExecutedVersion"),
    }),
    "AWS/Kinesis": (KINESIS_DOC, {
        "GetRecords.IteratorAgeMilliseconds": sets("StreamName", "StreamName, ShardId"),
    }),
    "AWS/Kafka": (MSK_DOC, {
        # DEFAULT monitoring level: the disk metric is per broker, never per cluster.
        "KafkaDataLogsDiskUsed": sets("Cluster Name, Broker ID"),
    }),
    "AWS/ES": (OPENSEARCH_DOC, {
        "ClusterStatus.red": sets("ClientId, DomainName"),
        "ClusterStatus.yellow": sets("ClientId, DomainName"),
        "FreeStorageSpace": _DOMAIN,
        "ClusterUsedSpace": sets("ClientId, DomainName"),
    }),
    "AWS/KinesisAnalytics": (FLINK_DOC, {
        # Application-level metrics: published per Application (the application's name).
        "downtime": sets("Application"),
        "numberOfFailedCheckpoints": sets("Application"),
    }),
    "AWS/Firehose": (FIREHOSE_DOC, {
        "DeliveryToAmazonOpenSearchService.Success": sets("DeliveryStreamName"),
        "DeliveryToS3.Success": sets("DeliveryStreamName"),
    }),
    "AWS/SageMaker": (SAGEMAKER_DOC, {
        "Invocation5XXErrors": sets("EndpointName, VariantName"),
        "ModelLatency": sets("EndpointName, VariantName"),
    }),
    "AWS/Bedrock": (BEDROCK_DOC, {
        "InvocationServerErrors": sets("ModelId"),
        "InvocationThrottles": sets("ModelId"),
    }),
    "ContainerInsights": (CONTAINER_INSIGHTS_DOC, {
        "node_cpu_utilization": sets("ClusterName", "ClusterName, InstanceId, NodeName"),
        # Only per pod (PodName, Namespace, ClusterName): a cluster-wide restart count is not published.
        "pod_number_of_container_restarts": sets("ClusterName, Namespace, PodName"),
    }),
}  # fmt: skip
"""Namespace -> (source, metric -> the dimension sets CloudWatch publishes it with)."""

OWN_METRICS: dict[str, tuple[str, Sets]] = {
    "QuarantinedRecords": ("glue_jobs/raw_to_processed.py, lambdas/stream_processor/handler.py", sets("Source")),
    "FailedWorkflowRuns": ("glue_jobs/report_failure.py", sets("Workflow")),
}
"""The platform's own metrics: metric -> (the code that publishes it, its dimension sets). They live in the
stage's namespace, which the stack passes to that code (`--metrics_namespace` of a Glue job, `METRICS_NAMESPACE`
of a Lambda function); test_alarms.py checks each file publishes its metric."""
STREAM_PROCESSOR_SOURCE = "stream-processor"
OWN_SOURCES = (*SOURCES, STREAM_PROCESSOR_SOURCE)
"""The Source values of QuarantinedRecords: the raw zone's sources (Glue) and the stream processor's own."""


@dataclass(frozen=True)
class Attribute:
    """The value is `attribute` ("" for Ref) of a resource of one of `types`."""

    types: tuple[str, ...]
    attribute: str = ""


@dataclass(frozen=True)
class NameProperty:
    """The value is the literal `property` of a resource of `type` in the stage (CloudFormation has no attribute
    for it: MSK's cluster name, OpenSearch's domain name)."""

    type: str
    property: str


@dataclass(frozen=True)
class MemberOf:
    """The value is the Ref of a resource of `type` followed by `-NNN`, for NNN from 001 to its `count` property
    (ElastiCache's member clusters of a replication group with cluster mode off), or, where it has `shards`, by
    `-SSSS-NNN`: shard 0001 to `shards`, node 001 to 1 + `replicas` (cluster mode on)."""

    type: str
    count: str
    shards: str
    replicas: str


@dataclass(frozen=True)
class BrokerOf:
    """A broker number from 1 to the `NumberOfBrokerNodes` of the MSK cluster the same metric names."""


@dataclass(frozen=True)
class Account:
    """The id of the account the alarm's stack deploys to."""


@dataclass(frozen=True)
class OneOf:
    """A literal the publishing code writes from its data (the raw sources of the lake's records)."""

    values: tuple[str, ...]


@dataclass(frozen=True)
class VariantOf:
    """A production variant of the endpoint configuration of the SageMaker endpoint the same metric names."""


@dataclass(frozen=True)
class InvokedModel:
    """A model (or inference profile) id some IAM policy of the stage lets a principal call bedrock:InvokeModel on:
    CloudWatch publishes only what requests name, and requests name only what they may invoke."""


Identified = Attribute | NameProperty | MemberOf | BrokerOf | Account | OneOf | VariantOf | InvokedModel
OWN = "<the stage's own namespace>"

IDENTIFIED_BY: dict[tuple[str, str], Identified] = {
    ("AWS/ApplicationELB", "LoadBalancer"): Attribute(("AWS::ElasticLoadBalancingV2::LoadBalancer",),
                                                      "LoadBalancerFullName"),
    ("AWS/ApplicationELB", "TargetGroup"): Attribute(("AWS::ElasticLoadBalancingV2::TargetGroup",),
                                                     "TargetGroupFullName"),
    ("AWS/SQS", "QueueName"): Attribute(("AWS::SQS::Queue",), "QueueName"),
    ("AWS/RDS", "DBClusterIdentifier"): Attribute(("AWS::RDS::DBCluster",)),
    ("AWS/RDS", "DBInstanceIdentifier"): Attribute(("AWS::RDS::DBInstance",)),
    ("AWS/ElastiCache", "CacheClusterId"): MemberOf("AWS::ElastiCache::ReplicationGroup", "NumCacheClusters",
                                                    "NumNodeGroups", "ReplicasPerNodeGroup"),
    ("AWS/Neptune", "DBInstanceIdentifier"): Attribute(("AWS::Neptune::DBInstance",)),
    ("AWS/Neptune", "DBClusterIdentifier"): Attribute(("AWS::Neptune::DBCluster",)),
    ("AWS/DAX", "ClusterId"): Attribute(("AWS::DAX::Cluster",)),
    ("AWS/TimestreamInfluxDB", "DbInstanceName"): NameProperty("AWS::Timestream::InfluxDBInstance", "Name"),
    ("AWS/DynamoDB", "TableName"): Attribute(("AWS::DynamoDB::GlobalTable", "AWS::DynamoDB::Table")),
    ("AWS/Lambda", "FunctionName"): Attribute(("AWS::Lambda::Function",)),
    ("AWS/Kinesis", "StreamName"): Attribute(("AWS::Kinesis::Stream",)),
    ("AWS/Kafka", "Cluster Name"): NameProperty("AWS::MSK::Cluster", "ClusterName"),
    ("AWS/Kafka", "Broker ID"): BrokerOf(),
    ("AWS/ES", "DomainName"): NameProperty("AWS::OpenSearchService::Domain", "DomainName"),
    ("AWS/ES", "ClientId"): Account(),
    ("AWS/SageMaker", "EndpointName"): Attribute(("AWS::SageMaker::Endpoint",), "EndpointName"),
    ("AWS/SageMaker", "VariantName"): VariantOf(),
    ("AWS/Bedrock", "ModelId"): InvokedModel(),
    ("ContainerInsights", "ClusterName"): Attribute(("AWS::EKS::Cluster",)),
    ("AWS/KinesisAnalytics", "Application"): NameProperty("AWS::KinesisAnalyticsV2::Application", "ApplicationName"),
    ("AWS/Firehose", "DeliveryStreamName"): Attribute(("AWS::KinesisFirehose::DeliveryStream",)),
    (OWN, "Workflow"): NameProperty("AWS::Glue::Workflow", "Name"),
    (OWN, "Source"): OneOf(OWN_SOURCES),
}  # fmt: skip
"""(namespace, dimension) -> what its value identifies (CloudFormation's Ref and attributes per resource type)."""


@dataclass(frozen=True)
class WatchedMetric:
    """One metric an alarm reads: the alarm's stack and logical id, and the metric's namespace, name and
    dimensions (name -> the template's value)."""

    stack: StackTemplate
    alarm: str
    namespace: str
    name: str
    dimensions: Mapping[str, Any]

    def __str__(self) -> str:
        return f"{self.stack.where(self.alarm)}: {self.namespace} {self.name} {sorted(self.dimensions)}"


def watched_metrics(stacks: Sequence[StackTemplate]) -> Iterator[WatchedMetric]:
    """Every metric of every alarm: its own, or each member of its metric math."""
    for stack in stacks:
        for logical_id, p in stack.of_type("AWS::CloudWatch::Alarm"):
            shapes = [p] if "MetricName" in p else [m["MetricStat"]["Metric"] for m in p.get("Metrics", [])
                                                    if "MetricStat" in m]  # fmt: skip
            for shape in shapes:
                dimensions = {d["Name"]: d["Value"] for d in shape.get("Dimensions", [])}
                yield WatchedMetric(stack, logical_id, shape["Namespace"], shape["MetricName"], dimensions)


def alarm_failures(stacks: Sequence[StackTemplate]) -> list[str]:
    """Why each metric of each alarm of `stacks` (one stage, every region) is not one its service publishes
    for the resource it names; empty when every alarm watches something real."""
    failures = []
    own = own_namespaces(stacks)
    for metric in watched_metrics(stacks):
        failures += [f"{metric}: {problem}" for problem in _problems(metric, stacks, own)]
    return failures


def own_namespaces(stacks: Sequence[StackTemplate]) -> set[str]:
    """The namespaces the stage hands its own publishers: Glue jobs' `--metrics_namespace`, Lambda functions'
    `METRICS_NAMESPACE`."""
    found = set()
    for stack in stacks:
        for _, job in stack.of_type("AWS::Glue::Job"):
            found.add(job.get("DefaultArguments", {}).get("--metrics_namespace"))
        for _, function in stack.of_type("AWS::Lambda::Function"):
            found.add(function.get("Environment", {}).get("Variables", {}).get("METRICS_NAMESPACE"))
    return {namespace for namespace in found if isinstance(namespace, str)}


def _problems(metric: WatchedMetric, stacks: Sequence[StackTemplate], own: set[str]) -> list[str]:
    """What is wrong with `metric`; `own` is `own_namespaces(stacks)`, read once for every metric."""
    if metric.namespace in own:
        source, metrics = "the platform's code", {name: dims for name, (_, dims) in OWN_METRICS.items()}
    elif metric.namespace not in PUBLISHED:
        return [f"namespace {metric.namespace} is not in PUBLISHED nor handed to a publisher of the stage"]
    else:
        source, metrics = PUBLISHED[metric.namespace]
    if metric.name not in metrics:
        return [f"{metric.namespace} publishes no {metric.name} the table knows ({source})"]
    if frozenset(metric.dimensions) not in metrics[metric.name]:
        published = " or ".join(str(sorted(s)) for s in metrics[metric.name])
        return [f"{metric.name} is published with {published}, not {sorted(metric.dimensions)} ({source})"]
    problems = []
    for name, value in metric.dimensions.items():
        namespace = OWN if source == "the platform's code" else metric.namespace
        rule = IDENTIFIED_BY.get((namespace, name))
        if rule is None:
            problems.append(f"{name}: no rule in IDENTIFIED_BY says what it names")
        elif (why := _unidentified(rule, value, metric, stacks)) is not None:
            problems.append(f"{name}: {why}")
    return problems


def _unidentified(rule: Identified, value: Any, metric: WatchedMetric, stacks: Sequence[StackTemplate]) -> str | None:
    """Why `value` is not what `rule` asks for, or None when it is."""
    stack = metric.stack
    if isinstance(rule, OneOf):
        return None if value in rule.values else f"{value!r} is none of {', '.join(rule.values)}"
    if isinstance(rule, Account):
        literal = value == stack.account or value == {"Ref": "AWS::AccountId"}
        return None if literal else f"{value!r} is not the account {stack.account}"
    if isinstance(rule, NameProperty):
        names = {p.get(rule.property) for s in stacks for _, p in s.of_type(rule.type)}
        return None if isinstance(value, str) and value in names else f"{value!r} names no {rule.type} of the stage"
    if isinstance(rule, BrokerOf):
        cluster = metric.dimensions.get("Cluster Name")
        brokers = [p.get("NumberOfBrokerNodes", 0) for s in stacks for _, p in s.of_type("AWS::MSK::Cluster")
                   if p.get("ClusterName") == cluster]  # fmt: skip
        valid = bool(brokers) and isinstance(value, str) and value.isdigit() and 1 <= int(value) <= int(brokers[0])
        return None if valid else f"{value!r} is no broker of the MSK cluster {cluster!r}"
    if isinstance(rule, MemberOf):
        return _member(rule, value, stack, stacks)
    if isinstance(rule, VariantOf):
        return _variant(value, metric, stacks)
    if isinstance(rule, InvokedModel):
        invoked = _invoked_models(stacks)
        return None if value in invoked else f"{value!r} is no model a policy of the stage lets anyone invoke"
    found = resolve(stack, value, stacks)
    if found is None:
        return f"{_text(value)} is not a reference to a resource (a name typed into the template?)"
    producer, logical_id, attribute = found
    kind = producer.type_of(logical_id)
    if kind not in rule.types or attribute != rule.attribute:
        wanted = f"{' or '.join(rule.types)} {rule.attribute or 'Ref'}"
        return f"is {kind} {attribute or 'Ref'} of {producer.where(logical_id)}, not the {wanted}"
    return None


def _member(rule: MemberOf, value: Any, stack: StackTemplate, stacks: Sequence[StackTemplate]) -> str | None:
    parts = value.get("Fn::Join", [None, []])[1] if isinstance(value, dict) else []
    suffix = re.fullmatch(r"-(?:(\d{4})-)?(\d{3})", parts[1]) if len(parts) == 2 and isinstance(parts[1], str) else None
    if suffix is None:
        return f"{_text(value)} is not <{rule.type} Ref>-NNN or -SSSS-NNN"
    found = resolve(stack, parts[0], stacks)
    if found is None or found[0].type_of(found[1]) != rule.type or found[2]:
        return f"{_text(parts[0])} is not the Ref of a {rule.type}"
    props = found[0].resources[found[1]]["Properties"]
    shard, node = suffix.groups()
    where = f"{rule.type} {found[0].where(found[1])}"
    if (shard is None) != (rule.shards not in props):
        mode = "on" if rule.shards in props else "off"
        return f"{where} has cluster mode {mode}: its members are not named {parts[1]}"
    if shard is None:
        count = props.get(rule.count, 1)
        return None if 1 <= int(node) <= int(count) else f"{where} has {count} members, not {node}"
    shards, nodes = int(props[rule.shards]), 1 + int(props.get(rule.replicas, 0))
    if not (1 <= int(shard) <= shards and 1 <= int(node) <= nodes):
        return f"{where} has {shards} shards of {nodes} nodes, not shard {shard} node {node}"
    return None


def _variant(value: Any, metric: WatchedMetric, stacks: Sequence[StackTemplate]) -> str | None:
    found = resolve(metric.stack, metric.dimensions.get("EndpointName"), stacks)
    if found is None or found[0].type_of(found[1]) != "AWS::SageMaker::Endpoint":
        return "its EndpointName names no SageMaker endpoint, so no variant can be checked"
    endpoint, logical_id, _ = found
    config = resolve(endpoint, endpoint.resources[logical_id]["Properties"]["EndpointConfigName"], stacks)
    if config is None:
        return "the endpoint's EndpointConfigName is not a reference to an endpoint configuration"
    variants = [v["VariantName"] for v in config[0].resources[config[1]]["Properties"]["ProductionVariants"]]
    return None if value in variants else f"{value!r} is none of the endpoint's variants {variants}"


def _invoked_models(stacks: Sequence[StackTemplate]) -> set[str]:
    """The model and inference-profile ids named in the resources of any statement allowing bedrock:InvokeModel."""
    found = set()
    for stack in stacks:
        for _, policy in (*stack.of_type("AWS::IAM::ManagedPolicy"), *stack.of_type("AWS::IAM::Policy")):
            for statement in policy["PolicyDocument"]["Statement"]:
                actions = statement.get("Action", [])
                if statement["Effect"] != "Allow" or "bedrock:InvokeModel" not in listed_of(actions):
                    continue
                for resource in listed_of(statement.get("Resource", [])):
                    shaped = isinstance(resource, str) and re.search(
                        r":(?:foundation-model|inference-profile)/(.+)$", resource
                    )
                    if shaped:
                        found.add(shaped[1])
    return found


def listed_of(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def resolve(stack: StackTemplate, value: Any, stacks: Sequence[StackTemplate]) -> tuple[StackTemplate, str, str] | None:
    """(the stack, logical id and attribute ("" for Ref) of) the resource `value` refers to, through weak
    cross-stack references; None for anything else (a literal, a join)."""
    while isinstance(value, dict) and set(value) == {"Fn::GetStackOutput"}:
        produced = output(value["Fn::GetStackOutput"], stacks)
        if produced is None:
            return None
        stack, value = produced
    if not isinstance(value, dict) or len(value) != 1:
        return None
    ((function, argument),) = value.items()
    if function == "Ref" and isinstance(argument, str) and argument in stack.resources:
        return stack, argument, ""
    if function == "Fn::GetAtt":
        logical_id, attribute = argument if isinstance(argument, list) else str(argument).split(".", 1)
        return (stack, logical_id, attribute) if logical_id in stack.resources else None
    return None


def _text(value: Any) -> str:
    return repr(value) if isinstance(value, str) else str(value)[:120]
