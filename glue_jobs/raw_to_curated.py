"""Glue ETL (seed 003): raw JSON events -> processed (Parquet, by day) -> curated events table.

Runs on Glue with job bookmarks, so each run reads only what arrived since the last one.
Arguments: --JOB_NAME, --catalog_database, --raw_table, --processed_path, --curated_path.
"""

import sys

from awsglue.context import GlueContext
from awsglue.job import Job
from awsglue.utils import getResolvedOptions
from pyspark.context import SparkContext
from pyspark.sql import functions as F

args = getResolvedOptions(sys.argv, ["JOB_NAME", "catalog_database", "raw_table", "processed_path", "curated_path"])
glue = GlueContext(SparkContext.getOrCreate())
job = Job(glue)
job.init(args["JOB_NAME"], args)

raw = glue.create_dynamic_frame.from_catalog(
    database=args["catalog_database"], table_name=args["raw_table"], transformation_ctx="raw"
).toDF()
if raw.take(1):
    processed = (
        raw.dropDuplicates(["eventId"])
        .withColumn("eventTime", F.to_timestamp("timestamp"))
        .withColumn("day", F.to_date("eventTime"))
    )
    processed.write.mode("append").partitionBy("day").parquet(args["processed_path"])
    curated = processed.select("eventId", "eventType", "tenantId", "eventTime", "day").where(
        F.col("eventId").isNotNull()
    )
    curated.write.mode("append").partitionBy("day").parquet(args["curated_path"])
job.commit()
