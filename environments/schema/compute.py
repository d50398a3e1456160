"""The `platform:` section: EKS, node groups, Karpenter, charts, tenant namespaces, ECR, ECS and the Lambda
consumer (constructs/compute/), and the checks across their fields."""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import AfterValidator, Field

from environments.schema.base import (
    RESERVABLE_CONCURRENCY,
    SYSTEM_GROUP,
    ConfigModel,
    CronExpression,
    K8sName,
    RetentionDays,
    YamlList,
)
from environments.schema.instance_types import INSTANCE_TYPES, InstanceSize
from environments.schema.versions import ADDONS, CHARTS, version_problem
from environments.schema.workloads import GitOpsConfig, ServiceConfig

if TYPE_CHECKING:
    from environments.schema.stage import StageConfig


DomainName = Annotated[str, Field(pattern=r"^([a-z0-9-]+\.)+[a-z]{2,}$")]
HostedZoneId = Annotated[str, Field(pattern=r"^Z[A-Z0-9]{8,31}$")]

IamPrincipalPattern = Annotated[str, Field(pattern=r"^arn:aws[a-z-]*:iam::\d{12}:(role|user)/[A-Za-z0-9+=,.@_/*?-]+$")]
"""An IAM role or user ARN, with the wildcards `*` and `?` that an ArnLike condition matches."""
RETIRED_FIELDS = {
    "platform.admin_role_arn": "replaced by platform.cluster_admin_principals: the platform now creates the "
    "cluster-admin role itself; list the ARN patterns of the roles that may assume it",
}
"""Keys stage files used to have, with what to write instead."""


def _known_instance_type(value: str) -> str:
    if value not in INSTANCE_TYPES:
        raise ValueError(
            f"{value} has no row in environments/schema/instance_types.py (its size sets Karpenter's limits)"
        )
    return value


def _some_instance_types(value: tuple[str, ...]) -> tuple[str, ...]:
    if not value:
        raise ValueError("lists no instance type")
    return value


InstanceType = Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]*\.[a-z0-9]+$"), AfterValidator(_known_instance_type)]
InstanceTypes = Annotated[tuple[InstanceType, ...], YamlList, AfterValidator(_some_instance_types)]
"""At least one known instance type (checked after the items, so an unknown one is reported once)."""

GPU_BURST_POOL = "gpu-burst"
"""Karpenter's Spot GPU pool (seed 002), sized by `karpenter.gpu_limit` rather than by a node group."""
KUBERNETES_TAINT_EFFECTS = {
    "NO_SCHEDULE": "NoSchedule",
    "PREFER_NO_SCHEDULE": "PreferNoSchedule",
    "NO_EXECUTE": "NoExecute",
}


class TaintConfig(ConfigModel):
    key: str = Field(pattern=r"^[A-Za-z0-9./_-]+$")
    value: str = Field(pattern=r"^[A-Za-z0-9._-]*$")
    effect: Literal["NO_SCHEDULE", "PREFER_NO_SCHEDULE", "NO_EXECUTE"]

    @property
    def kubernetes_effect(self) -> str:
        return KUBERNETES_TAINT_EFFECTS[self.effect]


class NodeGroupConfig(ConfigModel):
    """A pool of nodes with one set of labels and taints (seeds 000, 001, 002), from `min_size` to `max_size`.

    An EKS managed node group keeps `min_size` nodes (none when it is 0) and a Karpenter NodePool with the
    same labels, taints, instance types and capacity type adds up to `max_size - min_size` more, so nothing
    else (no Cluster Autoscaler) scales the group. The `system` group is managed only, from `min_size` to
    `max_size` by hand: Karpenter's controller runs there and cannot launch its own nodes.
    """

    name: K8sName
    instance_types: InstanceTypes
    capacity_type: Literal["ON_DEMAND", "SPOT"]
    min_size: int = Field(ge=0, le=450)
    max_size: int = Field(ge=1, le=450)
    gpu: bool = Field(default=False, description="NVIDIA GPU instance types, on the AL2023 NVIDIA AMI")
    architecture: Literal["amd64", "arm64"] = Field(
        default="amd64",
        description="the CPU architecture of every instance type: arm64 (Graviton) runs the AL2023 ARM AMI and "
        "Karpenter's pool for the group requires kubernetes.io/arch arm64",
    )
    disk_size_gib: int = Field(ge=20, le=16384)
    labels: dict[str, str] = Field(default_factory=dict)
    taints: Annotated[tuple[TaintConfig, ...], YamlList] = ()

    @property
    def headroom(self) -> int:
        """How many nodes Karpenter may add above the managed minimum (never to the system group)."""
        return 0 if self.name == SYSTEM_GROUP else self.max_size - self.min_size

    @property
    def size(self) -> InstanceSize:
        """Each node's size: the largest of its instance types (the loader requires them all equal)."""
        return max((INSTANCE_TYPES[t] for t in self.instance_types), key=lambda s: (s.vcpus, s.memory_gib, s.gpus))


