"""Bad stage files fail with one line per problem naming the file and the field."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from environments.loader import ConfigError, available_stages, load_stage, load_stages
from tests.conftest import REPO_ROOT

Mutation = Callable[[dict[str, Any]], None]


def _base(stage: str = "dev") -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((REPO_ROOT / "environments" / f"{stage}.yaml").read_text())
    return data


def _set(path: str, value: Any) -> Mutation:
    def mutate(data: dict[str, Any]) -> None:
        *parents, leaf = path.split(".")
        for part in parents:
            data = data[part]
        data[leaf] = value

    return mutate


def _problems(tmp_path: Path, stage: str, mutate: Mutation, base: str = "dev") -> list[str]:
    data = copy.deepcopy(_base(base))
    mutate(data)
    (tmp_path / f"{stage}.yaml").write_text(yaml.safe_dump(data))
    with pytest.raises(ConfigError) as raised:
        load_stage(stage, tmp_path)
    return raised.value.problems


def test_the_committed_stages_are_valid() -> None:
    configs = load_stages(config_dir=REPO_ROOT / "environments")
    assert [c.name for c in configs] == ["dev", "prod", "staging"]
    assert available_stages(REPO_ROOT / "environments") == ["dev", "prod", "staging"]


CASES = [
    ("unknown key", _set("network.cidrr", "10.0.0.0/16"), "network.cidrr: unknown key"),
    ("unknown top-level key", _set("colour", "blue"), "colour: unknown key"),
    ("wrong type", _set("network.nat_gateways", "two"), "network.nat_gateways: Input should be a valid integer"),
    ("wrong type for a list", _set("availability_zones", "us-east-1a"), "availability_zones: Input should be"),
    ("invalid CIDR", _set("network.cidr", "10.0.0.0/33"), "network.cidr: 10.0.0.0/33 is not a valid CIDR"),
    ("CIDR with host bits", _set("network.cidr", "10.0.0.1/16"), "network.cidr: 10.0.0.1/16 is not a valid CIDR"),
    ("VPC too large", _set("network.cidr", "10.0.0.0/8"), "network.cidr: 10.0.0.0/8: a VPC CIDR must be"),
    (
        "subnet plan that does not fit",
        _set("network.subnet_prefix.app", 19),
        "network.subnet_prefix.app: 3 subnets of /19 do not fit in the app tier's quarter (10.10.64.0/18)",
    ),
    ("too few AZs", _set("availability_zones", ["us-east-1a", "us-east-1b"]), "availability_zones: expected 3"),
    (
        "AZ outside the region",
        _set("availability_zones", ["us-east-1a", "us-east-1b", "eu-west-1a"]),
        "availability_zones.2: eu-west-1a is not an availability zone of us-east-1",
    ),
    (
        "duplicate AZ",
        _set("availability_zones", ["us-east-1a", "us-east-1a", "us-east-1b"]),
        "availability_zones: lists the same availability zone twice",
    ),
    ("account not 12 digits", _set("account", "12345"), "account: String should match pattern"),
    ("account unquoted", _set("account", 111111111111), "account: Input should be a valid string"),
    ("more NAT gateways than AZs", _set("network.nat_gateways", 4), "network.nat_gateways: 4 NAT gateways but only 3"),
    ("no NAT gateway", _set("network.nat_gateways", 0), "network.nat_gateways: Input should be greater than or equal"),
    (
        "retention CloudWatch refuses",
        _set("network.flow_logs.retention_days", 42),
        "network.flow_logs.retention_days: 42 days is not a retention CloudWatch Logs accepts",
    ),
    ("bad country code", _set("network.waf.geo_block", ["north korea"]), "network.waf.geo_block.0: String should"),
    ("KMS window too short", _set("kms.deletion_window_days", 3), "kms.deletion_window_days: Input should be greater"),
    ("missing section", lambda d: d.pop("network"), "network: required key is missing"),
    ("name is not a key", _set("name", "dev"), "name: the stage name comes from the file name"),
    ("bad endpoint name", _set("network.interface_endpoints", ["ECR API"]), "network.interface_endpoints.0: 'ECR API'"),
]


@pytest.mark.parametrize(("label", "mutate", "expected"), CASES, ids=[c[0] for c in CASES])
def test_bad_value_is_one_line_naming_file_and_field(
    tmp_path: Path, label: str, mutate: Mutation, expected: str
) -> None:
    problems = _problems(tmp_path, "dev", mutate)
    assert any(p.startswith(f"{tmp_path / 'dev.yaml'}: {expected}") for p in problems), problems
    assert all("\n" not in p for p in problems)


def test_prod_rules(tmp_path: Path) -> None:
    problems = _problems(tmp_path, "prod", _set("allow_destroy", True), base="prod")
    assert problems == [
        f"{tmp_path / 'prod.yaml'}: allow_destroy: prod must retain its data; allow_destroy cannot be true"
    ]
    problems = _problems(tmp_path, "prod", _set("network.nat_gateways", 1), base="prod")
    assert problems == [
        f"{tmp_path / 'prod.yaml'}: network.nat_gateways: prod needs one NAT gateway per availability zone "
        "to survive an AZ loss"
    ]


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    def many(data: dict[str, Any]) -> None:
        data["account"] = "1"
        data["network"]["cidr"] = "nope"
        data["extra"] = 1

    problems = _problems(tmp_path, "dev", many)
    assert len(problems) == 3


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("", "the file is empty"),
        ("# only a comment\n", "the file is empty"),
        ("account: [unclosed\n", "line 2, column 1: invalid YAML: expected ',' or ']', but got '<stream end>'"),
        ("- a\n- list\n", "expected a mapping of settings at the top level, got list"),
    ],
    ids=["empty", "comment only", "broken YAML", "not a mapping"],
)
def test_unreadable_files(tmp_path: Path, content: str, expected: str) -> None:
    (tmp_path / "dev.yaml").write_text(content)
    with pytest.raises(ConfigError) as raised:
        load_stage("dev", tmp_path)
    assert raised.value.problems == [f"{tmp_path / 'dev.yaml'}: {expected}"]


def test_unknown_stage(tmp_path: Path) -> None:
    (tmp_path / "dev.yaml").write_text(yaml.safe_dump(_base()))
    with pytest.raises(ConfigError) as raised:
        load_stages(["qa"], tmp_path)
    assert raised.value.problems == [f"{tmp_path / 'qa.yaml'}: no such stage (stages with a file: dev)"]


def test_config_is_frozen() -> None:
    config = load_stage("dev", REPO_ROOT / "environments")
    with pytest.raises(ValueError, match="frozen"):
        config.network.nat_gateways = 2  # type: ignore[misc]
