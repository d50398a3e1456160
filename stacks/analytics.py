"""The analytics stack: data lake, Glue, Athena, streaming ingestion, Kafka and search.

It takes the network, the region's data keys and the app workloads' role, never the platform stack; the platform
stack reads it (the ECS data jobs run with the roles made here, beside the lake they use). The primary region
and every active secondary region run one: each its own lake, stream, Kafka and search over its own keys.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from constructs import Construct
from constructs.analytics.data_lake import DataLake
from constructs.analytics.flink_aggregates import FlinkAggregates
from constructs.analytics.glue_pipeline import GluePipeline
from constructs.analytics.kafka_cluster import KafkaCluster
from constructs.analytics.kafka_consumer import KafkaConsumer
from constructs.analytics.lake_job_roles import LakeJobRoles
from constructs.analytics.log_search_delivery import LogSearchDelivery
from constructs.analytics.metric_stream import MetricStream
from constructs.analytics.query_workgroup import QueryWorkgroup
from constructs.analytics.search_domain import SearchDomain
from constructs.analytics.stream_ingestion import StreamIngestion
from constructs.data.data_keys import DataKeys

from environments.schema.stage import StageConfig
from stacks.base import PlatformStack
from stacks.network import NetworkStack


class AnalyticsStack(PlatformStack):
    """`lake`, `glue`, `job_roles` (the ECS data jobs' roles and work queue), `athena`, `streaming`, `kafka`
    and `search`; and the stream processing each toggle makes (None when off): `flink`, `kafka_consumer`,
    `log_delivery` and `metric_stream`."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StageConfig,
        network: NetworkStack,
        keys: DataKeys,
        app_role: iam.IRole,
    ) -> None:
        """`keys`: the region's data keys; `app_role`: the app workloads' role (made once, in the primary region's
        data stack), granted the stream, Kafka and search here by policies of this stack."""
        role_elsewhere = cdk.Stack.of(app_role).region != config.region
        super().__init__(
            scope,
            construct_id,
            config=config,
            description=f"{config.name}: data lake, Glue, Athena, Kinesis + Firehose, MSK, OpenSearch",
            # A secondary region's policies attach to the role by its name, published in the primary region.
            cross_region_references=role_elsewhere,
        )
        analytics = config.analytics
        groups = network.security_groups
        name = f"{config.tags.project}-{config.name}"
        self.metrics_namespace = f"{config.tags.project}/{config.name}/lake"  # quarantined records, alarmed on
        buckets = config.data.buckets
        versioned = buckets.versioned
        self.access_logs = self.own_access_log_bucket()
        self.lake = DataLake(
            self,
            "Lake",
            lake=analytics.lake,
            encryption_key=keys.storage,
            access_log_bucket=self.access_logs,
            versioned=versioned,
            noncurrent_version_expiration_days=buckets.noncurrent_version_expiration_days,
            removal_policy=self.stateful_removal_policy,
        )
        self.glue = GluePipeline(
            self,
            "Glue",
            glue_config=analytics.glue,
            database_name=f"{config.name.replace('-', '_')}_data_lake_catalog",
            name_prefix=name,
            metrics_namespace=self.metrics_namespace,
            lake=self.lake,
            storage_key=keys.storage,
            logs_key=keys.logs,
            log_retention_days=analytics.log_retention_days,
            removal_policy=self.stateful_removal_policy,
        )
        self.job_roles = LakeJobRoles(
            self,
            "JobRoles",
            tasks=config.platform.ecs_tasks,
            lake=self.lake,
            storage_key=keys.storage,
            queue_key=keys.messaging,
            removal_policy=self.stateful_removal_policy,
        )
        self.athena = QueryWorkgroup(
            self,
            "Athena",
            name=name,
            bytes_scanned_cutoff_gib=analytics.athena_bytes_scanned_cutoff_gib,
            encryption_key=keys.storage,
            access_log_bucket=self.access_logs,
            versioned=versioned,
            removal_policy=self.stateful_removal_policy,
        )
        self.streaming = StreamIngestion(
            self,
            "Streaming",
            streaming=analytics.streaming,
            raw_bucket=self.lake.raw,
            stream_key=keys.messaging,
            table_key=keys.dynamodb,
            logs_key=keys.logs,
            vpc=network.vpc,
            subnets=network.app_subnets.subnets,
            security_group=groups.workload,
            reserved_concurrency=analytics.streaming.processor_reserved_concurrency,
            log_retention_days=analytics.log_retention_days,
            metrics_namespace=self.metrics_namespace,
            deletion_protection=self.deletion_protection,
            removal_policy=self.stateful_removal_policy,
        )
        self.kafka = KafkaCluster(
            self,
            "Kafka",
            msk_config=analytics.msk,
            name=name,
            subnets=network.data_subnets.subnets,
            security_group=groups.kafka,
            encryption_key=keys.messaging,
            logs_key=keys.logs,
            log_retention_days=analytics.log_retention_days,
            removal_policy=self.stateful_removal_policy,
        )
        self.search = SearchDomain(
            self,
            "Search",
            search=analytics.opensearch,
            name=name,
            subnets=network.data_subnets.subnets,
            security_group=groups.search,
            encryption_key=keys.storage,
            logs_key=keys.logs,
            log_retention_days=analytics.log_retention_days,
            admin_principals=config.platform.cluster_admin_principals,
            removal_policy=self.stateful_removal_policy,
        )
        # The app workloads' grants on this stack's resources (seeds 000, 004), written here where the resources
        # are: the role lives in the data stack, which cannot name them. A secondary region's share one policy: the
        # role's 10 managed policies serve every region.
        shared = iam.ManagedPolicy(self, "AppAccess", roles=[app_role]) if role_elsewhere else None
        self.streaming.grant_producers(app_role, shared=shared)
        self.kafka.grant_clients(app_role, shared=shared)
        self.search.grant_http(app_role, shared=shared)
        cdk.CfnOutput(self, "SearchEndpoint", value=self.search.domain_endpoint)
        self._stream_processing(config, network, keys)
        self.log_custom_resource_providers(logs_key=keys.logs, retention_days=analytics.log_retention_days)

    def _stream_processing(self, config: StageConfig, network: NetworkStack, keys: DataKeys) -> None:
        """Seed 000's processing column, each part behind its toggle: Flink over the stream into the lake, the
        Kafka consumer, Firehose into the search domain for logs, the metric stream into the raw zone."""
        processing = config.analytics.stream_processing
        groups = network.security_groups
        retention = config.analytics.log_retention_days
        app_subnets = network.app_subnets.subnets
        self.flink = (
            FlinkAggregates(
                self,
                "Flink",
                flink_config=processing.flink,
                name=f"{config.tags.project}-{config.name}-stream-aggregates",
                stream=self.streaming.stream,
                stream_key=keys.messaging,
                processed_bucket=self.lake.processed,
                storage_key=keys.storage,
                logs_key=keys.logs,
                subnets=app_subnets,
                security_group=groups.workload,
                log_retention_days=retention,
                removal_policy=self.stateful_removal_policy,
            )
            if processing.flink.enabled
            else None
        )
        cluster_arn = self.kafka.cluster_arn
        self.kafka_consumer = (
            KafkaConsumer(
                self,
                "KafkaConsumer",
                consumer_config=processing.kafka_consumer,
                cluster_name=f"{config.tags.project}-{config.name}",
                cluster_arn=cluster_arn,
                cluster_security_group=groups.kafka,
                state_table=self.streaming.state_table,
                queue_key=keys.messaging,
                logs_key=keys.logs,
                vpc=network.vpc,
                subnets=app_subnets,
                security_group=groups.workload,
                log_retention_days=retention,
                metrics_namespace=self.metrics_namespace,
                removal_policy=self.stateful_removal_policy,
            )
            if processing.kafka_consumer.enabled and cluster_arn is not None
            else None
        )
        self.log_delivery = (
            LogSearchDelivery(
                self,
                "LogDelivery",
                delivery=processing.log_delivery,
                domain_arn=self.search.domain_arn,
                backup_bucket=self.lake.raw,
                backup_key=keys.storage,
                stream_key=keys.messaging,
                logs_key=keys.logs,
                subnets=app_subnets,
                security_group=groups.workload,
                log_retention_days=retention,
                removal_policy=self.stateful_removal_policy,
            )
            if processing.log_delivery.enabled
            else None
        )
        self.metric_stream = (
            MetricStream(
                self,
                "MetricStream",
                metrics=processing.metric_stream,
                raw_bucket=self.lake.raw,
                stream_key=keys.messaging,
                logs_key=keys.logs,
                log_retention_days=retention,
                removal_policy=self.stateful_removal_policy,
            )
            if processing.metric_stream.enabled
            else None
        )
