"""Tracing and Prometheus: X-Ray group and sampling rule (seed 000), an Amazon Managed Service for
Prometheus workspace with seed 002's alert rules and an alert manager routed to SNS, and an optional
Amazon Managed Grafana workspace."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_aps as aps
from aws_cdk import aws_grafana as grafana
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_xray as xray
from constructs import Construct
from constructs.common.acknowledgments import acknowledge

PROMETHEUS_RULES = """groups:
  - name: platform
    rules:
      - alert: API5xxErrorRate
        expr: sum(rate(http_requests_total{status=~"5.."}[5m])) / sum(rate(http_requests_total[5m])) > 0.05
        for: 3m
        labels: {severity: critical}
        annotations: {summary: "More than 5% of API requests fail with 5xx"}
      - alert: RDSHighCPU
        expr: avg(aws_rds_cpuutilization_average) > 90
        for: 5m
        labels: {severity: critical}
        annotations: {summary: "Database CPU above 90% for 5 minutes"}
      - alert: HighQueueLength
        expr: max(redis_queue_length) > 100
        for: 5m
        labels: {severity: warning}
        annotations: {summary: "More than 100 generation jobs waiting"}
      - alert: PodRestartCount
        expr: increase(kube_pod_container_status_restarts_total[15m]) > 5
        labels: {severity: warning}
        annotations: {summary: "A pod restarted more than 5 times in 15 minutes"}
"""
"""Seed 002's Prometheus alerts, as an AMP rule-groups namespace."""


def alert_manager_definition(critical_topic_arn: str, warning_topic_arn: str, region: str) -> str:
    """Routes critical alerts to the critical topic and everything else to the warning topic."""
    return f"""alertmanager_config: |
  route:
    receiver: warning
    group_by: [alertname]
    routes:
      - receiver: critical
        matchers: [severity="critical"]
  receivers:
    - name: critical
      sns_configs:
        - topic_arn: {critical_topic_arn}
          sigv4: {{region: {region}}}
    - name: warning
      sns_configs:
        - topic_arn: {warning_topic_arn}
          sigv4: {{region: {region}}}
"""


class TracingAndMetrics(Construct):
    """`xray_group`, `sampling_rule`, `prometheus` (workspace), `rule_groups` and, if asked, `grafana`."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        name_prefix: str,
        sampling_rate: float,
        critical: sns.ITopic,
        warning: sns.ITopic,
        encryption_key: kms.IKey,
        with_grafana: bool,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        self.xray_group = xray.CfnGroup(
            self,
            "Group",
            group_name=f"{name_prefix}-errors",
            filter_expression="fault = true OR error = true",
            insights_configuration=xray.CfnGroup.InsightsConfigurationProperty(
                insights_enabled=True, notifications_enabled=True
            ),
        )
        self.sampling_rule = xray.CfnSamplingRule(
            self,
            "SamplingRule",
            sampling_rule=xray.CfnSamplingRule.SamplingRuleProperty(
                rule_name=f"{name_prefix}-default"[:32],
                priority=100,
                fixed_rate=sampling_rate,
                reservoir_size=1,
                service_name="*",
                service_type="*",
                host="*",
                http_method="*",
                url_path="*",
                resource_arn="*",
                version=1,
            ),
        )
        self.prometheus = aps.CfnWorkspace(
            self,
            "Prometheus",
            alias=f"{name_prefix}-metrics",
            kms_key_arn=encryption_key.key_arn,
            alert_manager_definition=alert_manager_definition(critical.topic_arn, warning.topic_arn, stack.region),
        )
        self.rule_groups = aps.CfnRuleGroupsNamespace(
            self, "AlertRules", name="platform-alerts", workspace=self.prometheus.attr_arn, data=PROMETHEUS_RULES
        )
        self.grafana: grafana.CfnWorkspace | None = None
        if with_grafana:
            role = iam.Role(
                self,
                "GrafanaRole",
                assumed_by=iam.ServicePrincipal("grafana.amazonaws.com"),
                description="Managed Grafana: read CloudWatch, X-Ray and Prometheus",
                managed_policies=[
                    iam.ManagedPolicy.from_aws_managed_policy_name(f"service-role/{name}")
                    for name in ("AmazonGrafanaCloudWatchAccess", "AmazonGrafanaPrometheusAccess")
                ],
            )
            for name in ("AmazonGrafanaCloudWatchAccess", "AmazonGrafanaPrometheusAccess"):
                acknowledge(
                    role,
                    f"AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/{name}]",
                    "The AWS-managed read-only data-source policy Managed Grafana documents.",
                )
            self.grafana = grafana.CfnWorkspace(
                self,
                "Grafana",
                name=f"{name_prefix}-grafana",
                account_access_type="CURRENT_ACCOUNT",
                authentication_providers=["AWS_SSO"],
                permission_type="SERVICE_MANAGED",
                role_arn=role.role_arn,
                data_sources=["CLOUDWATCH", "PROMETHEUS", "XRAY"],
            )
