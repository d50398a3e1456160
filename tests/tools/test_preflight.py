"""`make preflight`: the shipped example configs list every placeholder and block; credentials of another
account name the profile to set; with the stage's account, missing prerequisites are found (a fake AWS)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from environments.loader import load_stage
from tests.stage_files import EXAMPLE_CONFIG, LIVE_CONFIG
from tests.synthesis import SynthesizedPlatform
from tools import aws, preflight
from tools.assembly import CloudAssembly

PLACEHOLDER_FIELDS = {
    "account",
    "platform.cluster_admin_principals.0",
    "platform.cluster_admin_principals.1",
    "platform.ingress.domain_name",
    "platform.ingress.hosted_zone_id",
    "platform.ingress.hosted_zone_name",
    "platform.gitops.repository_url",
}
"""Where every shipped stage file holds a placeholder (prod adds the edge's and its on-call address)."""


def _run(outdir: Path, config_dir: Path, stage: str, session: Any = None, **kwargs: Any) -> list[preflight.Finding]:
    config = load_stage(stage, config_dir)
    return preflight.run(config, config_dir, CloudAssembly.read(outdir).stage(stage), session, **kwargs)


def test_shipped_configs_block_naming_each_placeholder(examples: SynthesizedPlatform, stage: str) -> None:
    findings = _run(examples.outdir, EXAMPLE_CONFIG, stage, for_deploy=False)
    blocking = {f.field for f in findings if f.blocks and f.file.endswith(f"{stage}.yaml")}
    expected = set(PLACEHOLDER_FIELDS)
    if stage == "prod":
        expected |= {
            "edge.domain_name",
            "edge.hosted_zone_id",
            "edge.hosted_zone_name",
            "observability.alerting.critical_emails.0",
        }
    assert blocking == expected
    for finding in findings:
        line = finding.line()
        assert "\n" not in line and " — " in line
        assert line.startswith("warning: ") != finding.blocks
    pipeline = {f.field for f in findings if f.file.endswith("pipeline.yaml")}
    assert pipeline == {"account", "source.connection_arn", "source.repository"}
    assert all(not f.blocks for f in findings if f.file.endswith("pipeline.yaml"))


def test_without_credentials_aws_checks_are_listed_unchecked(platform: SynthesizedPlatform, stage: str) -> None:
    findings = _run(platform.outdir, LIVE_CONFIG, stage, for_deploy=False)
    (bootstrap,) = [f for f in findings if "the bootstrap of" in f.what]
    pairs = CloudAssembly.read(platform.outdir).stage(stage).environments
    assert all(f"aws://{account}/{region}" in bootstrap.what for account, region in pairs)
    assert not bootstrap.blocks and "not checked (no AWS credentials)" in bootstrap.what
    deploy = _run(platform.outdir, LIVE_CONFIG, stage, for_deploy=True)
    assert any(f.blocks and f.what == "no AWS credentials" for f in deploy)


class FakeSession:
    def __init__(self, account: str) -> None:
        self.account = account

    def client(self, name: str, **_: Any) -> Any:
        assert name == "sts"
        account = self.account

        class Sts:
            def get_caller_identity(self) -> dict[str, str]:
                return {"Account": account, "Arn": f"arn:aws:sts::{account}:assumed-role/dev/me"}

        return Sts()


def test_credentials_of_another_account_name_the_profile(
    examples: SynthesizedPlatform, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config_file = tmp_path / "config"
    config_file.write_text("[profile prod-admin]\nsso_account_id = 333333333333\n[profile other]\nsso_account_id = 1\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config_file))
    findings = _run(examples.outdir, EXAMPLE_CONFIG, "prod", FakeSession("999999999999"), for_deploy=True)
    (wrong,) = [f for f in findings if f.field == "account" and "credentials in use" in f.what]
    assert wrong.blocks and wrong.fix == "set AWS_PROFILE=prod-admin"
    assert "account 999999999999, not prod's account 333333333333" in wrong.what
    check = _run(examples.outdir, EXAMPLE_CONFIG, "prod", FakeSession("999999999999"), for_deploy=False)
    assert not [f for f in check if "credentials in use" in f.what and f.blocks]


class FakeView:
    """An account with dev bootstrapped in us-east-1 only, secrets never set, no OpenSearch role."""

    def __init__(self, bootstrapped: dict[str, int]) -> None:
        self.bootstrapped = bootstrapped

    def bootstrap_version(self, region: str, parameter: str) -> int | None:
        assert parameter == "/cdk-bootstrap/hnb659fds/version"
        return self.bootstrapped.get(region)

    def secret_versions(self, region: str, name: str) -> int | None:
        return 1

    def role_exists(self, name: str) -> bool:
        return name != "AWSServiceRoleForAmazonOpenSearchService"

    def shield_subscribed(self) -> bool:
        return False

    def cost_tag_active(self, key: str) -> bool:
        return False


def test_with_the_stages_account_missing_prerequisites_are_found(examples: SynthesizedPlatform) -> None:
    view = FakeView({"us-east-1": 30, "eu-west-1": 5, "ap-southeast-1": 30})
    findings = _run(examples.outdir, EXAMPLE_CONFIG, "prod", FakeSession("333333333333"), for_deploy=True, view=view)
    by_field: dict[str, list[preflight.Finding]] = {}
    for finding in findings:
        by_field.setdefault(finding.field, []).append(finding)
    (bootstrap,) = [f for f in by_field["account"] if "bootstrapped" in f.what]
    assert bootstrap.blocks and "aws://333333333333/eu-west-1 is bootstrapped at version 5" in bootstrap.what
    assert bootstrap.fix == "make bootstrap STAGE=prod"
    secrets = by_field["secrets"]
    assert {f.what.split()[0] for f in secrets} >= {
        "/ai-platform/prod/anthropic-api-key",
        "/ai-platform/prod/gitops/repository",
    }
    assert all(not f.blocks and "placeholder" in f.what for f in secrets)
    (search_role,) = by_field["analytics.opensearch"]
    assert search_role.blocks and search_role.fix.endswith("--aws-service-name opensearchservice.amazonaws.com")
    (tag,) = by_field["observability.monthly_budget_usd"]
    assert not tag.blocks


@pytest.mark.parametrize(
    ("value", "found"),
    [("111111111111", True), ("123456789012", True), ("210987654321", False), ("api.example.com", True),
     ("api.examples.io", False), ("Z0000000000EXAMPLE00", True), ("Z08123ABCDEF", False),
     ("https://github.com/example-org/x.git", True), ("arn:aws:iam::210987654321:role/Admin", False),
     ("oncall@example.com", True), ("oncall@corp.io", False)],
)  # fmt: skip
def test_placeholder_detection(value: str, found: bool) -> None:
    assert bool(list(preflight.placeholders("f.yaml", {"x": value}))) == found


def _no_credentials(_: str) -> Any:
    raise aws.NoCredentials("none")


def test_make_preflight_exits_1_on_the_examples_and_deploy_says_one_line(
    examples: SynthesizedPlatform, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(aws, "session_with_credentials", _no_credentials)
    monkeypatch.setattr(preflight, "ensure", lambda stages, config_dir: CloudAssembly.read(examples.outdir))
    assert preflight.main(["--stage", "dev", "--config-dir", str(EXAMPLE_CONFIG)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[-1] == "preflight dev: 7 blocking, 7 warnings"
    assert preflight.main(["--stage", "dev", "--for", "deploy", "--config-dir", str(EXAMPLE_CONFIG)]) == 1
    captured = capsys.readouterr()
    assert not captured.out
    (line,) = captured.err.splitlines()
    assert line.startswith("make deploy needs AWS credentials for dev's account 111111111111")


def test_an_example_address_is_told_apart_from_an_example_domain() -> None:
    (address,) = preflight.placeholders("f.yaml", {"critical_emails": ["oncall@example.com"]})
    assert address.field == "critical_emails.0" and address.what.endswith("is an example address")
    (domain,) = preflight.placeholders("f.yaml", {"domain_name": "app.example.com"})
    assert domain.what.endswith("is an example domain")


def test_the_sagemaker_endpoints_scaling_role_is_needed_where_the_endpoint_is(examples: SynthesizedPlatform) -> None:
    """The scaling target names Application Auto Scaling's SageMaker role, which AWS creates only on first use."""
    assembly = CloudAssembly.read(examples.outdir)
    role = preflight.SAGEMAKER_SCALING_ROLE.role
    for stage in examples.configs:
        needed = role in preflight.assembly_needs(assembly.stage(stage))["roles"]
        assert needed == examples.configs[stage].ai.sagemaker.enabled, stage
