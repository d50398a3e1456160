"""A WAFv2 web ACL with AWS managed rules, a per-IP rate limit, optional geo-blocking, seed 002's bad user
agents and admin paths, and KMS-encrypted logging (seeds 001 and 002). Regional for load balancers; the same
rules serve CloudFront."""

from __future__ import annotations

from typing import Literal

import aws_cdk as cdk
from aws_cdk import aws_kms as kms
from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct
from constructs.common.encrypted_log_group import EncryptedLogGroup

from environments.schema.network import WafConfig

MANAGED_RULE_GROUPS = (
    "AWSManagedRulesAmazonIpReputationList",
    "AWSManagedRulesAdminProtectionRuleSet",
    "AWSManagedRulesCommonRuleSet",
    "AWSManagedRulesKnownBadInputsRuleSet",
    "AWSManagedRulesSQLiRuleSet",
)
"""Evaluated in this order after the geo, rate and user-agent rules: cheapest reputation check first. The
admin-protection group is seed 002's rule for admin paths (`/admin` and the like are not served publicly),
with AWS keeping the list of paths."""
BAD_USER_AGENTS = ("sqlmap", "nikto", "nmap", "masscan", "zgrab", "nuclei", "gobuster", "dirbuster", "wpscan")
"""Seed 002's bad user agents: scanners that announce themselves, blocked whatever the case they are sent in."""
RATE_WINDOW_SECONDS = 300
REDACTED_HEADERS = ("authorization", "cookie")
"""Credentials never reach the WAF logs."""


class WebAcl(Construct):
    """`web_acl` (with `web_acl_arn`) and `log_group`, whose name WAF requires to start `aws-waf-logs-`."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        waf: WafConfig,
        acl_scope: Literal["REGIONAL", "CLOUDFRONT"],
        name_prefix: str,
        log_encryption_key: kms.IKey,
        removal_policy: cdk.RemovalPolicy,
    ) -> None:
        super().__init__(scope, construct_id)
        # (name, statement, own_action): own rules block on match; managed groups keep their actions.
        entries: list[tuple[str, wafv2.CfnWebACL.StatementProperty, bool]] = []
        if waf.geo_block:
            geo = wafv2.CfnWebACL.GeoMatchStatementProperty(country_codes=list(waf.geo_block))
            entries.append(("GeoBlock", wafv2.CfnWebACL.StatementProperty(geo_match_statement=geo), True))
        rate = wafv2.CfnWebACL.RateBasedStatementProperty(
            aggregate_key_type="IP", limit=waf.rate_limit, evaluation_window_sec=RATE_WINDOW_SECONDS
        )
        entries.append(("RateLimitPerIp", wafv2.CfnWebACL.StatementProperty(rate_based_statement=rate), True))
        user_agent = wafv2.CfnWebACL.RegexMatchStatementProperty(
            field_to_match=wafv2.CfnWebACL.FieldToMatchProperty(single_header={"Name": "user-agent"}),
            regex_string="|".join(BAD_USER_AGENTS),
            text_transformations=[wafv2.CfnWebACL.TextTransformationProperty(priority=0, type="LOWERCASE")],
        )
        entries.append(("BadUserAgents", wafv2.CfnWebACL.StatementProperty(regex_match_statement=user_agent), True))
        for group in MANAGED_RULE_GROUPS:
            managed = wafv2.CfnWebACL.ManagedRuleGroupStatementProperty(vendor_name="AWS", name=group)
            entries.append((group, wafv2.CfnWebACL.StatementProperty(managed_rule_group_statement=managed), False))
        rules = [
            _rule(name_prefix, name, statement=statement, priority=priority, blocks=blocks)
            for priority, (name, statement, blocks) in enumerate(entries)
        ]
        self.web_acl = wafv2.CfnWebACL(
            self,
            "WebAcl",
            scope=acl_scope,
            default_action=wafv2.CfnWebACL.DefaultActionProperty(allow={}),
            visibility_config=_visibility(name_prefix, "WebAcl"),
            rules=rules,
        )
        self.web_acl_arn = self.web_acl.attr_arn

        log_group_name = f"aws-waf-logs-{name_prefix}"
        self.log_group = EncryptedLogGroup(
            self,
            "Logs",
            encryption_key=log_encryption_key,
            retention_days=waf.log_retention_days,
            removal_policy=removal_policy,
            log_group_name=log_group_name,
        ).log_group
        logging = wafv2.CfnLoggingConfiguration(
            self,
            "Logging",
            resource_arn=self.web_acl_arn,
            # WAF wants the bare log group ARN; the L2's log_group_arn ends in ":*".
            log_destination_configs=[
                cdk.Stack.of(self).format_arn(
                    service="logs",
                    resource="log-group",
                    resource_name=log_group_name,
                    arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
                )
            ],
            redacted_fields=[
                wafv2.CfnLoggingConfiguration.FieldToMatchProperty(single_header={"Name": header})
                for header in REDACTED_HEADERS
            ],
        )
        logging.node.add_dependency(self.log_group)


def _visibility(name_prefix: str, metric: str) -> wafv2.CfnWebACL.VisibilityConfigProperty:
    return wafv2.CfnWebACL.VisibilityConfigProperty(
        cloud_watch_metrics_enabled=True, sampled_requests_enabled=True, metric_name=f"{name_prefix}-{metric}"
    )


def _rule(
    name_prefix: str, name: str, *, statement: wafv2.CfnWebACL.StatementProperty, priority: int, blocks: bool
) -> wafv2.CfnWebACL.RuleProperty:
    """A rule that blocks on match (`blocks`) or, for a managed group, applies the group's own actions."""
    return wafv2.CfnWebACL.RuleProperty(
        name=name,
        priority=priority,
        statement=statement,
        action=wafv2.CfnWebACL.RuleActionProperty(block={}) if blocks else None,
        override_action=None if blocks else wafv2.CfnWebACL.OverrideActionProperty(none={}),
        visibility_config=_visibility(name_prefix, name),
    )
