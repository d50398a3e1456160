"""The platform's CloudWatch alarms and dashboards, built by cdk-monitoring-constructs' MonitoringFacade from the
constructs they watch (seed 002's alert rules in CloudWatch terms): each alarm takes its namespace, metric and
dimensions from the resource, is named `<project>-<stage>-...` and goes to `critical` or `warning` by its
disambiguator; a composite "platform degraded" alarm over every critical one; anomaly detection on traffic (the
replacement for seed 000's Lookout for Metrics); Glue job failures through EventBridge.

Where the facade has no `monitor...` for a service (MSK, EKS Container Insights, the ingress load balancer
without an ECS service behind it, ElastiCache's memory percentage, Neptune, DAX, Timestream for InfluxDB),
`monitor_custom` alarms on metrics built from the construct's own attributes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import aws_cdk as cdk
import cdk_monitoring_constructs as monitoring
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_elasticache as elasticache
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_kinesis as kinesis
from aws_cdk import aws_kinesisfirehose as firehose
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_msk as msk
from aws_cdk import aws_opensearchservice as opensearch
from aws_cdk import aws_rds as rds
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct
from constructs.data.graph_database import GraphDatabase
from constructs.data.table_accelerator import TableAccelerator
from constructs.data.time_series_database import TimeSeriesDatabase

CRITICAL = "Critical"
WARNING = "Warning"
"""Disambiguators: the facade routes an alarm to the topic of its disambiguator."""
MINUTE = cdk.Duration.minutes(1)
ELB = "AWS/ApplicationELB"
SAGEMAKER = "AWS/SageMaker"
BEDROCK = "AWS/Bedrock"
CONTAINER_INSIGHTS = "ContainerInsights"
ANOMALY_STD_DEVS = 3
P99_LATENCY_SECONDS = 60
"""Seed 002: p99 latency > 60 s."""
INFLUXDB = "AWS/TimestreamInfluxDB"
"""Timestream for InfluxDB's namespace (AWS's agent toolkit for it; the user guide names only the dimension)."""
QUEUE_DEPTH = 100
QUEUE_DEPTH_MINUTES = 15
"""Seed 002: queue length > 100 for 15 minutes (HighQueueLength)."""
FLINK = "AWS/KinesisAnalytics"
FIREHOSE = "AWS/Firehose"
FLINK_MINUTES = 3
"""Downtime for 3 minutes: longer than an update's or autoscaling's restart."""
DELIVERY_MINUTES = 5


@dataclass(frozen=True)
class Watched:
    """The resources the alarms watch, as the other stacks' constructs."""

    database: rds.DatabaseCluster | rds.DatabaseInstance | None
    """None in a secondary region, whose global-database member `global_secondary` names."""
    aurora_max_acu: float | None
    """The cluster's maximum capacity (Aurora Serverless v2), or None for an RDS instance."""
    rds_free_storage_floor_bytes: float | None
    cache: elasticache.CfnReplicationGroup
    cache_members: Sequence[str]
    """The suffixes of its member clusters' ids (`001`, or `0001-001` with cluster mode): one per node."""
    tables: Sequence[dynamodb.ITableV2]
    queues: Mapping[str, sqs.Queue]
    """Work queues by name, each with the dead-letter queue it redrives to."""
    informational_queues: Mapping[str, sqs.IQueue]
    """Queues graphed but not alarmed on (Karpenter's interruption notices)."""
    load_balancer: elbv2.ApplicationLoadBalancer
    target_groups: Mapping[str, elbv2.ApplicationTargetGroup]
    cluster_name: str
    """The EKS cluster's name, as the cluster construct gives it (Container Insights' ClusterName)."""
    functions: Mapping[str, lambda_.IFunction]
    failure_queues: Mapping[str, sqs.IQueue] = field(default_factory=dict)
    """Queues whose messages are failures already (an event source's on-failure destination)."""
    stream: kinesis.IStream | None = None
    """The lake's stream, its Firehose streams by source (`delivery_streams`), Kafka, search and the ECS jobs:
    None (empty) in a region that runs no lake (a standby region)."""
    delivery_streams: Mapping[str, firehose.IDeliveryStream] = field(default_factory=dict)
    kafka: msk.CfnCluster | None = None
    search_domain: opensearch.CfnDomain | None = None
    ecs_service: ecs.FargateService | None = None
    flink_application: str | None = None
    """The Managed Flink application's name (stream processing), when the stage runs one."""
    deliveries: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    """Firehose streams alarmed on delivery: name -> (delivery stream name, its destination's metric prefix,
    DeliveryToAmazonOpenSearchService or DeliveryToS3)."""
    graph: GraphDatabase | None = None
    graph_max_ncu: float | None = None
    """The cluster's maximum capacity (Neptune serverless), or None for provisioned instances."""
    time_series: TimeSeriesDatabase | None = None
    accelerator: TableAccelerator | None = None
    inference: tuple[str, str] | None = None
    """The SageMaker endpoint's name (its CfnEndpoint attribute) and production variant; None without one."""
    bedrock_models: Sequence[str] = ()
    """The ids workloads invoke Bedrock models by, each a ModelId CloudWatch publishes under."""
    replica_tables: Mapping[str, dynamodb.ITableV2] = field(default_factory=dict)
    """A secondary region's replicas of the global tables, by the name their alarms carry."""
    global_secondary: str | None = None
    """The identifier of this region's Aurora Global Database secondary cluster, whose replication lag is the
    database's recovery point (a secondary region)."""


