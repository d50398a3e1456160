"""The data buckets of seeds 001 and 002, each a SecureBucket with its own lifecycle."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct
from constructs.secure_bucket import SecureBucket, access_log_bucket, tiering_rule

from environments.schema import BucketsConfig, TransitionConfig


class DataBuckets(Construct):
    """Attributes `knowledge_documents`, `document_chunks`, `user_uploads`, `backups`, `audit_logs`,
    `images`, `models` and `access_logs` (the server-access-log target of all the others)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        buckets: BucketsConfig,
        storage_key: kms.IKey,
        trail_name: str,
        removal_policy: cdk.RemovalPolicy,
    ) -> None:
        super().__init__(scope, construct_id)

        def bucket(
            name: str,
            *,
            versioned: bool = buckets.versioned,
            rules: tuple[s3.LifecycleRule, ...] = (),
            lock: s3.ObjectLockRetention | None = None,
            tiering: bool = False,
        ) -> s3.Bucket:
            return SecureBucket(
                self,
                name,
                encryption_key=storage_key,
                access_log_bucket=self.access_logs,
                versioned=versioned,
                noncurrent_version_expiration_days=buckets.noncurrent_version_expiration_days,
                # Object-locked records cannot be emptied, so that bucket is always retained.
                removal_policy=cdk.RemovalPolicy.RETAIN if lock else removal_policy,
                lifecycle_rules=rules,
                object_lock_retention=lock,
                intelligent_tiering=tiering,
            ).bucket

        self.access_logs = access_log_bucket(
            self,
            "AccessLogs",
            retention_days=buckets.access_log_retention_days,
            versioned=buckets.versioned,
            noncurrent_version_expiration_days=buckets.noncurrent_version_expiration_days,
            removal_policy=removal_policy,
        )
        self.knowledge_documents = bucket("KnowledgeDocuments", versioned=True)
        self.document_chunks = bucket("DocumentChunks")
        self.user_uploads = bucket(
            "UserUploads",
            rules=(
                s3.LifecycleRule(
                    id="expire-uploads", expiration=cdk.Duration.days(buckets.user_uploads_expiration_days)
                ),
            ),
        )
        self.backups = bucket("Backups", rules=(tiering_rule("tiering", buckets.backups_transitions),))
        lock = buckets.audit_logs_object_lock
        self.audit_logs = bucket(
            "AuditLogs",
            lock=s3.ObjectLockRetention.compliance(cdk.Duration.days(lock.retention_days))
            if lock.mode == "COMPLIANCE"
            else s3.ObjectLockRetention.governance(cdk.Duration.days(lock.retention_days)),
        )
        self._allow_cloudtrail(trail_name)
        self.images = bucket("Images", rules=(tiering_rule("tiering", buckets.images_transitions),))
        self.models = bucket("Models", tiering=True, rules=(tiering_rule("intelligent-tiering", _ALL_TO_TIERING),))

    def allow_cloudfront_images(self) -> None:
        """CloudFront distributions of this account may read the images bucket through origin access control
        (the distribution lives in the edge stack, which depends on this one: the grant cannot name it)."""
        stack = cdk.Stack.of(self)
        self.images.add_to_resource_policy(
            iam.PolicyStatement(
                sid="CloudFrontOriginAccessControl",
                principals=[iam.ServicePrincipal("cloudfront.amazonaws.com")],
                actions=["s3:GetObject"],
                resources=[self.images.arn_for_objects("*")],
                conditions=cloudfront_conditions(stack),
            )
        )

    def _allow_cloudtrail(self, trail_name: str) -> None:
        """The stage's trail (named, so no reference back from the observability stack) may deliver here."""
        stack = cdk.Stack.of(self)
        trail_arn = stack.format_arn(service="cloudtrail", resource="trail", resource_name=trail_name)
        principal = iam.ServicePrincipal("cloudtrail.amazonaws.com")
        condition = {"StringEquals": {"aws:SourceArn": trail_arn}}
        self.audit_logs.add_to_resource_policy(
            iam.PolicyStatement(
                sid="CloudTrailAclCheck",
                principals=[principal],
                actions=["s3:GetBucketAcl"],
                resources=[self.audit_logs.bucket_arn],
                conditions=condition,
            )
        )
        self.audit_logs.add_to_resource_policy(
            iam.PolicyStatement(
                sid="CloudTrailWrite",
                principals=[principal],
                actions=["s3:PutObject"],
                resources=[self.audit_logs.arn_for_objects(f"AWSLogs/{stack.account}/*")],
                conditions=condition,
            )
        )


def cloudfront_conditions(stack: cdk.Stack) -> dict[str, dict[str, str]]:
    """Requests CloudFront makes for a distribution of this account."""
    return {
        "StringEquals": {"AWS:SourceAccount": stack.account},
        "ArnLike": {"AWS:SourceArn": f"arn:{stack.partition}:cloudfront::{stack.account}:distribution/*"},
    }


_ALL_TO_TIERING = (TransitionConfig(after_days=0, storage_class="INTELLIGENT_TIERING"),)
"""Models are read unpredictably: let Intelligent-Tiering place them from day one."""
