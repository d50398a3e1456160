"""`make recovery-docs`: the recovery tables of docs/recovery.md, from the stage files (environments/recovery.py).

For each stage with a secondary region: every stateful component, its replication mechanism, its RPO with
the AWS figure it rests on, its promotion steps and their time, then the RTO and RPO sums against the
stage's `recovery.rto_minutes` and `recovery.rpo_minutes`. The tables sit between two markers in
docs/recovery.md; the runbook around them is written by hand. `--check` exits 1 when they are stale, as
`tests/tools/test_recovery_docs.py` does.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from environments.loader import ConfigError, load_stages
from environments.recovery import RecoveryModel, format_minutes, recovery_model
from environments.schema.stage import StageConfig
from tools.assembly import LIVE_CONFIG, REPO_ROOT

DOCUMENT = REPO_ROOT / "docs" / "recovery.md"
BEGIN = "<!-- BEGIN recovery tables: written by make recovery-docs from the stage files; do not edit -->"
END = "<!-- END recovery tables -->"


def render(configs: list[StageConfig]) -> str:
    """The generated part: one section per stage with a secondary region, in the order given."""
    models = [model for config in configs if (model := recovery_model(config)) is not None]
    if not models:
        return "No stage has a secondary region: none can recover from a regional loss.\n"
    return "\n".join(_stage(model) for model in models)


def _stage(model: RecoveryModel) -> str:
    config, target = model.config, model.target
    recovery = config.recovery
    lines = [
        f"### {config.name}: failing over to {target.region} ({target.role})",
        "",
        "| component | mechanism | RPO | what it rests on | promotion: steps and time |",
        "|---|---|---|---|---|",
    ]
    for component in model.components:
        mechanism = component.mechanism
        rpo = format_minutes(mechanism.rpo_minutes)
        if component.outside_rpo is not None:
            rpo = f"{rpo}; outside the RPO: {component.outside_rpo}"
        steps = (
            "<br>".join(f"`{step.action}`: {step.minutes:g} min ({step.basis})" for step in mechanism.steps)
            if component.counted and mechanism.steps
            else "none"
        )
        lines.append(
            f"| {component.name} | {mechanism.name} | {rpo} | {mechanism.figure} ({mechanism.source}) | {steps} |"
        )
    lines += ["", "| RTO term | minutes | basis |", "|---|---|---|"]
    lines += [f"| {term.label} | {term.minutes:g} | {term.basis} |" for term in model.rto_terms()]
    lines += [f"| {term.label} | {round(term.minutes, 2):g} | {term.basis} |" for term in model.beside_terms()]
    rto_target = f"{recovery.rto_minutes} min" if recovery.rto_minutes is not None else "none set"
    rpo_target = f"{recovery.rpo_minutes} min" if recovery.rpo_minutes is not None else "none set"
    counted = [c for c in model.components if c.counted]
    stage_rpo = model.rpo_minutes
    worst = [c.name for c in counted if c.mechanism.rpo_minutes == stage_rpo]
    lines += [
        "",
        f"- RTO: {model.rto_minutes:g} min by the model; target (`recovery.rto_minutes`): {rto_target}.",
        f"- RPO: {format_minutes(stage_rpo)} over the {len(counted)} components it covers (the largest: "
        f"{', '.join(worst)}); target (`recovery.rpo_minutes`): {rpo_target}. "
        f"{len(model.components) - len(counted)} components are outside it by the stage file's decision.",
    ]
    for other in config.secondaries[1:]:
        lines.append(
            f"- {other.region} ({other.role}) is the next region if {target.region} is lost too: it has every "
            "copy above but the models file system's replica (EFS replicates to one destination); its own file "
            "system is filled from the replicated models bucket, and the weekly AWS Backup copies are in its vault."
        )
    return "\n".join(lines) + "\n"


def document(generated: str, current: str) -> str:
    """`current` (docs/recovery.md) with its generated part replaced."""
    head, found, rest = current.partition(BEGIN)
    _, closed, tail = rest.partition(END)
    if not (found and closed):
        raise ValueError(f"{DOCUMENT.relative_to(REPO_ROOT)} lacks the markers {BEGIN!r} and {END!r}")
    return f"{head}{BEGIN}\n\n{generated}\n{END}{tail}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make recovery-docs", description=__doc__)
    parser.add_argument("--check", action="store_true", help="exit 1 when docs/recovery.md's tables are stale")
    parser.add_argument("--config-dir", type=Path, default=LIVE_CONFIG)
    args = parser.parse_args(argv)
    try:
        configs = load_stages(config_dir=args.config_dir)
    except ConfigError as error:
        print("\n".join(error.problems), file=sys.stderr)
        return 1
    current = DOCUMENT.read_text(encoding="utf-8")
    wanted = document(render(configs), current)
    if args.check:
        if wanted != current:
            print("docs/recovery.md's tables are out of date with the stage files: run make recovery-docs")
            return 1
        return 0
    DOCUMENT.write_text(wanted, encoding="utf-8")
    print(f"wrote {DOCUMENT.relative_to(REPO_ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