class PlatformMonitoring(Construct):
    """`facade` (the MonitoringFacade: its `created_alarms()` and dashboards `<prefix>` and `<prefix>-Alarms`),
    and `degraded` (the composite over every critical alarm of the services it watches; the lake's
    alerts page on their own)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        watch: Watched,
        name_prefix: str,
        critical: sns.ITopic,
        warning: sns.ITopic,
    ) -> None:
        super().__init__(scope, construct_id)
        notify = {
            severity: monitoring.SnsAlarmActionStrategy(on_alarm_topic=topic, on_ok_topic=topic)
            for severity, topic in ((CRITICAL, critical), (WARNING, warning))
        }
        self.facade = monitoring.MonitoringFacade(
            self,
            "Facade",
            alarm_factory_defaults=monitoring.AlarmFactoryDefaults(
                actions_enabled=True,
                alarm_name_prefix=name_prefix,
                action=notify[WARNING],
                disambiguator_action=notify,
            ),
            metric_factory_defaults=monitoring.MetricFactoryDefaults(period=MINUTE),
            dashboard_factory=monitoring.DefaultDashboardFactory(
                self,
                "Dashboards",
                dashboard_name_prefix=name_prefix,
                create_dashboard=True,
                create_alarm_dashboard=True,
                create_summary_dashboard=False,
            ),
        )
        self._ingress(watch.load_balancer, watch.target_groups)
        self._cluster(watch.cluster_name)
        self._data(watch)
        self._analytics(watch)
        self._ai(watch)
        self.degraded = self.facade.create_composite_alarm_using_disambiguator(
            CRITICAL,
            disambiguator=CRITICAL,
            alarm_name_suffix="PlatformDegraded",
            alarm_description="Any critical alarm of the platform's services is in ALARM",
            action_override=notify[CRITICAL],  # the composite has no disambiguator of its own to route it by
        )

    def _ingress(
        self, load_balancer: elbv2.ApplicationLoadBalancer, target_groups: Mapping[str, elbv2.ApplicationTargetGroup]
    ) -> None:
        """The ingress load balancer and each service's target group. The facade's load balancer monitors need an
        ECS service behind it, and CDK's target group metrics split the listener's ARN (an Fn::GetStackOutput
        here, which Fn::Split does not take), so the metrics come from the full-name attributes."""
        self.facade.add_large_header("Ingress")
        requests = load_balancer.metrics.request_count(period=MINUTE, statistic="Sum")
        api_errors = _error_rate(
            {
                "elb": load_balancer.metrics.http_code_elb(elbv2.HttpCodeElb.ELB_5XX_COUNT, period=MINUTE),
                "target": load_balancer.metrics.http_code_target(elbv2.HttpCodeTarget.TARGET_5XX_COUNT, period=MINUTE),
            },
            requests,
        )
        latency = load_balancer.metrics.target_response_time(period=MINUTE, statistic="p90")
        p99 = load_balancer.metrics.target_response_time(period=MINUTE, statistic="p99")
        self.facade.monitor_custom(
            alarm_friendly_name="Ingress",
            human_readable_name="Ingress load balancer",
            metric_groups=[
                monitoring.CustomMetricGroup(
                    title="5xx and latency",
                    metrics=[
                        _alarmed(
                            api_errors, "Api5xxRate", CRITICAL, 5, 3, "More than 5 % 5xx for 3 minutes (seed 002)"
                        ),
                        _alarmed(
                            p99,
                            "LatencyP99",
                            WARNING,
                            P99_LATENCY_SECONDS,
                            5,
                            "p99 target response time above 60 s for 5 minutes (seed 002)",
                        ),
                    ],
                ),
                monitoring.CustomMetricGroup(
                    title="Traffic against its learned band",
                    metrics=[_anomaly(requests, "RequestRateAnomaly"), _anomaly(latency, "LatencyAnomaly")],
                ),
            ],
        )
        for service, group in target_groups.items():
            dimensions = {
                "LoadBalancer": load_balancer.load_balancer_full_name,
                "TargetGroup": group.target_group_full_name,
            }
            errors = _error_rate(
                {"target": _metric(ELB, "HTTPCode_Target_5XX_Count", dimensions, "Sum")},
                _metric(ELB, "RequestCount", dimensions, "Sum"),
            )
            self.facade.monitor_custom(
                alarm_friendly_name=f"{service}-targets",
                human_readable_name=f"{service}: target group",
                metric_groups=[
                    monitoring.CustomMetricGroup(
                        title="Targets",
                        metrics=[
                            _alarmed(errors, "Target5xxRate", WARNING, 5, 3, f"{service}: more than 5 % 5xx for 3 min"),
                            _alarmed(
                                _metric(ELB, "UnHealthyHostCount", dimensions, "Maximum"),
                                "UnhealthyHosts",
                                WARNING,
                                0,
                                3,
                                f"{service}: a pod fails the load balancer's health check for 3 minutes",
                            ),
                            _metric(ELB, "HealthyHostCount", dimensions, "Minimum"),
                        ],
                    )
                ],
            )

    def _cluster(self, cluster_name: str) -> None:
        """EKS through Container Insights (the CloudWatch observability add-on), which the facade has no
        monitor for: the nodes' CPU and the GPU widgets. Container restarts are published per pod only, so seed
        002's PodRestartCount is a Prometheus rule on kube-state-metrics (tracing_and_metrics.py)."""
        self.facade.add_large_header("Cluster")
        cluster = {"ClusterName": cluster_name}

        def insight(name: str, statistic: str) -> cloudwatch.Metric:
            return _metric(CONTAINER_INSIGHTS, name, cluster, statistic)

        self.facade.monitor_custom(
            alarm_friendly_name="Cluster",
            human_readable_name="EKS (Container Insights)",
            metric_groups=[
                monitoring.CustomMetricGroup(
                    title="Nodes",
                    metrics=[
                        _alarmed(
                            insight("node_cpu_utilization", "Average"),
                            "NodeCpu",
                            CRITICAL,
                            90,
                            5,
                            "The cluster's nodes average above 90 % CPU for 5 minutes",
                        ),
                    ],
                ),
                monitoring.CustomMetricGroup(
                    title="GPUs",
                    metrics=[
                        insight(name, "Average")
                        for name in ("node_gpu_utilization", "node_gpu_memory_utilization", "node_gpu_temperature")
                    ],
                ),
            ],
        )

    def _data(self, watch: Watched) -> None:
        self.facade.add_large_header("Data")
        cpu = {CRITICAL: monitoring.UsageThreshold(max_usage_percent=90, **_for_minutes(5))}
        if watch.global_secondary:
            self._replication_lag(watch.global_secondary)
        if isinstance(watch.database, rds.DatabaseCluster):
            self.facade.monitor_aurora_cluster(
                cluster=watch.database,
                alarm_friendly_name="Database",
                add_cpu_usage_alarm=cpu,
                add_max_serverless_database_capacity_alarm={
                    WARNING: monitoring.UsageCountThreshold(
                        max_usage_count=0.9 * (watch.aurora_max_acu or 0), **_for_minutes(15)
                    )
                },
            )
        elif isinstance(watch.database, rds.DatabaseInstance):  # None in a secondary region
            self.facade.monitor_rds_instance(
                instance=watch.database,
                alarm_friendly_name="Database",
                add_cpu_usage_alarm=cpu,
                add_free_storage_space_alarm={
                    WARNING: monitoring.MinUsageCountThreshold(
                        min_count=watch.rds_free_storage_floor_bytes or 0, **_for_minutes(3)
                    )
                },
            )
        for suffix in watch.cache_members:
            # Its member clusters are <group>-001, -002, ... (cluster mode off) or <group>-0001-001, ... (on).
            member, label = f"{watch.cache.ref}-{suffix}", suffix.replace("-", "")
            self.facade.monitor_elasti_cache_cluster(
                cluster_id=member,
                cluster_type=monitoring.ElastiCacheClusterType.REDIS,
                alarm_friendly_name=f"Cache{label}",
                add_redis_engine_cpu_usage_alarm={WARNING: monitoring.UsageThreshold(max_usage_percent=80)},
                add_max_evicted_items_count_alarm={WARNING: monitoring.MaxItemsCountThreshold(max_items_count=100)},
            )
            self._custom(
                f"Cache{label}Memory",
                f"Cache node {suffix}: memory",
                _alarmed(
                    _metric("AWS/ElastiCache", "DatabaseMemoryUsagePercentage", {"CacheClusterId": member}, "Maximum"),
                    "DatabaseMemory",
                    WARNING,
                    85,
                    5,
                    "Cache memory above 85 %: evictions follow",
                ),
                group="Memory",
            )
        self._stores(watch)
        named: list[tuple[str | None, dynamodb.ITableV2]] = [(None, table) for table in watch.tables]
        for name, table in [*named, *watch.replica_tables.items()]:
            self.facade.monitor_dynamo_table(
                table=table,
                alarm_friendly_name=name,
                billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
                add_read_throttled_events_count_alarm={
                    WARNING: monitoring.ThrottledEventsThreshold(max_throttled_events_threshold=0)
                },
                add_write_throttled_events_count_alarm={
                    WARNING: monitoring.ThrottledEventsThreshold(max_throttled_events_threshold=0)
                },
            )
        for name, queue in watch.queues.items():
            assert queue.dead_letter_queue is not None, f"{name} has no dead-letter queue"
            self.facade.monitor_sqs_queue_with_dlq(
                queue=queue,
                dead_letter_queue=queue.dead_letter_queue.queue,
                alarm_friendly_name=name,
                add_queue_max_message_age_alarm={WARNING: monitoring.MaxMessageAgeThreshold(max_age_in_seconds=600)},
                add_queue_max_size_alarm={
                    WARNING: monitoring.MaxMessageCountThreshold(
                        max_message_count=QUEUE_DEPTH, **_for_minutes(QUEUE_DEPTH_MINUTES)
                    )
                },
                add_dead_letter_queue_max_size_alarm={
                    CRITICAL: monitoring.MaxMessageCountThreshold(max_message_count=0)
                },
            )
        for name, failures in watch.failure_queues.items():
            self.facade.monitor_sqs_queue(
                queue=failures,
                alarm_friendly_name=name,
                add_queue_max_size_alarm={CRITICAL: monitoring.MaxMessageCountThreshold(max_message_count=0)},
            )
        for name, notices in watch.informational_queues.items():
            self.facade.monitor_sqs_queue(queue=notices, alarm_friendly_name=name)

    def _replication_lag(self, cluster_identifier: str) -> None:
        """How far this region's global-database secondary trails the primary: the data a failover would lose."""
        lag = _metric("AWS/RDS", "AuroraGlobalDBReplicationLag", {"DBClusterIdentifier": cluster_identifier}, "Maximum")
        self._custom(
            "DatabaseReplication",
            "Database: global replication lag",
            _alarmed(lag, "ReplicationLag", WARNING, 60_000, 5, "The secondary trails the primary by over a minute"),
            _alarmed(lag, "ReplicationLagCritical", CRITICAL, 900_000, 5,
                     "The secondary trails the primary by over 15 minutes: a failover now would lose that much"),
        )  # fmt: skip

    def _stores(self, watch: Watched) -> None:
        """Neptune per instance (and its serverless capacity), DAX per cluster, InfluxDB per instance."""
        if watch.graph:
            for instance in watch.graph.instances:
                self._custom(
                    f"Graph{instance.node.id}",
                    f"Graph {instance.node.id.lower()}: CPU",
                    _alarmed(
                        _metric("AWS/Neptune", "CPUUtilization", {"DBInstanceIdentifier": instance.ref}, "Maximum"),
                        "Cpu",
                        CRITICAL,
                        90,
                        5,
                        "Graph database CPU above 90 % for 5 minutes",
                    ),
                )
            if watch.graph_max_ncu:
                capacity = {"DBClusterIdentifier": watch.graph.cluster.ref}
                self._custom(
                    "GraphCapacity",
                    "Graph: serverless capacity",
                    _alarmed(
                        _metric("AWS/Neptune", "ServerlessDatabaseCapacity", capacity, "Maximum"),
                        "Capacity",
                        WARNING,
                        0.9 * watch.graph_max_ncu,
                        15,
                        "Graph database at 90 % of its maximum NCUs for 15 minutes",
                    ),
                )
        if watch.accelerator:
            cluster = {"ClusterId": watch.accelerator.cluster.ref}
            self._custom(
                "Accelerator",
                "DAX",
                _alarmed(_metric("AWS/DAX", "CPUUtilization", cluster, "Maximum"), "Cpu", WARNING, 90, 5,
                         "DAX CPU above 90 % for 5 minutes: add nodes or a larger type"),
                _alarmed(_metric("AWS/DAX", "ThrottledRequestCount", cluster, "Sum"), "Throttled", WARNING, 0, 5,
                         "DAX throttles requests (its nodes, or the tables behind it)"),
            )  # fmt: skip
        if watch.time_series:
            influx = {"DbInstanceName": watch.time_series.name}
            self._custom(
                "TimeSeries",
                "InfluxDB",
                _alarmed(_metric(INFLUXDB, "CPUUtilization", influx, "Maximum"), "Cpu", CRITICAL, 90, 5,
                         "InfluxDB CPU above 90 % for 5 minutes"),
                _alarmed(_metric(INFLUXDB, "MemoryUtilization", influx, "Maximum"), "Memory", WARNING, 90, 5,
                         "InfluxDB memory above 90 % for 5 minutes"),
            )  # fmt: skip

    def _custom(
        self, name: str, title: str, *metrics: monitoring.CustomMetricWithAlarm, group: str | None = None
    ) -> None:
        """A `monitor_custom` graph of alarmed metrics: alarms named after `name`, titled `title` (the graph
        `group`, or the title too)."""
        self.facade.monitor_custom(
            alarm_friendly_name=name,
            human_readable_name=title,
            metric_groups=[monitoring.CustomMetricGroup(title=group or title, metrics=list(metrics))],
        )

    def _analytics(self, watch: Watched) -> None:
        self.facade.add_large_header("Compute and analytics")
        for name, function in watch.functions.items():
            self.facade.monitor_lambda_function(
                lambda_function=function,
                alarm_friendly_name=name,
                add_fault_count_alarm={WARNING: monitoring.ErrorCountThreshold(max_error_count=0)},
                add_throttles_count_alarm={WARNING: monitoring.ErrorCountThreshold(max_error_count=0)},
            )
        if watch.ecs_service:
            self.facade.monitor_simple_fargate_service(fargate_service=watch.ecs_service, alarm_friendly_name="Jobs")
        if watch.stream:
            self.facade.monitor_kinesis_data_stream(
                stream_name=watch.stream.stream_name,
                alarm_friendly_name="Stream",
                add_iterator_max_age_alarm={WARNING: monitoring.MaxIteratorAgeThreshold(max_age_in_millis=60_000)},
            )
        for source, delivery in watch.delivery_streams.items():
            self.facade.monitor_kinesis_firehose(
                delivery_stream_name=delivery.delivery_stream_name, alarm_friendly_name=f"Firehose-{source}"
            )
        if domain := watch.search_domain:
            self.facade.monitor_open_search_cluster(
                domain=domain,
                alarm_friendly_name="Search",
                add_cluster_status_alarm={
                    CRITICAL: monitoring.OpenSearchClusterStatusCustomization(
                        status=monitoring.OpenSearchClusterStatus.RED
                    ),
                    WARNING: monitoring.OpenSearchClusterStatusCustomization(
                        status=monitoring.OpenSearchClusterStatus.YELLOW, **_for_minutes(5)
                    ),
                },
                add_disk_space_usage_alarm={
                    WARNING: monitoring.UsageThreshold(max_usage_percent=80, **_for_minutes(3))
                },
            )
        if watch.kafka is not None:
            self._kafka(watch.kafka)
        if watch.flink_application is not None:
            self._flink(watch.flink_application)
        for name, (delivery_stream, destination) in watch.deliveries.items():
            self._delivery(name, delivery_stream, destination)

    def _flink(self, application: str) -> None:
        """Managed Flink, which the facade has no alarms for: downtime (the job not running) pages, a failed
        checkpoint warns (AWS/KinesisAnalytics, per Application)."""
        dimensions = {"Application": application}
        self.facade.monitor_custom(
            alarm_friendly_name="Flink",
            human_readable_name="Stream aggregates (Managed Flink)",
            metric_groups=[
                monitoring.CustomMetricGroup(
                    title="Downtime (ms) and failed checkpoints",
                    metrics=[
                        _alarmed(_metric(FLINK, "downtime", dimensions, "Maximum"), "FlinkDowntime", CRITICAL, 0,
                                 FLINK_MINUTES, "The Flink application is not running (downtime above 0)"),
                        _alarmed(_metric(FLINK, "numberOfFailedCheckpoints", dimensions, "Maximum"),
                                 "FlinkFailedCheckpoints", WARNING, 0, 1, "A Flink checkpoint failed"),
                    ],
                )
            ],
        )  # fmt: skip

    def _delivery(self, name: str, delivery_stream: str, destination: str) -> None:
        """A Firehose stream whose deliveries stopped succeeding: the average of `<destination>.Success` (1 per
        successful delivery attempt, 0 per failed one) under 1 for 5 minutes; no data (no traffic) is fine."""
        self.facade.monitor_custom(
            alarm_friendly_name=f"Firehose-{name}",
            human_readable_name=f"Firehose {name} deliveries",
            metric_groups=[
                monitoring.CustomMetricGroup(
                    title="Successful deliveries (ratio)",
                    metrics=[
                        monitoring.CustomMetricWithAlarm(
                            metric=_metric(FIREHOSE, f"{destination}.Success",
                                           {"DeliveryStreamName": delivery_stream}, "Average"),
                            alarm_friendly_name=f"{name}DeliveryFailures",
                            add_alarm={
                                WARNING: monitoring.CustomThreshold(
                                    threshold=1,
                                    comparison_operator=cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
                                    alarm_description_override=f"Firehose {name} failed to deliver records",
                                    treat_missing_data_override=cloudwatch.TreatMissingData.NOT_BREACHING,
                                    **_for_minutes(DELIVERY_MINUTES),
                                )
                            },
                        )
                    ],
                )
            ],
        )  # fmt: skip

    def _ai(self, watch: Watched) -> None:
        """SageMaker's and Bedrock's runtime metrics, which the facade has no monitor for: the endpoint's 5xx
        responses and p99 model latency (by EndpointName and VariantName), each model's server errors and
        throttling (by ModelId)."""
        if watch.inference is None and not watch.bedrock_models:
            return
        self.facade.add_large_header("AI")
        if watch.inference is not None:
            endpoint, variant = watch.inference
            dimensions = {"EndpointName": endpoint, "VariantName": variant}
            self.facade.monitor_custom(
                alarm_friendly_name="Inference",
                human_readable_name=f"SageMaker endpoint {variant}",
                metric_groups=[
                    monitoring.CustomMetricGroup(
                        title="Errors and latency",
                        metrics=[
                            _alarmed(_metric(SAGEMAKER, "Invocation5XXErrors", dimensions, "Sum"), "Inference5xx",
                                     CRITICAL, 0, 5, "The inference endpoint answered with 5xx for 5 minutes"),
                            _alarmed(_metric(SAGEMAKER, "ModelLatency", dimensions, "p99"), "InferenceLatency",
                                     WARNING, P99_LATENCY_SECONDS * 1_000_000, 5,
                                     f"The model's p99 latency is over {P99_LATENCY_SECONDS} s"),
                        ],
                    )
                ],
            )  # fmt: skip
        for model in watch.bedrock_models:
            dimensions = {"ModelId": model}
            self.facade.monitor_custom(
                alarm_friendly_name=f"Bedrock-{model}",
                human_readable_name=f"Bedrock {model}",
                metric_groups=[
                    monitoring.CustomMetricGroup(
                        title="Server errors and throttling",
                        metrics=[
                            _alarmed(_metric(BEDROCK, "InvocationServerErrors", dimensions, "Sum"),
                                     f"BedrockErrors-{model}", CRITICAL, 0, 5, f"{model} failed on Bedrock's side"),
                            _alarmed(_metric(BEDROCK, "InvocationThrottles", dimensions, "Sum"),
                                     f"BedrockThrottles-{model}", WARNING, 0, 5,
                                     f"Bedrock throttled {model} for 5 minutes: raise its quota"),
                        ],
                    )
                ],
            )  # fmt: skip

    def _kafka(self, cluster: msk.CfnCluster) -> None:
        """MSK, which the facade has no monitor for: each broker's data disk (KafkaDataLogsDiskUsed is published
        per broker, under Cluster Name and Broker ID; brokers are numbered from 1)."""
        self.facade.monitor_custom(
            alarm_friendly_name="Kafka",
            human_readable_name="MSK brokers",
            metric_groups=[
                monitoring.CustomMetricGroup(
                    title="Data disk used (%)",
                    metrics=[
                        _alarmed(
                            _metric(
                                "AWS/Kafka",
                                "KafkaDataLogsDiskUsed",
                                {"Cluster Name": cluster.cluster_name, "Broker ID": str(broker)},
                                "Maximum",
                            ),
                            f"KafkaDisk{broker}",
                            WARNING,
                            80,
                            3,
                            f"Kafka broker {broker}'s data disk is over 80 % full",
                        )
                        for broker in range(1, int(cluster.number_of_broker_nodes) + 1)
                    ],
                )
            ],
        )


