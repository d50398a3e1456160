"""Tracing and Prometheus: X-Ray group and sampling rule (seed 000), an Amazon Managed Service for
Prometheus workspace with seed 002's alert rules and an alert manager routed to SNS, the managed collector that
scrapes the cluster's exporters into it (with the access entry that maps its role to the collector's Kubernetes
user), and an optional Amazon Managed Grafana workspace.

Which source publishes each of seed 002's series:
- GPU utilisation < 50 % and temperature > 80 C: NVIDIA's DCGM exporter (DCGM_FI_DEV_GPU_UTIL, DCGM_FI_DEV_GPU_TEMP,
  per GPU), Prometheus rules here.
- Container restarts > 5 and node CPU > 90 %: kube-state-metrics and the node exporter, Prometheus rules here
  (CloudWatch publishes restarts per pod only, and node CPU per node under names that change with every node).
- API 5xx rate, p99 latency > 60 s, database CPU and queue depth > 100 for 15 minutes: CloudWatch, which publishes
  them for the load balancer, the database and the SQS queues (platform_monitoring.py). Seed 002's series for them
  (http_requests_total, aws_rds_cpuutilization_average, redis_queue_length) come from an instrumented application,
  a CloudWatch exporter and a Redis queue this platform does not have.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_aps as aps
from aws_cdk import aws_eks_v2 as eks
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
      - alert: PodRestartCount
        expr: increase(kube_pod_container_status_restarts_total[15m]) > 5
        labels: {severity: warning}
        annotations: {summary: "A container restarted more than 5 times in 15 minutes"}
      - alert: NodeHighCpu
        expr: 1 - avg by (node) (rate(node_cpu_seconds_total{mode="idle"}[5m])) > 0.9
        for: 5m
        labels: {severity: warning}
        annotations: {summary: "A node above 90% CPU for 5 minutes"}
  - name: gpu
    rules:
      - alert: GpuUnderutilised
        expr: avg by (node, gpu) (DCGM_FI_DEV_GPU_UTIL) < 50
        for: 30m
        labels: {severity: warning}
        annotations: {summary: "A GPU below 50% utilisation for 30 minutes: fewer GPU nodes would do"}
      - alert: GpuTemperatureHigh
        expr: max by (node, gpu) (DCGM_FI_DEV_GPU_TEMP) > 80
        for: 5m
        labels: {severity: critical}
        annotations: {summary: "A GPU above 80 C for 5 minutes"}
"""
"""Seed 002's alerts whose series the cluster's exporters publish, as an AMP rule-groups namespace."""


@dataclass(frozen=True)
class ScrapedCluster:
    """The EKS cluster the managed collector scrapes: where its network interfaces go (at least two of the
    cluster's subnets, in two zones, and the cluster security group, which the nodes carry too), the Prometheus
    configuration naming the exporters' jobs, and the Kubernetes user whose permissions the collector gets."""

    cluster_arn: str
    cluster_name: str
    subnet_ids: Sequence[str]
    security_group_ids: Sequence[str]
    scrape_configuration: str
    kubernetes_user: str


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
    """`xray_group`, `sampling_rule`, `prometheus` (workspace), `rule_groups`, `collector` (the managed scraper)
    with its `collector_access` entry and, if asked, `grafana`."""

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
        scraped: ScrapedCluster,
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
        self.collector = aps.CfnScraper(
            self,
            "Collector",
            alias=f"{name_prefix}-cluster",
            source=aps.CfnScraper.SourceProperty(
                eks_configuration=aps.CfnScraper.EksConfigurationProperty(
                    cluster_arn=scraped.cluster_arn,
                    subnet_ids=list(scraped.subnet_ids),
                    security_group_ids=list(scraped.security_group_ids),
                )
            ),
            destination=aps.CfnScraper.DestinationProperty(
                amp_configuration=aps.CfnScraper.AmpConfigurationProperty(workspace_arn=self.prometheus.attr_arn)
            ),
            scrape_configuration=aps.CfnScraper.ScrapeConfigurationProperty(
                configuration_blob=cdk.Fn.base64(scraped.scrape_configuration)
            ),
        )
        # The collector's service-linked role is arn:...:role/aws-service-role/scraper.aps.amazonaws.com/<name>; its
        # access entry names the role without the path, as the role's sessions present it.
        role_name = cdk.Fn.select(3, cdk.Fn.split("/", self.collector.attr_role_arn))
        self.collector_access = eks.CfnAccessEntry(
            self,
            "CollectorAccess",
            cluster_name=scraped.cluster_name,
            principal_arn=stack.format_arn(
                service="iam",
                region="",
                resource="role",
                resource_name=role_name,
                arn_format=cdk.ArnFormat.SLASH_RESOURCE_NAME,
            ),
            username=scraped.kubernetes_user,
            type="STANDARD",
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
