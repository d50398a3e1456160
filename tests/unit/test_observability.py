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
from tests.support import jobs_of, logical_id, output_of, props, ref_id, resources
from tests.synthesis import SynthesizedPlatform


def observability(examples: SynthesizedPlatform, stage: str) -> ObservabilityStack:
    return examples.stages[stage].observability


def template(examples: SynthesizedPlatform, stage: str) -> dict[str, Any]:
    return examples.template_json(stage, "observability")


def alarms(examples: SynthesizedPlatform, stage: str) -> dict[str, dict[str, Any]]:
    """The stage's alarms by name, less the `<project>-<stage>-` prefix the facade gives every one."""
    prefix = f"{examples.configs[stage].tags.project}-{stage}-"
    found = {}
    for p in props(template(examples, stage), "AWS::CloudWatch::Alarm"):
        assert p["AlarmName"].startswith(prefix), p["AlarmName"]
        found[p["AlarmName"].removeprefix(prefix)] = p
    return found


def _alarm(examples: SynthesizedPlatform, stage: str, name: str) -> dict[str, Any]:
    return alarms(examples, stage)[name]


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


def open_publishers(topic_policy: dict[str, Any]) -> list[str]:
    """The statements of a topic policy that let a service publish without naming this account (and, for
    EventBridge, this account's rules): a confused deputy could publish on another account's behalf."""
    found = []
    for statement in topic_policy["PolicyDocument"]["Statement"]:
        if statement["Effect"] != "Allow" or "Service" not in statement.get("Principal", {}):
            continue
        services = statement["Principal"]["Service"]
        conditions = statement.get("Condition", {})
        unbound = "aws:SourceAccount" not in conditions.get("StringEquals", {})
        events = "events.amazonaws.com" in (services if isinstance(services, list) else [services])
        if unbound or (events and "aws:SourceArn" not in conditions.get("ArnLike", {})):
            found.append(statement.get("Sid", "?"))
    return found


def test_alert_topics_admit_publishers_only_for_this_account(examples: SynthesizedPlatform, stage: str) -> None:
    tmpl = template(examples, stage)
    policies = props(tmpl, "AWS::SNS::TopicPolicy")
    assert len(policies) == 2
    for policy in policies:
        assert not open_publishers(policy)
        rules = next(s for s in policy["PolicyDocument"]["Statement"] if s.get("Sid") == "AllowEventRules")
        assert ":rule/*" in json.dumps(rules["Condition"]["ArnLike"]["aws:SourceArn"])
    # What CDK's SnsTopic target adds: EventBridge, for any account's rule.
    broken = json.loads(json.dumps(policies[0]))
    broken["PolicyDocument"]["Statement"].append(
        {"Action": "sns:Publish", "Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"}, "Sid": "2"}
    )
    assert open_publishers(broken) == ["2"]


def test_high_and_critical_findings_reach_the_critical_topic(examples: SynthesizedPlatform, stage: str) -> None:
    tmpl = template(examples, stage)
    detection = observability(examples, stage).detection
    critical = _topic_id(examples, stage, "critical")
    rules = {
        service: tmpl["Resources"][logical_id(rule)]["Properties"] for service, rule in detection.finding_rules.items()
    }
    config = examples.configs[stage].observability.detection
    assert set(rules) == {s for s in ("guardduty", "security_hub") if getattr(config, s)}
    for rule in rules.values():
        assert [ref_id(target["Arn"]) for target in rule["Targets"]] == [critical]
    if "guardduty" in rules:
        pattern = rules["guardduty"]["EventPattern"]
        assert pattern["detail-type"] == ["GuardDuty Finding"]
        assert pattern["detail"]["severity"] == [{"numeric": [">=", 7]}]
    if "security_hub" in rules:
        finding = rules["security_hub"]["EventPattern"]["detail"]["findings"]
        assert finding["Severity"]["Label"] == ["HIGH", "CRITICAL"]
        assert finding["Workflow"]["Status"] == ["NEW"] and finding["RecordState"] == ["ACTIVE"]
        assert ("ProductName" in finding) is config.guardduty  # GuardDuty's findings once, not twice


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


def _metric_stats(alarm: dict[str, Any]) -> list[dict[str, Any]]:
    """The alarm's metrics as MetricStat shapes, whether it has one metric or metric math."""
    if "MetricName" in alarm:
        metric = {key: alarm[key] for key in ("Namespace", "MetricName", "Dimensions")}
        stat = alarm.get("ExtendedStatistic") or alarm.get("Statistic")
        return [{"Metric": metric, "Stat": stat, "Period": alarm["Period"]}]
    return [m["MetricStat"] for m in alarm.get("Metrics", []) if "MetricStat" in m]


