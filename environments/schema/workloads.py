"""`platform.services` (the HTTP services behind the ingress load balancer) and `platform.gitops` (Argo CD,
which deploys their workloads from Git), with the checks that tie them to the namespaces and registries."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Annotated

from pydantic import AfterValidator, Field

from environments.schema.base import SYSTEM_GROUP, ConfigModel, K8sName, YamlList

if TYPE_CHECKING:
    from environments.schema.stage import StageConfig


SERVICE_PORT_RANGE = (8001, 8006)
"""The ports services listen on behind the load balancer: seed 002's five on 8001-8005 and seed 001's agent on
8006. The network admits exactly this range from the load balancer (constructs/network/tier_security_groups.py)."""


def git_revision(value: str) -> str:
    """A branch, tag or commit Git accepts as a ref name (git check-ref-format, the parts a config may need)."""
    parts = value.split("/")
    if any(not re.fullmatch(r"[A-Za-z0-9_-][A-Za-z0-9._-]*", part) for part in parts):
        raise ValueError(f"{value!r} is not a Git branch, tag or commit (letters, digits, . _ - and / between parts)")
    if ".." in value or value.endswith((".", ".lock")):
        raise ValueError(f"{value!r} is not a Git ref name (no '..', no trailing '.' or '.lock')")
    return value


PathPattern = Annotated[str, Field(pattern=r"^/[A-Za-z0-9_.~/*?-]*$", max_length=128)]


class ServiceConfig(ConfigModel):
    """One HTTP service (seeds 001, 002): the Kubernetes Service `name` in `namespace` on `port`, reached through
    the ingress load balancer on `path_patterns` and checked on `health_check_path`; `gpu` services run on GPU
    nodes."""

    name: K8sName
    port: int = Field(ge=1, le=65535)
    namespace: K8sName
    path_patterns: Annotated[tuple[PathPattern, ...], YamlList] = Field(min_length=1, max_length=5)
    health_check_path: str = Field(pattern=r"^/[A-Za-z0-9_.~/-]*$", max_length=1024)
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
    """Services in known namespaces on distinct names and ports the network admits; GPU services where the
    GPU role and quota are; and, with GitOps, an image per service, credentials under the stage's prefix and
    replicas the system nodes can spread."""
    platform = config.platform
    namespaces = {namespace.name: namespace for namespace in platform.namespaces}
    problems: list[tuple[str, str]] = []
    for field in ("name", "port"):
        values = [getattr(service, field) for service in platform.services]
        if len(set(values)) != len(values):
            problems.append(("platform.services", f"two services share a {field}"))
    low, high = SERVICE_PORT_RANGE
    for index, service in enumerate(platform.services):
        where = f"platform.services.{index}"
        if not low <= service.port <= high:
            problems.append((f"{where}.port", f"{service.port} is outside {low}-{high}, the ports the network admits"))
        namespace = namespaces.get(service.namespace)
        if namespace is None:
            problems.append((f"{where}.namespace", f"{service.namespace} is not one of platform.namespaces"))
        elif service.gpu and (namespace.workload_role != "gpu" or namespace.gpu == 0):
            problems.append((f"{where}.namespace", f"{service.namespace} has no GPU role or quota for a GPU service"))
    gitops = platform.gitops
    if gitops is None:
        return problems
    if not platform.services:
        problems.append(("platform.gitops", "deploys platform.services, which lists none"))
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
