"""Build the whole platform into an App: one PlatformStage per stage config, checked by cdk-nag.

app.py and the test suite both call `build_platform`, so tests check the templates `cdk synth` makes.
"""

from __future__ import annotations

from collections.abc import Sequence

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks, NIST80053R5Checks

from environments.schema.pipeline import PipelineConfig
from environments.schema.stage import StageConfig
from guardrails.platform_checks import PlatformChecks
from stacks.stage import PlatformStage

PIPELINE_STACK_ID = "pipeline"


def add_compliance_checks(app: cdk.App) -> None:
    """cdk-nag's AwsSolutions and NIST 800-53 rev 5 packs and the project's own `Platform` pack; any
    unacknowledged finding fails the synth."""
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app), NIST80053R5Checks(app), PlatformChecks(app))


def build_platform(
    app: cdk.App, configs: Sequence[StageConfig], pipeline: PipelineConfig | None = None
) -> dict[str, PlatformStage]:
    """Add a stage per config, the pipeline that promotes them (when given), and the compliance packs."""
    add_compliance_checks(app)
    stages = {config.name: PlatformStage(app, config=config) for config in configs}
    if pipeline is not None:
        # Imported here: CDK Pipelines' and CodeBuild's bindings cost `-c stages=...` 0.2 s to load.
        from stacks.pipeline_stack import PipelineStack

        PipelineStack(
            app, PIPELINE_STACK_ID, pipeline_config=pipeline, stages=[stages[name] for name in pipeline.stages]
        )
    return stages
