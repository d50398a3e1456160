"""The ECS data jobs' task roles and the service's work queue (seed 003), beside the lake they use: each
role holds exactly what its task's config says it does (list and read its read zones, read and write its
write zones, the storage key: decrypt, and encrypt where it writes; its work queue), written statement by
statement against this stack's buckets. Only the ARNs travel to the platform stack, as the workload roles'
do from the data stack, so the platform reads the analytics stack and never the other way round.
"""

from __future__ import annotations

from collections.abc import Sequence

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sqs as sqs
from constructs import Construct
from constructs.analytics.data_lake import DataLake
from constructs.common.acknowledgments import acknowledge_all
from constructs.common.managed_policy_role import ManagedPolicyRole
from constructs.data.messaging import encrypted_queue

from environments.schema.compute import EcsTaskConfig

QUEUE_RETENTION = cdk.Duration.days(4)
DLQ_RETENTION = cdk.Duration.days(14)
MAX_RECEIVES = 5


class LakeJobRoles(Construct):
    """`roles` (ECS task roles) and, for the task with `max_tasks`, `work_queues` with their
    `dead_letter_queues`, by task name."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        tasks: Sequence[EcsTaskConfig],
        lake: DataLake,
        storage_key: kms.IKey,
        queue_key: kms.IKey,
        removal_policy: cdk.RemovalPolicy,
    ) -> None:
        super().__init__(scope, construct_id)
        self.roles: dict[str, iam.Role] = {}
        self.work_queues: dict[str, sqs.Queue] = {}
        self.dead_letter_queues: dict[str, sqs.Queue] = {}
        stack = cdk.Stack.of(self)
        zones = lake.zones
        for task in tasks:
            construct_name = "".join(part.capitalize() for part in task.name.split("-"))
            used = sorted({*task.reads, *task.writes})
            statements = []
            if used:
                statements += [
                    iam.PolicyStatement(sid="LakeList", actions=["s3:ListBucket"],
                                        resources=[zones[z].bucket_arn for z in used]),
                    iam.PolicyStatement(sid="LakeRead", actions=["s3:GetObject"],
                                        resources=[zones[z].arn_for_objects("*") for z in used]),
                    iam.PolicyStatement(
                        sid="StorageKey",
                        actions=["kms:Decrypt", *(["kms:Encrypt", "kms:GenerateDataKey"] if task.writes else [])],
                        resources=[storage_key.key_arn],
                    ),
                ]  # fmt: skip
            if task.writes:
                statements.append(
                    iam.PolicyStatement(sid="LakeWrite", actions=["s3:PutObject", "s3:AbortMultipartUpload"],
                                        resources=[zones[z].arn_for_objects("*") for z in sorted(task.writes)])
                )  # fmt: skip
            if task.max_tasks is not None:
                queue = self._work_queue(construct_name, task.name, queue_key, removal_policy)
                statements += [
                    iam.PolicyStatement(
                        sid="Work",
                        actions=["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility",
                                 "sqs:GetQueueAttributes"],
                        resources=[queue.queue_arn],
                    ),
                    iam.PolicyStatement(sid="WorkKey", actions=["kms:Decrypt"], resources=[queue_key.key_arn]),
                ]  # fmt: skip
            role = ManagedPolicyRole(
                self,
                f"{construct_name}TaskRole",
                assumed_by=iam.ServicePrincipal(
                    "ecs-tasks.amazonaws.com", conditions={"StringEquals": {"aws:SourceAccount": stack.account}}
                ),
                description=f"ECS task {task.name}: reads {', '.join(used) or 'nothing'}, writes "
                f"{', '.join(task.writes) or 'nothing'} in the lake",
                statements=statements,
            )
            acknowledge_all(
                role,
                [
                    (f"AwsSolutions-IAM5[Resource::<{stack.get_logical_id(zones[z].node.default_child)}.Arn>/*]",  # type: ignore[arg-type]
                     f"Objects of the {z} zone, which task {task.name} {'writes' if z in task.writes else 'reads'}.")
                    for z in used
                ],
            )  # fmt: skip
            self.roles[task.name] = role.role

    def _work_queue(
        self, construct_name: str, task_name: str, key: kms.IKey, removal_policy: cdk.RemovalPolicy
    ) -> sqs.Queue:
        """A service's work: one message per unit, redriven to a DLQ after MAX_RECEIVES attempts."""
        dead_letters = encrypted_queue(
            self, f"{construct_name}DeadLetters", encryption_key=key, retention=DLQ_RETENTION,
            removal_policy=removal_policy,
        )  # fmt: skip
        queue = encrypted_queue(
            self,
            f"{construct_name}Work",
            encryption_key=key,
            retention=QUEUE_RETENTION,
            removal_policy=removal_policy,
            dead_letter_queue=sqs.DeadLetterQueue(queue=dead_letters, max_receive_count=MAX_RECEIVES),
        )
        self.work_queues[task_name] = queue
        self.dead_letter_queues[task_name] = dead_letters
        return queue
