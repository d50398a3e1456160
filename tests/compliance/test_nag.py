"""cdk-nag (AwsSolutions, NIST 800-53 rev 5) over every stage: zero unacknowledged findings."""

from __future__ import annotations

import json
from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ec2 as ec2

from stacks.platform_app import add_compliance_checks
from tests.conftest import SynthesizedPlatform


def _findings(report_path: Path) -> list[str]:
    report = json.loads(report_path.read_text())
    return [
        f"{plugin['pluginName']} {violation['ruleName']} ({violation['severity']}) at {construct['constructPath']}"
        for plugin in report["pluginReports"]
        for violation in plugin["violations"]
        for construct in violation["violatingConstructs"]
    ]


def test_no_unacknowledged_findings_in_any_stage(platform: SynthesizedPlatform) -> None:
    findings = _findings(platform.outdir / "validation-report.json")
    assert findings == [], "\n".join(findings)
    assert platform.validation_error is None


def test_packs_are_wired_and_fail_the_synth(tmp_path: Path) -> None:
    """The check above is only worth something if the packs run: a known-bad stack must be caught."""
    app = cdk.App(outdir=str(tmp_path), builtin_cloud_formation_validation=False)
    add_compliance_checks(app)
    stack = cdk.Stack(app, "Bad", env=cdk.Environment(account="111111111111", region="us-east-1"))
    vpc = ec2.Vpc(stack, "Vpc", availability_zones=["us-east-1a", "us-east-1b"])
    open_group = ec2.SecurityGroup(stack, "Open", vpc=vpc)
    open_group.add_ingress_rule(ec2.Peer.any_ipv4(), ec2.Port.tcp(22))
    with pytest.raises(RuntimeError, match="ValidationFailed"):
        app.synth()
    rules = {line.split()[1] for line in _findings(tmp_path / "validation-report.json")}
    assert {"AwsSolutions-EC23", "AwsSolutions-VPC7", "NIST.800.53.R5-VPCFlowLogsEnabled"} <= rules
