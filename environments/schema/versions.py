"""Which chart and add-on versions run on which Kubernetes versions, each row from the project's own statement.

The loader rejects a pin outside its row (`version_problem`, called from environments/schema/compute.py), and
tests/behaviour/test_versions.py holds the synthesized templates to the same table. A version without a row
is refused too: adding one means reading the project's compatibility statement and citing it here.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Supported:
    """Versions starting with `versions` run on Kubernetes `kubernetes_min` to `kubernetes_max` (None: the
    project states no upper bound), according to `source`."""

    versions: str
    kubernetes_min: str
    kubernetes_max: str | None
    source: str


_KARPENTER_MATRIX = (
    "aws/karpenter-provider-aws@1d927085dd81a9df9301e613f371dac5b4d16bfe "
    "hack/docs/compatibilitymatrix_gen/compatibility.yaml (website/content/en/docs/upgrading/compatibility.md)"
)
_LBC_INSTALL = (
    "kubernetes-sigs/aws-load-balancer-controller@v2.17.1 docs/deploy/installation.md: "
    "'v2.5.0+ requires Kubernetes 1.22+' (chart 1.17.x is controller v2.17.x; the vendored IAM policy is v2.17.1's)"
)
_METRICS_SERVER = (
    "kubernetes-sigs/metrics-server@842dcc8c42f22cc19f10c7d5f2d32a9f4b6013b0 README.md compatibility matrix: "
    "metrics-server 0.8.x needs Kubernetes 1.31+ (chart 3.13.x is app 0.8.x, charts/metrics-server/Chart.yaml)"
)
_DEVICE_PLUGIN = "NVIDIA/k8s-device-plugin deployments/helm/nvidia-device-plugin/Chart.yaml kubeVersion '>= 1.10.0-0'"
_EKS_COREDNS = (
    "EKS user guide, managing-coredns (https://docs.aws.amazon.com/eks/latest/userguide/managing-coredns.html; "
    "the 1.36 row is in the ja_jp edition): v1.14.x for Kubernetes 1.35 and 1.36"
)
_EKS_KUBE_PROXY = (
    "EKS user guide, managing-kube-proxy (https://docs.aws.amazon.com/eks/latest/userguide/managing-kube-proxy.html; "
    "the 1.36 row is in the ja_jp edition): kube-proxy v1.36.x for Kubernetes 1.36"
)

_SECRETS_STORE = (
    "kubernetes-sigs/secrets-store-csi-driver@4960f9637c51ad9cb9ef264481bc6d9a98bf1f1c (v1.6.0) "
    "charts/secrets-store-csi-driver/Chart.yaml kubeVersion '>=1.30.0-0'; the project supports every minor "
    "upstream Kubernetes supports (its e2e matrix at v1.6.0 stops at 1.35.1)"
)
_SECRETS_STORE_AWS = (
    "aws/secrets-store-csi-driver-provider-aws@5f47771b charts/secrets-store-csi-driver-provider-aws/Chart.yaml "
    "kubeVersion '>=1.17.0-0' (chart 3.1.1)"
)
_ARGO_CD = (
    "argoproj/argo-cd@v3.5.1 docs/operator-manual/tested-kubernetes-versions.md: Argo CD 3.5 is tested on "
    "Kubernetes 1.33-1.36; argo-helm release argo-cd-10.3.3 ships Argo CD v3.5.1"
)

_KUBE_STATE_METRICS = (
    "kubernetes/kube-state-metrics@4ffeda2ef866b0fef372849825a803296483b336 (v2.20.0) README.md compatibility "
    "matrix: v2.20.0 is built on client-go v1.36; prometheus-community/helm-charts@1982f1c5 "
    "charts/kube-state-metrics/Chart.yaml: chart 8.4.0 is app 2.20.0"
)
_NODE_EXPORTER = (
    "prometheus-community/helm-charts@8b8e639cac80a3001412f187060068978f649a55 "
    "charts/prometheus-node-exporter/Chart.yaml (chart 4.56.1, node exporter 1.12.1) states no Kubernetes version: "
    "it reads the host's /proc and /sys, not the Kubernetes API"
)
_DCGM_EXPORTER = (
    "NVIDIA/dcgm-exporter@691c92762eb551313c825f6efe4ceeee20982801 (4.5.3-4.8.2) deployment/Chart.yaml "
    "kubeVersion '>= 1.19.0-0' (chart 4.8.2)"
)

CHARTS: dict[str, tuple[Supported, ...]] = {
    "karpenter": (
        Supported("1.8.", "1.26", "1.34", _KARPENTER_MATRIX),
        Supported("1.9.", "1.26", "1.35", _KARPENTER_MATRIX),
        Supported("1.10.", "1.26", "1.35", _KARPENTER_MATRIX),
        Supported("1.11.", "1.26", "1.35", _KARPENTER_MATRIX),
        Supported("1.12.", "1.26", "1.35", _KARPENTER_MATRIX),
        Supported("1.13.", "1.26", "1.36", _KARPENTER_MATRIX),
        Supported("1.14.", "1.26", "1.36", _KARPENTER_MATRIX),
    ),
    "aws-load-balancer-controller": (Supported("1.17.", "1.22", None, _LBC_INSTALL),),
    "metrics-server": (Supported("3.13.", "1.31", None, _METRICS_SERVER),),
    "nvidia-device-plugin": (
        Supported("0.17.", "1.10", None, _DEVICE_PLUGIN + " (v0.17.4)"),
        Supported("0.20.", "1.10", None, _DEVICE_PLUGIN + " (v0.20.0)"),
    ),
    "secrets-store-csi-driver": (Supported("1.6.", "1.30", None, _SECRETS_STORE),),
    "secrets-store-csi-driver-provider-aws": (Supported("3.1.", "1.17", None, _SECRETS_STORE_AWS),),
    "argo-cd": (Supported("10.3.", "1.33", "1.36", _ARGO_CD),),
    "kube-state-metrics": (Supported("8.4.", "1.36", "1.36", _KUBE_STATE_METRICS),),
    "prometheus-node-exporter": (Supported("4.56.", "1.0", None, _NODE_EXPORTER),),
    "dcgm-exporter": (Supported("4.8.", "1.19", None, _DCGM_EXPORTER),),
}
"""Helm chart -> the chart versions this platform has checked, with the Kubernetes versions they support.
karpenter-crd is released with karpenter and always pinned to the same version."""

ADDONS: dict[str, tuple[Supported, ...]] = {
    "coredns": (Supported("v1.14.", "1.35", "1.36", _EKS_COREDNS),),
    "kube-proxy": (Supported("v1.36.", "1.36", "1.36", _EKS_KUBE_PROXY),),
}
"""EKS add-on -> the versions that may be pinned. An add-on left unpinned gets the version EKS marks as the
default for the cluster's Kubernetes version (CreateAddon's addonVersion, `aws eks describe-addon-versions`
`defaultVersion`), compatible by definition; the other add-ons publish no per-version table to pin against."""


def _minor(version: str) -> tuple[int, int]:
    major, minor = version.split(".")[:2]
    return int(major), int(minor)


def version_problem(
    table: dict[str, tuple[Supported, ...]], component: str, version: str, kubernetes: str
) -> str | None:
    """Why `component` at `version` cannot run on Kubernetes `kubernetes`, or None when its row allows it."""
    rows = table.get(component, ())
    row = next((r for r in rows if version.startswith(r.versions)), None)
    if row is None:
        known = ", ".join(f"{r.versions}x" for r in rows) or "none"
        return f"{component} {version} has no row in environments/schema/versions.py (checked versions: {known})"
    too_old = _minor(kubernetes) < _minor(row.kubernetes_min)
    too_new = row.kubernetes_max is not None and _minor(kubernetes) > _minor(row.kubernetes_max)
    if too_old or too_new:
        supported = f"{row.kubernetes_min}-{row.kubernetes_max}" if row.kubernetes_max else f"{row.kubernetes_min}+"
        return f"{component} {version} supports Kubernetes {supported}, not {kubernetes} ({row.source})"
    return None
