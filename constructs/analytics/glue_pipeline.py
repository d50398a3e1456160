"""Glue (seed 003): the lake's catalog, crawlers for raw and processed, an ETL job, a data-quality ruleset
on the curated table with the job that evaluates it, and a workflow chaining them. Everything Glue writes
(S3 output, CloudWatch logs, job bookmarks) is KMS-encrypted by one security configuration."""

from __future__ import annotations

from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_glue as glue
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3_assets as assets
from constructs import Construct
from constructs.analytics.data_lake import DataLake
from constructs.common.acknowledgments import acknowledge
from constructs.common.managed_policy_role import ManagedPolicyRole

from environments.schema.analytics import GlueConfig

SCRIPTS = Path(__file__).resolve().parents[2] / "glue_jobs"
CURATED_TABLE = "curated_events"
CURATED_COLUMNS = (("eventid", "string"), ("eventtype", "string"), ("tenantid", "string"), ("eventtime", "timestamp"))
QUALITY_RULES = (
    'Rules = [ IsComplete "eventid", IsUnique "eventid", IsComplete "eventtime", '
    'ColumnValues "eventtype" matches "[a-z][a-z0-9_.-]*", RowCount > 0 ]'
)
"""DQDL for the curated events: identified, unique, timestamped, well-typed, and not empty."""


