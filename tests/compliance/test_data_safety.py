"""Nothing loses data: in prod every stateful resource of every stack is retained or snapshotted."""

from __future__ import annotations

import json

from tests.conftest import SynthesizedPlatform

STATEFUL_TYPES = {
    "AWS::KMS::Key", "AWS::RDS::DBCluster", "AWS::RDS::DBInstance", "AWS::ElastiCache::ReplicationGroup",
    "AWS::DynamoDB::GlobalTable", "AWS::DynamoDB::Table", "AWS::S3::Bucket", "AWS::EFS::FileSystem",
    "AWS::SecretsManager::Secret", "AWS::Backup::BackupVault", "AWS::Logs::LogGroup", "AWS::Kinesis::Stream",
    "AWS::MSK::Cluster", "AWS::MSK::ServerlessCluster", "AWS::OpenSearchService::Domain", "AWS::ECR::Repository",
}  # fmt: skip


def test_prod_retains_or_snapshots_every_stateful_resource(platform: SynthesizedPlatform) -> None:
    stage = platform.stages["prod"]
    unsafe = []
    for stack in stage.node.children:
        if not hasattr(stack, "template_file"):
            continue
        template = json.loads((platform.outdir / "assembly-prod" / stack.template_file).read_text())
        for logical_id, resource in template["Resources"].items():
            if resource["Type"] not in STATEFUL_TYPES:
                continue
            # Aurora's instances hold no data of their own: the cluster (snapshotted) does.
            if resource["Type"] == "AWS::RDS::DBInstance" and "DBClusterIdentifier" in resource["Properties"]:
                continue
            if resource.get("DeletionPolicy") not in ("Retain", "Snapshot"):
                unsafe.append(f"{stack.node.id}/{logical_id} ({resource['Type']})")
            assert resource.get("UpdateReplacePolicy") == resource.get("DeletionPolicy"), logical_id
    assert unsafe == []
