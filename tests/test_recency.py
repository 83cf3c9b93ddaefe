"""Recency (issue 14): the basis says which builds the constants describe; a variant weighs recent builds more."""

from __future__ import annotations

from dataclasses import replace

from advisor.estimate.constants import SpeedTable
from advisor.specs.facts import Catalog
from advisor.speed import cases as known
from advisor.speed import fit as cal


def test_the_basis_names_the_period_of_the_builds_measured(catalog: Catalog) -> None:
    assert catalog.speed_fit is not None
    own = catalog.speed_fit.decode["cuda:ada-lovelace"]
    assert own.period and " to " in own.period
    basis = SpeedTable(catalog.speed_fit, catalog.defaults).constants("cuda", "consumer", "ada-lovelace").basis
    assert f"builds dated {own.period}" in basis


def test_period_and_recency_weights(catalog: Catalog) -> None:
    rows, _ = known.cases(catalog)
    dated = [c for c in rows if c.m.date and c.m.kind == "decode"]
    old, new = min(dated, key=lambda c: c.m.date or ""), max(dated, key=lambda c: c.m.date or "")
    assert cal.period([new, old]) == f"{(old.m.date or '')[:7]} to {(new.m.date or '')[:7]}"
    assert cal.period([replace(old, m=replace(old.m, date=None))]) == ""
    weighted = cal.Variant(half_life_years=1.0).rows([old, new])
    assert weighted[1].weight == 1.0 and 0 < weighted[0].weight < 0.5  # the oldest row is over a year older
    assert cal.SHIPPED.rows([old, new]) == [old, new]  # the shipped fit weighs every build alike
