"""Cost controls: a monthly budget with forecast alerts at 80 % (warning) and 100 % (critical), and a
Cost Anomaly Detection monitor whose findings go to the warning topic."""

from __future__ import annotations

from aws_cdk import aws_budgets as budgets
from aws_cdk import aws_ce as ce
from aws_cdk import aws_sns as sns
from constructs import Construct

FORECAST_THRESHOLDS = ((80, "warning"), (100, "critical"))


class CostControls(Construct):
    """`budget`, `anomaly_monitor` and `anomaly_subscription`."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        name_prefix: str,
        monthly_budget_usd: int,
        anomaly_threshold_usd: int,
        stage_tag: str,
        critical: sns.ITopic,
        warning: sns.ITopic,
    ) -> None:
        super().__init__(scope, construct_id)
        topics = {"critical": critical, "warning": warning}
        self.budget = budgets.CfnBudget(
            self,
            "MonthlyBudget",
            budget=budgets.CfnBudget.BudgetDataProperty(
                budget_name=f"{name_prefix}-monthly",
                budget_type="COST",
                time_unit="MONTHLY",
                budget_limit=budgets.CfnBudget.SpendProperty(amount=monthly_budget_usd, unit="USD"),
                cost_filters={"TagKeyValue": [f"user:stage${stage_tag}"]},
            ),
            notifications_with_subscribers=[
                budgets.CfnBudget.NotificationWithSubscribersProperty(
                    notification=budgets.CfnBudget.NotificationProperty(
                        notification_type="FORECASTED",
                        comparison_operator="GREATER_THAN",
                        threshold=threshold,
                        threshold_type="PERCENTAGE",
                    ),
                    subscribers=[
                        budgets.CfnBudget.SubscriberProperty(
                            subscription_type="SNS", address=topics[severity].topic_arn
                        )
                    ],
                )
                for threshold, severity in FORECAST_THRESHOLDS
            ],
        )
        self.anomaly_monitor = ce.CfnAnomalyMonitor(
            self,
            "AnomalyMonitor",
            monitor_name=f"{name_prefix}-services",
            monitor_type="DIMENSIONAL",
            monitor_dimension="SERVICE",
        )
        self.anomaly_subscription = ce.CfnAnomalySubscription(
            self,
            "AnomalySubscription",
            subscription_name=f"{name_prefix}-anomalies",
            monitor_arn_list=[self.anomaly_monitor.attr_monitor_arn],
            frequency="IMMEDIATE",
            threshold_expression=(
                '{"Dimensions": {"Key": "ANOMALY_TOTAL_IMPACT_ABSOLUTE", "MatchOptions": ["GREATER_THAN_OR_EQUAL"], '
                f'"Values": ["{anomaly_threshold_usd}"]}}}}'
            ),
            subscribers=[ce.CfnAnomalySubscription.SubscriberProperty(type="SNS", address=warning.topic_arn)],
        )
