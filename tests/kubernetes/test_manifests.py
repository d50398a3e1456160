"""Every Kubernetes object the platform stack applies, validated against the Kubernetes 1.36 schema.

Built-in kinds are checked strictly (unknown fields fail) with kubernetes-validate. Custom resources
(Karpenter, the load balancer controller, the Secrets Store CSI driver, Argo CD) are not in that schema: their
API groups and kinds are pinned here, and their shape is asserted in tests/unit/.
"""

from __future__ import annotations

from typing import Any

import kubernetes_validate
import pytest

from tests.behaviour.templates import json_text
from tests.support import props
from tests.synthesis import SynthesizedPlatform

KUBERNETES_VERSION = "1.36.0"
CUSTOM_RESOURCES = {
    ("karpenter.k8s.aws/v1", "EC2NodeClass"),
    ("karpenter.sh/v1", "NodePool"),
    ("secrets-store.csi.x-k8s.io/v1", "SecretProviderClass"),
    ("elbv2.k8s.aws/v1beta1", "TargetGroupBinding"),
}
GITOPS_RESOURCES = {("argoproj.io/v1alpha1", "AppProject"), ("argoproj.io/v1alpha1", "ApplicationSet")}
"""Applied only where platform.gitops is set (their shape: tests/unit/test_gitops.py)."""
FARGATE_RESOURCES = {("vpcresources.k8s.aws/v1beta1", "SecurityGroupPolicy")}
"""Applied only where platform.fargate is set (EKS's VPC resource controller serves the CRD on every cluster;
their shape: tests/unit/test_platform.py)."""


def applied_objects(platform: SynthesizedPlatform, stage: str) -> list[dict[str, Any]]:
    """The objects of every KubernetesManifest in the stage's platform stack, resolved as CloudFormation
    will pass them (tokens become placeholder strings, which is enough for schema validation)."""
    stack = platform.stages[stage].platform
    objects: list[dict[str, Any]] = []
    for manifest in props(platform.template_json(stage, "platform"), "Custom::AWSCDK-EKS-KubernetesResource"):
        objects.extend(json_text(manifest["Manifest"]))
    assert objects, stack.node.path
    return objects


def test_every_applied_manifest_is_valid_kubernetes_1_36(platform: SynthesizedPlatform, stage: str) -> None:
    objects = applied_objects(platform, stage)
    kinds = {obj["kind"] for obj in objects}
    assert {"Namespace", "ResourceQuota", "LimitRange", "NetworkPolicy", "PriorityClass"} <= kinds
    assert "IngressClass" not in kinds  # the controller only registers pods (TargetGroupBinding)
    for obj in objects:
        if (obj["apiVersion"], obj["kind"]) in CUSTOM_RESOURCES | GITOPS_RESOURCES | FARGATE_RESOURCES:
            continue
        kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)


def test_validation_catches_a_bad_manifest() -> None:
    bad = {"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "x"}, "spec": {"hardd": {}}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(bad, KUBERNETES_VERSION, strict=True)


def test_the_custom_resources_skipped_above_are_all_applied(platform: SynthesizedPlatform, stage: str) -> None:
    applied = {(obj["apiVersion"], obj["kind"]) for obj in applied_objects(platform, stage)}
    config = platform.configs[stage].platform
    expected = (
        CUSTOM_RESOURCES
        | (GITOPS_RESOURCES if config.gitops else set())
        | (FARGATE_RESOURCES if config.fargate else set())
    )
    assert applied & (CUSTOM_RESOURCES | GITOPS_RESOURCES | FARGATE_RESOURCES) == expected
