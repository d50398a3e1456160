"""The observability stack, per stage, at the level of template properties (issue: observability)."""

from __future__ import annotations

import json
from typing import Any

import aws_cdk as cdk
import yaml
from aws_cdk.assertions import Template
from constructs.analytics.glue_pipeline import RULESETS
from constructs.observability.alert_routing import PUBLISHERS, AlertRouting
from constructs.observability.threat_detection import CONFIG_RULES, GUARDDUTY_FEATURES

from environments.schema.observability import AlertingConfig
from stacks.observability import ObservabilityStack
from tests.support import logical_id, output_of, props, ref_id, resources
from tests.synthesis import SynthesizedPlatform


def observability(examples: SynthesizedPlatform, stage: str) -> ObservabilityStack:
    return examples.stages[stage].observability


def template(examples: SynthesizedPlatform, stage: str) -> dict[str, Any]:
    return examples.template_json(stage, "observability")


def _alarm(examples: SynthesizedPlatform, stage: str, name: str) -> dict[str, Any]:
    alarm = observability(examples, stage).alarms.alarms[name]
    properties: dict[str, Any] = template(examples, stage)["Resources"][logical_id(alarm)]["Properties"]
    return properties


def _topic_id(examples: SynthesizedPlatform, stage: str, severity: str) -> str:
    return logical_id(getattr(observability(examples, stage).alerts, severity))


def test_alert_topics_are_encrypted_and_open_to_the_publishing_services(
    examples: SynthesizedPlatform, stage: str
) -> None:
    tmpl = template(examples, stage)
    alerts = observability(examples, stage).alerts
    for severity in ("critical", "warning"):
        topic = tmpl["Resources"][_topic_id(examples, stage, severity)]["Properties"]
        assert ref_id(topic["KmsMasterKeyId"]) == logical_id(alerts.key)
    key_policy = json.dumps(tmpl["Resources"][logical_id(alerts.key)]["Properties"]["KeyPolicy"])
    assert all(service in key_policy for service in PUBLISHERS)


def test_alert_subscriptions_follow_config() -> None:
    stack = cdk.Stack(
        cdk.App(builtin_cloud_formation_validation=False),
        "Alerts",
        env=cdk.Environment(account="111111111111", region="us-east-1"),
    )
    AlertRouting(
        stack,
        "Alerts",
        alerting=AlertingConfig(
            critical_emails=("oncall@example.com",),
            warning_emails=("team@example.com",),
            pager_https_endpoint="https://events.pagerduty.com/integration/abc/enqueue",
            slack_workspace_id="T01234567",
            slack_channel_id="C01234567",
        ),
        alias="alias/test/alerts",
        deletion_window_days=7,
        removal_policy=cdk.RemovalPolicy.DESTROY,
    )
    template = Template.from_stack(stack)
    protocols = sorted(s["Properties"]["Protocol"] for s in template.find_resources("AWS::SNS::Subscription").values())
    assert protocols == ["email", "email", "https"]
    (slack,) = template.find_resources("AWS::Chatbot::SlackChannelConfiguration").values()
    assert slack["Properties"]["SlackChannelId"] == "C01234567"
    assert len(slack["Properties"]["SnsTopicArns"]) == 2


