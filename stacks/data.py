"""The data stack: keys, PostgreSQL, cache, tables, buckets, file system, secrets, messaging, backups."""

from __future__ import annotations

from collections.abc import Sequence

import aws_cdk as cdk
from aws_cdk import aws_backup as backup
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct
from constructs.data.app_secrets import AppSecrets
from constructs.data.app_tables import AppTables
from constructs.data.backup_plans import BackupPlans
from constructs.data.data_buckets import BucketReplicas, DataBuckets, allow_cloudfront_reads
from constructs.data.graph_database import GraphDatabase
from constructs.data.postgres_database import PostgresDatabase
from constructs.data.shared_file_system import SharedFileSystem
from constructs.data.table_accelerator import TableAccelerator
from constructs.data.time_series_database import TimeSeriesDatabase
from constructs.data.workload_identities import WorkloadRoles

from environments.schema.regions import replica_bucket_name
from environments.schema.stage import StageConfig
from stacks.base import PlatformStack
from stacks.data_replica import DataReplicaStack, stage_cache, stage_keys, stage_messaging
from stacks.network import NetworkStack


class DataStack(PlatformStack):
    """Everything stateful, placed in the network stack's data tier behind its security groups.

    Consumers get typed attributes (`keys`, `database`, `cache`, `tables`, `buckets`, `file_system`,
    `secrets`, `messaging`, `backups`, and `graph`, `time_series`, `accelerator`, None where the stage turns
    them off). The only grants here are the workload roles' (`workload_roles`),
    written statement by statement so their policies name this stack's resources; every other consumer
    is granted access where it is wired.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StageConfig,
        network: NetworkStack,
        replicas: Sequence[DataReplicaStack] = (),
    ) -> None:
        """`replicas`: the stacks holding this stage's replica keys and buckets, one per secondary region."""
        super().__init__(
            scope,
            construct_id,
            config=config,
            description=f"{config.name}: keys, PostgreSQL, Valkey, DynamoDB, S3, EFS, secrets, messaging, backups",
            cross_region_references=bool(replicas),
        )
        data = config.data
        prefix = f"{config.tags.project}/{config.name}"
        groups = network.security_groups
        # Every secret the workloads read is replicated to each secondary region, under its secrets key.
        self.secret_replicas = secret_replicas = [
            secretsmanager.ReplicaRegion(region=replica.region, encryption_key=replica.keys.secrets)
            for replica in replicas
        ]
        """Where (and under which key) secrets are replicated; other stacks' secrets use it too."""
        data_subnets = ec2.SubnetSelection(subnets=network.data_subnets.subnets)
        app_subnets = ec2.SubnetSelection(subnets=network.app_subnets.subnets)

        self.keys = stage_keys(self)
        self.database = PostgresDatabase(
            self,
            "Postgres",
            database=data.database,
            identifier=f"{config.tags.project}-{config.name}-postgres",
            secret_name=f"/{prefix}/postgres-master",
            vpc=network.vpc,
            data_subnets=data_subnets,
            app_subnets=app_subnets,
            proxy_security_group=groups.postgres,
            storage_key=self.keys.rds,
            secrets_key=self.keys.secrets,
            logs_key=self.keys.logs,
            log_retention_days=data.database.log_retention_days,
            deletion_protection=self.deletion_protection,
            removal_policy=self.stateful_removal_policy,
            snapshot_removal_policy=self.snapshot_removal_policy,
            global_database=bool(replicas) and data.database.engine == "aurora-serverless-v2",
            secret_replicas=secret_replicas,
        )
        self.cache = stage_cache(self, network, self.keys)
        self.tables = AppTables(
            self,
            "Tables",
            encryption_key=self.keys.dynamodb,
            deletion_protection=self.deletion_protection,
            removal_policy=self.stateful_removal_policy,
            replicas={
                table: {replica.region: replica.keys.dynamodb.key_arn for replica in replicas}
                for table in config.recovery.replicate_tables
            }
            if replicas
            else None,
        )
        self.buckets = DataBuckets(
            self,
            "Buckets",
            buckets=data.buckets,
            storage_key=self.keys.storage,
            trail_name=config.trail_name,
            removal_policy=self.stateful_removal_policy,
            replicas=[
                BucketReplicas(
                    buckets={
                        name: s3.Bucket.from_bucket_attributes(
                            self,
                            f"{name}-replica-{replica.region}",
                            bucket_name=replica_bucket_name(config, name, replica.region),
                            region=replica.region,
                        )
                        for name in config.recovery.replicate_buckets
                    },
                    key=replica.keys.storage,
                )
                for replica in replicas
            ],
            replication_time_control=config.recovery.rpo_minutes is not None,
        )
        if config.edge.enabled:
            allow_cloudfront_reads(self.buckets.images, self.keys.encryption_key("storage"))
        self.file_system = SharedFileSystem(
            self,
            "SharedModels",
            efs_config=data.efs,
            vpc=network.vpc,
            subnets=data_subnets,
            security_group=groups.efs,
            encryption_key=self.keys.storage,
            removal_policy=self.stateful_removal_policy,
            replicate_to=next((r.file_system.file_system for r in replicas if r.models_replica), None),
        )
        self.secrets = AppSecrets(
            self,
            "Secrets",
            name_prefix=f"/{prefix}/",
            encryption_key=self.keys.secrets,
            removal_policy=self.stateful_removal_policy,
            replicas=secret_replicas,
        )
        self.messaging = stage_messaging(self, self.keys)
        self.backups = BackupPlans(
            self,
            "Backups",
            backup_config=data.backup,
            encryption_key=self.keys.storage,
            daily_resources=[
                self.database.backup_resource,
                *(backup.BackupResource.from_dynamo_db_table(table) for table in self.tables.tables),
            ],
            weekly_resources=[backup.BackupResource.from_efs_file_system(self.file_system.file_system)],
            removal_policy=self.stateful_removal_policy,
            copy_to=[replica.backup_vault for replica in replicas],
        )
        self.graph = (
            GraphDatabase(
                self,
                "Graph",
                graph=data.graph,
                identifier=f"{config.tags.project}-{config.name}-graph",
                subnets=network.data_subnets,
                security_group=_group(groups.graph),
                storage_key=self.keys.storage,
                logs_key=self.keys.logs,
                deletion_protection=self.deletion_protection,
                removal_policy=self.stateful_removal_policy,
                snapshot_removal_policy=self.snapshot_removal_policy,
            )
            if data.graph.mode != "off"
            else None
        )
        self.time_series = (
            TimeSeriesDatabase(
                self,
                "TimeSeries",
                time_series=data.time_series,
                name=f"{config.tags.project}-{config.name}-timeseries",
                subnets=network.data_subnets,
                security_group=_group(groups.time_series),
                secrets_key=self.keys.secrets,
                access_log_bucket=self.buckets.access_logs,
                secret_prefix=f"/{prefix}/timeseries/",
                versioned=data.buckets.versioned,
                noncurrent_version_expiration_days=data.buckets.noncurrent_version_expiration_days,
                removal_policy=self.stateful_removal_policy,
            )
            if data.time_series.enabled
            else None
        )
        self.accelerator = (
            TableAccelerator(
                self,
                "Accelerator",
                accelerator=data.accelerator,
                tables=self.tables.tables,
                indexes=self.tables.index_arns,
                tables_key=self.keys.dynamodb,
                subnets=network.data_subnets,
                security_group=_group(groups.accelerator),
                removal_policy=self.stateful_removal_policy,
            )
            if data.accelerator.enabled
            else None
        )
        self.workload_roles = WorkloadRoles(
            self,
            "WorkloadRoles",
            keys=self.keys,
            secrets=self.secrets,
            cache_token=self.cache.auth_secret,
            tables=self.tables,
            buckets=self.buckets,
            messaging=self.messaging,
            database=self.database,
            file_system=self.file_system,
            graph=self.graph,
            time_series=self.time_series,
            accelerator=self.accelerator,
        )
        self.proxy_endpoint_output = cdk.CfnOutput(
            self, "PostgresProxyEndpoint", value=self.database.proxy_endpoint, description="Connect here (TLS + IAM)"
        )
        self.cache_endpoint_output = cdk.CfnOutput(
            self, "CachePrimaryEndpoint", value=self.cache.primary_endpoint, description="Valkey primary (TLS + AUTH)"
        )
        self.log_custom_resource_providers(logs_key=self.keys.logs, retention_days=data.database.log_retention_days)


def _group(group: ec2.SecurityGroup | None) -> ec2.SecurityGroup:
    """The network stack's group for a store the stage turns on (it makes one exactly then)."""
    assert group is not None, "the network stack made no group for a store the stage turns on"
    return group
