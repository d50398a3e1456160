"""app.py end to end: bad config exits 1 with one line per problem and writes nothing; a stage
selection builds only that stage.

`main()` runs in this process with an App carrying what the CDK CLI passes (cdk.json's context, the -c
values, the output directory): the code path of `cdk synth` without a second Python and jsii runtime
per case. `make synth` runs the real CLI.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

import app
from environments.loader import available_stages
from stacks.app_settings import new_app
from tests.stage_files import EXAMPLE_CONFIG, LIVE_CONFIG, REPO_ROOT
from tests.synthesis import cdk_json_context


def _run_app(monkeypatch: pytest.MonkeyPatch, outdir: Path, **context: str) -> int:
    monkeypatch.chdir(REPO_ROOT)  # the default config directory is relative, as under the CLI
    cli_like = new_app(context={**cdk_json_context(), **context}, outdir=str(outdir))
    return app.main(cli_like)


def test_bad_config_is_one_line_per_problem_and_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    data = yaml.safe_load((EXAMPLE_CONFIG / "dev.yaml").read_text())
    data["network"]["cidr"] = "10.0.0.0/33"
    data["account"] = "12345"
    config_dir = tmp_path / "environments"
    config_dir.mkdir()
    (config_dir / "dev.yaml").write_text(yaml.safe_dump(data))
    outdir = tmp_path / "cdk.out"

    assert _run_app(monkeypatch, outdir, config_dir=str(config_dir)) == 1

    stderr = capsys.readouterr().err
    assert "Traceback" not in stderr
    assert stderr.splitlines() == [
        f"{config_dir / 'dev.yaml'}: account: 12345 is not a 12-digit AWS account id, quoted",
        f"{config_dir / 'dev.yaml'}: network.cidr: 10.0.0.0/33 is not a valid CIDR",
    ]
    assert not outdir.exists() or not any(outdir.iterdir())


def test_unknown_stage_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    outdir = tmp_path / "cdk.out"
    known = ", ".join(available_stages(LIVE_CONFIG))
    assert _run_app(monkeypatch, outdir, stages="no-such-stage") == 1
    assert capsys.readouterr().err.strip() == (
        f"environments/no-such-stage.yaml: no such stage (stages with a file: {known})"
    )
    assert not outdir.exists() or not any(outdir.iterdir())


def test_stage_selection_builds_only_that_stage(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    outdir = tmp_path / "cdk.out"
    stage = available_stages(LIVE_CONFIG)[0]
    assert _run_app(monkeypatch, outdir, stages=stage) == 0, capsys.readouterr().err
    assert sorted(p.name for p in outdir.glob("assembly-*")) == [f"assembly-{stage}"]
