"""Glue ETL entry point (seed 003): raw logs/events/feeds -> quarantine + processed events_clean.

Thin: Glue set-up, then lake_jobs.run_etl (tested on a local Spark). It counts the quarantined records in
CloudWatch (QuarantinedRecords by source) and hands the event days it rewrote to the aggregates and quality
jobs as the workflow run's `event_dates` property.
Arguments: --JOB_NAME, --catalog_database, --lookback_days, --metrics_namespace (and, in the workflow,
--WORKFLOW_NAME, --WORKFLOW_RUN_ID).
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime


def main() -> None:
    import boto3
    import event_schema
    import lake_jobs
    from awsglue.context import GlueContext
    from awsglue.job import Job
    from awsglue.utils import getResolvedOptions
    from pyspark.context import SparkContext

    names = ["JOB_NAME", "catalog_database", "lookback_days", "metrics_namespace"]
    in_workflow = "--WORKFLOW_RUN_ID" in sys.argv
    args = getResolvedOptions(sys.argv, names + (["WORKFLOW_NAME", "WORKFLOW_RUN_ID"] if in_workflow else []))
    glue = GlueContext(SparkContext.getOrCreate())
    job = Job(glue)
    job.init(args["JOB_NAME"], args)
    result = lake_jobs.run_etl(
        glue.spark_session,
        args["catalog_database"],
        event_schema,
        event_schema.SOURCES,
        datetime.now(UTC).date(),
        int(args["lookback_days"]),
    )
    boto3.client("cloudwatch").put_metric_data(
        Namespace=args["metrics_namespace"],
        MetricData=[
            {"MetricName": "QuarantinedRecords", "Dimensions": [{"Name": "Source", "Value": source}],
             "Value": count, "Unit": "Count"}
            for source, count in result.quarantined.items()
        ],
    )  # fmt: skip
    if in_workflow:
        boto3.client("glue").put_workflow_run_properties(
            Name=args["WORKFLOW_NAME"], RunId=args["WORKFLOW_RUN_ID"],
            RunProperties={"event_dates": ",".join(result.event_dates)},
        )  # fmt: skip
    job.commit()


if __name__ == "__main__":
    main()
