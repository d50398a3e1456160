"""Load environments/<stage>.yaml files into StageConfig, or fail with one readable line per problem."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import ValidationError

from environments.messages import describe, relevant
from environments.schema.ai import invocation_logging_problems
from environments.schema.observability import shared_account_problems
from environments.schema.pipeline import PipelineConfig, pipeline_problems
from environments.schema.regions import (
    PRIMARY_FIELDS,
    overlapping_networks,
    primary_field_path,
    shared_registry_problems,
)
from environments.schema.stage import RETIRED_FIELDS, StageConfig, cross_field_problems

_Config = TypeVar("_Config", StageConfig, PipelineConfig)

CONFIG_DIR = Path("environments")
PIPELINE_FILE = "pipeline"
NON_STAGE_FILES = frozenset({PIPELINE_FILE})
"""YAML files in the config folder that describe something other than a stage."""


class ConfigError(Exception):
    """Invalid configuration; `problems` holds one line per problem, each naming the file and field."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def available_stages(config_dir: Path = CONFIG_DIR) -> list[str]:
    """Stage names that have a file, in alphabetical order."""
    return sorted(p.stem for p in config_dir.glob("*.yaml") if p.stem not in NON_STAGE_FILES)


def load_stages(names: list[str] | None = None, config_dir: Path = CONFIG_DIR) -> list[StageConfig]:
    """Load the named stages (all when None); every problem of every file is reported at once."""
    wanted = names if names is not None else available_stages(config_dir)
    configs: list[StageConfig] = []
    problems: list[str] = []
    for name in wanted:
        try:
            configs.append(load_stage(name, config_dir))
        except ConfigError as error:
            problems.extend(error.problems)
    problems += [
        f"{config_dir / f'{stage}.yaml'}: {field}: {message}"
        for stage, field, message in (
            *shared_account_problems(configs),
            *invocation_logging_problems(configs),
            *shared_registry_problems(configs),
        )
    ]
    problems += [
        f"{config_dir / f'{stage}.yaml'}: {field}: {message}"
        for stage, field, message, same_account in overlapping_networks(configs)
        if same_account
    ]
    if problems:
        raise ConfigError(problems)
    return configs


def config_warnings(
    configs: list[StageConfig], pipeline: PipelineConfig | None, config_dir: Path = CONFIG_DIR
) -> list[str]:
    """One line each for what is allowed but probably not meant: VPCs of stages in different accounts that
    overlap (they could never be connected), and stage files the pipeline does not promote."""
    warnings = [
        f"warning: {config_dir / f'{stage}.yaml'}: {field}: {message}"
        for stage, field, message, same_account in overlapping_networks(configs)
        if not same_account
    ]
    if pipeline is not None:
        promoted = ", ".join(pipeline.stages)
        warnings += [
            f"warning: {config_dir / f'{config.name}.yaml'}: not promoted by {config_dir / f'{PIPELINE_FILE}.yaml'} "
            f"(stages: {promoted}); the pipeline will not deploy it"
            for config in configs
            if config.name not in pipeline.stages
        ]
    return warnings


def load_stage(name: str, config_dir: Path = CONFIG_DIR) -> StageConfig:
    """Parse and validate one stage file."""
    path = config_dir / f"{name}.yaml"
    if name in NON_STAGE_FILES or not path.is_file():
        known = ", ".join(available_stages(config_dir)) or "none"
        raise ConfigError([f"{path}: no such stage (stages with a file: {known})"])
    raw = _read_yaml(path)
    if "name" in raw:
        raise ConfigError([f"{path}: name: the stage name comes from the file name; remove this key"])
    network = raw.get("network")
    written = [
        field
        for field in PRIMARY_FIELDS
        if field in raw or (field.startswith("network.") and isinstance(network, dict) and field[8:] in network)
    ]
    if written:
        moved = "set in regions (the first entry is the primary region); remove this key"
        raise ConfigError([f"{path}: {field}: {moved}" for field in written])
    try:
        config = _validate(path, StageConfig, {**raw, "name": name})
    except ConfigError as error:
        raise ConfigError(_primary_named(error.problems, path)) from None
    problems = cross_field_problems(config)
    _raise_problems(path, list(dict.fromkeys((primary_field_path(field), message) for field, message in problems)))
    return config


def _primary_named(problems: list[str], path: Path) -> list[str]:
    """Validation problems of the fields filled in from `regions.0`, named there, each once; none of them
    when `regions` itself is what is wrong."""
    prefix = f"{path}: "
    fields = [line.removeprefix(prefix).split(": ", 1) for line in problems]
    regions_broken = any(field == "regions" for field, _ in fields)
    named = [
        f"{prefix}{primary_field_path(field)}: {message}"
        for field, message in fields
        if not (regions_broken and primary_field_path(field) != field)
    ]
    return list(dict.fromkeys(named))


def load_pipeline(config_dir: Path = CONFIG_DIR) -> PipelineConfig:
    """Parse and validate environments/pipeline.yaml against the stage files that exist."""
    path = config_dir / f"{PIPELINE_FILE}.yaml"
    if not path.is_file():
        raise ConfigError([f"{path}: missing (the pipeline's account, region and source)"])
    config = _validate(path, PipelineConfig, _read_yaml(path))
    _raise_problems(path, pipeline_problems(config, available_stages(config_dir)))
    return config


def _validate(path: Path, model: type[_Config], raw: dict[str, Any]) -> _Config:
    try:
        return model.model_validate(raw)
    except ValidationError as error:
        errors = relevant([dict(e) for e in error.errors()])
        raise ConfigError([f"{path}: {describe(e, RETIRED_FIELDS)}" for e in errors]) from None


def _raise_problems(path: Path, problems: list[tuple[str, str]]) -> None:
    if problems:
        raise ConfigError([f"{path}: {field}: {message}" for field, message in problems])


_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""PyYAML's safe loader in C (libyaml, in PyYAML's wheels): the same data as `yaml.safe_load`, about 6x faster
(the test suite reads the stage files hundreds of times); the pure-Python one where PyYAML lacks it."""


def parse_yaml(text: str) -> Any:
    """`text`'s data; a file that does not parse is read again by the pure-Python parser, whose error names
    what it found where it expected something else (libyaml's does not)."""
    try:
        return yaml.load(text, Loader=_YAML_LOADER)
    except yaml.YAMLError:
        return yaml.safe_load(text)


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = parse_yaml(path.read_text(encoding="utf-8"))
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        raise ConfigError([f"{path}: {where}invalid YAML: {error.problem}"]) from None
    except yaml.YAMLError as error:
        raise ConfigError([f"{path}: invalid YAML: {error}"]) from None
    if data is None:
        raise ConfigError([f"{path}: the file is empty"])
    if not isinstance(data, dict):
        raise ConfigError([f"{path}: expected a mapping of settings at the top level, got {type(data).__name__}"])
    return data
