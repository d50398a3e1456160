"""The ingress load balancer (seed 002's front door): an internet-facing ALB in the public tier behind the
regional WAF, HTTPS with a TLS 1.3 policy (HTTP redirects to it), one IP target group per service whose pods
the AWS Load Balancer Controller registers through a TargetGroupBinding, access logs, and an alias in the
stage's zone that its certificate covers. With the edge on, only requests carrying CloudFront's origin
verification secret are forwarded (OriginVerification)."""

from __future__ import annotations

from collections.abc import Sequence

import aws_cdk as cdk
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_eks_v2 as eks
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_route53 as route53
from aws_cdk import aws_route53_targets as route53_targets
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_wafv2 as wafv2
from aws_cdk import region_info
from constructs import Construct
from constructs.common.acknowledgments import acknowledge
from constructs.common.secure_bucket import LOGS_STAY, SecureBucket, log_expiry

from environments.schema.compute import IngressConfig
from environments.schema.data import BucketsConfig
from environments.schema.edge import OriginVerifyConfig
from environments.schema.workloads import ServiceConfig

TLS_POLICY = elbv2.SslPolicy.TLS13_RES
TLS_POLICY_NAME = "ELBSecurityPolicy-TLS13-1-2-Res-2021-06"
"""TLS_POLICY as ELB names it: TLS 1.3, and TLS 1.2 with forward-secret AEAD ciphers only (CloudFront connects
to origins over TLS 1.2)."""
SERVICE_LABEL = "app.kubernetes.io/name"
"""The label each service's pods carry with the service's name (what its Kubernetes Service selects)."""
DESYNC_MODES = {
    "monitor": elbv2.DesyncMitigationMode.MONITOR,
    "defensive": elbv2.DesyncMitigationMode.DEFENSIVE,
    "strictest": elbv2.DesyncMitigationMode.STRICTEST,
}
RULE_PRIORITY_STEP = 10
"""Listener rules are numbered 10, 20, ... in the order of platform.services."""
LOG_PREFIX = "ingress"
ORIGIN_VERIFY_HEADER = "X-Origin-Verify"


class OriginVerification(Construct):
    """The shared secret CloudFront sends in the ORIGIN_VERIFY_HEADER origin header and the listener rules
    require, so that only requests through the edge reach the services: `secret` (generated, alphanumeric,
    replicated to each of `replica_regions`, there under Secrets Manager's AWS-managed key, as the stage's
    keys are regional), `secret_name`, and as CloudFormation dynamic references `sent`
    (what CloudFront sends) and `accepted` (what the listener takes: the value sent and, while a rotation
    completes, the previous one). They name the secret rather than its ARN, so they resolve in any region that
    holds it or its replica."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        secret_name: str,
        encryption_key: kms.IKey,
        versions: OriginVerifyConfig,
        replica_regions: Sequence[str],
        removal_policy: cdk.RemovalPolicy,
    ) -> None:
        super().__init__(scope, construct_id)
        self.secret_name = secret_name
        self.secret = secretsmanager.Secret(
            self,
            "Secret",
            secret_name=secret_name,
            description="Origin verification: CloudFront sends it, the ingress load balancer requires it",
            encryption_key=encryption_key,
            # Header conditions treat * and ? as wildcards: letters and digits only.
            generate_secret_string=secretsmanager.SecretStringGenerator(exclude_punctuation=True, password_length=64),
            replica_regions=[secretsmanager.ReplicaRegion(region=region) for region in replica_regions] or None,
            removal_policy=removal_policy,
        )
        rotation = (
            "Rotated by hand (README): each value must reach the listener rules and then CloudFront, which only "
            "a deploy of both does; a rotation function would leave one of them behind."
        )
        acknowledge(self.secret, "AwsSolutions-SMG4", rotation)
        self.sent = self._value(versions.current_version_id)
        self.accepted = [
            self.sent,
            *([self._value(versions.previous_version_id)] if versions.previous_version_id else []),
        ]

    def _value(self, version_id: str | None) -> str:
        """The secret's value at `version_id` (its current one when None), resolved at deploy time."""
        return cdk.SecretValue.secrets_manager(self.secret_name, version_id=version_id).unsafe_unwrap()


