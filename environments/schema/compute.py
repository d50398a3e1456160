"""The `platform:` section: EKS, node groups, Karpenter, charts, tenant namespaces, ECR, ECS and the Lambda
consumer (constructs/compute/), and the checks across their fields."""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import Field

from environments.schema.base import RESERVABLE_CONCURRENCY, ConfigModel, RetentionDays, YamlList

if TYPE_CHECKING:
    from environments.schema.stage import StageConfig


K8sName = Annotated[str, Field(pattern=r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")]
ServiceName = Annotated[str, Field(pattern=r"^[a-z]([-a-z0-9]{0,30}[a-z0-9])?$")]
"""A Kubernetes Service name (a DNS label that starts with a letter), short enough to name its load balancer
resources after it."""
DomainName = Annotated[str, Field(pattern=r"^([a-z0-9-]+\.)+[a-z]{2,}$")]
HostedZoneId = Annotated[str, Field(pattern=r"^Z[A-Z0-9]{8,31}$")]
PathPattern = Annotated[str, Field(pattern=r"^/[A-Za-z0-9_\-.$/~\"'@:+*?&]*$", max_length=128)]
"""An ALB path-pattern value: case-sensitive, up to 128 characters, `*` and `?` as wildcards."""
MAX_PATH_PATTERNS = 3
"""An ALB rule condition takes at most three values, and a rule five in all: with the edge on, the origin
header condition uses two of them (elasticloadbalancing/latest/application/listener-rules.html)."""


InstanceType = Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]*\.[a-z0-9]+$")]
IamPrincipalPattern = Annotated[str, Field(pattern=r"^arn:aws[a-z-]*:iam::\d{12}:(role|user)/[A-Za-z0-9+=,.@_/*?-]+$")]
"""An IAM role or user ARN, with the wildcards `*` and `?` that an ArnLike condition matches."""
RETIRED_FIELDS = {
    "platform.admin_role_arn": "replaced by platform.cluster_admin_principals: the platform now creates the "
    "cluster-admin role itself; list the ARN patterns of the roles that may assume it",
}
"""Keys stage files used to have, with what to write instead."""


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


class NamespaceConfig(ConfigModel):
    """A tenant namespace with its quota and scheduling priority (seed 002)."""

    name: K8sName
    cpu: int = Field(ge=1)
    memory_gib: int = Field(ge=1)
    gpu: int = Field(ge=0)
    priority: int = Field(ge=0, le=1_000_000_000)
    workload_role: Literal["app", "gpu"] = Field(description="which Pod Identity role its `workload` account gets")


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


class ServiceConfig(ConfigModel):
    """An application service behind the load balancer: the Kubernetes Service `name` in `namespace`, whose
    port and pods' container port are `port`, and whose pods carry `app.kubernetes.io/name: <name>`."""

    name: ServiceName
    port: int = Field(ge=1024, le=65535)
    namespace: K8sName
    path_patterns: Annotated[tuple[PathPattern, ...], YamlList] = Field(min_length=1, max_length=MAX_PATH_PATTERNS)
    health_check_path: str = Field(pattern=r"^/[A-Za-z0-9_\-.~/]*$", max_length=1024)
    gpu: bool = False


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
    ingress: IngressConfig
    services: Annotated[tuple[ServiceConfig, ...], YamlList] = Field(min_length=1)
    ecr_repositories: Annotated[tuple[K8sName, ...], YamlList] = Field(min_length=1)
    ecr_keep_images: int = Field(ge=1, le=10000)
    ecs_tasks: Annotated[tuple[EcsTaskConfig, ...], YamlList] = Field(min_length=1)
    consumer_reserved_concurrency: int = Field(ge=1, le=RESERVABLE_CONCURRENCY)
    log_retention_days: RetentionDays


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
    problems += _ingress_problems(config)
    problems += _service_problems(platform)
    if len(set(platform.ecr_repositories)) != len(platform.ecr_repositories):
        problems.append(("platform.ecr_repositories", "lists the same repository twice"))
    if config.is_production and any(g.name == "system" and g.min_size < 2 for g in platform.node_groups):
        problems.append(("platform.node_groups", "prod's system node group needs at least 2 nodes"))
    return problems


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


def _service_problems(platform: PlatformConfig) -> list[tuple[str, str]]:
    """Names, ports and paths are each the service's own; a service runs in a namespace there is, and a GPU
    service in one whose quota grants GPUs."""
    problems = []
    for key in ("name", "port"):
        values = [getattr(service, key) for service in platform.services]
        problems += [
            ("platform.services", f"two services share the {key} {value}")
            for value in sorted({v for v in values if values.count(v) > 1}, key=str)
        ]
    patterns = [pattern for service in platform.services for pattern in service.path_patterns]
    problems += [
        ("platform.services", f"two services route {pattern}")
        for pattern in sorted({p for p in patterns if patterns.count(p) > 1})
    ]
    namespaces = {namespace.name: namespace for namespace in platform.namespaces}
    for index, service in enumerate(platform.services):
        namespace = namespaces.get(service.namespace)
        if namespace is None:
            problems.append(
                (f"platform.services.{index}.namespace", f"{service.namespace} is not in platform.namespaces")
            )
        elif service.gpu and namespace.gpu == 0:
            problems.append(
                (f"platform.services.{index}.gpu", f"{service.namespace}'s quota grants no GPUs (platform.namespaces)")
            )
    return problems
