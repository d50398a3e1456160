"""ECS on Fargate for batch and data jobs (seed 003): a cluster with Container Insights, Fargate and Fargate
Spot, ARM64 task definitions with KMS log groups and their own task roles, and an idle service."""

from __future__ import annotations

from collections.abc import Sequence

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_kms as kms
from constructs import Construct
from constructs.common.acknowledgments import acknowledge
from constructs.common.encrypted_log_group import EncryptedLogGroup

from environments.schema.compute import EcsTaskConfig

IMAGE_TAG = "stable"
"""The tag CI moves to a released image; tags are immutable, so a release is a new tag and a task update."""


class FargateJobs(Construct):
    """`cluster`, `task_definitions` by name, and `service` (desired count 0, scaled by whoever needs it)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        vpc: ec2.IVpc,
        subnets: Sequence[ec2.ISubnet],
        security_group: ec2.ISecurityGroup,
        tasks: Sequence[EcsTaskConfig],
        repositories: dict[str, ecr.IRepository],
        logs_key: kms.IKey,
        log_retention_days: int,
        removal_policy: cdk.RemovalPolicy,
    ) -> None:
        super().__init__(scope, construct_id)
        self.cluster = ecs.Cluster(
            self,
            "Cluster",
            vpc=vpc,
            container_insights_v2=ecs.ContainerInsights.ENHANCED,
            enable_fargate_capacity_providers=True,
        )
        self.task_definitions: dict[str, ecs.FargateTaskDefinition] = {}
        for task in tasks:
            construct_name = "".join(part.capitalize() for part in task.name.split("-"))
            definition = ecs.FargateTaskDefinition(
                self,
                f"{construct_name}Task",
                cpu=task.cpu,
                memory_limit_mib=task.memory_mib,
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
            definition.add_container(
                "Main",
                image=ecs.ContainerImage.from_ecr_repository(repositories[task.name], IMAGE_TAG),
                logging=ecs.LogDrivers.aws_logs(stream_prefix=task.name, log_group=log_group),
                readonly_root_filesystem=True,
            )
            acknowledge(
                definition,
                "NIST.800.53.R5-IAMNoInlinePolicy",
                "ECS writes the execution role's image-pull and log grants as its inline default policy; the "
                "task role starts empty and gets only what a job is granted where it is wired.",
            )
            acknowledge(
                definition,
                "AwsSolutions-IAM5[Resource::*]",
                "ecr:GetAuthorizationToken, which the execution role needs to pull, has no resource scope.",
            )
            self.task_definitions[task.name] = definition

        first = self.task_definitions[tasks[0].name]
        self.service = ecs.FargateService(
            self,
            "Service",
            cluster=self.cluster,
            task_definition=first,
            desired_count=0,
            min_healthy_percent=100,
            vpc_subnets=ec2.SubnetSelection(subnets=list(subnets)),
            security_groups=[security_group],
            assign_public_ip=False,
            circuit_breaker=ecs.DeploymentCircuitBreaker(rollback=True),
            capacity_provider_strategies=[
                ecs.CapacityProviderStrategy(capacity_provider="FARGATE", base=0, weight=1),
                ecs.CapacityProviderStrategy(capacity_provider="FARGATE_SPOT", weight=3),
            ],
        )
