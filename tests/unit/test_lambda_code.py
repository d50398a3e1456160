"""A Lambda function's code asset is its sources only: the bytecode Python writes beside them when the synth or
a test imports a handler must not change the asset's hash, or the template would differ from clone to clone
(the bytecode records the file times) and after every `make test`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk import aws_lambda as lambda_
from constructs.common import event_function
from constructs.common.event_function import lambda_code

from stacks.app_settings import new_app


def _object_key(outdir: Path, code: Callable[[], lambda_.Code]) -> str:
    stack = cdk.Stack(new_app(outdir=str(outdir)), "Stack")
    location = code().bind(stack).s3_location
    assert location is not None
    return location.object_key


def _with_bytecode(code_dir: Path) -> None:
    (code_dir / "__pycache__").mkdir()
    (code_dir / "__pycache__" / "handler.cpython-311.pyc").write_bytes(b"written at import")


@pytest.fixture
def code_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(event_function, "LAMBDAS", tmp_path / "lambdas")
    directory = tmp_path / "lambdas" / "handler_only"
    directory.mkdir(parents=True)
    (directory / "handler.py").write_text("def handler(event, context):\n    return None\n")
    return directory


def test_bytecode_beside_a_handler_leaves_its_asset_hash_alone(code_dir: Path, tmp_path: Path) -> None:
    before = _object_key(tmp_path / "before", lambda: lambda_code("handler_only"))
    _with_bytecode(code_dir)
    assert _object_key(tmp_path / "after", lambda: lambda_code("handler_only")) == before


def test_mutation_an_asset_of_the_whole_folder_changes_with_bytecode(code_dir: Path, tmp_path: Path) -> None:
    """What lambda_code guards against: CDK's default asset takes __pycache__ with the sources."""

    def whole_folder() -> lambda_.Code:
        return lambda_.Code.from_asset(str(code_dir))

    before = _object_key(tmp_path / "before", whole_folder)
    _with_bytecode(code_dir)
    assert _object_key(tmp_path / "after", whole_folder) != before
