"""The secondary region (issue: edge and multiple regions, the network part)."""

from __future__ import annotations

from environments.schema import subnet_cidrs
from tests.conftest import SynthesizedPlatform
from tests.support import STAGES, props


def test_prod_has_a_network_in_its_secondary_region(platform: SynthesizedPlatform) -> None:
    config = platform.configs["prod"]
    network = platform.stages["prod"].network_dr
    assert network is not None
    assert (network.region, network.stack_name) == ("eu-west-1", "prod-network-dr")  # seed 000
    assert network.availability_zones == list(config.dr.availability_zones)
    template = platform.template_json("prod", "network-dr")
    (vpc,) = props(template, "AWS::EC2::VPC")
    assert vpc["CidrBlock"] == "10.1.0.0/16"
    subnets = props(template, "AWS::EC2::Subnet")
    assert len(subnets) == 9
    assert {s["AvailabilityZone"] for s in subnets} == set(config.dr.availability_zones)
    assert sorted(s["CidrBlock"] for s in subnets) == sorted(
        cidr for tier in ("public", "app", "data") for cidr in subnet_cidrs("10.1.0.0/16", tier, 20, 3)
    )
    assert props(template, "AWS::WAFv2::WebACL")[0]["Scope"] == "REGIONAL"


def test_only_stages_with_dr_get_one(platform: SynthesizedPlatform) -> None:
    for stage in STAGES:
        assert (platform.stages[stage].network_dr is not None) is platform.configs[stage].dr.enabled
