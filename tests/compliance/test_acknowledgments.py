"""The acknowledgment helper's tables are true to the tools they speak for: SHARED_RULES is what the
installed cdk-nag's packs apply, and every checkov skip in the templates is a check it names, on a resource
that check reads, with its reason."""

from __future__ import annotations

import copy
import json
import re
import tarfile
from collections import defaultdict
from pathlib import Path
from typing import Any

import cdk_nag

from guardrails.nag_rules import CHECKOV_CHECKS, PACK_NAMES, PLATFORM_EQUIVALENTS, SHARED_RULES
from guardrails.platform_checks import RULE_IDS
from tests.synthesis import SynthesizedPlatform

PACK_FILES = dict(zip(PACK_NAMES, ("aws-solutions", "nist-800-53-r5", "hipaa-security", "pci-dss-321"), strict=True))
APPLY_RULE = re.compile(r"this\.applyRule\(\{(.*?)\}\);", re.S)


def _installed_rules() -> dict[str, tuple[str, ...]]:
    """Rule function -> its ID in each pack that applies it, read off the installed cdk-nag's packs."""
    tarball = next((Path(cdk_nag.__file__).parent / "_jsii").glob("*.tgz"))
    ids: dict[str, list[str]] = defaultdict(list)
    with tarfile.open(tarball) as archive:
        for pack, name in PACK_FILES.items():
            member = archive.extractfile(f"package/lib/packs/{name}.js")
            assert member is not None
            for block in APPLY_RULE.findall(member.read().decode()):
                rule = re.search(r"rule: \w+\.(\w+)", block)
                override = re.search(r"ruleSuffixOverride: '([^']+)'", block)
                assert rule is not None
                ids[rule.group(1)].append(f"{pack}-{override.group(1) if override else rule.group(1)}")
    return {rule: tuple(found) for rule, found in ids.items()}


def test_shared_rules_are_cdk_nags() -> None:
    """Every rule two packs share is in the table under exactly cdk-nag's IDs (a single-pack rule only where
    the project pack shares it); after a cdk-nag upgrade, the message is the table to paste."""
    installed = _installed_rules()
    expected = {rule: ids for rule, ids in installed.items() if len(ids) > 1 or rule in PLATFORM_EQUIVALENTS}
    assert expected == SHARED_RULES, json.dumps(dict(sorted(expected.items())), indent=4)


def test_every_checkov_concern_is_a_known_rule() -> None:
    known = set(SHARED_RULES) | {f"Platform-{rule.split('-', 1)[1]}" for rule in RULE_IDS}
    for check, (_, concern) in CHECKOV_CHECKS.items():
        assert concern is None or concern in known or concern.split("[")[0] in known | {"AwsSolutions-IAM5"}, check


def skip_problems(template: dict[str, Any]) -> list[str]:
    """Each checkov skip that names a check the project does not know, sits on a resource that check does
    not read, or has no reason."""
    problems = []
    for logical_id, resource in template.get("Resources", {}).items():
        for skip in ((resource.get("Metadata") or {}).get("checkov") or {}).get("skip", []):
            check, reason = skip.get("id"), str(skip.get("comment") or "").strip()
            if check not in CHECKOV_CHECKS:
                problems.append(f"{logical_id}: {check} is not in CHECKOV_CHECKS")
            elif resource["Type"] not in CHECKOV_CHECKS[check][0]:
                problems.append(f"{logical_id}: {check} does not read {resource['Type']}")
            if len(reason) < 20:
                problems.append(f"{logical_id}: {check} has no reason")
    return problems


def test_every_checkov_skip_has_its_reason(platform: SynthesizedPlatform) -> None:
    skipped = 0
    for path in platform.template_files():
        template = json.loads(path.read_text())
        assert skip_problems(template) == [], path.name
        skipped += sum(
            len(((r.get("Metadata") or {}).get("checkov") or {}).get("skip", []))
            for r in template["Resources"].values()
        )
    assert skipped > 0


def test_a_skip_without_reason_or_on_the_wrong_resource_is_caught(platform: SynthesizedPlatform) -> None:
    """Mutation: the contract above fails on a template whose skips lost their reason or moved."""
    template, queue_id = next(
        (template, logical_id)
        for template in (json.loads(path.read_text()) for path in platform.template_files())
        for logical_id in template["Resources"]
        if logical_id.startswith("KarpenterInterruptionQueue")
    )
    queue = template["Resources"][queue_id]
    broken = copy.deepcopy(template)
    broken["Resources"][queue_id]["Metadata"]["checkov"]["skip"][0]["comment"] = ""
    broken["Resources"]["Moved"] = {"Type": "AWS::SNS::Topic", "Metadata": queue["Metadata"]}
    broken["Resources"]["Unknown"] = {"Type": "AWS::SQS::Queue", "Metadata": {"checkov": {"skip": [{"id": "CKV_X"}]}}}
    assert skip_problems(template) == []
    assert skip_problems(broken) == [
        f"{queue_id}: CKV_AWS_27 has no reason",
        "Moved: CKV_AWS_27 does not read AWS::SNS::Topic",
        "Unknown: CKV_X is not in CHECKOV_CHECKS",
        "Unknown: CKV_X has no reason",
    ]