class KarpenterConfig(ConfigModel):
    """Karpenter v1: the headroom of every node group above its minimum, and a Spot GPU burst pool (seed 002)
    of `gpu_instance_types` up to `gpu_limit` GPUs."""

    chart_version: str = Field(pattern=r"^1\.\d+\.\d+$")
    gpu_instance_types: InstanceTypes
    gpu_limit: int = Field(ge=1)


class ChartVersionsConfig(ConfigModel):
    """Pinned Helm chart versions, each checked against environments/schema/versions.py."""

    aws_load_balancer_controller: str = Field(pattern=r"^\d+\.\d+\.\d+$")
    metrics_server: str = Field(pattern=r"^\d+\.\d+\.\d+$")
    nvidia_device_plugin: str = Field(pattern=r"^\d+\.\d+\.\d+$")
    secrets_store_csi_driver: str = Field(pattern=r"^\d+\.\d+\.\d+$")
    secrets_store_csi_driver_provider_aws: str = Field(pattern=r"^\d+\.\d+\.\d+$")
    kube_state_metrics: str = Field(pattern=r"^\d+\.\d+\.\d+$")
    prometheus_node_exporter: str = Field(pattern=r"^\d+\.\d+\.\d+$")
    dcgm_exporter: str = Field(pattern=r"^\d+\.\d+\.\d+$")


class NamespaceConfig(ConfigModel):
    """A tenant namespace with its quota and scheduling priority (seed 002)."""

    name: K8sName
    cpu: int = Field(ge=1)
    memory_gib: int = Field(ge=1)
    gpu: int = Field(ge=0)
    priority: int = Field(ge=0, le=1_000_000_000)
    workload_role: Literal["app", "gpu"] = Field(description="which Pod Identity role its `workload` account gets")


AddonVersion = Annotated[str, Field(pattern=r"^v\d+\.\d+\.\d+-eksbuild\.\d+$")]


MUTABLE_TAGS = frozenset({"latest", "stable", "main", "master", "dev", "prod", "staging", "release", "current"})
"""Names CI moves from image to image: an immutable repository accepts each only once, so a second release
under one of them is rejected. A release is a new tag (a version or a commit)."""


def _release_tag(value: str) -> str:
    if value.lower() in MUTABLE_TAGS:
        raise ValueError(f"{value} names whatever is newest; give the release's own tag (a version or a commit)")
    return value


