"""Amazon Neptune (seed 000's graph database: topology and dependencies): a cluster in the data tier with IAM
authentication, the stage's key at rest, backups, and the audit log exported to an encrypted log group.

Neptune accepts only TLS connections (HTTPS and WebSockets, TLS 1.2 or later) from engine 1.0.4.0 on, and
the schema takes 1.3 and later, so there is no plain-text listener to turn off.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_kms as kms
from aws_cdk import aws_neptune as neptune
from constructs import Construct
from constructs.common.encrypted_log_group import EncryptedLogGroup
from constructs.network.tier_security_groups import GRAPH_PORT

from environments.schema.data import GraphConfig

SERVERLESS_CLASS = "db.serverless"
LOG_EXPORTS = ("audit",)


class GraphDatabase(Construct):
    """`cluster` (its `resource_id` is what `neptune-db:` permissions name), `instances` (the writer first),
    `audit_log_group`, `endpoint` and `port`."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        graph: GraphConfig,
        identifier: str,
        subnets: ec2.SelectedSubnets,
        security_group: ec2.ISecurityGroup,
        storage_key: kms.IKey,
        logs_key: kms.IKey,
        deletion_protection: bool,
        removal_policy: cdk.RemovalPolicy,
        snapshot_removal_policy: cdk.RemovalPolicy,
    ) -> None:
        super().__init__(scope, construct_id)
        assert graph.engine_version and graph.instances and graph.backup_retention_days and graph.log_retention_days
        serverless = graph.mode == "serverless"
        # Neptune would create its export group unencrypted and kept forever; created first, under its name.
        self.audit_log_group = EncryptedLogGroup(
            self,
            "AuditLogs",
            encryption_key=logs_key,
            retention_days=graph.log_retention_days,
            removal_policy=removal_policy,
            log_group_name=f"/aws/neptune/{identifier}/audit",
        ).log_group
        subnet_group = neptune.CfnDBSubnetGroup(
            self, "SubnetGroup", db_subnet_group_description="Neptune: isolated data subnets",
            subnet_ids=subnets.subnet_ids,
        )  # fmt: skip
        family = "neptune" + ".".join(graph.engine_version.split(".")[:2])
        parameters = neptune.CfnDBClusterParameterGroup(
            self,
            "ClusterParameters",
            family=family,
            description="Neptune: audit logging on (exported to CloudWatch Logs)",
            parameters={"neptune_enable_audit_log": 1},
        )
        self.cluster = neptune.CfnDBCluster(
            self,
            "Cluster",
            db_cluster_identifier=identifier,
            engine_version=graph.engine_version,
            db_subnet_group_name=subnet_group.ref,
            vpc_security_group_ids=[security_group.security_group_id],
            db_port=GRAPH_PORT,
            db_cluster_parameter_group_name=parameters.ref,
            iam_auth_enabled=True,
            storage_encrypted=True,
            kms_key_id=storage_key.key_arn,
            backup_retention_period=graph.backup_retention_days,
            preferred_backup_window="03:00-04:00",
            preferred_maintenance_window="sun:05:00-sun:06:00",
            copy_tags_to_snapshot=True,
            deletion_protection=deletion_protection,
            enable_cloudwatch_logs_exports=list(LOG_EXPORTS),
            serverless_scaling_configuration=neptune.CfnDBCluster.ServerlessScalingConfigurationProperty(
                min_capacity=graph.min_capacity_ncu or 0, max_capacity=graph.max_capacity_ncu or 0
            )
            if serverless
            else None,
        )
        self.cluster.apply_removal_policy(snapshot_removal_policy)
        self.cluster.node.add_dependency(self.audit_log_group)
        zones = subnets.availability_zones
        self.instances = []
        for index in range(graph.instances):
            instance = neptune.CfnDBInstance(
                self,
                "Writer" if index == 0 else f"Reader{index}",
                db_cluster_identifier=self.cluster.ref,
                db_instance_class=SERVERLESS_CLASS if serverless else str(graph.instance_class),
                availability_zone=zones[index % len(zones)],
                auto_minor_version_upgrade=True,
                preferred_maintenance_window="sun:05:00-sun:06:00",
            )
            self.instances.append(instance)
        self.resource_id = self.cluster.attr_cluster_resource_id
        self.endpoint = self.cluster.attr_endpoint
        self.port = GRAPH_PORT
