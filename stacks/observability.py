"""The observability stack: alert routing, alarms, dashboards, tracing, Prometheus, the audit trail,
threat detection and cost controls, over the constructs of every other stack of the stage."""

from __future__ import annotations

import dataclasses

import aws_cdk as cdk
from constructs import Construct
from constructs.ai.inference_endpoint import VARIANT
from constructs.analytics.glue_pipeline import RULESETS
from constructs.analytics.lake_alerts import LakeAlerts, LakeWatch
from constructs.compute.cluster_metrics import COLLECTOR_USER
from constructs.data.messaging import Messaging
from constructs.data.valkey_cache import ValkeyCache
from constructs.observability.alert_routing import AlertRouting, AlertTarget
from constructs.observability.audit_trail import AuditTrail
from constructs.observability.cost_controls import CostControls
from constructs.observability.platform_monitoring import PlatformMonitoring, Watched
from constructs.observability.threat_detection import ThreatDetection
from constructs.observability.tracing_and_metrics import ScrapedCluster, TracingAndMetrics

from environments.schema.stage import StageConfig
from stacks.ai import AiStack
from stacks.analytics import AnalyticsStack
from stacks.base import PlatformStack
from stacks.data import DataStack
from stacks.network import NetworkStack
from stacks.platform import PlatformComputeStack, Secondary