class IngressLoadBalancer(Construct):
    """`load_balancer`, its `https_listener` and `http_listener` (a redirect); by service name its
    `target_groups`, their CloudWatch `target_group_dimensions` and `bindings` (the TargetGroupBinding
    manifests); `certificate`, `alias` and its name `origin_hostname` (what clients, or CloudFront, connect
    to), and `log_bucket`. The AWS Load Balancer Controller creates no load balancer of its own: it only
    registers the services' pods in these target groups. `rules` (by service) forward the service's paths."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        ingress: IngressConfig,
        services: Sequence[ServiceConfig],
        vpc: ec2.IVpc,
        subnets: Sequence[ec2.ISubnet],
        security_group: ec2.ISecurityGroup,
        web_acl_arn: str,
        cluster: eks.ICluster,
        origin_verification: OriginVerification | None,
        buckets: BucketsConfig,
        access_log_bucket: s3.IBucket,
        removal_policy: cdk.RemovalPolicy,
        deletion_protection: bool,
    ) -> None:
        """`subnets`: the public tier; `security_group`: the network's `alb` group, the only one it gets (its
        rules live with the network); `origin_verification`: with the edge on, what every rule requires;
        `access_log_bucket`: where the log bucket's own server access logs go."""
        super().__init__(scope, construct_id)
        zone = route53.HostedZone.from_hosted_zone_attributes(
            self, "Zone", hosted_zone_id=ingress.hosted_zone_id, zone_name=ingress.hosted_zone_name
        )
        self.certificate: acm.ICertificate = (
            acm.Certificate.from_certificate_arn(self, "Certificate", ingress.certificate_arn)
            if ingress.certificate_arn
            else acm.Certificate(
                self,
                "Certificate",
                domain_name=ingress.domain_name,
                validation=acm.CertificateValidation.from_dns(zone),
            )
        )
        self.log_bucket = SecureBucket(
            self,
            "Logs",
            encryption_key=None,
            s3_managed_because="ELB delivers access logs only to buckets encrypted with S3-managed keys (SSE-S3).",
            stays_in_region_because=LOGS_STAY,
            access_log_bucket=access_log_bucket,
            versioned=buckets.versioned,
            noncurrent_version_expiration_days=buckets.noncurrent_version_expiration_days,
            removal_policy=removal_policy,
            lifecycle_rules=[log_expiry(buckets.access_log_retention_days)],
        ).bucket

        self.load_balancer = elbv2.ApplicationLoadBalancer(
            self,
            "LoadBalancer",
            vpc=vpc,
            internet_facing=True,
            vpc_subnets=ec2.SubnetSelection(subnets=list(subnets)),
            security_group=security_group,
            deletion_protection=deletion_protection,
            idle_timeout=cdk.Duration.seconds(ingress.idle_timeout_seconds),
            desync_mitigation_mode=DESYNC_MODES[ingress.desync_mitigation],
            drop_invalid_header_fields=True,
        )
        self._deliver_access_logs(LOG_PREFIX)
        if not deletion_protection:
            acknowledge(
                self.load_balancer,
                "NIST.800.53.R5-ELBDeletionProtectionEnabled",
                "This stage allows destroying its resources (allow_destroy); every other stage protects it.",
            )
        wafv2.CfnWebACLAssociation(
            self, "WebAcl", resource_arn=self.load_balancer.load_balancer_arn, web_acl_arn=web_acl_arn
        )

        # open=False: the listeners add no rules to the group; the network stack owns who may connect.
        self.http_listener = self.load_balancer.add_listener(
            "Http",
            port=80,
            protocol=elbv2.ApplicationProtocol.HTTP,
            open=False,
            default_action=elbv2.ListenerAction.redirect(protocol="HTTPS", port="443", permanent=True),
        )
        acknowledge(
            self.http_listener,
            "NIST.800.53.R5-ELBv2ACMCertificateRequired",
            "Port 80 serves nothing: it only redirects to the HTTPS listener, which has the ACM certificate.",
        )
        self.https_listener = self.load_balancer.add_listener(
            "Https",
            port=443,
            protocol=elbv2.ApplicationProtocol.HTTPS,
            open=False,
            certificates=[elbv2.ListenerCertificate.from_certificate_manager(self.certificate)],
            ssl_policy=TLS_POLICY,
            default_action=elbv2.ListenerAction.fixed_response(
                404, content_type="text/plain", message_body="Not found"
            ),
        )

        self.target_groups: dict[str, elbv2.ApplicationTargetGroup] = {}
        self.rules: dict[str, elbv2.ApplicationListenerRule] = {}
        self.bindings: dict[str, eks.KubernetesManifest] = {}
        # CDK's target group metrics find the load balancer by splitting the listener's ARN, which in another
        # stack splits an Fn::GetStackOutput (not among the functions Fn::Split takes); both full names are
        # attributes of their own.
        self.target_group_dimensions: dict[str, dict[str, str]] = {}
        check = ingress.health_check
        verified = (
            [elbv2.ListenerCondition.http_header(ORIGIN_VERIFY_HEADER, origin_verification.accepted)]
            if origin_verification
            else []
        )
        for index, service in enumerate(services):
            name = _id(service.name)
            target_group = elbv2.ApplicationTargetGroup(
                self,
                f"{name}Targets",
                vpc=vpc,
                port=service.port,
                protocol=elbv2.ApplicationProtocol.HTTP,
                target_type=elbv2.TargetType.IP,
                health_check=elbv2.HealthCheck(
                    path=service.health_check_path,
                    interval=cdk.Duration.seconds(check.interval_seconds),
                    timeout=cdk.Duration.seconds(check.timeout_seconds),
                    healthy_threshold_count=check.healthy_threshold,
                    unhealthy_threshold_count=check.unhealthy_threshold,
                    healthy_http_codes=check.healthy_http_codes,
                ),
            )
            self.rules[service.name] = elbv2.ApplicationListenerRule(
                self,
                f"{name}Rule",
                listener=self.https_listener,
                priority=RULE_PRIORITY_STEP * (index + 1),
                conditions=[elbv2.ListenerCondition.path_patterns(list(service.path_patterns)), *verified],
                action=elbv2.ListenerAction.forward([target_group]),
            )
            if origin_verification:
                # The rule names the secret, not its ARN: CloudFormation must create it before resolving it.
                self.rules[service.name].node.add_dependency(origin_verification.secret)
            self.target_groups[service.name] = target_group
            self.target_group_dimensions[service.name] = {
                "LoadBalancer": self.load_balancer.load_balancer_full_name,
                "TargetGroup": target_group.target_group_full_name,
            }
            self.bindings[service.name] = eks.KubernetesManifest(
                self, f"{name}Binding", cluster=cluster, manifest=[target_group_binding(service, target_group)]
            )

        self.alias = route53.ARecord(
            self,
            "Alias",
            zone=zone,
            record_name=ingress.domain_name,
            target=route53.RecordTarget.from_alias(route53_targets.LoadBalancerTarget(self.load_balancer)),
        )
        self.origin_hostname = ingress.domain_name

    def _deliver_access_logs(self, prefix: str) -> None:
        """Access logs to the log bucket, written by Elastic Load Balancing for this account only. CDK's
        `log_access_logs` would also admit the `delivery.logs` service for any account (no source condition);
        an ALB needs just its region's ELB account, or the log-delivery service in regions opened since 2022
        (elasticloadbalancing/latest/application/enable-access-logging.html)."""
        stack = cdk.Stack.of(self)
        elb_account = region_info.RegionInfo.get(stack.region).elbv2_account
        writer: iam.IPrincipal = (
            iam.AccountPrincipal(elb_account)
            if elb_account
            else iam.ServicePrincipal("logdelivery.elasticloadbalancing.amazonaws.com").with_conditions(
                {"StringEquals": {"aws:SourceAccount": stack.account}}
            )
        )
        policy_added = self.log_bucket.add_to_resource_policy(
            iam.PolicyStatement(
                sid="LoadBalancerAccessLogs",
                actions=["s3:PutObject"],
                principals=[writer],
                resources=[self.log_bucket.arn_for_objects(f"{prefix}/AWSLogs/{stack.account}/*")],
            )
        )
        for key, value in (
            ("access_logs.s3.enabled", "true"),
            ("access_logs.s3.bucket", self.log_bucket.bucket_name),
            ("access_logs.s3.prefix", prefix),
        ):
            self.load_balancer.set_attribute(key, value)
        # ELB checks that it may write when the attribute is set: the policy must exist first.
        if policy_added.policy_dependable:
            self.load_balancer.node.add_dependency(policy_added.policy_dependable)


def target_group_binding(service: ServiceConfig, target_group: elbv2.ITargetGroup) -> dict[str, object]:
    """The TargetGroupBinding that has the controller register the pods behind Service `service.name` (its
    `service.port`) in `target_group`, by pod IP."""
    return {
        "apiVersion": "elbv2.k8s.aws/v1beta1",
        "kind": "TargetGroupBinding",
        "metadata": {"name": service.name, "namespace": service.namespace},
        "spec": {
            "serviceRef": {"name": service.name, "port": service.port},
            "targetGroupARN": target_group.target_group_arn,
            "targetType": "ip",
        },
    }


def _id(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("-"))
