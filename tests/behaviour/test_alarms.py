"""It works once deployed: every alarm watches a metric its service publishes (namespace, name and exact dimension
set, tests/behaviour/alarm_dimensions.py) for the resource it claims to watch, found by identity through the
templates' references. Each break below is made on a copy of a stage's templates and must be named.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.behaviour.alarm_dimensions import OWN_METRICS, STREAM_PROCESSOR_SOURCE, alarm_failures, watched_metrics
from tests.behaviour.templates import StackTemplate, copied, stage_stacks
from tests.synthesis import SynthesizedPlatform


def test_every_alarm_watches_a_published_metric_of_its_resource(platform: SynthesizedPlatform, stage: str) -> None:
    stacks = stage_stacks(platform, stage)
    assert sum(1 for _ in watched_metrics(stacks)) > 40, "the stage's alarms were not found"
    assert not (failures := alarm_failures(stacks)), "\n".join(failures)


REPOSITORY = Path(__file__).parents[2]

Edit = Callable[[dict[str, Any]], bool]
"""Changes one alarm's properties in place; False when the alarm is not the kind the edit breaks."""


def _dimensions(alarm: dict[str, Any]) -> list[list[dict[str, Any]]]:
    if "MetricName" in alarm:
        return [alarm["Dimensions"]]
    return [m["MetricStat"]["Metric"]["Dimensions"] for m in alarm.get("Metrics", []) if "MetricStat" in m]


def _metrics(alarm: dict[str, Any]) -> list[dict[str, Any]]:
    if "MetricName" in alarm:
        return [alarm]
    return [m["MetricStat"]["Metric"] for m in alarm.get("Metrics", []) if "MetricStat" in m]


def typed_load_balancer_name(alarm: dict[str, Any]) -> bool:
    """What the config used to hold: a load balancer's CloudWatch name written out."""
    for dimensions in _dimensions(alarm):
        for dimension in dimensions:
            if dimension["Name"] == "LoadBalancer":
                dimension["Value"] = "app/k8s-platform-ingress/0123456789abcdef"
                return True
    return False


def drop_target_group(alarm: dict[str, Any]) -> bool:
    for metric in _metrics(alarm):
        if metric["MetricName"] == "UnHealthyHostCount":
            metric["Dimensions"] = [d for d in metric["Dimensions"] if d["Name"] != "TargetGroup"]
            return True
    return False


def wrong_namespace(alarm: dict[str, Any]) -> bool:
    for metric in _metrics(alarm):
        if metric["Namespace"] == "AWS/SQS":
            metric["Namespace"] = "AWS/SNS"
            return True
    return False


def queue_url_for_its_name(alarm: dict[str, Any]) -> bool:
    """Marks the alarm whose QueueName output `_point_output_at_ref` then turns into the queue's Ref (its URL)."""
    return any(d["Name"] == "QueueName" for dimensions in _dimensions(alarm) for d in dimensions)


def _point_output_at_ref(stacks: list[StackTemplate], alarm: dict[str, Any]) -> None:
    """The right resource, the wrong attribute: the producer's output gives the queue's Ref, not its name."""
    value = next(d["Value"] for dimensions in _dimensions(alarm) for d in dimensions if d["Name"] == "QueueName")
    reference = value["Fn::GetStackOutput"]
    producer = next(stack for stack in stacks if stack.name == reference["StackName"])
    produced = producer.template["Outputs"][reference["OutputName"]]
    produced["Value"] = {"Ref": produced["Value"]["Fn::GetAtt"][0]}


def cluster_wide_restarts(alarm: dict[str, Any]) -> bool:
    """The alarm this platform had: container restarts by ClusterName, which Container Insights publishes per pod."""
    for metric in _metrics(alarm):
        if metric["Namespace"] == "ContainerInsights":
            metric["MetricName"] = "pod_number_of_container_restarts"
            return True
    return False


def unknown_source(alarm: dict[str, Any]) -> bool:
    """A quarantine alarm on a source nothing publishes under (a renamed raw source)."""
    for dimensions in _dimensions(alarm):
        for dimension in dimensions:
            if dimension["Name"] == "Source":
                dimension["Value"] = "clicks"
                return True
    return False


def namespace_no_job_writes(alarm: dict[str, Any]) -> bool:
    """The lake's workflow alarm in a namespace no job of the stage is handed."""
    for metric in _metrics(alarm):
        if metric["MetricName"] == "FailedWorkflowRuns":
            metric["Namespace"] += "-old"
            return True
    return False


def cache_member_of_the_other_mode(alarm: dict[str, Any]) -> bool:
    """A cache node named as the other cluster mode names it (the alarms this platform had counted nodes
    -001, -002... whatever the mode)."""
    for dimensions in _dimensions(alarm):
        for dimension in dimensions:
            if dimension["Name"] == "CacheClusterId":
                parts = dimension["Value"]["Fn::Join"][1]
                parts[1] = "-001" if parts[1].count("-") == 2 else "-0001-001"
                return True
    return False


def model_nobody_invokes(alarm: dict[str, Any]) -> bool:
    """A Bedrock alarm on a model no policy of the stage grants (a model retired from config, its alarm kept)."""
    for dimensions in _dimensions(alarm):
        for dimension in dimensions:
            if dimension["Name"] == "ModelId":
                dimension["Value"] = "anthropic.claude-v2"
                return True
    return False


