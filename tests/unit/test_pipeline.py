"""The delivery pipeline (issue: delivery) and its config file."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from environments.loader import ConfigError, load_pipeline
from stacks.pipeline_stack import FAILED_EVENTS, pinned_cli_version
from tests.stage_files import EXAMPLE_CONFIG, REPO_ROOT
from tests.support import props
from tests.synthesis import SynthesizedPlatform, read_template

PROMOTION = load_pipeline(EXAMPLE_CONFIG).stages
"""The example pipeline's promotion order (dev, staging, prod)."""


@pytest.fixture(scope="module")
def pipeline_template(examples: SynthesizedPlatform) -> dict[str, Any]:
    assert examples.pipeline is not None
    return read_template(examples.pipeline)


def _pipeline(template: dict[str, Any]) -> dict[str, Any]:
    (pipeline,) = props(template, "AWS::CodePipeline::Pipeline")
    return pipeline


def _stage_names(template: dict[str, Any]) -> list[str]:
    """The pipeline's stages in order, a stage CDK Pipelines split (`prod.1`, `prod.2`: CodePipeline takes 50
    actions per stage) once under its own name."""
    names = [_base_name(stage["Name"]) for stage in _pipeline(template)["Stages"]]
    return [name for index, name in enumerate(names) if name not in names[:index]]


def _base_name(name: str) -> str:
    return re.sub(r"\.\d+$", "", name)


