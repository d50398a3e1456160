"""The ingress load balancer in the platform stack, per stage (issue: the front door in code)."""

from __future__ import annotations

import json
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_eks_v2 as eks
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Template
from constructs.compute.ingress_load_balancer import (
    ORIGIN_VERIFY_HEADER,
    SERVICE_LABEL,
    TLS_POLICY_NAME,
    IngressLoadBalancer,
    OriginVerification,
)

from environments.schema.edge import OriginVerifyConfig
from environments.schema.stage import StageConfig
from stacks.platform import PlatformComputeStack
from tests.behaviour.reachability import with_placeholders
from tests.support import logical_id, output_of, props, ref_id, resources
from tests.synthesis import SynthesizedPlatform

LOAD_BALANCER = "AWS::ElasticLoadBalancingV2::LoadBalancer"
LISTENER = "AWS::ElasticLoadBalancingV2::Listener"
RULE = "AWS::ElasticLoadBalancingV2::ListenerRule"
TARGET_GROUP = "AWS::ElasticLoadBalancingV2::TargetGroup"
CERTIFICATE_ARN = "arn:aws:acm:us-east-1:111111111111:certificate/0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d"


def platform_stack(examples: SynthesizedPlatform, stage: str) -> PlatformComputeStack:
    return examples.stages[stage].platform


def template(examples: SynthesizedPlatform, stage: str) -> dict[str, Any]:
    return examples.template_json(stage, "platform")


def attributes(examples: SynthesizedPlatform, stage: str) -> dict[str, Any]:
    (balancer,) = props(template(examples, stage), LOAD_BALANCER)
    return {a["Key"]: a["Value"] for a in balancer["LoadBalancerAttributes"]}


def listeners(examples: SynthesizedPlatform, stage: str) -> dict[int, dict[str, Any]]:
    return {listener["Port"]: listener for listener in props(template(examples, stage), LISTENER)}


def test_one_internet_facing_load_balancer_in_the_public_tier_with_the_alb_group(
    examples: SynthesizedPlatform, stage: str
) -> None:
    network = examples.stages[stage].network
    (balancer,) = props(template(examples, stage), LOAD_BALANCER)
    assert balancer["Scheme"] == "internet-facing"
    assert "Name" not in balancer  # CloudFormation names it, within ELB's 32 characters
    public = [logical_id(subnet) for subnet in network.public_subnets.subnets]
    assert [next(s for s in public if s in output_of(ref)) for ref in balancer["Subnets"]] == public
    (group,) = balancer["SecurityGroups"]
    assert logical_id(network.security_groups.alb) in output_of(group)


def test_attributes_follow_config_and_the_stages_data_policy(examples: SynthesizedPlatform, stage: str) -> None:
    config = examples.configs[stage]
    ingress = config.platform.ingress
    found = attributes(examples, stage)
    assert found["deletion_protection.enabled"] == ("false" if config.allow_destroy else "true")
    assert found["idle_timeout.timeout_seconds"] == str(ingress.idle_timeout_seconds) == "60"
    assert found["routing.http.desync_mitigation_mode"] == ingress.desync_mitigation == "defensive"
    assert found["routing.http.drop_invalid_header_fields.enabled"] == "true"


