"""Test-session wiring (the syntheses themselves are in tests/synthesis.py).

- The stage files are validated first: bad config stops the session at once with the one-line messages
  `make synth` prints, before anything is synthesized.
- `stage` is a parameter over the stage files present: `environments/` for tests that use `platform`
  (invariants), the frozen examples for tests that use `examples`. A new `qa.yaml` gets every invariant.
- `STAGES=dev make test` (comma-separated) keeps only those stages; tests that need every stage (the
  pipeline, comparisons across stages) are skipped then.
- Each synthesis is built once, for just the stages the collected tests need: a test file for one
  stage pays for that stage only.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from environments.loader import ConfigError, config_warnings
from tests.stage_files import EXAMPLE_CONFIG, LIVE_CONFIG, ConfigSet

if TYPE_CHECKING:  # aws_cdk loads only once the configs are known to be valid
    from tests.synthesis import SynthesizedPlatform

STAGES_VARIABLE = "STAGES"
CONFIG_FOLDERS = {"platform": LIVE_CONFIG, "examples": EXAMPLE_CONFIG}
"""The fixtures that hold a synthesis, and the config folder each one builds."""
SYNTHESES = tuple(CONFIG_FOLDERS)


@dataclass
class Session:
    """What the session knows before any synthesis: both config folders, the stage selection, and which
    stages of each folder the collected tests need (None: every stage, and the pipeline)."""

    configs: dict[str, ConfigSet]
    selection: list[str] | None
    needs: dict[str, set[str] | None] = field(default_factory=dict)
    built: dict[str, SynthesizedPlatform] = field(default_factory=dict)

    def selected(self, names: Iterable[str]) -> list[str]:
        return [name for name in names if self.selection is None or name in self.selection]

    def shared(self) -> bool:
        """Whether the live configs are the examples, so one synthesis serves both."""
        return self.configs["platform"].same_files_as(self.configs["examples"])


SESSION = pytest.StashKey[Session]()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-stateful-ids",
        action="store_true",
        help="rewrite tests/pinned/<stage>.json from this synthesis (make pin-stateful-ids)",
    )


def pytest_configure(config: pytest.Config) -> None:
    try:  # relative paths, so the messages read as `make synth` prints them
        configs = {kind: ConfigSet.load(Path(os.path.relpath(folder))) for kind, folder in CONFIG_FOLDERS.items()}
    except ConfigError as error:
        print("\n".join(error.problems), file=sys.stderr)
        pytest.exit("the configuration above is invalid; nothing was synthesized", returncode=1)
    selection = _selection(os.environ.get(STAGES_VARIABLE, ""), configs)
    config.stash[SESSION] = Session(configs, selection)
    if selection is not None:  # the other stages' snapshots are left out on purpose, not stale
        config.option.warn_unused_snapshots = True


def _selection(value: str, configs: dict[str, ConfigSet]) -> list[str] | None:
    names = [name.strip() for name in value.split(",") if name.strip()]
    known = sorted({name for config_set in configs.values() for name in config_set.stage_names})
    unknown = [name for name in names if name not in known]
    if unknown:
        pytest.exit(f"{STAGES_VARIABLE}: {', '.join(unknown)} has no stage file (stages: {', '.join(known)})", 1)
    return names or None


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """`stage` runs over the selected stage files of the folder the test's synthesis comes from."""
    if "stage" not in metafunc.fixturenames or _parametrized_explicitly(metafunc):
        return
    session = metafunc.config.stash[SESSION]
    kind = "examples" if "examples" in metafunc.fixturenames else "platform"
    metafunc.parametrize("stage", session.selected(session.configs[kind].stage_names))


def _parametrized_explicitly(metafunc: pytest.Metafunc) -> bool:
    for marker in metafunc.definition.iter_markers("parametrize"):
        names = marker.args[0]
        if "stage" in ([n.strip() for n in names.split(",")] if isinstance(names, str) else names):
            return True
    return False


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Record which stages each synthesis must build; skip what the stage selection leaves out; run the
    cfn-lint tests last (cfn-lint runs in the background from the synthesis on)."""
    session = config.stash[SESSION]
    needs: dict[str, set[str] | None] = {kind: set() for kind in SYNTHESES}
    kept = []
    for item in items:
        params = getattr(item, "callspec", None)
        stage = params.params.get("stage") if params else None
        kinds = [kind for kind in SYNTHESES if kind in getattr(item, "fixturenames", ())]
        if stage is not None and session.selection is not None and stage not in session.selection:
            continue  # an example test pinned to a stage the selection leaves out
        kept.append(item)
        for kind in kinds:
            if stage is None and session.selection is not None:
                item.add_marker(pytest.mark.skip(reason=f"needs every stage; {STAGES_VARIABLE} selects some"))
            elif stage is None:
                needs[kind] = None
            elif (wanted := needs[kind]) is not None:
                wanted.add(stage)
    if len(kept) != len(items):
        config.hook.pytest_deselected(items=[item for item in items if item not in kept])
        items[:] = kept
    if session.shared():
        merged = None if None in needs.values() else set().union(*(n for n in needs.values() if n is not None))
        needs = dict.fromkeys(SYNTHESES, merged)
    session.needs = needs
    items.sort(key=lambda item: item.path.name == "test_cfn_lint.py")


def _synthesis(
    request: pytest.FixtureRequest, kind: str, tmp_path_factory: pytest.TempPathFactory
) -> SynthesizedPlatform:
    from tests.synthesis import synthesize

    session = request.config.stash[SESSION]
    key = "shared" if session.shared() else kind
    if key not in session.built:
        needs = session.needs.get(kind, None)
        cache = getattr(request.config, "cache", None)  # None under -p no:cacheprovider
        lint_cache = (
            (cache.mkdir("cfn-lint") if cache else tmp_path_factory.mktemp("cfn-lint")) if key != "examples" else None
        )
        session.built[key] = synthesize(
            session.configs[kind],
            sorted(needs) if needs is not None else None,
            tmp_path_factory.mktemp(f"cdk.out-{key}"),
            lint_cache,
        )
    return session.built[key]


@pytest.fixture(scope="session")
def platform(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> SynthesizedPlatform:
    """The stages of `environments/` (the user's own): what invariant tests check."""
    return _synthesis(request, "platform", tmp_path_factory)


@pytest.fixture(scope="session")
def examples(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> SynthesizedPlatform:
    """The stages of `tests/fixtures/environments/` (the shipped examples, frozen): what example tests assert."""
    return _synthesis(request, "examples", tmp_path_factory)


def pytest_report_header(config: pytest.Config) -> list[str]:
    """The stages under test and the warnings `make synth` would print for them."""
    session = config.stash[SESSION]
    live = session.configs["platform"]
    stages = ", ".join(session.selected(live.stage_names))
    header = f"stages: {stages} ({live.directory}/)" + (" = the examples" if session.shared() else "")
    return [header, *config_warnings(list(live.configs.values()), live.pipeline, live.directory)]
