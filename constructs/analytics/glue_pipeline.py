"""Glue (seed 003): the lake's catalog and declared tables, a crawler that registers the raw tables' new
partitions, the ETL (raw -> processed events), the aggregates job (processed events -> daily, hourly and
real-time aggregates and the curated datasets), data-quality rulesets on processed and curated with the job
that evaluates them, and a workflow chaining them with an on-failure path. Each job has its own role with
what it reads and writes, zone by zone. Everything Glue writes is KMS-encrypted by one security configuration.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_glue as glue
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_assets as assets
from constructs import Construct
from constructs.analytics.data_lake import DataLake
from constructs.analytics.lake_tables import RAW_TABLES, TABLES, LakeTables
from constructs.common.acknowledgments import acknowledge_all
from constructs.common.encrypted_log_group import EncryptedLogGroup
from constructs.common.managed_policy_role import ManagedPolicyRole

from environments.schema.analytics import GlueConfig
from lambdas.stream_processor import event_schema

REPO = Path(__file__).resolve().parents[2]
SCRIPTS = REPO / "glue_jobs"
LIBRARIES = {
    "JobLibrary": (SCRIPTS, ("lake_transforms.py", "lake_jobs.py")),
    "SchemaLibrary": (Path(event_schema.__file__).parent, ("event_schema.py",)),
}
"""What the Spark jobs import, shipped as --extra-py-files: the transforms, the job steps and the event
schema, each zip holding just those modules under their own names (a single-file asset is named after its
hash, and Glue imports a .py extra file by its file name)."""
QUALITY_RESULTS_PREFIX = "quality-results/"
FRESHNESS_HOURS = 36
"""The newest processed event may be this old: a daily run, plus a run's worth of slack."""
ANOMALY_HISTORY = 7
PYTHON_SHELL_VERSION = "3.0"
"""Python shell jobs (the quality runner, the failure report) run on Glue 3.0, Python 3.9: boto3 only."""


def _unique(*keys: str) -> str:
    """DQDL: no two rows share `keys` within a partition (event_date)."""
    group = ", ".join(("event_date", *keys))
    return f'CustomSql "select count(*) from (select {group} from primary group by {group} having count(*) > 1)" = 0'


def _complete(*columns: str) -> list[str]:
    return [f'IsComplete "{column}"' for column in columns]


ROW_COUNT = ["RowCount > 0", f"RowCount > avg(last({ANOMALY_HISTORY})) * 0.5"]
"""Not empty, and not less than half the recent runs' average (the row-count anomaly check)."""


@dataclass(frozen=True)
class Ruleset:
    """A DQDL ruleset on one table, with the severity of its failure (processed: warning, curated: critical)."""

    table: str
    severity: str
    rules: tuple[str, ...]

    @property
    def dqdl(self) -> str:
        return "Rules = [ " + ", ".join(self.rules) + " ]"


RULESETS = (
    Ruleset("events_clean", "warning", (
        # seed 003's checks: identified, unique, timestamped, well-typed, not empty
        'IsComplete "event_id"', 'IsUnique "event_id"', 'IsComplete "event_time"',
        f'ColumnValues "event_type" matches "{event_schema.EVENT_TYPE_PATTERN.strip("^$")}"',
        *_complete("event_type", "tenant_id", "entity_id", "source"),
        _unique("event_id"),
        "CustomSql \"select (unix_timestamp(current_timestamp()) - unix_timestamp(max(event_time))) / 3600 "
        f'from primary" < {FRESHNESS_HOURS}',
        *ROW_COUNT,
    )),
    Ruleset("daily_agg", "warning", (
        *_complete("tenant_id", "event_type", "event_count"), 'ColumnValues "event_count" > 0',
        _unique("tenant_id", "event_type"), *ROW_COUNT,
    )),
    Ruleset("analytics", "critical", (
        *_complete("tenant_id", "event_count"), 'ColumnValues "event_count" > 0', _unique("tenant_id"), *ROW_COUNT,
    )),
    Ruleset("reporting", "critical", (
        *_complete("event_type", "event_count"), 'ColumnValues "tenant_count" > 0', _unique("event_type"),
        *ROW_COUNT,
    )),
    Ruleset("ml_datasets", "critical", (
        *_complete("tenant_id", "entity_id", "event_count"), 'ColumnValues "active_hours" <= 24',
        _unique("tenant_id", "entity_id"), *ROW_COUNT,
    )),
)  # fmt: skip
"""What the quality job evaluates on the partitions each run wrote."""


