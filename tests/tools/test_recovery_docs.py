"""`make recovery-docs`: docs/recovery.md's tables are what the stage files give, and they follow the model."""

from __future__ import annotations

import pytest
from constructs.compute.ingress_records import ELB_5XX_MINUTES

from environments.loader import load_stages
from environments.recovery import ALARM_MINUTES, recovery_model
from tests.stage_files import EXAMPLE_CONFIG, LIVE_CONFIG
from tools import recovery


def test_committed_tables_are_up_to_date() -> None:
    current = recovery.DOCUMENT.read_text(encoding="utf-8")
    wanted = recovery.document(recovery.render(load_stages(config_dir=LIVE_CONFIG)), current)
    assert current == wanted, "docs/recovery.md's tables are out of date: run make recovery-docs and commit it"


def test_a_changed_stage_file_makes_them_stale() -> None:
    """The staleness check can fail: a different target changes the generated part."""
    configs = load_stages(config_dir=EXAMPLE_CONFIG)
    prod = next(c for c in configs if c.name == "prod")
    changed = prod.model_copy(update={"recovery": prod.recovery.model_copy(update={"rto_minutes": 45})})
    assert recovery.render([changed]) != recovery.render([prod])
    assert "target (`recovery.rto_minutes`): 45 min" in recovery.render([changed])


def test_every_component_and_term_of_the_model_is_in_the_table() -> None:
    prod = load_stages(config_dir=EXAMPLE_CONFIG)[1]
    model = recovery_model(prod)
    assert model is not None
    text = recovery.render([prod])
    for component in model.components:
        assert f"| {component.name} | {component.mechanism.name} |" in text
        if component.outside_rpo:
            assert f"outside the RPO: {component.outside_rpo}" in text
        for step in component.mechanism.steps:
            assert f"`{step.action}`: {step.minutes:g} min" in text
    for term in model.rto_terms():
        assert f"| {term.label} | {term.minutes:g} |" in text
    assert [term.label for term in model.beside_terms()] == [
        "DNS switch (beside the above, from the loss on)",
        "images path to eu-west-1's replica (beside the above, each request)",
    ]
    for term in model.beside_terms():
        assert f"| {term.label} | {round(term.minutes, 2):g} | {term.basis} |" in text
    assert f"- RTO: {model.rto_minutes:g} min by the model" in text


def test_the_markers_are_required() -> None:
    with pytest.raises(ValueError, match="lacks the markers"):
        recovery.document("tables", "a runbook without markers")


def test_the_model_times_the_health_checks_the_platform_builds() -> None:
    """The recovery model's DNS term uses the alarm the regions' health checks read (environments/ does not
    import the constructs, so the two constants are kept equal here)."""
    assert ALARM_MINUTES == ELB_5XX_MINUTES
