"""The data stack: keys, PostgreSQL, cache, tables, buckets, file system, secrets, messaging, backups."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_backup as backup
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_s3 as s3
from constructs import Construct
from constructs.data.app_secrets import AppSecrets
from constructs.data.app_tables import AppTables
from constructs.data.backup_plans import BackupPlans
from constructs.data.data_buckets import DataBuckets, cloudfront_conditions
from constructs.data.data_keys import DataKeys
from constructs.data.messaging import Messaging
from constructs.data.postgres_database import PostgresDatabase
from constructs.data.shared_file_system import SharedFileSystem
from constructs.data.valkey_cache import ValkeyCache
from constructs.data.workload_identities import WorkloadRoles

from environments.schema.stage import StageConfig
from stacks.base import PlatformStack
from stacks.data_replica import DataReplicaStack, replica_bucket_name
from stacks.network import NetworkStack


class DataStack(PlatformStack):
    """Everything stateful, placed in the network stack's data tier behind its security groups.

    Consumers get typed attributes (`keys`, `database`, `cache`, `tables`, `buckets`, `file_system`,
    `secrets`, `messaging`, `backups`). The only grants here are the workload roles' (`workload_roles`),
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
        replica: DataReplicaStack | None = None,
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            config=config,
            description=f"{config.name}: keys, PostgreSQL, Valkey, DynamoDB, S3, EFS, secrets, messaging, backups",
            cross_region_references=replica is not None,
        )
        data = config.data
        prefix = f"{config.tags.project}/{config.name}"
        groups = network.security_groups
        data_subnets = ec2.SubnetSelection(subnets=network.data_subnets.subnets)
        app_subnets = ec2.SubnetSelection(subnets=network.app_subnets.subnets)

        self.keys = DataKeys(
            self,
            "Keys",
            strategy=config.kms.key_strategy,
            alias_prefix=f"alias/{prefix}",
            deletion_window_days=config.kms.deletion_window_days,
            removal_policy=self.stateful_removal_policy,
        )
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
            global_database=replica is not None and data.database.engine == "aurora-serverless-v2",
        )
        self.cache = ValkeyCache(
            self,
            "Cache",
            cache=data.cache,
            subnets=network.data_subnets,
            security_group=groups.cache,
            cache_key=self.keys.cache,
            secrets_key=self.keys.secrets,
            logs_key=self.keys.logs,
            secret_name=f"/{prefix}/cache-auth-token",
            removal_policy=self.stateful_removal_policy,
            snapshot_removal_policy=self.snapshot_removal_policy,
        )
        self.tables = AppTables(
            self,
            "Tables",
            encryption_key=self.keys.dynamodb,
            deletion_protection=self.deletion_protection,
            removal_policy=self.stateful_removal_policy,
            replicas={table: {replica.region: replica.replica_key.key_arn} for table in config.dr.replicate_tables}
            if replica
            else None,
        )
        self.buckets = DataBuckets(
            self,
            "Buckets",
            buckets=data.buckets,
            storage_key=self.keys.storage,
            trail_name=config.trail_name,
            removal_policy=self.stateful_removal_policy,
            replicas={
                name: s3.Bucket.from_bucket_attributes(
                    self,
                    f"{name}-replica",
                    bucket_name=replica_bucket_name(config, name),
                    region=config.dr.region,
                )
                for name in config.dr.replicate_buckets
            }
            if replica
            else None,
            replica_key=replica.replica_key if replica else None,
        )
        if config.edge.enabled:
            self.buckets.allow_cloudfront_images()
            self.keys.encryption_key("storage").allow_services(
                "CloudFrontReadsImages",
                ["cloudfront.amazonaws.com"],
                ["kms:Decrypt"],
                cloudfront_conditions(self),
            )
        self.file_system = SharedFileSystem(
            self,
            "SharedModels",
            efs_config=data.efs,
            vpc=network.vpc,
            subnets=data_subnets,
            security_group=groups.efs,
            encryption_key=self.keys.storage,
            removal_policy=self.stateful_removal_policy,
        )
        self.secrets = AppSecrets(
            self,
            "Secrets",
            name_prefix=f"/{prefix}/",
            encryption_key=self.keys.secrets,
            removal_policy=self.stateful_removal_policy,
        )
        self.messaging = Messaging(
            self,
            "Messaging",
            messaging=data.messaging,
            encryption_key=self.keys.messaging,
            event_bus_name=f"{config.tags.project}-{config.name}",
            removal_policy=self.stateful_removal_policy,
        )
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
        )
        self.proxy_endpoint_output = cdk.CfnOutput(
            self, "PostgresProxyEndpoint", value=self.database.proxy_endpoint, description="Connect here (TLS + IAM)"
        )
        self.cache_endpoint_output = cdk.CfnOutput(
            self, "CachePrimaryEndpoint", value=self.cache.primary_endpoint, description="Valkey primary (TLS + AUTH)"
        )
        self.log_custom_resource_providers(logs_key=self.keys.logs, retention_days=data.database.log_retention_days)
