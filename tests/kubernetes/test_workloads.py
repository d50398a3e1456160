"""The reference workloads (workloads/), as the ApplicationSet deploys them in every stage (tests/workload_objects.py):
valid Kubernetes 1.36, hardened, one Deployment, Service, HorizontalPodAutoscaler and PodDisruptionBudget per
`platform.services` entry with the name, namespace, port and labels the front door binds to, GPU services on GPUs
with the shared models read-only, secrets only through the platform's SecretProviderClasses, within each
namespace's quota, and nothing of an account, region or ARN in Git."""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Any

import kubernetes_validate
import pytest
from constructs.compute import gitops
from constructs.compute.secrets_store import DRIVER
from constructs.compute.shared_models import CLAIM
from constructs.compute.tenancy import WORKLOAD_SERVICE_ACCOUNT

from environments.schema.workloads import ServiceConfig
from tests.kubernetes.test_manifests import KUBERNETES_VERSION
from tests.stage_files import REPO_ROOT
from tests.support import props
from tests.synthesis import SynthesizedPlatform
from tests.workload_objects import Application, applications, applied

WORKLOADS = REPO_ROOT / "workloads"
KINDS = {"Deployment", "Service", "HorizontalPodAutoscaler", "PodDisruptionBudget"}
NAME_LABEL = "app.kubernetes.io/name"
GPU = "nvidia.com/gpu"


def _applications(platform: SynthesizedPlatform, stage: str) -> list[Application]:
    if platform.configs[stage].platform.gitops is None:
        pytest.skip(f"{stage} has no platform.gitops")
    found = applications(platform, stage)
    assert found, f"{stage}: the ApplicationSet generates no Application"
    return found


def _by_kind(app: Application) -> dict[str, dict[str, Any]]:
    kinds = [obj["kind"] for obj in app.objects]
    assert sorted(kinds) == sorted(KINDS), f"{app.name}: {kinds}"
    return {obj["kind"]: obj for obj in app.objects}


def _service(platform: SynthesizedPlatform, stage: str, name: str) -> ServiceConfig:
    return next(s for s in platform.configs[stage].platform.services if s.name == name)


def _pod(app: Application) -> dict[str, Any]:
    spec: dict[str, Any] = _by_kind(app)["Deployment"]["spec"]["template"]["spec"]
    return spec


def _app_container(app: Application) -> dict[str, Any]:
    containers: list[dict[str, Any]] = _pod(app)["containers"]
    (container,) = [c for c in containers if c["name"] == gitops.CONTAINER]
    return container


def test_one_application_per_service(platform: SynthesizedPlatform, stage: str) -> None:
    services = platform.configs[stage].platform.services
    found = _applications(platform, stage)
    assert [(a.name, a.namespace) for a in found] == [(s.name, s.namespace) for s in services]
    (project,) = applied(platform, stage, "AppProject")
    allowed = {(k["group"], k["kind"]) for k in project["spec"]["namespaceResourceWhitelist"]}
    for app in found:
        assert app.spec["project"] == project["metadata"]["name"]
        assert {(o["apiVersion"].rpartition("/")[0], o["kind"]) for o in app.objects} <= allowed, app.name


def test_every_workload_object_is_valid_kubernetes_1_36(platform: SynthesizedPlatform, stage: str) -> None:
    for app in _applications(platform, stage):
        for obj in app.objects:
            kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)


def test_each_service_is_what_the_front_door_binds(platform: SynthesizedPlatform, stage: str) -> None:
    """The target group binding names Service `<name>` in `<namespace>` on `<port>`: that Service selects the
    service's pods (`app.kubernetes.io/name: <name>`) on a container port equal to its own, which the network
    policies require, and the pods answer the load balancer's health check path."""
    for app in _applications(platform, stage):
        config = _service(platform, stage, app.name)
        objects = _by_kind(app)
        service = objects["Service"]
        assert (service["metadata"]["name"], service["metadata"]["namespace"]) == (config.name, config.namespace)
        (port,) = service["spec"]["ports"]
        assert (port["port"], port["protocol"], service["spec"]["type"]) == (config.port, "TCP", "ClusterIP")
        deployment = objects["Deployment"]
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        assert service["spec"]["selector"] == deployment["spec"]["selector"]["matchLabels"] == {NAME_LABEL: config.name}
        assert labels[NAME_LABEL] == config.name
        container = _app_container(app)
        (container_port,) = [p for p in container["ports"] if port["targetPort"] in (p["name"], p["containerPort"])]
        assert container_port["containerPort"] == config.port
        for probe in ("readinessProbe", "livenessProbe"):
            assert container[probe]["httpGet"]["path"] == config.health_check_path, probe
        for kind in ("HorizontalPodAutoscaler", "PodDisruptionBudget"):
            assert objects[kind]["metadata"]["namespace"] == config.namespace
        assert objects["HorizontalPodAutoscaler"]["spec"]["scaleTargetRef"]["name"] == deployment["metadata"]["name"]
        assert objects["PodDisruptionBudget"]["spec"]["selector"]["matchLabels"] == {NAME_LABEL: config.name}


