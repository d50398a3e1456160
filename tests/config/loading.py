"""What the config tests share: an example stage file's data, and the problems the loader finds in a changed
copy of it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from environments.loader import ConfigError, load_stage, parse_yaml
from tests.stage_files import EXAMPLE_CONFIG

Mutation = Callable[[dict[str, Any]], None]


def example_data(stage: str = "dev") -> dict[str, Any]:
    """The frozen example `stage`'s file as data."""
    data: dict[str, Any] = parse_yaml((EXAMPLE_CONFIG / f"{stage}.yaml").read_text())
    return data


def load_problems(tmp_path: Path, stage: str, mutate: Mutation, base: str = "dev") -> list[str]:
    """The loader's one-line problems with `base`'s example changed by `mutate`, written as `stage`."""
    data = example_data(base)  # a new copy each call
    mutate(data)
    (tmp_path / f"{stage}.yaml").write_text(yaml.dump(data, Dumper=getattr(yaml, "CSafeDumper", yaml.SafeDumper)))
    with pytest.raises(ConfigError) as raised:
        load_stage(stage, tmp_path)
    return raised.value.problems
