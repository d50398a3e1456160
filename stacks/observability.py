"""The observability stack: alert routing, alarms, dashboards, tracing, Prometheus, the audit trail,
threat detection and cost controls, over the constructs of every other stack of the stage."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from constructs import Construct
from constructs.analytics.glue_pipeline import RULESETS
from constructs.analytics.lake_alerts import LakeAlerts, LakeWatch
from constructs.common.secure_bucket import access_log_bucket
from constructs.observability.alert_routing import AlertRouting
from constructs.observability.audit_trail import AuditTrail
from constructs.observability.cost_controls import CostControls
from constructs.observability.platform_alarms import AlarmTargets, PlatformAlarms
from constructs.observability.platform_dashboards import PlatformDashboards
from constructs.observability.threat_detection import ThreatDetection
from constructs.observability.tracing_and_metrics import TracingAndMetrics

from environments.schema.stage import StageConfig
from stacks.analytics import AnalyticsStack
from stacks.base import PlatformStack
from stacks.data import DataStack
from stacks.network import NetworkStack
from stacks.platform import PlatformComputeStack


class ObservabilityStack(PlatformStack):
    """`alerts`, `alarms`, `lake_alerts`, `dashboards`, `tracing`, `trail`, `detection` and `costs`."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StageConfig,
        network: NetworkStack,
        data: DataStack,
        platform: PlatformComputeStack,
        analytics: AnalyticsStack,
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            config=config,
            description=f"{config.name}: alarms, dashboards, tracing, Prometheus, CloudTrail, detection, budgets",
        )
        observability = config.observability
        name = f"{config.tags.project}-{config.name}"
        alias_prefix = f"alias/{config.tags.project}/{config.name}"
        self.alerts = AlertRouting(
            self,
            "Alerts",
            alerting=observability.alerting,
            alias=f"{alias_prefix}/alerts",
            deletion_window_days=config.kms.deletion_window_days,
            removal_policy=self.stateful_removal_policy,
        )
        database = data.database
        db_construct = database.cluster or database.instance
        assert db_construct is not None
        functions = {
            "action-requests-consumer": platform.action_consumer.function,
            "stream-processor": analytics.streaming.processor.function,
        }
        self.alarms = PlatformAlarms(
            self,
            "Alarms",
            watch=AlarmTargets(
                database_identifier=database.identifier,
                database_is_cluster=database.cluster is not None,
                cache_primary_node=f"{data.cache.replication_group.ref}-001",
                queues={**data.messaging.queues, "ordered-tasks": data.messaging.ordered_tasks},
                dead_letter_queues=[
                    *data.messaging.dead_letter_queues,
                    analytics.streaming.failure_queue,
                    *analytics.job_roles.dead_letter_queues.values(),
                ],
                load_balancer=platform.ingress.load_balancer.metrics,
                target_groups=platform.ingress.target_group_dimensions,
                cluster_name=config.cluster_name,
                functions=functions,
                stream_name=analytics.streaming.stream.stream_name,
                kafka_cluster_name=name if config.analytics.msk.mode == "provisioned" else None,
                search_domain=name,
            ),
            data=config.data,
            critical=self.alerts.critical,
            warning=self.alerts.warning,
        )
        glue = analytics.glue
        self.lake_alerts = LakeAlerts(
            self,
            "LakeAlerts",
            watch=LakeWatch(
                crawlers=[crawler.ref for crawler in glue.crawlers.values()],
                jobs=[job.ref for job in (glue.etl_job, glue.aggregates_job, glue.quality_job, glue.failure_job)],
                rulesets={str(glue.quality_rulesets[ruleset.table].name): ruleset.severity for ruleset in RULESETS},
                ecs_cluster_arn=platform.jobs.cluster.cluster_arn,
                metrics_namespace=analytics.metrics_namespace,
                workflow=str(glue.workflow.name),
            ),
            critical=self.alerts.critical,
            warning=self.alerts.warning,
        )
        cluster = {"ClusterName": config.cluster_name}
        self.dashboards = PlatformDashboards(
            self,
            "Dashboards",
            name_prefix=name,
            alarms=self.alarms.alarms,
            extra_metrics={
                "infrastructure:Healthy targets": [
                    cloudwatch.Metric(
                        namespace="AWS/ApplicationELB", metric_name="HealthyHostCount", dimensions_map=group
                    )
                    for group in platform.ingress.target_group_dimensions.values()
                ],
                "infrastructure:ECS CPU": [
                    cloudwatch.Metric(
                        namespace="AWS/ECS",
                        metric_name="CPUUtilization",
                        dimensions_map={"ClusterName": platform.jobs.cluster.cluster_name},
                    )
                ],
                "data:DynamoDB": [
                    metric
                    for table in data.tables.tables
                    for metric in (
                        table.metric_consumed_read_capacity_units(),
                        table.metric_consumed_write_capacity_units(),
                    )
                ],
                "data:Queues": [
                    q.metric_approximate_number_of_messages_visible() for q in data.messaging.queues.values()
                ],
                "analytics:Kinesis": [analytics.streaming.stream.metric_incoming_records()],
                "gpu-ml:GPU utilisation": [
                    cloudwatch.Metric(namespace="ContainerInsights", metric_name=metric, dimensions_map=cluster)
                    for metric in ("node_gpu_utilization", "node_gpu_memory_utilization")
                ],
                "gpu-ml:Karpenter interruptions": [
                    platform.karpenter.interruption_queue.metric_approximate_number_of_messages_visible()
                ],
            },
        )
        self.tracing = TracingAndMetrics(
            self,
            "Tracing",
            name_prefix=name,
            sampling_rate=observability.xray_sampling_rate,
            critical=self.alerts.critical,
            warning=self.alerts.warning,
            encryption_key=self.alerts.key,
            with_grafana=observability.grafana,
        )
        buckets = data.buckets
        self.trail = AuditTrail(
            self,
            "Audit",
            trail_name=config.trail_name,
            bucket=buckets.audit_logs,
            data_event_buckets=[
                buckets.knowledge_documents,
                buckets.document_chunks,
                buckets.user_uploads,
                buckets.images,
                buckets.models,
            ]
            if observability.trail_data_events
            else [],
            logs_key=data.keys.logs,
            key_alias=f"{alias_prefix}/trail",
            deletion_window_days=config.kms.deletion_window_days,
            log_retention_days=observability.log_retention_days,
            removal_policy=self.stateful_removal_policy,
        )
        self.access_logs = access_log_bucket(
            self,
            "AccessLogs",
            retention_days=config.data.buckets.access_log_retention_days,
            versioned=config.data.buckets.versioned,
            noncurrent_version_expiration_days=config.data.buckets.noncurrent_version_expiration_days,
            removal_policy=self.stateful_removal_policy,
        )
        self.detection = ThreatDetection(
            self,
            "Detection",
            detection=observability.detection,
            storage_key=data.keys.storage,
            access_log_bucket=self.access_logs,
            versioned=config.data.buckets.versioned,
            removal_policy=self.stateful_removal_policy,
        )
        self.costs = CostControls(
            self,
            "Costs",
            name_prefix=name,
            monthly_budget_usd=observability.monthly_budget_usd,
            anomaly_threshold_usd=observability.cost_anomaly_threshold_usd,
            stage_tag=config.name,
            critical=self.alerts.critical,
            warning=self.alerts.warning,
        )
        cdk.CfnOutput(self, "CriticalTopic", value=self.alerts.critical.topic_arn)