def test_every_pod_is_hardened(platform: SynthesizedPlatform, stage: str) -> None:
    for app in _applications(platform, stage):
        pod = _pod(app)
        assert pod["serviceAccountName"] == WORKLOAD_SERVICE_ACCOUNT and pod["automountServiceAccountToken"] is False
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        assert any(c["topologyKey"] == "topology.kubernetes.io/zone" for c in pod["topologySpreadConstraints"])
        assert pod["priorityClassName"] == f"{app.namespace}-priority"
        for container in pod["containers"]:
            context = container["securityContext"]
            assert context["readOnlyRootFilesystem"] is True and context["allowPrivilegeEscalation"] is False
            assert context["capabilities"] == {"drop": ["ALL"]}
            for bound in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(container["resources"][bound]), (app.name, bound)
            assert "readinessProbe" in container and "livenessProbe" in container
        assert _by_kind(app)["PodDisruptionBudget"]["spec"]["maxUnavailable"] == 1


def test_every_pod_runs_as_its_namespaces_workload_account_with_a_role(
    platform: SynthesizedPlatform, stage: str
) -> None:
    """The account the tenancy creates, bound by Pod Identity to the role of the namespace's kind."""
    accounts = {(a["metadata"]["namespace"], a["metadata"]["name"]) for a in applied(platform, stage, "ServiceAccount")}
    template = platform.template_json(stage, "platform")
    bound = {(p["Namespace"], p["ServiceAccount"]) for p in props(template, "AWS::EKS::PodIdentityAssociation")}
    for app in _applications(platform, stage):
        account = (app.namespace, _pod(app)["serviceAccountName"])
        assert account in accounts and account in bound, (app.name, account)


def test_images_come_from_the_stages_registries_at_the_configured_tag(
    platform: SynthesizedPlatform, stage: str
) -> None:
    config = platform.configs[stage]
    assert config.platform.gitops is not None
    for app in _applications(platform, stage):
        image = _app_container(app)["image"]
        assert re.fullmatch(
            rf"TOKEN\.dkr\.ecr\.TOKEN\.TOKEN/TOKEN:{re.escape(config.platform.gitops.image_tag)}", image
        ), image
        env = {e["name"]: e["value"] for e in _app_container(app)["env"]}
        assert env == {"AWS_REGION": config.region, "PLATFORM_STAGE": stage}


def test_gpu_services_get_a_gpu_and_the_shared_models_read_only(platform: SynthesizedPlatform, stage: str) -> None:
    claims = {
        (c["metadata"]["namespace"], c["metadata"]["name"]) for c in applied(platform, stage, "PersistentVolumeClaim")
    }
    node_pools = applied(platform, stage, "NodePool")
    gpu_taints = [t for p in node_pools for t in p["spec"]["template"]["spec"].get("taints", []) if t["key"] == GPU]
    assert gpu_taints, f"{stage}: no GPU NodePool taint to tolerate"
    for app in _applications(platform, stage):
        pod, container = _pod(app), _app_container(app)
        gpus = {bound: container["resources"][bound].get(GPU) for bound in ("requests", "limits")}
        if not _service(platform, stage, app.name).gpu:
            assert gpus == {"requests": None, "limits": None}, app.name
            continue
        assert gpus["requests"] == gpus["limits"] and int(gpus["limits"]) >= 1, app.name
        for taint in gpu_taints:
            assert any(t["key"] == GPU and t["effect"] == taint["effect"] for t in pod["tolerations"]), app.name
        (volume,) = [v for v in pod["volumes"] if "persistentVolumeClaim" in v]
        assert volume["persistentVolumeClaim"] == {"claimName": CLAIM, "readOnly": True}
        (mount,) = [m for m in container["volumeMounts"] if m["name"] == volume["name"]]
        assert mount["readOnly"] is True
        assert (app.namespace, CLAIM) in claims, f"{app.name}: no claim {CLAIM} in {app.namespace}"


