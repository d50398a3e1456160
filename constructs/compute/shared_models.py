"""The shared-models EFS (seed 002) as a volume GPU pods can mount read-only: an EFS CSI StorageClass, and per GPU
namespace a PersistentVolume on the models access point bound to a claim `shared-models` (static provisioning)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aws_cdk import aws_eks_v2 as eks
from constructs import Construct

CLAIM = "shared-models"
"""The PersistentVolumeClaim GPU pods mount, in every GPU namespace."""
STORAGE_CLASS = "shared-models"
EFS_DRIVER = "efs.csi.aws.com"
MOUNT_OPTIONS = ["tls", "iam"]
"""Access points need TLS; `iam` because the file system's policy admits only IAM-authenticated clients (the EFS
CSI node plugin mounts with the node's identity, which that policy admits through a mount target)."""


def shared_models_objects(file_system_id: str, access_point_id: str, namespaces: Sequence[str]) -> list[dict[str, Any]]:
    """The StorageClass, then a read-only PersistentVolume (`<fs-id>::<fsap-id>`) and its claim per namespace."""
    objects: list[dict[str, Any]] = [
        {
            "apiVersion": "storage.k8s.io/v1",
            "kind": "StorageClass",
            "metadata": {"name": STORAGE_CLASS},
            "provisioner": EFS_DRIVER,
            "reclaimPolicy": "Retain",
            "volumeBindingMode": "Immediate",
        }
    ]
    for namespace in namespaces:
        volume = f"{CLAIM}-{namespace}"
        objects += [
            {
                "apiVersion": "v1",
                "kind": "PersistentVolume",
                "metadata": {"name": volume},
                "spec": {
                    # EFS is elastic; Kubernetes requires a capacity and ignores it for CSI volumes.
                    "capacity": {"storage": "1Ti"},
                    "accessModes": ["ReadOnlyMany"],
                    "persistentVolumeReclaimPolicy": "Retain",
                    "storageClassName": STORAGE_CLASS,
                    "mountOptions": MOUNT_OPTIONS,
                    "claimRef": {"namespace": namespace, "name": CLAIM},
                    "csi": {
                        "driver": EFS_DRIVER,
                        "volumeHandle": f"{file_system_id}::{access_point_id}",
                        "readOnly": True,
                    },
                },
            },
            {
                "apiVersion": "v1",
                "kind": "PersistentVolumeClaim",
                "metadata": {"name": CLAIM, "namespace": namespace},
                "spec": {
                    "accessModes": ["ReadOnlyMany"],
                    "storageClassName": STORAGE_CLASS,
                    "volumeName": volume,
                    "resources": {"requests": {"storage": "1Ti"}},
                },
            },
        ]
    return objects


class SharedModelsVolume(Construct):
    """`objects` applied as `manifest`, which needs the namespaces (the stack adds that dependency)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        cluster: eks.ICluster,
        file_system_id: str,
        access_point_id: str,
        namespaces: Sequence[str],
    ) -> None:
        super().__init__(scope, construct_id)
        self.objects = shared_models_objects(file_system_id, access_point_id, namespaces)
        self.manifest = eks.KubernetesManifest(self, "Volumes", cluster=cluster, manifest=self.objects)
