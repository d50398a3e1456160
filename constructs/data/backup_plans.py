"""AWS Backup (seed 002): a KMS-encrypted vault, daily backups of databases and tables, weekly EFS, each
recovery point copied to a vault in every secondary region."""

from __future__ import annotations

from collections.abc import Sequence

import aws_cdk as cdk
from aws_cdk import aws_backup as backup
from aws_cdk import aws_events as events
from aws_cdk import aws_kms as kms
from constructs import Construct
from constructs.common.acknowledgments import acknowledge

from environments.schema.data import BackupConfig

VAULT_LOCK_MIN_RETENTION = cdk.Duration.days(7)


def backup_vault(
    scope: Construct,
    construct_id: str,
    *,
    backup_config: BackupConfig,
    encryption_key: kms.IKey,
    removal_policy: cdk.RemovalPolicy,
) -> backup.BackupVault:
    """A vault under `encryption_key`, locked when the config says so: the primary's and the copies' alike."""
    max_retention = max(backup_config.daily_retention_days, backup_config.efs_weekly_retention_days)
    return backup.BackupVault(
        scope,
        construct_id,
        encryption_key=encryption_key,
        removal_policy=removal_policy,
        # Governance-mode lock: recovery points cannot be deleted early, but the lock itself can be
        # removed by an administrator (no changeable_for, so it never hardens into compliance mode).
        lock_configuration=backup.LockConfiguration(
            min_retention=VAULT_LOCK_MIN_RETENTION, max_retention=cdk.Duration.days(max_retention)
        )
        if backup_config.vault_lock
        else None,
    )


class BackupPlans(Construct):
    """`vault`, `daily_plan` (databases, tables) and `weekly_plan` (file systems); each rule copies its
    recovery points to `copy_to` (a vault per secondary region), kept as long as the originals."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        backup_config: BackupConfig,
        encryption_key: kms.IKey,
        daily_resources: Sequence[backup.BackupResource],
        weekly_resources: Sequence[backup.BackupResource],
        removal_policy: cdk.RemovalPolicy,
        copy_to: Sequence[backup.IBackupVault] = (),
    ) -> None:
        super().__init__(scope, construct_id)
        self._copy_to = list(copy_to)
        self.vault = backup_vault(
            self, "Vault", backup_config=backup_config, encryption_key=encryption_key, removal_policy=removal_policy
        )
        self.daily_plan = self._plan(
            "Daily",
            events.Schedule.cron(hour="3", minute="0"),
            backup_config.daily_retention_days,
            daily_resources,
        )
        self.weekly_plan = self._plan(
            "WeeklyFileSystems",
            events.Schedule.cron(week_day="SUN", hour="4", minute="0"),
            backup_config.efs_weekly_retention_days,
            weekly_resources,
        )

    def _plan(
        self, name: str, schedule: events.Schedule, retention_days: int, resources: Sequence[backup.BackupResource]
    ) -> backup.BackupPlan:
        plan = backup.BackupPlan(
            self,
            f"{name}Plan",
            backup_vault=self.vault,
            backup_plan_rules=[
                backup.BackupPlanRule(
                    rule_name=name,
                    schedule_expression=schedule,
                    delete_after=cdk.Duration.days(retention_days),
                    start_window=cdk.Duration.hours(1),
                    completion_window=cdk.Duration.hours(4),
                    copy_actions=[
                        backup.BackupPlanCopyActionProps(
                            destination_backup_vault=vault, delete_after=cdk.Duration.days(retention_days)
                        )
                        for vault in self._copy_to
                    ]
                    or None,
                )
            ],
        )
        selection = plan.add_selection("Selection", resources=list(resources))
        acknowledge(
            selection,
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForBackup]",
            "AWS Backup's own service-role policy, the documented way to let it snapshot the selected resources.",
        )
        return plan
