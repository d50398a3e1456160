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


def secret_provider_class(
    name: str,
    namespace: str,
    *,
    region: str,
    secrets: Mapping[str, str],
    ssm_parameters: Mapping[str, str] | None = None,
    synced_secret: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A SecretProviderClass for the AWS provider: each Secrets Manager secret and SSM parameter (file name ->
    its name) mounted as a file, fetched with the mounting pod's Pod Identity; `synced_secret` also mirrors the
    files into a Kubernetes Secret while a pod mounts them."""
    objects = [
        {"objectName": name, "objectType": kind, "objectAlias": alias}
        for kind, names in (("secretsmanager", secrets), ("ssmparameter", ssm_parameters or {}))
        for alias, name in names.items()
    ]
    spec: dict[str, Any] = {
        "provider": "aws",
        # JSON is YAML: the provider parses `objects` as a YAML list.
        "parameters": {"region": region, "usePodIdentity": "true", "objects": json.dumps(objects)},
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
    """`charts` (the driver and the AWS provider, after `nodes`) and `classes`: the tenants' SecretProviderClasses,
    one per namespace in `secret_names` that names any (`objects` holds them; None when none does)."""

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
        driver = eks.HelmChart(
            self,
            "Driver",
            cluster=cluster,
            repository="https://kubernetes-sigs.github.io/secrets-store-csi-driver/charts",
            chart="secrets-store-csi-driver",
            release="secrets-store-csi-driver",
            version=charts.secrets_store_csi_driver,
            namespace=NAMESPACE,
            wait=True,
            values={
                "linux": {"tolerations": EVERY_NODE},
                # The provider asks Pod Identity for the mounting pod's credentials with a token of this audience.
                "tokenRequests": [{"audience": "pods.eks.amazonaws.com"}],
                # Mirrors into Kubernetes Secrets where a class asks (Argo CD's repository), kept current.
                "syncSecret": {"enabled": True},
                "enableSecretRotation": True,
                "rotationPollInterval": "2m",
            },
        )
        provider = eks.HelmChart(
            self,
            "AwsProvider",
            cluster=cluster,
            repository="https://aws.github.io/secrets-store-csi-driver-provider-aws",
            chart="secrets-store-csi-driver-provider-aws",
            release="secrets-store-csi-driver-provider-aws",
            version=charts.secrets_store_csi_driver_provider_aws,
            namespace=NAMESPACE,
            wait=True,
            values={"secrets-store-csi-driver": {"install": False}, "tolerations": EVERY_NODE},
        )
        driver.node.add_dependency(nodes)
        provider.node.add_dependency(driver)
        self.charts = {"secrets-store-csi-driver": driver, "secrets-store-csi-driver-provider-aws": provider}

        region = cdk.Stack.of(self).region
        self.objects = [
            secret_provider_class(
                WORKLOAD_SECRETS,
                namespace,
                region=region,
                secrets={name.rsplit("/", 1)[-1]: name for name in names},
            )
            for namespace, names in secret_names.items()
            if names
        ]
        self.classes: eks.KubernetesManifest | None = None
        if self.objects:
            self.classes = eks.KubernetesManifest(self, "WorkloadSecrets", cluster=cluster, manifest=self.objects)
            self.classes.node.add_dependency(provider)  # and so the driver, whose chart installs the CRD
