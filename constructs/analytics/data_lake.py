"""The data lake (seed 003): one bucket per zone, raw / processed / curated, each with its lifecycle.

Inside each zone the writers use seed 003's folders as prefixes: raw/{logs,events,feeds},
processed/{daily,hourly,real-time}, curated/{analytics,reporting,ml}.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct
from constructs.common.secure_bucket import SecureBucket, tiering_rule

from environments.schema.analytics import LakeConfig

ZONES = ("raw", "processed", "curated")


class DataLake(Construct):
    """`raw`, `processed` and `curated` buckets (also `zones` by name), KMS, logged, versioned per stage."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        lake: LakeConfig,
        encryption_key: kms.IKey,
        access_log_bucket: s3.IBucket,
        versioned: bool,
        noncurrent_version_expiration_days: int,
        removal_policy: cdk.RemovalPolicy,
    ) -> None:
        super().__init__(scope, construct_id)
        self.zones: dict[str, s3.Bucket] = {}
        for zone in ZONES:
            config = getattr(lake, zone)
            self.zones[zone] = SecureBucket(
                self,
                zone.capitalize(),
                encryption_key=encryption_key,
                access_log_bucket=access_log_bucket,
                versioned=versioned,
                noncurrent_version_expiration_days=noncurrent_version_expiration_days,
                removal_policy=removal_policy,
                stays_in_region_because="The lake lives where the stream, the Glue catalog and the jobs that "
                "write it run: the analytics stack deploys to the primary region only.",
                lifecycle_rules=[tiering_rule(f"{zone}-zone", config.transitions, config.expiration_days)]
                if config.transitions or config.expiration_days
                else [],
            ).bucket
        self.raw = self.zones["raw"]
        self.processed = self.zones["processed"]
        self.curated = self.zones["curated"]