def _for_minutes(minutes: int) -> dict[str, Any]:
    """Threshold options: breaching every minute for `minutes` minutes."""
    return {"evaluation_periods": minutes, "datapoints_to_alarm": minutes}


def _alarmed(
    metric: cloudwatch.Metric | cloudwatch.MathExpression,
    name: str,
    severity: str,
    threshold: float,
    minutes: int,
    description: str,
) -> monitoring.CustomMetricWithAlarm:
    """`metric` with an alarm above `threshold` for `minutes` consecutive minutes, routed by `severity`."""
    return monitoring.CustomMetricWithAlarm(
        metric=metric,
        alarm_friendly_name=name,
        add_alarm={
            severity: monitoring.CustomThreshold(
                threshold=threshold,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                alarm_description_override=description,
                **_for_minutes(minutes),
            )
        },
    )


def _anomaly(
    metric: cloudwatch.Metric | cloudwatch.MathExpression, name: str
) -> monitoring.CustomMetricWithAnomalyDetection:
    """`metric` with a warning when it leaves its learned band (either side) for 3 minutes."""
    return monitoring.CustomMetricWithAnomalyDetection(
        metric=metric,
        alarm_friendly_name=name,
        anomaly_detection_standard_deviation_to_render=ANOMALY_STD_DEVS,
        add_alarm_on_anomaly={
            WARNING: monitoring.AnomalyDetectionThreshold(
                standard_deviation_for_alarm=ANOMALY_STD_DEVS,
                alarm_when_above_the_band=True,
                alarm_when_below_the_band=True,
                **_for_minutes(3),
            )
        },
    )


def _error_rate(errors: Mapping[str, cloudwatch.IMetric], requests: cloudwatch.IMetric) -> cloudwatch.MathExpression:
    """100 * the sum of `errors` (by name) / `requests`, each a per-minute count; 0 while there are no requests."""
    return cloudwatch.MathExpression(
        expression=f"100 * ({' + '.join(errors)}) / MAX([requests, 1])",
        using_metrics={**errors, "requests": requests},
        label="5xx %",
        period=MINUTE,
    )


def _metric(namespace: str, name: str, dimensions: Mapping[str, str], statistic: str) -> cloudwatch.Metric:
    return cloudwatch.Metric(
        namespace=namespace, metric_name=name, dimensions_map=dict(dimensions), statistic=statistic, period=MINUTE
    )
