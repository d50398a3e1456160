"""The Glue entry points stay thin and importable without awsglue (Glue 5.0 supplies it; the tests and the
synth do not have it), and the quality runner evaluates every ruleset on the run's partitions and waits."""

from __future__ import annotations

import importlib.util
import json
import sys
from types import ModuleType
from typing import Any

import pytest
from constructs.analytics.glue_pipeline import SCRIPTS

ENTRY_POINTS = ("raw_to_processed", "processed_aggregates", "run_quality", "report_failure")


def _script(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"glue_{name}", SCRIPTS / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("name", ENTRY_POINTS)
def test_entry_points_import_without_awsglue(name: str) -> None:
    assert "awsglue" not in sys.modules
    assert callable(_script(name).main)
    assert "awsglue" not in sys.modules


def test_the_quality_runner_evaluates_each_ruleset_on_the_run_partitions_and_waits() -> None:
    runner = _script("run_quality")

    class Glue:
        def __init__(self) -> None:
            self.started: list[dict[str, Any]] = []
            self.polls = 0

        def start_data_quality_ruleset_evaluation_run(self, **request: Any) -> dict[str, str]:
            self.started.append(request)
            return {"RunId": f"run-{len(self.started)}"}

        def get_data_quality_ruleset_evaluation_run(self, RunId: str) -> dict[str, str]:
            self.polls += 1
            return {"Status": "RUNNING" if self.polls <= 2 else "SUCCEEDED"}

    glue, naps = Glue(), list[float]()
    args = {"catalog_database": "lake", "role_arn": "arn:role", "results_s3_prefix": "s3://curated/quality-results/",
            "rulesets": json.dumps({"events_clean": "p-events-clean", "analytics": "p-analytics"})}  # fmt: skip
    statuses = runner.evaluate(glue, args, ["2025-01-30", "2025-01-31"], sleep=naps.append)
    assert statuses == {"events_clean": "SUCCEEDED", "analytics": "SUCCEEDED"} and naps
    first = glue.started[0]
    assert first["RulesetNames"] == ["p-events-clean"] and first["Role"] == "arn:role"
    table = first["DataSource"]["GlueTable"]
    assert (table["DatabaseName"], table["TableName"]) == ("lake", "events_clean")
    assert table["AdditionalOptions"]["pushDownPredicate"] == "event_date in ('2025-01-30', '2025-01-31')"
    assert first["AdditionalRunOptions"] == {"CloudWatchMetricsEnabled": True,
                                             "ResultsS3Prefix": "s3://curated/quality-results/"}  # fmt: skip