def test_access_logs_go_to_an_sse_s3_bucket_of_the_stage(examples: SynthesizedPlatform, stage: str) -> None:
    config = examples.configs[stage]
    ingress = platform_stack(examples, stage).ingress
    tmpl = template(examples, stage)
    found = attributes(examples, stage)
    assert found["access_logs.s3.enabled"] == "true"
    assert ref_id(found["access_logs.s3.bucket"]) == logical_id(ingress.log_bucket)
    bucket = tmpl["Resources"][logical_id(ingress.log_bucket)]
    (encryption,) = bucket["Properties"]["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert encryption["ServerSideEncryptionByDefault"] == {"SSEAlgorithm": "AES256"}
    logging = bucket["Properties"]["LoggingConfiguration"]
    assert ref_id(logging["DestinationBucketName"]) == logical_id(platform_stack(examples, stage).access_logs)
    expected = "Delete" if config.allow_destroy else "Retain"
    assert (bucket["DeletionPolicy"], bucket["UpdateReplacePolicy"]) == (expected, expected)
    (expiry,) = [r for r in bucket["Properties"]["LifecycleConfiguration"]["Rules"] if r["Id"] == "expire-logs"]
    assert expiry["ExpirationInDays"] == config.data.buckets.access_log_retention_days
    (policy,) = [
        p for p in props(tmpl, "AWS::S3::BucketPolicy") if ref_id(p["Bucket"]) == logical_id(ingress.log_bucket)
    ]
    writes = [s for s in policy["PolicyDocument"]["Statement"] if s["Action"] == "s3:PutObject"]
    assert writes and all("ingress/AWSLogs/" in json.dumps(s["Resource"]) for s in writes)


def test_http_redirects_and_https_uses_tls_1_3_and_the_stages_certificate(
    examples: SynthesizedPlatform, stage: str
) -> None:
    ingress = examples.configs[stage].platform.ingress
    tmpl = template(examples, stage)
    found = listeners(examples, stage)
    assert set(found) == {80, 443}
    (redirect,) = found[80]["DefaultActions"]
    assert redirect == {
        "Type": "redirect",
        "RedirectConfig": {"Port": "443", "Protocol": "HTTPS", "StatusCode": "HTTP_301"},
    }
    https = found[443]
    assert https["Protocol"] == "HTTPS"
    assert https["SslPolicy"] == TLS_POLICY_NAME == "ELBSecurityPolicy-TLS13-1-2-Res-2021-06"
    (certificate,) = https["Certificates"]
    (issued,) = resources(tmpl, "AWS::CertificateManager::Certificate").items()
    assert ref_id(certificate["CertificateArn"]) == issued[0]
    assert issued[1]["Properties"]["DomainName"] == ingress.domain_name
    assert issued[1]["Properties"]["ValidationMethod"] == "DNS"
    assert issued[1]["Properties"]["DomainValidationOptions"] == [
        {"DomainName": ingress.domain_name, "HostedZoneId": ingress.hosted_zone_id}
    ]
    assert https["DefaultActions"][0]["FixedResponseConfig"]["StatusCode"] == "404"


def test_the_regional_web_acl_is_associated_in_cdk(examples: SynthesizedPlatform, stage: str) -> None:
    network = examples.stages[stage].network
    ingress = platform_stack(examples, stage).ingress
    (association,) = props(template(examples, stage), "AWS::WAFv2::WebACLAssociation")
    assert ref_id(association["ResourceArn"]) == logical_id(ingress.load_balancer)
    assert logical_id(network.web_acl.web_acl) in output_of(association["WebACLArn"])


def test_one_ip_target_group_and_rule_per_service(examples: SynthesizedPlatform, stage: str) -> None:
    config = examples.configs[stage]
    check = config.platform.ingress.health_check
    ingress = platform_stack(examples, stage).ingress
    tmpl = template(examples, stage)
    rules = {ref_id(r["Actions"][0]["TargetGroupArn"]): r for r in props(tmpl, RULE)}
    assert all("Name" not in group for group in props(tmpl, TARGET_GROUP))  # CloudFormation names them
    assert len(rules) == len(props(tmpl, TARGET_GROUP)) == len(config.platform.services)
    for index, service in enumerate(config.platform.services):
        group_id = logical_id(ingress.target_groups[service.name])
        group = tmpl["Resources"][group_id]["Properties"]
        assert (group["Port"], group["Protocol"], group["TargetType"]) == (service.port, "HTTP", "ip")
        assert (group["HealthCheckPath"], group["Matcher"]) == (service.health_check_path, {"HttpCode": "200"})
        assert (group["HealthCheckIntervalSeconds"], group["HealthCheckTimeoutSeconds"]) == (
            check.interval_seconds,
            check.timeout_seconds,
        )
        assert (group["HealthyThresholdCount"], group["UnhealthyThresholdCount"]) == (2, 3)
        rule = rules[group_id]
        assert rule["Priority"] == 10 * (index + 1)
        assert ref_id(rule["ListenerArn"]) == logical_id(ingress.https_listener)
        paths = [c for c in rule["Conditions"] if c["Field"] == "path-pattern"]
        assert paths == [{"Field": "path-pattern", "PathPatternConfig": {"Values": list(service.path_patterns)}}]
        headers = [c["HttpHeaderConfig"] for c in rule["Conditions"] if c["Field"] == "http-header"]
        verification = platform_stack(examples, stage).origin_verification
        if config.edge.enabled:  # only requests that came through CloudFront
            assert verification is not None
            accepted = platform_stack(examples, stage).resolve(verification.accepted)
            assert headers == [{"HttpHeaderName": ORIGIN_VERIFY_HEADER, "Values": accepted}]
            assert (
                logical_id(verification.secret)
                in tmpl["Resources"][logical_id(ingress.rules[service.name])]["DependsOn"]
            )
        else:
            assert headers == [] and verification is None


def test_seed_002_services_and_the_agent(examples: SynthesizedPlatform, stage: str) -> None:
    services = {s.name: (s.port, s.namespace, s.gpu) for s in examples.configs[stage].platform.services}
    assert services == {
        "user": (8001, "app", False),
        "payment": (8002, "app", False),
        "generation": (8003, "gpu-workers", True),
        "gallery": (8004, "app", False),
        "model": (8005, "gpu-workers", True),
        "agent": (8006, "app", False),  # seed 001
    }


def test_a_target_group_binding_registers_each_services_pods(examples: SynthesizedPlatform, stage: str) -> None:
    stack = platform_stack(examples, stage)
    ingress = stack.ingress
    tmpl = template(examples, stage)
    controller = logical_id(stack.addons.charts["aws-load-balancer-controller"])
    for service in examples.configs[stage].platform.services:
        manifest = tmpl["Resources"][logical_id(ingress.bindings[service.name])]
        assert {controller, logical_id(stack.tenancy.manifests[service.namespace])} <= set(manifest["DependsOn"])
        text, tokens = with_placeholders(manifest["Properties"]["Manifest"])
        (binding,) = json.loads(text)
        assert (binding["apiVersion"], binding["kind"]) == ("elbv2.k8s.aws/v1beta1", "TargetGroupBinding")
        assert (binding["metadata"]["name"], binding["metadata"]["namespace"]) == (service.name, service.namespace)
        spec = binding["spec"]
        assert spec["serviceRef"] == {"name": service.name, "port": service.port}
        assert spec["targetType"] == "ip" and "networking" not in spec  # the network stack owns the group rules
        assert tokens[spec["targetGroupARN"]] == {"Ref": logical_id(ingress.target_groups[service.name])}
    assert SERVICE_LABEL == "app.kubernetes.io/name"


def test_the_load_balancer_has_its_name_in_the_zone(examples: SynthesizedPlatform, stage: str) -> None:
    ingress = examples.configs[stage].platform.ingress
    construct = platform_stack(examples, stage).ingress
    record = template(examples, stage)["Resources"][logical_id(construct.alias)]["Properties"]
    assert (record["Name"], record["Type"], record["HostedZoneId"]) == (
        f"{ingress.domain_name}.",
        "A",
        ingress.hosted_zone_id,
    )
    assert ref_id(record["AliasTarget"]["DNSName"]["Fn::Join"][1][1]) == logical_id(construct.load_balancer)
    assert construct.origin_hostname == ingress.domain_name  # what the certificate covers and CloudFront calls


def _alone(config: StageConfig, **ingress: Any) -> Template:
    """IngressLoadBalancer in a stack of its own, on an imported cluster, with `ingress` changed."""
    stack = cdk.Stack(
        cdk.App(builtin_cloud_formation_validation=False),
        "Ingress",
        env=cdk.Environment(account="111111111111", region="us-east-1"),
    )
    vpc = ec2.Vpc(stack, "Vpc", availability_zones=["us-east-1a", "us-east-1b"], nat_gateways=0)
    kubectl = eks.KubectlProvider.from_kubectl_provider_attributes(
        stack, "Kubectl", service_token="arn:aws:lambda:us-east-1:111111111111:function:kubectl"
    )
    IngressLoadBalancer(
        stack,
        "Ingress",
        ingress=config.platform.ingress.model_copy(update=ingress),
        services=config.platform.services,
        vpc=vpc,
        subnets=vpc.public_subnets,
        security_group=ec2.SecurityGroup(stack, "Alb", vpc=vpc),
        web_acl_arn="arn:aws:wafv2:us-east-1:111111111111:regional/webacl/platform/0000",
        cluster=eks.Cluster.from_cluster_attributes(
            stack, "Cluster", cluster_name="platform", kubectl_provider=kubectl
        ),
        origin_verification=None,
        buckets=config.data.buckets,
        access_log_bucket=s3.Bucket(stack, "ServerAccessLogs"),
        removal_policy=cdk.RemovalPolicy.RETAIN,
        deletion_protection=True,
    )
    return Template.from_stack(stack)


def test_an_existing_certificate_is_used_instead_of_a_new_one(examples: SynthesizedPlatform) -> None:
    built = _alone(examples.configs["dev"], certificate_arn=CERTIFICATE_ARN)
    assert built.find_resources("AWS::CertificateManager::Certificate") == {}
    https = [r["Properties"] for r in built.find_resources(LISTENER).values() if r["Properties"]["Port"] == 443]
    assert [listener["Certificates"] for listener in https] == [[{"CertificateArn": CERTIFICATE_ARN}]]


def _verification(
    region: str, versions: OriginVerifyConfig, replica_region: str | None
) -> tuple[OriginVerification, Template]:
    stack = cdk.Stack(
        cdk.App(builtin_cloud_formation_validation=False),
        "Verify",
        env=cdk.Environment(account="111111111111", region=region),
    )
    verification = OriginVerification(
        stack,
        "OriginVerification",
        secret_name="/ai-platform/qa/origin-verify",
        encryption_key=kms.Key(stack, "Key"),
        versions=versions,
        replica_regions=[replica_region] if replica_region else [],
        removal_policy=cdk.RemovalPolicy.RETAIN,
    )
    return verification, Template.from_stack(stack)


def test_the_origin_secret_is_generated_alphanumeric_and_kept(examples: SynthesizedPlatform) -> None:
    verification = examples.stages["prod"].platform.origin_verification
    assert verification is not None
    tmpl = template(examples, "prod")
    secret = tmpl["Resources"][logical_id(verification.secret)]
    generated = secret["Properties"]["GenerateSecretString"]
    assert (generated["ExcludePunctuation"], generated["PasswordLength"]) == (True, 64)
    assert secret["Properties"]["Name"] == "/ai-platform/prod/origin-verify"
    assert (secret["DeletionPolicy"], secret["UpdateReplacePolicy"]) == ("Retain", "Retain")
    # prod is in us-east-1, where CloudFront resolves it; every other region's listener reads its replica
    replicas = [replica["Region"] for replica in secret["Properties"]["ReplicaRegions"]]
    assert replicas == sorted(region.region for region in examples.configs["prod"].secondaries)
    assert verification.accepted == [verification.sent]  # no rotation under way


def test_a_rotation_accepts_the_previous_value_and_sends_the_current_one() -> None:
    current, previous = "a" * 8 + "-1111-2222-3333-" + "b" * 12, "c" * 8 + "-4444-5555-6666-" + "d" * 12
    verification, built = _verification(
        "eu-west-1", OriginVerifyConfig(current_version_id=current, previous_version_id=previous), "us-east-1"
    )
    stack, name = cdk.Stack.of(verification), "/ai-platform/qa/origin-verify"
    sent = f"{{{{resolve:secretsmanager:{name}:SecretString:::{current}}}}}"
    assert stack.resolve(verification.sent) == sent
    assert stack.resolve(verification.accepted) == [
        sent,
        f"{{{{resolve:secretsmanager:{name}:SecretString:::{previous}}}}}",
    ]
    (secret,) = built.find_resources("AWS::SecretsManager::Secret").values()
    assert secret["Properties"]["ReplicaRegions"] == [{"Region": "us-east-1"}]
