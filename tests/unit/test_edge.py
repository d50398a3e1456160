"""The edge stack (issue: edge and multiple regions, the CloudFront part)."""

from __future__ import annotations

import json
from typing import Any

from constructs.network.web_acl import MANAGED_RULE_GROUPS

from tests.support import logical_id, props, ref_id, resources
from tests.synthesis import SynthesizedPlatform


def edge_template(examples: SynthesizedPlatform) -> dict[str, Any]:
    return examples.template_json("prod", "edge")


def test_edge_is_in_us_east_1_only_where_enabled(examples: SynthesizedPlatform) -> None:
    for stage in examples.configs:
        enabled = examples.configs[stage].edge.enabled
        assert (examples.stages[stage].edge is not None) is enabled
    edge = examples.stages["prod"].edge
    assert edge is not None
    assert (edge.region, edge.stack_name, edge.termination_protection) == ("us-east-1", "prod-edge", True)


def test_distribution(examples: SynthesizedPlatform) -> None:
    config = examples.configs["prod"].edge
    tmpl = edge_template(examples)
    (distribution,) = props(tmpl, "AWS::CloudFront::Distribution")
    settings = distribution["DistributionConfig"]
    assert settings["Aliases"] == [config.domain_name]
    assert settings["ViewerCertificate"]["MinimumProtocolVersion"] == "TLSv1.2_2021"
    assert settings["ViewerCertificate"]["SslSupportMethod"] == "sni-only"
    assert "Bucket" in settings["Logging"]
    origins = {o["Id"]: o for o in settings["Origins"]}
    custom = next(o for o in origins.values() if "CustomOriginConfig" in o)
    assert custom["DomainName"] == examples.configs["prod"].platform.ingress.domain_name == "origin.app.example.com"
    assert custom["CustomOriginConfig"]["OriginProtocolPolicy"] == "https-only"
    assert custom["CustomOriginConfig"]["OriginSSLProtocols"] == ["TLSv1.2"]
    (images,) = settings["CacheBehaviors"]
    assert images["PathPattern"] == "/images/*"
    s3_origin = origins[images["TargetOriginId"]]
    assert "OriginAccessControlId" in s3_origin
    assert logical_id(examples.stages["prod"].data.buckets.images) in json.dumps(s3_origin["DomainName"])
    assert settings["DefaultCacheBehavior"]["ViewerProtocolPolicy"] == "redirect-to-https"
    (headers,) = props(tmpl, "AWS::CloudFront::ResponseHeadersPolicy")
    security = headers["ResponseHeadersPolicyConfig"]["SecurityHeadersConfig"]
    assert security["StrictTransportSecurity"]["AccessControlMaxAgeSec"] == 31_536_000


def test_certificate_and_dns(examples: SynthesizedPlatform) -> None:
    config = examples.configs["prod"].edge
    tmpl = edge_template(examples)
    (certificate,) = props(tmpl, "AWS::CertificateManager::Certificate")
    assert certificate["DomainName"] == config.domain_name and certificate["ValidationMethod"] == "DNS"
    assert certificate["DomainValidationOptions"][0]["HostedZoneId"] == config.hosted_zone_id
    records = props(tmpl, "AWS::Route53::RecordSet")
    aliases = [r for r in records if "AliasTarget" in r]
    assert sorted(r["Type"] for r in aliases) == ["A", "AAAA"]
    assert all(r["HostedZoneId"] == config.hosted_zone_id for r in records)
    assert not resources(tmpl, "AWS::Shield::Protection")  # toggle off: needs a subscription


def test_global_web_acl_mirrors_the_regional_one(examples: SynthesizedPlatform) -> None:
    tmpl = edge_template(examples)
    (acl,) = props(tmpl, "AWS::WAFv2::WebACL")
    assert acl["Scope"] == "CLOUDFRONT"
    managed = {
        r["Statement"]["ManagedRuleGroupStatement"]["Name"]
        for r in acl["Rules"]
        if "ManagedRuleGroupStatement" in r["Statement"]
    }
    assert managed == set(MANAGED_RULE_GROUPS)
    rate = next(r for r in acl["Rules"] if r["Name"] == "RateLimitPerIp")
    assert rate["Statement"]["RateBasedStatement"]["Limit"] == examples.configs["prod"].network.waf.rate_limit
    (distribution,) = resources(tmpl, "AWS::CloudFront::Distribution").values()
    assert ref_id(distribution["Properties"]["DistributionConfig"]["WebACLId"]) == logical_id(
        examples.stages["prod"].edge.edge.web_acl.web_acl  # type: ignore[union-attr]
    )
    (logging,) = props(tmpl, "AWS::WAFv2::LoggingConfiguration")
    assert "aws-waf-logs-ai-platform-prod-cloudfront" in json.dumps(logging["LogDestinationConfigs"])


def test_data_stack_grants_cloudfront_only_with_an_edge(examples: SynthesizedPlatform) -> None:
    for stage in examples.configs:
        data = json.dumps(examples.template_json(stage, "data"))
        assert ("cloudfront.amazonaws.com" in data) is examples.configs[stage].edge.enabled


def test_the_origin_is_the_platforms_load_balancer_and_proves_it_came_through_cloudfront(
    examples: SynthesizedPlatform,
) -> None:
    """CloudFront sends the origin-verification secret (by name: it resolves from the replica in us-east-1
    when the stage is elsewhere); the edge deploys after the platform stack, which owns both."""
    stage = examples.stages["prod"]
    assert stage.edge is not None and stage.platform in stage.edge.dependencies
    verification = stage.platform.origin_verification
    assert verification is not None
    (distribution,) = props(edge_template(examples), "AWS::CloudFront::Distribution")
    (custom,) = [o for o in distribution["DistributionConfig"]["Origins"] if "CustomOriginConfig" in o]
    assert custom["OriginCustomHeaders"] == [
        {
            "HeaderName": "X-Origin-Verify",
            "HeaderValue": "{{resolve:secretsmanager:/ai-platform/prod/origin-verify:SecretString:::}}",
        }
    ]
    assert verification.secret_name == "/ai-platform/prod/origin-verify"
    # No Route 53 failover or health checks: no secondary region runs a platform stack (and so an origin)
    # yet, and Route 53's checkers could not reach a load balancer that admits only CloudFront.
    assert not resources(edge_template(examples), "AWS::Route53::HealthCheck")
    assert not [r for r in props(edge_template(examples), "AWS::Route53::RecordSet") if "Failover" in r]
