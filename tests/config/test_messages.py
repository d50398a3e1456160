"""Validation messages in the words of someone editing a stage file: the expected form, never a regular
expression or a Python type name, and the fix where it is known (environments/messages.py)."""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from environments.loader import ConfigError, load_stage
from environments.messages import FORMS
from environments.schema.pipeline import PipelineConfig
from environments.schema.stage import StageConfig
from tests.stage_files import EXAMPLE_CONFIG

PYDANTIC_PHRASES = re.compile(
    r"Input should|String should|valid (tuple|integer|string|dictionary|boolean|number)|instance of|\(got |"
    r"after validation|\^|\$'|\\d|\[a-z"
)
"""What pydantic says and a config author should never read."""


def _problems(tmp_path: Path, path: str, value: Any, base: str = "dev") -> list[str]:
    data = yaml.safe_load((EXAMPLE_CONFIG / f"{base}.yaml").read_text())
    target = data
    *parents, leaf = path.split(".")
    for part in parents:
        target = target[int(part)] if part.isdigit() else target[part]
    target[int(leaf) if leaf.isdigit() else leaf] = copy.deepcopy(value)
    (tmp_path / f"{base}.yaml").write_text(yaml.safe_dump(data))
    with pytest.raises(ConfigError) as raised:
        load_stage(base, tmp_path)
    prefix = f"{tmp_path / f'{base}.yaml'}: "
    return [p.removeprefix(prefix) for p in raised.value.problems]


CASES = [
    # a pattern: the form in words, and the fix where the mistake is a known one
    ("data.cache.node_type", "t4g.medium",
     "t4g.medium is not an ElastiCache node type such as cache.t4g.medium — add the cache. prefix: cache.t4g.medium"),
    ("data.database.rds.instance_class", "db.t4g.medium",
     "db.t4g.medium is not an RDS instance class without the db. prefix, such as t4g.medium"
     " — drop the db. prefix: t4g.medium"),
    ("analytics.opensearch.data_instance_type", "t3.medium",
     "t3.medium is not an OpenSearch instance type such as r6g.large.search — add .search: t3.medium.search"),
    ("network.waf.geo_block", ["de"], "de is not a two-letter country code in capitals, such as DE — capitals: DE"),
    ("observability.alerting.critical_emails", ["ops"], "ops is not an e-mail address such as ops@example.com"),
    # text where YAML read a number: quote it
    ("platform.kubernetes_version", 1.36, 'platform.kubernetes_version: 1.36 must be text — quote versions: "1.36"'),
    ("data.database.engine_version", 17.6, '17.6 must be text — quote it: "17.6"'),
    ("account", 111111111111, 'account: 111111111111 must be text — quote it: "111111111111"'),
    # a choice YAML turned into a boolean, or spelt in another case
    ("analytics.msk.mode", False, 'false is not one of provisioned, serverless or off — quote it: "off"'),
    ("platform.node_groups.0.taints.0.effect", "NoSchedule",
     "is not one of NO_SCHEDULE, PREFER_NO_SCHEDULE or NO_EXECUTE — did you mean NO_SCHEDULE?"),
    # lists and mappings
    ("observability.alerting.critical_emails", "a@b.c", "expected a list — write it as a list: [a@b.c]"),
    ("availability_zones", {"a": 1}, "availability_zones: expected a list, not a mapping"),
    ("network.flow_logs", None, "network.flow_logs: is empty — give its settings"),
    # numbers and booleans written as text, and bounds
    ("network.subnet_prefix.app", "20", "network.subnet_prefix.app: 20 must be a number, not text — remove the quotes"),
    ("network.nat_gateways", "two", "network.nat_gateways: two is not a whole number"),
    ("edge.enabled", "true", "edge.enabled: 'true' must be true or false, not text — remove the quotes"),
    ("observability.xray_sampling_rate", 1.3,
     "observability.xray_sampling_rate: 1.3 is above the maximum of 1 — a fraction: 0.1 is 10 %"),
    ("kms.deletion_window_days", 3, "kms.deletion_window_days: 3 is below the minimum of 7"),
    ("platform.cluster_admin_principals", [], "platform.cluster_admin_principals: needs at least 1 entry"),
]  # fmt: skip


@pytest.mark.parametrize(("path", "value", "expected"), CASES, ids=[f"{c[0]}={c[1]!r}" for c in CASES])
def test_message_in_plain_words_with_the_fix(tmp_path: Path, path: str, value: Any, expected: str) -> None:
    problems = _problems(tmp_path, path, value)
    assert any(expected in p for p in problems), problems
    assert not [p for p in problems if PYDANTIC_PHRASES.search(p)], problems


def test_an_entry_that_fails_is_not_also_reported_as_an_empty_list(tmp_path: Path) -> None:
    problems = _problems(tmp_path, "network.interface_endpoints", ["ECR API"])
    assert problems == [
        "network.interface_endpoints.0: 'ECR API' is not an AWS service endpoint name such as 'ecr.api'"
    ]


def _patterns(schema: Any) -> Iterator[str]:
    if isinstance(schema, dict):
        if isinstance(schema.get("pattern"), str):
            yield schema["pattern"]
        for value in schema.values():
            yield from _patterns(value)
    elif isinstance(schema, list):
        for value in schema:
            yield from _patterns(value)


def test_every_pattern_of_the_schema_has_its_form_in_words() -> None:
    patterns = set(_patterns(StageConfig.model_json_schema())) | set(_patterns(PipelineConfig.model_json_schema()))
    assert patterns, "the schema has patterns"
    missing = sorted(patterns - set(FORMS))
    assert not missing, f"add these to environments/messages.py FORMS: {missing}"
    assert not [form for form in FORMS.values() if PYDANTIC_PHRASES.search(form)]
