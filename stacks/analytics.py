"""The analytics stack: data lake, Glue, Athena, streaming ingestion, Kafka and search.

It takes the network and data stacks and never the platform stack; the platform stack reads it (the ECS data
jobs run with the roles made here, beside the lake they use).
"""

from __future__ import annotations

import aws_cdk as cdk
from constructs import Construct
from constructs.analytics.data_lake import DataLake
from constructs.analytics.glue_pipeline import GluePipeline
from constructs.analytics.kafka_cluster import KafkaCluster
from constructs.analytics.lake_job_roles import LakeJobRoles
from constructs.analytics.query_workgroup import QueryWorkgroup
from constructs.analytics.search_domain import SearchDomain
from constructs.analytics.stream_ingestion import StreamIngestion
from constructs.common.secure_bucket import access_log_bucket

from environments.schema.stage import StageConfig
from stacks.base import PlatformStack
from stacks.data import DataStack
from stacks.network import NetworkStack


class AnalyticsStack(PlatformStack):
    """`lake`, `glue`, `job_roles` (the ECS data jobs' roles and work queue), `athena`, `streaming`, `kafka`
    and `search`."""

    def __init__(
        self, scope: Construct, construct_id: str, *, config: StageConfig, network: NetworkStack, data: DataStack
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            config=config,
            description=f"{config.name}: data lake, Glue, Athena, Kinesis + Firehose, MSK, OpenSearch",
        )
        analytics = config.analytics
        keys = data.keys
        groups = network.security_groups
        name = f"{config.tags.project}-{config.name}"
        self.metrics_namespace = f"{config.tags.project}/{config.name}/lake"  # quarantined records, alarmed on
        buckets = config.data.buckets
        versioned = buckets.versioned
        self.access_logs = access_log_bucket(
            self,
            "AccessLogs",
            retention_days=buckets.access_log_retention_days,
            versioned=versioned,
            noncurrent_version_expiration_days=buckets.noncurrent_version_expiration_days,
            removal_policy=self.stateful_removal_policy,
        )
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
        # are: the role lives in the data stack, which cannot name them.
        app_role = data.workload_roles.app_role
        self.streaming.grant_producers(app_role)
        self.kafka.grant_clients(app_role)
        self.search.grant_http(app_role)
        cdk.CfnOutput(self, "SearchEndpoint", value=self.search.domain_endpoint)
        self.log_custom_resource_providers(logs_key=keys.logs, retention_days=analytics.log_retention_days)
