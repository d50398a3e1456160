"""Build the whole platform into an App: one PlatformStage per stage config, checked by cdk-nag.

app.py and the test suite both call `build_platform`, so tests check the templates `cdk synth` makes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import aws_cdk as cdk

from environments.schema.pipeline import PipelineConfig
from environments.schema.stage import StageConfig
from guardrails.chosen_packs import ChosenPack
from guardrails.nag_rules import PACK_NAMES
from guardrails.platform_checks import PlatformChecks
from stacks.stage import PlatformStage

PIPELINE_STACK_ID = "pipeline"


def add_compliance_checks(app: cdk.App, chosen: Mapping[str, Iterable[str]]) -> None:
    """The project's own `Platform` pack over the whole app, and each cdk-nag pack over the top-level
    constructs (stages, the pipeline's stacks) whose id `chosen` maps to packs naming it; any
    unacknowledged finding fails the synth."""
    plugins: list[cdk.IPolicyValidationPlugin] = [PlatformChecks(app)]
    for pack in PACK_NAMES:
        ids = {construct_id for construct_id, packs in chosen.items() if pack in packs}
        if ids:
            plugins.append(ChosenPack(app, pack, ids))
    cdk.Validations.of(app).add_plugins(*plugins)


def build_platform(
    app: cdk.App, configs: Sequence[StageConfig], pipeline: PipelineConfig | None = None
) -> dict[str, PlatformStage]:
    """Add a stage per config, the pipeline that promotes them (when given), and the compliance packs."""
    stages = {config.name: PlatformStage(app, config=config) for config in configs}
    if pipeline is not None:
        # Imported here: CDK Pipelines' and CodeBuild's bindings cost `-c stages=...` 0.2 s to load.
        from stacks.pipeline_stack import PipelineStack

        PipelineStack(
            app, PIPELINE_STACK_ID, pipeline_config=pipeline, stages=[stages[name] for name in pipeline.stages]
        )
    add_compliance_checks(app, chosen_packs(app, configs, pipeline))
    return stages


def chosen_packs(app: cdk.App, configs: Sequence[StageConfig], pipeline: PipelineConfig | None) -> dict[str, set[str]]:
    """Top-level construct id -> the cdk-nag packs that check it: each stage its own (compliance.packs); the
    pipeline's stacks (its own and its cross-region support stacks) every pack of a stage it deploys, since
    they carry that stage's artifacts."""
    chosen = {config.name: set(config.compliance.packs) for config in configs}
    if pipeline is not None:
        packs = {pack for config in configs if config.name in pipeline.stages for pack in config.compliance.packs}
        chosen |= {child.node.id: packs for child in app.node.children if isinstance(child, cdk.Stack)}
    return chosen
