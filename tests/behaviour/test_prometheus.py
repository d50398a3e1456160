"""It works once deployed: every series a rule of the Managed Prometheus rule groups names is exported by a chart
the platform installs, and the managed collector's scrape configuration has a job that scrapes that chart's
Service on its port. Each break below is made on a copy of a stage's templates and must be named.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import pytest
import yaml

from tests.behaviour.platform_template import HELM_CHART
from tests.behaviour.templates import StackTemplate, copied, stage_stacks
from tests.synthesis import SynthesizedPlatform


@dataclass(frozen=True)
class Exported:
    """The series a chart's exporter publishes, the port its Service serves them on, and where that is written."""

    port: int
    series: frozenset[str]
    source: str


EXPORTED: dict[str, Exported] = {
    "kube-state-metrics": Exported(8080, frozenset({
        "kube_pod_container_status_restarts_total", "kube_pod_status_phase", "kube_deployment_status_replicas",
        "kube_node_status_condition",
    }), "kubernetes/kube-state-metrics@v2.20.0 docs/metrics/workload/pod-metrics.md, deployment-metrics.md, "
        "cluster/node-metrics.md; chart values.yaml service.port 8080"),
    "prometheus-node-exporter": Exported(9100, frozenset({
        "node_cpu_seconds_total", "node_memory_MemAvailable_bytes", "node_filesystem_avail_bytes",
        "node_filesystem_size_bytes",
    }), "prometheus/node_exporter@v1.12.1 collector/cpu_linux.go, meminfo.go, filesystem_common.go; chart "
        "values.yaml service.port 9100"),
    "dcgm-exporter": Exported(9400, frozenset({
        "DCGM_FI_DEV_GPU_UTIL", "DCGM_FI_DEV_GPU_TEMP", "DCGM_FI_DEV_FB_USED", "DCGM_FI_DEV_POWER_USAGE",
    }), "NVIDIA/dcgm-exporter@4.5.3-4.8.2 etc/default-counters.csv; chart values.yaml service.port 9400"),
}  # fmt: skip
"""Chart -> what it exports (the series the rules may use)."""

PROMQL_WORDS = frozenset({"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "offset", "and",
                          "or", "unless"})  # fmt: skip


def series_of(expression: str) -> set[str]:
    """The metric names a PromQL expression reads: not functions, keywords, label names, durations or numbers."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', "", expression)  # label values
    text = re.sub(r"\{[^}]*\}", "", text)  # selectors
    text = re.sub(r"\[[^\]]*\]", "", text)  # ranges
    text = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", text)  # groupings
    names = re.findall(r"\b[A-Za-z_:][A-Za-z0-9_:]*\b(?!\s*\()", text)
    return {name for name in names if name not in PROMQL_WORDS and not re.fullmatch(r"[\d.]+[a-z]*", name)}


def rules(stacks: Sequence[StackTemplate]) -> Iterator[tuple[StackTemplate, str, dict[str, Any]]]:
    for stack in stacks:
        for logical_id, p in stack.of_type("AWS::APS::RuleGroupsNamespace"):
            for group in yaml.safe_load(p["Data"])["groups"]:
                for rule in group["rules"]:
                    yield stack, logical_id, rule


def scrape_jobs(stacks: Sequence[StackTemplate]) -> dict[str, tuple[str, int]]:
    """Every collector's job -> (the chart its keep rule selects by app.kubernetes.io/name, the port)."""
    jobs = {}
    for stack in stacks:
        for _, p in stack.of_type("AWS::APS::Scraper"):
            blob = p["ScrapeConfiguration"]["ConfigurationBlob"]
            configuration = yaml.safe_load(blob["Fn::Base64"] if isinstance(blob, dict) else blob)
            for job in configuration["scrape_configs"]:
                for relabel in job.get("relabel_configs", []):
                    labels = relabel.get("source_labels", [])
                    if relabel.get("action") == "keep" and labels == [
                        "__meta_kubernetes_service_label_app_kubernetes_io_name",
                        "__meta_kubernetes_endpoint_port_number",
                    ]:
                        chart, port = relabel["regex"].split(";")
                        jobs[job["job_name"]] = (chart, int(port))
    return jobs


def installed_charts(stacks: Sequence[StackTemplate]) -> set[str]:
    return {str(p["Chart"]) for stack in stacks for _, p in stack.of_type(HELM_CHART)}


