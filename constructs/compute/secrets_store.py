"""Secrets to pods without Kubernetes Secrets in Git: the Secrets Store CSI driver and its AWS provider on every
node, and per tenant namespace a SecretProviderClass naming the Secrets Manager secrets its `workload` role may
read, fetched with the pod's own Pod Identity."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_eks_v2 as eks
from constructs import Construct, IDependable

from environments.schema.compute import ChartVersionsConfig

NAMESPACE = "kube-system"
WORKLOAD_SECRETS = "workload-secrets"
"""The SecretProviderClass a tenant's pods mount (the same name in every namespace that has one)."""
DRIVER = "secrets-store.csi.k8s.io"
EVERY_NODE = [{"operator": "Exists"}]
"""A pod can mount secrets only where both DaemonSets run: on every node, tainted system and GPU nodes too (the
driver's chart tolerates everything by default, the AWS provider's nothing)."""


def secrets_manager_object(name: str, alias: str, keys: Sequence[str] = ()) -> dict[str, Any]:
    """A Secrets Manager secret mounted as the file `alias`, and each of `keys` of its JSON as a file of that name."""
    found: dict[str, Any] = {"objectName": name, "objectType": "secretsmanager", "objectAlias": alias}
    if keys:
        found["jmesPath"] = [{"path": key, "objectAlias": key} for key in keys]
    return found


def ssm_parameter_object(name: str, alias: str) -> dict[str, Any]:
    """An SSM parameter mounted as the file `alias`."""
    return {"objectName": name, "objectType": "ssmparameter", "objectAlias": alias}


def secret_provider_class(
    name: str,
    namespace: str,
    *,
    region: str,
    objects: Sequence[Mapping[str, Any]],
    synced_secret: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A SecretProviderClass for the AWS provider: `objects` mounted as files, fetched with the mounting pod's Pod
    Identity; `synced_secret` also mirrors the files into a Kubernetes Secret while a pod mounts them."""
    spec: dict[str, Any] = {
        "provider": "aws",
        # JSON is YAML: the provider parses `objects` as a YAML list.
        "parameters": {"region": region, "usePodIdentity": "true", "objects": json.dumps(list(objects))},
    }
    if synced_secret is not None:
        spec["secretObjects"] = [synced_secret]
    return {
        "apiVersion": "secrets-store.csi.x-k8s.io/v1",
        "kind": "SecretProviderClass",
        "metadata": {"name": name, "namespace": namespace},
        "spec": spec,
    }


class SecretsStore(Construct):
    """`charts` (the driver and the AWS provider, after `nodes`; `provider` is what any SecretProviderClass waits
    for) and `classes`: the tenants' SecretProviderClasses, one per namespace in `secret_names` that names any
    (`objects` holds them; None when none does)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        cluster: eks.ICluster,
        charts: ChartVersionsConfig,
        nodes: IDependable,
        secret_names: Mapping[str, Sequence[str]],
    ) -> None:
        super().__init__(scope, construct_id)
        charts_by_release: dict[str, tuple[str, str, str, dict[str, Any]]] = {
            "secrets-store-csi-driver": (
                "Driver",
                "https://kubernetes-sigs.github.io/secrets-store-csi-driver/charts",
                charts.secrets_store_csi_driver,
                {
                    "linux": {"tolerations": EVERY_NODE},
                    # The provider asks Pod Identity for the mounting pod's credentials with this token audience.
                    "tokenRequests": [{"audience": "pods.eks.amazonaws.com"}],
                    # Mirrors into Kubernetes Secrets where a class asks (Argo CD's repository), kept current.
                    "syncSecret": {"enabled": True},
                    "enableSecretRotation": True,
                    "rotationPollInterval": "2m",
                },
            ),
            "secrets-store-csi-driver-provider-aws": (
                "AwsProvider",
                "https://aws.github.io/secrets-store-csi-driver-provider-aws",
                charts.secrets_store_csi_driver_provider_aws,
                {"secrets-store-csi-driver": {"install": False}, "tolerations": EVERY_NODE},
            ),
        }
        self.charts = {
            release: eks.HelmChart(
                self,
                chart_id,
                cluster=cluster,
                repository=repository,
                chart=release,
                release=release,
                version=version,
                namespace=NAMESPACE,
                wait=True,
                values=values,
            )
            for release, (chart_id, repository, version, values) in charts_by_release.items()
        }
        driver, provider = self.charts.values()
        driver.node.add_dependency(nodes)
        provider.node.add_dependency(driver)
        self.provider = provider  # after the driver, whose chart installs the CRDs

        region = cdk.Stack.of(self).region
        self.objects = [
            secret_provider_class(
                WORKLOAD_SECRETS,
                namespace,
                region=region,
                objects=[secrets_manager_object(name, name.rsplit("/", 1)[-1]) for name in names],
            )
            for namespace, names in secret_names.items()
            if names
        ]
        self.classes: eks.KubernetesManifest | None = None
        if self.objects:
            self.classes = eks.KubernetesManifest(self, "WorkloadSecrets", cluster=cluster, manifest=self.objects)
            self.classes.node.add_dependency(provider)
