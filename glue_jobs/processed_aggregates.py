"""Glue entry point (seed 003): processed events_clean -> daily_agg, hourly_agg, realtime_agg and the curated
analytics, reporting and ml_datasets, for the event days the ETL rewrote in this workflow run.

Thin: Glue set-up, then lake_jobs.run_aggregates (tested on a local Spark).
Arguments: --JOB_NAME, --catalog_database, --WORKFLOW_NAME, --WORKFLOW_RUN_ID.
"""

from __future__ import annotations

import sys


def main() -> None:
    import boto3
    import lake_jobs
    from awsglue.context import GlueContext
    from awsglue.job import Job
    from awsglue.utils import getResolvedOptions
    from pyspark.context import SparkContext

    args = getResolvedOptions(sys.argv, ["JOB_NAME", "catalog_database", "WORKFLOW_NAME", "WORKFLOW_RUN_ID"])
    glue = GlueContext(SparkContext.getOrCreate())
    job = Job(glue)
    job.init(args["JOB_NAME"], args)
    properties = boto3.client("glue").get_workflow_run_properties(
        Name=args["WORKFLOW_NAME"], RunId=args["WORKFLOW_RUN_ID"]
    )["RunProperties"]
    event_dates = [day for day in properties.get("event_dates", "").split(",") if day]
    lake_jobs.run_aggregates(glue.spark_session, args["catalog_database"], event_dates)
    job.commit()


if __name__ == "__main__":
    main()
