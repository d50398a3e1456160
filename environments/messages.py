"""Validation errors in the words of someone editing a stage file: what was expected, in plain terms, and
the fix where one is known. Never a regular expression or a Python type name.

`describe` turns one pydantic error into `field: message`; the loader puts the file in front. Each
pattern the schema uses has its expected form in `FORMS` (tests/config checks that none is missing).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

SEMVER = "a version such as 1.2.3"
REGION = "a region code such as eu-west-1"
DOMAIN = "a lower-case DNS name such as api.example.com"
ZONE_ID = "a Route 53 hosted zone id such as Z0123456789ABCDEFGHIJ"
FORMS: dict[str, str] = {
    r"^[a-zA-Z0-9._-]{1,249}$": "a Kafka topic name: 1-249 letters, digits, '.', '_' and '-'",
    r"^[a-z0-9][a-z0-9_-]{0,79}$": "an OpenSearch index name: up to 80 lower-case letters, digits, '_' and '-'",
    r"^[^:][^\s]{0,254}$": "a CloudWatch namespace such as AWS/Lambda: up to 255 characters, no spaces",
    r"^\d{12}$": "a 12-digit AWS account id, quoted",
    r"^[a-z]{2}(-gov)?-[a-z]+-\d$": REGION,
    r"^$|^[a-z]{2}(-gov)?-[a-z]+-\d$": REGION,
    r"^[a-z][a-z0-9-]{1,19}$": "2-20 lower-case letters, digits and '-', starting with a letter",
    r"^[A-Z]{2}$": "a two-letter country code in capitals, such as DE",
    r"^[^@\s]+@[^@\s]+\.[^@\s]+$": "an e-mail address such as ops@example.com",
    r"^https://\S+$": "an https:// URL",
    r"^[A-Z0-9]{9,11}$": "a Slack id: 9-11 capital letters and digits, such as T0123ABCD",
    r"^cache\.[a-z0-9]+\.[a-z0-9]+$": "an ElastiCache node type such as cache.t4g.medium",
    r"^[a-z0-9]+\.[a-z0-9]+$": "an RDS instance class without the db. prefix, such as t4g.medium",
    r"^1[78]\.\d+$": 'PostgreSQL 17 or 18 with its minor version, quoted, such as "17.6"',
    r"^[78]\.\d+$": 'Valkey 7 or 8 with its minor version, quoted, such as "8.0"',
    r"^1\.[3-9]\.\d+\.\d+$": 'a Neptune engine version from 1.3, quoted, such as "1.4.5.0"',
    r"^db\.[a-z0-9]+\.[a-z0-9]+$": "a Neptune instance class such as db.r6g.large",
    r"^dax\.[a-z0-9]+\.[a-z0-9]+$": "a DAX node type such as dax.r5.large",
    r"^[a-z][a-z0-9_]{0,62}$": "up to 63 lower-case letters, digits and '_', starting with a letter",
    r"^/[A-Za-z0-9_./-]+$": "an absolute path such as /models",
    r"^\d+\.\d+\.(\d+|x)$": "a Kafka version such as 3.8.x",
    r"^kafka\.[a-z0-9]+\.[a-z0-9]+$": "an MSK broker type such as kafka.m5.large",
    r"^OpenSearch_\d+\.\d+$": "OpenSearch_ and a version, such as OpenSearch_2.19",
    r"^[a-z0-9]+\.[a-z0-9]+\.search$": "an OpenSearch instance type such as r6g.large.search",
    r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$": "a Kubernetes name: up to 63 lower-case letters, digits and '-'",
    r"^([a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$": (
        "a Kubernetes label key: an optional DNS prefix and '/', then up to 63 letters, digits, '-', '_' and '.'"
    ),
    r"^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$": (
        "a Kubernetes label value: up to 63 letters, digits, '-', '_' and '.', starting and ending alphanumeric"
    ),
    r"^([a-z0-9-]+\.)+[a-z]{2,}$": DOMAIN,
    r"^$|^([a-z0-9-]+\.)+[a-z]{2,}$": DOMAIN,
    r"^Z[A-Z0-9]{8,31}$": ZONE_ID,
    r"^[a-z0-9-]+\.[a-z0-9][a-z0-9.:-]*$": "a Bedrock model id, exactly, such as meta.llama3-70b-instruct-v1:0",
    r"^$|^[A-Za-z0-9!_.*'()/-]+\.tar\.gz$": "an S3 key of a .tar.gz model archive, such as sagemaker/model.tar.gz",
    r"^[a-z][a-z0-9-]{0,30}$": "up to 31 lower-case letters, digits and '-', starting with a letter",
    r"^ml\.[a-z0-9]+\.[a-z0-9]+$": "a SageMaker instance type such as ml.g5.xlarge",
    r"^sha256:[a-f0-9]{64}$": "an image digest: sha256: and 64 hex digits",
    r"^$|^Z[A-Z0-9]{8,31}$": ZONE_ID,
    r"^arn:aws[a-z-]*:iam::\d{12}:(role|user)/[A-Za-z0-9+=,.@_/*?-]+$": (
        "an IAM role or user ARN (wildcards allowed in the name), such as arn:aws:iam::123456789012:role/Admin"
    ),
    r"^[a-z][a-z0-9-]*\.[a-z0-9]+$": "an EC2 instance type such as m6i.large",
    r"^[A-Za-z0-9./_-]+$": "a Kubernetes label key such as workload or nvidia.com/gpu",
    r"^[A-Za-z0-9._-]*$": "a Kubernetes label value: letters, digits, '.', '_' and '-'",
    r"^1\.\d+\.\d+$": "a Karpenter chart version such as 1.14.1",
    r"^\d+\.\d+\.\d+$": SEMVER,
    r"^v\d+\.\d+\.\d+-eksbuild\.\d+$": "an EKS add-on version such as v1.19.0-eksbuild.1",
    r"^[2-4]\d\d(-[2-4]\d\d)?(,[2-4]\d\d(-[2-4]\d\d)?)*$": 'HTTP codes, quoted, such as "200" or "200-299,302"',
    r"^arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate/[0-9a-f-]{36}$": "an ACM certificate ARN",
    r"^[A-Za-z0-9-]{32,64}$": "a Secrets Manager version id (32-64 letters, digits and '-')",
    r"^[a-z]([-a-z0-9]{0,30}[a-z0-9])?$": "up to 32 lower-case letters, digits and '-', starting with a letter",
    r"^/[A-Za-z0-9_\-.$/~\"'@:+*?&]*$": "a path pattern starting with /, such as /api/users/*",
    r"^/[A-Za-z0-9_\-.~/]*$": "a path starting with /, such as /healthz",
    r"^https://[A-Za-z0-9.-]+(:\d{1,5})?(/[A-Za-z0-9._~-]+)+$": "an https:// repository URL such as https://github.com/org/repo.git",
    r"^[A-Za-z0-9_-][A-Za-z0-9._-]*(/[A-Za-z0-9_-][A-Za-z0-9._-]*)*$": "a relative path such as workloads/overlays/dev",
    r"^/[A-Za-z0-9/_+=.@-]+$": "a secret name starting with /, such as /ai-platform/dev/gitops/repository",
    r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$": 'an image tag, quoted, such as "1.0.0"',
    r"^arn:aws[a-z-]*:(codeconnections|codestar-connections):[a-z0-9-]+:\d{12}:connection/[0-9a-f-]{36}$": (
        "a CodeConnections connection ARN"
    ),
    r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$": "owner/name, such as example-org/ai-saas-platform",
}
"""Each pattern of the schema, as the form a person would recognise."""


def _prefix_fix(prefix: str, value: str) -> str | None:
    return f"add the {prefix} prefix: {prefix}{value}" if not value.startswith(prefix) else None


PATTERN_FIXES: dict[str, Callable[[str], str | None]] = {
    r"^[a-z0-9]+\.[a-z0-9]+$": lambda v: (
        f"drop the db. prefix: {v.removeprefix('db.')}" if v.startswith("db.") else None
    ),
    r"^cache\.[a-z0-9]+\.[a-z0-9]+$": lambda v: _prefix_fix("cache.", v),
    r"^kafka\.[a-z0-9]+\.[a-z0-9]+$": lambda v: _prefix_fix("kafka.", v),
    r"^[a-z0-9]+\.[a-z0-9]+\.search$": lambda v: None if v.endswith(".search") else f"add .search: {v}.search",
    r"^[A-Z]{2}$": lambda v: f"capitals: {v.upper()}" if re.fullmatch(r"[a-z]{2}", v) else None,
    r"^OpenSearch_\d+\.\d+$": lambda v: f"OpenSearch_{v}" if re.fullmatch(r"\d+\.\d+", v) else None,
}
"""Fixes a pattern mismatch has when the mistake is a known one (a db. prefix, a missing suffix, ...)."""

NUMBER = re.compile(r"^-?\d+(\.\d+)?$")
YAML_BOOLEANS = {"y", "yes", "n", "no", "true", "false", "on", "off"}


def _shown(value: Any) -> str:
    """A value as it would be written in the file."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return repr(value) if value == "" or value.strip() != value else value
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_shown(v) for v in value) + "]"
    if isinstance(value, dict):
        return "a mapping"
    if value is None:
        return "empty"
    return str(value)


