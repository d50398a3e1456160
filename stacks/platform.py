"""The platform stack: EKS with its node groups, add-ons, the exporters Managed Prometheus scrapes, Karpenter and
tenants, secrets and shared models for pods, Argo CD; ECR; ECS; Lambda.

It reads the analytics stack (the lake's buckets and catalog, for the ECS jobs); analytics never reads it. Every
region of a stage runs one: a secondary region's (`Secondary`) binds the workload roles made in the primary
region, grants them that region's stores, accepts the primary's origin-verification secret through its
replica and reads the Git credentials' replica; the ECS jobs run where a lake is (the primary and every active
secondary region), with the secrets they read there (the primary's or their replicas)."""

from __future__ import annotations

from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_s3 as s3
from constructs import Construct
from constructs.common.event_function import EventFunction
from constructs.compute.cluster_addons import ClusterAddons
from constructs.compute.cluster_metrics import ClusterMetrics
from constructs.compute.container_registries import ContainerRegistries
from constructs.compute.eks_cluster import EksCluster
from constructs.compute.fargate_jobs import FargateJobs, LakeAccess
from constructs.compute.fargate_profiles import FargateProfiles
from constructs.compute.gitops import GitOps
from constructs.compute.ingress_load_balancer import IngressLoadBalancer, OriginVerification
from constructs.compute.karpenter import Karpenter
from constructs.compute.secrets_store import SecretsStore
from constructs.compute.shared_models import SharedModelsVolume
from constructs.compute.tenancy import Tenancy, TenantNetwork
from constructs.data.workload_identities import (
    APP_BUCKETS,
    DB_USER,
    RegionalWorkloadPolicies,
    WorkloadStores,
    database_user_arn,
    replica_secret_arn,
    replica_secret_complete_arn,
)

from environments.schema.edge import EDGE_REGION
from environments.schema.regions import replica_bucket_name
from environments.schema.stage import StageConfig
from stacks.analytics import AnalyticsStack
from stacks.base import PlatformStack
from stacks.data import DataStack
from stacks.data_replica import DataReplicaStack
from stacks.database_dr import DatabaseReplicaStack
from stacks.network import NetworkStack


@dataclass(frozen=True)
class Secondary:
    """What a secondary region's platform stack takes from the primary region: its data stack (the workload
    roles, the tables and secrets replicated here), its platform stack (the origin-verification secret, the
    Git credentials), and this region's own stores (`data`) and global-database secondary (`database`)."""

    primary_data: DataStack
    primary_platform: PlatformComputeStack
    data: DataReplicaStack
    database: DatabaseReplicaStack | None


