"""Build the whole platform into an App: one PlatformStage per stage config, checked by cdk-nag.

app.py and the test suite both call `build_platform`, so tests check the templates `cdk synth` makes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import aws_cdk as cdk
from constructs import IConstruct

from environments.schema.pipeline import PipelineConfig
from environments.schema.stage import StageConfig
from guardrails.chosen_packs import ChosenPack
from guardrails.nag_rules import PACK_NAMES
from guardrails.platform_checks import PlatformChecks
from stacks.pipeline_stack import PipelineStack
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
            plugins.append(ChosenPack(app, pack, lambda ids=ids: _children(app, ids)))
    cdk.Validations.of(app).add_plugins(*plugins)


def _children(app: cdk.App, ids: set[str]) -> list[IConstruct]:
    return [child for child in app.node.children if child.node.id in ids]


def build_platform(
    app: cdk.App, configs: Sequence[StageConfig], pipeline: PipelineConfig | None = None
) -> dict[str, PlatformStage]:
    """Add a stage per config, the pipeline that promotes them (when given), and the compliance packs: each
    stage's own (compliance.packs); the pipeline and its support stacks get every pack of a stage it
    deploys, since it carries their artifacts."""
    stages = {config.name: PlatformStage(app, config=config) for config in configs}
    chosen: dict[str, Iterable[str]] = {config.name: config.compliance.packs for config in configs}
    if pipeline is not None:
        PipelineStack(
            app, PIPELINE_STACK_ID, pipeline_config=pipeline, stages=[stages[name] for name in pipeline.stages]
        )
        pipeline_packs = {
            pack for config in configs if config.name in pipeline.stages for pack in config.compliance.packs
        }
        stacks = [child.node.id for child in app.node.children if isinstance(child, cdk.Stack)]
        chosen.update(dict.fromkeys(stacks, pipeline_packs))
    add_compliance_checks(app, chosen)
    return stages
