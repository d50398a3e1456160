"""Glue data-quality job (seed 003): evaluates the curated ruleset and fails the run when it fails.

Arguments: --JOB_NAME, --catalog_database, --curated_table, --ruleset_name.
"""

import sys

import boto3
from awsglue.context import GlueContext
from awsglue.job import Job
from awsglue.utils import getResolvedOptions
from awsgluedq.transforms import EvaluateDataQuality
from pyspark.context import SparkContext

args = getResolvedOptions(sys.argv, ["JOB_NAME", "catalog_database", "curated_table", "ruleset_name"])
glue = GlueContext(SparkContext.getOrCreate())
job = Job(glue)
job.init(args["JOB_NAME"], args)

ruleset = boto3.client("glue").get_data_quality_ruleset(Name=args["ruleset_name"])["Ruleset"]
curated = glue.create_dynamic_frame.from_catalog(database=args["catalog_database"], table_name=args["curated_table"])
results = EvaluateDataQuality.apply(
    frame=curated,
    ruleset=ruleset,
    publishing_options={
        "dataQualityEvaluationContext": args["ruleset_name"],
        "enableDataQualityResultsPublishing": True,
    },
)
failed = results.toDF().where("Outcome = 'Failed'").count()
job.commit()
if failed:
    raise RuntimeError(f"{failed} data-quality rules failed on {args['curated_table']}")
