"""A small evaluator of the DQDL the rulesets use, on a local Spark: each rule as its intent in Spark SQL
(Glue's engine does not run locally). A rule type it does not know is an error, so a new kind of rule is
taught here before a test can pass."""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Sequence

from pyspark.sql import DataFrame

OPERATORS: dict[str, Callable[[float, float], bool]] = {
    ">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le, "=": operator.eq,
}  # fmt: skip
NUMBER = r"-?\d+(?:\.\d+)?"


def rules(dqdl: str) -> list[str]:
    """The rules of `Rules = [ a, b, ... ]`, split on the commas outside quotes."""
    body = re.fullmatch(r"\s*Rules\s*=\s*\[(.*)\]\s*", dqdl, re.S)
    assert body, dqdl
    parts, current, quoted = [], "", False
    for char in body.group(1):
        if char == '"':
            quoted = not quoted
        if char == "," and not quoted:
            parts.append(current.strip())
            current = ""
        else:
            current += char
    return [*parts, current.strip()]


def evaluate(frame: DataFrame, dqdl: str, history: Sequence[int] = ()) -> dict[str, bool]:
    """Rule -> passed, for every rule of `dqdl` on `frame` (seen as `primary`); `history` holds the row
    counts of earlier evaluations, for the dynamic rules."""
    frame.createOrReplaceTempView("primary")
    spark = frame.sparkSession
    rows = frame.count()
    results = {}
    for rule in rules(dqdl):
        if m := re.fullmatch(r'IsComplete "(\w+)"', rule):
            passed = frame.where(f"{m[1]} IS NULL").count() == 0
        elif m := re.fullmatch(r'IsUnique "(\w+)"', rule):
            passed = frame.select(m[1]).distinct().count() == rows
        elif m := re.fullmatch(r'ColumnValues "(\w+)" matches "(.+)"', rule):
            passed = frame.where(f"NOT {m[1]} RLIKE '^{m[2]}$'").count() == 0
        elif m := re.fullmatch(rf'ColumnValues "(\w+)" (>=|<=|>|<|=) ({NUMBER})', rule):
            passed = frame.where(f"NOT ({m[1]} {m[2]} {m[3]})").count() == 0
        elif m := re.fullmatch(rf"RowCount (>=|<=|>|<|=) ({NUMBER})", rule):
            passed = OPERATORS[m[1]](rows, float(m[2]))
        elif m := re.fullmatch(rf"RowCount (>=|<=|>|<|=) avg\(last\((\d+)\)\) \* ({NUMBER})", rule):
            recent = list(history)[-int(m[2]) :]
            passed = not recent or OPERATORS[m[1]](rows, sum(recent) / len(recent) * float(m[3]))
        elif m := re.fullmatch(rf'CustomSql "(.+)" (>=|<=|>|<|=) ({NUMBER})', rule):
            value = spark.sql(m[1]).first()[0]  # type: ignore[index]
            passed = value is not None and OPERATORS[m[2]](float(value), float(m[3]))
        else:
            raise AssertionError(f"no local meaning for the DQDL rule {rule!r}")
        results[rule] = passed
    return results
