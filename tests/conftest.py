"""One synthesis of every stage per test session, shared by all tests.

The app is built exactly as app.py builds it (same context from cdk.json, same cdk-nag packs), so the
tests check the templates `cdk synth` makes. As in app.py, CDK's built-in CloudFormation
validation is off: cfn-lint runs over the same templates in tests/compliance instead.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import pytest

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

import aws_cdk as cdk
from aws_cdk.assertions import Template

from environments.loader import load_pipeline, load_stages
from environments.schema.stage import StageConfig
from stacks.pipeline_stack import PipelineStack
from stacks.platform_app import PIPELINE_STACK_ID, build_platform, new_app
from stacks.stage import PlatformStage
from tests.cfn_lint_runner import CfnLintRun, start_cfn_lint

REPO_ROOT = Path(__file__).resolve().parent.parent


def cdk_json_context() -> dict[str, Any]:
    """The context `cdk synth` gives the app: cdk.json's feature flags plus the CLI's path metadata
    (construct paths on every resource, which reports and the cfn-lint allowance rely on)."""
    context: dict[str, Any] = json.loads((REPO_ROOT / "cdk.json").read_text())["context"]
    return {**context, "aws:cdk:enable-path-metadata": True}


@dataclass
class SynthesizedPlatform:
    """Every stage, synthesized once: the construct tree, the cloud assembly on disk and its report."""

    outdir: Path
    configs: dict[str, StageConfig]
    stages: dict[str, PlatformStage]
    pipeline: PipelineStack
    validation_error: str | None
    cfn_lint: CfnLintRun
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

    def template_files(self) -> list[Path]:
        """Every template: the stages, the pipeline, and the pipeline's copies of the stages."""
        return sorted(self.outdir.rglob("*.template.json"))


def read_template(stack: cdk.Stack) -> dict[str, Any]:
    """The synthesized template of `stack`, from its (possibly nested) cloud assembly on disk."""
    stage = cdk.Stage.of(stack)
    assert stage is not None
    template: dict[str, Any] = json.loads((Path(stage.outdir) / stack.template_file).read_text())
    return template


@pytest.fixture(scope="session")
def platform(tmp_path_factory: pytest.TempPathFactory, pytestconfig: pytest.Config) -> Iterator[SynthesizedPlatform]:
    outdir = tmp_path_factory.mktemp("cdk.out")
    configs = load_stages(config_dir=REPO_ROOT / "environments")
    pipeline_config = load_pipeline(REPO_ROOT / "environments")
    app = new_app(context=cdk_json_context(), outdir=str(outdir))
    stages = build_platform(app, configs, pipeline_config)
    pipeline = app.node.find_child(PIPELINE_STACK_ID)
    assert isinstance(pipeline, PipelineStack)
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
    cache = pytestconfig.cache
    cfn_lint = start_cfn_lint(regions, cache.mkdir("cfn-lint") if cache else tmp_path_factory.mktemp("cfn-lint"))
    yield SynthesizedPlatform(outdir, {c.name: c for c in configs}, stages, pipeline, validation_error, cfn_lint)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-stateful-ids",
        action="store_true",
        help="rewrite tests/pinned/<stage>.json from this synthesis (make pin-stateful-ids)",
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """cfn-lint runs in the background from the synthesis on: wait for it last."""
    items.sort(key=lambda item: item.path.name == "test_cfn_lint.py")


@pytest.fixture(params=("dev", "staging", "prod"))
def stage(request: pytest.FixtureRequest) -> str:
    """Each stage in turn, for tests that hold in every stage."""
    return str(request.param)
