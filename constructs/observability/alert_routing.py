"""Alert routing: `critical` and `warning` SNS topics (KMS) with e-mail, an HTTPS pager and Slack, and the
EventBridge target that publishes to them."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
import jsii
from aws_cdk import aws_chatbot as chatbot
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk.interfaces import aws_events as events_refs
from constructs import Construct
from constructs.common.acknowledgments import acknowledge
from constructs.common.encryption_key import EncryptionKey

from environments.schema.observability import AlertingConfig

EVENTS = "events.amazonaws.com"
PUBLISHERS = (
    "cloudwatch.amazonaws.com",
    EVENTS,
    "budgets.amazonaws.com",
    "costalerts.amazonaws.com",
    "aps.amazonaws.com",
)
"""Services that publish alerts: alarms, EventBridge rules, budgets, cost anomalies, Prometheus."""


@jsii.implements(events.IRuleTarget)
class AlertTarget:
    """An EventBridge rule target that publishes to an alert topic and leaves the topic's policy alone. The
    policy already admits this account's rules in this region (aws:SourceAccount and aws:SourceArn); CDK's
    SnsTopic target would add a statement admitting EventBridge on behalf of any account's rule."""

    def __init__(self, topic: sns.ITopic) -> None:
        self.topic = topic

    def bind(self, rule: events_refs.IRuleRef, id: str | None = None) -> events.RuleTargetConfig:
        del rule, id  # the target is the topic alone
        return events.RuleTargetConfig(arn=self.topic.topic_arn)


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
        own_account: dict[str, Any] = {"StringEquals": {"aws:SourceAccount": stack.account}}
        topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowAlertPublishers",
                principals=[iam.ServicePrincipal(service) for service in PUBLISHERS if service != EVENTS],
                actions=["sns:Publish"],
                resources=[topic.topic_arn],
                conditions=own_account,
            )
        )
        rules = stack.format_arn(service="events", resource="rule", resource_name="*")
        topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowEventRules",
                principals=[iam.ServicePrincipal(EVENTS)],
                actions=["sns:Publish"],
                resources=[topic.topic_arn],
                conditions={**own_account, "ArnLike": {"aws:SourceArn": rules}},
            )
        )
        return topic
