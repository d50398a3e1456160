"""The network stack, per stage, at the level of template properties (issue: foundation, network)."""

from __future__ import annotations

import ipaddress
import json
from typing import Any

from aws_cdk import aws_ec2 as ec2

from environments.schema.network import subnet_cidrs, tier_blocks
from environments.schema.stage import StageConfig
from tests.support import logical_id, props, ref_id, resources
from tests.synthesis import SynthesizedPlatform

WORKLOAD_PORTS = (8001, 8006)
"""Seed 002's five services on 8001-8005 and seed 001's agent service on 8006, one contiguous range."""
DATA_PORTS = {5432, 6379, 2049, 9098, 443}


def data_ports(config: StageConfig) -> set[int]:
    """DATA_PORTS and the toggled stores' (Neptune 8182, InfluxDB 8086, DAX over TLS 9111) the stage turns on."""
    data = config.data
    toggled = {8182: data.graph.mode != "off", 8086: data.time_series.enabled, 9111: data.accelerator.enabled}
    return DATA_PORTS | {port for port, on in toggled.items() if on}


def network(examples: SynthesizedPlatform, stage: str) -> dict[str, Any]:
    return examples.template_json(stage, "network")


def test_every_stage_has_a_network_stack_named_for_the_stage(examples: SynthesizedPlatform, stage: str) -> None:
    stack = examples.stack(stage, "network")
    config = examples.configs[stage]
    assert stack.stack_name == f"{stage}-network"
    assert (stack.account, stack.region) == (config.account, config.region)
    assert stack.termination_protection is (stage == "prod")


def test_vpc_cidr_follows_seed_001(examples: SynthesizedPlatform) -> None:
    expected = {"prod": "10.0.0.0/16", "staging": "10.20.0.0/16", "dev": "10.10.0.0/16"}
    for stage, cidr in expected.items():
        examples.template(stage, "network").has_resource_properties(
            "AWS::EC2::VPC", {"CidrBlock": cidr, "EnableDnsHostnames": True, "EnableDnsSupport": True}
        )


def test_prod_subnets_match_seed_001_plan(examples: SynthesizedPlatform) -> None:
    cidrs = sorted(p["CidrBlock"] for p in props(network(examples, "prod"), "AWS::EC2::Subnet"))
    assert cidrs == sorted(
        [
            *("10.0.0.0/20", "10.0.16.0/20", "10.0.32.0/20"),
            *("10.0.64.0/20", "10.0.80.0/20", "10.0.96.0/20"),
            *("10.0.128.0/20", "10.0.144.0/20", "10.0.160.0/20"),
        ]
    )


def test_nine_subnets_three_tiers_one_per_az(examples: SynthesizedPlatform, stage: str) -> None:
    config = examples.configs[stage]
    template = network(examples, stage)
    subnets = props(template, "AWS::EC2::Subnet")
    assert len(subnets) == 9
    by_tier: dict[str, list[tuple[str, str]]] = {}
    for subnet in subnets:
        tier = next(tag["Value"] for tag in subnet["Tags"] if tag["Key"] == "aws-cdk:subnet-name")
        by_tier.setdefault(tier, []).append((subnet["AvailabilityZone"], subnet["CidrBlock"]))
        assert subnet["MapPublicIpOnLaunch"] is False
    assert set(by_tier) == {"public", "app", "data"}
    for tier, placed in by_tier.items():
        prefix = getattr(config.network.subnet_prefix, tier)
        expected = list(zip(config.availability_zones, subnet_cidrs(config.network.cidr, tier, prefix, 3), strict=True))
        assert sorted(placed) == expected


