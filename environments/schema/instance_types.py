"""The size of each EC2 instance type a stage may use: Karpenter's limits and the GPU capacity check multiply
node counts by it, so a type without a row is refused (add its row from the source below)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class InstanceSize:
    vcpus: int
    memory_gib: int
    gpus: int
    arch: Literal["amd64", "arm64"]


INSTANCE_TYPES: dict[str, InstanceSize] = {
    "t3.medium": InstanceSize(2, 4, 0, "amd64"),
    "t3a.medium": InstanceSize(2, 4, 0, "amd64"),
    "m6i.large": InstanceSize(2, 8, 0, "amd64"),
    "m6i.xlarge": InstanceSize(4, 16, 0, "amd64"),
    "m6g.large": InstanceSize(2, 8, 0, "arm64"),
    "r6i.2xlarge": InstanceSize(8, 64, 0, "amd64"),
    "g4dn.xlarge": InstanceSize(4, 16, 1, "amd64"),
    "g4dn.2xlarge": InstanceSize(8, 32, 1, "amd64"),
    "g5.xlarge": InstanceSize(4, 16, 1, "amd64"),
}
"""Instance type -> vCPUs, memory, NVIDIA GPUs and architecture, from the Amazon EC2 instance type
specifications (https://docs.aws.amazon.com/ec2/latest/instancetypes/gp.html for t3, t3a, m6i and m6g (AWS
Graviton2, arm64), mo.html for
r6i, ac.html for g4dn (NVIDIA T4) and g5 (NVIDIA A10G))."""
