"""Glue Python shell job (seed 003): evaluates each data-quality ruleset on the partitions this workflow run
wrote, with results published to CloudWatch and S3, and waits for every evaluation. A ruleset that scores
below 1 raises its alarm through EventBridge (warning for processed, critical for curated); this job fails
only when an evaluation itself cannot run.
Arguments: --catalog_database, --rulesets (JSON: table -> ruleset name), --role_arn, --results_s3_prefix,
--WORKFLOW_NAME, --WORKFLOW_RUN_ID.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

POLL_SECONDS = 30
DONE = {"SUCCEEDED", "FAILED", "STOPPED", "TIMEOUT"}


def partition_predicate(event_dates: list[str]) -> str:
    """The push-down predicate that limits an evaluation to the run's event days."""
    return "event_date in (" + ", ".join(f"'{day}'" for day in event_dates) + ")"


def evaluate(glue: Any, args: dict[str, str], event_dates: list[str], sleep: Any = time.sleep) -> dict[str, str]:
    """Start one evaluation run per ruleset on `event_dates`, wait for them all: table -> final status."""
    runs = {}
    for table, ruleset in json.loads(args["rulesets"]).items():
        runs[table] = glue.start_data_quality_ruleset_evaluation_run(
            DataSource={"GlueTable": {"DatabaseName": args["catalog_database"], "TableName": table,
                                      "AdditionalOptions": {"pushDownPredicate": partition_predicate(event_dates)}}},
            Role=args["role_arn"],
            RulesetNames=[ruleset],
            AdditionalRunOptions={"CloudWatchMetricsEnabled": True, "ResultsS3Prefix": args["results_s3_prefix"]},
        )["RunId"]  # fmt: skip
    statuses: dict[str, str] = {}
    while len(statuses) < len(runs):
        for table, run_id in runs.items():
            status = glue.get_data_quality_ruleset_evaluation_run(RunId=run_id)["Status"]
            if status in DONE:
                statuses[table] = status
        if len(statuses) < len(runs):
            sleep(POLL_SECONDS)
    return statuses


def main() -> None:
    import boto3
    from awsglue.utils import getResolvedOptions

    args = getResolvedOptions(sys.argv, ["catalog_database", "rulesets", "role_arn", "results_s3_prefix",
                                         "WORKFLOW_NAME", "WORKFLOW_RUN_ID"])  # fmt: skip
    glue = boto3.client("glue")
    properties = glue.get_workflow_run_properties(Name=args["WORKFLOW_NAME"], RunId=args["WORKFLOW_RUN_ID"])
    event_dates = [day for day in properties["RunProperties"].get("event_dates", "").split(",") if day]
    if not event_dates:
        return
    failed = {table: status for table, status in evaluate(glue, args, event_dates).items() if status != "SUCCEEDED"}
    if failed:
        raise RuntimeError(f"data-quality evaluations did not complete: {failed}")


if __name__ == "__main__":
    main()