def test_seed_002_alarm_rules(examples: SynthesizedPlatform, stage: str) -> None:
    critical, warning = (_topic_id(examples, stage, s) for s in ("critical", "warning"))
    cpu = _alarm(examples, stage, "DatabaseCpu")
    assert (cpu["Threshold"], cpu["EvaluationPeriods"], cpu["Period"]) == (90, 5, 60)
    assert [ref_id(a) for a in cpu["AlarmActions"]] == [critical]
    errors = _alarm(examples, stage, "Api5xxRate")
    assert (errors["Threshold"], errors["EvaluationPeriods"]) == (5, 3)
    expression = next(m for m in errors["Metrics"] if "Expression" in m)
    assert "elb + target" in expression["Expression"]
    dimensions = [m["MetricStat"]["Metric"]["Dimensions"] for m in errors["Metrics"] if "MetricStat" in m]
    load_balancer = logical_id(examples.stages[stage].platform.ingress.load_balancer)
    assert len(dimensions) == 3
    for (dimension,) in dimensions:  # the platform's load balancer, read from its stack: no name in config
        assert dimension["Name"] == "LoadBalancer"
        output = output_of(dimension["Value"])
        assert load_balancer in output and "LoadBalancerFullName" in output
    restarts = _alarm(examples, stage, "PodRestarts")
    assert (restarts["Threshold"], [ref_id(a) for a in restarts["AlarmActions"]]) == (5, [warning])
    assert _alarm(examples, stage, "NodeCpu")["Threshold"] == 90
    names = set(observability(examples, stage).alarms.alarms)
    expected = {
        "CacheCpu", "CacheMemory", "CacheEvictions", "StreamIteratorAge", "SearchRed", "SearchYellow",
        "SearchStorage", "ActionRequestsConsumerErrors", "ActionRequestsConsumerThrottles",
        "StreamProcessorErrors", "StreamProcessorThrottles", "RequestRateAnomaly", "LatencyAnomaly",
    }  # fmt: skip
    assert expected <= names
    assert ("DatabaseCapacity" in names) is (examples.configs[stage].data.database.engine == "aurora-serverless-v2")
    assert ("DatabaseStorage" in names) is (examples.configs[stage].data.database.engine == "rds")
    assert ("KafkaDisk" in names) is (examples.configs[stage].analytics.msk.mode == "provisioned")


def test_each_services_target_group_is_watched(examples: SynthesizedPlatform, stage: str) -> None:
    """5xx rate and unhealthy hosts per target group, on the target group's and load balancer's dimensions."""
    warning = _topic_id(examples, stage, "warning")
    ingress = examples.stages[stage].platform.ingress
    for service in examples.configs[stage].platform.services:
        name = "".join(part.capitalize() for part in service.name.split("-"))
        group = logical_id(ingress.target_groups[service.name])
        unhealthy = _alarm(examples, stage, f"{name}UnhealthyHosts")
        assert (unhealthy["MetricName"], unhealthy["Threshold"], unhealthy["EvaluationPeriods"]) == (
            "UnHealthyHostCount",
            0,
            3,
        )
        assert {d["Name"] for d in unhealthy["Dimensions"]} == {"LoadBalancer", "TargetGroup"}
        assert any(group in output_of(d["Value"]) for d in unhealthy["Dimensions"])
        assert [ref_id(a) for a in unhealthy["AlarmActions"]] == [warning]
        errors = _alarm(examples, stage, f"{name}Target5xxRate")
        assert (errors["Threshold"], errors["EvaluationPeriods"]) == (5, 3)
        assert group in json.dumps(errors["Metrics"])


def test_every_dead_letter_queue_and_queue_age_is_watched(examples: SynthesizedPlatform, stage: str) -> None:
    stack = examples.stages[stage]
    alarms = observability(examples, stage).alarms.alarms
    watched = json.dumps([template(examples, stage)["Resources"][logical_id(a)] for n, a in alarms.items()
                          if n.startswith("DeadLetters")])  # fmt: skip
    dead_letter_queues = [
        *stack.data.messaging.dead_letter_queues,
        stack.analytics.streaming.failure_queue,
        *stack.analytics.job_roles.dead_letter_queues.values(),  # the ECS data-processing service's work
    ]
    assert sum(n.startswith("DeadLetters") for n in alarms) == len(dead_letter_queues) == 7
    for queue in dead_letter_queues:
        assert logical_id(queue) in watched
    assert sum(n.startswith("QueueAge") for n in alarms) == 5


def test_anomaly_detection_and_composite(examples: SynthesizedPlatform, stage: str) -> None:
    anomaly = _alarm(examples, stage, "RequestRateAnomaly")
    assert "ThresholdMetricId" in anomaly
    assert "ANOMALY_DETECTION_BAND" in json.dumps(anomaly["Metrics"])
    (composite,) = props(template(examples, stage), "AWS::CloudWatch::CompositeAlarm")
    critical = observability(examples, stage).alarms.critical_alarms
    rule = json.dumps(composite["AlarmRule"])
    assert all(logical_id(alarm) in rule for alarm in critical)
    assert len(critical) >= 5