def _stage_actions(template: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """By stage name, its actions (of every part of a split stage), each with `RunOrder` made pipeline-wide:
    a later part runs after the whole of an earlier one."""
    found: dict[str, list[dict[str, Any]]] = {}
    for position, stage in enumerate(_pipeline(template)["Stages"]):
        found.setdefault(_base_name(stage["Name"]), []).extend(
            {**action, "RunOrder": position * 1000 + action.get("RunOrder", 1)} for action in stage["Actions"]
        )
    return found


def _buildspec(template: dict[str, Any], marker: str) -> str:
    """The buildspec of the one CodeBuild project whose buildspec contains `marker`."""
    specs = [p["Source"]["BuildSpec"] for p in props(template, "AWS::CodeBuild::Project")]
    texts = [spec if isinstance(spec, str) else json.dumps(spec) for spec in specs]
    (found,) = [text for text in texts if marker in text]
    return found


def test_pipeline_is_v2_in_the_tooling_account(
    examples: SynthesizedPlatform, pipeline_template: dict[str, Any]
) -> None:
    config = load_pipeline(EXAMPLE_CONFIG)
    assert _pipeline(pipeline_template)["PipelineType"] == "V2"
    assert examples.pipeline is not None
    assert (examples.pipeline.account, examples.pipeline.region) == (config.account, config.region)
    assert examples.pipeline.termination_protection is True


def test_source_is_a_codeconnections_connection(pipeline_template: dict[str, Any]) -> None:
    config = load_pipeline(EXAMPLE_CONFIG)
    (source,) = [s for s in _pipeline(pipeline_template)["Stages"] if s["Name"] == "Source"]
    (action,) = source["Actions"]
    assert action["ActionTypeId"]["Provider"] == "CodeStarSourceConnection"
    assert action["Configuration"]["ConnectionArn"] == config.source.connection_arn
    assert action["Configuration"]["FullRepositoryId"] == config.source.repository
    assert action["Configuration"]["BranchName"] == config.source.branch


def test_stages_promote_in_the_pipeline_files_order_after_self_mutation(pipeline_template: dict[str, Any]) -> None:
    """Stages deploy in the order pipeline.yaml lists them (the example: dev, staging, prod), each after the
    pipeline has updated itself."""
    names = _stage_names(pipeline_template)
    assert names[:3] == ["Source", "Build", "UpdatePipeline"]
    assert [n for n in names if n in PROMOTION] == list(PROMOTION)
    assert names.index("UpdatePipeline") < names.index(PROMOTION[0])
    (mutation,) = [s for s in _pipeline(pipeline_template)["Stages"] if s["Name"] == "UpdatePipeline"]
    assert [a["Name"] for a in mutation["Actions"]] == ["SelfMutate"]


def test_manual_approval_before_prod_only(pipeline_template: dict[str, Any]) -> None:
    stages = _stage_actions(pipeline_template)
    for name in PROMOTION:
        approvals = [a for a in stages[name] if a["ActionTypeId"]["Category"] == "Approval"]
        deploys = [a for a in stages[name] if a["ActionTypeId"]["Category"] == "Deploy"]
        assert deploys, name
        if name == "prod":
            (approval,) = approvals
            assert approval["RunOrder"] < min(a["RunOrder"] for a in deploys)
        else:
            assert not approvals, name


def test_deploys_go_to_each_stages_own_account(
    examples: SynthesizedPlatform, pipeline_template: dict[str, Any]
) -> None:
    stages = _stage_actions(pipeline_template)
    for name in PROMOTION:
        account = examples.configs[name].account
        for action in (a for a in stages[name] if a["ActionTypeId"]["Category"] == "Deploy"):
            assert account in json.dumps(action["RoleArn"]), (name, action["Name"])


def test_synth_step_installs_tests_and_synthesizes(pipeline_template: dict[str, Any]) -> None:
    spec = _buildspec(pipeline_template, "make synth")
    assert spec.index("make test") < spec.index("make synth")


def test_smoke_step_after_each_stage_reads_stack_outputs(pipeline_template: dict[str, Any]) -> None:
    stages = _stage_actions(pipeline_template)
    for name in PROMOTION:
        (smoke,) = [a for a in stages[name] if a["Name"] == f"Smoke-{name}"]
        deploys = [a for a in stages[name] if a["ActionTypeId"]["Category"] == "Deploy"]
        assert smoke["RunOrder"] > max(a["RunOrder"] for a in deploys)
        variables = json.loads(smoke["Configuration"]["EnvironmentVariables"])
        assert {v["name"] for v in variables} == {"SMOKE_POSTGRES_PROXY", "SMOKE_CACHE"}
        assert all("#{" in v["value"] for v in variables)  # CloudFormation output variables


def test_no_docker_and_one_asset_project_at_a_time(
    examples: SynthesizedPlatform, pipeline_template: dict[str, Any]
) -> None:
    projects = props(pipeline_template, "AWS::CodeBuild::Project")
    assert all(p["Environment"].get("PrivilegedMode", False) is False for p in projects)
    asset_specs = list(examples.outdir.glob("buildspec-*.yaml"))
    assert asset_specs, "file assets are published from buildspec files"
    for spec in asset_specs:
        text = spec.read_text()
        assert "docker" not in text.lower()
    (assets,) = [s for s in _pipeline(pipeline_template)["Stages"] if s["Name"] == "Assets"]
    assert len({a["RunOrder"] for a in assets["Actions"]}) == len(assets["Actions"]) or len(assets["Actions"]) == 1


def test_cli_version_comes_from_package_json(pipeline_template: dict[str, Any]) -> None:
    version = json.loads((REPO_ROOT / "package.json").read_text())["devDependencies"]["aws-cdk"]
    assert pinned_cli_version() == version
    assert f"aws-cdk@{version}" in _buildspec(pipeline_template, "cdk -a . deploy")


def test_failures_notify_an_encrypted_topic(pipeline_template: dict[str, Any]) -> None:
    (rule,) = props(pipeline_template, "AWS::CodeStarNotifications::NotificationRule")
    assert sorted(rule["EventTypeIds"]) == sorted(FAILED_EVENTS)
    (target,) = rule["Targets"]
    assert target["TargetType"] == "SNS"
    (topic,) = props(pipeline_template, "AWS::SNS::Topic")
    assert "KmsMasterKeyId" in topic


def test_pipeline_promotes_the_stages_app_py_deploys_directly(examples: SynthesizedPlatform) -> None:
    """The same PlatformStage objects either way: identical paths, logical ids and stack names, so a stage
    deployed by hand and later by the pipeline is updated in place, never replaced."""
    assert examples.pipeline is not None
    assert list(examples.pipeline.stages) == list(PROMOTION)
    for name in PROMOTION:
        assert examples.pipeline.stages[name] is examples.stages[name]
        assert examples.stages[name].node.path == name


# --- environments/pipeline.yaml ---------------------------------------------------------------------


def _pipeline_problems(tmp_path: Path, mutate: Any) -> list[str]:
    for stage in PROMOTION:
        (tmp_path / f"{stage}.yaml").write_text((EXAMPLE_CONFIG / f"{stage}.yaml").read_text())
    data = copy.deepcopy(yaml.safe_load((EXAMPLE_CONFIG / "pipeline.yaml").read_text()))
    mutate(data)
    (tmp_path / "pipeline.yaml").write_text(yaml.safe_dump(data))
    with pytest.raises(ConfigError) as raised:
        load_pipeline(tmp_path)
    return raised.value.problems


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda d: d["source"].update(connection_arn="arn:aws:s3:::b"), "source.connection_arn: arn:aws:s3:::b is not"),
        (lambda d: d["source"].update(repository="no-owner"), "source.repository: no-owner is not owner/name"),
        (lambda d: d.update(account="4444"), "account: 4444 is not a 12-digit AWS account id"),
        (lambda d: d.update(stages=["dev", "qa", "prod"]), "stages.1: qa has no environments/qa.yaml"),
        (lambda d: d.update(stages=["dev", "dev", "prod"]), "stages: lists the same stage twice"),
        (lambda d: d.update(manual_approval_before=[]), "manual_approval_before: prod must be behind a manual"),
        (lambda d: d.update(manual_approval_before=["prod", "qa"]), "manual_approval_before.1: qa is not one of"),
        (lambda d: d.update(notification_emails=["ops"]), "notification_emails.0: 'ops' is not an email address"),
        (lambda d: d.update(branches=["main"]), "branches: unknown key"),
    ],
    ids=["connection ARN", "repository", "account", "unknown stage", "duplicate", "prod unapproved",
         "approval outside", "email", "unknown key"],
)  # fmt: skip
def test_bad_pipeline_config(tmp_path: Path, mutate: Any, expected: str) -> None:
    problems = _pipeline_problems(tmp_path, mutate)
    assert any(p.startswith(f"{tmp_path / 'pipeline.yaml'}: {expected}") for p in problems), problems


def test_missing_pipeline_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as raised:
        load_pipeline(tmp_path)
    assert raised.value.problems == [
        f"{tmp_path / 'pipeline.yaml'}: missing (the pipeline's account, region and source)"
    ]


def test_preflight_runs_before_each_stages_approval_and_deploy(pipeline_template: dict[str, Any]) -> None:
    """`make preflight STAGE=<stage>` on the synthesized assembly, before the approval (where there is one)
    and before any stack of the stage deploys."""
    stages = _stage_actions(pipeline_template)
    for name in PROMOTION:
        (preflight,) = [a for a in stages[name] if a["Name"] == f"Preflight-{name}"]
        later = [a for a in stages[name] if a["ActionTypeId"]["Category"] in ("Deploy", "Approval")]
        assert preflight["RunOrder"] < min(a["RunOrder"] for a in later), name
        assert len(preflight["InputArtifacts"]) == 2, "the source and the synthesized cdk.out"
        assert f"make preflight STAGE={name}" in _buildspec(pipeline_template, f"make preflight STAGE={name}")
