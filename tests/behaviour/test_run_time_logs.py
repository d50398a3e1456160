"""Observability contract: every log group a service creates at run time (tests/behaviour/run_time_logs.py says
who writes where) is pre-created in the stage's templates, under exactly that name, with a logs key of the
stage and a retention, before its writer first writes. Each break below must be named."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.behaviour.reachability import StackTemplate
from tests.behaviour.run_time_logs import LOG_GROUP, RunTimeLogs
from tests.behaviour.templates import copied
from tests.synthesis import SynthesizedPlatform

Stacks = list[StackTemplate]


def test_every_run_time_log_group_is_pre_created_encrypted_and_kept(
    model_stacks: Callable[[str], Stacks], platform: SynthesizedPlatform, stage: str
) -> None:
    logs = RunTimeLogs(model_stacks(stage))
    expected = list(logs.expected())
    kinds = {e.what for e in expected}
    # Nothing passes because nothing was found: the writers every stage has.
    assert {"Lambda function", "EKS control plane logging", "Container Insights", "serverless application's function",
            "Glue glueetl job", "Glue pythonshell job", "Glue crawler", "VPC flow log"} <= kinds, kinds  # fmt: skip
    if platform.configs[stage].platform.fargate:
        assert "Fargate log router" in kinds
    assert logs.problems(stage) == []


def _resources(stacks: Stacks, name: str) -> dict[str, Any]:
    (stack,) = [s for s in stacks if s.name.endswith(f"-{name}")]
    resources: dict[str, Any] = stack.template["Resources"]
    return resources


def _group(resources: dict[str, Any], name_part: str) -> tuple[str, dict[str, Any]]:
    return next(
        (k, r)
        for k, r in resources.items()
        if r["Type"] == LOG_GROUP and name_part in str(r["Properties"].get("LogGroupName"))
    )


def _consumer_without_its_group(stacks: Stacks) -> str:
    resources = _resources(stacks, "platform")
    _, function = next(
        (k, r) for k, r in resources.items() if r["Type"] == "AWS::Lambda::Function" and "ActionRequests" in k
    )
    function["Properties"].pop("LoggingConfig")
    return f"Lambda function {function['Metadata']['aws:cdk:path'].split('/', 1)[1].removesuffix('/Resource')} has "


def _no_container_insights_performance_group(stacks: Stacks) -> str:
    resources = _resources(stacks, "platform")
    logical_id, group = _group(resources, "/performance")
    del resources[logical_id]
    for resource in resources.values():
        depends = resource.get("DependsOn", [])
        if logical_id in depends:
            resource["DependsOn"] = [d for d in depends if d != logical_id]
    name = group["Properties"]["LogGroupName"]
    return f"Container Insights platform/Addons/AmazonCloudwatchObservability writes to {name},"


def _database_logs_unencrypted(stacks: Stacks) -> str:
    _, group = _group(_resources(stacks, "data"), "/aws/rds/")
    group["Properties"].pop("KmsKeyId")
    return f"its group {group['Properties']['LogGroupName']} is not encrypted with the stage's logs key"


def _control_plane_logs_forever(stacks: Stacks) -> str:
    _, group = _group(_resources(stacks, "platform"), "/aws/eks/")
    group["Properties"].pop("RetentionInDays")
    return f"its group {group['Properties']['LogGroupName']} keeps events forever"


def _rotation_before_its_group(stacks: Stacks) -> str:
    resources = _resources(stacks, "data")
    logical_id, group = _group(resources, "/aws/lambda/")
    application = next(r for r in resources.values() if r["Type"] == "AWS::Serverless::Application")
    application["DependsOn"] = [d for d in application.get("DependsOn", []) if d != logical_id]
    return f"may write before its group {group['Properties']['LogGroupName']} exists (no DependsOn)"


MUTATIONS: dict[str, Callable[[Stacks], str]] = {
    "a function without its group": _consumer_without_its_group,
    "a Container Insights group missing": _no_container_insights_performance_group,
    "an exported database log unencrypted": _database_logs_unencrypted,
    "control-plane logs kept forever": _control_plane_logs_forever,
    "the rotation function before its group": _rotation_before_its_group,
}


@pytest.mark.parametrize("mutation", MUTATIONS)
def test_a_missing_or_unprotected_run_time_group_is_caught(
    model_stacks: Callable[[str], Stacks], stage: str, mutation: str
) -> None:
    stacks = copied(model_stacks(stage))
    expected = MUTATIONS[mutation](stacks)
    problems = RunTimeLogs(stacks).problems(stage)
    assert any(expected in p for p in problems), "\n".join(problems)
