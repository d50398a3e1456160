"""The platform stack: EKS with its node groups, add-ons, Karpenter and tenants; ECR; ECS; Lambda.

It reads the analytics stack (the lake's buckets and catalog, for the ECS jobs); analytics never reads it."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_lambda_event_sources as sources
from constructs import Construct
from constructs.common.event_function import EventFunction
from constructs.compute.cluster_addons import ClusterAddons
from constructs.compute.container_registries import ContainerRegistries
from constructs.compute.eks_cluster import EksCluster
from constructs.compute.fargate_jobs import FargateJobs, LakeAccess
from constructs.compute.karpenter import Karpenter
from constructs.compute.tenancy import Tenancy, TenantNetwork
from constructs.network.tier_security_groups import WORKLOAD_PORTS

from environments.schema.stage import StageConfig
from stacks.analytics import AnalyticsStack
from stacks.base import PlatformStack
from stacks.data import DataStack
from stacks.network import NetworkStack


class PlatformComputeStack(PlatformStack):
    """Compute for every workload kind, wired to the network's tiers and the data stack's resources."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StageConfig,
        network: NetworkStack,
        data: DataStack,
        analytics: AnalyticsStack,
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            config=config,
            description=f"{config.name}: EKS, Karpenter, add-ons, tenants, ECR, ECS Fargate, Lambda consumers",
        )
        platform = config.platform
        groups = network.security_groups
        app_subnets = network.app_subnets.subnets
        subnets = network.tiered_vpc.subnet_cidrs
        self.eks = EksCluster(
            self,
            "Eks",
            platform=platform,
            cluster_name=config.cluster_name,
            vpc=network.vpc,
            app_subnets=app_subnets,
            workload_security_group=groups.workload,
            secrets_key=data.keys.eks,
            logs_key=data.keys.logs,
            log_retention_days=platform.log_retention_days,
            removal_policy=self.stateful_removal_policy,
            deletion_protection=self.deletion_protection,
        )
        cluster = self.eks.cluster
        system_nodes = self.eks.node_groups["system"]
        self.karpenter = Karpenter(
            self,
            "Karpenter",
            cluster=cluster,
            cluster_name=config.cluster_name,
            karpenter=platform.karpenter,
            node_groups=platform.node_groups,
        )
        self.addons = ClusterAddons(
            self,
            "Addons",
            cluster=cluster,
            charts=platform.charts,
            addon_versions=platform.addon_versions,
            vpc_id=network.vpc.vpc_id,
            alb_security_group_id=groups.alb.security_group_id,
            web_acl_arn=network.web_acl_arn,
            system_nodes=system_nodes,
            gpu_nodes=self.karpenter.node_pools,
        )
        self.tenancy = Tenancy(
            self,
            "Tenancy",
            cluster=cluster,
            namespaces=platform.namespaces,
            network=TenantNetwork(
                vpc_cidr=config.network.cidr,
                service_clients=(*subnets["public"], *filter(None, [network.peer_app_block])),
                service_ports=WORKLOAD_PORTS,
                data_cidrs=tuple(subnets["data"]),
                data_ports=tuple(groups.data_ports),
                endpoint_cidrs=tuple(subnets["app"]),  # where TieredVpc puts the interface endpoints
            ),
            workload_roles=data.workload_roles.by_kind,
        )
        for manifest in (*self.tenancy.manifests.values(), self.karpenter.chart):
            manifest.node.add_dependency(system_nodes)
        self.registries = ContainerRegistries(
            self,
            "Registries",
            names=[*platform.ecr_repositories, *(task.name for task in platform.ecs_tasks)],
            name_prefix=f"{config.tags.project}/{config.name}",
            encryption_key=data.keys.storage,
            keep_images=platform.ecr_keep_images,
            removal_policy=self.stateful_removal_policy,
        )
        self.jobs = FargateJobs(
            self,
            "Jobs",
            vpc=network.vpc,
            subnets=app_subnets,
            security_group=groups.workload,
            tasks=platform.ecs_tasks,
            image_tag=platform.ecs_image_tag,
            repositories=dict(self.registries.repositories),
            lake=LakeAccess(
                zones=analytics.lake.zones,
                database_name=analytics.glue.database_name,
                task_roles={name: role.without_policy_updates() for name, role in analytics.job_roles.roles.items()},
                work_queues=analytics.job_roles.work_queues,
            ),
            secrets=data.secrets.by_name,
            secrets_key=data.keys.secrets,
            logs_key=data.keys.logs,
            log_retention_days=platform.log_retention_days,
            removal_policy=self.stateful_removal_policy,
        )
        self.action_consumer = EventFunction(
            self,
            "ActionRequestsConsumer",
            code_directory="action_requests",
            # Partial batch responses: a failed message is retried alone, then goes to the queue's DLQ.
            event_source=sources.SqsEventSource(
                data.messaging.queues["action-requests"],
                batch_size=10,
                report_batch_item_failures=True,
                max_concurrency=platform.consumer_reserved_concurrency,
            ),
            vpc=network.vpc,
            subnets=app_subnets,
            security_group=groups.workload,
            reserved_concurrency=platform.consumer_reserved_concurrency,
            logs_key=data.keys.logs,
            log_retention_days=platform.log_retention_days,
            removal_policy=self.stateful_removal_policy,
        )
        self.cluster_name_output = cdk.CfnOutput(self, "ClusterName", value=cluster.cluster_name)