class PlatformComputeStack(PlatformStack):
    """Compute for every workload kind, wired to the network's tiers and the data stack's resources."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StageConfig,
        network: NetworkStack,
        data: DataStack | None,
        analytics: AnalyticsStack | None,
        secondary: Secondary | None = None,
    ) -> None:
        """`data` in the primary region, `secondary` in a secondary one; `analytics` where the region runs a lake."""
        primary_data = secondary.primary_data if secondary else data
        assert primary_data is not None, "the primary region's platform takes its data stack"
        regional = secondary.data if secondary else primary_data
        super().__init__(
            scope,
            construct_id,
            config=config,
            description=f"{config.name}: EKS, Karpenter, add-ons, tenants, ECR, ECS Fargate, Lambda consumers",
            # The primary's secrets' replicas name the secondary regions' keys; a secondary's roles and replica
            # names come from the primary region.
            cross_region_references=bool(primary_data.secret_replicas),
        )
        keys = regional.keys
        roles = primary_data.workload_roles
        self.secondary = secondary
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
            secrets_key=keys.eks,
            logs_key=keys.logs,
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
        self.tenancy = Tenancy(
            self,
            "Tenancy",
            cluster=cluster,
            namespaces=platform.namespaces,
            network=TenantNetwork(
                vpc_cidr=config.network.cidr,
                service_clients=(*subnets["public"], *network.peer_app_blocks),
                service_ports=tuple(network.service_ports),
                data_cidrs=tuple(subnets["data"]),
                data_ports=tuple(groups.data_ports),
                endpoint_cidrs=tuple(subnets["app"]),  # where TieredVpc puts the interface endpoints
            ),
            workload_roles=roles.by_kind,
        )
        for manifest in (*self.tenancy.manifests.values(), self.karpenter.chart):
            manifest.node.add_dependency(system_nodes)
        self.fargate: FargateProfiles | None = None
        if fargate := platform.fargate:
            self.fargate = FargateProfiles(
                self,
                "Fargate",
                fargate=fargate,
                cluster=cluster,
                cluster_name=config.cluster_name,
                subnets=app_subnets,
                vpc=network.vpc,
                workload_security_group=groups.workload,
                logs_key=keys.logs,
                log_retention_days=platform.log_retention_days,
                removal_policy=self.stateful_removal_policy,
            )
            # Its SecurityGroupPolicies go into the tenant namespaces the profiles select.
            self.fargate.manifest.node.add_dependency(
                *(self.tenancy.manifests[s.namespace] for p in fargate.profiles for s in p.selectors)
            )
        buckets = config.data.buckets
        self.access_logs = self.own_access_log_bucket()
        # With the edge on, CloudFront (in EDGE_REGION) sends this secret and every region's listener requires
        # it: the primary region makes it, replicated to EDGE_REGION and to every other region of the stage.
        replica_regions = sorted({EDGE_REGION, *(region.region for region in config.secondaries)} - {config.region})
        self.origin_verification: OriginVerification | None = (
            secondary.primary_platform.origin_verification
            if secondary
            else OriginVerification(
                self,
                "OriginVerification",
                secret_name=f"/{config.tags.project}/{config.name}/origin-verify",
                encryption_key=keys.secrets,
                versions=config.edge.origin_verify,
                replica_regions=replica_regions,
                removal_policy=self.stateful_removal_policy,
            )
            if config.edge.enabled
            else None
        )
        self.ingress = IngressLoadBalancer(
            self,
            "Ingress",
            ingress=platform.ingress,
            services=platform.services,
            vpc=network.vpc,
            subnets=network.public_subnets.subnets,
            security_group=groups.alb,
            web_acl_arn=network.web_acl_arn,
            cluster=cluster,
            origin_verification=self.origin_verification,
            buckets=buckets,
            access_log_bucket=self.access_logs,
            removal_policy=self.stateful_removal_policy,
            deletion_protection=self.deletion_protection,
            role=config.traffic_role,
        )
        self.addons = ClusterAddons(
            self,
            "Addons",
            cluster=cluster,
            charts=platform.charts,
            addon_versions=platform.addon_versions,
            vpc_id=network.vpc.vpc_id,
            target_group_arns=[group.target_group_arn for group in self.ingress.target_groups.values()],
            system_nodes=system_nodes,
            gpu_nodes=self.karpenter.node_pools,
            cluster_name=config.cluster_name,
            logs_key=keys.logs,
            log_retention_days=platform.log_retention_days,
            removal_policy=self.stateful_removal_policy,
        )
        self.metrics = ClusterMetrics(
            self,
            "Metrics",
            cluster=cluster,
            charts=platform.charts,
            system_nodes=system_nodes,
            gpu_nodes=self.karpenter.node_pools,
        )
        # A binding needs the controller's CRD and webhooks, and the namespace its Service lives in.
        for service in platform.services:
            self.ingress.bindings[service.name].node.add_dependency(
                self.addons.charts["aws-load-balancer-controller"], self.tenancy.manifests[service.namespace]
            )
        namespace_kinds = {namespace.name: namespace.workload_role for namespace in platform.namespaces}
        secrets_by_kind = roles.replicated_secrets_by_kind if secondary else roles.secrets_by_kind
        self.secrets_store = SecretsStore(
            self,
            "SecretsStore",
            cluster=cluster,
            charts=platform.charts,
            nodes=system_nodes,
            secret_names={name: secrets_by_kind[kind] for name, kind in namespace_kinds.items()},
        )
        if self.secrets_store.classes:
            self.secrets_store.classes.node.add_dependency(*self.tenancy.manifests.values())
        gpu_namespaces = [name for name, kind in namespace_kinds.items() if kind == "gpu"]
        self.shared_models = SharedModelsVolume(
            self,
            "SharedModels",
            cluster=cluster,
            file_system_id=regional.file_system.file_system.file_system_id,
            access_point_id=regional.file_system.models_access_point.access_point_id,
            namespaces=gpu_namespaces,
        )
        self.shared_models.manifest.node.add_dependency(*(self.tenancy.manifests[name] for name in gpu_namespaces))
        self.registries = ContainerRegistries(
            self,
            "Registries",
            names=[*platform.ecr_repositories, *(task.name for task in platform.ecs_tasks)],
            name_prefix=f"{config.tags.project}/{config.name}",
            encryption_key=keys.storage,
            keep_images=platform.ecr_keep_images,
            removal_policy=self.stateful_removal_policy,
        )
        self.gitops = (
            GitOps(
                self,
                "GitOps",
                cluster=cluster,
                gitops=platform.gitops,
                services=platform.services,
                repositories=dict(self.registries.repositories),
                stage=config.name,
                secrets_key=keys.secrets,
                nodes=system_nodes,
                secrets_store=self.secrets_store.provider,
                removal_policy=self.stateful_removal_policy,
                secret_replicas=primary_data.secret_replicas,
                replicated=secondary is not None,
            )
            if platform.gitops
            else None
        )
        self.jobs = (
            FargateJobs(
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
                    task_roles={
                        name: role.without_policy_updates() for name, role in analytics.job_roles.roles.items()
                    },
                    work_queues=analytics.job_roles.work_queues,
                ),
                secret_arns={
                    name: replica_secret_complete_arn(self, primary_data.secrets.replica_names[name])
                    if secondary
                    else secret.secret_arn
                    for name, secret in primary_data.secrets.by_name.items()
                },
                secrets_key=keys.secrets,
                logs_key=keys.logs,
                log_retention_days=platform.log_retention_days,
                removal_policy=self.stateful_removal_policy,
            )
            if analytics
            else None
        )
        self.action_consumer = EventFunction(
            self,
            "ActionRequestsConsumer",
            code_directory="action_requests",
            # Partial batch responses: a failed message is retried alone, then goes to the queue's DLQ.
            event_source=sources.SqsEventSource(
                regional.messaging.queues["action-requests"],
                batch_size=10,
                report_batch_item_failures=True,
                max_concurrency=platform.consumer_reserved_concurrency,
            ),
            vpc=network.vpc,
            subnets=app_subnets,
            security_group=groups.workload,
            reserved_concurrency=platform.consumer_reserved_concurrency,
            logs_key=keys.logs,
            log_retention_days=platform.log_retention_days,
            removal_policy=self.stateful_removal_policy,
        )
        self.regional_policies = self._grant_regional_stores(config, secondary) if secondary else None
        self.cluster_name_output = cdk.CfnOutput(self, "ClusterName", value=cluster.cluster_name)
        self.log_custom_resource_providers(logs_key=keys.logs, retention_days=platform.log_retention_days)

    def _grant_regional_stores(self, config: StageConfig, secondary: Secondary) -> RegionalWorkloadPolicies:
        """The workload roles' policies on this region's stores: its keys, cache, queues and models file system,
        and the replicas here of the primary's secrets, tables and buckets (buckets by their fixed names)."""
        buckets = {
            name: s3.Bucket.from_bucket_name(self, f"{name}-replica", replica_bucket_name(config, name, self.region))
            for name in config.recovery.replicate_buckets
        }
        roles = secondary.primary_data.workload_roles
        secret_names = roles.replicated_secrets_by_kind["app"]
        database = secondary.database
        stores = WorkloadStores(
            keys=secondary.data.keys,
            messaging=secondary.data.messaging,
            secret_arns=[replica_secret_arn(self, name) for name in secret_names],
            cache_token_arn=secondary.data.cache.auth_secret.secret_arn,
            table_arns=secondary.primary_data.tables.arns_in(self.region),
            app_buckets=[buckets[name] for name in APP_BUCKETS if name in buckets],
            models=buckets.get("models"),
            images=buckets.get("images"),
            database_user_arn=database_user_arn(self, f"{database.cluster.attr_db_cluster_resource_id}/{DB_USER}")
            if database
            else None,
            file_system_arn=secondary.data.file_system.file_system.file_system_arn,
        )
        return RegionalWorkloadPolicies(self, "RegionalWorkloadAccess", roles=roles.by_kind, stores=stores)
