"""The data platform's alerts (seed 003), routed to the stage's alert topics: EventBridge rules for the raw
crawler failing, a Glue job failing, a data-quality ruleset scoring below 1 (processed: warning, curated:
critical) and an ECS job task stopping with a non-zero exit; alarms on quarantined records (warning) and on
the workflow's on-failure path (critical).

The topics live in the observability stack, which already reads the analytics and platform stacks; the
rules are made there from what those stacks expose, so no stack depends on observability.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_events as events
from aws_cdk import aws_sns as sns
from constructs import Construct
from constructs.observability.alert_routing import AlertTarget

from lambdas.stream_processor.event_schema import SOURCES

QUARANTINE_SOURCES = (*SOURCES, "stream-processor")
"""The Source dimensions of QuarantinedRecords: the ETL's raw sources and the stream processor."""
FIVE_MINUTES = cdk.Duration.minutes(5)


@dataclass(frozen=True)
class LakeWatch:
    """What the alerts watch, by name (resolved from the analytics and platform stacks' constructs)."""

    crawlers: Sequence[str]
    jobs: Sequence[str]
    rulesets: Mapping[str, str]
    """Ruleset name -> the severity of its failure."""
    ecs_cluster_arn: str
    metrics_namespace: str
    workflow: str


class LakeAlerts(Construct):
    """`rules` (EventBridge) and `alarms` (CloudWatch, named `<name_prefix>-Lake-<alarm>-<Severity>` like the
    platform's other alarms) by name."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        watch: LakeWatch,
        name_prefix: str,
        critical: sns.ITopic,
        warning: sns.ITopic,
    ) -> None:
        super().__init__(scope, construct_id)
        self._severity = {id(critical): "Critical", id(warning): "Warning"}
        self._name_prefix = name_prefix
        topics = {"critical": critical, "warning": warning}
        self.rules: dict[str, events.Rule] = {}
        self._rule(
            "CrawlerFailures",
            "The raw crawler failed: new raw partitions are not registered",
            critical,
            events.EventPattern(
                source=["aws.glue"],
                detail_type=["Glue Crawler State Change"],
                detail={"crawlerName": list(watch.crawlers), "state": ["Failed"]},
            ),
        )
        self._rule(
            "GlueJobFailures",
            "A lake job failed, timed out or errored",
            critical,
            events.EventPattern(
                source=["aws.glue"],
                detail_type=["Glue Job State Change"],
                detail={"jobName": list(watch.jobs), "state": ["FAILED", "TIMEOUT", "ERROR"]},
            ),
        )
        for severity, topic in topics.items():
            names = [name for name, level in watch.rulesets.items() if level == severity]
            if names:
                self._rule(
                    f"Quality{severity.capitalize()}",
                    f"A {severity} data-quality ruleset scored below 1",
                    topic,
                    events.EventPattern(
                        source=["aws.glue-dataquality"],
                        detail_type=["Data Quality Evaluation Results Available"],
                        detail={"rulesetNames": names, "score": [{"numeric": ["<", 1]}]},
                    ),
                )
        self._rule("EcsTaskFailures", "An ECS job task stopped with a non-zero exit code", warning,
                   events.EventPattern(source=["aws.ecs"], detail_type=["ECS Task State Change"],
                                       detail={"clusterArn": [watch.ecs_cluster_arn], "lastStatus": ["STOPPED"],
                                               "containers": {"exitCode": [{"anything-but": 0}]}}))  # fmt: skip

        def metric(name: str, source: str | None = None) -> cloudwatch.Metric:
            dimensions = {"Source": source} if source else {"Workflow": watch.workflow}
            return cloudwatch.Metric(namespace=watch.metrics_namespace, metric_name=name, dimensions_map=dimensions,
                                     statistic="Sum", period=FIVE_MINUTES)  # fmt: skip

        quarantined = cloudwatch.MathExpression(
            expression=" + ".join(f"FILL(q{i}, 0)" for i in range(len(QUARANTINE_SOURCES))),
            using_metrics={f"q{i}": metric("QuarantinedRecords", s) for i, s in enumerate(QUARANTINE_SOURCES)},
            label="Quarantined records",
            period=FIVE_MINUTES,
        )
        self.alarms = {
            "QuarantinedRecords": self._alarm("QuarantinedRecords", quarantined, warning,
                                              "Records that do not conform to the event schema were quarantined"),
            "FailedWorkflowRuns": self._alarm("FailedWorkflowRuns", metric("FailedWorkflowRuns"), critical,
                                              "The lake's workflow failed: the day's processed and curated data "
                                              "are missing"),
        }  # fmt: skip

    def _rule(self, construct_id: str, description: str, topic: sns.ITopic, pattern: events.EventPattern) -> None:
        self.rules[construct_id] = events.Rule(
            self, construct_id, description=description, event_pattern=pattern, targets=[AlertTarget(topic)]
        )

    def _alarm(
        self, construct_id: str, metric: cloudwatch.IMetric, topic: sns.ITopic, description: str
    ) -> cloudwatch.Alarm:
        alarm = cloudwatch.Alarm(
            self,
            construct_id,
            alarm_name=f"{self._name_prefix}-Lake-{construct_id}-{self._severity[id(topic)]}",
            metric=metric,
            threshold=0,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            alarm_description=description,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        alarm.add_alarm_action(actions.SnsAction(topic))
        return alarm