def _choices(expected: str) -> list[str]:
    return re.findall(r"'([^']*)'", expected) or [
        part.strip() for part in re.split(r",| or ", expected) if part.strip()
    ]


def _closest(value: Any, choices: list[str]) -> str | None:
    """The choice `value` was probably meant to be: the same letters in another case or separator."""
    if isinstance(value, bool):
        spelled = {"true": ("true", "yes", "on"), "false": ("false", "no", "off")}["true" if value else "false"]
        matches = [c for c in choices if c.lower() in spelled]
        return f'quote it: "{matches[0]}" (YAML reads a bare {matches[0]} as {_shown(value)})' if matches else None
    if isinstance(value, (int, float)):
        return f'quote versions: "{value}"' if str(value) in choices else None

    def key(text: str) -> str:
        return re.sub(r"[-_ ]", "", str(text)).lower()

    matches = [c for c in choices if key(c) == key(value)]
    return f"did you mean {matches[0]}?" if matches else None


def _quote_fix(value: Any) -> str:
    return f'quote it: "{_shown(value)}"'


def message(error: dict[str, Any]) -> str:
    """The message of one pydantic error (without the field)."""
    kind: str = error["type"]
    value = error.get("input")
    ctx = error.get("ctx", {})
    shown = _shown(value)
    if kind == "string_pattern_mismatch":
        pattern = ctx["pattern"]
        form = FORMS.get(pattern, "the form the example stage files show")
        fixer = PATTERN_FIXES.get(pattern)
        fix = fixer(str(value)) if fixer else None
        return f"{shown} is not {form}" + (f" — {fix}" if fix else "")
    if kind == "string_type":
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return f"{shown} must be text — {_quote_fix(value)}"
        return f"expected text, not {shown}"
    if kind in ("int_type", "int_parsing", "int_from_float"):
        if isinstance(value, str) and NUMBER.match(value.strip()) and "." not in value:
            return f"{value} must be a number, not text — remove the quotes"
        return f"{shown} is not a whole number"
    if kind in ("float_type", "float_parsing"):
        if isinstance(value, str) and NUMBER.match(value.strip()):
            return f"{value} must be a number, not text — remove the quotes"
        return f"{shown} is not a number"
    if kind in ("bool_type", "bool_parsing"):
        if isinstance(value, str) and value.lower() in YAML_BOOLEANS:
            return f"{value!r} must be true or false, not text — remove the quotes"
        return f"{shown} is not true or false"
    if kind == "literal_error" or kind == "enum":
        choices = _choices(ctx.get("expected", ""))
        listed = ", ".join(choices[:-1]) + f" or {choices[-1]}" if len(choices) > 1 else "".join(choices)
        fix = _closest(value, choices)
        if fix and fix.startswith("quote versions"):
            return f"{shown} must be text — {fix}"
        return f"{shown} is not one of {listed}" + (f" — {fix}" if fix else "")
    if kind in ("tuple_type", "list_type", "set_type", "frozen_set_type"):
        if isinstance(value, dict):
            return "expected a list, not a mapping — write it as [a, b] or as lines starting with -"
        return f"expected a list — write it as a list: [{shown}]"
    if kind in ("model_type", "dict_type", "model_attributes_type"):
        if value is None:
            return "is empty — give its settings, or remove the key to use the defaults where it has them"
        return f"expected its settings as key: value lines, not {shown}"
    if kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        bound = ctx.get("ge", ctx.get("gt", ctx.get("le", ctx.get("lt"))))
        words = {"greater_than_equal": "below the minimum of", "greater_than": "not above",
                 "less_than_equal": "above the maximum of", "less_than": "not below"}[kind]  # fmt: skip
        fraction = kind.startswith("less") and bound == 1 and isinstance(value, float)
        return f"{shown} is {words} {bound:g}" + (" — a fraction: 0.1 is 10 %" if fraction else "")
    if kind == "multiple_of":
        return f"{shown} is not in steps of {_shown(ctx['multiple_of'])}"
    if kind in ("too_short", "string_too_short", "too_long", "string_too_long"):
        limit = int(ctx.get("min_length", ctx.get("max_length", 0)))
        unit = ("character" if kind.startswith("string") else "entry") if limit == 1 else (
            "characters" if kind.startswith("string") else "entries")  # fmt: skip
        return f"needs at least {limit} {unit}" if "short" in kind else f"may have at most {limit} {unit}"
    if kind == "none_required":
        return f"must be left empty (null), not {shown}"
    return f"{shown} is not accepted here: {error['msg']}"


def describe(error: dict[str, Any], retired: dict[str, str]) -> str:
    """One pydantic error as `field.path: message`."""
    field = ".".join(str(part) for part in error["loc"]) or "(top level)"
    kind = error["type"]
    if kind == "extra_forbidden":
        return f"{field}: {retired.get(field, 'unknown key')}"
    if kind == "missing":
        return f"{field}: required key is missing"
    if kind == "value_error":
        return f"{field}: {error['msg'].removeprefix('Value error, ')}"
    return f"{field}: {message(error)}"


def relevant(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Drop a list's length error when one of its entries already failed (pydantic reports both)."""
    failed_parents = {tuple(e["loc"][:-1]) for e in errors if e["loc"] and isinstance(e["loc"][-1], int)}
    return [e for e in errors if not (e["type"] in ("too_short", "too_long") and tuple(e["loc"]) in failed_parents)]
