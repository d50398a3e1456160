"""Alert routing: `critical` and `warning` SNS topics (KMS) with e-mail, an HTTPS pager and Slack."""

from __future__ import annotations

import aws_cdk as cdk
import jsii
from aws_cdk import aws_chatbot as chatbot
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct
from constructs.common.acknowledgments import acknowledge
from constructs.common.encryption_key import EncryptionKey

from environments.schema.observability import AlertingConfig

PUBLISHERS = (
    "cloudwatch.amazonaws.com",
    "events.amazonaws.com",
    "budgets.amazonaws.com",
    "costalerts.amazonaws.com",
    "aps.amazonaws.com",
)
"""Services that publish alerts: alarms, EventBridge rules, budgets, cost anomalies, Prometheus."""


class AlertRouting(Construct):
    """`critical` and `warning` topics, encrypted with `key` (which the publishing services may use)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        alerting: AlertingConfig,
        alias: str,
        deletion_window_days: int,
        removal_policy: cdk.RemovalPolicy,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        key = EncryptionKey(
            self,
            "Key",
            alias=alias,
            description="Alert topics",
            deletion_window_days=deletion_window_days,
            removal_policy=removal_policy,
        )
        key.allow_services(
            "AllowAlertPublishers",
            PUBLISHERS,
            ["kms:Decrypt", "kms:GenerateDataKey*"],
            {"StringEquals": {"aws:SourceAccount": stack.account}},
        )
        self.key = key.key
        self.critical = self._topic("Critical", "Critical alerts: page someone")
        self.warning = self._topic("Warning", "Warnings: look during working hours")
        for email in alerting.critical_emails:
            self.critical.add_subscription(subscriptions.EmailSubscription(email))
        for email in alerting.warning_emails:
            self.warning.add_subscription(subscriptions.EmailSubscription(email))
        if alerting.pager_https_endpoint:
            self.critical.add_subscription(subscriptions.UrlSubscription(alerting.pager_https_endpoint))
        self.slack: chatbot.SlackChannelConfiguration | None = None
        if alerting.slack_workspace_id and alerting.slack_channel_id:
            self.slack = chatbot.SlackChannelConfiguration(
                self,
                "Slack",
                slack_channel_configuration_name=f"{stack.stack_name}-alerts",
                slack_workspace_id=alerting.slack_workspace_id,
                slack_channel_id=alerting.slack_channel_id,
                notification_topics=[self.critical, self.warning],
                guardrail_policies=[iam.ManagedPolicy.from_aws_managed_policy_name("ReadOnlyAccess")],
            )
            acknowledge(
                self.slack,
                "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/ReadOnlyAccess]",
                "Chatbot's guardrail: whatever the channel role allows, Slack users can at most read.",
            )

    def _topic(self, construct_id: str, display_name: str) -> sns.Topic:
        topic = sns.Topic(self, construct_id, display_name=display_name, master_key=self.key, enforce_ssl=True)
        stack = cdk.Stack.of(self)
        topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowAlertPublishers",
                principals=[iam.ServicePrincipal(service) for service in PUBLISHERS],
                actions=["sns:Publish"],
                resources=[topic.topic_arn],
                conditions={"StringEquals": {"aws:SourceAccount": stack.account}},
            )
        )
        return topic


@jsii.implements(events.IRuleTarget)
class PublishedTopic:
    """A rule target for a topic whose policy and key already admit this account's EventBridge rules (AlertRouting):
    CDK's SnsTopic target would add an events.amazonaws.com grant on both without a source condition."""

    def __init__(self, topic: sns.ITopic) -> None:
        self._topic = topic

    def bind(self, rule: object, id: str | None = None) -> events.RuleTargetConfig:
        return events.RuleTargetConfig(arn=self._topic.topic_arn)
