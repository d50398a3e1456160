"""A normalised JSON snapshot of every stack of every stage, to catch drift the assertions do not name.

Update on purpose with `make test PYTEST_ARGS=--snapshot-update` and review the diff like code.
"""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest
from syrupy.assertion import SnapshotAssertion
from syrupy.extensions.json import JSONSnapshotExtension

from tests.conftest import SynthesizedPlatform
from tests.support import STAGES

STACKS = ("network", "data")
ASSET_HASH = re.compile(r"[0-9a-f]{64}")


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


@pytest.fixture
def json_snapshot(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    return snapshot.use_extension(JSONSnapshotExtension)


@pytest.mark.parametrize("stack_id", STACKS)
@pytest.mark.parametrize("stage", STAGES)
def test_template_snapshot(
    platform: SynthesizedPlatform, json_snapshot: SnapshotAssertion, stage: str, stack_id: str
) -> None:
    assert normalise(platform.template_json(stage, stack_id)) == json_snapshot


def test_normalise_removes_volatile_parts() -> None:
    template = {
        "Resources": {
            "CDKMetadata": {"Type": "AWS::CDK::Metadata", "Properties": {"Analytics": "v2:deflate64:abc"}},
            "Fn": {
                "Type": "AWS::Lambda::Function",
                "Properties": {"Code": {"S3Key": f"{'a' * 64}.zip"}},
                "Metadata": {"aws:cdk:path": "dev/network/Fn/Resource", "cfn-lint": {"config": {}}},
            },
        },
        "Conditions": {"CDKMetadataAvailable": {}},
    }
    assert normalise(template) == {
        "Resources": {
            "Fn": {
                "Type": "AWS::Lambda::Function",
                "Properties": {"Code": {"S3Key": "<asset-hash>.zip"}},
                "Metadata": {"cfn-lint": {"config": {}}},
            }
        }
    }
