"""The recovery model (environments/recovery.py): the loader rejects a stage whose design cannot meet its
regional-loss targets, one line naming the file and the field; prod's example meets 1 h / 1 h."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from environments.loader import load_stage
from environments.recovery import DNS_MINUTES, GLOBAL_DATABASE, S3_RTC, recovery_model
from tests.config.loading import Mutation, example_data, load_problems
from tests.stage_files import EXAMPLE_CONFIG

_stage = example_data


def _problems(tmp_path: Path, base: str, mutate: Mutation) -> list[str]:
    return load_problems(tmp_path, base, mutate, base=base)


def _recovery(**values: Any) -> Mutation:
    def mutate(data: dict[str, Any]) -> None:
        data.setdefault("recovery", {}).update(values)

    return mutate


def _drop_outside(key: str) -> Mutation:
    def mutate(data: dict[str, Any]) -> None:
        del data["recovery"]["outside_rpo"][key]

    return mutate


def _both(*mutations: Mutation) -> Mutation:
    def mutate(data: dict[str, Any]) -> None:
        for mutation in mutations:
            mutation(data)

    return mutate


def _set(path: str, value: Any) -> Mutation:
    def mutate(data: dict[str, Any]) -> None:
        *parents, leaf = path.split(".")
        node: Any = data
        for part in parents:
            node = node[int(part)] if part.isdigit() else node[part]
        node[int(leaf) if leaf.isdigit() else leaf] = value

    return mutate


def _only_secondary(role: str) -> Mutation:
    def mutate(data: dict[str, Any]) -> None:
        data["regions"] = [data["regions"][0], {**data["regions"][2], "role": role}]

    return mutate


REJECTIONS = [
    (
        "targets with one region",
        "dev",
        _recovery(rto_minutes=60),
        "recovery.rto_minutes: a regional-loss target needs a secondary region to fail over to",
    ),
    (
        "an RPO with one region",
        "dev",
        _recovery(rpo_minutes=60),
        "recovery.rpo_minutes: a regional-loss target needs a secondary region to fail over to",
    ),
    (
        "a table protected only by daily backup copies",
        "prod",
        _recovery(replicate_tables=["conversations"]),
        "recovery.replicate_tables: DynamoDB table sessions cannot meet recovery.rpo_minutes 60: AWS Backup copy "
        "only (daily recovery points copied to the region's vault) (RPO 29 h)",
    ),
    (
        "PostgreSQL on RDS: no global database, daily copies only",
        "prod",
        _both(
            _set("data.database.engine", "rds"),
            _set("data.database.aurora", None),
            _set(
                "data.database.rds",
                {
                    "instance_class": "r6g.large",
                    "multi_az": True,
                    "allocated_storage_gib": 100,
                    "max_allocated_storage_gib": 500,
                },
            ),
        ),
        "data.database.engine: PostgreSQL (RDS) cannot meet recovery.rpo_minutes 60",
    ),
    (
        "an unreplicated bucket not declared",
        "prod",
        _drop_outside("buckets.backups"),
        "recovery.replicate_buckets: S3 bucket backups cannot meet recovery.rpo_minutes 60: not replicated "
        "(RPO unbounded); add backups to recovery.replicate_buckets",
    ),
    (
        "a store with no cross-region copy not declared",
        "prod",
        _drop_outside("graph"),
        "recovery.outside_rpo: Neptune graph cannot meet recovery.rpo_minutes 60: not replicated (RPO unbounded); "
        "list graph in recovery.outside_rpo",
    ),
    (
        "an RPO tighter than EFS replication's 15 minutes",
        "prod",
        _recovery(rpo_minutes=10),
        "recovery.rpo_minutes: EFS shared-models file system cannot meet recovery.rpo_minutes 10: EFS replication",
    ),
    (
        "an RTO the decision alone exceeds",
        "prod",
        _recovery(rto_minutes=20, decision_minutes=20),
        "recovery.rto_minutes: failing over to eu-west-1 takes 30 min by the recovery model (detection and "
        "decision 20 + promotion (database, the longest track) 5 + verify 5), more than 20",
    ),
    (
        "a standby-only secondary scales up within the RTO's sum",
        "prod",
        _both(_only_secondary("standby"), _recovery(rto_minutes=30)),
        "recovery.rto_minutes: failing over to ap-southeast-1 takes 35 min by the recovery model (detection and "
        "decision 15 + promotion (compute, the longest track) 15 + verify 5), more than 30",
    ),
    (
        "declaring what meets the RPO anyway",
        "prod",
        _recovery(outside_rpo={**_stage("prod")["recovery"]["outside_rpo"], "tables.sessions": "x" * 30}),
        "recovery.outside_rpo.tables.sessions: DynamoDB table sessions meets rpo_minutes 60 by DynamoDB global "
        "table (multi-active replica); remove it",
    ),
    (
        "declaring a store the stage does not build",
        "prod",
        _set("data.graph", {"mode": "off"}),
        "recovery.outside_rpo.graph: the stage builds no graph",
    ),
    (
        "declaring without an RPO",
        "prod",
        _recovery(rpo_minutes=None),
        "recovery.outside_rpo.cache: there is no recovery.rpo_minutes to be outside of",
    ),
    (
        "a reason too short to be one",
        "prod",
        _recovery(outside_rpo={"cache": "fine"}),
        "recovery.outside_rpo.cache: needs at least 20 characters",
    ),
]


@pytest.mark.parametrize(
    ("base", "mutate", "expected"), [case[1:] for case in REJECTIONS], ids=[case[0] for case in REJECTIONS]
)
def test_a_design_that_cannot_meet_its_targets_is_rejected(
    tmp_path: Path, base: str, mutate: Mutation, expected: str
) -> None:
    problems = _problems(tmp_path, base, mutate)
    matching = [line for line in problems if expected in line]
    assert matching, problems
    assert all(line.startswith(f"{tmp_path / base}.yaml: ") and "\n" not in line for line in problems)


def test_prods_example_meets_its_targets() -> None:
    config = load_stage("prod", EXAMPLE_CONFIG)
    model = recovery_model(config)
    assert model is not None
    assert (config.recovery.rto_minutes, config.recovery.rpo_minutes) == (60, 60)
    assert model.rto_minutes <= 60
    rpo = model.rpo_minutes
    assert rpo is not None and rpo <= 60
    assert model.target.region == "eu-west-1"
    mechanisms = {c.key: c.mechanism for c in model.components}
    assert mechanisms["database"] is GLOBAL_DATABASE
    assert mechanisms["buckets.images"] is S3_RTC, "an RPO target replicates with Replication Time Control"
    declared = {c.key for c in model.components if not c.counted}
    assert declared == set(config.recovery.outside_rpo)
    assert model.rto_minutes >= DNS_MINUTES


@pytest.mark.parametrize("stage", ["dev", "staging"])
def test_single_region_stages_have_no_model_and_no_targets(stage: str) -> None:
    config = load_stage(stage, EXAMPLE_CONFIG)
    assert recovery_model(config) is None
    assert config.recovery.rto_minutes is None and config.recovery.rpo_minutes is None
