"""ECS on Fargate for the data platform's jobs (seed 003): a cluster with Container Insights, ARM64 task
definitions on a read-only root file system, each with the task role the analytics stack made for it (what
its config says it does in the lake) and its named secrets. Bucket names and the catalog database come as
environment, secrets as ECS secrets, the image as the release's tag.

A task with `max_tasks` runs as a service scaled on its work queue's depth (0 when idle); a task with a
`schedule` is started by EventBridge Scheduler (RunTask). Both place tasks on FARGATE_SPOT first, over an
on-demand FARGATE base (seed 003: "FARGATE_SPOT primary, FARGATE backup").
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_applicationautoscaling as autoscaling
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_sqs as sqs
from constructs import Construct
from constructs.common.acknowledgments import acknowledge, acknowledge_all
from constructs.common.encrypted_log_group import EncryptedLogGroup
from constructs.common.managed_policy_role import ManagedPolicyRole

from environments.schema.compute import EcsTaskConfig

SCRATCH = "/scratch"
"""Where a task with `scratch_gib` gets its ephemeral volume (Spark's local dirs): the root stays read-only."""
SPOT_FIRST = (
    ("FARGATE", 1, 1),
    ("FARGATE_SPOT", 0, 3),
)
"""(capacity provider, base, weight): one task on demand, then three of every four on Spot."""


@dataclass(frozen=True)
class LakeAccess:
    """What the analytics stack hands the tasks: the zone buckets and catalog database they are told about,
    each task's role (constructs/analytics/lake_job_roles.py) and the service's work queue."""

    zones: Mapping[str, s3.IBucket]
    database_name: str
    task_roles: Mapping[str, iam.IRole]
    work_queues: Mapping[str, sqs.IQueue]


class FargateJobs(Construct):
    """`cluster`, `task_definitions` by task name, `service` (the task with `max_tasks`), and `schedules`
    with their `scheduler_roles` by task name."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        vpc: ec2.IVpc,
        subnets: Sequence[ec2.ISubnet],
        security_group: ec2.ISecurityGroup,
        tasks: Sequence[EcsTaskConfig],
        image_tag: str,
        repositories: Mapping[str, ecr.IRepository],
        lake: LakeAccess,
        secret_arns: Mapping[str, str],
        secrets_key: kms.IKey,
        logs_key: kms.IKey,
        log_retention_days: int,
        removal_policy: cdk.RemovalPolicy,
    ) -> None:
        """`secret_arns`: the complete ARNs, by name, of the secrets the tasks may read in this region (ECS takes
        no wildcard); `secrets_key` encrypts them here."""
        super().__init__(scope, construct_id)
        self._lake = lake
        self.cluster = ecs.Cluster(
            self,
            "Cluster",
            vpc=vpc,
            container_insights_v2=ecs.ContainerInsights.ENHANCED,
            enable_fargate_capacity_providers=True,
        )
        self.task_definitions: dict[str, ecs.FargateTaskDefinition] = {}
        self.schedules: dict[str, scheduler.CfnSchedule] = {}
        self.scheduler_roles: dict[str, iam.IRole] = {}
        network = ec2.SubnetSelection(subnets=list(subnets))
        for task in tasks:
            construct_name = "".join(part.capitalize() for part in task.name.split("-"))
            queue = lake.work_queues.get(task.name)
            definition = self._definition(
                task, construct_name, image_tag, repositories[task.name], lake.task_roles[task.name],
                secret_arns, secrets_key, queue, logs_key, log_retention_days, removal_policy,
            )  # fmt: skip
            if queue is not None and task.max_tasks is not None:
                self.service = self._service(definition, network, security_group, queue, task.max_tasks)
            if task.schedule is not None:
                self._schedule(task, construct_name, definition, subnets, security_group)

    def _definition(
        self,
        task: EcsTaskConfig,
        construct_name: str,
        image_tag: str,
        repository: ecr.IRepository,
        role: iam.IRole,
        secret_arns: Mapping[str, str],
        secrets_key: kms.IKey,
        queue: sqs.IQueue | None,
        logs_key: kms.IKey,
        log_retention_days: int,
        removal_policy: cdk.RemovalPolicy,
    ) -> ecs.FargateTaskDefinition:
        # Imported by ARN, so CDK's grant stays on the execution role (a grant on the data stack's key would
        # make that stack name this role: a cycle); the decrypt is granted below, on the secrets key.
        named = {
            name: secretsmanager.Secret.from_secret_complete_arn(
                self, f"{construct_name}{''.join(p.capitalize() for p in name.split('-'))}", secret_arns[name]
            )
            for name in task.secrets
        }
        definition = ecs.FargateTaskDefinition(
            self,
            f"{construct_name}Task",
            cpu=task.cpu,
            memory_limit_mib=task.memory_mib,
            task_role=role,  # immutable: its permissions are the analytics stack's, statement by statement
            ephemeral_storage_gib=task.scratch_gib,
            runtime_platform=ecs.RuntimePlatform(
                cpu_architecture=ecs.CpuArchitecture.ARM64,
                operating_system_family=ecs.OperatingSystemFamily.LINUX,
            ),
        )
        log_group = EncryptedLogGroup(
            self,
            f"{construct_name}Logs",
            encryption_key=logs_key,
            retention_days=log_retention_days,
            removal_policy=removal_policy,
        ).log_group
        zones = sorted({*task.reads, *task.writes})
        environment = {
            **{f"{zone.upper()}_BUCKET": self._lake.zones[zone].bucket_name for zone in zones},
            "GLUE_DATABASE": self._lake.database_name,
            **({"WORK_QUEUE_URL": queue.queue_url} if queue is not None else {}),
            **({"SPARK_LOCAL_DIRS": SCRATCH} if task.scratch_gib else {}),
        }
        container = definition.add_container(
            "Main",
            image=ecs.ContainerImage.from_ecr_repository(repository, task.image_tag or image_tag),
            logging=ecs.LogDrivers.aws_logs(stream_prefix=task.name, log_group=log_group),
            readonly_root_filesystem=True,
            environment=environment,
            secrets={
                name.upper().replace("-", "_"): ecs.Secret.from_secrets_manager(secret)
                for name, secret in named.items()
            },
        )
        if named:
            definition.add_to_execution_role_policy(
                iam.PolicyStatement(
                    actions=["kms:Decrypt"], resources=[secrets_key.key_arn],
                    conditions={"StringEquals": {"kms:ViaService": f"secretsmanager.{cdk.Aws.REGION}.amazonaws.com"}},
                )
            )  # fmt: skip
        if task.scratch_gib:
            definition.add_volume(name="scratch")
            container.add_mount_points(ecs.MountPoint(container_path=SCRATCH, source_volume="scratch", read_only=False))
        acknowledge_all(
            definition,
            [
                ("NIST.800.53.R5-IAMNoInlinePolicy",
                 "ECS writes the execution role's image-pull, log and secret grants as its inline default policy; "
                 "the task role's permissions are its own managed policy."),
                ("AwsSolutions-ECS2",
                 "The environment holds only where the data is (bucket names, the catalog database, the queue "
                 "URL, the scratch folder); credentials come as ECS secrets from Secrets Manager."),
            ],
        )  # fmt: skip
        acknowledge(
            definition,
            "AwsSolutions-IAM5[Resource::*]",
            "ecr:GetAuthorizationToken, which the execution role needs to pull, has no resource scope.",
        )
        self.task_definitions[task.name] = definition
        return definition

    def _service(
        self,
        definition: ecs.FargateTaskDefinition,
        network: ec2.SubnetSelection,
        security_group: ec2.ISecurityGroup,
        queue: sqs.IQueue,
        max_tasks: int,
    ) -> ecs.FargateService:
        """The queue's consumers: none while it is empty, more as the work (waiting and in flight) grows."""
        service = ecs.FargateService(
            self,
            "Service",
            cluster=self.cluster,
            task_definition=definition,
            desired_count=0,
            min_healthy_percent=100,
            vpc_subnets=network,
            security_groups=[security_group],
            assign_public_ip=False,
            circuit_breaker=ecs.DeploymentCircuitBreaker(rollback=True),
            capacity_provider_strategies=[
                ecs.CapacityProviderStrategy(capacity_provider=provider, base=base, weight=weight)
                for provider, base, weight in SPOT_FIRST
            ],
        )
        work = cloudwatch.MathExpression(
            expression="visible + inflight",
            using_metrics={
                "visible": queue.metric_approximate_number_of_messages_visible(statistic="Maximum"),
                "inflight": queue.metric_approximate_number_of_messages_not_visible(statistic="Maximum"),
            },
            label="Work waiting or in progress",
            period=cdk.Duration.minutes(1),
        )
        scaling = service.auto_scale_task_count(min_capacity=0, max_capacity=max_tasks)
        scaling.scale_on_metric(
            "QueueDepth",
            metric=work,
            adjustment_type=autoscaling.AdjustmentType.EXACT_CAPACITY,
            scaling_steps=[
                autoscaling.ScalingInterval(upper=0, change=0),
                autoscaling.ScalingInterval(lower=1, upper=max(2, max_tasks * 10), change=max(1, max_tasks // 2)),
                autoscaling.ScalingInterval(lower=max(2, max_tasks * 10), change=max_tasks),
            ],
            cooldown=cdk.Duration.minutes(2),
        )
        return service

    def _schedule(
        self,
        task: EcsTaskConfig,
        construct_name: str,
        definition: ecs.FargateTaskDefinition,
        subnets: Sequence[ec2.ISubnet],
        security_group: ec2.ISecurityGroup,
    ) -> None:
        """EventBridge Scheduler runs the task on its schedule; its role may run exactly this task
        definition on this cluster and pass exactly its two roles."""
        stack = cdk.Stack.of(self)
        passed = [definition.task_role.role_arn, definition.obtain_execution_role().role_arn]
        role = ManagedPolicyRole(
            self,
            f"{construct_name}SchedulerRole",
            assumed_by=iam.ServicePrincipal(
                "scheduler.amazonaws.com", conditions={"StringEquals": {"aws:SourceAccount": stack.account}}
            ),
            description=f"EventBridge Scheduler: runs ECS task {task.name}",
            statements=[
                iam.PolicyStatement(
                    sid="RunTask", actions=["ecs:RunTask"], resources=[definition.task_definition_arn],
                    conditions={"ArnEquals": {"ecs:cluster": self.cluster.cluster_arn}},
                ),
                iam.PolicyStatement(
                    sid="PassTaskRoles", actions=["iam:PassRole"], resources=passed,
                    conditions={"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}},
                ),
            ],
        )  # fmt: skip
        self.scheduler_roles[task.name] = role.role
        self.schedules[task.name] = scheduler.CfnSchedule(
            self,
            f"{construct_name}Schedule",
            description=f"Runs ECS task {task.name}",
            schedule_expression=task.schedule or "",
            schedule_expression_timezone="UTC",
            flexible_time_window=scheduler.CfnSchedule.FlexibleTimeWindowProperty(mode="OFF"),
            target=scheduler.CfnSchedule.TargetProperty(
                arn=self.cluster.cluster_arn,
                role_arn=role.role.role_arn,
                retry_policy=scheduler.CfnSchedule.RetryPolicyProperty(maximum_retry_attempts=3),
                ecs_parameters=scheduler.CfnSchedule.EcsParametersProperty(
                    task_definition_arn=definition.task_definition_arn,
                    task_count=1,
                    platform_version="LATEST",
                    capacity_provider_strategy=[
                        scheduler.CfnSchedule.CapacityProviderStrategyItemProperty(
                            capacity_provider=provider, base=base, weight=weight
                        )
                        for provider, base, weight in SPOT_FIRST
                    ],
                    network_configuration=scheduler.CfnSchedule.NetworkConfigurationProperty(
                        awsvpc_configuration=scheduler.CfnSchedule.AwsVpcConfigurationProperty(
                            subnets=[subnet.subnet_id for subnet in subnets],
                            security_groups=[security_group.security_group_id],
                            assign_public_ip="DISABLED",
                        )
                    ),
                ),
            ),
        )
