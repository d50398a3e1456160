"""The shared-models EFS file system (seed 002): one mount target per AZ in the data tier."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_efs as efs
from aws_cdk import aws_kms as kms
from constructs import Construct

from environments.schema.data import EfsConfig

MODELS_UID_GID = "1000"
IA_AFTER_DAYS = {
    1: efs.LifecyclePolicy.AFTER_1_DAY,
    7: efs.LifecyclePolicy.AFTER_7_DAYS,
    14: efs.LifecyclePolicy.AFTER_14_DAYS,
    30: efs.LifecyclePolicy.AFTER_30_DAYS,
    60: efs.LifecyclePolicy.AFTER_60_DAYS,
    90: efs.LifecyclePolicy.AFTER_90_DAYS,
    180: efs.LifecyclePolicy.AFTER_180_DAYS,
    270: efs.LifecyclePolicy.AFTER_270_DAYS,
    365: efs.LifecyclePolicy.AFTER_365_DAYS,
}
"""The transition ages EFS accepts (the schema allows exactly these)."""


class SharedFileSystem(Construct):
    """`file_system` (encrypted, elastic throughput, IA after N days) and `models_access_point`.

    `replicate_to`: the file system in another region EFS keeps a read-only copy in (EFS replicates to one
    destination); `replica`: this one is such a copy, so EFS may overwrite it."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        efs_config: EfsConfig,
        vpc: ec2.IVpc,
        subnets: ec2.SubnetSelection,
        security_group: ec2.ISecurityGroup,
        encryption_key: kms.IKey,
        removal_policy: cdk.RemovalPolicy,
        replicate_to: efs.IFileSystem | None = None,
        replica: bool = False,
    ) -> None:
        super().__init__(scope, construct_id)
        self.file_system = efs.FileSystem(
            self,
            "FileSystem",
            vpc=vpc,
            vpc_subnets=subnets,
            security_group=security_group,
            encrypted=True,
            kms_key=encryption_key,
            lifecycle_policy=IA_AFTER_DAYS[efs_config.transition_to_ia_days],
            out_of_infrequent_access_policy=efs.OutOfInfrequentAccessPolicy.AFTER_1_ACCESS,
            performance_mode=efs.PerformanceMode.GENERAL_PURPOSE,
            throughput_mode=efs.ThroughputMode.ELASTIC,
            # AWS Backup (the weekly plan in the data stack) replaces EFS's own default backup.
            enable_automatic_backups=False,
            removal_policy=removal_policy,
            replication_configuration=efs.ReplicationConfiguration.existing_file_system(replicate_to)
            if replicate_to
            else None,
            replication_overwrite_protection=efs.ReplicationOverwriteProtection.DISABLED if replica else None,
        )
        self.models_access_point = self.file_system.add_access_point(
            "ModelsAccessPoint",
            path=efs_config.models_path,
            create_acl=efs.Acl(owner_uid=MODELS_UID_GID, owner_gid=MODELS_UID_GID, permissions="750"),
            posix_user=efs.PosixUser(uid=MODELS_UID_GID, gid=MODELS_UID_GID),
        )
