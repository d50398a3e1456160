"""The data buckets of seeds 001 and 002, each a SecureBucket with its own lifecycle."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import cast

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct
from constructs.common.acknowledgments import acknowledge
from constructs.common.encryption_key import EncryptionKey
from constructs.common.secure_bucket import SecureBucket, access_log_bucket, tiering_rule

from environments.schema.data import BucketsConfig, TransitionConfig


@dataclass(frozen=True)
class BucketReplicas:
    """One secondary region's copies of the replicated buckets (by attribute name) and the key they use."""

    buckets: Mapping[str, s3.IBucket]
    key: kms.IKey


def lifecycle(attribute: str, buckets: BucketsConfig) -> tuple[tuple[s3.LifecycleRule, ...], bool]:
    """The lifecycle rules of bucket `attribute` (`images`, ...) and whether it uses Intelligent-Tiering:
    the same on the source and on each of its replicas, so a failover keeps the retention it had."""
    if attribute == "user_uploads":
        expire = s3.LifecycleRule(
            id="expire-uploads", expiration=cdk.Duration.days(buckets.user_uploads_expiration_days)
        )
        return (expire,), False
    if attribute == "backups":
        return (tiering_rule("tiering", buckets.backups_transitions),), False
    if attribute == "images":
        return (tiering_rule("tiering", buckets.images_transitions),), False
    if attribute == "models":
        return (tiering_rule("intelligent-tiering", _ALL_TO_TIERING),), True
    return (), False


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
        replicas: Sequence[BucketReplicas] = (),
        replication_time_control: bool = False,
    ) -> None:
        """`replicas`: each secondary region's copies of the buckets they name, which replicate every object
        and delete marker to each of them (one rule per region, by priority). `replication_time_control`: with
        S3 Replication Time Control and its metrics, the only S3 replication with a time bound (15 minutes),
        which a stage with an RPO target needs (environments/recovery.py)."""
        super().__init__(scope, construct_id)
        destinations: dict[str, list[tuple[s3.IBucket, kms.IKey]]] = {}
        for region in replicas:
            for name, replica in region.buckets.items():
                destinations.setdefault(construct_name(name), []).append((replica, region.key))
        stays = (
            "This stage has no secondary region to replicate to (its regions list only the primary)."
            if not replicas
            else "Not in recovery.replicate_buckets: the stage file lists the buckets that replicate to the "
            "secondary regions, and this one stays in the primary."
        )
        rtc = s3.ReplicationTimeValue.FIFTEEN_MINUTES if replication_time_control else None
        self.replication_role = (
            iam.Role(self, "ReplicationRole", assumed_by=iam.ServicePrincipal("s3.amazonaws.com"))
            if destinations
            else None
        )

        def bucket(
            name: str, *, versioned: bool = buckets.versioned, lock: s3.ObjectLockRetention | None = None
        ) -> s3.Bucket:
            rules, tiering = lifecycle(attribute_name(name), buckets)
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
                replication_rules=[
                    s3.ReplicationRule(
                        destination=destination,
                        kms_key=key,
                        sse_kms_encrypted_objects=True,
                        delete_marker_replication=True,
                        priority=priority,
                        replication_time_control=rtc,
                        metrics=rtc,
                    )
                    for priority, (destination, key) in enumerate(destinations.get(name, ()), start=1)
                ],
                replication_role=self.replication_role.without_policy_updates()
                if self.replication_role and name in destinations
                else None,
                stays_in_region_because=None if name in destinations else stays,
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
        self.user_uploads = bucket("UserUploads")
        self.backups = bucket("Backups")
        lock = buckets.audit_logs_object_lock
        self.audit_logs = bucket(
            "AuditLogs",
            lock=s3.ObjectLockRetention.compliance(cdk.Duration.days(lock.retention_days))
            if lock.mode == "COMPLIANCE"
            else s3.ObjectLockRetention.governance(cdk.Duration.days(lock.retention_days)),
        )
        self._allow_cloudtrail(trail_name)
        self.images = bucket("Images")
        self.models = bucket("Models")
        if self.replication_role:
            self._replication_policy(destinations, storage_key)

    def _replication_policy(
        self, destinations: Mapping[str, Sequence[tuple[s3.IBucket, kms.IKey]]], storage_key: kms.IKey
    ) -> None:
        """What S3 needs to copy the marked buckets, written out (the bucket L2 would write wildcards inline)."""
        assert self.replication_role is not None
        stack = cdk.Stack.of(self)
        sources = [cast(s3.Bucket, self.node.find_child(name).node.find_child("Bucket")) for name in destinations]
        replicas = [replica for region in destinations.values() for replica in region]
        policy = iam.ManagedPolicy(
            self,
            "ReplicationPolicy",
            roles=[self.replication_role],
            statements=[
                iam.PolicyStatement(
                    sid="ReadConfiguration",
                    actions=["s3:GetReplicationConfiguration", "s3:ListBucket"],
                    resources=[b.bucket_arn for b in sources],
                ),
                iam.PolicyStatement(
                    sid="ReadVersions",
                    actions=[
                        "s3:GetObjectVersionForReplication", "s3:GetObjectVersionAcl", "s3:GetObjectVersionTagging"
                    ],
                    resources=[b.arn_for_objects("*") for b in sources],
                ),
                iam.PolicyStatement(
                    sid="WriteReplicas",
                    actions=["s3:ReplicateObject", "s3:ReplicateDelete", "s3:ReplicateTags"],
                    resources=[b.arn_for_objects("*") for b, _ in replicas],
                ),
                iam.PolicyStatement(sid="DecryptSource", actions=["kms:Decrypt"], resources=[storage_key.key_arn]),
                iam.PolicyStatement(
                    sid="EncryptReplica",
                    actions=["kms:Encrypt"],
                    resources=list(dict.fromkeys(key.key_arn for _, key in replicas)),
                ),
            ],
        )  # fmt: skip
        reason = "Replication reads every object version of its source bucket and writes its replica bucket."
        for bucket in sources:
            logical_id = stack.get_logical_id(cast(cdk.CfnElement, bucket.node.default_child))
            acknowledge(policy, f"AwsSolutions-IAM5[Resource::<{logical_id}.Arn>/*]", reason)
        for destination, _ in replicas:
            acknowledge(
                policy, f"AwsSolutions-IAM5[Resource::{stack.resolve(destination.arn_for_objects('*'))}]", reason
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


def construct_name(attribute: str) -> str:
    """`user_uploads` -> `UserUploads`: a bucket's construct id from its attribute name."""
    return "".join(part.capitalize() for part in attribute.split("_"))


def attribute_name(construct: str) -> str:
    """`UserUploads` -> `user_uploads`: the inverse of `construct_name`."""
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in construct).removeprefix("_")