@dataclass(frozen=True)
class Access:
    """What a job's role may do in the lake: read or write objects under prefixes of one zone."""

    zone: str
    prefixes: tuple[str, ...]
    write: bool


class GluePipeline(Construct):
    """`database` (named `database_name`), `tables` (LakeTables), `security_configuration`, `crawlers`
    (raw), `etl_job` and `aggregates_job` (importing the zips in `libraries`), `quality_rulesets` by table,
    `quality_job`, `failure_job`, the `roles` by job, and `workflow` with its `triggers`."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        glue_config: GlueConfig,
        database_name: str,
        name_prefix: str,
        metrics_namespace: str,
        lake: DataLake,
        storage_key: kms.IKey,
        logs_key: kms.IKey,
        log_retention_days: int,
        removal_policy: cdk.RemovalPolicy,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        self._lake, self._storage_key, self._logs_key = lake, storage_key, logs_key
        self._log_retention_days, self._removal_policy = log_retention_days, removal_policy
        self.database_name = database_name
        self.database = glue.CfnDatabase(
            self,
            "Database",
            catalog_id=stack.account,
            database_input=glue.CfnDatabase.DatabaseInputProperty(
                name=database_name, description="Data lake catalog: raw, processed and curated zones"
            ),
        )
        self.tables = LakeTables(self, "Tables", database=self.database, database_name=database_name, lake=lake)
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
        self.workflow = glue.CfnWorkflow(
            self,
            "Workflow",
            name=f"{name_prefix}-lake",
            description="register raw partitions -> ETL -> aggregates -> data quality; on failure, report",
        )
        self.libraries = [
            assets.Asset(self, construct_name, path=str(folder), exclude=["*", *(f"!{module}" for module in modules)])
            for construct_name, (folder, modules) in LIBRARIES.items()
        ]
        libraries = self.libraries
        raw_prefixes = tuple(spec.prefix for spec in RAW_TABLES)
        zone_prefixes = {zone: tuple(s.prefix for s in TABLES if s.zone == zone) for zone in ("processed", "curated")}
        self.roles: dict[str, iam.IRole] = {}

        crawler_role = self._role("Crawler", "Registers the raw tables' new partitions",
                                  [Access("raw", raw_prefixes, write=False)])  # fmt: skip
        self.crawlers = {
            "raw": glue.CfnCrawler(
                self,
                "RawCrawler",
                role=crawler_role.role_arn,
                description="Adds the partitions Firehose delivered to the declared raw tables",
                targets=glue.CfnCrawler.TargetsProperty(
                    catalog_targets=[
                        glue.CfnCrawler.CatalogTargetProperty(
                            database_name=database_name, tables=[spec.name for spec in RAW_TABLES]
                        )
                    ]
                ),
                schedule=glue.CfnCrawler.ScheduleProperty(schedule_expression=glue_config.crawler_schedule),
                crawler_security_configuration=self.security_configuration.name,
                # The tables are declared: the crawler adds partitions that inherit them, never changes a schema.
                schema_change_policy=glue.CfnCrawler.SchemaChangePolicyProperty(
                    update_behavior="LOG", delete_behavior="LOG"
                ),
                configuration=json.dumps({
                    "Version": 1.0,
                    "CrawlerOutput": {"Partitions": {"AddOrUpdateBehavior": "InheritFromTable"}},
                }),
            )
        }  # fmt: skip
        for spec in RAW_TABLES:
            self.crawlers["raw"].add_resource_dependency(self.tables.tables[spec.name])

        spark_arguments = {
            "--catalog_database": database_name,
            "--enable-glue-datacatalog": "true",
            "--enable-continuous-cloudwatch-log": "true",
            "--enable-metrics": "true",
            "--job-language": "python",
            "--extra-py-files": ",".join(library.s3_object_url for library in libraries),
        }
        self._run_time_logs(
            self.crawlers["raw"],
            {"RawCrawlerLogs": f"/aws-glue/crawlers-role/{crawler_role.role_name}-{self.security_configuration.name}"},
        )
        self.etl_job = self._job(
            "RawToProcessed",
            "raw_to_processed",
            glue_config,
            {**spark_arguments, "--lookback_days": str(glue_config.lookback_days),
             "--metrics_namespace": metrics_namespace},
            [Access("raw", raw_prefixes, write=False), Access("raw", ("quarantine/",), write=True),
             Access("processed", ("events/",), write=True)],
            libraries,
        )  # fmt: skip
        self.aggregates_job = self._job(
            "ProcessedAggregates",
            "processed_aggregates",
            glue_config,
            spark_arguments,
            [Access("processed", ("events/",), write=False),
             Access("processed", tuple(p for p in zone_prefixes["processed"] if p != "events/"), write=True),
             Access("curated", zone_prefixes["curated"], write=True)],
            libraries,
        )  # fmt: skip

        self.quality_rulesets = {
            ruleset.table: glue.CfnDataQualityRuleset(
                self,
                f"{ruleset.table.title().replace('_', '')}Ruleset",
                name=f"{name_prefix}-{ruleset.table.replace('_', '-')}",
                description=f"{ruleset.severity}: data quality of {ruleset.table}",
                ruleset=ruleset.dqdl,
                target_table=glue.CfnDataQualityRuleset.DataQualityTargetTableProperty(
                    database_name=database_name, table_name=ruleset.table
                ),
            )
            for ruleset in RULESETS
        }
        for table_name, evaluated in self.quality_rulesets.items():
            evaluated.add_resource_dependency(self.tables.tables[table_name])
        results_prefix = f"s3://{lake.curated.bucket_name}/{QUALITY_RESULTS_PREFIX}"
        self.quality_job = self._job(
            "QualityJob",
            "run_quality",
            glue_config,
            {"--catalog_database": database_name, "--results_s3_prefix": results_prefix,
             "--rulesets": json.dumps({r.table: self.quality_rulesets[r.table].name for r in RULESETS})},
            [Access("processed", zone_prefixes["processed"], write=False),
             Access("curated", zone_prefixes["curated"], write=False),
             Access("curated", (QUALITY_RESULTS_PREFIX,), write=True)],
            (),
            python_shell=True,
        )  # fmt: skip
        self.failure_job = self._job(
            "ReportFailure",
            "report_failure",
            glue_config,
            {"--metrics_namespace": metrics_namespace},
            [],
            (),
            python_shell=True,
        )

        raw = self.crawlers["raw"]
        steps = [(self.etl_job, self.aggregates_job), (self.aggregates_job, self.quality_job)]
        self.triggers = [
            self._trigger("Start", "SCHEDULED", self._action(crawler=raw), schedule=glue_config.workflow_schedule),
            self._trigger("AfterRawCrawl", "CONDITIONAL", self._action(job=self.etl_job),
                          conditions=[self._condition(crawler=raw, state="SUCCEEDED")]),
            *(self._trigger(f"After{_id(before)}", "CONDITIONAL", self._action(job=after),
                            conditions=[self._condition(job=before, state="SUCCEEDED")])
              for before, after in steps),
            self._trigger(
                "OnFailure", "CONDITIONAL", self._action(job=self.failure_job), logical="ANY",
                conditions=[
                    self._condition(crawler=raw, state="FAILED"),
                    *(self._condition(job=job, state=state)
                      for job in (self.etl_job, self.aggregates_job, self.quality_job)
                      for state in ("FAILED", "TIMEOUT")),
                ],
            ),
        ]  # fmt: skip

    def _role(
        self,
        construct_id: str,
        description: str,
        access: Sequence[Access],
        scripts: Sequence[assets.Asset] = (),
        *,
        passes_itself: bool = False,
    ) -> iam.IRole:
        """A job's role: its zones' prefixes (read or read-write), the storage key, its scripts, its encrypted
        logs; Glue's managed service-role policy for the catalog, data-quality runs and metrics."""
        stack = cdk.Stack.of(self)
        glue_logs = stack.format_arn(
            service="logs", resource="log-group", resource_name="/aws-glue/*",
            arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
        )  # fmt: skip
        buckets: dict[str, s3.IBucket] = {a.zone: self._lake.zones[a.zone] for a in access}
        reads = [self._lake.zones[a.zone].arn_for_objects(f"{p}*") for a in access for p in a.prefixes]
        writes = [self._lake.zones[a.zone].arn_for_objects(f"{p}*") for a in access if a.write for p in a.prefixes]
        statements = [
            iam.PolicyStatement(sid="Logs", actions=["logs:AssociateKmsKey"], resources=[glue_logs]),
            iam.PolicyStatement(
                sid="LogsKey", actions=["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"],
                resources=[self._logs_key.key_arn],
            ),
        ]  # fmt: skip
        if access:
            statements += [
                iam.PolicyStatement(sid="LakeList", actions=["s3:ListBucket"],
                                    resources=[b.bucket_arn for b in buckets.values()]),
                iam.PolicyStatement(sid="LakeRead", actions=["s3:GetObject"], resources=reads),
                iam.PolicyStatement(
                    sid="StorageKey",
                    actions=["kms:Decrypt", *(["kms:Encrypt", "kms:GenerateDataKey"] if writes else [])],
                    resources=[self._storage_key.key_arn],
                ),
            ]  # fmt: skip
        if writes:
            statements.append(
                iam.PolicyStatement(sid="LakeWrite", actions=["s3:PutObject", "s3:DeleteObject"], resources=writes)
            )
        if scripts:
            statements.append(
                iam.PolicyStatement(
                    sid="Scripts", actions=["s3:GetObject"],
                    resources=[a.bucket.arn_for_objects(a.s3_object_key) for a in scripts],
                )
            )  # fmt: skip
        role = ManagedPolicyRole(
            self,
            f"{construct_id}Role",
            assumed_by=iam.ServicePrincipal("glue.amazonaws.com"),
            description=f"Glue: {description}",
            aws_managed_policies=["service-role/AWSGlueServiceRole"],
            statements=statements,
        )
        if passes_itself:  # a data-quality evaluation run assumes the role it is given: this one
            role.policy.add_statements(  # type: ignore[union-attr]
                iam.PolicyStatement(
                    sid="PassItself", actions=["iam:PassRole"], resources=[role.role.role_arn],
                    conditions={"StringEquals": {"iam:PassedToService": "glue.amazonaws.com"}},
                ),
            )  # fmt: skip
        findings = [
            ("AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSGlueServiceRole]",
             "The AWS-managed Glue service-role policy: catalog and data-quality runs (glue:*), its own logs and "
             "metrics (cloudwatch:PutMetricData), ENIs for jobs."),
            (f"AwsSolutions-IAM5[Resource::{glue_logs}]", "Glue names its log groups /aws-glue/..."),
        ]  # fmt: skip
        for a in access:
            logical_id = stack.get_logical_id(self._lake.zones[a.zone].node.default_child)  # type: ignore[arg-type]
            findings += [
                (f"AwsSolutions-IAM5[Resource::<{logical_id}.Arn>/{p}*]",
                 f"Objects under the {a.zone} zone's {p} prefix, which this job {'writes' if a.write else 'reads'}.")
                for p in a.prefixes
            ]  # fmt: skip
        acknowledge_all(role, findings)
        self.roles[construct_id] = role.role
        return role.role

    def _job(
        self,
        construct_id: str,
        script_name: str,
        glue_config: GlueConfig,
        arguments: dict[str, str],
        access: Sequence[Access],
        libraries: Sequence[assets.Asset],
        *,
        python_shell: bool = False,
    ) -> glue.CfnJob:
        """A job running glue_jobs/<script_name>.py with its own role: Spark (G.1X workers) or Python shell."""
        script = assets.Asset(self, f"{_pascal(script_name)}Script", path=str(SCRIPTS / f"{script_name}.py"))
        role = self._role(construct_id, f"the {script_name.replace('_', ' ')} job", access, [script, *libraries],
                          passes_itself=script_name == "run_quality")  # fmt: skip
        if script_name == "run_quality":
            arguments = {**arguments, "--role_arn": role.role_arn}
        sizing: dict[str, object] = (
            {"glue_version": PYTHON_SHELL_VERSION, "max_capacity": 0.0625}
            if python_shell
            else {"glue_version": glue_config.version, "worker_type": "G.1X",
                  "number_of_workers": glue_config.etl_workers}
        )  # fmt: skip
        job = glue.CfnJob(
            self,
            construct_id,
            role=role.role_arn,
            command=glue.CfnJob.JobCommandProperty(
                name="pythonshell" if python_shell else "glueetl",
                python_version="3.9" if python_shell else "3",
                script_location=script.s3_object_url,
            ),
            timeout=glue_config.etl_timeout_minutes,
            max_retries=0 if python_shell else 1,
            security_configuration=self.security_configuration.name,
            default_arguments=arguments,
            execution_property=glue.CfnJob.ExecutionPropertyProperty(max_concurrent_runs=1),
            **sizing,  # type: ignore[arg-type]
        )
        # With the security configuration's CloudWatch encryption, Glue writes a job's output and error streams
        # under `<configuration>-role/<role name>/`.
        root = "/aws-glue/python-jobs" if python_shell else "/aws-glue/jobs"
        prefix = f"{root}/{self.security_configuration.name}-role/{role.role_name}"
        self._run_time_logs(job, {f"{construct_id}{s.title()}Logs": f"{prefix}/{s}" for s in ("output", "error")})
        return job

    def _run_time_logs(self, owner: cdk.CfnResource, names: Mapping[str, str]) -> None:
        """The groups Glue creates for `owner` when it first writes (construct id -> name; unencrypted by the
        stage's key and kept forever), created first under those names with the logs key and the retention."""
        for construct_id, name in names.items():
            group = EncryptedLogGroup(
                self,
                construct_id,
                encryption_key=self._logs_key,
                retention_days=self._log_retention_days,
                removal_policy=self._removal_policy,
                log_group_name=name,
            )
            owner.node.add_dependency(group)

    @staticmethod
    def _action(
        *, job: glue.CfnJob | None = None, crawler: glue.CfnCrawler | None = None
    ) -> glue.CfnTrigger.ActionProperty:
        return glue.CfnTrigger.ActionProperty(
            job_name=job.ref if job else None, crawler_name=crawler.ref if crawler else None
        )

    @staticmethod
    def _condition(
        *, state: str, job: glue.CfnJob | None = None, crawler: glue.CfnCrawler | None = None
    ) -> glue.CfnTrigger.ConditionProperty:
        if crawler:
            return glue.CfnTrigger.ConditionProperty(crawler_name=crawler.ref, crawl_state=state,
                                                     logical_operator="EQUALS")  # fmt: skip
        assert job is not None
        return glue.CfnTrigger.ConditionProperty(job_name=job.ref, state=state, logical_operator="EQUALS")

    def _trigger(
        self,
        construct_id: str,
        trigger_type: str,
        action: glue.CfnTrigger.ActionProperty,
        *,
        schedule: str | None = None,
        conditions: Sequence[glue.CfnTrigger.ConditionProperty] = (),
        logical: str | None = None,
    ) -> glue.CfnTrigger:
        return glue.CfnTrigger(
            self,
            construct_id,
            type=trigger_type,
            workflow_name=self.workflow.ref,
            actions=[action],
            schedule=schedule,
            start_on_creation=True,
            predicate=glue.CfnTrigger.PredicateProperty(conditions=list(conditions), logical=logical)
            if conditions
            else None,
        )


def _pascal(name: str) -> str:
    return "".join(part.capitalize() for part in name.replace("-", "_").split("_"))


def _id(job: glue.CfnJob) -> str:
    return job.node.id
