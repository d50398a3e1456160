"""A normalised JSON snapshot of every stack of every example stage (tests/fixtures/environments), to
catch drift the assertions do not name. They follow the code, not the user's stage files.

Update on purpose with `make snapshots` and review the diff like code.
"""

from __future__ import annotations

import pytest
from syrupy.assertion import SnapshotAssertion
from syrupy.extensions.json import JSONSnapshotExtension

from tests.support import normalise
from tests.synthesis import SynthesizedPlatform, read_template

STACKS = ("network", "data", "platform", "analytics", "ai", "observability")


@pytest.fixture
def json_snapshot(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    return snapshot.use_extension(JSONSnapshotExtension)


@pytest.mark.parametrize("stack_id", STACKS)
def test_template_snapshot(
    examples: SynthesizedPlatform, json_snapshot: SnapshotAssertion, stage: str, stack_id: str
) -> None:
    assert normalise(examples.template_json(stage, stack_id)) == json_snapshot


PROD_ONLY = (
    "edge",
    "cross-region",
    *(f"{stack}-{region}" for region in ("eu-west-1", "ap-southeast-1") for stack in ("network", "data", "database")),
    *(
        f"{stack}-{pair}"
        for pair in ("us-east-1-eu-west-1", "us-east-1-ap-southeast-1", "eu-west-1-ap-southeast-1")
        for stack in ("peering", "peering-accept", "peering-routes")
    ),
)
"""The stacks of prod's secondary regions (seed 000), the peering of every pair of regions, and what spans them."""


@pytest.mark.parametrize("stack_id", PROD_ONLY)
def test_prod_only_stack_snapshot(
    examples: SynthesizedPlatform, json_snapshot: SnapshotAssertion, stack_id: str
) -> None:
    assert normalise(examples.template_json("prod", stack_id)) == json_snapshot


def test_pipeline_snapshot(examples: SynthesizedPlatform, json_snapshot: SnapshotAssertion) -> None:
    assert examples.pipeline is not None
    assert normalise(read_template(examples.pipeline)) == json_snapshot


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