class GluePipeline(Construct):
    """`database`, `security_configuration`, `role`, `crawlers` (raw, processed), `etl_job`,
    `quality_ruleset`, `quality_job` and `workflow` with its `triggers`."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        glue_config: GlueConfig,
        database_name: str,
        name_prefix: str,
        lake: DataLake,
        storage_key: kms.IKey,
        logs_key: kms.IKey,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        self.database = glue.CfnDatabase(
            self,
            "Database",
            catalog_id=stack.account,
            database_input=glue.CfnDatabase.DatabaseInputProperty(
                name=database_name, description="Data lake catalog: raw, processed and curated zones"
            ),
        )
        self.security_configuration = glue.CfnSecurityConfiguration(
            self,
            "SecurityConfiguration",
            name=f"{name_prefix}-lake",
            encryption_configuration=glue.CfnSecurityConfiguration.EncryptionConfigurationProperty(
                s3_encryptions=[
                    glue.CfnSecurityConfiguration.S3EncryptionProperty(
                        s3_encryption_mode="SSE-KMS", kms_key_arn=storage_key.key_arn
                    )
                ],
                cloud_watch_encryption=glue.CfnSecurityConfiguration.CloudWatchEncryptionProperty(
                    cloud_watch_encryption_mode="SSE-KMS", kms_key_arn=logs_key.key_arn
                ),
                job_bookmarks_encryption=glue.CfnSecurityConfiguration.JobBookmarksEncryptionProperty(
                    job_bookmarks_encryption_mode="CSE-KMS", kms_key_arn=storage_key.key_arn
                ),
            ),
        )
        scripts = {
            name: assets.Asset(self, f"{name.title().replace('_', '')}Script", path=str(SCRIPTS / f"{name}.py"))
            for name in ("raw_to_curated", "curated_quality")
        }
        self.role = self._role(stack, lake, storage_key, logs_key, scripts.values(), database_name)

        self.crawlers = {
            zone: glue.CfnCrawler(
                self,
                f"{zone.capitalize()}Crawler",
                role=self.role.role_arn,
                database_name=database_name,
                table_prefix=f"{zone}_",
                targets=glue.CfnCrawler.TargetsProperty(
                    s3_targets=[glue.CfnCrawler.S3TargetProperty(path=f"s3://{lake.zones[zone].bucket_name}/")]
                ),
                schedule=glue.CfnCrawler.ScheduleProperty(schedule_expression=glue_config.crawler_schedule)
                if zone == "raw"
                else None,
                crawler_security_configuration=self.security_configuration.name,
                schema_change_policy=glue.CfnCrawler.SchemaChangePolicyProperty(
                    update_behavior="UPDATE_IN_DATABASE", delete_behavior="LOG"
                ),
            )
            for zone in ("raw", "processed")
        }
        for crawler in self.crawlers.values():
            crawler.add_resource_dependency(self.database)

        self.curated_table = glue.CfnTable(
            self,
            "CuratedTable",
            catalog_id=stack.account,
            database_name=database_name,
            table_input=glue.CfnTable.TableInputProperty(
                name=CURATED_TABLE,
                table_type="EXTERNAL_TABLE",
                parameters={"classification": "parquet"},
                partition_keys=[glue.CfnTable.ColumnProperty(name="day", type="date")],
                storage_descriptor=glue.CfnTable.StorageDescriptorProperty(
                    location=f"s3://{lake.curated.bucket_name}/analytics/events/",
                    input_format="org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
                    output_format="org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
                    serde_info=glue.CfnTable.SerdeInfoProperty(
                        serialization_library="org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
                    ),
                    columns=[glue.CfnTable.ColumnProperty(name=n, type=t) for n, t in CURATED_COLUMNS],
                ),
            ),
        )
        self.curated_table.add_resource_dependency(self.database)
        self.quality_ruleset = glue.CfnDataQualityRuleset(
            self,
            "CuratedRuleset",
            name=f"{name_prefix}-curated-events",
            ruleset=QUALITY_RULES,
            target_table=glue.CfnDataQualityRuleset.DataQualityTargetTableProperty(
                database_name=database_name, table_name=CURATED_TABLE
            ),
        )
        self.quality_ruleset.add_resource_dependency(self.curated_table)

        common_arguments = {
            "--catalog_database": database_name,
            "--enable-continuous-cloudwatch-log": "true",
            "--enable-metrics": "true",
            "--job-language": "python",
        }
        self.etl_job = self._job(
            "RawToCurated",
            scripts["raw_to_curated"],
            glue_config,
            {
                **common_arguments,
                "--job-bookmark-option": "job-bookmark-enable",
                "--raw_table": "raw_events",
                "--processed_path": f"s3://{lake.processed.bucket_name}/daily/events/",
                "--curated_path": f"s3://{lake.curated.bucket_name}/analytics/events/",
            },
        )
        self.quality_job = self._job(
            "CuratedQualityJob",
            scripts["curated_quality"],
            glue_config,
            {**common_arguments, "--curated_table": CURATED_TABLE, "--ruleset_name": self.quality_ruleset.name or ""},
        )

        self.workflow = glue.CfnWorkflow(
            self, "Workflow", name=f"{name_prefix}-lake", description="crawl raw -> ETL -> crawl processed -> quality"
        )
        raw, processed = self.crawlers["raw"], self.crawlers["processed"]
        self.triggers = [
            self._trigger("Start", "SCHEDULED", glue.CfnTrigger.ActionProperty(crawler_name=raw.ref),
                          schedule=glue_config.workflow_schedule),
            self._trigger("AfterRawCrawl", "CONDITIONAL", glue.CfnTrigger.ActionProperty(job_name=self.etl_job.ref),
                          condition=glue.CfnTrigger.ConditionProperty(
                              crawler_name=raw.ref, crawl_state="SUCCEEDED", logical_operator="EQUALS")),
            self._trigger("AfterEtl", "CONDITIONAL", glue.CfnTrigger.ActionProperty(crawler_name=processed.ref),
                          condition=glue.CfnTrigger.ConditionProperty(
                              job_name=self.etl_job.ref, state="SUCCEEDED", logical_operator="EQUALS")),
            self._trigger("AfterProcessedCrawl", "CONDITIONAL",
                          glue.CfnTrigger.ActionProperty(job_name=self.quality_job.ref),
                          condition=glue.CfnTrigger.ConditionProperty(
                              crawler_name=processed.ref, crawl_state="SUCCEEDED", logical_operator="EQUALS")),
        ]  # fmt: skip

    def _role(
        self,
        stack: cdk.Stack,
        lake: DataLake,
        storage_key: kms.IKey,
        logs_key: kms.IKey,
        scripts: object,
        database_name: str,
    ) -> iam.IRole:
        """Glue's role: the lake, its keys, its scripts, its own encrypted logs and catalog database."""
        buckets = list(lake.zones.values())
        glue_logs = stack.format_arn(
            service="logs",
            resource="log-group",
            resource_name="/aws-glue/*",
            arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
        )
        role = ManagedPolicyRole(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("glue.amazonaws.com"),
            description="Glue crawlers and jobs of the data lake",
            aws_managed_policies=["service-role/AWSGlueServiceRole"],
            statements=[
                iam.PolicyStatement(
                    sid="LakeList", actions=["s3:ListBucket"], resources=[b.bucket_arn for b in buckets]
                ),
                iam.PolicyStatement(
                    sid="LakeObjects",
                    actions=["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
                    resources=[b.arn_for_objects("*") for b in buckets],
                ),
                iam.PolicyStatement(
                    sid="Scripts",
                    actions=["s3:GetObject"],
                    resources=[a.bucket.arn_for_objects(a.s3_object_key) for a in scripts],  # type: ignore[attr-defined]
                ),
                iam.PolicyStatement(
                    sid="Keys",
                    actions=["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"],
                    resources=[storage_key.key_arn, logs_key.key_arn],
                ),
                iam.PolicyStatement(sid="EncryptedLogs", actions=["logs:AssociateKmsKey"], resources=[glue_logs]),
            ],
        )
        acknowledge(
            role,
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSGlueServiceRole]",
            "The AWS-managed Glue service-role policy: the catalog and data quality (glue:*), its own logs and "
            "metrics, ENIs for jobs.",
        )
        for bucket in buckets:
            logical_id = stack.get_logical_id(bucket.node.default_child)  # type: ignore[arg-type]
            acknowledge(role, f"AwsSolutions-IAM5[Resource::<{logical_id}.Arn>/*]", "Jobs read and write lake objects.")
        acknowledge(role, f"AwsSolutions-IAM5[Resource::{glue_logs}]", "Glue names its log groups /aws-glue/...")
        return role.role

    def _job(
        self, construct_id: str, script: assets.Asset, glue_config: GlueConfig, arguments: dict[str, str]
    ) -> glue.CfnJob:
        return glue.CfnJob(
            self,
            construct_id,
            role=self.role.role_arn,
            command=glue.CfnJob.JobCommandProperty(
                name="glueetl", python_version="3", script_location=script.s3_object_url
            ),
            glue_version=glue_config.version,
            worker_type="G.1X",
            number_of_workers=glue_config.etl_workers,
            timeout=glue_config.etl_timeout_minutes,
            max_retries=1,
            security_configuration=self.security_configuration.name,
            default_arguments=arguments,
            execution_property=glue.CfnJob.ExecutionPropertyProperty(max_concurrent_runs=1),
        )

    def _trigger(
        self,
        construct_id: str,
        trigger_type: str,
        action: glue.CfnTrigger.ActionProperty,
        *,
        schedule: str | None = None,
        condition: glue.CfnTrigger.ConditionProperty | None = None,
    ) -> glue.CfnTrigger:
        return glue.CfnTrigger(
            self,
            construct_id,
            type=trigger_type,
            workflow_name=self.workflow.ref,
            actions=[action],
            schedule=schedule,
            start_on_creation=True,
            predicate=glue.CfnTrigger.PredicateProperty(conditions=[condition]) if condition else None,
        )
