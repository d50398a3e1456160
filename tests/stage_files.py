"""The stage files the tests build, loaded without aws_cdk (so bad config stops a session in a moment).

Two folders of stage files feed the tests:
- `environments/` (the live configs, the user's own): invariant tests (nag, cfn-lint, data safety, pinned
  IDs, quotas, Kubernetes schemas, behaviour contracts) run on every stage file found there;
- `tests/fixtures/environments/` (a frozen copy of the shipped examples): example tests assert the seeds'
  values (CIDRs, sizes, accounts) against it, so editing `environments/` never breaks them.
When both folders hold the same files, one synthesis serves both.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from environments.loader import available_stages, load_pipeline, load_stages
from environments.schema.pipeline import PipelineConfig
from environments.schema.stage import StageConfig

REPO_ROOT = Path(__file__).resolve().parent.parent
LIVE_CONFIG = REPO_ROOT / "environments"
EXAMPLE_CONFIG = REPO_ROOT / "tests" / "fixtures" / "environments"


@dataclass(frozen=True)
class ConfigSet:
    """A folder of stage files and its pipeline file, validated (ConfigError when not)."""

    directory: Path
    configs: dict[str, StageConfig]
    pipeline: PipelineConfig

    @classmethod
    def load(cls, directory: Path) -> ConfigSet:
        configs = {config.name: config for config in load_stages(config_dir=directory)}
        return cls(directory, configs, load_pipeline(directory))

    def same_files_as(self, other: ConfigSet) -> bool:
        """Whether both folders hold byte-identical YAML files (then one synthesis serves both)."""

        def files(directory: Path) -> dict[str, bytes]:
            return {path.name: path.read_bytes() for path in sorted(directory.glob("*.yaml"))}

        return files(self.directory) == files(other.directory)

    @property
    def stage_names(self) -> list[str]:
        return available_stages(self.directory)
