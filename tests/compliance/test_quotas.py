"""Quota headroom: every template stays within half of CloudFormation's per-stack limits, so a stage can
grow for a while before a stack has to be split (which would move resources, see test_stateful_ids)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.synthesis import SynthesizedPlatform

LIMITS = {"Resources": 500, "Outputs": 200, "Parameters": 200}
"""CloudFormation's quotas per stack."""
TEMPLATE_BYTES = 1_000_000
"""The largest template CloudFormation accepts from S3, where CDK uploads them."""


def quota_problems(templates: list[Path]) -> list[str]:
    """One line per template that uses more than half of a CloudFormation quota."""
    over = []
    for path in templates:
        text = path.read_text()
        template = json.loads(text)
        for section, limit in LIMITS.items():
            count = len(template.get(section, {}))
            if count > limit / 2:
                over.append(f"{path.name}: {count} {section.lower()} (limit {limit})")
        if len(text.encode()) > TEMPLATE_BYTES / 2:
            over.append(f"{path.name}: {len(text.encode())} bytes (limit {TEMPLATE_BYTES})")
    return over


def test_every_stack_has_half_its_quotas_left(platform: SynthesizedPlatform, stage: str) -> None:
    over = quota_problems(platform.stage_template_files(stage))
    assert over == [], "\n".join(over)


def test_the_pipeline_has_half_its_quotas_left(platform: SynthesizedPlatform) -> None:
    over = quota_problems(platform.pipeline_template_files())
    assert over == [], "\n".join(over)


def test_a_stack_over_half_a_quota_is_caught(tmp_path: Path) -> None:
    crowded = tmp_path / "crowded.template.json"
    crowded.write_text(json.dumps({"Resources": {f"R{i}": {"Type": "AWS::SNS::Topic"} for i in range(251)}}))
    assert quota_problems([crowded]) == ["crowded.template.json: 251 resources (limit 500)"]
