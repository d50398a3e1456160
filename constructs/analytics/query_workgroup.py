"""Athena: an engine-v3 workgroup whose settings queries cannot override, results in a KMS bucket, and a
per-query scan cutoff."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_athena as athena
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct
from constructs.common.secure_bucket import SecureBucket

GIB = 1024**3
RESULTS_EXPIRE_AFTER_DAYS = 30


class QueryWorkgroup(Construct):
    """`workgroup` and its `results_bucket`."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        name: str,
        bytes_scanned_cutoff_gib: int,
        encryption_key: kms.IKey,
        access_log_bucket: s3.IBucket,
        versioned: bool,
        removal_policy: cdk.RemovalPolicy,
    ) -> None:
        super().__init__(scope, construct_id)
        self.results_bucket = SecureBucket(
            self,
            "Results",
            encryption_key=encryption_key,
            access_log_bucket=access_log_bucket,
            versioned=versioned,
            noncurrent_version_expiration_days=RESULTS_EXPIRE_AFTER_DAYS,
            removal_policy=removal_policy,
            stays_in_region_because="Athena's query results: a query writes them again, and they expire within days.",
            lifecycle_rules=[
                s3.LifecycleRule(id="expire-results", expiration=cdk.Duration.days(RESULTS_EXPIRE_AFTER_DAYS))
            ],
        ).bucket
        self.workgroup = athena.CfnWorkGroup(
            self,
            "WorkGroup",
            name=name,
            description="Data lake queries (engine v3, enforced settings)",
            recursive_delete_option=removal_policy == cdk.RemovalPolicy.DESTROY,
            work_group_configuration=athena.CfnWorkGroup.WorkGroupConfigurationProperty(
                enforce_work_group_configuration=True,
                engine_version=athena.CfnWorkGroup.EngineVersionProperty(
                    selected_engine_version="Athena engine version 3"
                ),
                bytes_scanned_cutoff_per_query=bytes_scanned_cutoff_gib * GIB,
                publish_cloud_watch_metrics_enabled=True,
                result_configuration=athena.CfnWorkGroup.ResultConfigurationProperty(
                    output_location=f"s3://{self.results_bucket.bucket_name}/results/",
                    encryption_configuration=athena.CfnWorkGroup.EncryptionConfigurationProperty(
                        encryption_option="SSE_KMS", kms_key=encryption_key.key_arn
                    ),
                ),
            ),
        )
