"""An S3 bucket with the platform's defaults: private, TLS-only, encrypted, logged, tidy."""

from __future__ import annotations

from collections.abc import Sequence

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct
from constructs.common.acknowledgments import acknowledge_all, acknowledge_provider_handler

from environments.schema.data import TransitionConfig

ABORT_UPLOADS_AFTER = cdk.Duration.days(7)
LOGS_STAY = (
    "Access logs: diagnostics of requests served in this region, read here and expired after their retention; "
    "who did what is CloudTrail's record, in the audit-logs bucket."
)
"""Why a log bucket does not replicate (server access logs, the load balancer's)."""
STORAGE_CLASSES = {
    "STANDARD_IA": s3.StorageClass.INFREQUENT_ACCESS,
    "ONEZONE_IA": s3.StorageClass.ONE_ZONE_INFREQUENT_ACCESS,
    "INTELLIGENT_TIERING": s3.StorageClass.INTELLIGENT_TIERING,
    "GLACIER_IR": s3.StorageClass.GLACIER_INSTANT_RETRIEVAL,
    "GLACIER": s3.StorageClass.GLACIER,
    "DEEP_ARCHIVE": s3.StorageClass.DEEP_ARCHIVE,
}
"""Config names (S3's own API names) -> CDK storage classes."""


def tiering_rule(
    rule_id: str, transitions: Sequence[TransitionConfig], expiration_days: int | None = None
) -> s3.LifecycleRule:
    """A lifecycle rule moving objects through `transitions` (and expiring them, if asked)."""
    return s3.LifecycleRule(
        id=rule_id,
        transitions=[
            s3.Transition(
                storage_class=STORAGE_CLASSES[t.storage_class], transition_after=cdk.Duration.days(t.after_days)
            )
            for t in transitions
        ]
        or None,
        expiration=cdk.Duration.days(expiration_days) if expiration_days else None,
    )


class SecureBucket(Construct):
    """`bucket`: public access blocked, TLS enforced, KMS (or S3-managed for log targets), access logs to
    `access_log_bucket`, incomplete uploads aborted, noncurrent versions expired.

    A bucket without `encryption_key` is a log target that AWS delivers to only under S3-managed keys;
    `s3_managed_because` names the service that requires it (it becomes the acknowledgment's reason). A
    bucket without `replication_rules` says why it stays in its region (`stays_in_region_because`).

    With `removal_policy` DESTROY the bucket also empties itself on delete (auto-delete), which only a
    stage whose config sets allow_destroy gets.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        encryption_key: kms.IKey | None,
        access_log_bucket: s3.IBucket | None,
        versioned: bool,
        noncurrent_version_expiration_days: int,
        removal_policy: cdk.RemovalPolicy,
        lifecycle_rules: Sequence[s3.LifecycleRule] = (),
        object_lock_retention: s3.ObjectLockRetention | None = None,
        intelligent_tiering: bool = False,
        object_writer_acls: bool = False,
        replication_rules: Sequence[s3.ReplicationRule] = (),
        replication_role: iam.IRole | None = None,
        bucket_name: str | None = None,
        s3_managed_because: str | None = None,
        stays_in_region_because: str | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        if (encryption_key is None) != (s3_managed_because is not None):
            raise ValueError(f"{construct_id}: s3_managed_because goes with a bucket without a KMS key, and only there")
        if bool(replication_rules) == (stays_in_region_because is not None):
            raise ValueError(f"{construct_id}: stays_in_region_because goes with a bucket that does not replicate")
        destroy = removal_policy == cdk.RemovalPolicy.DESTROY
        self.bucket = s3.Bucket(
            self,
            "Bucket",
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            minimum_tls_version=1.2,
            # Only CloudFront's standard logs still need ACLs (object writer); everything else has none.
            object_ownership=s3.ObjectOwnership.OBJECT_WRITER
            if object_writer_acls
            else s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            encryption=s3.BucketEncryption.KMS if encryption_key else s3.BucketEncryption.S3_MANAGED,
            encryption_key=encryption_key,
            bucket_key_enabled=True if encryption_key else None,
            versioned=versioned or object_lock_retention is not None,
            object_lock_enabled=True if object_lock_retention else None,
            object_lock_default_retention=object_lock_retention,
            server_access_logs_bucket=access_log_bucket,
            server_access_logs_prefix=f"{construct_id}/" if access_log_bucket else None,
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="hygiene",
                    abort_incomplete_multipart_upload_after=ABORT_UPLOADS_AFTER,
                    noncurrent_version_expiration=cdk.Duration.days(noncurrent_version_expiration_days),
                    expired_object_delete_marker=True,
                ),
                *lifecycle_rules,
            ],
            intelligent_tiering_configurations=[
                s3.IntelligentTieringConfiguration(
                    name="archive-cold-objects",
                    archive_access_tier_time=cdk.Duration.days(90),
                    deep_archive_access_tier_time=cdk.Duration.days(180),
                )
            ]
            if intelligent_tiering
            else None,
            removal_policy=removal_policy,
            auto_delete_objects=destroy and object_lock_retention is None,
            replication_rules=list(replication_rules) or None,
            replication_role=replication_role,
            bucket_name=bucket_name,
        )
        findings = []
        if stays_in_region_because is not None:
            findings.append(("NIST.800.53.R5-S3BucketReplicationEnabled", stays_in_region_because))
        if not (versioned or object_lock_retention):
            findings.append(
                (
                    "NIST.800.53.R5-S3BucketVersioningEnabled",
                    "Versioning is off by config in this non-production stage (prod requires it).",
                )
            )
        if access_log_bucket is None:
            reason = "This is the server-access-log target: logging it into itself would loop."
            findings.append(("AwsSolutions-S1", reason))
        if s3_managed_because is not None:
            findings.append(("NIST.800.53.R5-S3DefaultEncryptionKMS", s3_managed_because))
        acknowledge_all(self.bucket, findings)
        if self.bucket.node.try_find_child("AutoDeleteObjectsCustomResource"):
            acknowledge_provider_handler(
                cdk.Stack.of(self),
                "Custom::S3AutoDeleteObjectsCustomResourceProvider",
                calls="S3's API, to empty the bucket when the stack deletes it",
            )


def access_log_bucket(
    scope: Construct,
    construct_id: str,
    *,
    retention_days: int,
    versioned: bool,
    noncurrent_version_expiration_days: int,
    removal_policy: cdk.RemovalPolicy,
    object_writer_acls: bool = False,
) -> s3.Bucket:
    """The server-access-log target of one stack's buckets: S3-managed keys (as S3 requires), expiring logs.

    One per stack: S3's logging grant on a bucket of another stack would lose its source-bucket condition.
    """
    return SecureBucket(
        scope,
        construct_id,
        encryption_key=None,
        access_log_bucket=None,
        versioned=versioned,
        noncurrent_version_expiration_days=noncurrent_version_expiration_days,
        removal_policy=removal_policy,
        lifecycle_rules=[log_expiry(retention_days)],
        object_writer_acls=object_writer_acls,
        s3_managed_because="S3 server access logging delivers only to buckets encrypted with S3-managed keys (SSE-S3).",
        stays_in_region_because=LOGS_STAY,
    ).bucket


def log_expiry(retention_days: int) -> s3.LifecycleRule:
    """Log objects expire after `retention_days`."""
    return s3.LifecycleRule(id="expire-logs", expiration=cdk.Duration.days(retention_days))
