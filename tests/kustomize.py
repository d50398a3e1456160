"""`kustomize build` for the features workloads/ uses and the overrides Argo CD adds (workloads/README.md lists
them); anything else in a kustomization is an error, so the manifests stay within what this builds faithfully.

Supported: `resources` (files in the folder, and folders of other kustomizations inside the repository),
`components` (folders of kind Component, whose patches apply to the resources gathered so far), `patches`
(strategic-merge patches, from a file in the folder or inline, on the object the patch names or on every object
a `target` of kind and optional name selects), `namespace` and `images` (name, newName, newTag). Order, as
kustomize runs them: resources, components, patches, namespace, images. Strategic merge: maps merge, lists
replace, except the lists Kubernetes merges by key (containers and volumes by name, env by name, volumeMounts
by mountPath, ports by containerPort); no `$patch` directives and no nulls.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

KUSTOMIZATION = "kustomization.yaml"
KEYS = {
    "Kustomization": {"apiVersion", "kind", "resources", "components", "patches", "namespace", "images"},
    "Component": {"apiVersion", "kind", "patches"},
}
API_VERSIONS = {"Kustomization": "kustomize.config.k8s.io/v1beta1", "Component": "kustomize.config.k8s.io/v1alpha1"}
MERGE_KEYS = {
    "containers": "name",
    "initContainers": "name",
    "volumes": "name",
    "env": "name",
    "volumeMounts": "mountPath",
    "ports": "containerPort",
}
NAMESPACED = {"Deployment", "Service", "HorizontalPodAutoscaler", "PodDisruptionBudget"}
"""The kinds the namespace transformer is trusted with here (all namespaced, none with namespaced references)."""
POD_TEMPLATE_KINDS = {"Deployment"}


class KustomizeError(Exception):
    """A kustomization outside the supported subset, or one kustomize itself would reject."""


def build(folder: Path, root: Path, overrides: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
    """The objects `kustomize build folder` prints; `overrides` (namespace, images, patches) are added to the
    folder's kustomization first, as Argo CD's `source.kustomize` does. `root` bounds every folder referenced."""
    kustomization = _load(folder, "Kustomization")
    for key, value in (overrides or {}).items():
        if key not in ("namespace", "images", "patches"):
            raise KustomizeError(f"{folder}: override {key!r} is not supported")
        kustomization[key] = value if key == "namespace" else [*kustomization.get(key, []), *value]
    objects: list[dict[str, Any]] = []
    for resource in kustomization.get("resources", []):
        path = (folder / resource).resolve()
        if path.is_dir():
            objects += build(_within(path, root, folder), root)
        else:
            objects += _documents(_within(path, folder.resolve(), folder))
    for component in kustomization.get("components", []):
        path = _within((folder / component).resolve(), root, folder)
        objects = _patched(objects, _load(path, "Component").get("patches", []), path)
    objects = _patched(objects, kustomization.get("patches", []), folder)
    if "namespace" in kustomization:
        for obj in objects:
            if obj["kind"] not in NAMESPACED:
                raise KustomizeError(f"{folder}: the namespace of a {obj['kind']} is not supported")
            obj["metadata"]["namespace"] = kustomization["namespace"]
    for image in kustomization.get("images", []):
        _set_image(objects, image, folder)
    return objects


def _load(folder: Path, kind: str) -> dict[str, Any]:
    path = folder / KUSTOMIZATION
    if not path.is_file():
        raise KustomizeError(f"{folder}: no {KUSTOMIZATION}")
    data: dict[str, Any] = yaml.safe_load(path.read_text()) or {}
    if data.get("kind", "Kustomization") != kind or data.get("apiVersion") != API_VERSIONS[kind]:
        raise KustomizeError(f"{path}: expected a {kind} ({API_VERSIONS[kind]})")
    unknown = set(data) - KEYS[kind]
    if unknown:
        raise KustomizeError(f"{path}: {', '.join(sorted(unknown))} not supported")
    return data


def _within(path: Path, bound: Path, folder: Path) -> Path:
    """`path`, if it lies inside `bound` (kustomize's default load restriction for files; the repository for
    folders, which is all Argo CD can read)."""
    if not path.is_relative_to(bound.resolve()):
        raise KustomizeError(f"{folder}: {path} is outside {bound}")
    return path


def _documents(path: Path) -> list[dict[str, Any]]:
    return [document for document in yaml.safe_load_all(path.read_text()) if document is not None]


def _patched(objects: list[dict[str, Any]], patches: Sequence[Mapping[str, Any]], folder: Path) -> list[dict[str, Any]]:
    for entry in patches:
        if set(entry) - {"path", "patch", "target"} or ("path" in entry) == ("patch" in entry):
            raise KustomizeError(f"{folder}: a patch needs exactly one of path and patch (and an optional target)")
        text = (
            _within((folder / entry["path"]).resolve(), folder.resolve(), folder).read_text()
            if "path" in entry
            else entry["patch"]
        )
        patch = yaml.safe_load(text)
        if not isinstance(patch, dict) or "kind" not in patch:
            raise KustomizeError(f"{folder}: only strategic-merge patches are supported")
        target = entry.get("target") or {"kind": patch["kind"], "name": patch["metadata"]["name"]}
        if set(target) - {"kind", "name"}:
            raise KustomizeError(f"{folder}: a target selects by kind and name only")
        selected = [
            index
            for index, obj in enumerate(objects)
            if obj["kind"] == target["kind"] and target.get("name") in (None, obj["metadata"]["name"])
        ]
        if not selected:
            raise KustomizeError(f"{folder}: the patch for {target} matches no object")
        body = {
            **patch,
            "metadata": {k: v for k, v in patch.get("metadata", {}).items() if k not in ("name", "namespace")},
        }
        for index in selected:
            objects[index] = merge(objects[index], body)
    return objects


def merge(original: Any, patch: Any, field: str = "") -> Any:
    """A strategic merge of `patch` into `original` (a copy)."""
    if patch is None or (isinstance(patch, dict) and "$patch" in patch):
        raise KustomizeError(f"{field}: nulls and $patch directives are not supported")
    if isinstance(original, dict) and isinstance(patch, dict):
        merged = copy.deepcopy(original)
        for key, value in patch.items():
            merged[key] = merge(original[key], value, key) if key in original else copy.deepcopy(value)
        return merged
    key = MERGE_KEYS.get(field)
    if key and isinstance(original, list) and isinstance(patch, list):
        merged_list = copy.deepcopy(original)
        for item in patch:
            match = next((i for i, existing in enumerate(merged_list) if existing.get(key) == item.get(key)), None)
            if match is None:
                merged_list.append(copy.deepcopy(item))
            else:
                merged_list[match] = merge(merged_list[match], item, field)
        return merged_list
    return copy.deepcopy(patch)


def _set_image(objects: list[dict[str, Any]], image: Mapping[str, Any], folder: Path) -> None:
    if set(image) - {"name", "newName", "newTag"}:
        raise KustomizeError(f"{folder}: an image sets newName and newTag only")
    name = image["name"]
    for obj in objects:
        if obj["kind"] not in POD_TEMPLATE_KINDS:
            continue
        for container in obj["spec"]["template"]["spec"]["containers"]:
            repository, tag = split_image(container["image"])
            if repository == name:
                new_tag = image.get("newTag", tag)
                container["image"] = image.get("newName", name) + (f":{new_tag}" if new_tag else "")


def split_image(image: str) -> tuple[str, str]:
    """(repository, tag) of an image reference; the tag is "" when it has none (a port is not a tag)."""
    repository, _, tag = image.rpartition(":")
    return (repository, tag) if repository and "/" not in tag else (image, "")


def argo_cd_images(images: Sequence[str]) -> list[dict[str, str]]:
    """Argo CD's `kustomize.images` (`name=newName:newTag`, as `kustomize edit set image` takes them) as entries of
    a kustomization's `images`."""
    entries = []
    for text in images:
        name, _, new = text.partition("=")
        repository, tag = split_image(new)
        entries.append({"name": name, "newName": repository, **({"newTag": tag} if tag else {})})
    return entries