def test_secrets_come_only_from_the_platforms_secret_provider_classes(
    platform: SynthesizedPlatform, stage: str
) -> None:
    classes = {
        (c["metadata"]["namespace"], c["metadata"]["name"]) for c in applied(platform, stage, "SecretProviderClass")
    }
    for app in _applications(platform, stage):
        for volume in _pod(app)["volumes"]:
            assert "secret" not in volume, f"{app.name}: a Kubernetes Secret volume"
            if "csi" in volume:
                assert volume["csi"]["driver"] == DRIVER and volume["csi"]["readOnly"] is True
                spc = volume["csi"]["volumeAttributes"]["secretProviderClass"]
                assert (app.namespace, spc) in classes, f"{app.name}: no SecretProviderClass {spc} in {app.namespace}"
        for container in _pod(app)["containers"]:
            assert not any("valueFrom" in e for e in container.get("env", [])), app.name


QUANTITY = re.compile(r"^(\d+(?:\.\d+)?)(m|Ki|Mi|Gi|Ti)?$")
UNITS = {None: 1.0, "m": 0.001, "Ki": 2.0**10, "Mi": 2.0**20, "Gi": 2.0**30, "Ti": 2.0**40}


def quantity(value: str | int) -> float:
    found = QUANTITY.match(str(value))
    assert found, value
    return float(found[1]) * UNITS[found[2]]


def test_every_namespace_holds_its_services_at_their_maximum(platform: SynthesizedPlatform, stage: str) -> None:
    """Pods past the quota are refused: at the HPA's maximum plus a rolling update's surge pod, the services of a
    namespace fit its ResourceQuota, GPUs included."""
    used: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for app in _applications(platform, stage):
        objects = _by_kind(app)
        surge = objects["Deployment"]["spec"]["strategy"]["rollingUpdate"]["maxSurge"]
        pods = objects["HorizontalPodAutoscaler"]["spec"]["maxReplicas"] + int(surge)
        for container in _pod(app)["containers"]:
            for bound in ("requests", "limits"):
                for resource, value in container["resources"][bound].items():
                    used[app.namespace][f"{bound}.{resource}"] += pods * quantity(value)
    for quota in applied(platform, stage, "ResourceQuota"):
        namespace, hard = quota["metadata"]["namespace"], quota["spec"]["hard"]
        over = {k: (v, hard[k]) for k, v in used[namespace].items() if k in hard and v > quantity(hard[k])}
        assert over == {}, f"{stage}: {namespace} needs more than its quota: {over}"


def test_git_holds_no_account_region_arn_or_secret() -> None:
    """Deploy-time values come from the ApplicationSet; secrets from Secrets Manager."""
    for path in sorted(WORKLOADS.rglob("*.yaml")):
        text = path.read_text()
        for pattern in (r"\b\d{12}\b", r"arn:aws", r"amazonaws\.com", r"\b[a-z]{2}-[a-z]+-\d\b", r"kind:\s*Secret\b"):
            assert not re.search(pattern, text), f"{path.relative_to(REPO_ROOT)}: {pattern}"


def test_seed_002_sizes_dev_against_prod(examples: SynthesizedPlatform) -> None:
    """The overlays scale the same services per stage: dev small and single, prod a pod per AZ up to 20, and
    GPU services within each stage's GPU quota."""
    sizes = {}
    for stage in ("dev", "prod"):
        for app in applications(examples, stage):
            objects = {obj["kind"]: obj for obj in app.objects}
            hpa = objects["HorizontalPodAutoscaler"]["spec"]
            requests = _app_container(app)["resources"]["requests"]
            sizes[(stage, app.name)] = (hpa["minReplicas"], hpa["maxReplicas"], requests["cpu"], requests["memory"])
    assert sizes[("dev", "user")] == (1, 4, "100m", "128Mi")
    assert sizes[("prod", "user")] == (3, 20, "500m", "512Mi")
    assert sizes[("dev", "generation")] == (1, 1, "2", "8Gi")
    assert sizes[("prod", "generation")] == (1, 7, "2", "8Gi")
    (agent,) = [a for a in applications(examples, "prod") if a.name == "agent"]
    assert _pod(agent)["nodeSelector"] == {"workload": "ai"}  # seed 001: the agent on the AI nodes in prod
