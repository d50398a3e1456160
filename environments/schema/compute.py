"""The `platform:` section: EKS, node groups, Karpenter, charts, tenant namespaces, ECR, ECS and the Lambda
consumer (constructs/compute/), and the checks across their fields."""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import Field

from environments.schema.base import RESERVABLE_CONCURRENCY, ConfigModel, K8sName, RetentionDays, YamlList
from environments.schema.workloads import GitOpsConfig, ServiceConfig

if TYPE_CHECKING:
    from environments.schema.stage import StageConfig


InstanceType = Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]*\.[a-z0-9]+$")]
IamPrincipalPattern = Annotated[str, Field(pattern=r"^arn:aws[a-z-]*:iam::\d{12}:(role|user)/[A-Za-z0-9+=,.@_/*?-]+$")]
"""An IAM role or user ARN, with the wildcards `*` and `?` that an ArnLike condition matches."""
RETIRED_FIELDS = {
    "platform.admin_role_arn": "replaced by platform.cluster_admin_principals: the platform now creates the "
    "cluster-admin role itself; list the ARN patterns of the roles that may assume it",
}
"""Keys stage files used to have, with what to write instead (the loader prints this instead of "unknown key")."""


class TaintConfig(ConfigModel):
    key: str = Field(pattern=r"^[A-Za-z0-9./_-]+$")
    value: str = Field(pattern=r"^[A-Za-z0-9._-]*$")
    effect: Literal["NO_SCHEDULE", "PREFER_NO_SCHEDULE", "NO_EXECUTE"]


class NodeGroupConfig(ConfigModel):
    """One EKS managed node group on an AL2023 launch template (seeds 000, 001, 002)."""

    name: K8sName
    instance_types: Annotated[tuple[InstanceType, ...], YamlList] = Field(min_length=1)
    capacity_type: Literal["ON_DEMAND", "SPOT"]
    min_size: int = Field(ge=0, le=450)
    max_size: int = Field(ge=1, le=450)
    desired_size: int = Field(ge=0, le=450)
    gpu: bool = False
    disk_size_gib: int = Field(ge=20, le=16384)
    labels: dict[str, str] = Field(default_factory=dict)
    taints: Annotated[tuple[TaintConfig, ...], YamlList] = ()


class KarpenterConfig(ConfigModel):
    """Karpenter v1 for GPU burst capacity (seed 002)."""

    chart_version: str = Field(pattern=r"^1\.\d+\.\d+$")
    gpu_instance_types: Annotated[tuple[InstanceType, ...], YamlList] = Field(min_length=1)
    gpu_limit: int = Field(ge=1)


class ChartVersionsConfig(ConfigModel):
    """Pinned Helm chart versions."""

    aws_load_balancer_controller: str = Field(pattern=r"^\d+\.\d+\.\d+$")
    metrics_server: str = Field(pattern=r"^\d+\.\d+\.\d+$")
    nvidia_device_plugin: str = Field(pattern=r"^\d+\.\d+\.\d+$")
    secrets_store_csi_driver: str = Field(pattern=r"^\d+\.\d+\.\d+$")
    secrets_store_csi_driver_provider_aws: str = Field(pattern=r"^\d+\.\d+\.\d+$")


class NamespaceConfig(ConfigModel):
    """A tenant namespace with its quota and scheduling priority (seed 002)."""

    name: K8sName
    cpu: int = Field(ge=1)
    memory_gib: int = Field(ge=1)
    gpu: int = Field(ge=0)
    priority: int = Field(ge=0, le=1_000_000_000)
    workload_role: Literal["app", "gpu"] = Field(description="which Pod Identity role its `workload` account gets")


class EcsTaskConfig(ConfigModel):
    """A Fargate task definition (seed 003)."""

    name: K8sName
    cpu: Literal[256, 512, 1024, 2048, 4096, 8192, 16384]
    memory_mib: int = Field(ge=512, le=122880)


class PlatformConfig(ConfigModel):
    """The compute platform: EKS, Karpenter, tenancy, ECR, ECS and the Lambda consumer."""

    kubernetes_version: Literal["1.36"]
    public_endpoint_cidrs: Annotated[tuple[str, ...], YamlList] = ()
    cluster_admin_principals: Annotated[tuple[IamPrincipalPattern, ...], YamlList] = Field(
        min_length=1,
        description="ARN patterns of the principals (SSO permission-set roles, a break-glass role) that may "
        "assume the stage's cluster-admin role; each must be in the stage's account",
    )
    node_groups: Annotated[tuple[NodeGroupConfig, ...], YamlList] = Field(min_length=1)
    karpenter: KarpenterConfig
    charts: ChartVersionsConfig
    namespaces: Annotated[tuple[NamespaceConfig, ...], YamlList] = Field(min_length=1)
    ecr_repositories: Annotated[tuple[K8sName, ...], YamlList] = Field(min_length=1)
    ecr_keep_images: int = Field(ge=1, le=10000)
    ecs_tasks: Annotated[tuple[EcsTaskConfig, ...], YamlList] = Field(min_length=1)
    consumer_reserved_concurrency: int = Field(ge=1, le=RESERVABLE_CONCURRENCY)
    log_retention_days: RetentionDays
    services: Annotated[tuple[ServiceConfig, ...], YamlList] = ()
    gitops: GitOpsConfig | None = Field(default=None, description="Argo CD and what it deploys; off when absent")


def platform_problems(config: StageConfig) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    platform = config.platform
    for index, cidr in enumerate(platform.public_endpoint_cidrs):
        try:
            network = ipaddress.IPv4Network(cidr, strict=True)
        except ValueError:
            problems.append((f"platform.public_endpoint_cidrs.{index}", f"{cidr} is not a valid CIDR"))
            continue
        if network.prefixlen == 0:
            problems.append(
                (f"platform.public_endpoint_cidrs.{index}", "the API endpoint may not be open to the internet")
            )
    names = [group.name for group in platform.node_groups]
    if len(set(names)) != len(names):
        problems.append(("platform.node_groups", "two node groups share a name"))
    for index, group in enumerate(platform.node_groups):
        where = f"platform.node_groups.{index}"
        if group.min_size > group.max_size:
            problems.append((f"{where}.min_size", f"{group.min_size} is above max_size {group.max_size}"))
        if not group.min_size <= group.desired_size <= group.max_size:
            problems.append(
                (f"{where}.desired_size", f"{group.desired_size} is outside {group.min_size}-{group.max_size}")
            )
    if "system" not in names:
        problems.append(("platform.node_groups", "a node group named system runs the cluster add-ons and Karpenter"))
    namespaces = [namespace.name for namespace in platform.namespaces]
    if len(set(namespaces)) != len(namespaces):
        problems.append(("platform.namespaces", "two namespaces share a name"))
    for index, namespace in enumerate(namespaces):
        if namespace.startswith("kube-") or namespace == "default":
            problems.append((f"platform.namespaces.{index}", f"{namespace} is reserved by Kubernetes"))
    if len(set(platform.ecr_repositories)) != len(platform.ecr_repositories):
        problems.append(("platform.ecr_repositories", "lists the same repository twice"))
    if config.is_production and any(g.name == "system" and g.min_size < 2 for g in platform.node_groups):
        problems.append(("platform.node_groups", "prod's system node group needs at least 2 nodes"))
    return problems
