"""tests/kustomize.py builds what `kustomize build` builds for its subset, and refuses everything else."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.kustomize import KustomizeError, argo_cd_images, build, merge, split_image

DEPLOYMENT: dict[str, Any] = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "web"},
    "spec": {
        "template": {
            "spec": {
                "containers": [
                    {"name": "app", "image": "web", "env": [{"name": "A", "value": "1"}]},
                    {"name": "sidecar", "image": "proxy:1.0"},
                ],
                "tolerations": [{"key": "a", "operator": "Exists"}],
            }
        }
    },
}


def _write(folder: Path, kustomization: dict[str, Any], **files: Any) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "kustomization.yaml").write_text(yaml.safe_dump(kustomization))
    for name, content in files.items():
        (folder / name).write_text(yaml.safe_dump_all(content if isinstance(content, list) else [content]))
    return folder


def _kustomization(**fields: Any) -> dict[str, Any]:
    return {"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization", **fields}


def _component(**fields: Any) -> dict[str, Any]:
    return {"apiVersion": "kustomize.config.k8s.io/v1alpha1", "kind": "Component", **fields}


def test_strategic_merge_merges_containers_env_and_mounts_by_key_and_replaces_other_lists() -> None:
    patch = {
        "spec": {
            "template": {
                "spec": {
                    "containers": [{"name": "app", "env": [{"name": "A", "value": "2"}, {"name": "B", "value": "3"}]}],
                    "tolerations": [{"key": "b", "operator": "Exists"}],
                }
            }
        }
    }
    merged = merge(DEPLOYMENT, patch)["spec"]["template"]["spec"]
    app, sidecar = merged["containers"]
    assert app == {"name": "app", "image": "web", "env": [{"name": "A", "value": "2"}, {"name": "B", "value": "3"}]}
    assert sidecar == {"name": "sidecar", "image": "proxy:1.0"}
    assert merged["tolerations"] == [{"key": "b", "operator": "Exists"}]
    assert DEPLOYMENT["spec"]["template"]["spec"]["tolerations"] == [{"key": "a", "operator": "Exists"}]  # a copy


def test_base_component_overlay_namespace_and_images_in_kustomizes_order(tmp_path: Path) -> None:
    _write(tmp_path / "base", _kustomization(resources=["web.yaml"]), **{"web.yaml": DEPLOYMENT})
    sizes = {"spec": {"replicas": 3}, "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "any"}}
    _write(tmp_path / "sizes", _component(patches=[{"target": {"kind": "Deployment"}, "patch": yaml.safe_dump(sizes)}]))
    overlay = _write(tmp_path / "overlay", _kustomization(resources=["../base"], components=["../sizes"]))
    overrides = {"namespace": "app", "images": argo_cd_images(["web=registry.example:5000/team/web:2.1"])}
    (deployment,) = build(overlay, tmp_path, overrides)
    assert deployment["spec"]["replicas"] == 3 and deployment["metadata"]["namespace"] == "app"
    images = [c["image"] for c in deployment["spec"]["template"]["spec"]["containers"]]
    assert images == ["registry.example:5000/team/web:2.1", "proxy:1.0"]


def test_image_references_split_at_the_tag_not_at_a_registry_port() -> None:
    assert split_image("registry.example:5000/web") == ("registry.example:5000/web", "")
    assert split_image("registry.example:5000/web:1.2") == ("registry.example:5000/web", "1.2")
    assert argo_cd_images(["web=web"]) == [{"name": "web", "newName": "web"}]


@pytest.mark.parametrize(
    ("kustomization", "files", "expected"),
    [
        (
            _kustomization(namePrefix="dev-", resources=["web.yaml"]),
            {"web.yaml": DEPLOYMENT},
            "namePrefix not supported",
        ),
        (_kustomization(resources=["../outside.yaml"]), {}, "is outside"),
        (
            _kustomization(
                resources=["web.yaml"], patches=[{"patch": yaml.safe_dump([{"op": "remove", "path": "/x"}])}]
            ),
            {"web.yaml": DEPLOYMENT},
            "only strategic-merge patches",
        ),
        (
            _kustomization(
                resources=["web.yaml"], patches=[{"patch": yaml.safe_dump({**DEPLOYMENT, "metadata": {"name": "api"}})}]
            ),
            {"web.yaml": DEPLOYMENT},
            "matches no object",
        ),
        (
            _kustomization(
                resources=["web.yaml"], patches=[{"target": {"labelSelector": "a=b"}, "patch": "kind: Deployment"}]
            ),
            {"web.yaml": DEPLOYMENT},
            "by kind and name only",
        ),
    ],
    ids=["namePrefix", "file outside the folder", "JSON 6902 patch", "patch of nothing", "label selector"],
)
def test_what_the_subset_leaves_out_is_an_error(
    tmp_path: Path, kustomization: dict[str, Any], files: dict[str, Any], expected: str
) -> None:
    (tmp_path / "outside.yaml").write_text(yaml.safe_dump(DEPLOYMENT))
    folder = _write(tmp_path / "overlay", kustomization, **files)
    with pytest.raises(KustomizeError, match=expected):
        build(folder, tmp_path)


def test_a_folder_outside_the_repository_is_refused(tmp_path: Path) -> None:
    _write(tmp_path / "elsewhere", _kustomization(resources=["web.yaml"]), **{"web.yaml": DEPLOYMENT})
    overlay = _write(tmp_path / "repository" / "overlay", _kustomization(resources=["../../elsewhere"]))
    with pytest.raises(KustomizeError, match="is outside"):
        build(overlay, tmp_path / "repository")
