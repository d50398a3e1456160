"""The platform's alarms (seed 002's alert rules in CloudWatch terms), each routed to `critical` or
`warning`, a composite "platform degraded" alarm, anomaly detection on traffic (the replacement for seed
000's Lookout for Metrics)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from environments.schema.data import DataConfig

GT = cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD
GTE = cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD
LT = cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD
MINUTE = cdk.Duration.minutes(1)
FIVE_MINUTES = cdk.Duration.minutes(5)
ELB = "AWS/ApplicationELB"
COUNT_PER_MINUTE: dict[str, Any] = {"period": MINUTE, "statistic": "Sum"}
"""Options of a load balancer or target group count metric: the per-minute sum."""


@dataclass(frozen=True)
class AlarmTargets:
    """What the alarms watch, by name or dimension value (resolved from the other stacks' constructs); the
    ingress load balancer and its target groups by their metrics, which carry their own dimensions."""

    database_identifier: str
    database_is_cluster: bool
    cache_primary_node: str
    queues: Mapping[str, sqs.IQueue]
    dead_letter_queues: Sequence[sqs.IQueue]
    load_balancer: elbv2.IApplicationLoadBalancerMetrics
    target_groups: Mapping[str, Mapping[str, str]]
    """Each service's target group, by its CloudWatch dimensions (LoadBalancer and TargetGroup)."""
    cluster_name: str
    functions: Mapping[str, lambda_.IFunction]
    stream_name: str
    kafka_cluster_name: str | None
    search_domain: str


class PlatformAlarms(Construct):
    """`alarms` by name, `critical_alarms` and `degraded` (composite). The data platform's alerts (Glue,
    data quality, ECS jobs) are constructs/analytics/lake_alerts.py."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        watch: AlarmTargets,
        data: DataConfig,
        critical: sns.ITopic,
        warning: sns.ITopic,
    ) -> None:
        super().__init__(scope, construct_id)
        # One action per topic, shared by every alarm of that severity.
        self._notify = {"critical": actions.SnsAction(critical), "warning": actions.SnsAction(warning)}
        self.alarms: dict[str, cloudwatch.Alarm] = {}
        self.critical_alarms: list[cloudwatch.IAlarm] = []
        account = cdk.Stack.of(self).account

        db = {"DBClusterIdentifier" if watch.database_is_cluster else "DBInstanceIdentifier": watch.database_identifier}
        self._alarm(
            "DatabaseCpu",
            _metric("AWS/RDS", "CPUUtilization", db),
            90,
            5,
            GT,
            "critical",
            "Database CPU above 90 % for 5 minutes (seed 002: RDSHighCPU)",
        )
        if watch.database_is_cluster and data.database.aurora is not None:
            self._alarm(
                "DatabaseCapacity",
                _metric("AWS/RDS", "ACUUtilization", db),
                90,
                15,
                GT,
                "warning",
                "Aurora near its maximum ACUs: raise max_capacity_acu",
            )
        elif data.database.rds is not None:
            free_floor = data.database.rds.allocated_storage_gib * 1024**3 * 0.1
            self._alarm(
                "DatabaseStorage",
                _metric("AWS/RDS", "FreeStorageSpace", db, "Minimum"),
                free_floor,
                3,
                LT,
                "warning",
                "Less than 10 % of the database's storage is free",
            )

        cache = {"CacheClusterId": watch.cache_primary_node}
        self._alarm(
            "CacheCpu",
            _metric("AWS/ElastiCache", "EngineCPUUtilization", cache),
            80,
            5,
            GT,
            "warning",
            "Cache engine CPU above 80 %",
        )
        self._alarm(
            "CacheMemory",
            _metric("AWS/ElastiCache", "DatabaseMemoryUsagePercentage", cache),
            85,
            5,
            GT,
            "warning",
            "Cache memory above 85 %: evictions follow",
        )
        self._alarm(
            "CacheEvictions",
            _metric("AWS/ElastiCache", "Evictions", cache, "Sum"),
            100,
            5,
            GT,
            "warning",
            "The cache is evicting keys",
        )

        for index, queue in enumerate(watch.dead_letter_queues):
            self._alarm(
                f"DeadLetters{index + 1}",
                queue.metric_approximate_number_of_messages_visible(period=MINUTE, statistic="Maximum"),
                0,
                1,
                GT,
                "critical",
                "Messages are failing into a DLQ",
            )
        for name, queue in watch.queues.items():
            self._alarm(
                f"QueueAge{_id(name)}",
                queue.metric_approximate_age_of_oldest_message(period=MINUTE, statistic="Maximum"),
                600,
                5,
                GT,
                "warning",
                f"{name}: oldest message older than 10 minutes (seed 002: HighQueueLength)",
            )

        lb = watch.load_balancer
        self._alarm(
            "Api5xxRate",
            _error_rate(
                {
                    "elb": lb.http_code_elb(elbv2.HttpCodeElb.ELB_5XX_COUNT, **COUNT_PER_MINUTE),
                    "target": lb.http_code_target(elbv2.HttpCodeTarget.TARGET_5XX_COUNT, **COUNT_PER_MINUTE),
                },
                lb.request_count(**COUNT_PER_MINUTE),
            ),
            5,
            3,
            GT,
            "critical",
            "More than 5 % 5xx for 3 minutes (seed 002)",
        )
        for name, metric in (
            ("RequestRate", lb.request_count(**COUNT_PER_MINUTE)),
            ("Latency", lb.target_response_time(period=MINUTE, statistic="p90")),
        ):
            anomaly = cloudwatch.AnomalyDetectionAlarm(
                self,
                f"{name}Anomaly",
                metric=metric,
                evaluation_periods=3,
                std_devs=3,
                comparison_operator=cloudwatch.ComparisonOperator.LESS_THAN_LOWER_OR_GREATER_THAN_UPPER_THRESHOLD,
                alarm_description=f"{name} outside its learned band (anomaly detection)",
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            )
            anomaly.add_alarm_action(actions.SnsAction(warning))
            self.alarms[f"{name}Anomaly"] = anomaly
        for service, group in watch.target_groups.items():
            self._alarm(
                f"{_id(service)}Target5xxRate",
                _error_rate(
                    {"target": _metric(ELB, "HTTPCode_Target_5XX_Count", group, "Sum")},
                    _metric(ELB, "RequestCount", group, "Sum"),
                ),
                5,
                3,
                GT,
                "warning",
                f"{service}: more than 5 % of its responses are 5xx for 3 minutes",
            )
            self._alarm(
                f"{_id(service)}UnhealthyHosts",
                _metric(ELB, "UnHealthyHostCount", group, "Maximum"),
                0,
                3,
                GT,
                "warning",
                f"{service}: a pod fails the load balancer's health check for 3 minutes",
            )

        node = {"ClusterName": watch.cluster_name}
        self._alarm(
            "NodeCpu",
            _metric("ContainerInsights", "node_cpu_utilization", node, "Maximum"),
            90,
            5,
            GT,
            "critical",
            "An EKS node above 90 % CPU for 5 minutes",
        )
        self._alarm(
            "PodRestarts",
            _metric("ContainerInsights", "pod_number_of_container_restarts", node, "Sum"),
            5,
            1,
            GT,
            "warning",
            "More than 5 container restarts in 5 minutes (seed 002: PodRestartCount)",
        )

        for name, function in watch.functions.items():
            self._alarm(
                f"{_id(name)}Errors",
                function.metric_errors(period=FIVE_MINUTES),
                0,
                1,
                GT,
                "warning",
                f"{name} Lambda errors",
            )
            self._alarm(
                f"{_id(name)}Throttles",
                function.metric_throttles(period=FIVE_MINUTES),
                0,
                1,
                GT,
                "warning",
                f"{name} Lambda throttled",
            )
        self._alarm(
            "StreamIteratorAge",
            _metric("AWS/Kinesis", "GetRecords.IteratorAgeMilliseconds", {"StreamName": watch.stream_name}, "Maximum"),
            60_000,
            5,
            GT,
            "warning",
            "Stream consumers are more than a minute behind",
        )
        if watch.kafka_cluster_name:
            self._alarm(
                "KafkaDisk",
                _metric("AWS/Kafka", "KafkaDataLogsDiskUsed", {"Cluster Name": watch.kafka_cluster_name}, "Maximum"),
                80,
                3,
                GT,
                "warning",
                "A Kafka broker's data disk is over 80 % full",
            )
        search = {"DomainName": watch.search_domain, "ClientId": account}
        self._alarm(
            "SearchRed",
            _metric("AWS/ES", "ClusterStatus.red", search, "Maximum"),
            1,
            1,
            GTE,
            "critical",
            "OpenSearch cluster status red: some primary shards are unassigned",
        )
        self._alarm(
            "SearchYellow",
            _metric("AWS/ES", "ClusterStatus.yellow", search, "Maximum"),
            1,
            5,
            GTE,
            "warning",
            "OpenSearch cluster status yellow: replicas unassigned",
        )
        self._alarm(
            "SearchStorage",
            _metric("AWS/ES", "FreeStorageSpace", search, "Minimum"),
            20_480,
            3,
            LT,
            "warning",
            "OpenSearch has less than 20 GiB free on a node",
        )

        self.degraded = cloudwatch.CompositeAlarm(
            self,
            "PlatformDegraded",
            alarm_description="Any critical alarm of the stage is in ALARM",
            alarm_rule=cloudwatch.AlarmRule.any_of(*self.critical_alarms),
        )
        self.degraded.add_alarm_action(actions.SnsAction(critical))

    def _alarm(
        self,
        construct_id: str,
        metric: cloudwatch.IMetric,
        threshold: float,
        periods: int,
        comparison: cloudwatch.ComparisonOperator,
        severity: str,
        description: str,
    ) -> None:
        alarm = cloudwatch.Alarm(
            self,
            construct_id,
            metric=metric,
            threshold=threshold,
            evaluation_periods=periods,
            comparison_operator=comparison,
            alarm_description=description,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        alarm.add_alarm_action(self._notify[severity])
        alarm.add_ok_action(self._notify[severity])
        self.alarms[construct_id] = alarm
        if severity == "critical":
            self.critical_alarms.append(alarm)


def _error_rate(errors: Mapping[str, cloudwatch.IMetric], requests: cloudwatch.IMetric) -> cloudwatch.MathExpression:
    """100 * the sum of `errors` (by name) / `requests`, each a per-minute count; 0 while there are no requests."""
    return cloudwatch.MathExpression(
        expression=f"100 * ({' + '.join(errors)}) / MAX([requests, 1])",
        using_metrics={**errors, "requests": requests},
        label="5xx %",
        period=MINUTE,
    )


def _metric(namespace: str, name: str, dimensions: Mapping[str, str], statistic: str = "Average") -> cloudwatch.Metric:
    return cloudwatch.Metric(
        namespace=namespace, metric_name=name, dimensions_map=dict(dimensions), statistic=statistic, period=MINUTE
    )


def _id(name: str) -> str:
    return "".join(part.capitalize() for part in name.replace("_", "-").split("-"))
