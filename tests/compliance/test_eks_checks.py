"""Project checks cdk-nag lacks for aws_eks_v2 clusters and launch templates, over every template:
API endpoint private (or public only to listed CIDRs), every control-plane log type on, Kubernetes
secrets envelope-encrypted with KMS, and IMDSv2 required on every launch template."""

from __future__ import annotations

import json
from typing import Any

from tests.conftest import SynthesizedPlatform

LOG_TYPES = {"api", "audit", "authenticator", "controllerManager", "scheduler"}


def eks_findings(template: dict[str, Any]) -> list[str]:
    """One line per violation in `template` (empty when it complies)."""
    findings = []
    for logical_id, resource in template.get("Resources", {}).items():
        properties = resource.get("Properties", {})
        if resource["Type"] == "AWS::EKS::Cluster":
            vpc = properties.get("ResourcesVpcConfig", {})
            if vpc.get("EndpointPublicAccess", True):
                cidrs = vpc.get("PublicAccessCidrs", ["0.0.0.0/0"])
                if not cidrs or "0.0.0.0/0" in cidrs:
                    findings.append(f"{logical_id}: API endpoint open to the internet")
            enabled = {
                t["Type"] for t in properties.get("Logging", {}).get("ClusterLogging", {}).get("EnabledTypes", [])
            }
            if missing := LOG_TYPES - enabled:
                findings.append(f"{logical_id}: control-plane logs off: {', '.join(sorted(missing))}")
            encrypted = [c for c in properties.get("EncryptionConfig", []) if "secrets" in c.get("Resources", [])]
            if not encrypted:
                findings.append(f"{logical_id}: Kubernetes secrets not envelope-encrypted")
        if resource["Type"] == "AWS::EC2::LaunchTemplate":
            metadata = properties.get("LaunchTemplateData", {}).get("MetadataOptions", {})
            if metadata.get("HttpTokens") != "required":
                findings.append(f"{logical_id}: IMDSv2 not required")
    return findings


def test_every_cluster_and_launch_template_complies(platform: SynthesizedPlatform) -> None:
    findings = [
        f"{path.name}: {finding}"
        for path in platform.template_files()
        for finding in eks_findings(json.loads(path.read_text()))
    ]
    assert findings == []
    clusters = sum('"AWS::EKS::Cluster"' in path.read_text() for path in platform.template_files())
    assert clusters == len(platform.stages), "the checks looked at every stage's cluster"


def test_each_check_fires_on_a_bad_resource() -> None:
    bad = {
        "Resources": {
            "Open": {"Type": "AWS::EKS::Cluster", "Properties": {"ResourcesVpcConfig": {"EndpointPublicAccess": True}}},
            "Imdsv1": {"Type": "AWS::EC2::LaunchTemplate", "Properties": {"LaunchTemplateData": {}}},
        }
    }
    assert eks_findings(bad) == [
        "Open: API endpoint open to the internet",
        "Open: control-plane logs off: api, audit, authenticator, controllerManager, scheduler",
        "Open: Kubernetes secrets not envelope-encrypted",
        "Imdsv1: IMDSv2 not required",
    ]
    limited = {"ResourcesVpcConfig": {"EndpointPublicAccess": True, "PublicAccessCidrs": ["203.0.113.0/24"]}}
    assert "API endpoint" not in " ".join(
        eks_findings({"Resources": {"C": {"Type": "AWS::EKS::Cluster", "Properties": limited}}})
    )
