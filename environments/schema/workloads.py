"""`platform.services` (the HTTP services behind the ingress load balancer) and `platform.gitops` (Argo CD,
which deploys their workloads from Git), with the checks that tie them to the namespaces and registries."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Annotated

from pydantic import AfterValidator, Field

from environments.schema.base import SYSTEM_GROUP, ConfigModel, K8sName, YamlList

if TYPE_CHECKING:
    from environments.schema.stage import StageConfig


def git_revision(value: str) -> str:
    """A branch, tag or commit Git accepts as a ref name (git check-ref-format, the parts a config may need)."""
    parts = value.split("/")
    if any(not re.fullmatch(r"[A-Za-z0-9_-][A-Za-z0-9._-]*", part) for part in parts):
        raise ValueError(f"{value!r} is not a Git branch, tag or commit (letters, digits, . _ - and / between parts)")
    if ".." in value or value.endswith((".", ".lock")):
        raise ValueError(f"{value!r} is not a Git ref name (no '..', no trailing '.' or '.lock')")
    return value


ServiceName = Annotated[str, Field(pattern=r"^[a-z]([-a-z0-9]{0,30}[a-z0-9])?$")]
"""A Kubernetes Service name (a DNS label that starts with a letter), short enough to name its load balancer
resources after it."""
PathPattern = Annotated[str, Field(pattern=r"^/[A-Za-z0-9_\-.$/~\"'@:+*?&]*$", max_length=128)]
"""An ALB path-pattern value: case-sensitive, up to 128 characters, `*` and `?` as wildcards."""
MAX_PATH_PATTERNS = 3
"""An ALB rule condition takes at most three values, and a rule five in all: with the edge on, the origin
header condition uses two of them (elasticloadbalancing/latest/application/listener-rules.html)."""


class ServiceConfig(ConfigModel):
    """One HTTP service (seeds 001, 002): the Kubernetes Service `name` in `namespace` on `port`, reached through
    the ingress load balancer on `path_patterns` and checked on `health_check_path`; `gpu` services run on GPU
    nodes."""

    name: ServiceName
    port: int = Field(ge=1024, le=65535)
    namespace: K8sName
    path_patterns: Annotated[tuple[PathPattern, ...], YamlList] = Field(min_length=1, max_length=MAX_PATH_PATTERNS)
    health_check_path: str = Field(pattern=r"^/[A-Za-z0-9_\-.~/]*$", max_length=1024)
    gpu: bool = False


class GitOpsConfig(ConfigModel):
    """Argo CD (seed 002's GitOps): the chart, the Git `repository_url`, `revision` and `path` (the stage's
    overlay folder, one sub-folder per service) it deploys, the Secrets Manager secret with the repository's
    credentials, the image tag of every service, and the replicas of its server, repo server and
    ApplicationSet controller."""

    chart_version: str = Field(pattern=r"^\d+\.\d+\.\d+$", description="argo-helm's argo-cd chart")
    repository_url: str = Field(
        pattern=r"^https://[A-Za-z0-9.-]+(:\d{1,5})?(/[A-Za-z0-9._~-]+)+$",
        description="HTTPS only: the credentials are a user name and a token",
    )
    revision: Annotated[str, AfterValidator(git_revision)] = Field(max_length=255)
    path: str = Field(pattern=r"^[A-Za-z0-9_-][A-Za-z0-9._-]*(/[A-Za-z0-9_-][A-Za-z0-9._-]*)*$", max_length=255)
    credentials_secret: str = Field(
        pattern=r"^/[A-Za-z0-9/_+=.@-]+$",
        max_length=512,
        description="name of the secret (JSON: username, password) the platform creates for the operator to set",
    )
    image_tag: str = Field(pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
    replicas: int = Field(default=1, ge=1, le=5)


def workload_problems(config: StageConfig) -> list[tuple[str, str]]:
    """Services in known namespaces on distinct names, ports and paths; GPU services where the
    GPU role and quota are; and, with GitOps, an image per service, credentials under the stage's prefix and
    replicas the system nodes can spread."""
    platform = config.platform
    namespaces = {namespace.name: namespace for namespace in platform.namespaces}
    problems: list[tuple[str, str]] = []
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
    for index, service in enumerate(platform.services):
        where = f"platform.services.{index}"
        namespace = namespaces.get(service.namespace)
        if namespace is None:
            problems.append((f"{where}.namespace", f"{service.namespace} is not in platform.namespaces"))
        elif service.gpu and namespace.gpu == 0:
            problems.append((f"{where}.gpu", f"{service.namespace}'s quota grants no GPUs (platform.namespaces)"))
        elif service.gpu and namespace.workload_role != "gpu":
            problems.append((f"{where}.gpu", f"{service.namespace}'s workload role is not gpu (platform.namespaces)"))
    gitops = platform.gitops
    if gitops is None:
        return problems
    problems += [
        (f"platform.services.{index}.name", f"{service.name} has no ECR repository of its name in ecr_repositories")
        for index, service in enumerate(platform.services)
        if service.name not in platform.ecr_repositories
    ]
    prefix = f"/{config.tags.project}/{config.name}/"
    if not gitops.credentials_secret.startswith(prefix):
        problems.append(("platform.gitops.credentials_secret", f"must be under the stage's prefix {prefix}"))
    system = next((group for group in platform.node_groups if group.name == SYSTEM_GROUP), None)
    if system is not None and gitops.replicas > system.min_size:
        problems.append(
            ("platform.gitops.replicas", f"{gitops.replicas} is more than the system group's {system.min_size} nodes")
        )
    if config.is_production and gitops.replicas < 2:
        problems.append(("platform.gitops.replicas", "prod runs Argo CD highly available: at least 2"))
    return problems
