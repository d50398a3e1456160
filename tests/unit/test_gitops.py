"""Argo CD and its ApplicationSet, per example stage, at the level of template properties (issue: the front door in
code, applications delivered by GitOps)."""

from __future__ import annotations

import json
from typing import Any

from constructs.compute import gitops
from constructs.compute.gitops import GitOps

from tests.behaviour.templates import json_text
from tests.support import logical_id, output_of, props
from tests.synthesis import SynthesizedPlatform


def _gitops(examples: SynthesizedPlatform, stage: str) -> GitOps:
    found = examples.stages[stage].platform.gitops
    assert found is not None
    return found


def _chart(examples: SynthesizedPlatform, stage: str) -> dict[str, Any]:
    (chart,) = [
        p
        for p in props(examples.template_json(stage, "platform"), "Custom::AWSCDK-EKS-HelmChart")
        if p["Chart"] == "argo-cd"
    ]
    return chart


def test_argo_cd_runs_in_its_own_namespace_on_the_system_nodes(examples: SynthesizedPlatform, stage: str) -> None:
    chart = _chart(examples, stage)
    config = examples.configs[stage].platform.gitops
    assert config is not None
    assert (chart["Repository"], chart["Version"], chart["Release"]) == (
        "https://argoproj.github.io/argo-helm",
        config.chart_version,
        "argocd",
    )
    assert chart["Namespace"] == "argocd" and "CreateNamespace" not in chart  # the construct applies it first
    values = json_text(chart["Values"])
    assert values["global"]["nodeSelector"] == {"workload": "system"}
    assert values["global"]["tolerations"] == [
        {"key": "system", "operator": "Equal", "value": "true", "effect": "NoSchedule"}
    ]
    # Soft: hard anti-affinity puts a rolling update's extra pod, or a third replica, on no node of two.
    assert values["global"]["affinity"] == {"podAntiAffinity": "soft"}
    for component in ("controller", "server", "repoServer", "applicationSet", "redis"):
        resources_ = values[component]["resources"]
        assert set(resources_) == {"requests", "limits"}, component


def test_the_server_is_not_exposed(examples: SynthesizedPlatform, stage: str) -> None:
    values = json_text(_chart(examples, stage)["Values"])
    assert values["server"]["service"] == {"type": "ClusterIP"}
    assert values["server"]["ingress"] == {"enabled": False}
    assert values["dex"] == {"enabled": False}


def test_prod_is_highly_available_and_the_others_are_not(examples: SynthesizedPlatform, stage: str) -> None:
    values = json_text(_chart(examples, stage)["Values"])
    replicas = {"dev": 1, "staging": 1, "prod": 2}[stage]
    for component in ("server", "repoServer", "applicationSet"):
        assert values[component]["replicas"] == replicas
        expected = {"enabled": True, "minAvailable": 1} if replicas > 1 else {"enabled": False}
        assert values[component]["pdb"] == expected
    assert values["controller"]["replicas"] == 1
    assert values["redis-ha"] == {"enabled": False}  # three nodes with hard anti-affinity; prod's system group has 2


def test_repository_credentials_come_from_secrets_manager(examples: SynthesizedPlatform, stage: str) -> None:
    """The template creates a placeholder the operator replaces, never a value; the CSI driver mirrors it, with the
    URL, into the labelled repository Secret while the repo server mounts it."""
    config = examples.configs[stage]
    assert config.platform.gitops is not None
    construct = _gitops(examples, stage)
    template = examples.template_json(stage, "platform")
    secret = template["Resources"][logical_id(construct.credentials)]["Properties"]
    assert secret["Name"] == config.platform.gitops.credentials_secret == f"/ai-platform/{stage}/gitops/repository"
    assert "SecretString" not in secret
    assert secret["GenerateSecretString"]["GenerateStringKey"] == "password"
    assert logical_id(examples.stages[stage].data.keys.secrets) in output_of(secret["KmsKeyId"])
    (parameter,) = [
        p
        for p in props(template, "AWS::SSM::Parameter")
        if p.get("Name") == f"{config.platform.gitops.credentials_secret}-url"
    ]
    assert parameter["Value"] == config.platform.gitops.repository_url
    (spc,) = [o for m in props(template, "Custom::AWSCDK-EKS-KubernetesResource") for o in json_text(m["Manifest"])
              if o["kind"] == "SecretProviderClass" and o["metadata"]["namespace"] == "argocd"]  # fmt: skip
    (synced,) = spc["spec"]["secretObjects"]
    assert synced["labels"] == {"argocd.argoproj.io/secret-type": "repository"}
    assert [d["key"] for d in synced["data"]] == ["url", "username", "password"]
    files = {
        alias
        for obj in json.loads(spc["spec"]["parameters"]["objects"])
        for alias in [obj["objectAlias"], *(p["objectAlias"] for p in obj.get("jmesPath", []))]
    }
    assert {d["objectName"] for d in synced["data"]} <= files
    values = json_text(_chart(examples, stage)["Values"])["repoServer"]
    (volume,) = values["volumes"]
    assert volume["csi"]["volumeAttributes"] == {"secretProviderClass": gitops.REPOSITORY_CLASS}
    assert values["serviceAccount"] == {"name": gitops.REPO_SERVER}
    associations = {(p["Namespace"], p["ServiceAccount"]) for p in props(template, "AWS::EKS::PodIdentityAssociation")}
    assert ("argocd", gitops.REPO_SERVER) in associations


def test_the_application_set_deploys_each_service_from_the_stages_overlay(
    examples: SynthesizedPlatform, stage: str
) -> None:
    config = examples.configs[stage].platform
    assert config.gitops is not None
    construct = _gitops(examples, stage)
    project, application_set = construct.objects
    assert project["spec"]["sourceRepos"] == [config.gitops.repository_url]
    assert project["spec"]["clusterResourceWhitelist"] == []
    assert {d["namespace"] for d in project["spec"]["destinations"]} == {s.namespace for s in config.services}
    spec = application_set["spec"]
    (generator,) = spec["generators"]
    elements = generator["list"]["elements"]
    assert [(e["name"], e["namespace"]) for e in elements] == [(s.name, s.namespace) for s in config.services]
    registries = examples.stages[stage].platform.registries.repositories
    stack = examples.stages[stage].platform
    for element in elements:
        image = json.dumps(stack.resolve(element["image"]))
        assert logical_id(registries[element["name"]]) in image and image.endswith(f':{config.gitops.image_tag}"]]}}')
    source = spec["template"]["spec"]["source"]
    assert (source["repoURL"], source["targetRevision"], source["path"]) == (
        config.gitops.repository_url,
        config.gitops.revision,
        f"workloads/overlays/{stage}/{{{{.name}}}}",
    )
    assert source["kustomize"]["images"] == ["{{.name}}={{.image}}"]
    assert spec["template"]["spec"]["syncPolicy"]["automated"] == {"prune": True, "selfHeal": True}