def prometheus_failures(stacks: Sequence[StackTemplate]) -> list[str]:
    """Why a rule's series would never arrive: no chart exports it, the chart is not installed, or no job scrapes
    the chart's Service on its port."""
    charts = installed_charts(stacks)
    scraped = set(scrape_jobs(stacks).values())
    failures = []
    for stack, logical_id, rule in rules(stacks):
        where = f"{stack.where(logical_id)} {rule['alert']}"
        for series in sorted(series_of(rule["expr"])):
            exporters = [chart for chart, exported in EXPORTED.items() if series in exported.series]
            if not exporters:
                failures.append(f"{where}: no exporter in EXPORTED publishes {series}")
                continue
            for chart in exporters:
                if chart not in charts:
                    failures.append(f"{where}: {series} comes from {chart}, which no template installs")
                elif (chart, EXPORTED[chart].port) not in scraped:
                    failures.append(f"{where}: no scrape job keeps {chart}'s Service on {EXPORTED[chart].port}")
    if not any(True for _ in rules(stacks)):
        failures.append("no rule groups namespace in the stage")
    return failures


def test_every_rule_reads_series_an_installed_scraped_exporter_publishes(
    platform: SynthesizedPlatform, stage: str
) -> None:
    stacks = stage_stacks(platform, stage)
    assert not (failures := prometheus_failures(stacks)), "\n".join(failures)
    names = {rule["alert"] for _, _, rule in rules(stacks)}
    assert {"GpuUnderutilised", "GpuTemperatureHigh", "PodRestartCount", "NodeHighCpu"} <= names  # seed 002


def test_series_of_reads_promql() -> None:
    assert series_of('1 - avg by (node) (rate(node_cpu_seconds_total{mode="idle"}[5m])) > 0.9') == {
        "node_cpu_seconds_total"
    }
    assert series_of("sum(rate(http_requests_total{status=~'5..'}[5m])) / sum(up)") == {"http_requests_total", "up"}


Edit = Callable[[list[StackTemplate]], None]


def drop_chart(chart: str) -> Edit:
    def edit(stacks: list[StackTemplate]) -> None:
        for stack in stacks:
            resources = stack.template["Resources"]
            for logical_id in [
                k for k, r in resources.items() if r["Type"] == HELM_CHART and r["Properties"]["Chart"] == chart
            ]:
                del resources[logical_id]

    return edit


def drop_job(job_name: str) -> Edit:
    def edit(stacks: list[StackTemplate]) -> None:
        for stack in stacks:
            for _, p in stack.of_type("AWS::APS::Scraper"):
                blob = p["ScrapeConfiguration"]["ConfigurationBlob"]
                configuration = yaml.safe_load(blob["Fn::Base64"])
                configuration["scrape_configs"] = [
                    j for j in configuration["scrape_configs"] if j["job_name"] != job_name
                ]
                blob["Fn::Base64"] = yaml.safe_dump(configuration)

    return edit


def add_rule(expression: str) -> Edit:
    def edit(stacks: list[StackTemplate]) -> None:
        for stack in stacks:
            for _, p in stack.of_type("AWS::APS::RuleGroupsNamespace"):
                data = yaml.safe_load(p["Data"])
                data["groups"][0]["rules"].append({"alert": "Mutation", "expr": expression})
                p["Data"] = yaml.safe_dump(data)

    return edit


@dataclass(frozen=True)
class Mutation:
    breaks: str
    edit: Edit
    names: str


MUTATIONS = (
    Mutation("the DCGM exporter chart", drop_chart("dcgm-exporter"), "comes from dcgm-exporter, which no template"),
    Mutation("the node exporter's scrape job", drop_job("node-exporter"),
             "no scrape job keeps prometheus-node-exporter"),
    Mutation("a rule on an application series", add_rule("rate(http_requests_total[5m]) > 1"),
             "no exporter in EXPORTED publishes http_requests_total"),
)  # fmt: skip


@pytest.mark.parametrize("mutation", MUTATIONS, ids=lambda mutation: mutation.breaks)
def test_the_contract_names_each_break(mutation: Mutation, platform: SynthesizedPlatform, stage: str) -> None:
    stacks = [copied(stack) for stack in stage_stacks(platform, stage)]
    mutation.edit(stacks)
    failures = prometheus_failures(stacks)
    assert failures and all(mutation.names in failure for failure in failures), "\n".join(failures)
