"""What the recovery model assumes of the templates: a stage with an RPO target replicates its buckets with
S3 Replication Time Control (the only S3 replication with a time bound), and a stage without one does not
pay for it."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from environments.schema.stage import StageConfig
from tests.synthesis import SynthesizedPlatform
from tools.assembly import CloudAssembly

Template = dict[str, Any]


def replication_time_problems(templates: dict[str, Template], config: StageConfig) -> list[str]:
    """Every S3 replication rule whose Replication Time Control (and its metrics) is not what the stage's
    `recovery.rpo_minutes` calls for: on, 15 minutes, with a target; off without one."""
    wanted = config.recovery.rpo_minutes is not None
    problems = []
    for stack, template in templates.items():
        for logical_id, body in template.get("Resources", {}).items():
            if body["Type"] != "AWS::S3::Bucket":
                continue
            rules = body.get("Properties", {}).get("ReplicationConfiguration", {}).get("Rules", [])
            for rule in rules:
                destination = rule["Destination"]
                time = destination.get("ReplicationTime", {})
                metrics = destination.get("Metrics", {})
                on = time.get("Status") == "Enabled" and time.get("Time") == {"Minutes": 15}
                measured = metrics.get("Status") == "Enabled"
                if wanted and not (on and measured):
                    problems.append(f"{stack}/{logical_id}: replicates without a 15-minute RTC and its metrics")
                if not wanted and (time or metrics):
                    problems.append(f"{stack}/{logical_id}: pays for RTC with no recovery.rpo_minutes")
    return problems


def _templates(platform: SynthesizedPlatform, stage: str) -> dict[str, Template]:
    return {s.name: s.template for s in CloudAssembly.read(platform.outdir).stage(stage).stacks}


def test_replication_time_control_follows_the_rpo_target(platform: SynthesizedPlatform, stage: str) -> None:
    assert replication_time_problems(_templates(platform, stage), platform.configs[stage]) == []


@pytest.mark.parametrize("stage", ["prod"])
def test_prod_replicates_every_marked_bucket_with_rtc(examples: SynthesizedPlatform, stage: str) -> None:
    templates = _templates(examples, stage)
    rules = [
        rule
        for template in templates.values()
        for body in template["Resources"].values()
        if body["Type"] == "AWS::S3::Bucket"
        for rule in body.get("Properties", {}).get("ReplicationConfiguration", {}).get("Rules", [])
    ]
    config = examples.configs[stage]
    assert len(rules) == len(config.recovery.replicate_buckets) * len(config.secondaries)
    assert all(rule["Destination"]["ReplicationTime"]["Status"] == "Enabled" for rule in rules)


@pytest.mark.parametrize("stage", ["prod"])
def test_a_rule_without_rtc_or_with_it_unasked_is_reported(examples: SynthesizedPlatform, stage: str) -> None:
    templates = copy.deepcopy(_templates(examples, stage))
    config = examples.configs[stage]
    bucket = next(
        body
        for body in templates["prod-data"]["Resources"].values()
        if body["Type"] == "AWS::S3::Bucket" and "ReplicationConfiguration" in body.get("Properties", {})
    )
    del bucket["Properties"]["ReplicationConfiguration"]["Rules"][0]["Destination"]["ReplicationTime"]
    assert [p for p in replication_time_problems(templates, config) if "without a 15-minute RTC" in p]
    unasked = config.model_copy(update={"recovery": config.recovery.model_copy(update={"rpo_minutes": None})})
    assert [p for p in replication_time_problems(templates, unasked) if "pays for RTC" in p]
    assert json.dumps(templates) != json.dumps(_templates(examples, stage))