def test_nat_gateways_per_config_and_only_public_tier_reaches_the_internet(
    examples: SynthesizedPlatform, stage: str
) -> None:
    template = network(examples, stage)
    expected = {"dev": 1, "staging": 3, "prod": 3}[stage]
    assert len(resources(template, "AWS::EC2::NatGateway")) == expected == examples.configs[stage].network.nat_gateways
    assert len(resources(template, "AWS::EC2::InternetGateway")) == 1
    routes = props(template, "AWS::EC2::Route")
    igw_routes = [r for r in routes if "GatewayId" in r]
    nat_routes = [r for r in routes if "NatGatewayId" in r]
    assert len(igw_routes) == 3  # one per public subnet
    assert len(nat_routes) == 3  # one per app subnet; data subnets have no default route
    internet_routes = igw_routes + nat_routes
    assert all(r["DestinationCidrBlock"] == "0.0.0.0/0" for r in internet_routes)
    # Everything else is the peered regions' VPCs over the Transit Gateway (stages with several regions).
    config = examples.configs[stage]
    other = [r for r in routes if r not in internet_routes]
    assert [r["DestinationCidrBlock"] for r in other] == [peer.cidr for peer in config.secondaries for _ in range(3)]


def test_flow_logs_capture_all_traffic_into_an_encrypted_log_group(examples: SynthesizedPlatform, stage: str) -> None:
    config = examples.configs[stage]
    template = network(examples, stage)
    (flow_log,) = props(template, "AWS::EC2::FlowLog")
    assert flow_log["TrafficType"] == "ALL"
    assert flow_log["ResourceType"] == "VPC"
    assert flow_log["LogDestinationType"] == "cloud-watch-logs"
    log_group = template["Resources"][ref_id(flow_log["LogGroupName"])]
    assert log_group["Properties"]["RetentionInDays"] == config.network.flow_logs.retention_days
    assert ref_id(log_group["Properties"]["KmsKeyId"]) in resources(template, "AWS::KMS::Key")


def test_gateway_endpoints_serve_app_and_data_tiers(examples: SynthesizedPlatform, stage: str) -> None:
    template = network(examples, stage)
    gateways = [p for p in props(template, "AWS::EC2::VPCEndpoint") if p.get("VpcEndpointType") == "Gateway"]
    services = sorted(p["ServiceName"]["Fn::Join"][1][-1] for p in gateways)
    assert services == [".dynamodb", ".s3"]
    private_tables = {
        key
        for key, table in resources(template, "AWS::EC2::RouteTable").items()
        if "appSubnet" in key or "dataSubnet" in key
    }
    for gateway in gateways:
        assert {ref_id(t) for t in gateway["RouteTableIds"]} == private_tables


def test_interface_endpoints_are_private_in_the_app_tier(examples: SynthesizedPlatform, stage: str) -> None:
    config = examples.configs[stage]
    template = network(examples, stage)
    interfaces = [p for p in props(template, "AWS::EC2::VPCEndpoint") if p.get("VpcEndpointType") == "Interface"]
    region = config.region
    assert sorted(p["ServiceName"] for p in interfaces) == sorted(
        f"com.amazonaws.{region}.{s}" for s in config.interface_endpoints
    )
    assert {"ecr.api", "ecr.dkr", "sts", "logs", "secretsmanager"} <= set(config.network.interface_endpoints)
    app_subnets = {key for key in resources(template, "AWS::EC2::Subnet") if "appSubnet" in key}
    security_groups = set()
    for endpoint in interfaces:
        assert endpoint["PrivateDnsEnabled"] is True
        assert {ref_id(s) for s in endpoint["SubnetIds"]} == app_subnets
        security_groups |= {ref_id(g) for g in endpoint["SecurityGroupIds"]}
    (group_id,) = security_groups
    group = template["Resources"][group_id]["Properties"]
    assert [(r["CidrIp"], r["IpProtocol"], r["FromPort"], r["ToPort"]) for r in group["SecurityGroupIngress"]] == [
        (config.network.cidr, "tcp", 443, 443)
    ]


