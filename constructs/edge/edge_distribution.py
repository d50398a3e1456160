"""The edge (seeds 000, 002): CloudFront in front of the ingress load balancer and the images bucket,
TLS 1.2+ with a DNS-validated certificate, security headers, a CLOUDFRONT-scope WAF web ACL with the
regional one's rules, access logs, Route 53 aliases and optional Shield Advanced."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cloudfront_origins as origins
from aws_cdk import aws_route53 as route53
from aws_cdk import aws_route53_targets as route53_targets
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_shield as shield
from constructs import Construct
from constructs.common.acknowledgments import acknowledge
from constructs.common.encryption_key import EncryptionKey
from constructs.common.secure_bucket import access_log_bucket
from constructs.network.web_acl import WebAcl

from environments.schema.edge import IMAGES_CONNECTION_ATTEMPTS, IMAGES_CONNECTION_TIMEOUT_SECONDS, EdgeConfig
from environments.schema.network import WafConfig

IMAGES_PATH = "/images/*"
IMAGES_FAILOVER_STATUS_CODES = (500, 502, 503, 504, 403, 404)
"""What the images bucket answers that sends a request on to its replica: S3's errors, and 403/404, which an S3
origin returns for an object that is not there (yet) or a key it cannot use (CloudFront's guide for S3 origins)."""


@dataclass(frozen=True)
class ImagesReplica:
    """The images bucket's replica the images path falls back to: its fixed name and its region. Imported by name,
    so its grants stay in its own (replica) stack, which deploys first."""

    bucket_name: str
    region: str


class EdgeDistribution(Construct):
    """`distribution`, `certificate`, `web_acl`, `records`, `log_bucket`, and `protection` when Shield Advanced
    is on. The default origin is `origin_hostname` (the ingress load balancer's name, which its certificate
    covers) over HTTPS, sent `origin_headers` with every request; it allows every method, so it cannot be an
    origin group (Route 53 fails that name over between regions instead). The read-only images path (GET, HEAD)
    reads the images bucket and, given `images_replica`, is an origin group that falls back to the replica."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        edge: EdgeConfig,
        waf: WafConfig,
        name_prefix: str,
        origin_hostname: str,
        origin_headers: Mapping[str, str],
        images_bucket_name: str,
        images_replica: ImagesReplica | None = None,
        key_alias: str,
        deletion_window_days: int,
        removal_policy: cdk.RemovalPolicy,
    ) -> None:
        super().__init__(scope, construct_id)
        logs_key = EncryptionKey(
            self,
            "LogKey",
            alias=key_alias,
            description="Edge logs (CloudFront WAF)",
            deletion_window_days=deletion_window_days,
            removal_policy=removal_policy,
        )
        logs_key.allow_cloudwatch_logs()
        self.web_acl = WebAcl(
            self,
            "Waf",
            waf=waf.model_copy(update={"log_retention_days": edge.log_retention_days}),
            acl_scope="CLOUDFRONT",
            name_prefix=f"{name_prefix}-cloudfront",
            log_encryption_key=logs_key.key,
            removal_policy=removal_policy,
        )
        zone = route53.HostedZone.from_hosted_zone_attributes(
            self, "Zone", hosted_zone_id=edge.hosted_zone_id, zone_name=edge.hosted_zone_name
        )
        self.certificate = acm.Certificate(
            self, "Certificate", domain_name=edge.domain_name, validation=acm.CertificateValidation.from_dns(zone)
        )
        self.log_bucket = access_log_bucket(
            self,
            "AccessLogs",
            retention_days=edge.log_retention_days,
            versioned=removal_policy != cdk.RemovalPolicy.DESTROY,
            noncurrent_version_expiration_days=30,
            removal_policy=removal_policy,
            object_writer_acls=True,
        )
        security_headers = cloudfront.ResponseHeadersPolicy(
            self,
            "SecurityHeaders",
            security_headers_behavior=cloudfront.ResponseSecurityHeadersBehavior(
                strict_transport_security=cloudfront.ResponseHeadersStrictTransportSecurity(
                    access_control_max_age=cdk.Duration.days(365), include_subdomains=True, preload=True, override=True
                ),
                content_type_options=cloudfront.ResponseHeadersContentTypeOptions(override=True),
                frame_options=cloudfront.ResponseHeadersFrameOptions(
                    frame_option=cloudfront.HeadersFrameOption.DENY, override=True
                ),
                referrer_policy=cloudfront.ResponseHeadersReferrerPolicy(
                    referrer_policy=cloudfront.HeadersReferrerPolicy.STRICT_ORIGIN_WHEN_CROSS_ORIGIN, override=True
                ),
                xss_protection=cloudfront.ResponseHeadersXSSProtection(protection=True, mode_block=True, override=True),
            ),
        )
        # The bucket is the data stack's: imported by name so CloudFront's grant stays there (the data stack
        # grants this account's distributions), instead of a policy that would name this stack.
        images = s3.Bucket.from_bucket_name(self, "Images", images_bucket_name)
        images_origin: cloudfront.IOrigin = origins.S3BucketOrigin.with_origin_access_control(images)
        if images_replica:
            replica = s3.Bucket.from_bucket_attributes(
                self, "ImagesReplica", bucket_name=images_replica.bucket_name, region=images_replica.region
            )
            images_origin = origins.OriginGroup(
                primary_origin=origins.S3BucketOrigin.with_origin_access_control(
                    images,
                    connection_attempts=IMAGES_CONNECTION_ATTEMPTS,
                    connection_timeout=cdk.Duration.seconds(IMAGES_CONNECTION_TIMEOUT_SECONDS),
                ),
                fallback_origin=origins.S3BucketOrigin.with_origin_access_control(replica),
                fallback_status_codes=list(IMAGES_FAILOVER_STATUS_CODES),
            )
        self.distribution = cloudfront.Distribution(
            self,
            "Distribution",
            comment=f"{name_prefix}: application and images",
            domain_names=[edge.domain_name],
            certificate=self.certificate,
            minimum_protocol_version=cloudfront.SecurityPolicyProtocol.TLS_V1_2_2021,
            http_version=cloudfront.HttpVersion.HTTP2_AND_3,
            price_class=cloudfront.PriceClass.PRICE_CLASS_100,
            web_acl_id=self.web_acl.web_acl_arn,
            enable_logging=True,
            log_bucket=self.log_bucket,
            log_file_prefix="cloudfront/",
            default_behavior=cloudfront.BehaviorOptions(
                origin=origins.HttpOrigin(
                    origin_hostname,
                    protocol_policy=cloudfront.OriginProtocolPolicy.HTTPS_ONLY,
                    origin_ssl_protocols=[cloudfront.OriginSslPolicy.TLS_V1_2],
                    custom_headers=dict(origin_headers),
                ),
                viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
                allowed_methods=cloudfront.AllowedMethods.ALLOW_ALL,
                cache_policy=cloudfront.CachePolicy.CACHING_DISABLED,
                origin_request_policy=cloudfront.OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
                response_headers_policy=security_headers,
            ),
            additional_behaviors={
                IMAGES_PATH: cloudfront.BehaviorOptions(
                    origin=images_origin,
                    allowed_methods=cloudfront.AllowedMethods.ALLOW_GET_HEAD,
                    viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
                    cache_policy=cloudfront.CachePolicy.CACHING_OPTIMIZED,
                    response_headers_policy=security_headers,
                )
            },
        )
        acknowledge(
            self.distribution,
            "Annotation::@aws-cdk/aws-cloudfront-origins:updateImportedBucketPolicyOac",
            "Deliberate: the images bucket, its replica and the keys that encrypt them grant this account's "
            "distributions in their own data stacks (allow_cloudfront_reads), so nothing here changes those stacks.",
        )
        acknowledge(
            self.distribution,
            "AwsSolutions-CFR1",
            "Geo restrictions are the WAF web ACL's job here (its optional geo-block rule, from config).",
        )
        target = route53.RecordTarget.from_alias(route53_targets.CloudFrontTarget(self.distribution))
        record_name = edge.domain_name.removesuffix(edge.hosted_zone_name).rstrip(".") or None
        self.records = [
            route53.ARecord(self, "Ipv4", zone=zone, record_name=record_name, target=target),
            route53.AaaaRecord(self, "Ipv6", zone=zone, record_name=record_name, target=target),
        ]
        self.protection = (
            shield.CfnProtection(
                self, "Shield", name=f"{name_prefix}-cloudfront", resource_arn=self.distribution.distribution_arn
            )
            if edge.shield_advanced
            else None
        )