def test_seed_002_alarm_rules(examples: SynthesizedPlatform, stage: str) -> None:
    critical, warning = (_topic_id(examples, stage, s) for s in ("critical", "warning"))
    cpu = _alarm(examples, stage, "Database-CPU-Usage-Critical")
    assert (cpu["Threshold"], cpu["EvaluationPeriods"], cpu["DatapointsToAlarm"]) == (90, 5, 5)
    assert _metric_stats(cpu)[0]["Period"] == 60
    assert [ref_id(a) for a in cpu["AlarmActions"]] == [critical]
    errors = _alarm(examples, stage, "Ingress-Api5xxRate-Critical")
    assert (errors["Threshold"], errors["EvaluationPeriods"]) == (5, 3)
    expression = next(m for m in errors["Metrics"] if "Expression" in m)
    assert "elb + target" in expression["Expression"]
    dimensions = [m["Metric"]["Dimensions"] for m in _metric_stats(errors)]
    load_balancer = logical_id(examples.stages[stage].platform.ingress.load_balancer)
    assert len(dimensions) == 3
    for (dimension,) in dimensions:  # the platform's load balancer, read from its stack: no name in config
        assert dimension["Name"] == "LoadBalancer"
        output = output_of(dimension["Value"])
        assert load_balancer in output and "LoadBalancerFullName" in output
    p99 = _alarm(examples, stage, "Ingress-LatencyP99-Warning")  # seed 002: p99 latency > 60 s
    assert (p99["Threshold"], _metric_stats(p99)[0]["Stat"]) == (60, "p99")
    assert [ref_id(a) for a in p99["AlarmActions"]] == [warning]
    assert _alarm(examples, stage, "Cluster-NodeCpu-Critical")["Threshold"] == 90
    names = set(alarms(examples, stage))
    config = examples.configs[stage]
    first = "Cache0001001" if config.data.cache.cluster_mode else "Cache001"  # its first node, <group>-0001-001
    expected = {
        f"{first}-CPU-Usage-RedisEngine-Warning", f"{first}-Items-Evicted-Warning",
        f"{first}Memory-DatabaseMemory-Warning", "Stream-Iterator-Age-Max-Warning",
        "Search-Cluster-ClusterStatus-Critical", "Search-Cluster-ClusterStatus-Warning", "Search-Disk-Usage-Warning",
        "action-requests-consumer-Fault-Count-Warning", "action-requests-consumer-Throttled-Count-Warning",
        "stream-processor-Fault-Count-Warning", "stream-processor-Throttled-Count-Warning",
        "Ingress-RequestRateAnomaly-Warning", "Ingress-LatencyAnomaly-Warning",
    }  # fmt: skip
    assert expected <= names
    cache = config.data.cache
    nodes = cache.nodes_per_shard * (cache.cluster_mode.shards if cache.cluster_mode else 1)
    assert sum(n.startswith("Cache0") and n.endswith("RedisEngine-Warning") for n in names) == nodes
    aurora = config.data.database.engine == "aurora-serverless-v2"
    assert ("Database-Usage-Count-Warning" in names) is aurora  # ServerlessDatabaseCapacity near its max ACUs
    assert ("Database-Min-Usage-Count-Warning" in names) is (config.data.database.engine == "rds")
    kafka = sorted(n for n in names if n.startswith("Kafka"))
    brokers = config.analytics.msk.brokers if config.analytics.msk.mode == "provisioned" else 0
    assert kafka == [f"Kafka-KafkaDisk{b}-Warning" for b in range(1, brokers + 1)]  # one per broker


def test_each_services_target_group_is_watched(examples: SynthesizedPlatform, stage: str) -> None:
    """5xx rate and unhealthy hosts per target group, on the target group's and load balancer's dimensions."""
    warning = _topic_id(examples, stage, "warning")
    ingress = examples.stages[stage].platform.ingress
    for service in examples.configs[stage].platform.services:
        group = logical_id(ingress.target_groups[service.name])
        unhealthy = _alarm(examples, stage, f"{service.name}-targets-UnhealthyHosts-Warning")
        (stat,) = _metric_stats(unhealthy)
        assert (stat["Metric"]["MetricName"], unhealthy["Threshold"], unhealthy["EvaluationPeriods"]) == (
            "UnHealthyHostCount",
            0,
            3,
        )
        assert {d["Name"] for d in stat["Metric"]["Dimensions"]} == {"LoadBalancer", "TargetGroup"}
        assert any(group in output_of(d["Value"]) for d in stat["Metric"]["Dimensions"])
        assert [ref_id(a) for a in unhealthy["AlarmActions"]] == [warning]
        errors = _alarm(examples, stage, f"{service.name}-targets-Target5xxRate-Warning")
        assert (errors["Threshold"], errors["EvaluationPeriods"]) == (5, 3)
        assert group in json.dumps(errors["Metrics"])


