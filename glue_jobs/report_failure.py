"""Glue Python shell job: the workflow's on-failure path. When the crawler, the ETL, the aggregates or the
quality job fails, it counts the failed run (FailedWorkflowRuns), which raises the critical alarm that says
the day's processed and curated data are missing, whichever step broke.
Arguments: --metrics_namespace, --WORKFLOW_NAME.
"""

from __future__ import annotations

import sys


def main() -> None:
    import boto3
    from awsglue.utils import getResolvedOptions

    args = getResolvedOptions(sys.argv, ["metrics_namespace", "WORKFLOW_NAME"])
    boto3.client("cloudwatch").put_metric_data(
        Namespace=args["metrics_namespace"],
        MetricData=[{"MetricName": "FailedWorkflowRuns", "Value": 1, "Unit": "Count",
                     "Dimensions": [{"Name": "Workflow", "Value": args["WORKFLOW_NAME"]}]}],
    )  # fmt: skip


if __name__ == "__main__":
    main()
