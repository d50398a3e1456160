"""PostgreSQL for the platform: Aurora Serverless v2 or RDS, TLS-only, IAM auth, behind an RDS Proxy."""

from __future__ import annotations

from typing import Any, cast

import aws_cdk as cdk
from aws_cdk import aws_backup as backup
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_rds as rds
from aws_cdk import aws_sam as sam
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct
from constructs.common.acknowledgments import acknowledge
from constructs.common.encrypted_log_group import EncryptedLogGroup
from constructs.common.managed_policy_role import ManagedPolicyRole

from environments.schema.data import DatabaseConfig

MASTER_USERNAME = "postgres"
PORT = 5432
CREDENTIAL_ROTATION = cdk.Duration.days(30)
LOG_EXPORTS = {"cluster": ("postgresql",), "instance": ("postgresql", "upgrade")}
"""What each kind exports to CloudWatch Logs (Aurora has no separate upgrade log)."""
CA_CERTIFICATE = rds.CaCertificate.RDS_CA_RSA2048_G1


class PostgresDatabase(Construct):
    """`cluster` (Aurora) or `instance` (RDS), its `master_secret` (and `secret`, the same attached to the
    database, with host and port), and the `proxy` clients connect to.

    Everything sits in the isolated data subnets. Clients reach PostgreSQL only through the proxy, which
    carries the network stack's `postgres` group (5432 from workloads). The database has a group of its
    own, owned here, that admits the proxy and the credential-rotation function: CDK writes those rules
    with the database's port attribute, and on a network-stack group they would point back at this stack.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        database: DatabaseConfig,
        identifier: str,
        secret_name: str,
        vpc: ec2.IVpc,
        data_subnets: ec2.SubnetSelection,
        app_subnets: ec2.SubnetSelection,
        proxy_security_group: ec2.ISecurityGroup,
        storage_key: kms.IKey,
        secrets_key: kms.IKey,
        logs_key: kms.IKey,
        log_retention_days: int,
        deletion_protection: bool,
        removal_policy: cdk.RemovalPolicy,
        snapshot_removal_policy: cdk.RemovalPolicy,
        global_database: bool = False,
    ) -> None:
        super().__init__(scope, construct_id)
        self.identifier = identifier
        aurora = database.engine == "aurora-serverless-v2"
        major = database.engine_version.split(".")[0]
        self.master_secret = rds.DatabaseSecret(
            self, "MasterSecret", username=MASTER_USERNAME, secret_name=secret_name, encryption_key=secrets_key
        )
        self.master_secret.apply_removal_policy(removal_policy)
        credentials = rds.Credentials.from_secret(self.master_secret)
        # RDS would create its log-export groups unencrypted and kept forever; creating them first, under
        # the names RDS uses, gives them the logs key and a retention.
        kind = "cluster" if aurora else "instance"
        self.log_groups = rds_log_groups(
            self, kind=kind, identifier=identifier, logs_key=logs_key, retention_days=log_retention_days,
            removal_policy=removal_policy,
        )  # fmt: skip
        self.security_group = ec2.SecurityGroup(
            self,
            "SecurityGroup",
            vpc=vpc,
            description="PostgreSQL database: from its RDS Proxy and the credential rotation only",
            allow_all_outbound=False,
        )
        common: dict[str, Any] = {
            "vpc": vpc,
            "vpc_subnets": data_subnets,
            "security_groups": [self.security_group],
            "credentials": credentials,
            "storage_encryption_key": storage_key,
            "storage_encrypted": True,
            "iam_authentication": True,
            "port": PORT,
            "deletion_protection": deletion_protection,
            "removal_policy": snapshot_removal_policy,
            "cloudwatch_logs_exports": list(LOG_EXPORTS[kind]),
            "monitoring_interval": cdk.Duration.seconds(database.monitoring_interval_seconds)
            if database.monitoring_interval_seconds
            else None,
            "copy_tags_to_snapshot": True,
            "auto_minor_version_upgrade": True,
        }
        insights: dict[str, Any] = (
            {"enable_performance_insights": True, "performance_insight_encryption_key": storage_key}
            if database.performance_insights
            else {}
        )

        self.global_cluster_identifier: str | None = None
        self.cluster: rds.DatabaseCluster | None = None
        self.instance: rds.DatabaseInstance | None = None
        if aurora:
            assert database.aurora is not None  # guaranteed by the config checks
            engine: rds.IClusterEngine = rds.DatabaseClusterEngine.aurora_postgres(
                version=rds.AuroraPostgresEngineVersion.of(database.engine_version, major)
            )
            self.cluster = rds.DatabaseCluster(
                self,
                "Cluster",
                engine=engine,
                cluster_identifier=identifier,
                default_database_name=database.database_name,
                parameter_group=tls_only_parameters(self, engine),
                writer=rds.ClusterInstance.serverless_v2("Writer", ca_certificate=CA_CERTIFICATE, **insights),
                readers=[
                    rds.ClusterInstance.serverless_v2(
                        f"Reader{index + 1}",
                        scale_with_writer=index == 0,
                        ca_certificate=CA_CERTIFICATE,
                        **insights,
                    )
                    for index in range(database.aurora.readers)
                ],
                serverless_v2_min_capacity=database.aurora.min_capacity_acu,
                serverless_v2_max_capacity=database.aurora.max_capacity_acu,
                backup=rds.BackupProps(retention=cdk.Duration.days(database.backup_retention_days)),
                **common,
                **insights,
            )
            target = rds.ProxyTarget.from_cluster(self.cluster)
            if global_database:
                self._make_global(identifier, deletion_protection, removal_policy)
            self.backup_resource = backup.BackupResource.from_rds_database_cluster(self.cluster)
            self.secret: secretsmanager.ISecret = _secret(self.cluster.secret)
            self.endpoint = self.cluster.cluster_endpoint.hostname
            self.reader_endpoint = self.cluster.cluster_read_endpoint.hostname
        else:
            assert database.rds is not None
            instance_engine = rds.DatabaseInstanceEngine.postgres(
                version=rds.PostgresEngineVersion.of(database.engine_version, major)
            )
            self.instance = rds.DatabaseInstance(
                self,
                "Instance",
                engine=instance_engine,
                instance_identifier=identifier,
                database_name=database.database_name,
                parameter_group=tls_only_parameters(self, instance_engine),
                instance_type=ec2.InstanceType(database.rds.instance_class),
                multi_az=database.rds.multi_az,
                allocated_storage=database.rds.allocated_storage_gib,
                max_allocated_storage=database.rds.max_allocated_storage_gib,
                storage_type=rds.StorageType.GP3,
                publicly_accessible=False,
                ca_certificate=CA_CERTIFICATE,
                backup_retention=cdk.Duration.days(database.backup_retention_days),
                **common,
                **insights,
            )
            target = rds.ProxyTarget.from_instance(self.instance)
            self.backup_resource = backup.BackupResource.from_rds_database_instance(self.instance)
            self.secret = _secret(self.instance.secret)
            self.endpoint = self.instance.db_instance_endpoint_address
            self.reader_endpoint = self.endpoint
        for log_group in self.log_groups:
            (self.cluster or self.instance).node.add_dependency(log_group)  # type: ignore[union-attr]

        database_instance = self.cluster or self.instance
        assert database_instance is not None
        self.rotation_security_group = ec2.SecurityGroup(
            self,
            "RotationSecurityGroup",
            vpc=vpc,
            description="Master-credential rotation function: to the database and AWS APIs",
            allow_all_outbound=True,
        )
        self.rotation = secretsmanager.SecretRotation(
            self,
            "MasterSecretRotation",
            application=secretsmanager.SecretRotationApplication.POSTGRES_ROTATION_SINGLE_USER,
            secret=self.secret,
            target=database_instance,
            vpc=vpc,
            vpc_subnets=app_subnets,
            security_group=self.rotation_security_group,
            automatically_after=CREDENTIAL_ROTATION,
        )
        # The rotation application's function logs to /aws/lambda/<its functionName> from its first rotation;
        # created before the application, under that name, the group gets the logs key and the retention.
        application = cast(sam.CfnApplication, self.rotation.node.find_child("Resource"))
        parameters = cast(dict[str, str], application.parameters)
        self.rotation_logs = EncryptedLogGroup(
            self,
            "RotationLogs",
            encryption_key=logs_key,
            retention_days=log_retention_days,
            removal_policy=removal_policy,
            log_group_name=f"/aws/lambda/{parameters['functionName']}",
        )
        application.node.add_dependency(self.rotation_logs)
        proxy_role = ManagedPolicyRole(
            self,
            "ProxyRole",
            assumed_by=iam.ServicePrincipal("rds.amazonaws.com"),
            description="RDS Proxy: read the master secret to open pooled connections",
            statements=[
                iam.PolicyStatement(actions=["secretsmanager:GetSecretValue"], resources=[self.secret.secret_arn]),
                iam.PolicyStatement(
                    actions=["kms:Decrypt"],
                    resources=[secrets_key.key_arn],
                    conditions={
                        "StringEquals": {"kms:ViaService": f"secretsmanager.{cdk.Stack.of(self).region}.amazonaws.com"}
                    },
                ),
            ],
        )
        self.proxy = rds.DatabaseProxy(
            self,
            "Proxy",
            proxy_target=target,
            secrets=[self.secret],
            vpc=vpc,
            vpc_subnets=data_subnets,
            security_groups=[proxy_security_group],
            iam_auth=True,
            require_tls=True,
            role=proxy_role.immutable_role,
        )
        self.proxy_endpoint = self.proxy.endpoint
        self._acknowledge(database, aurora, deletion_protection)

    def _make_global(self, identifier: str, deletion_protection: bool, removal_policy: cdk.RemovalPolicy) -> None:
        """Make the Aurora cluster the primary of a global database a secondary region can join."""
        assert self.cluster is not None
        stack = cdk.Stack.of(self)
        global_cluster = rds.CfnGlobalCluster(
            self,
            "GlobalCluster",
            global_cluster_identifier=f"{identifier}-global",
            source_db_cluster_identifier=stack.format_arn(
                service="rds",
                resource="cluster",
                resource_name=identifier,
                arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
            ),
            deletion_protection=deletion_protection,
        )
        global_cluster.node.add_dependency(self.cluster)
        # The global cluster has no snapshot of its own (its members do): kept, like every stateful resource.
        global_cluster.apply_removal_policy(removal_policy)
        self.global_cluster_identifier = global_cluster.ref

    def _acknowledge(self, database: DatabaseConfig, aurora: bool, deletion_protection: bool) -> None:
        db = self.cluster or self.instance
        assert db is not None
        unresolvable = (
            "The rule cannot evaluate a port CloudFormation resolves (the database's endpoint port, 5432); "
            "the sources are the proxy's and the rotation function's security groups, not address ranges."
        )
        acknowledge(self.security_group, "NIST.800.53.R5-EC2RestrictedCommonPorts", unresolvable)
        acknowledge(self.security_group, "NIST.800.53.R5-EC2RestrictedSSH", unresolvable)
        if self.cluster:
            acknowledge(
                self.cluster,
                "NIST.800.53.R5-RDSInBackupPlan",
                "AWS Backup protects Aurora per cluster: the daily plan selects the cluster, which covers its "
                "instances (the rule looks for the instances, which cannot be selected on their own).",
            )
        acknowledge(
            db,
            "AwsSolutions-RDS11",
            "PostgreSQL keeps its standard port 5432: only the postgres security group's sources reach it, "
            "so a non-standard port adds no protection and breaks tooling defaults.",
        )
        if database.monitoring_interval_seconds:
            acknowledge(
                db,
                "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole]",
                "Enhanced monitoring's role uses the AWS-managed policy RDS documents for it; it only lets RDS "
                "write OS metrics to CloudWatch Logs.",
            )
        else:
            acknowledge(
                db,
                "NIST.800.53.R5-RDSEnhancedMonitoringEnabled",
                "Enhanced monitoring is off in this stage by config (cost); prod turns it on.",
            )
        if not deletion_protection:
            reason = "Deletion protection is off only in a stage whose config sets allow_destroy (never prod)."
            acknowledge(db, "AwsSolutions-RDS10", reason)
        if not aurora and database.rds is not None and not database.rds.multi_az:
            reason = "Single-AZ by config in this non-production stage (seed 001: Multi-AZ in prod only)."
            acknowledge(db, "AwsSolutions-RDS3", reason)


def rds_log_groups(
    scope: Construct,
    *,
    kind: str,
    identifier: str,
    logs_key: kms.IKey,
    retention_days: int,
    removal_policy: cdk.RemovalPolicy,
) -> list[logs.ILogGroup]:
    """The log-export groups RDS would create unencrypted and unexpiring, created first under its names."""
    return [
        EncryptedLogGroup(
            scope,
            f"{export.capitalize()}Logs",
            encryption_key=logs_key,
            retention_days=retention_days,
            removal_policy=removal_policy,
            log_group_name=f"/aws/rds/{kind}/{identifier}/{export}",
        ).log_group
        for export in LOG_EXPORTS[kind]
    ]


def tls_only_parameters(scope: Construct, engine: rds.IEngine) -> rds.ParameterGroup:
    """A parameter group that refuses unencrypted connections."""
    return rds.ParameterGroup(
        scope,
        "TlsOnlyParameters",
        engine=engine,
        description="PostgreSQL: TLS required",
        parameters={"rds.force_ssl": "1"},
    )


def _secret(secret: secretsmanager.ISecret | None) -> secretsmanager.ISecret:
    assert secret is not None, "credentials from a secret always attach it"
    return secret
