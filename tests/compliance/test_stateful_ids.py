"""Stateful logical IDs are pinned: tests/pinned/<stage>.json lists, per stack, the logical ID and type of
every resource that holds data. CloudFormation replaces a resource whose logical ID changes, so a
refactor that renames or moves a construct would otherwise delete a database on the next deploy.

A pinned resource that disappears or changes type fails; so does a new stateful resource that is not
pinned yet. When the change is intended (a new store, or a replacement that has been planned with a
data migration), update the files on purpose:

    make pin-stateful-ids
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.stage_files import REPO_ROOT
from tests.support import STATEFUL_TYPES
from tests.synthesis import SynthesizedPlatform, read_template

PINNED = REPO_ROOT / "tests" / "pinned"
Pins = dict[str, dict[str, str]]


def stateful_ids(platform: SynthesizedPlatform, stage: str) -> Pins:
    """Stack name -> {logical ID: type} of every stateful resource of `stage`, as synthesized."""
    pins: Pins = {}
    for stack in platform.stacks(stage):
        resources = read_template(stack)["Resources"]
        pins[stack.stack_name] = {
            logical_id: resource["Type"]
            for logical_id, resource in sorted(resources.items())
            if resource["Type"] in STATEFUL_TYPES
        }
    return {name: ids for name, ids in sorted(pins.items()) if ids}


def pin_file(stage: str) -> Path:
    return PINNED / f"{stage}.json"


def pin_problems(pinned: Pins, current: Pins) -> list[str]:
    """What a deploy of `current` would do to the `pinned` stores, one line each (empty: nothing)."""
    problems = []
    for stack_name, ids in pinned.items():
        for logical_id, resource_type in ids.items():
            now = current.get(stack_name, {}).get(logical_id)
            if now is None:
                problems.append(f"{stack_name}/{logical_id} ({resource_type}) is gone: it would be deleted")
            elif now != resource_type:
                problems.append(f"{stack_name}/{logical_id} changed type {resource_type} -> {now}: replaced")
    for stack_name, ids in current.items():
        for logical_id, resource_type in ids.items():
            if logical_id not in pinned.get(stack_name, {}):
                problems.append(f"{stack_name}/{logical_id} ({resource_type}) is new and not pinned yet")
    return problems


def test_stateful_logical_ids_are_pinned(
    platform: SynthesizedPlatform, stage: str, request: pytest.FixtureRequest
) -> None:
    current = stateful_ids(platform, stage)
    path = pin_file(stage)
    if request.config.getoption("update_stateful_ids"):
        path.write_text(json.dumps(current, indent=2, sort_keys=True) + "\n")
    record = f"If this is intended, run `make pin-stateful-ids` and commit tests/pinned/{path.name}."
    assert path.is_file(), f"{stage} has no pinned stateful IDs yet. {record}"
    problems = pin_problems(json.loads(path.read_text()), current)
    assert problems == [], "\n".join(problems) + f"\n{record}"


@pytest.mark.parametrize("stage", ["prod"])
def test_renames_type_changes_and_new_stores_are_caught(examples: SynthesizedPlatform, stage: str) -> None:
    pinned = stateful_ids(examples, stage)
    data = pinned["prod-data"]
    cluster_id = next(i for i, t in data.items() if t == "AWS::RDS::DBCluster")
    bucket_id = next(i for i, t in data.items() if t == "AWS::S3::Bucket")
    renamed = {k: v for k, v in data.items() if k != cluster_id} | {"PostgresRenamed": "AWS::RDS::DBCluster"}
    retyped = renamed | {bucket_id: "AWS::S3Express::DirectoryBucket"}
    assert pin_problems(pinned, pinned) == []
    assert sorted(pin_problems(pinned, {**pinned, "prod-data": retyped})) == [
        f"prod-data/{bucket_id} changed type AWS::S3::Bucket -> AWS::S3Express::DirectoryBucket: replaced",
        f"prod-data/{cluster_id} (AWS::RDS::DBCluster) is gone: it would be deleted",
        "prod-data/PostgresRenamed (AWS::RDS::DBCluster) is new and not pinned yet",
    ]
