"""The workloads Argo CD deploys in a stage, rendered as Argo CD renders them: the ApplicationSet the platform stack
applies, expanded into Applications (its list generator; Go templates of the form `{{.key}}`, anything else is an
error), and each Application's source built from this repository by tests/kustomize.py with the Application's
kustomize overrides. The stage files point Argo CD at this repository's workloads/, so this checkout is what runs.

`workload_objects(platform, stage)` is what the contracts read: every object of every Application, with the
Application's name; tokens of the template (account, region, repository) are the string TOKEN.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.behaviour.templates import json_text
from tests.kustomize import argo_cd_images, build
from tests.stage_files import REPO_ROOT
from tests.support import props
from tests.synthesis import SynthesizedPlatform

MANIFEST = "Custom::AWSCDK-EKS-KubernetesResource"
TEMPLATE_FIELD = re.compile(r"\{\{\.([A-Za-z][A-Za-z0-9_]*)\}\}")


@dataclass(frozen=True)
class Application:
    """One generated Application: its spec and the objects its source renders to."""

    name: str
    spec: dict[str, Any]
    objects: list[dict[str, Any]]

    @property
    def namespace(self) -> str:
        return str(self.spec["destination"]["namespace"])


def applied(platform: SynthesizedPlatform, stage: str, kind: str) -> list[dict[str, Any]]:
    """Every object of `kind` the stage's platform stack applies."""
    return [
        obj
        for manifest in props(platform.template_json(stage, "platform"), MANIFEST)
        for obj in json_text(manifest["Manifest"]) or []
        if obj.get("kind") == kind
    ]


def expand(value: Any, element: dict[str, str]) -> Any:
    """`value` with every `{{.key}}` replaced by the element's value."""
    if isinstance(value, dict):
        return {key: expand(item, element) for key, item in value.items()}
    if isinstance(value, list):
        return [expand(item, element) for item in value]
    if not isinstance(value, str):
        return value
    text = TEMPLATE_FIELD.sub(lambda found: element[found[1]], value)
    if "{{" in text:
        raise ValueError(f"{value!r}: only {{{{.key}}}} fields of the list generator are rendered here")
    return text


def render(spec: dict[str, Any], repository: Path = REPO_ROOT) -> list[dict[str, Any]]:
    """What an Application's source renders to: the kustomization at its path with its kustomize overrides."""
    source = spec["source"]
    overrides = dict(source.get("kustomize", {}))
    if "images" in overrides:
        overrides["images"] = argo_cd_images(overrides["images"])
    if "patches" in overrides:
        overrides["patches"] = [{"target": p["target"], "patch": p["patch"]} for p in overrides["patches"]]
    return build(repository / source["path"], repository, overrides)


_RENDERED: dict[tuple[Path, str], list[Application]] = {}


def applications(platform: SynthesizedPlatform, stage: str) -> list[Application]:
    """The stage's Applications (none without platform.gitops), rendered once per synthesis."""
    key = (platform.outdir, stage)
    if key not in _RENDERED:
        found = []
        for application_set in applied(platform, stage, "ApplicationSet"):
            spec = application_set["spec"]
            assert spec.get("goTemplate") is True, "the template is rendered as Go templates"
            (generator,) = spec["generators"]
            for element in generator["list"]["elements"]:
                template = expand(spec["template"], element)
                found.append(Application(template["metadata"]["name"], template["spec"], render(template["spec"])))
        _RENDERED[key] = found
    return list(_RENDERED[key])


def workload_objects(platform: SynthesizedPlatform, stage: str) -> list[tuple[str, dict[str, Any]]]:
    """(Application, object) for everything Argo CD deploys in the stage."""
    return [(app.name, obj) for app in applications(platform, stage) for obj in app.objects]