ImageTag = Annotated[str, Field(pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$"), AfterValidator(_release_tag)]
LakeZone = Literal["raw", "processed", "curated"]


class HealthCheckConfig(ConfigModel):
    """How the load balancer checks each service's pods (every target group)."""

    interval_seconds: int = Field(ge=5, le=300)
    timeout_seconds: int = Field(ge=2, le=120)
    healthy_threshold: int = Field(ge=2, le=10)
    unhealthy_threshold: int = Field(ge=2, le=10)
    healthy_http_codes: str = Field(pattern=r"^[2-4]\d\d(-[2-4]\d\d)?(,[2-4]\d\d(-[2-4]\d\d)?)*$")


class IngressConfig(ConfigModel):
    """The ingress load balancer: its name in the stage's zone (CloudFront's origin when the edge is on), its
    certificate and its listener settings (seed 002)."""

    domain_name: DomainName = Field(description="the load balancer's alias in the zone, which its certificate covers")
    hosted_zone_id: HostedZoneId
    hosted_zone_name: DomainName
    certificate_arn: str | None = Field(
        default=None,
        pattern=r"^arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate/[0-9a-f-]{36}$",
        description="an existing ACM certificate in the stage's region; without it, one DNS-validated in the zone",
    )
    idle_timeout_seconds: int = Field(ge=1, le=4000)
    desync_mitigation: Literal["monitor", "defensive", "strictest"]
    health_check: HealthCheckConfig


class EcsTaskConfig(ConfigModel):
    """A Fargate task definition (seed 003) and how it runs: as a service scaled on its work queue's depth
    (`max_tasks`), or on a `schedule` through EventBridge Scheduler; with what it may do in the lake."""

    name: K8sName
    cpu: Literal[256, 512, 1024, 2048, 4096, 8192, 16384]
    memory_mib: int = Field(ge=512, le=122880)
    image_tag: ImageTag | None = Field(default=None, description="this task's release; else platform.ecs_image_tag")
    reads: Annotated[tuple[LakeZone, ...], YamlList] = ()
    writes: Annotated[tuple[LakeZone, ...], YamlList] = ()
    secrets: Annotated[tuple[str, ...], YamlList] = Field(
        default=(), description="names of the data stack's application secrets, passed as ECS secrets"
    )
    scratch_gib: int | None = Field(
        default=None, ge=21, le=200, description="ephemeral storage, mounted read-write at /scratch"
    )
    max_tasks: int | None = Field(default=None, ge=1, le=100, description="a service from 0 to this many tasks")
    schedule: CronExpression | None = None


LabelKey = Annotated[
    str, Field(pattern=r"^([a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")
]
LabelValue = Annotated[str, Field(pattern=r"^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")]
FargateLabels = Annotated[dict[LabelKey, LabelValue], Field(max_length=5)]
"""At most five labels a selector (EKS's limit), in Kubernetes' label syntax."""


class FargateSelectorConfig(ConfigModel):
    """Pods of `namespace` carrying every one of `labels` (all its pods when there are none) run on Fargate."""

    namespace: K8sName
    labels: FargateLabels = Field(default_factory=dict)


class FargateProfileConfig(ConfigModel):
    """An EKS Fargate profile: up to five selectors (EKS's limit), one pod execution role."""

    name: K8sName
    selectors: Annotated[tuple[FargateSelectorConfig, ...], YamlList] = Field(min_length=1, max_length=5)


class FargateConfig(ConfigModel):
    """EKS on Fargate (seed 004): the profiles, their pods' logs through Fargate's Fluent Bit to one encrypted
    group. A Fargate pod runs x86_64 only, has no GPU, no DaemonSets, no Pod Identity, no NetworkPolicy and no
    CSI-mounted secrets (EKS user guide: Fargate, Pod Identity, network policy considerations), so it suits
    stateless pods that need none; security groups isolate it instead of the namespace's policies."""

    profiles: Annotated[tuple[FargateProfileConfig, ...], YamlList] = Field(min_length=1)


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
    addon_versions: dict[str, AddonVersion] = Field(
        default_factory=dict,
        description="EKS add-on -> pinned version; unpinned add-ons get EKS's default for kubernetes_version",
    )
    namespaces: Annotated[tuple[NamespaceConfig, ...], YamlList] = Field(min_length=1)
    ingress: IngressConfig
    services: Annotated[tuple[ServiceConfig, ...], YamlList] = Field(min_length=1)
    ecr_repositories: Annotated[tuple[K8sName, ...], YamlList] = Field(min_length=1)
    ecr_keep_images: int = Field(ge=1, le=10000)
    ecs_image_tag: ImageTag = Field(description="the release every ECS task runs unless it names its own")
    ecs_tasks: Annotated[tuple[EcsTaskConfig, ...], YamlList] = Field(min_length=1)
    consumer_reserved_concurrency: int = Field(ge=1, le=RESERVABLE_CONCURRENCY)
    log_retention_days: RetentionDays
    gitops: GitOpsConfig | None = Field(default=None, description="Argo CD and what it deploys; off when absent")
    fargate: FargateConfig | None = Field(default=None, description="EKS Fargate profiles; off when absent")


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
        problems += _node_group_problems(f"platform.node_groups.{index}", group)
    if SYSTEM_GROUP not in names:
        problems.append(("platform.node_groups", "a node group named system runs the cluster add-ons and Karpenter"))
    if GPU_BURST_POOL in names:
        problems.append(("platform.node_groups", f"{GPU_BURST_POOL} is the name of Karpenter's Spot GPU pool"))
    for index, instance_type in enumerate(platform.karpenter.gpu_instance_types):
        if not INSTANCE_TYPES[instance_type].gpus:
            problems.append((f"platform.karpenter.gpu_instance_types.{index}", f"{instance_type} has no GPU"))
    problems += _gpu_capacity_problems(platform)
    namespaces = [namespace.name for namespace in platform.namespaces]
    if len(set(namespaces)) != len(namespaces):
        problems.append(("platform.namespaces", "two namespaces share a name"))
    for index, namespace in enumerate(namespaces):
        if namespace.startswith("kube-") or namespace == "default":
            problems.append((f"platform.namespaces.{index}", f"{namespace} is reserved by Kubernetes"))
    problems += _ingress_problems(config)
    problems += _fargate_problems(platform)
    for index, task in enumerate(platform.ecs_tasks):
        if (task.max_tasks is None) == (task.schedule is None):
            problems.append((f"platform.ecs_tasks.{index}", "give exactly one of max_tasks (a service) or schedule"))
    if sum(task.max_tasks is not None for task in platform.ecs_tasks) > 1:
        problems.append(("platform.ecs_tasks", "one task runs as the queue-scaled service; the others on schedules"))
    if len(set(platform.ecr_repositories)) != len(platform.ecr_repositories):
        problems.append(("platform.ecr_repositories", "lists the same repository twice"))
    return problems + _version_problems(platform)


def _node_group_problems(where: str, group: NodeGroupConfig) -> list[tuple[str, str]]:
    """Sizes that fit, instance types of one size (Karpenter's limits count nodes of that size), a GPU flag
    that matches them, and a system group large enough for Karpenter's two replicas on distinct nodes."""
    problems = []
    if group.min_size > group.max_size:
        problems.append((f"{where}.min_size", f"{group.min_size} is above max_size {group.max_size}"))
    sizes = {INSTANCE_TYPES[t] for t in group.instance_types}
    if len(sizes) > 1:
        problems.append(
            (f"{where}.instance_types", "mixes instance sizes; a pool's types need one vCPU/memory/GPU size")
        )
    if architectures := {size.arch for size in sizes} - {group.architecture}:
        problems.append((f"{where}.architecture", f"{group.architecture} but the instance types are "
                         f"{', '.join(sorted(architectures))}"))  # fmt: skip
    if group.gpu != all(size.gpus for size in sizes):
        problems.append((f"{where}.gpu", f"{'true' if group.gpu else 'false'} but the instance types "
                         f"{'have no' if group.gpu else 'have'} GPUs"))  # fmt: skip
    if group.name == SYSTEM_GROUP and group.min_size < 2:
        problems.append((f"{where}.min_size", "the system group needs 2 nodes: Karpenter's two replicas each need "
                         "a node Karpenter did not launch"))  # fmt: skip
    return problems


def _fargate_problems(platform: PlatformConfig) -> list[tuple[str, str]]:
    """Profiles with distinct names select tenant namespaces (each has a quota, policies and a workload account)
    whose pods need no GPU: Fargate has none."""
    if platform.fargate is None:
        return []
    tenants = {namespace.name: namespace for namespace in platform.namespaces}
    problems = []
    names = [profile.name for profile in platform.fargate.profiles]
    if len(set(names)) != len(names):
        problems.append(("platform.fargate.profiles", "two profiles share a name"))
    for index, profile in enumerate(platform.fargate.profiles):
        for number, selector in enumerate(profile.selectors):
            where = f"platform.fargate.profiles.{index}.selectors.{number}.namespace"
            tenant = tenants.get(selector.namespace)
            if tenant is None:
                problems.append((where, f"{selector.namespace} is not one of platform.namespaces"))
            elif tenant.workload_role == "gpu":
                problems.append((where, f"{selector.namespace} runs GPU workloads; Fargate has no GPUs"))
    return problems


def gpu_capacity(platform: PlatformConfig) -> int:
    """The most GPUs the stage's pools can run: every GPU node group at its maximum plus the Spot burst pool."""
    return sum(g.max_size * g.size.gpus for g in platform.node_groups if g.gpu) + platform.karpenter.gpu_limit


def _gpu_capacity_problems(platform: PlatformConfig) -> list[tuple[str, str]]:
    quotas = sum(namespace.gpu for namespace in platform.namespaces)
    capacity = gpu_capacity(platform)
    if quotas <= capacity:
        return []
    groups = ", ".join(f"{g.name} {g.max_size * g.size.gpus}" for g in platform.node_groups if g.gpu) or "none"
    return [
        (
            "platform.namespaces",
            f"the GPU quotas total {quotas} but the GPU pools provide at most {capacity} "
            f"(node groups: {groups}; karpenter.gpu_limit: {platform.karpenter.gpu_limit})",
        )
    ]


def _version_problems(platform: PlatformConfig) -> list[tuple[str, str]]:
    """Every pinned chart and add-on runs on the cluster's Kubernetes version (environments/schema/versions.py)."""
    charts = platform.charts
    pins = [
        ("platform.karpenter.chart_version", CHARTS, "karpenter", platform.karpenter.chart_version),
        ("platform.charts.aws_load_balancer_controller", CHARTS, "aws-load-balancer-controller",
         charts.aws_load_balancer_controller),
        ("platform.charts.metrics_server", CHARTS, "metrics-server", charts.metrics_server),
        ("platform.charts.nvidia_device_plugin", CHARTS, "nvidia-device-plugin", charts.nvidia_device_plugin),
        ("platform.charts.secrets_store_csi_driver", CHARTS, "secrets-store-csi-driver",
         charts.secrets_store_csi_driver),
        ("platform.charts.secrets_store_csi_driver_provider_aws", CHARTS, "secrets-store-csi-driver-provider-aws",
         charts.secrets_store_csi_driver_provider_aws),
        ("platform.charts.kube_state_metrics", CHARTS, "kube-state-metrics", charts.kube_state_metrics),
        ("platform.charts.prometheus_node_exporter", CHARTS, "prometheus-node-exporter",
         charts.prometheus_node_exporter),
        ("platform.charts.dcgm_exporter", CHARTS, "dcgm-exporter", charts.dcgm_exporter),
        *((("platform.gitops.chart_version", CHARTS, "argo-cd", platform.gitops.chart_version),) if platform.gitops
          else ()),
        *((f"platform.addon_versions.{name}", ADDONS, name, pin) for name, pin in platform.addon_versions.items()),
    ]  # fmt: skip
    return [
        (field, problem)
        for field, table, component, version in pins
        if (problem := version_problem(table, component, version, platform.kubernetes_version))
    ]


def _ingress_problems(config: StageConfig) -> list[tuple[str, str]]:
    """The load balancer's name is in its zone, its certificate in its region, its checks time out in time."""
    ingress = config.platform.ingress
    problems = []
    if not ingress.domain_name.endswith(f".{ingress.hosted_zone_name}"):
        problems.append(
            ("platform.ingress.domain_name", f"{ingress.domain_name} is not in the zone {ingress.hosted_zone_name}")
        )
    if ingress.certificate_arn and ingress.certificate_arn.split(":")[3] != config.region:
        problems.append(
            ("platform.ingress.certificate_arn", f"must be in {config.region}: a load balancer takes its region's")
        )
    check = ingress.health_check
    if check.timeout_seconds >= check.interval_seconds:
        problems.append(
            (
                "platform.ingress.health_check.timeout_seconds",
                f"must be shorter than interval_seconds ({check.interval_seconds})",
            )
        )
    return problems
