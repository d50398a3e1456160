"""Guard: the repo's constructs/ folder must extend the constructs library, never replace it."""

from __future__ import annotations

from pathlib import Path

import aws_cdk as cdk
import constructs
from constructs import Construct
from constructs.network.tiered_vpc import TieredVpc

REPO_ROOT = Path(__file__).resolve().parent.parent


def test_construct_is_still_the_library_class() -> None:
    assert issubclass(cdk.Stack, Construct)
    assert Construct.__module__ == "constructs"
    assert Path(constructs.__file__).parent != REPO_ROOT / "constructs"


def test_repo_constructs_join_the_namespace() -> None:
    assert not (REPO_ROOT / "constructs" / "__init__.py").exists()
    assert issubclass(TieredVpc, Construct)
    assert str(REPO_ROOT / "constructs") in list(constructs.__path__)