def test_lake_alerts_reach_their_topics(examples: SynthesizedPlatform, stage: str) -> None:
    """Crawler, Glue job, data-quality and ECS task failures (EventBridge), quarantined records and failed
    workflow runs (alarms), each to the topic of its severity."""
    tmpl = template(examples, stage)
    alerts = observability(examples, stage).lake_alerts
    glue = examples.stages[stage].analytics.glue
    rules = {name: tmpl["Resources"][logical_id(rule)]["Properties"] for name, rule in alerts.rules.items()}
    critical, warning = _topic_id(examples, stage, "critical"), _topic_id(examples, stage, "warning")

    def topic(name: str) -> str:
        return ref_id(rules[name]["Targets"][0]["Arn"])

    crawler = rules["CrawlerFailures"]["EventPattern"]
    assert crawler["detail"]["state"] == ["Failed"] and topic("CrawlerFailures") == critical
    assert logical_id(glue.crawlers["raw"]) in json.dumps(crawler["detail"]["crawlerName"])
    jobs = rules["GlueJobFailures"]["EventPattern"]["detail"]
    assert set(jobs["state"]) == {"FAILED", "TIMEOUT", "ERROR"} and topic("GlueJobFailures") == critical
    for job in (glue.etl_job, glue.aggregates_job, glue.quality_job, glue.failure_job):
        assert logical_id(job) in json.dumps(jobs["jobName"])
    for severity, topic_id in (("critical", critical), ("warning", warning)):
        quality = rules[f"Quality{severity.capitalize()}"]["EventPattern"]
        assert quality["detail-type"] == ["Data Quality Evaluation Results Available"]
        assert quality["detail"]["score"] == [{"numeric": ["<", 1]}]
        expected = {glue.quality_rulesets[r.table].name for r in RULESETS if r.severity == severity}
        assert (
            set(quality["detail"]["rulesetNames"]) == expected and topic(f"Quality{severity.capitalize()}") == topic_id
        )
    ecs = rules["EcsTaskFailures"]["EventPattern"]["detail"]
    assert ecs["lastStatus"] == ["STOPPED"] and ecs["containers"] == {"exitCode": [{"anything-but": 0}]}
    assert logical_id(examples.stages[stage].platform.jobs.cluster) in output_of(ecs["clusterArn"][0])
    for name, topic_id in (("QuarantinedRecords", warning), ("FailedWorkflowRuns", critical)):
        alarm = tmpl["Resources"][logical_id(alerts.alarms[name])]["Properties"]
        assert ref_id(alarm["AlarmActions"][0]) == topic_id
    quarantined = tmpl["Resources"][logical_id(alerts.alarms["QuarantinedRecords"])]["Properties"]["Metrics"]
    sources = {d["Value"] for m in quarantined if "MetricStat" in m for d in m["MetricStat"]["Metric"]["Dimensions"]}
    assert sources == {"logs", "events", "feeds", "stream-processor"}


def test_dashboards(examples: SynthesizedPlatform, stage: str) -> None:
    names = sorted(p["DashboardName"] for p in props(template(examples, stage), "AWS::CloudWatch::Dashboard"))
    prefix = f"{examples.configs[stage].tags.project}-{stage}"
    assert names == sorted(f"{prefix}-{n}" for n in ("infrastructure", "data", "analytics", "gpu-ml"))


