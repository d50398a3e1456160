"""WebAcl built alone, for what the stage configs do not exercise (geo-blocking)."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_kms as kms
from aws_cdk.assertions import Match, Template
from constructs.network.web_acl import WebAcl

from environments.schema.network import WafConfig


def _template(waf: WafConfig) -> Template:
    stack = cdk.Stack(
        cdk.App(builtin_cloud_formation_validation=False),
        "WafTest",
        env=cdk.Environment(account="111111111111", region="eu-west-1"),
    )
    WebAcl(
        stack,
        "Waf",
        waf=waf,
        acl_scope="REGIONAL",
        name_prefix="test-regional",
        log_encryption_key=kms.Key(stack, "Key"),
        removal_policy=cdk.RemovalPolicy.RETAIN,
    )
    return Template.from_stack(stack)


def test_geo_block_is_the_first_rule_when_configured() -> None:
    template = _template(WafConfig(rate_limit=500, geo_block=("KP", "IR"), log_retention_days=90))
    template.has_resource_properties(
        "AWS::WAFv2::WebACL",
        {
            "Rules": Match.array_with(
                [
                    Match.object_like(
                        {
                            "Name": "GeoBlock",
                            "Priority": 0,
                            "Action": {"Block": {}},
                            "Statement": {"GeoMatchStatement": {"CountryCodes": ["KP", "IR"]}},
                        }
                    ),
                    Match.object_like(
                        {"Name": "RateLimitPerIp", "Priority": 1, "Statement": Match.object_like(
                            {"RateBasedStatement": Match.object_like({"Limit": 500})})}
                    ),
                ]
            )
        },
    )  # fmt: skip
    template.has_resource_properties("AWS::Logs::LogGroup", {"LogGroupName": "aws-waf-logs-test-regional"})


def test_no_geo_rule_without_countries() -> None:
    template = _template(WafConfig(rate_limit=2000, log_retention_days=90))
    (acl,) = template.find_resources("AWS::WAFv2::WebACL").values()
    assert acl["Properties"]["Rules"][0]["Name"] == "RateLimitPerIp"
