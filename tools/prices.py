"""The committed price tables (docs/prices/<region>.json) and their refresh from the AWS Price List API.

A table maps a price key (`ec2:m6i.large`, `nat:hour`, ...) to a USD figure, its unit, the public page it
comes from and, where the Price List API has it, the query that finds it there. The cost rules name the
keys they need as `PriceRef`s, so `make prices` can refresh every figure the templates use, add the ones a
new resource needs, and say which it could not match (those keep their figure and `source`).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Protocol

from tools.assembly import REPO_ROOT

PRICES_DIR = REPO_ROOT / "docs" / "prices"
HOURS_PER_MONTH = 730
"""AWS's own convention for monthly figures (24 x 365 / 12)."""
PRICE_LIST_REGION = "us-east-1"
"""The Price List API answers in us-east-1 (and two other regions) for prices of every region."""


@dataclass(frozen=True)
class PriceRef:
    """What a cost rule needs priced: `key` in the region's table, per `unit`, with the public `page` it is
    published on and the Price List `service` and attribute `filters` that find it (empty: not queryable,
    the figure is kept from the page)."""

    key: str
    unit: str
    page: str
    service: str = ""
    filters: tuple[tuple[str, str], ...] = ()


@dataclass
class PriceTable:
    """One region's prices: `prices[key] = {"usd": ..., "unit": ..., "source": ..., "query": ...}`."""

    region: str
    as_of: str
    method: str
    prices: dict[str, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def load(cls, region: str, directory: Path = PRICES_DIR) -> PriceTable:
        path = directory / f"{region}.json"
        if not path.is_file():
            return cls(region, "never", "none", {})
        data = json.loads(path.read_text(encoding="utf-8"))
        return cls(data["region"], data["as_of"], data["method"], data["prices"])

    def save(self, directory: Path = PRICES_DIR) -> Path:
        path = directory / f"{self.region}.json"
        body = {
            "region": self.region,
            "currency": "USD",
            "as_of": self.as_of,
            "method": self.method,
            "hours_per_month": HOURS_PER_MONTH,
            "prices": dict(sorted(self.prices.items())),
        }
        path.write_text(json.dumps(body, indent=1) + "\n", encoding="utf-8")
        return path

    def refs(self) -> list[PriceRef]:
        """The table's own entries as refs, so a refresh also updates prices no template uses today."""
        return [
            PriceRef(key, entry["unit"], entry["page"], entry.get("service", ""), tuple(entry.get("query", {}).items()))
            for key, entry in self.prices.items()
        ]

    def usd(self, ref: PriceRef) -> float | None:
        entry = self.prices.get(ref.key)
        return float(entry["usd"]) if entry is not None else None


class PricingClient(Protocol):
    """The part of boto3's `pricing` client the refresh uses (a fake in the tests)."""

    def get_products(self, **kwargs: Any) -> Mapping[str, Any]: ...


def query(ref: PriceRef, region: str) -> dict[str, Any]:
    """The Price List API request for `ref` in `region`."""
    filters = [("regionCode", region), *ref.filters]
    return {
        "ServiceCode": ref.service,
        "Filters": [{"Type": "TERM_MATCH", "Field": name, "Value": value} for name, value in filters],
        "MaxResults": 10,
    }


def on_demand_usd(products: Iterable[str]) -> float:
    """The one on-demand USD figure of the products a query matched (their first tier); ValueError when
    the query matched no product or several different figures."""
    figures: set[float] = set()
    for text in products:
        product = json.loads(text)
        for term in product.get("terms", {}).get("OnDemand", {}).values():
            dimensions = sorted(term["priceDimensions"].values(), key=lambda d: float(d.get("beginRange", "0") or 0))
            if dimensions:
                figures.add(float(dimensions[0]["pricePerUnit"]["USD"]))
    if len(figures) != 1:
        raise ValueError(f"matched {len(figures)} different prices" if figures else "matched no product")
    return figures.pop()


def refresh(table: PriceTable, refs: Iterable[PriceRef], client: PricingClient, today: date) -> list[str]:
    """Query every queryable ref (the ones the templates need and the ones the table has), update the
    table in place and return one line per price: updated, unchanged, added or kept (with why)."""
    report: list[str] = []
    for ref in sorted({r.key: r for r in refs}.values(), key=lambda r: r.key):
        entry = table.prices.get(ref.key)
        if not ref.service:
            report.append(
                f"{ref.key}: kept {entry['usd'] if entry else 'nothing'} (not in the Price List API; see {ref.page})"
            )
            continue
        request = query(ref, table.region)
        try:
            figure = on_demand_usd(client.get_products(**request)["PriceList"])
        except ValueError as error:
            report.append(f"{ref.key}: kept {entry['usd'] if entry else 'nothing'} (the query {error})")
            continue
        previous = entry["usd"] if entry else None
        table.prices[ref.key] = {
            "usd": figure,
            "unit": ref.unit,
            "source": f"AWS Price List API, {ref.service}, {today.isoformat()}",
            "page": ref.page,
            "service": ref.service,
            "query": dict(ref.filters),
        }
        change = "added" if previous is None else ("unchanged" if previous == figure else f"{previous} ->")
        report.append(f"{ref.key}: {change} {figure} per {ref.unit}")
    table.as_of = today.isoformat()
    table.method = "AWS Price List API (make prices); entries without a query are kept from their page"
    return report


def main(argv: list[str] | None = None) -> int:
    """`make prices`: refresh every region's table the assembly uses. Needs AWS credentials (any account:
    the Price List API is not account-specific)."""
    from tools import aws
    from tools.assembly import AssemblyError, ensure
    from tools.cost import price_refs

    try:
        session = aws.session_with_credentials("make prices")
        assembly = ensure(None)
    except (aws.NoCredentials, AssemblyError) as error:
        print(error, file=sys.stderr)
        return 1
    client = session.client("pricing", region_name=PRICE_LIST_REGION)
    for region, refs in sorted(price_refs(assembly).items()):
        table = PriceTable.load(region)
        lines = refresh(table, [*table.refs(), *refs], client, date.today())
        print(f"{table.save().relative_to(REPO_ROOT)}:", *lines, sep="\n  ")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
