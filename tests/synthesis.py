"""The syntheses a test session shares: the app built exactly as app.py builds it (cdk.json's context, the
same cdk-nag packs, CDK's built-in validation off: cfn-lint runs in tests/compliance instead).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import aws_cdk as cdk
from aws_cdk.assertions import Template

from environments.schema.stage import StageConfig
from stacks.app_settings import new_app
from stacks.platform_app import PIPELINE_STACK_ID, build_platform
from stacks.stage import PlatformStage
from tests.cfn_lint_runner import CfnLintRun, start_cfn_lint
from tests.stage_files import REPO_ROOT, ConfigSet

if TYPE_CHECKING:
    from stacks.pipeline_stack import PipelineStack


def cdk_json_context() -> dict[str, Any]:
    """The context `cdk synth` gives the app: cdk.json's feature flags plus the CLI's path metadata
    (construct paths on every resource, which reports and the cfn-lint allowance rely on)."""
    context: dict[str, Any] = json.loads((REPO_ROOT / "cdk.json").read_text())["context"]
    return {**context, "aws:cdk:enable-path-metadata": True}


@dataclass
class SynthesizedPlatform:
    """Some stages of one config folder, synthesized once: the construct tree, the cloud assembly on disk,
    its cdk-nag report and the cfn-lint run over it. `pipeline` is built only when every stage is."""

    outdir: Path
    configs: dict[str, StageConfig]
    stages: dict[str, PlatformStage]
    pipeline: PipelineStack | None
    validation_error: str | None
    cfn_lint: CfnLintRun | None
    """cfn-lint over these templates, started when the synthesis was written (live configs only)."""
    _templates: dict[tuple[str, str], Template] = field(default_factory=dict)

    def stack(self, stage: str, stack_id: str) -> cdk.Stack:
        found = self.stages[stage].node.find_child(stack_id)
        assert isinstance(found, cdk.Stack)
        return found

    def stacks(self, stage: str) -> list[cdk.Stack]:
        """Every stack of `stage`, in every region it deploys to."""
        return [child for child in self.stages[stage].node.children if isinstance(child, cdk.Stack)]

    def template_json(self, stage: str, stack_id: str) -> dict[str, Any]:
        return read_template(self.stack(stage, stack_id))

    def template(self, stage: str, stack_id: str) -> Template:
        key = (stage, stack_id)
        if key not in self._templates:
            self._templates[key] = Template.from_json(self.template_json(stage, stack_id))
        return self._templates[key]

    def stage_template_files(self, stage: str) -> list[Path]:
        """The templates `cdk deploy '<stage>/*'` deploys."""
        return sorted((self.outdir / f"assembly-{stage}").glob("*.template.json"))

    def pipeline_template_files(self) -> list[Path]:
        """The pipeline's own templates (its stack and its cross-region support stacks)."""
        return sorted(self.outdir.glob("*.template.json"))

    def template_files(self) -> list[Path]:
        """Every template of this synthesis: the stages', the pipeline's and its support stacks'."""
        return sorted(self.outdir.rglob("*.template.json"))


def read_template(stack: cdk.Stack) -> dict[str, Any]:
    """The synthesized template of `stack`, from its (possibly nested) cloud assembly on disk."""
    stage = cdk.Stage.of(stack)
    assert stage is not None
    template: dict[str, Any] = json.loads((Path(stage.outdir) / stack.template_file).read_text())
    return template


def synthesize(
    config_set: ConfigSet, stage_names: list[str] | None, outdir: Path, lint_cache: Path | None
) -> SynthesizedPlatform:
    """Build and synthesize `stage_names` of `config_set` (every stage and the pipeline when None); with a
    `lint_cache`, start cfn-lint over the templates in the background."""
    names = stage_names if stage_names is not None else list(config_set.configs)
    configs = [config_set.configs[name] for name in names]
    app = new_app(context=cdk_json_context(), outdir=str(outdir))
    stages = build_platform(app, configs, config_set.pipeline if stage_names is None else None)
    pipeline = app.node.try_find_child(PIPELINE_STACK_ID)
    validation_error = None
    try:
        app.synth()
    except RuntimeError as error:  # cdk-nag findings: the report is on disk, tests/compliance reads it
        validation_error = str(error)
    regions = {
        Path(cast(cdk.Stage, cdk.Stage.of(stack)).outdir) / stack.template_file: stack.region
        for stack in app.node.find_all()
        if isinstance(stack, cdk.Stack)
    }
    return SynthesizedPlatform(
        outdir,
        {config.name: config for config in configs},
        stages,
        cast("PipelineStack | None", pipeline),
        validation_error,
        start_cfn_lint(regions, lint_cache) if lint_cache else None,
    )
