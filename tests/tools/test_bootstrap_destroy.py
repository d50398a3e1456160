"""`make bootstrap` bootstraps every account/region pair of a stage, trusting the tooling account;
`make destroy` refuses protected stages, asks first, deletes in reverse deploy order and lists what
survives with how to remove it. AWS and the CDK CLI are fakes here."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from environments.loader import load_pipeline
from tests.stage_files import EXAMPLE_CONFIG
from tests.synthesis import SynthesizedPlatform
from tools import aws, bootstrap, destroy
from tools.assembly import CloudAssembly


class Recorder:
    def __init__(self, fail_on: str = "") -> None:
        self.commands: list[list[str]] = []
        self.fail_on = fail_on

    def __call__(self, command: Sequence[str]) -> int:
        self.commands.append(list(command))
        return 1 if self.fail_on and self.fail_on in command else 0


def test_bootstrap_covers_every_pair_and_trusts_the_tooling_account(examples: SynthesizedPlatform) -> None:
    stage = CloudAssembly.read(examples.outdir).stage("prod")
    tooling = load_pipeline(EXAMPLE_CONFIG).account
    assert bootstrap.tooling_account(EXAMPLE_CONFIG, "prod") == tooling
    run = Recorder()
    lines, code = bootstrap.bootstrap(
        "prod", [("210987654321", r) for _, r in stage.environments], tooling, aws.Identity("210987654321", "me"), run
    )
    assert code == 0
    assert [c[3] for c in run.commands] == ["aws://210987654321/eu-west-1", "aws://210987654321/us-east-1"]
    assert all(c[c.index("--trust") + 1] == tooling for c in run.commands)
    assert lines == [
        f"bootstrapped aws://210987654321/{r}, trusting {tooling} for pipeline deploys"
        for r in ("eu-west-1", "us-east-1")
    ]


def test_bootstrap_refuses_placeholders_and_other_accounts(examples: SynthesizedPlatform) -> None:
    pairs = CloudAssembly.read(examples.outdir).stage("dev").environments
    run = Recorder()
    lines, code = bootstrap.bootstrap("dev", pairs, None, aws.Identity("111111111111", "me"), run)
    assert code == 1 and "placeholder account" in lines[0] and not run.commands
    lines, code = bootstrap.bootstrap(
        "dev", [("210987654321", "us-east-1")], None, aws.Identity("999999999999", "arn"), run
    )
    assert code == 1 and len(lines) == 1 and "not dev's account 210987654321" in lines[0] and not run.commands


def test_bootstrap_reports_a_failed_pair() -> None:
    run = Recorder(fail_on="aws://210987654321/eu-west-1")
    lines, code = bootstrap.bootstrap(
        "prod",
        [("210987654321", "eu-west-1"), ("210987654321", "us-east-1")],
        None,
        aws.Identity("210987654321", "me"),
        run,
    )
    assert code == 1
    assert (
        lines[0].startswith("failed aws://210987654321/eu-west-1")
        and lines[1] == "bootstrapped aws://210987654321/us-east-1"
    )


def test_destroy_refuses_a_stage_that_does_not_allow_it(capsys: pytest.CaptureFixture[str]) -> None:
    assert destroy.main(["--stage", "prod", "--config-dir", str(EXAMPLE_CONFIG)], run=Recorder()) == 1
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith("prod does not allow destroy")


def test_destroy_asks_then_deletes_in_reverse_deploy_order_and_lists_survivors(
    examples: SynthesizedPlatform, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    stage = CloudAssembly.read(examples.outdir).stage("dev")
    account = examples.configs["dev"].account
    (locked,) = [r.logical_id for r in stage.resources() if r.properties.get("ObjectLockEnabled")]
    monkeypatch.setattr(aws, "session_with_credentials", lambda _: FakeCloudFormation(locked))
    monkeypatch.setattr(aws, "identity", lambda _: aws.Identity(account, "me"))
    monkeypatch.setattr(destroy, "ensure", lambda stages, config_dir: CloudAssembly.read(examples.outdir))
    run = Recorder()
    args = ["--stage", "dev", "--config-dir", str(EXAMPLE_CONFIG)]
    assert destroy.main(args, run=run, ask=lambda _: "no") == 1
    assert not run.commands, "nothing is destroyed without the stage's name"
    assert destroy.main(args, run=run, ask=lambda _: "dev") == 0
    assert [c[-1] for c in run.commands] == [s.path for s in reversed(stage.deploy_order())]
    out = capsys.readouterr().out
    assert "what survives by design, and how to remove it:" in out
    assert "object-locked" in out and "aws s3 rb s3://audit-bucket-name --force" in out
    assert f"CDKToolkit in aws://{account}/us-east-1" in out


class FakeCloudFormation:
    """Names the data stack's object-locked bucket; every other resource keeps its logical id."""

    def __init__(self, locked: str) -> None:
        self.locked = locked

    def client(self, name: str, **_: Any) -> Any:
        assert name == "cloudformation"
        return self

    def get_paginator(self, _: str) -> Any:
        return self

    def paginate(self, StackName: str) -> list[dict[str, Any]]:
        named = [{"LogicalResourceId": self.locked, "PhysicalResourceId": "audit-bucket-name"}]
        return [{"StackResourceSummaries": named if StackName.endswith("-data") else []}]