class ObservabilityStack(PlatformStack):
    """`alerts`, `monitoring` (alarms and dashboards), `lake_alerts`, `tracing`, `trail`, `detection` and
    `costs`."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StageConfig,
        network: NetworkStack,
        data: DataStack,
        platform: PlatformComputeStack,
        analytics: AnalyticsStack | None,
        ai: AiStack | None = None,
        secondary: Secondary | None = None,
    ) -> None:
        """`data` is the primary region's; `analytics` the region's lake (None in a standby region); `secondary`
        given in a secondary region, which watches its own platform and stores and runs its own detection and
        Prometheus (the audit trail is multi-region and the budget account-wide: the primary region's has them)."""
        super().__init__(
            scope,
            construct_id,
            config=config,
            description=f"{config.name}: alarms, dashboards, tracing, Prometheus, CloudTrail, detection, budgets",
            cross_region_references=secondary is not None,  # the table replicas' names, from the primary region
        )
        observability = config.observability
        keys = secondary.data.keys if secondary else data.keys
        # Dashboard names are account-wide, not regional: a secondary region's carry the region.
        name = f"{config.tags.project}-{config.name}{config.region_suffix}"
        alias_prefix = f"alias/{config.tags.project}/{config.name}"
        self.alerts = AlertRouting(
            self,
            "Alerts",
            alerting=observability.alerting,
            alias=f"{alias_prefix}/alerts",
            deletion_window_days=config.kms.deletion_window_days,
            removal_policy=self.stateful_removal_policy,
        )
        watch = regional_watch(data, platform, secondary) if secondary else primary_watch(config, data, platform, ai)
        if analytics:
            watch = lake_watch(watch, config, platform, analytics)
        self.monitoring = PlatformMonitoring(
            self,
            "Monitoring",
            watch=watch,
            name_prefix=name,
            critical=self.alerts.critical,
            warning=self.alerts.warning,
        )
        self.lake_alerts = self._lake_alerts(name, analytics, platform) if analytics else None
        self.tracing = TracingAndMetrics(
            self,
            "Tracing",
            name_prefix=f"{config.tags.project}-{config.name}",  # X-Ray and Prometheus names are regional
            sampling_rate=observability.xray_sampling_rate,
            critical=self.alerts.critical,
            warning=self.alerts.warning,
            encryption_key=self.alerts.key,
            scraped=ScrapedCluster(
                cluster_arn=platform.eks.cluster.cluster_arn,
                cluster_name=platform.eks.cluster.cluster_name,
                subnet_ids=[subnet.subnet_id for subnet in network.app_subnets.subnets],
                security_group_ids=[platform.eks.cluster.cluster_security_group_id],
                scrape_configuration=platform.metrics.scrape_configuration,
                kubernetes_user=COLLECTOR_USER,
            ),
            with_grafana=observability.grafana,
        )
        # One multi-region trail and one account-wide budget, both in the primary region's stack.
        self.trail = self._trail(config, data, alias_prefix) if secondary is None else None
        self.access_logs = self.own_access_log_bucket()
        self.detection = ThreatDetection(
            self,
            "Detection",
            detection=observability.detection,
            storage_key=keys.storage,
            access_log_bucket=self.access_logs,
            versioned=config.data.buckets.versioned,
            removal_policy=self.stateful_removal_policy,
            findings_target=AlertTarget(self.alerts.critical),
        )
        self.costs = (
            CostControls(
                self,
                "Costs",
                name_prefix=name,
                monthly_budget_usd=observability.monthly_budget_usd,
                anomaly_threshold_usd=observability.cost_anomaly_threshold_usd,
                stage_tag=config.name,
                critical=self.alerts.critical,
                warning=self.alerts.warning,
            )
            if secondary is None
            else None
        )
        cdk.CfnOutput(self, "CriticalTopic", value=self.alerts.critical.topic_arn)
        self.log_custom_resource_providers(logs_key=keys.logs, retention_days=observability.log_retention_days)

    def _trail(self, config: StageConfig, data: DataStack, alias_prefix: str) -> AuditTrail:
        """The stage's multi-region CloudTrail trail, into the data stack's audit-logs bucket."""
        observability = config.observability
        buckets = data.buckets
        return AuditTrail(
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

    def _lake_alerts(self, name: str, analytics: AnalyticsStack, platform: PlatformComputeStack) -> LakeAlerts:
        """The data platform's alerts (crawlers, jobs, quality, the ECS tasks), where the lake runs."""
        jobs = platform.jobs
        assert jobs is not None, "the lake's region runs the ECS jobs"
        glue = analytics.glue
        return LakeAlerts(
            self,
            "LakeAlerts",
            watch=LakeWatch(
                crawlers=[crawler.ref for crawler in glue.crawlers.values()],
                jobs=[job.ref for job in (glue.etl_job, glue.aggregates_job, glue.quality_job, glue.failure_job)],
                rulesets={str(glue.quality_rulesets[ruleset.table].name): ruleset.severity for ruleset in RULESETS},
                ecs_cluster_arn=jobs.cluster.cluster_arn,
                metrics_namespace=analytics.metrics_namespace,
                workflow=str(glue.workflow.name),
            ),
            name_prefix=name,
            critical=self.alerts.critical,
            warning=self.alerts.warning,
        )


def platform_watch(platform: PlatformComputeStack, cache: ValkeyCache, messaging: Messaging) -> Watched:
    """What every region's alarms watch: its platform (load balancer, cluster, Karpenter's notices, the queue
    consumer), its cache and its queues. The primary's and a secondary's watches add their stores to it."""
    return Watched(
        database=None,
        aurora_max_acu=None,
        rds_free_storage_floor_bytes=None,
        cache=cache.replication_group,
        cache_members=cache.member_suffixes,
        tables=[],
        queues={**messaging.queues, "ordered-tasks": messaging.ordered_tasks},
        informational_queues={"karpenter-interruptions": platform.karpenter.interruption_queue},
        load_balancer=platform.ingress.load_balancer,
        target_groups=platform.ingress.target_groups,
        cluster_name=platform.eks.cluster.cluster_name,
        functions={"action-requests-consumer": platform.action_consumer.function},
    )


def primary_watch(config: StageConfig, data: DataStack, platform: PlatformComputeStack, ai: AiStack | None) -> Watched:
    """What the primary region's alarms watch, besides its lake: every store, the platform and the AI services."""
    database = data.database
    db_construct = database.cluster or database.instance
    assert db_construct is not None
    aurora, rds_config = config.data.database.aurora, config.data.database.rds
    return dataclasses.replace(
        platform_watch(platform, data.cache, data.messaging),
        database=db_construct,
        aurora_max_acu=aurora.max_capacity_acu if aurora else None,
        rds_free_storage_floor_bytes=rds_config.allocated_storage_gib * 1024**3 * 0.1 if rds_config else None,
        tables=data.tables.tables,
        graph=data.graph,
        graph_max_ncu=config.data.graph.max_capacity_ncu,
        time_series=data.time_series,
        accelerator=data.accelerator,
        inference=(ai.inference.endpoint.attr_endpoint_name, VARIANT) if ai and ai.inference else None,
        bedrock_models=[m.invoked_id for m in config.ai.bedrock.models] if ai and ai.bedrock else (),
    )


def lake_watch(
    watch: Watched, config: StageConfig, platform: PlatformComputeStack, analytics: AnalyticsStack
) -> Watched:
    """`watch` with what a region running a lake adds: the stream and its processors, Firehose, Kafka, search,
    Flink, the deliveries and the ECS jobs."""
    jobs = platform.jobs
    assert jobs is not None, "a lake's region runs the ECS jobs"
    processing = [
        ("logs-to-search", analytics.log_delivery.delivery_stream_name, "DeliveryToAmazonOpenSearchService")
        if analytics.log_delivery
        else None,
        ("metrics", analytics.metric_stream.delivery_stream.delivery_stream_name, "DeliveryToS3")
        if analytics.metric_stream
        else None,
    ]
    return dataclasses.replace(
        watch,
        failure_queues={
            "stream-processor-failures": analytics.streaming.failure_queue,
            **({"kafka-consumer-failures": analytics.kafka_consumer.failure_queue} if analytics.kafka_consumer else {}),
            **{f"{task}-undelivered": queue for task, queue in analytics.job_roles.dead_letter_queues.items()},
        },
        functions={
            **watch.functions,
            "stream-processor": analytics.streaming.processor.function,
            **({"kafka-consumer": analytics.kafka_consumer.consumer.function} if analytics.kafka_consumer else {}),
        },
        stream=analytics.streaming.stream,
        delivery_streams=analytics.streaming.delivery_streams,
        kafka=analytics.kafka.cluster if config.analytics.msk.mode == "provisioned" else None,
        search_domain=analytics.search.domain,
        ecs_service=jobs.service,
        flink_application=analytics.flink.application_name if analytics.flink else None,
        deliveries={name: (stream, prefix) for name, stream, prefix in filter(None, processing)},
    )


def regional_watch(data: DataStack, platform: PlatformComputeStack, secondary: Secondary) -> Watched:
    """What a secondary region's alarms watch, besides a lake it runs: its platform, its own cache and queues, the
    table replicas there and its global-database secondary's replication lag (the primary's other stores run in
    the primary region)."""
    regional = secondary.data
    return dataclasses.replace(
        platform_watch(platform, regional.cache, regional.messaging),
        replica_tables=data.tables.replicas_in(platform.region),
        global_secondary=secondary.database.cluster.ref if secondary.database else None,
    )