def _acl_entries(template: dict[str, Any], tier: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(inbound, outbound) entries of the ACL associated with the tier's subnets."""
    associations = props(template, "AWS::EC2::SubnetNetworkAclAssociation")
    acl_ids = {ref_id(a["NetworkAclId"]) for a in associations if f"{tier}Subnet" in ref_id(a["SubnetId"])}
    assert len(acl_ids) == 1, f"{tier} subnets share one ACL"
    entries = [p for p in props(template, "AWS::EC2::NetworkAclEntry") if ref_id(p["NetworkAclId"]) in acl_ids]
    return [e for e in entries if not e["Egress"]], [e for e in entries if e["Egress"]]


def test_data_tier_acl_admits_only_data_ports_from_the_app_tier(examples: SynthesizedPlatform, stage: str) -> None:
    config = examples.configs[stage]
    quarters = list(ipaddress.IPv4Network(config.network.cidr).subnets(prefixlen_diff=2))
    app_block, data_block = str(quarters[1]), str(quarters[2])
    inbound, outbound = _acl_entries(network(examples, stage), "data")
    from_app = [e for e in inbound if e["CidrBlock"] == app_block]
    assert {(e["PortRange"]["From"], e["PortRange"]["To"], e["Protocol"]) for e in from_app} == {
        (port, port, 6) for port in data_ports(config)
    }
    others = [e for e in inbound if e["CidrBlock"] != app_block]
    assert [(e["CidrBlock"], e["Protocol"]) for e in others] == [(data_block, -1)]
    assert all(e["CidrBlock"] in (app_block, data_block) for e in outbound)
    assert all(e["RuleAction"] == "allow" for e in inbound + outbound)


def test_app_and_public_acls_allow_return_traffic(examples: SynthesizedPlatform, stage: str) -> None:
    template = network(examples, stage)
    for tier in ("public", "app"):
        inbound, _ = _acl_entries(template, tier)
        assert {"CidrBlock": "0.0.0.0/0", "PortRange": {"From": 1024, "To": 65535}, "Protocol": 6} in [
            {k: e.get(k) for k in ("CidrBlock", "PortRange", "Protocol")} for e in inbound
        ]
    public_in, _ = _acl_entries(template, "public")
    opened = {(e["PortRange"]["From"]) for e in public_in if e["CidrBlock"] == "0.0.0.0/0" and e["Protocol"] == 6}
    assert {80, 443} <= opened
    assert 22 not in opened


def _security_groups(examples: SynthesizedPlatform, stage: str) -> dict[str, str]:
    """Tier name -> logical id of that security group, taken from the stack's typed attributes."""
    groups = examples.stages[stage].network.security_groups
    names = ("alb", "workload", "postgres", "cache", "efs", "kafka", "search")
    return {name: logical_id(getattr(groups, name)) for name in names}


def _ingress(template: dict[str, Any], group_id: str) -> list[dict[str, Any]]:
    group = template["Resources"][group_id]["Properties"]
    standalone = [p for p in props(template, "AWS::EC2::SecurityGroupIngress") if ref_id(p["GroupId"]) == group_id]
    return [*group.get("SecurityGroupIngress", []), *standalone]


def test_security_group_chain(examples: SynthesizedPlatform, stage: str) -> None:
    template = network(examples, stage)
    ids = _security_groups(examples, stage)

    alb_in = _ingress(template, ids["alb"])
    lookup = examples.stages[stage].network.cloudfront_prefix_list
    if examples.configs[stage].edge.enabled:  # CloudFront's origin-facing servers only, on HTTPS
        assert lookup is not None
        ((rule,),) = [alb_in]
        assert (rule["FromPort"], rule["ToPort"], "CidrIp" in rule) == (443, 443, False)
        assert rule["SourcePrefixListId"] == {
            "Fn::GetAtt": [logical_id(lookup.node.find_child("Lookup")), "PrefixLists.0.PrefixListId"]
        }
    else:
        assert lookup is None
        assert sorted((r["CidrIp"], r["FromPort"], r["ToPort"]) for r in alb_in) == [
            ("0.0.0.0/0", 80, 80),
            ("0.0.0.0/0", 443, 443),
        ]
    alb = template["Resources"][ids["alb"]]["Properties"]
    alb_egress = [p for p in props(template, "AWS::EC2::SecurityGroupEgress") if ref_id(p["GroupId"]) == ids["alb"]]
    assert [(ref_id(e["DestinationSecurityGroupId"]), e["FromPort"], e["ToPort"]) for e in alb_egress] == [
        (ids["workload"], *WORKLOAD_PORTS)
    ]
    assert all(e["CidrIp"] == "255.255.255.255/32" for e in alb.get("SecurityGroupEgress", []))  # CDK's "no egress"

    workload_in = _ingress(template, ids["workload"])
    from_groups = [r for r in workload_in if "SourceSecurityGroupId" in r]
    assert sorted((ref_id(r["SourceSecurityGroupId"]), r["IpProtocol"], r.get("FromPort")) for r in from_groups) == (
        sorted([(ids["alb"], "tcp", WORKLOAD_PORTS[0]), (ids["workload"], "-1", None)])
    )
    # The only address-range rules: the peered regions' app tiers (test_secondary_region).
    config = examples.configs[stage]
    peer_app = [str(tier_blocks(peer.cidr)["app"]) for peer in config.secondaries]
    assert [r["CidrIp"] for r in workload_in if r not in from_groups] == peer_app

    for name, port in (("postgres", 5432), ("cache", 6379), ("efs", 2049), ("kafka", 9098), ("search", 443)):
        rules = _ingress(template, ids[name])
        assert [(ref_id(r["SourceSecurityGroupId"]), r["FromPort"], r["ToPort"]) for r in rules] == [
            (ids["workload"], port, port)
        ], name


def test_no_ssh_and_no_open_ingress_except_the_alb(examples: SynthesizedPlatform, stage: str) -> None:
    template = network(examples, stage)
    alb_id = _security_groups(examples, stage)["alb"]
    for group_id in resources(template, "AWS::EC2::SecurityGroup"):
        for rule in _ingress(template, group_id):
            if rule["IpProtocol"] != "-1":
                assert not rule["FromPort"] <= 22 <= rule["ToPort"], f"SSH open on {group_id}"
            if rule.get("CidrIp") == "0.0.0.0/0" or rule.get("CidrIpv6") == "::/0":
                assert group_id == alb_id and rule["FromPort"] in (80, 443)
                assert not examples.configs[stage].edge.enabled


def test_the_cloudfront_prefix_list_is_looked_up_by_name_at_deploy_time(examples: SynthesizedPlatform) -> None:
    """Its id differs per region and synth looks nothing up: a custom resource asks EC2 for it by name, with
    a role that may do that and nothing else, in the app tier."""
    for stack_id in ("network", *(f"network-{r.region}" for r in examples.configs["prod"].secondaries)):
        template = network(examples, "prod") if stack_id == "network" else examples.template_json("prod", stack_id)
        (lookup,) = props(template, "Custom::AWS")
        call = json.loads(lookup["Create"])
        assert (call["service"], call["action"]) == ("EC2", "describeManagedPrefixLists")
        assert call["parameters"] == {
            "Filters": [{"Name": "prefix-list-name", "Values": ["com.amazonaws.global.cloudfront.origin-facing"]}]
        }
        assert json.loads(lookup["Update"]) == call and lookup["InstallLatestAwsSdk"] is False
        function = template["Resources"][ref_id(lookup["ServiceToken"])]["Properties"]
        role = {"Ref": ref_id(function["Role"])}
        (policy,) = [p for p in props(template, "AWS::IAM::ManagedPolicy") if p["Roles"] == [role]]
        assert "VpcConfig" in function
        assert policy["PolicyDocument"]["Statement"] == [
            {"Action": "ec2:DescribeManagedPrefixLists", "Effect": "Allow", "Resource": "*"}
        ]
    for stage in ("dev", "staging"):  # no edge: nothing to look up
        assert not props(network(examples, stage), "Custom::AWS")


def test_web_acl_rules_logging_and_visibility(examples: SynthesizedPlatform, stage: str) -> None:
    config = examples.configs[stage]
    template = network(examples, stage)
    (acl,) = props(template, "AWS::WAFv2::WebACL")
    assert acl["Scope"] == "REGIONAL"
    assert acl["DefaultAction"] == {"Allow": {}}
    rules = {rule["Name"]: rule for rule in acl["Rules"]}
    managed = {
        rule["Statement"]["ManagedRuleGroupStatement"]["Name"]
        for rule in acl["Rules"]
        if "ManagedRuleGroupStatement" in rule["Statement"]
    }
    assert managed == {
        "AWSManagedRulesCommonRuleSet",
        "AWSManagedRulesKnownBadInputsRuleSet",
        "AWSManagedRulesSQLiRuleSet",
        "AWSManagedRulesAmazonIpReputationList",
        "AWSManagedRulesAdminProtectionRuleSet",  # seed 002: admin paths
    }
    agents = rules["BadUserAgents"]  # seed 002
    assert agents["Action"] == {"Block": {}}
    match = agents["Statement"]["RegexMatchStatement"]
    assert match["FieldToMatch"] == {"SingleHeader": {"Name": "user-agent"}}
    assert match["TextTransformations"] == [{"Priority": 0, "Type": "LOWERCASE"}]
    assert {"sqlmap", "nikto", "nmap"} <= set(match["RegexString"].split("|"))
    rate = rules["RateLimitPerIp"]
    assert rate["Action"] == {"Block": {}}
    assert rate["Statement"]["RateBasedStatement"] == {
        "AggregateKeyType": "IP",
        "Limit": config.network.waf.rate_limit,
        "EvaluationWindowSec": 300,
    }
    assert config.network.waf.rate_limit == 2000
    assert ("GeoBlock" in rules) is bool(config.network.waf.geo_block)
    for visibility in [acl["VisibilityConfig"], *(rule["VisibilityConfig"] for rule in acl["Rules"])]:
        assert visibility["CloudWatchMetricsEnabled"] is True
        assert visibility["SampledRequestsEnabled"] is True
    assert sorted(rule["Priority"] for rule in acl["Rules"]) == list(range(len(acl["Rules"])))

    (logging,) = props(template, "AWS::WAFv2::LoggingConfiguration")
    log_group_name = f"aws-waf-logs-{stage}-regional"
    assert logging["LogDestinationConfigs"] == [
        f"arn:aws:logs:{config.region}:{config.account}:log-group:{log_group_name}"
    ]
    assert {"SingleHeader": {"Name": "authorization"}} in logging["RedactedFields"]
    (waf_logs,) = [p for p in props(template, "AWS::Logs::LogGroup") if p.get("LogGroupName") == log_group_name]
    assert "KmsKeyId" in waf_logs
    assert waf_logs["RetentionInDays"] == config.network.waf.log_retention_days


def test_log_key_rotates_and_is_kept_outside_dev(examples: SynthesizedPlatform, stage: str) -> None:
    config = examples.configs[stage]
    template = network(examples, stage)
    (key,) = resources(template, "AWS::KMS::Key").values()
    assert key["Properties"]["EnableKeyRotation"] is True
    assert key["Properties"]["PendingWindowInDays"] == config.kms.deletion_window_days
    (alias,) = props(template, "AWS::KMS::Alias")
    assert alias["AliasName"] == f"alias/{config.tags.project}/{stage}/network-logs"
    expected = "Delete" if config.allow_destroy else "Retain"
    assert stage != "prod" or expected == "Retain"
    stateful = [key, *resources(template, "AWS::Logs::LogGroup").values()]
    assert {(r["DeletionPolicy"], r["UpdateReplacePolicy"]) for r in stateful} == {(expected, expected)}


def test_everything_taggable_carries_project_stage_and_cost_center(examples: SynthesizedPlatform, stage: str) -> None:
    config = examples.configs[stage]
    expected = {"project": config.tags.project, "stage": stage, "cost-center": config.tags.cost_center}
    template = network(examples, stage)
    for resource_type in ("AWS::EC2::VPC", "AWS::EC2::Subnet", "AWS::EC2::SecurityGroup", "AWS::KMS::Key",
                          "AWS::Logs::LogGroup", "AWS::EC2::NatGateway", "AWS::EC2::VPCEndpoint"):  # fmt: skip
        for properties in props(template, resource_type):
            tags = {tag["Key"]: tag["Value"] for tag in properties.get("Tags", [])}
            assert expected.items() <= tags.items(), resource_type


def test_stack_exposes_what_later_stacks_need(examples: SynthesizedPlatform, stage: str) -> None:
    stack = examples.stages[stage].network
    assert isinstance(stack.vpc, ec2.Vpc)
    assert len(stack.public_subnets.subnets) == len(stack.app_subnets.subnets) == len(stack.data_subnets.subnets) == 3
    for name in ("alb", "workload", "postgres", "cache", "efs", "kafka", "search"):
        assert isinstance(getattr(stack.security_groups, name), ec2.SecurityGroup)
    assert stack.web_acl_arn == stack.web_acl.web_acl.attr_arn
    assert stack.availability_zones == list(examples.configs[stage].availability_zones)
