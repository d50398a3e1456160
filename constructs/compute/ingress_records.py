"""Route 53 for a stage with several regions: each region's load balancer in its role's latency set, with a
health check on an alarm in that region (RegionHealth, RoleSetRecord), and the shared name, which fails over
from the set of `active` regions to the `standby` set (SharedIngressRecords).

Why alarms and not Route 53's own HTTPS checks: with the edge on, the load balancer's security group admits
only CloudFront's prefix list and its listener rules require the origin-verification header, so Route 53's
checkers can reach nothing. A CLOUDWATCH_METRIC health check reads an alarm instead, which needs no network
path. Latency records of `active` regions also evaluate the load balancer's target health (every target group
with targets has a healthy one); a standby's do not: at minimum capacity its GPU services' target groups can
hold no targets, which would mark the region unhealthy for good."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_route53 as route53
from constructs import Construct
from constructs.common.acknowledgments import acknowledge

from environments.schema.regions import RegionRole, role_set_hostname

ELB_5XX_PER_MINUTE = 50
"""Errors the load balancer itself returns (502/503/504: no healthy target, targets failing) in a minute, for
three minutes in a row, before Route 53 stops answering with the region; a quiet region (no data) is healthy."""
ELB_5XX_MINUTES = 3
FAILOVER: dict[RegionRole, str] = {"active": "PRIMARY", "standby": "SECONDARY"}
"""The shared name's failover records, each named (SetIdentifier) for the role whose set it aliases."""


def load_balancer_alias(
    load_balancer: elbv2.IApplicationLoadBalancer, *, evaluate: bool
) -> route53.CfnRecordSet.AliasTargetProperty:
    """An alias of `load_balancer`: its dual-stack name in its region's ELB zone (not the stage's zone)."""
    return route53.CfnRecordSet.AliasTargetProperty(
        dns_name=cdk.Fn.join("", ["dualstack.", load_balancer.load_balancer_dns_name]),
        hosted_zone_id=load_balancer.load_balancer_canonical_hosted_zone_id,
        evaluate_target_health=evaluate,
    )


class RegionHealth(Construct):
    """`alarm` (the load balancer's own 5xx responses, in this region) and the `health_check` that reads it,
    named for the region's `hostname`."""

    def __init__(
        self, scope: Construct, construct_id: str, *, load_balancer: elbv2.ApplicationLoadBalancer, hostname: str
    ) -> None:
        super().__init__(scope, construct_id)
        region = cdk.Stack.of(self).region
        self.alarm = cloudwatch.Alarm(
            self,
            "Alarm",
            alarm_description=f"{hostname}: the ingress load balancer returns 5xx itself; Route 53 sends no "
            "traffic to this region while it is in alarm",
            metric=load_balancer.metrics.http_code_elb(
                elbv2.HttpCodeElb.ELB_5XX_COUNT, period=cdk.Duration.minutes(1), statistic="Sum"
            ),
            threshold=ELB_5XX_PER_MINUTE,
            evaluation_periods=ELB_5XX_MINUTES,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        acknowledge(
            self.alarm,
            "NIST.800.53.R5-CloudWatchAlarmAction",
            "Route 53 acts on this alarm: the health check that reads it takes the region out of the shared name's "
            "answers while it is in alarm. People are told by the region's observability stack, whose load balancer "
            "alarms notify its topics (that stack reads this one, so this alarm cannot name them).",
        )
        self.health_check = route53.CfnHealthCheck(
            self,
            "HealthCheck",
            health_check_config=route53.CfnHealthCheck.HealthCheckConfigProperty(
                type="CLOUDWATCH_METRIC",
                alarm_identifier=route53.CfnHealthCheck.AlarmIdentifierProperty(
                    name=self.alarm.alarm_name, region=region
                ),
                # While CloudWatch lacks data the region keeps the status it had (new: healthy).
                insufficient_data_health_status="LastKnownStatus",
            ),
            health_check_tags=[route53.CfnHealthCheck.HealthCheckTagProperty(key="Name", value=hostname)],
        )


class RoleSetRecord(Construct):
    """This region's `record` in its role's latency set (`<role>.<domain>`, SetIdentifier and Region: the
    region), checked by `health` and, for an active region, by its load balancer's target health."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        zone_id: str,
        domain_name: str,
        role: RegionRole,
        load_balancer: elbv2.ApplicationLoadBalancer,
        health: RegionHealth,
    ) -> None:
        super().__init__(scope, construct_id)
        region = cdk.Stack.of(self).region
        self.record = route53.CfnRecordSet(
            self,
            "Record",
            hosted_zone_id=zone_id,
            name=f"{role_set_hostname(domain_name, role)}.",
            type="A",
            set_identifier=region,
            region=region,
            health_check_id=health.health_check.attr_health_check_id,
            alias_target=load_balancer_alias(load_balancer, evaluate=role == "active"),
        )


class SharedIngressRecords(Construct):
    """The shared name `domain_name` (CloudFront's origin): with standby regions, a failover PRIMARY on the
    active set and a SECONDARY on the standby set (`records`), each inheriting its set's health; without, one
    alias of the active set. Build it after every region's RoleSetRecord: an alias needs its target record."""

    def __init__(
        self, scope: Construct, construct_id: str, *, zone_id: str, domain_name: str, has_standby: bool
    ) -> None:
        super().__init__(scope, construct_id)

        def alias(role: RegionRole) -> route53.CfnRecordSet.AliasTargetProperty:
            return route53.CfnRecordSet.AliasTargetProperty(
                dns_name=f"{role_set_hostname(domain_name, role)}.", hosted_zone_id=zone_id, evaluate_target_health=True
            )

        roles: tuple[RegionRole, ...] = ("active", "standby") if has_standby else ("active",)
        self.records = [
            route53.CfnRecordSet(
                self,
                role.capitalize(),
                hosted_zone_id=zone_id,
                name=f"{domain_name}.",
                type="A",
                alias_target=alias(role),
                set_identifier=role if has_standby else None,
                failover=FAILOVER[role] if has_standby else None,
            )
            for role in roles
        ]
