"""Timestream for InfluxDB (seed 000's time series; DESIGN's replacement for the closed LiveAnalytics): an
instance in the data tier, its admin credentials generated in Secrets Manager, its engine logs delivered to a
bucket of its own.

At rest the service encrypts with AWS-owned keys: its API takes a customer key at create time, but
CloudFormation's AWS::Timestream::InfluxDBInstance has no property for one (aws-cdk-lib 2.275, cfn-lint 1.58's
schema), so the stage's key cannot be named here. In transit the endpoint speaks TLS only.
"""

from __future__ import annotations

import json

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_timestream as timestream
from constructs import Construct
from constructs.common.acknowledgments import acknowledge
from constructs.common.secure_bucket import SecureBucket, log_expiry
from constructs.network.tier_security_groups import TIME_SERIES_PORT

from environments.schema.data import TimeSeriesConfig

SERVICE_PRINCIPAL = "timestream-influxdb.amazonaws.com"
LOG_PREFIX = "InfluxLogs/"
"""Where the service writes the engine logs in the bucket (its log-delivery guide)."""
ADMIN_USER = "admin"
ORGANIZATION = "platform"
INITIAL_BUCKET = "metrics"


class TimeSeriesDatabase(Construct):
    """`instance`, `admin_secret` (JSON username/password; the password is alphanumeric, 8-64 characters, as
    the service requires), `token_secret` and `token_secret_name` (the API token workloads write and query
    with, which an operator issues in InfluxDB with the admin login and stores there), `log_bucket`, `name`
    (its CloudWatch DbInstanceName), `endpoint` and `port`."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        time_series: TimeSeriesConfig,
        name: str,
        subnets: ec2.SelectedSubnets,
        security_group: ec2.ISecurityGroup,
        secrets_key: kms.IKey,
        access_log_bucket: s3.IBucket,
        secret_prefix: str,
        versioned: bool,
        noncurrent_version_expiration_days: int,
        removal_policy: cdk.RemovalPolicy,
    ) -> None:
        super().__init__(scope, construct_id)
        assert time_series.instance_type and time_series.allocated_storage_gib and time_series.log_retention_days
        stack = cdk.Stack.of(self)
        self.admin_secret = secretsmanager.Secret(
            self,
            "AdminCredentials",
            secret_name=f"{secret_prefix}admin",
            description="Timestream for InfluxDB: the initial admin user",
            encryption_key=secrets_key,
            generate_secret_string=secretsmanager.SecretStringGenerator(
                secret_string_template=json.dumps({"username": ADMIN_USER}),
                generate_string_key="password",
                password_length=32,
                exclude_punctuation=True,
            ),
            removal_policy=removal_policy,
        )
        acknowledge(
            self.admin_secret,
            "AwsSolutions-SMG4",
            "The admin login is break-glass only (clients use InfluxDB API tokens issued under it); Secrets "
            "Manager has no rotation for InfluxDB users, so it is changed by a planned change, not a timer.",
        )
        self.token_secret_name = f"{secret_prefix}api-token"
        self.token_secret = secretsmanager.Secret(
            self,
            "ApiToken",
            secret_name=self.token_secret_name,
            description="Timestream for InfluxDB: the workloads' API token (placeholder until set)",
            encryption_key=secrets_key,
            generate_secret_string=secretsmanager.SecretStringGenerator(password_length=32, exclude_punctuation=True),
            removal_policy=removal_policy,
        )
        acknowledge(
            self.token_secret,
            "AwsSolutions-SMG4",
            "An InfluxDB API token is issued inside InfluxDB (with the admin login): it is rotated there, then "
            "stored here.",
        )

        self.log_bucket = SecureBucket(
            self,
            "Logs",
            encryption_key=None,
            s3_managed_because="Timestream for InfluxDB's log delivery is granted s3:PutObject only (its guide): "
            "the bucket keeps S3-managed keys, which need no key grant.",
            stays_in_region_because="InfluxDB's engine logs: diagnostics of this region's instance, read here and "
            "expired after their retention; the service delivers only within its own region.",
            access_log_bucket=access_log_bucket,
            versioned=versioned,
            noncurrent_version_expiration_days=noncurrent_version_expiration_days,
            removal_policy=removal_policy,
            lifecycle_rules=[log_expiry(time_series.log_retention_days)],
        ).bucket
        self.log_bucket.add_to_resource_policy(
            iam.PolicyStatement(
                sid="InfluxDbLogDelivery",
                principals=[iam.ServicePrincipal(SERVICE_PRINCIPAL)],
                actions=["s3:PutObject"],
                resources=[self.log_bucket.arn_for_objects(f"{LOG_PREFIX}*")],
                conditions={"StringEquals": {"aws:SourceAccount": stack.account}},
            )
        )
        self.instance = timestream.CfnInfluxDBInstance(
            self,
            "Instance",
            name=name,
            db_instance_type=time_series.instance_type,
            db_storage_type=time_series.storage_type,
            allocated_storage=time_series.allocated_storage_gib,
            deployment_type="WITH_MULTIAZ_STANDBY" if time_series.multi_az else "SINGLE_AZ",
            vpc_subnet_ids=subnets.subnet_ids,
            vpc_security_group_ids=[security_group.security_group_id],
            publicly_accessible=False,
            network_type="IPV4",
            port=TIME_SERIES_PORT,
            username=ADMIN_USER,
            password=self.admin_secret.secret_value_from_json("password").unsafe_unwrap(),  # a {{resolve:...}}
            organization=ORGANIZATION,
            bucket=INITIAL_BUCKET,
            log_delivery_configuration=timestream.CfnInfluxDBInstance.LogDeliveryConfigurationProperty(
                s3_configuration=timestream.CfnInfluxDBInstance.S3ConfigurationProperty(
                    bucket_name=self.log_bucket.bucket_name, enabled=True
                )
            ),
        )
        # The service checks at create time that it may write to the bucket.
        policy = self.log_bucket.policy
        assert policy is not None
        self.instance.node.add_dependency(policy)
        self.instance.apply_removal_policy(removal_policy)
        self.name = name
        self.endpoint = self.instance.attr_endpoint
        self.port = TIME_SERIES_PORT
