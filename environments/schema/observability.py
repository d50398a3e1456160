"""The `observability:` section: alert routes, tracing, detection services, budgets
(constructs/observability/), and the one-owner-per-account check of the account-wide services."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from pydantic import Field

from environments.schema.base import ConfigModel, RetentionDays, YamlList

if TYPE_CHECKING:
    from environments.schema.stage import StageConfig


RETIRED_FIELDS = {
    "observability.load_balancer": "derived now: the alarms and dashboards read the ingress load balancer the "
    "platform stack creates (platform.ingress); remove this key",
}
"""Keys stage files used to have, with why they are gone."""


Email = Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]


class AlertingConfig(ConfigModel):
    """Where alarms go: e-mail per severity, an HTTPS pager for critical, Slack through AWS Chatbot."""

    critical_emails: Annotated[tuple[Email, ...], YamlList] = ()
    warning_emails: Annotated[tuple[Email, ...], YamlList] = ()
    pager_https_endpoint: str | None = Field(default=None, pattern=r"^https://\S+$")
    slack_workspace_id: str | None = Field(default=None, pattern=r"^[A-Z0-9]{9,11}$")
    slack_channel_id: str | None = Field(default=None, pattern=r"^[A-Z0-9]{9,11}$")


class DetectionConfig(ConfigModel):
    """Account-and-region services: one stage per account and region may own each."""

    guardduty: bool
    security_hub: bool
    config_recorder: bool
    detective: bool = False
    macie: bool = False


class ObservabilityConfig(ConfigModel):
    """Alarms, dashboards, tracing, Prometheus, audit trail, threat detection and cost controls."""

    alerting: AlertingConfig
    xray_sampling_rate: float = Field(ge=0, le=1)
    grafana: bool = False
    trail_data_events: bool
    detection: DetectionConfig
    monthly_budget_usd: int = Field(ge=1)
    cost_anomaly_threshold_usd: int = Field(ge=1)
    log_retention_days: RetentionDays


ACCOUNT_WIDE_SERVICES = ("guardduty", "security_hub", "config_recorder", "detective", "macie")


def observability_problems(config: StageConfig) -> list[tuple[str, str]]:
    """Slack needs both of its ids; prod's critical alerts must reach someone (an e-mail, the HTTPS pager or
    Slack), or nothing would ever page for it."""
    alerting = config.observability.alerting
    problems: list[tuple[str, str]] = []
    if (alerting.slack_workspace_id is None) != (alerting.slack_channel_id is None):
        problems.append(("observability.alerting", "set both slack_workspace_id and slack_channel_id, or neither"))
    slack = alerting.slack_workspace_id is not None and alerting.slack_channel_id is not None
    if config.is_production and not (alerting.critical_emails or alerting.pager_https_endpoint or slack):
        problems.append(
            (
                "observability.alerting.critical_emails",
                "prod's critical topic needs a subscriber: an e-mail here, pager_https_endpoint, or Slack",
            )
        )
    return problems


def shared_account_problems(configs: list[StageConfig]) -> list[tuple[str, str, str]]:
    """(stage, field, message) for every account-and-region service that two stages both turn on."""
    problems: list[tuple[str, str, str]] = []
    owners: dict[tuple[str, str, str], str] = {}
    for config in configs:
        for service in ACCOUNT_WIDE_SERVICES:
            if getattr(config.observability.detection, service):
                key = (config.account, config.region, service)
                if key in owners:
                    problems.append(
                        (
                            config.name,
                            f"observability.detection.{service}",
                            f"{owners[key]} already enables it in {config.account}/{config.region}; "
                            "turn it off in one of them",
                        )
                    )
                owners.setdefault(key, config.name)
    return problems