def test_tracing_and_prometheus(examples: SynthesizedPlatform, stage: str) -> None:
    tmpl = template(examples, stage)
    (rule,) = props(tmpl, "AWS::XRay::SamplingRule")
    assert rule["SamplingRule"]["FixedRate"] == examples.configs[stage].observability.xray_sampling_rate
    assert examples.configs["dev"].observability.xray_sampling_rate == 1.0  # seed 000: 100 %
    (workspace,) = props(tmpl, "AWS::APS::Workspace")
    assert "KmsKeyArn" in workspace
    manager = json.dumps(workspace["AlertManagerDefinition"])
    assert _topic_id(examples, stage, "critical") in manager and _topic_id(examples, stage, "warning") in manager
    (rules,) = props(tmpl, "AWS::APS::RuleGroupsNamespace")
    alerts = {r["alert"] for group in yaml.safe_load(rules["Data"])["groups"] for r in group["rules"]}
    assert alerts == {"API5xxErrorRate", "RDSHighCPU", "HighQueueLength", "PodRestartCount"}
    assert not resources(tmpl, "AWS::Grafana::Workspace")  # behind a toggle, off by default


def test_audit_trail(examples: SynthesizedPlatform, stage: str) -> None:
    config = examples.configs[stage]
    tmpl = template(examples, stage)
    (trail,) = props(tmpl, "AWS::CloudTrail::Trail")
    assert trail["TrailName"] == config.trail_name
    assert trail["IsMultiRegionTrail"] is True and trail["EnableLogFileValidation"] is True
    assert "KMSKeyId" in trail or "KmsKeyId" in trail
    audit_bucket = examples.stages[stage].data.buckets.audit_logs
    assert logical_id(audit_bucket) in output_of(trail["S3BucketName"])
    assert "CloudWatchLogsLogGroupArn" in trail
    (selector,) = trail["EventSelectors"]
    assert len(selector.get("DataResources", [{}])[0].get("Values", [])) == (
        5 if config.observability.trail_data_events else 0
    )
    data_template = examples.template_json(stage, "data")
    policies = json.dumps(props(data_template, "AWS::S3::BucketPolicy"))
    assert f"trail/{config.trail_name}" in policies


def test_threat_detection(examples: SynthesizedPlatform, stage: str) -> None:
    tmpl = template(examples, stage)
    (detector,) = props(tmpl, "AWS::GuardDuty::Detector")
    assert {f["Name"] for f in detector["Features"]} == set(GUARDDUTY_FEATURES)
    runtime = next(f for f in detector["Features"] if f["Name"] == "RUNTIME_MONITORING")
    assert {"Name": "EKS_ADDON_MANAGEMENT", "Status": "ENABLED"} in runtime["AdditionalConfiguration"]
    standards = sorted(json.dumps(p["StandardsArn"]) for p in props(tmpl, "AWS::SecurityHub::Standard"))
    assert any("aws-foundational-security-best-practices" in s for s in standards)
    assert any("cis-aws-foundations-benchmark" in s for s in standards)
    (recorder,) = props(tmpl, "AWS::Config::ConfigurationRecorder")
    assert recorder["RecordingGroup"]["AllSupported"] is True
    assert len(props(tmpl, "AWS::Config::DeliveryChannel")) == 1
    assert {r["Source"]["SourceIdentifier"] for r in props(tmpl, "AWS::Config::ConfigRule")} == set(CONFIG_RULES)
    assert not resources(tmpl, "AWS::Detective::Graph") and not resources(tmpl, "AWS::Macie::Session")


def test_budget_and_cost_anomalies(examples: SynthesizedPlatform, stage: str) -> None:
    config = examples.configs[stage].observability
    tmpl = template(examples, stage)
    (budget,) = props(tmpl, "AWS::Budgets::Budget")
    assert budget["Budget"]["BudgetLimit"] == {"Amount": config.monthly_budget_usd, "Unit": "USD"}
    notifications = {
        n["Notification"]["Threshold"]: ref_id(n["Subscribers"][0]["Address"])
        for n in budget["NotificationsWithSubscribers"]
    }
    assert notifications == {80: _topic_id(examples, stage, "warning"), 100: _topic_id(examples, stage, "critical")}
    assert {n["Notification"]["NotificationType"] for n in budget["NotificationsWithSubscribers"]} == {"FORECASTED"}
    (subscription,) = props(tmpl, "AWS::CE::AnomalySubscription")
    threshold = json.loads(subscription["ThresholdExpression"])
    assert threshold["Dimensions"]["Values"] == [str(config.cost_anomaly_threshold_usd)]
