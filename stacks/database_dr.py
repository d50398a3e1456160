"""The PostgreSQL secondary in the secondary region: an Aurora Global Database member that takes over
(managed failover or detach-and-promote) when the primary region is lost."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_rds as rds
from constructs import Construct
from constructs.common.acknowledgments import acknowledge
from constructs.data.postgres_database import LOG_EXPORTS, PORT, rds_log_groups, tls_only_parameters

from environments.schema.stage import StageConfig
from stacks.base import PlatformStack
from stacks.data_replica import DataReplicaStack
from stacks.network import NetworkStack


class DatabaseReplicaStack(PlatformStack):
    """`cluster` (secondary of `global_cluster_identifier`), its `reader` (None in a standby region: the
    secondary is headless there) and their subnet group."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StageConfig,
        network: NetworkStack,
        replica: DataReplicaStack,
        global_cluster_identifier: str,
    ) -> None:
        super().__init__(
            scope, construct_id, config=config, description=f"{config.name}: Aurora Global Database secondary"
        )
        database = config.data.database
        assert database.aurora is not None
        # A global database's clusters need names unique across its regions.
        identifier = f"{config.tags.project}-{config.name}-postgres-{config.region}"
        major = database.engine_version.split(".")[0]
        logs = rds_log_groups(
            self, kind="cluster", identifier=identifier, logs_key=network.log_key.key,
            retention_days=database.log_retention_days, removal_policy=self.stateful_removal_policy,
        )  # fmt: skip
        subnets = rds.CfnDBSubnetGroup(
            self,
            "Subnets",
            db_subnet_group_description="Isolated data subnets of the secondary region",
            subnet_ids=network.data_subnets.subnet_ids,
        )
        engine = rds.DatabaseClusterEngine.aurora_postgres(
            version=rds.AuroraPostgresEngineVersion.of(database.engine_version, major)
        )
        parameters = tls_only_parameters(self, engine).bind_to_cluster()
        self.cluster = rds.CfnDBCluster(
            self,
            "Cluster",
            db_cluster_identifier=identifier,
            engine="aurora-postgresql",
            engine_version=database.engine_version,
            global_cluster_identifier=global_cluster_identifier,
            db_subnet_group_name=subnets.ref,
            db_cluster_parameter_group_name=parameters.parameter_group_name,
            vpc_security_group_ids=[network.security_groups.postgres.security_group_id],
            port=PORT,
            storage_encrypted=True,
            kms_key_id=replica.keys.rds.key_arn,
            enable_iam_database_authentication=True,
            deletion_protection=self.deletion_protection,
            backup_retention_period=database.backup_retention_days,
            copy_tags_to_snapshot=True,
            enable_cloudwatch_logs_exports=list(LOG_EXPORTS["cluster"]),
            serverless_v2_scaling_configuration=rds.CfnDBCluster.ServerlessV2ScalingConfigurationProperty(
                min_capacity=database.aurora.min_capacity_acu, max_capacity=database.aurora.max_capacity_acu
            ),
        )
        for log_group in logs:
            self.cluster.node.add_dependency(log_group)
        self.cluster.apply_removal_policy(self.snapshot_removal_policy)
        # An active region reads through its own instance and fails over to it at once; a standby region's
        # secondary is headless (storage only, no instance to pay for): a failover there adds one first.
        self.reader = (
            rds.CfnDBInstance(
                self,
                "Reader",
                db_cluster_identifier=self.cluster.ref,
                db_instance_class="db.serverless",
                engine="aurora-postgresql",
                publicly_accessible=False,
                auto_minor_version_upgrade=True,
            )
            if config.region_config.role == "active"
            else None
        )
        acknowledge(
            self.cluster,
            "AwsSolutions-RDS11",
            "PostgreSQL keeps its standard port 5432, as in the primary region.",
        )
        for resource in filter(None, (self.cluster, self.reader)):
            for finding in ("NIST.800.53.R5-RDSInBackupPlan", "NIST.800.53.R5-RDSEnhancedMonitoringEnabled"):
                acknowledge(
                    resource,
                    finding,
                    "A global-database secondary replicates the primary, which AWS Backup and enhanced "
                    "monitoring cover; after a failover the stage's config moves the primary here.",
                )
        cdk.CfnOutput(self, "SecondaryEndpoint", value=self.cluster.attr_endpoint_address)
