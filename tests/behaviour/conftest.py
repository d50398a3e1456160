"""Fixtures the behaviour contracts share."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.behaviour.reachability import StackTemplate
from tests.synthesis import SynthesizedPlatform, read_template


@pytest.fixture(scope="session")
def model_stacks(platform: SynthesizedPlatform) -> Callable[[str], list[StackTemplate]]:
    """Each stage's templates as the network, front-door and log models read them (name, region, template),
    read once per session: the models never change them, and a mutation test copies them before a break."""
    loaded: dict[str, list[StackTemplate]] = {}

    def load(stage: str) -> list[StackTemplate]:
        if stage not in loaded:
            loaded[stage] = [
                StackTemplate(stack.stack_name, stack.region, read_template(stack)) for stack in platform.stacks(stage)
            ]
        return loaded[stage]

    return load
