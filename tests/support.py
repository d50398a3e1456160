"""Small helpers shared by the test modules."""

from __future__ import annotations

import copy
import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

from aws_cdk import CfnElement, Stack
from constructs import IConstruct
from constructs.compute.fargate_jobs import FargateJobs

from stacks.platform import PlatformComputeStack

LAMBDAS = Path(__file__).resolve().parent.parent / "lambdas"
ASSET_HASH = re.compile(r"[0-9a-f]{64}")
STATEFUL_TYPES = frozenset({
    "AWS::RDS::DBCluster", "AWS::RDS::DBInstance", "AWS::RDS::GlobalCluster", "AWS::DynamoDB::GlobalTable",
    "AWS::DynamoDB::Table", "AWS::S3::Bucket", "AWS::EFS::FileSystem", "AWS::KMS::Key",
    "AWS::ElastiCache::ReplicationGroup", "AWS::Kinesis::Stream", "AWS::MSK::Cluster", "AWS::MSK::ServerlessCluster",
    "AWS::OpenSearchService::Domain", "AWS::Backup::BackupVault", "AWS::SecretsManager::Secret",
    "AWS::ECR::Repository", "AWS::Logs::LogGroup", "AWS::KinesisAnalyticsV2::Application", "AWS::Neptune::DBCluster",
    "AWS::Timestream::InfluxDBInstance", "AWS::DAX::Cluster",
})  # fmt: skip
"""Resources that hold data (databases, tables, buckets, file systems, keys, caches, streams, Kafka,
search, backup vaults, secrets, image repositories, logs, a Flink application's snapshots, the graph, time series
and DAX): a replacement or
deletion loses it."""


def resources(template: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    """Logical id -> resource, for every resource of `resource_type`."""
    return {key: value for key, value in template["Resources"].items() if value["Type"] == resource_type}


def props(template: dict[str, Any], resource_type: str) -> list[dict[str, Any]]:
    """The Properties of every resource of `resource_type`."""
    return [value.get("Properties", {}) for value in resources(template, resource_type).values()]


def ref_id(value: Any) -> str:
    """The logical id a {"Ref": ...} or {"Fn::GetAtt": [...]} points at."""
    if "Ref" in value:
        return str(value["Ref"])
    return str(value["Fn::GetAtt"][0])


def logical_id(construct: IConstruct) -> str:
    """The logical id of a construct's CloudFormation resource: itself, or its default child's (followed
    down, as in a Helm chart whose default child is a custom resource)."""
    element: IConstruct | None = construct
    while element is not None and not isinstance(element, CfnElement):
        element = element.node.default_child
    assert isinstance(element, CfnElement), construct.node.path
    return Stack.of(construct).get_logical_id(element)


def normalise(template: dict[str, Any]) -> Any:
    """Drop what changes between CDK versions and machines: CDK metadata, construct paths, asset hashes."""
    cleaned = copy.deepcopy(template)
    resources = cleaned.get("Resources", {})
    for logical_id in [key for key, resource in resources.items() if resource["Type"] == "AWS::CDK::Metadata"]:
        del resources[logical_id]
    for resource in resources.values():
        metadata = resource.get("Metadata", {})
        metadata.pop("aws:cdk:path", None)
        if not metadata:
            resource.pop("Metadata", None)
    conditions = cleaned.get("Conditions", {})
    conditions.pop("CDKMetadataAvailable", None)
    if not conditions:
        cleaned.pop("Conditions", None)
    return _replace_hashes(cleaned)


def _replace_hashes(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _replace_hashes(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_replace_hashes(item) for item in value]
    if isinstance(value, str):
        return ASSET_HASH.sub("<asset-hash>", value)
    return value


def output_of(value: Any) -> str:
    """The output name behind a weak cross-stack reference ({"Fn::GetStackOutput": ...}), else ""."""
    output = value.get("Fn::GetStackOutput", {}) if isinstance(value, dict) else {}
    return str(output.get("OutputName", ""))


def load_handler(function: str) -> ModuleType:
    """A fresh copy of lambdas/<function>/handler.py (fresh, so a test may replace its AWS clients), with its
    folder on sys.path as Lambda puts the asset's root there, so the modules beside it import."""
    folder = str(LAMBDAS / function)
    if folder not in sys.path:
        sys.path.append(folder)
    spec = importlib.util.spec_from_file_location(f"{function}_handler", LAMBDAS / function / "handler.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def jobs_of(platform: PlatformComputeStack) -> FargateJobs:
    """The ECS jobs of a platform stack that runs them (the primary region's)."""
    assert platform.jobs is not None, "this platform stack runs no ECS jobs"
    return platform.jobs