def test_every_queue_depth_age_and_dead_letter_queue_is_watched(examples: SynthesizedPlatform, stage: str) -> None:
    stack = examples.stages[stage]
    names = alarms(examples, stage)
    dead = {n: a for n, a in names.items() if n.endswith("DLQ-Queue-Message-Count-Max-Critical")}
    undelivered = stack.analytics.job_roles.dead_letter_queues  # the ECS data-processing service's work
    dead_letter_queues = [*stack.data.messaging.dead_letter_queues, stack.analytics.streaming.failure_queue,
                          *undelivered.values()]  # fmt: skip
    failure_queues = ("stream-processor-failures", *(f"{task}-undelivered" for task in undelivered))
    failures = {n: a for n, a in names.items() if n.startswith(failure_queues)}
    assert len(dead) + len(failures) == len(dead_letter_queues) == 7
    watched = json.dumps([*dead.values(), *failures.values()])
    for queue in dead_letter_queues:
        assert logical_id(queue) in watched
    assert sum(n.endswith("Queue-Message-Age-Max-Warning") for n in names) == 5
    depth = [a for n, a in names.items() if n.endswith("-Queue-Message-Count-Max-Warning")]
    assert len(depth) == 5  # seed 002: more than 100 waiting for 15 minutes
    assert all((a["Threshold"], a["EvaluationPeriods"], a["DatapointsToAlarm"]) == (100, 15, 15) for a in depth)


def test_anomaly_detection_and_composite(examples: SynthesizedPlatform, stage: str) -> None:
    anomaly = _alarm(examples, stage, "Ingress-RequestRateAnomaly-Warning")
    assert "ThresholdMetricId" in anomaly
    assert "ANOMALY_DETECTION_BAND" in json.dumps(anomaly["Metrics"])
    (composite,) = props(template(examples, stage), "AWS::CloudWatch::CompositeAlarm")
    rule = json.dumps(composite["AlarmRule"])
    critical = [logical_id_of(examples, stage, n) for n in alarms(examples, stage)
                if n.endswith("-Critical") and not n.startswith("Lake-")]  # fmt: skip
    assert len(critical) >= 5 and all(alarm in rule for alarm in critical)
    assert [ref_id(a) for a in composite["AlarmActions"]] == [_topic_id(examples, stage, "critical")]


def logical_id_of(examples: SynthesizedPlatform, stage: str, name: str) -> str:
    prefix = f"{examples.configs[stage].tags.project}-{stage}-"
    resources = template(examples, stage)["Resources"]
    return str(next(k for k, r in resources.items() if r.get("Properties", {}).get("AlarmName") == prefix + name))


def test_lake_alerts_reach_their_topics(examples: SynthesizedPlatform, stage: str) -> None:
    """Crawler, Glue job, data-quality and ECS task failures (EventBridge), quarantined records and failed
    workflow runs (alarms), each to the topic of its severity."""
    tmpl = template(examples, stage)
    alerts = observability(examples, stage).lake_alerts
    assert alerts is not None, "the primary region runs the lake"
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
    assert logical_id(jobs_of(examples.stages[stage].platform).cluster) in output_of(ecs["clusterArn"][0])
    for name, topic_id in (("QuarantinedRecords", warning), ("FailedWorkflowRuns", critical)):
        alarm = tmpl["Resources"][logical_id(alerts.alarms[name])]["Properties"]
        assert ref_id(alarm["AlarmActions"][0]) == topic_id
    quarantined = tmpl["Resources"][logical_id(alerts.alarms["QuarantinedRecords"])]["Properties"]["Metrics"]
    sources = {d["Value"] for m in quarantined if "MetricStat" in m for d in m["MetricStat"]["Metric"]["Dimensions"]}
    assert sources == {"logs", "events", "feeds", "stream-processor"}


def test_dashboards(examples: SynthesizedPlatform, stage: str) -> None:
    names = sorted(p["DashboardName"] for p in props(template(examples, stage), "AWS::CloudWatch::Dashboard"))
    prefix = f"{examples.configs[stage].tags.project}-{stage}"
    assert names == [prefix, f"{prefix}-Alarms"]


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
    # Seed 002's alerts on series the exporters publish; the others are CloudWatch alarms (platform_monitoring.py).
    assert alerts == {"PodRestartCount", "NodeHighCpu", "GpuUnderutilised", "GpuTemperatureHigh"}
    (collector,) = props(tmpl, "AWS::APS::Scraper")
    assert ref_id(collector["Destination"]["AmpConfiguration"]["WorkspaceArn"]) == logical_id(
        observability(examples, stage).tracing.prometheus
    )
    (access,) = props(tmpl, "AWS::EKS::AccessEntry")
    assert (access["Username"], access["Type"]) == ("aps-collector-user", "STANDARD")
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
