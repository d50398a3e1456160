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
    assert images["AllowedMethods"] == ["GET", "HEAD"]
    (group,) = settings["OriginGroups"]["Items"]
    assert images["TargetOriginId"] == group["Id"]
    primary, fallback = (origins[m["OriginId"]] for m in group["Members"]["Items"])
    assert all("OriginAccessControlId" in origin for origin in (primary, fallback))
    assert logical_id(examples.stages["prod"].data.buckets.images) in json.dumps(primary["DomainName"])
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


def test_the_images_path_falls_back_to_the_first_active_secondarys_replica(examples: SynthesizedPlatform) -> None:
    """prod: eu-west-1 (active) before ap-southeast-1 (standby); on S3's errors and 403/404, after at most two
    5-second connection attempts at the primary bucket."""
    stage = examples.stages["prod"]
    (distribution,) = props(edge_template(examples), "AWS::CloudFront::Distribution")
    settings = distribution["DistributionConfig"]
    origins = {o["Id"]: o for o in settings["Origins"]}
    (group,) = settings["OriginGroups"]["Items"]
    assert sorted(group["FailoverCriteria"]["StatusCodes"]["Items"]) == [403, 404, 500, 502, 503, 504]
    primary, fallback = (origins[m["OriginId"]] for m in group["Members"]["Items"])
    assert (primary["ConnectionAttempts"], primary["ConnectionTimeout"]) == (2, 5)
    assert fallback["DomainName"] == "ai-platform-prod-images-333333333333-eu-west-1.s3.eu-west-1.amazonaws.com"
    assert stage.edge is not None and stage.replicas["eu-west-1"] in stage.edge.dependencies
    assert [region for region, replica in stage.replicas.items() if replica.serves_images] == ["eu-west-1"]


def test_only_the_fallback_replica_and_its_key_grant_cloudfront(examples: SynthesizedPlatform) -> None:
    """The replica CloudFront falls back to, and the storage key of its region, let this account's distributions
    read and decrypt, as the primary's do; the other secondary's replica grants CloudFront nothing."""
    conditions = {
        "StringEquals": {"AWS:SourceAccount": "333333333333"},
        "ArnLike": {"AWS:SourceArn": "arn:aws:cloudfront::333333333333:distribution/*"},
    }
    replicas = examples.stages["prod"].replicas
    for region, replica in replicas.items():
        tmpl = examples.template_json("prod", f"data-{region}")
        policies = [p for p in props(tmpl, "AWS::S3::BucketPolicy") if "cloudfront.amazonaws.com" in json.dumps(p)]
        keys = {k: r["Properties"] for k, r in resources(tmpl, "AWS::KMS::Key").items() if "cloudfront" in str(r)}
        if not replica.serves_images:
            assert not policies and not keys
            continue
        (policy,) = policies
        assert ref_id(policy["Bucket"]) == logical_id(replica.replica_buckets["images"])
        (read,) = [s for s in policy["PolicyDocument"]["Statement"] if s.get("Sid") == "CloudFrontOriginAccessControl"]
        assert (read["Action"], read["Condition"]) == ("s3:GetObject", conditions)
        assert list(keys) == [logical_id(replica.keys.storage)]
        statements = keys[logical_id(replica.keys.storage)]["KeyPolicy"]["Statement"]
        (decrypt,) = [s for s in statements if s.get("Sid") == "CloudFrontReadsImages"]
        assert (decrypt["Action"], decrypt["Condition"]) == ("kms:Decrypt", conditions)