def influxdb_by_an_old_name(alarm: dict[str, Any]) -> bool:
    """An InfluxDB alarm on a name no instance of the stage has (a renamed instance)."""
    for dimensions in _dimensions(alarm):
        for dimension in dimensions:
            if dimension["Name"] == "DbInstanceName":
                dimension["Value"] = "ai-platform-influx-old"
                return True
    return False


def variant_the_endpoint_lacks(alarm: dict[str, Any]) -> bool:
    for dimensions in _dimensions(alarm):
        for dimension in dimensions:
            if dimension["Name"] == "VariantName":
                dimension["Value"] = "AllTraffic"
                return True
    return False


def endpoint_without_variant(alarm: dict[str, Any]) -> bool:
    for metric in _metrics(alarm):
        if metric["Namespace"] == "AWS/SageMaker":
            metric["Dimensions"] = [d for d in metric["Dimensions"] if d["Name"] != "VariantName"]
            return True
    return False


@dataclass(frozen=True)
class Mutation:
    breaks: str
    edit: Edit
    names: str
    """What the report must say."""
    only_with: str | None = None
    """The ai toggle (bedrock, sagemaker) the stage needs for an alarm of this kind to exist."""


MUTATIONS = (
    Mutation("a load balancer named by a typed string", typed_load_balancer_name, "not a reference to a resource"),
    Mutation("a dropped TargetGroup dimension", drop_target_group, "UnHealthyHostCount is published with"),
    Mutation("a wrong namespace", wrong_namespace, "namespace AWS/SNS is not in PUBLISHED"),
    Mutation("a quarantine source nothing publishes", unknown_source, "'clicks' is none of"),
    Mutation("the workflow's metric in another namespace", namespace_no_job_writes, "nor handed to a publisher"),
    Mutation("a queue's URL for its name", queue_url_for_its_name, "AWS::SQS::Queue Ref of"),
    Mutation("restarts counted per cluster", cluster_wide_restarts, "pod_number_of_container_restarts is published"),
    Mutation("a cache node named for the other cluster mode", cache_member_of_the_other_mode, "has cluster mode"),
    Mutation(
        "an InfluxDB instance by a name it does not have",
        influxdb_by_an_old_name,
        "names no AWS::Timestream::InfluxDBInstance",
    ),
    Mutation("a Bedrock model nobody may invoke", model_nobody_invokes, "is no model a policy", "bedrock"),
    Mutation(
        "a variant the endpoint lacks", variant_the_endpoint_lacks, "none of the endpoint's variants", "sagemaker"
    ),
    Mutation(
        "a SageMaker metric without its variant",
        endpoint_without_variant,
        "is published with ['EndpointName', 'VariantName']",
        "sagemaker",
    ),
)


@pytest.mark.parametrize("mutation", MUTATIONS, ids=lambda mutation: mutation.breaks)
def test_the_contract_names_each_break(mutation: Mutation, platform: SynthesizedPlatform, stage: str) -> None:
    if mutation.only_with and not getattr(platform.configs[stage].ai, mutation.only_with).enabled:
        pytest.skip(f"{stage} has no {mutation.only_with}")
    stacks = [copied(stack) for stack in stage_stacks(platform, stage)]
    broken = next(
        (
            (stack, logical_id)
            for stack in stacks
            for logical_id, properties in stack.of_type("AWS::CloudWatch::Alarm")
            if mutation.edit(properties)
        ),
        None,
    )
    assert broken is not None, f"{stage} has no alarm {mutation.breaks} could break"
    if mutation.edit is queue_url_for_its_name:
        _point_output_at_ref(stacks, broken[0].resources[broken[1]]["Properties"])
    failures = alarm_failures(stacks)
    alarm = broken[0].where(broken[1])
    assert any(alarm in failure for failure in failures), "\n".join(failures)
    assert all(mutation.names in failure for failure in failures), "\n".join(failures)


def test_the_table_knows_each_stack_template_kind() -> None:
    """Dimensions the table cannot place are reported, not skipped."""
    stack = StackTemplate("dev", "dev-x", "111111111111", "us-east-1", {"Resources": {"A": {
        "Type": "AWS::CloudWatch::Alarm",
        "Properties": {"Namespace": "AWS/SQS", "MetricName": "ApproximateAgeOfOldestMessage",
                       "Dimensions": [{"Name": "QueueName", "Value": "orders"}]},
    }}})  # fmt: skip
    (failure,) = alarm_failures([stack])
    assert "'orders' is not a reference to a resource" in failure


@pytest.mark.parametrize("metric", sorted(OWN_METRICS))
def test_the_platforms_own_metrics_are_published_by_the_code_the_table_names(metric: str) -> None:
    """OWN_METRICS names the files that publish each metric: each must write it with its dimension."""
    files, (dimensions,) = OWN_METRICS[metric]
    for file in files.split(", "):
        code = (REPOSITORY / file).read_text()
        assert metric in code or f'"{metric}"' in code, f"{file} does not publish {metric}"
        assert all(f'"{name}"' in code or f"[{name!r}]" in code for name in dimensions), f"{file}: {dimensions}"


def test_the_stream_processor_publishes_under_its_source() -> None:
    handler = (REPOSITORY / "lambdas/stream_processor/handler.py").read_text()
    assert f'SOURCE = "{STREAM_PROCESSOR_SOURCE}"' in handler
