"""It works once deployed, the front door: the ingress load balancer is the platform stack's, so nothing names it
by hand. No template of any stage (every region) and no stage file holds a load balancer's DNS name or
CloudWatch name; the load balancer's consumers reach it through references.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from tests.synthesis import SynthesizedPlatform, read_template

TYPED_NAMES = (
    re.compile(r"elb\.amazonaws\.com", re.IGNORECASE),
    re.compile(r"\b(app|net)/[A-Za-z0-9-]{1,32}/[0-9a-f]{16}\b"),
    re.compile(r"\btargetgroup/[A-Za-z0-9-]{1,32}/[0-9a-f]{16}\b"),
)
"""A load balancer's DNS name, or its or a target group's CloudWatch dimension (`app/<name>/<id>`)."""


def strings(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """(path, text) of every string in a template or config, keys included."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield f"{path}.{key}", str(key)
            yield from strings(item, f"{path}.{key}")
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from strings(item, f"{path}.{index}")
    elif isinstance(value, str):
        yield path, value


def typed_names(value: Any) -> list[str]:
    return [f"{path}: {text}" for path, text in strings(value) if any(p.search(text) for p in TYPED_NAMES)]


def test_no_template_names_a_load_balancer_by_hand(platform: SynthesizedPlatform, stage: str) -> None:
    found = [
        f"{stack.stack_name}{where}"
        for stack in platform.stacks(stage)
        for where in typed_names(read_template(stack)["Resources"])
    ]
    assert found == [], "\n".join(found)


def test_no_stage_file_names_a_load_balancer(platform: SynthesizedPlatform, stage: str) -> None:
    assert typed_names(platform.configs[stage].model_dump()) == []


def test_the_check_finds_a_name_typed_in() -> None:
    template = {
        "Alarm": {
            "Properties": {"Dimensions": [{"Name": "LoadBalancer", "Value": "app/k8s-platform/0123456789abcdef"}]}
        },
        "Origin": {"Properties": {"DomainName": "k8s-platform-0000000000.us-east-1.elb.amazonaws.com"}},
        "Fine": {"Properties": {"Value": {"Fn::GetAtt": ["IngressLoadBalancer", "LoadBalancerFullName"]}}},
    }
    assert [line.split(":")[0] for line in typed_names(template)] == [
        ".Alarm.Properties.Dimensions.0.Value",
        ".Origin.Properties.DomainName",
    ]