def allow_cloudfront_reads(bucket: s3.IBucket, key: EncryptionKey) -> None:
    """CloudFront distributions of this account may read `bucket` through origin access control and decrypt its
    objects with `key` (OAC reads SSE-KMS objects only where the key policy lets CloudFront decrypt). The
    distribution lives in the edge stack, which deploys after the bucket's: the grants cannot name it."""
    conditions = cloudfront_conditions(cdk.Stack.of(bucket))
    bucket.add_to_resource_policy(
        iam.PolicyStatement(
            sid="CloudFrontOriginAccessControl",
            principals=[iam.ServicePrincipal("cloudfront.amazonaws.com")],
            actions=["s3:GetObject"],
            resources=[bucket.arn_for_objects("*")],
            conditions=conditions,
        )
    )
    key.allow_services("CloudFrontReadsImages", ["cloudfront.amazonaws.com"], ["kms:Decrypt"], conditions)


def cloudfront_conditions(stack: cdk.Stack) -> dict[str, dict[str, str]]:
    """Requests CloudFront makes for a distribution of this account."""
    return {
        "StringEquals": {"AWS:SourceAccount": stack.account},
        "ArnLike": {"AWS:SourceArn": f"arn:{stack.partition}:cloudfront::{stack.account}:distribution/*"},
    }


_ALL_TO_TIERING = (TransitionConfig(after_days=0, storage_class="INTELLIGENT_TIERING"),)
"""Models are read unpredictably: let Intelligent-Tiering place them from day one."""
