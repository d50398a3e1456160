"""Traffic and images across prod's regions, as synthesized: each region's names and records, the shared
name's failover pair, and the registry's replication into the secondaries' own repositories."""

from __future__ import annotations

from environments.schema.regions import regional_hostname, role_set_hostname
from tests.support import props
from tests.synthesis import SynthesizedPlatform


def test_single_region_stages_have_no_cross_region_stack(examples: SynthesizedPlatform) -> None:
    for stage in ("dev", "staging"):
        assert examples.stages[stage].cross_region is None


def test_each_region_has_its_name_and_its_roles_latency_record(examples: SynthesizedPlatform) -> None:
    config = examples.configs["prod"]
    domain = config.platform.ingress.domain_name
    for region in config.regions:
        stack_id = "platform" if region == config.primary else f"platform-{region.region}"
        records = {r["Name"]: r for r in props(examples.template_json("prod", stack_id), "AWS::Route53::RecordSet")}
        assert set(records) == {
            f"{regional_hostname(domain, region.region)}.",
            f"{role_set_hostname(domain, region.role)}.",
        }
        latency = records[f"{role_set_hostname(domain, region.role)}."]
        assert (latency["SetIdentifier"], latency["Region"]) == (region.region, region.region)
        assert latency["AliasTarget"]["EvaluateTargetHealth"] is (region.role == "active")
        assert "HealthCheckId" in latency


def test_the_shared_name_fails_over_from_the_active_set_to_the_standby_set(examples: SynthesizedPlatform) -> None:
    config = examples.configs["prod"]
    domain = config.platform.ingress.domain_name
    records = props(examples.template_json("prod", "cross-region"), "AWS::Route53::RecordSet")
    assert {(r["Name"], r["Failover"], r["AliasTarget"]["DNSName"]) for r in records} == {
        (f"{domain}.", "PRIMARY", f"{role_set_hostname(domain, 'active')}."),
        (f"{domain}.", "SECONDARY", f"{role_set_hostname(domain, 'standby')}."),
    }


def test_the_registry_replicates_the_stages_repositories_into_each_secondarys_own(
    examples: SynthesizedPlatform,
) -> None:
    config = examples.configs["prod"]
    prefix = f"{config.tags.project}/{config.name}/"
    (replication,) = props(examples.template_json("prod", "cross-region"), "AWS::ECR::ReplicationConfiguration")
    (rule,) = replication["ReplicationConfiguration"]["Rules"]
    assert rule["RepositoryFilters"] == [{"Filter": prefix, "FilterType": "PREFIX_MATCH"}]
    assert rule["Destinations"] == [{"Region": r.region, "RegistryId": config.account} for r in config.secondaries]
    names = {r["RepositoryName"] for r in props(examples.template_json("prod", "platform"), "AWS::ECR::Repository")}
    assert names and all(name.startswith(prefix) for name in names)
    for region in config.secondaries:
        template = examples.template_json("prod", f"platform-{region.region}")
        assert {r["RepositoryName"] for r in props(template, "AWS::ECR::Repository")} == names
    # The stack that replicates deploys after the ones that create the destinations.
    dependencies = {d.node.id for d in examples.stages["prod"].cross_region.dependencies}  # type: ignore[union-attr]
    assert {"platform", *(f"platform-{r.region}" for r in config.secondaries)} <= dependencies
