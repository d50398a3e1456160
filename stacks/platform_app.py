"""Build the whole platform into an App: one PlatformStage per stage config, checked by cdk-nag.

app.py and the test suite both call `build_platform`, so tests check the templates `cdk synth` makes.
"""

from __future__ import annotations

from collections.abc import Sequence

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks, NIST80053R5Checks

from environments.schema import StageConfig
from stacks.stage import PlatformStage


def add_compliance_checks(app: cdk.App) -> None:
    """cdk-nag's AwsSolutions and NIST 800-53 rev 5 packs; any unacknowledged finding fails the synth."""
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app), NIST80053R5Checks(app))


def build_platform(app: cdk.App, configs: Sequence[StageConfig]) -> dict[str, PlatformStage]:
    """Add a stage per config and the compliance packs that validate them at synth."""
    add_compliance_checks(app)
    return {config.name: PlatformStage(app, config=config) for config in configs}
