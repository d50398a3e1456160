"""app.py end to end: bad config exits 1 with one line per problem and writes nothing; a stage
selection builds only that stage."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import yaml

from tests.conftest import REPO_ROOT, cdk_json_context


def _run_app(outdir: Path, **context: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "CDK_OUTDIR": str(outdir),
        "CDK_CONTEXT_JSON": json.dumps({**cdk_json_context(), **context}),
        "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
    }
    return subprocess.run(
        [sys.executable, "app.py"], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300, check=False
    )


def test_bad_config_is_one_line_per_problem_and_writes_nothing(tmp_path: Path) -> None:
    data = yaml.safe_load((REPO_ROOT / "environments" / "dev.yaml").read_text())
    data["network"]["cidr"] = "10.0.0.0/33"
    data["account"] = "12345"
    config_dir = tmp_path / "environments"
    config_dir.mkdir()
    (config_dir / "dev.yaml").write_text(yaml.safe_dump(data))
    outdir = tmp_path / "cdk.out"

    result = _run_app(outdir, config_dir=str(config_dir))

    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.splitlines() == [
        f"{config_dir / 'dev.yaml'}: account: String should match pattern '^\\d{{12}}$' (got '12345')",
        f"{config_dir / 'dev.yaml'}: network.cidr: 10.0.0.0/33 is not a valid CIDR",
    ]
    assert not outdir.exists() or not any(outdir.iterdir())


def test_unknown_stage_is_refused(tmp_path: Path) -> None:
    result = _run_app(tmp_path / "cdk.out", stages="qa")
    assert result.returncode == 1
    assert result.stderr.strip() == "environments/qa.yaml: no such stage (stages with a file: dev, prod, staging)"
    assert not any((tmp_path / "cdk.out").iterdir())


def test_stage_selection_builds_only_that_stage(tmp_path: Path) -> None:
    outdir = tmp_path / "cdk.out"
    result = _run_app(outdir, stages="dev")
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in outdir.glob("assembly-*")) == ["assembly-dev"]
