"""Quota headroom: every template stays within half of CloudFormation's per-stack limits, so a stage can
grow for a while before a stack has to be split (which would move resources, see test_stateful_ids)."""

from __future__ import annotations

import json

from tests.conftest import SynthesizedPlatform

LIMITS = {"Resources": 500, "Outputs": 200, "Parameters": 200}
"""CloudFormation's quotas per stack."""
TEMPLATE_BYTES = 1_000_000
"""The largest template CloudFormation accepts from S3, where CDK uploads them."""


def test_every_stack_has_half_its_quotas_left(platform: SynthesizedPlatform) -> None:
    over = []
    largest = {section: 0 for section in LIMITS}
    for path in platform.template_files():
        text = path.read_text()
        template = json.loads(text)
        for section, limit in LIMITS.items():
            count = len(template.get(section, {}))
            largest[section] = max(largest[section], count)
            if count > limit / 2:
                over.append(f"{path.name}: {count} {section.lower()} (limit {limit})")
        if len(text.encode()) > TEMPLATE_BYTES / 2:
            over.append(f"{path.name}: {len(text.encode())} bytes (limit {TEMPLATE_BYTES})")
    assert over == [], "\n".join(over)
    assert largest["Resources"] > 100, "the biggest stacks were measured"
